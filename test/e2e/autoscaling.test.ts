/**
 * Application Auto Scaling end to end: real server and agent processes, real containers on Docker
 * Engine, the agent's CPU samples through the ECS metrics into the metric store. A service whose
 * task burns CPU for 30 s (then sleeps) has target tracking at 50% CPU: it scales out while the
 * load lasts and back in once it has stopped and the scale-in alarm's 15 periods and the cooldown
 * have passed. Periods are 5 s (`--autoscaling-period-seconds`), agents sample every second.
 * The AWS CLI registers a target, puts a policy and reads them back, and gets the service's error
 * for a service that does not exist.
 */
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import {
  ApplicationAutoScalingClient, DescribeScalingActivitiesCommand, PutScalingPolicyCommand, RegisterScalableTargetCommand,
} from '@aws-sdk/client-application-auto-scaling';
import { CreateServiceCommand, DeleteServiceCommand, DescribeServicesCommand, RegisterTaskDefinitionCommand, type Service } from '@aws-sdk/client-ecs';
import { ensureTestImage, TEST_IMAGE } from '../../src/testkit/test-image.js';
import { startWharf, type WharfProcesses } from '../../src/testkit/wharf-processes.js';
import { execFile } from 'node:child_process';
import { promisify } from 'node:util';
import { AWS_CLI, waitFor, waitForConnectedInstances } from './helpers.js';

const run = promisify(execFile);

const PERIOD_SECONDS = 5;
const BURN_SECONDS = 30;

describe('Application Auto Scaling on real containers', () => {
  let w: WharfProcesses;
  let aas: ApplicationAutoScalingClient;

  before(async () => {
    await ensureTestImage();
    w = await startWharf({
      serverArgs: ['--autoscaling-period-seconds', String(PERIOD_SECONDS), '--ecs-metrics-round-seconds', '1', '--task-ready-delay-seconds', '1'],
    });
    aas = new ApplicationAutoScalingClient({ endpoint: w.url, region: 'us-east-1', credentials: w.credentials, maxAttempts: 1 });
    await w.startAgent({ extraArgs: ['--stats-sample-interval-ms', '1000'] });
    await waitForConnectedInstances(w.ecs, w.cluster);
  });
  after(async () => { aas?.destroy(); await w?.stop(); });

  it('a CPU-burning service with target tracking at 50% scales out, and back in after the load stops', { timeout: 420_000 }, async () => {
    const serviceName = 'burner';
    const resourceId = `service/${w.cluster}/${serviceName}`;
    await w.ecs.send(new RegisterTaskDefinitionCommand({
      family: 'burner',
      containerDefinitions: [{
        name: 'burn', image: TEST_IMAGE, cpu: 256, memory: 32, stopTimeout: 1,
        command: ['sh', '-c', `busybox timeout ${BURN_SECONDS} sh -c 'while :; do :; done'; exec sleep 3600`],
      }],
    }));
    await w.ecs.send(new CreateServiceCommand({ cluster: w.cluster, serviceName, taskDefinition: 'burner', desiredCount: 1 }));
    try {
      await aas.send(new RegisterScalableTargetCommand({
        ServiceNamespace: 'ecs', ScalableDimension: 'ecs:service:DesiredCount', ResourceId: resourceId, MinCapacity: 1, MaxCapacity: 2,
      }));
      const policy = await aas.send(new PutScalingPolicyCommand({
        ServiceNamespace: 'ecs', ScalableDimension: 'ecs:service:DesiredCount', ResourceId: resourceId, PolicyName: 'cpu50',
        PolicyType: 'TargetTrackingScaling',
        TargetTrackingScalingPolicyConfiguration: {
          TargetValue: 50, ScaleOutCooldown: 10, ScaleInCooldown: 10,
          PredefinedMetricSpecification: { PredefinedMetricType: 'ECSServiceAverageCPUUtilization' },
        },
      }));
      const [high, low] = policy.Alarms!.map((a) => a.AlarmName!);
      const service = async (): Promise<Service> =>
        (await w.ecs.send(new DescribeServicesCommand({ cluster: w.cluster, services: [serviceName] }))).services![0]!;
      const activities = async () => (await aas.send(new DescribeScalingActivitiesCommand({
        ServiceNamespace: 'ecs', ResourceId: resourceId, ScalableDimension: 'ecs:service:DesiredCount',
      }))).ScalingActivities!;

      const scaledOut = await waitFor('scale-out to 2 running tasks', async () => {
        const s = await service();
        return s.desiredCount === 2 && s.runningCount === 2 ? s : undefined;
      }, 150_000, 500);
      const out = (await activities()).find((a) => a.Description === 'Setting desired count to 2.');
      assert.equal(out?.Cause, `monitor alarm ${high} in state ALARM triggered policy cpu50`);
      assert.equal(out?.StatusCode, 'Successful');
      assert.ok(scaledOut.events!.some((e) => e.message === `(service ${serviceName}) desired count changed from 1 to 2 by Application Auto Scaling: ${out!.Cause}.`));

      await waitFor('scale-in to 1 once the load has stopped', async () => {
        const s = await service();
        return s.desiredCount === 1 ? s : undefined;
      }, 240_000, 1000);
      const [latest] = await activities();
      assert.equal(latest?.Description, 'Setting desired count to 1.');
      assert.equal(latest?.Cause, `monitor alarm ${low} in state ALARM triggered policy cpu50`);
      await waitFor('one task left running', async () => ((await service()).runningCount === 1 ? true : undefined), 60_000, 500);
    } finally {
      await w.ecs.send(new DeleteServiceCommand({ cluster: w.cluster, service: serviceName, force: true })).catch(() => undefined);
    }
  });

  it('works with the AWS CLI, and refuses a target on a missing service with its error', async () => {
    const aas = async (...args: string[]) => {
      const { stdout } = await run(AWS_CLI, ['application-autoscaling', ...args, '--endpoint-url', w.url, '--region', 'us-east-1', '--output', 'json'], { env: w.cliEnv() });
      return stdout.trim() === '' ? {} : JSON.parse(stdout);
    };
    const serviceName = 'cli-scaled';
    const resourceId = `service/${w.cluster}/${serviceName}`;
    await w.ecs.send(new RegisterTaskDefinitionCommand({ family: 'idle', containerDefinitions: [{ name: 'idle', image: TEST_IMAGE, memory: 16, command: ['sleep', '3600'] }] }));
    await w.ecs.send(new CreateServiceCommand({ cluster: w.cluster, serviceName, taskDefinition: 'idle', desiredCount: 0 }));
    try {
      const target = ['--service-namespace', 'ecs', '--scalable-dimension', 'ecs:service:DesiredCount', '--resource-id', resourceId];
      // The Debian CLI's model may predate ScalableTargetARN in the answer; describing checks the write.
      await aas('register-scalable-target', ...target, '--min-capacity', '0', '--max-capacity', '3');
      await aas('put-scaling-policy', ...target, '--policy-name', 'cpu50', '--policy-type', 'TargetTrackingScaling',
        '--target-tracking-scaling-policy-configuration', '{"TargetValue":50,"PredefinedMetricSpecification":{"PredefinedMetricType":"ECSServiceAverageCPUUtilization"}}');
      await aas('put-scheduled-action', ...target, '--scheduled-action-name', 'weekday', '--schedule', 'cron(0 8 ? * MON-FRI *)',
        '--scalable-target-action', 'MinCapacity=1,MaxCapacity=3');
      const described = await aas('describe-scalable-targets', '--service-namespace', 'ecs', '--resource-ids', resourceId);
      assert.deepEqual(described.ScalableTargets.map((t: { MinCapacity: number; MaxCapacity: number }) => [t.MinCapacity, t.MaxCapacity]), [[0, 3]]);
      const policies = await aas('describe-scaling-policies', '--service-namespace', 'ecs', '--resource-id', resourceId);
      assert.deepEqual(policies.ScalingPolicies.map((p: { PolicyName: string }) => p.PolicyName), ['cpu50']);
      const actions = await aas('describe-scheduled-actions', '--service-namespace', 'ecs', '--resource-id', resourceId);
      assert.equal(actions.ScheduledActions[0].Schedule, 'cron(0 8 ? * MON-FRI *)');
      await assert.rejects(aas('register-scalable-target', '--service-namespace', 'ecs', '--scalable-dimension', 'ecs:service:DesiredCount',
        '--resource-id', `service/${w.cluster}/missing`, '--min-capacity', '1', '--max-capacity', '2'),
      (err: Error & { stderr?: string }) => {
        assert.match(err.stderr ?? '', new RegExp(`\\(ValidationException\\).*RegisterScalableTarget operation: ECS service doesn't exist: service/${w.cluster}/missing`));
        return true;
      });
      await aas('deregister-scalable-target', ...target);
      assert.deepEqual((await aas('describe-scaling-policies', '--service-namespace', 'ecs', '--resource-id', resourceId)).ScalingPolicies, []);
    } finally {
      await w.ecs.send(new DeleteServiceCommand({ cluster: w.cluster, service: serviceName, force: true })).catch(() => undefined);
    }
  });
});
