/**
 * Application Auto Scaling through the real AWS SDK against an in-process server on a fake clock,
 * with a fake metric source: every operation, every input fault (nothing half-applied), and the
 * controller's scaling — target tracking, step scaling driven by an alarm record, scheduled
 * actions, capacity bounds — seen through DescribeScalingActivities, DescribeServices and its events.
 */
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import {
  ApplicationAutoScalingClient, DeleteScalingPolicyCommand, DeleteScheduledActionCommand, DeregisterScalableTargetCommand,
  DescribeScalableTargetsCommand, DescribeScalingActivitiesCommand, DescribeScalingPoliciesCommand, DescribeScheduledActionsCommand,
  ListTagsForResourceCommand, PutScalingPolicyCommand, PutScheduledActionCommand, RegisterScalableTargetCommand, TagResourceCommand,
  UntagResourceCommand, type PutScalingPolicyCommandInput,
} from '@aws-sdk/client-application-auto-scaling';
import { CloudWatchClient, DeleteAlarmsCommand, PutMetricAlarmCommand } from '@aws-sdk/client-cloudwatch';
import { CreateClusterCommand, CreateServiceCommand, DescribeServicesCommand, RegisterTaskDefinitionCommand, UpdateServiceCommand } from '@aws-sdk/client-ecs';
import type { MetricQuery, MetricSource } from '../../controllers/index.js';
import { startInProcessServer, TEST_CREDENTIALS, type InProcessServer } from '../../testkit/in-process-server.js';

const PERIOD_MS = 60_000;
const ECS = { ServiceNamespace: 'ecs', ScalableDimension: 'ecs:service:DesiredCount' } as const;

/**
 * Metric values by `<MetricName>/<ServiceName or TargetGroup>`: each value set holds for the periods
 * starting at or after the fake clock's time when it was set.
 */
class FakeMetrics implements MetricSource {
  readonly #series = new Map<string, { fromMs: number; value: number | undefined }[]>();
  constructor(private readonly now: () => number) {}
  set(key: string, value: number | undefined): void {
    this.#series.set(key, [...(this.#series.get(key) ?? []), { fromMs: this.now(), value }]);
  }
  async statistic(query: MetricQuery, startMs: number, _endMs: number): Promise<number | undefined> {
    const dimension = query.Dimensions.find((d) => d.Name === 'ServiceName' || d.Name === 'TargetGroup')?.Value ?? '';
    return this.#series.get(`${query.MetricName}/${dimension}`)?.filter((p) => p.fromMs <= startMs).at(-1)?.value;
  }
}

describe('Application Auto Scaling API', () => {
  let s: InProcessServer;
  let aas: ApplicationAutoScalingClient;
  let now = Date.parse('2026-06-01T00:00:00Z');
  const metrics = new FakeMetrics(() => now);
  let serviceSeq = 0;

  before(async () => {
    s = await startInProcessServer({ nowMs: () => now, autoscalingPeriodMs: PERIOD_MS, metricSource: metrics });
    aas = new ApplicationAutoScalingClient({ endpoint: s.url, region: 'us-east-1', credentials: TEST_CREDENTIALS, maxAttempts: 1 });
    await s.ecs.send(new CreateClusterCommand({ clusterName: 'scaling' }));
    await s.ecs.send(new RegisterTaskDefinitionCommand({ family: 'burn', containerDefinitions: [{ name: 'app', image: 'wharf-test/busybox', memory: 32 }] }));
  });
  after(async () => { aas.destroy(); await s.close(); });

  async function service(desiredCount = 1): Promise<{ name: string; resourceId: string }> {
    const name = `svc-${++serviceSeq}`;
    await s.ecs.send(new CreateServiceCommand({ cluster: 'scaling', serviceName: name, taskDefinition: 'burn', desiredCount }));
    return { name, resourceId: `service/scaling/${name}` };
  }

  async function register(resourceId: string, min: number, max: number) {
    return aas.send(new RegisterScalableTargetCommand({ ...ECS, ResourceId: resourceId, MinCapacity: min, MaxCapacity: max }));
  }

  async function desired(name: string): Promise<number> {
    const out = await s.ecs.send(new DescribeServicesCommand({ cluster: 'scaling', services: [name] }));
    return out.services![0]!.desiredCount!;
  }

  async function events(name: string): Promise<string[]> {
    const out = await s.ecs.send(new DescribeServicesCommand({ cluster: 'scaling', services: [name] }));
    return out.services![0]!.events!.map((e) => e.message!);
  }

  async function activities(resourceId: string) {
    return (await aas.send(new DescribeScalingActivitiesCommand({ ...ECS, ResourceId: resourceId }))).ScalingActivities!;
  }

  /** Moves the fake clock by whole periods and runs one autoscaling pass. */
  async function advance(periods: number): Promise<void> {
    now += periods * PERIOD_MS;
    await s.server.evaluateAutoscaling();
  }

  async function rejects(promise: Promise<unknown>, name: string, message: RegExp): Promise<void> {
    await assert.rejects(promise, (err: Error & { $metadata?: { httpStatusCode?: number } }) => {
      assert.equal(err.name, name, err.message);
      assert.match(err.message, message);
      assert.equal(err.$metadata?.httpStatusCode, 400);
      return true;
    });
  }

  describe('scalable targets', () => {
    it('registers, updates, describes and deregisters a target with its policies and scheduled actions', async () => {
      const { resourceId } = await service();
      const { ScalableTargetARN } = await register(resourceId, 1, 4);
      assert.match(ScalableTargetARN!, /^arn:aws:application-autoscaling:us-east-1:123456789012:scalable-target\/[0-9a-f]{36}$/);
      const again = await aas.send(new RegisterScalableTargetCommand({ ...ECS, ResourceId: resourceId, MaxCapacity: 6, SuspendedState: { DynamicScalingInSuspended: true } }));
      assert.equal(again.ScalableTargetARN, ScalableTargetARN, 'an update keeps the ARN');
      const [target] = (await aas.send(new DescribeScalableTargetsCommand({ ServiceNamespace: 'ecs', ResourceIds: [resourceId] }))).ScalableTargets!;
      assert.equal(target!.MinCapacity, 1);
      assert.equal(target!.MaxCapacity, 6);
      assert.deepEqual(target!.SuspendedState, { DynamicScalingInSuspended: true, DynamicScalingOutSuspended: false, ScheduledScalingSuspended: false });
      assert.match(target!.RoleARN!, /AWSServiceRoleForApplicationAutoScaling_ECSService$/);
      assert.ok(target!.CreationTime instanceof Date);

      await aas.send(new PutScalingPolicyCommand({
        ...ECS, ResourceId: resourceId, PolicyName: 'cpu', PolicyType: 'TargetTrackingScaling',
        TargetTrackingScalingPolicyConfiguration: { TargetValue: 50, PredefinedMetricSpecification: { PredefinedMetricType: 'ECSServiceAverageCPUUtilization' } },
      }));
      await aas.send(new PutScheduledActionCommand({ ...ECS, ResourceId: resourceId, ScheduledActionName: 'night', Schedule: 'cron(0 22 * * ? *)', ScalableTargetAction: { MinCapacity: 0 } }));
      await aas.send(new DeregisterScalableTargetCommand({ ...ECS, ResourceId: resourceId }));
      assert.deepEqual((await aas.send(new DescribeScalableTargetsCommand({ ServiceNamespace: 'ecs', ResourceIds: [resourceId] }))).ScalableTargets, []);
      assert.deepEqual((await aas.send(new DescribeScalingPoliciesCommand({ ServiceNamespace: 'ecs', ResourceId: resourceId }))).ScalingPolicies, []);
      assert.deepEqual((await aas.send(new DescribeScheduledActionsCommand({ ServiceNamespace: 'ecs', ResourceId: resourceId }))).ScheduledActions, []);
      await rejects(aas.send(new DeregisterScalableTargetCommand({ ...ECS, ResourceId: resourceId })), 'ObjectNotFoundException',
        new RegExp(`^No scalable target registered for service namespace: ecs, resource ID: ${resourceId}, scalable dimension: ecs:service:DesiredCount$`));
    });

    it('pages with MaxResults and NextToken', async () => {
      const ids: string[] = [];
      for (let i = 0; i < 3; i++) {
        const { resourceId } = await service();
        await register(resourceId, 1, 2);
        ids.push(resourceId);
      }
      const first = await aas.send(new DescribeScalableTargetsCommand({ ServiceNamespace: 'ecs', ResourceIds: ids, MaxResults: 2 }));
      assert.equal(first.ScalableTargets!.length, 2);
      const second = await aas.send(new DescribeScalableTargetsCommand({ ServiceNamespace: 'ecs', ResourceIds: ids, MaxResults: 2, NextToken: first.NextToken! }));
      assert.deepEqual([...first.ScalableTargets!, ...second.ScalableTargets!].map((t) => t.ResourceId).sort(), [...ids].sort());
      assert.equal(second.NextToken, undefined);
      await rejects(aas.send(new DescribeScalableTargetsCommand({ ServiceNamespace: 'ecs', MaxResults: 51 })), 'ValidationException', /maxResults/);
      await rejects(aas.send(new DescribeScalableTargetsCommand({ ServiceNamespace: 'ecs', NextToken: 'garbage' })), 'ValidationException', /Invalid NextToken/);
      for (const id of ids) await aas.send(new DeregisterScalableTargetCommand({ ...ECS, ResourceId: id }));
    });

    it('refuses a target on a service that does not exist, and writes nothing', async () => {
      await rejects(register('service/scaling/nope', 1, 2), 'ValidationException', /^ECS service doesn't exist: service\/scaling\/nope$/);
      await rejects(register('service/no-cluster/nope', 1, 2), 'ValidationException', /^ECS service doesn't exist: service\/no-cluster\/nope$/);
      assert.deepEqual((await aas.send(new DescribeScalableTargetsCommand({ ServiceNamespace: 'ecs', ResourceIds: ['service/scaling/nope'] }))).ScalableTargets, []);
      await s.ecs.send(new CreateServiceCommand({ cluster: 'scaling', serviceName: 'daemon', taskDefinition: 'burn', schedulingStrategy: 'DAEMON' }));
      await rejects(register('service/scaling/daemon', 1, 2), 'ValidationException', /uses the DAEMON scheduling strategy; only REPLICA services can be scaled/);
    });

    it('refuses other namespaces, dimensions and resource ids, bad capacities and model violations', async () => {
      const { resourceId } = await service();
      await rejects(aas.send(new RegisterScalableTargetCommand({ ServiceNamespace: 'dynamodb', ScalableDimension: 'dynamodb:table:ReadCapacityUnits', ResourceId: 'table/t', MinCapacity: 1, MaxCapacity: 2 })),
        'ValidationException', /^Unsupported service namespace, resource type or scalable dimension$/);
      await rejects(aas.send(new RegisterScalableTargetCommand({ ServiceNamespace: 'ecs', ScalableDimension: 'dynamodb:table:ReadCapacityUnits', ResourceId: resourceId, MinCapacity: 1, MaxCapacity: 2 })),
        'ValidationException', /^Unsupported service namespace, resource type or scalable dimension$/);
      await rejects(register('cluster/scaling', 1, 2), 'ValidationException', /Unsupported resource ID: cluster\/scaling/);
      await rejects(register(resourceId, 3, 2), 'ValidationException', /Minimum capacity \(3\) cannot be greater than maximum capacity \(2\)/);
      await rejects(register(resourceId, -1, 2), 'ValidationException', /MinCapacity must be between 0 and 5000/);
      await rejects(aas.send(new RegisterScalableTargetCommand({ ...ECS, ResourceId: resourceId, MaxCapacity: 2 })), 'ValidationException', /MinCapacity and MaxCapacity are required/);
      await rejects(aas.send(new RegisterScalableTargetCommand({ ...ECS, ServiceNamespace: 'nonsense' as 'ecs', ResourceId: resourceId, MinCapacity: 1, MaxCapacity: 2 })),
        'ValidationException', /^1 validation error detected: Value 'nonsense' at 'ServiceNamespace' failed to satisfy constraint: Member must satisfy enum value set/);
      await rejects(aas.send(new RegisterScalableTargetCommand({ ...ECS, ResourceId: undefined as unknown as string, MinCapacity: 1, MaxCapacity: 2 })),
        'ValidationException', /ResourceId/);
      assert.deepEqual((await aas.send(new DescribeScalableTargetsCommand({ ServiceNamespace: 'ecs', ResourceIds: [resourceId] }))).ScalableTargets, []);
    });

    it('tags a target; tags only go with a new target; unknown ARNs and reserved keys are refused', async () => {
      const { resourceId } = await service();
      const { ScalableTargetARN } = await aas.send(new RegisterScalableTargetCommand({ ...ECS, ResourceId: resourceId, MinCapacity: 1, MaxCapacity: 2, Tags: { team: 'web' } }));
      await aas.send(new TagResourceCommand({ ResourceARN: ScalableTargetARN!, Tags: { env: 'prod' } }));
      assert.deepEqual((await aas.send(new ListTagsForResourceCommand({ ResourceARN: ScalableTargetARN! }))).Tags, { team: 'web', env: 'prod' });
      await aas.send(new UntagResourceCommand({ ResourceARN: ScalableTargetARN!, TagKeys: ['team'] }));
      assert.deepEqual((await aas.send(new ListTagsForResourceCommand({ ResourceARN: ScalableTargetARN! }))).Tags, { env: 'prod' });
      await rejects(aas.send(new RegisterScalableTargetCommand({ ...ECS, ResourceId: resourceId, Tags: { a: 'b' } })), 'ValidationException', /already exists.*TagResource/);
      await rejects(aas.send(new TagResourceCommand({ ResourceARN: ScalableTargetARN!, Tags: { 'aws:x': 'y' } })), 'ValidationException', /reserved prefix/);
      const many = Object.fromEntries(Array.from({ length: 50 }, (_, i) => [`k${i}`, 'v']));
      await rejects(aas.send(new TagResourceCommand({ ResourceARN: ScalableTargetARN!, Tags: many })), 'TooManyTagsException', /at most 50 tags/);
      await rejects(aas.send(new ListTagsForResourceCommand({ ResourceARN: `${ScalableTargetARN!.slice(0, -4)}0000` })), 'ResourceNotFoundException', /No scalable target found/);
      assert.deepEqual((await aas.send(new ListTagsForResourceCommand({ ResourceARN: ScalableTargetARN! }))).Tags, { env: 'prod' }, 'nothing half-applied');
    });
  });

  describe('scaling policies and scheduled actions', () => {
    const tracking = (resourceId: string, extra: Partial<PutScalingPolicyCommandInput> = {}): PutScalingPolicyCommandInput => ({
      ...ECS, ResourceId: resourceId, PolicyName: 'cpu50', PolicyType: 'TargetTrackingScaling',
      TargetTrackingScalingPolicyConfiguration: { TargetValue: 50, PredefinedMetricSpecification: { PredefinedMetricType: 'ECSServiceAverageCPUUtilization' } },
      ...extra,
    });

    it('creates and describes both policy types; an update keeps the ARN; delete removes it', async () => {
      const { resourceId } = await service();
      await register(resourceId, 1, 4);
      const created = await aas.send(new PutScalingPolicyCommand(tracking(resourceId)));
      assert.match(created.PolicyARN!, new RegExp(`^arn:aws:autoscaling:us-east-1:123456789012:scalingPolicy:[0-9a-f-]{36}:resource/ecs/${resourceId}:policyName/cpu50$`));
      assert.deepEqual(created.Alarms!.map((a) => a.AlarmName!.replace(/-[0-9a-f-]{36}$/, '')), [`TargetTracking-${resourceId}-AlarmHigh`, `TargetTracking-${resourceId}-AlarmLow`]);
      const updated = await aas.send(new PutScalingPolicyCommand(tracking(resourceId, {
        TargetTrackingScalingPolicyConfiguration: { TargetValue: 60, ScaleInCooldown: 30, PredefinedMetricSpecification: { PredefinedMetricType: 'ECSServiceAverageCPUUtilization' } },
      })));
      assert.equal(updated.PolicyARN, created.PolicyARN);
      const step = await aas.send(new PutScalingPolicyCommand({
        ...ECS, ResourceId: resourceId, PolicyName: 'step-up',
        StepScalingPolicyConfiguration: { AdjustmentType: 'ChangeInCapacity', StepAdjustments: [{ MetricIntervalLowerBound: 0, ScalingAdjustment: 1 }], Cooldown: 60 },
      }));
      const described = (await aas.send(new DescribeScalingPoliciesCommand({ ServiceNamespace: 'ecs', ResourceId: resourceId }))).ScalingPolicies!;
      assert.deepEqual(described.map((p) => [p.PolicyName, p.PolicyType]), [['cpu50', 'TargetTrackingScaling'], ['step-up', 'StepScaling']]);
      assert.equal(described[0]!.TargetTrackingScalingPolicyConfiguration!.TargetValue, 60);
      assert.equal(described[1]!.PolicyARN, step.PolicyARN);
      assert.deepEqual(described[1]!.Alarms, [], 'no alarm names the step policy yet');
      const byName = await aas.send(new DescribeScalingPoliciesCommand({ ServiceNamespace: 'ecs', PolicyNames: ['step-up'] }));
      assert.deepEqual(byName.ScalingPolicies!.map((p) => p.PolicyName), ['step-up']);
      const cloudwatch = new CloudWatchClient({ endpoint: s.url, region: 'us-east-1', credentials: TEST_CREDENTIALS, maxAttempts: 1 });
      try {
        await cloudwatch.send(new PutMetricAlarmCommand({
          AlarmName: `${resourceId}-cpu-high`, Namespace: 'AWS/ECS', MetricName: 'CPUUtilization', Statistic: 'Average', Period: 60,
          EvaluationPeriods: 2, Threshold: 75, ComparisonOperator: 'GreaterThanThreshold', AlarmActions: [step.PolicyARN!],
          Dimensions: [{ Name: 'ClusterName', Value: 'scaling' }, { Name: 'ServiceName', Value: resourceId.split('/')[2]! }],
        }));
        const [withAlarm] = (await aas.send(new DescribeScalingPoliciesCommand({ ServiceNamespace: 'ecs', PolicyNames: ['step-up'] }))).ScalingPolicies!;
        assert.deepEqual(withAlarm!.Alarms, [{
          AlarmName: `${resourceId}-cpu-high`, AlarmARN: `arn:aws:cloudwatch:us-east-1:123456789012:alarm:${resourceId}-cpu-high`,
        }], 'the alarm PutMetricAlarm made names the policy');
        await cloudwatch.send(new DeleteAlarmsCommand({ AlarmNames: [`${resourceId}-cpu-high`] }));
      } finally {
        cloudwatch.destroy();
      }
      await aas.send(new DeleteScalingPolicyCommand({ ...ECS, ResourceId: resourceId, PolicyName: 'step-up' }));
      await rejects(aas.send(new DeleteScalingPolicyCommand({ ...ECS, ResourceId: resourceId, PolicyName: 'step-up' })), 'ObjectNotFoundException',
        /^No scaling policy found for service namespace: ecs, resource ID: .*, scalable dimension: ecs:service:DesiredCount, policy name: step-up$/);
    });

    it('refuses policies that break the rules, and writes nothing', async () => {
      const { resourceId } = await service();
      await rejects(aas.send(new PutScalingPolicyCommand(tracking(resourceId))), 'ObjectNotFoundException', /^No scalable target registered for service namespace: ecs/);
      await register(resourceId, 1, 4);
      const steps = (StepAdjustments: { MetricIntervalLowerBound?: number; MetricIntervalUpperBound?: number; ScalingAdjustment: number }[], extra = {}) => new PutScalingPolicyCommand({
        ...ECS, ResourceId: resourceId, PolicyName: 'bad', PolicyType: 'StepScaling',
        StepScalingPolicyConfiguration: { AdjustmentType: 'ChangeInCapacity', StepAdjustments, ...extra },
      });
      const faults: [PutScalingPolicyCommand, RegExp][] = [
        [new PutScalingPolicyCommand({ ...tracking(resourceId), TargetTrackingScalingPolicyConfiguration: undefined }), /TargetTrackingScalingPolicyConfiguration is required/],
        [new PutScalingPolicyCommand({ ...ECS, ResourceId: resourceId, PolicyName: 'bad' }), /StepScalingPolicyConfiguration is required/],
        [new PutScalingPolicyCommand(tracking(resourceId, { TargetTrackingScalingPolicyConfiguration: { TargetValue: 50, PredefinedMetricSpecification: { PredefinedMetricType: 'DynamoDBReadCapacityUtilization' } } })),
          /Unsupported predefined metric type DynamoDBReadCapacityUtilization for service namespace ecs/],
        [new PutScalingPolicyCommand(tracking(resourceId, { TargetTrackingScalingPolicyConfiguration: { TargetValue: 50, PredefinedMetricSpecification: { PredefinedMetricType: 'ALBRequestCountPerTarget' } } })),
          /ALBRequestCountPerTarget requires a ResourceLabel/],
        [new PutScalingPolicyCommand(tracking(resourceId, { TargetTrackingScalingPolicyConfiguration: { TargetValue: 0, PredefinedMetricSpecification: { PredefinedMetricType: 'ECSServiceAverageCPUUtilization' } } })),
          /TargetValue must be greater than 0/],
        [new PutScalingPolicyCommand(tracking(resourceId, { TargetTrackingScalingPolicyConfiguration: { TargetValue: 50 } })), /Exactly one of PredefinedMetricSpecification and CustomizedMetricSpecification/],
        [new PutScalingPolicyCommand(tracking(resourceId, { TargetTrackingScalingPolicyConfiguration: { TargetValue: 50, CustomizedMetricSpecification: { MetricName: 'Queue' } } })),
          /requires MetricName, Namespace and Statistic/],
        [new PutScalingPolicyCommand(tracking(resourceId, { PolicyType: 'PredictiveScaling' })), /does not support PredictiveScaling/],
        [new PutScalingPolicyCommand(tracking(resourceId, { TargetTrackingScalingPolicyConfiguration: {
          TargetValue: 50, PredefinedMetricSpecification: { PredefinedMetricType: 'ECSServiceAverageCPUUtilization', ResourceLabel: 'app/a/b/targetgroup/c/d' },
        } })), /ResourceLabel applies only to ALBRequestCountPerTarget/],
        [new PutScalingPolicyCommand(tracking(resourceId, { TargetTrackingScalingPolicyConfiguration: {
          TargetValue: 50, CustomizedMetricSpecification: { Metrics: [{ Id: 'e1', Expression: 'm1 * 2' }] },
        } })), /metric math \(Expression, several queries\) is not supported/],
        [new PutScalingPolicyCommand(tracking(resourceId, { TargetTrackingScalingPolicyConfiguration: {
          TargetValue: 50, ScaleInCooldown: -1, PredefinedMetricSpecification: { PredefinedMetricType: 'ECSServiceAverageCPUUtilization' },
        } })), /ScaleInCooldown must be 0 or more seconds/],
        [new PutScalingPolicyCommand({ ...tracking(resourceId), StepScalingPolicyConfiguration: { AdjustmentType: 'ChangeInCapacity' } }),
          /StepScalingPolicyConfiguration cannot be given for a policy of type TargetTrackingScaling/],
        [new PutScalingPolicyCommand({ ...tracking(resourceId), ServiceNamespace: 'rds' }), /^Unsupported service namespace, resource type or scalable dimension$/],
        [steps([]), /at least one step adjustment/],
        [steps([{ MetricIntervalLowerBound: 0, MetricIntervalUpperBound: 10, ScalingAdjustment: 1 }, { MetricIntervalLowerBound: 20, ScalingAdjustment: 2 }]), /gap between 10 and 20/],
        [steps([{ MetricIntervalLowerBound: 0, MetricIntervalUpperBound: 30, ScalingAdjustment: 1 }, { MetricIntervalLowerBound: 20, ScalingAdjustment: 2 }]), /overlap at 20/],
        [steps([{ MetricIntervalLowerBound: 10, MetricIntervalUpperBound: 5, ScalingAdjustment: 1 }]), /lower bound below its upper bound/],
        [steps([{ MetricIntervalLowerBound: 0, ScalingAdjustment: 1 }], { MinAdjustmentMagnitude: 2 }), /only be specified when AdjustmentType is PercentChangeInCapacity/],
        [steps([{ MetricIntervalLowerBound: 0, ScalingAdjustment: 1 }], { Cooldown: -5 }), /Cooldown must be 0 or more/],
      ];
      for (const [command, message] of faults) await rejects(aas.send(command), 'ValidationException', message);
      await aas.send(new PutScalingPolicyCommand(tracking(resourceId)));
      await rejects(aas.send(new PutScalingPolicyCommand(tracking(resourceId, { PolicyName: 'cpu-again' }))), 'ValidationException', /already tracks this metric/);
      const names = (await aas.send(new DescribeScalingPoliciesCommand({ ServiceNamespace: 'ecs', ResourceId: resourceId }))).ScalingPolicies!.map((p) => p.PolicyName);
      assert.deepEqual(names, ['cpu50']);
    });

    it('creates, updates, describes and deletes scheduled actions; refuses bad schedules and time zones', async () => {
      const { resourceId } = await service();
      const put = (extra: object) => aas.send(new PutScheduledActionCommand({ ...ECS, ResourceId: resourceId, ScheduledActionName: 'morning', ...extra }));
      await rejects(put({ Schedule: 'cron(0 8 * * ? *)', ScalableTargetAction: { MinCapacity: 2 } }), 'ObjectNotFoundException', /No scalable target registered/);
      await register(resourceId, 1, 4);
      await put({ Schedule: 'cron(0 8 * * ? *)', Timezone: 'Europe/Paris', ScalableTargetAction: { MinCapacity: 2, MaxCapacity: 6 } });
      await put({ ScalableTargetAction: { MaxCapacity: 8 } });
      const [action] = (await aas.send(new DescribeScheduledActionsCommand({ ServiceNamespace: 'ecs', ResourceId: resourceId }))).ScheduledActions!;
      assert.equal(action!.Schedule, 'cron(0 8 * * ? *)');
      assert.equal(action!.Timezone, 'Europe/Paris');
      assert.deepEqual(action!.ScalableTargetAction, { MinCapacity: 2, MaxCapacity: 8 });
      assert.match(action!.ScheduledActionARN!, new RegExp(`:scheduledAction:[0-9a-f-]{36}:resource/ecs/${resourceId}:scheduledActionName/morning$`));
      for (const [extra, message] of [
        [{ Schedule: 'every day' }, /Invalid schedule expression: every day/],
        [{ Schedule: 'cron(0 8 * * MON *)' }, /exactly one of day-of-month and day-of-week must be \?/],
        [{ Timezone: 'Nowhere/Town' }, /Invalid time zone: Nowhere\/Town/],
        [{ StartTime: new Date('2026-07-01T00:00:00Z'), EndTime: new Date('2026-06-01T00:00:00Z') }, /EndTime must be later than StartTime/],
        [{ ScalableTargetAction: { MinCapacity: 9, MaxCapacity: 3 } }, /MinCapacity \(9\) cannot be greater than MaxCapacity \(3\)/],
        [{ ScheduledActionName: 'new', Schedule: 'rate(1 day)' }, /ScalableTargetAction must specify MinCapacity, MaxCapacity or both/],
        [{ ScheduledActionName: 'new' }, /Schedule is required/],
        [{ ScheduledActionName: 'has:colon', Schedule: 'rate(1 day)' }, /ScheduledActionName/],
      ] as const) {
        await rejects(put(extra), 'ValidationException', message);
      }
      const [unchanged] = (await aas.send(new DescribeScheduledActionsCommand({ ServiceNamespace: 'ecs', ScheduledActionNames: ['morning', 'new'] }))).ScheduledActions!;
      assert.equal(unchanged!.Timezone, 'Europe/Paris', 'nothing half-applied');
      await aas.send(new DeleteScheduledActionCommand({ ...ECS, ResourceId: resourceId, ScheduledActionName: 'morning' }));
      await rejects(aas.send(new DeleteScheduledActionCommand({ ...ECS, ResourceId: resourceId, ScheduledActionName: 'morning' })), 'ObjectNotFoundException',
        /^No scheduled action found for service namespace: ecs, resource ID: .*, scheduled action name: morning$/);
    });
  });

  describe('scaling', () => {
    it('target tracking scales out, holds within the cooldown, and scales in after fifteen low periods', async () => {
      const { name, resourceId } = await service(1);
      await register(resourceId, 1, 5);
      const policy = await aas.send(new PutScalingPolicyCommand({
        ...ECS, ResourceId: resourceId, PolicyName: 'cpu50', PolicyType: 'TargetTrackingScaling',
        TargetTrackingScalingPolicyConfiguration: {
          TargetValue: 50, ScaleOutCooldown: 120, ScaleInCooldown: 120,
          PredefinedMetricSpecification: { PredefinedMetricType: 'ECSServiceAverageCPUUtilization' },
        },
      }));
      metrics.set(`CPUUtilization/${name}`, 90);
      await advance(1);
      assert.equal(await desired(name), 2, 'one period above the target: ceil(1 × 90 / 50)');
      const [out] = await activities(resourceId);
      assert.equal(out!.Description, 'Setting desired count to 2.');
      assert.equal(out!.Cause, `monitor alarm ${policy.Alarms![0]!.AlarmName} in state ALARM triggered policy cpu50`);
      assert.equal(out!.StatusCode, 'Successful');
      assert.equal(out!.StatusMessage, 'Successfully set desired count to 2. Change successfully fulfilled by ecs.');
      assert.ok((await events(name)).some((m) => m === `(service ${name}) desired count changed from 1 to 2 by Application Auto Scaling: ${out!.Cause}.`));

      await advance(1);
      assert.equal(await desired(name), 2, 'within the scale-out cooldown the metric still reflects one task');
      await advance(2);
      assert.equal(await desired(name), 4, 'after the cooldown: ceil(2 × 90 / 50)');
      await advance(3);
      assert.equal(await desired(name), 5, 'MaxCapacity');

      metrics.set(`CPUUtilization/${name}`, 10);
      await advance(14);
      assert.equal(await desired(name), 5, 'fourteen low periods are not enough');
      await advance(1);
      assert.equal(await desired(name), 1, 'ceil(5 × 10 / 50)');
      assert.equal((await activities(resourceId))[0]!.Cause, `monitor alarm ${policy.Alarms![1]!.AlarmName} in state ALARM triggered policy cpu50`);
      metrics.set(`CPUUtilization/${name}`, undefined);
    });

    it('DisableScaleIn and a missing metric keep the count', async () => {
      const { name, resourceId } = await service(3);
      await register(resourceId, 1, 5);
      await aas.send(new PutScalingPolicyCommand({
        ...ECS, ResourceId: resourceId, PolicyName: 'memory', PolicyType: 'TargetTrackingScaling',
        TargetTrackingScalingPolicyConfiguration: { TargetValue: 50, DisableScaleIn: true, PredefinedMetricSpecification: { PredefinedMetricType: 'ECSServiceAverageMemoryUtilization' } },
      }));
      await advance(20);
      assert.equal(await desired(name), 3, 'no data: nothing to scale on');
      metrics.set(`MemoryUtilization/${name}`, 5);
      await advance(20);
      assert.equal(await desired(name), 3);
      metrics.set(`MemoryUtilization/${name}`, undefined);
    });

    it('a step scaling policy runs while an alarm naming it is in ALARM', async () => {
      const { name, resourceId } = await service(2);
      await register(resourceId, 1, 10);
      const { PolicyARN } = await aas.send(new PutScalingPolicyCommand({
        ...ECS, ResourceId: resourceId, PolicyName: 'step-up',
        StepScalingPolicyConfiguration: {
          AdjustmentType: 'ChangeInCapacity', Cooldown: 120, MetricAggregationType: 'Maximum',
          StepAdjustments: [{ MetricIntervalLowerBound: 0, MetricIntervalUpperBound: 20, ScalingAdjustment: 1 }, { MetricIntervalLowerBound: 20, ScalingAdjustment: 3 }],
        },
      }));
      const alarmName = `${name}-cpu-high`;
      const alarm = {
        AlarmName: alarmName, AlarmArn: `arn:aws:cloudwatch:us-east-1:123456789012:alarm:${alarmName}`, AlarmActions: [PolicyARN!],
        StateValue: 'OK', Threshold: 70, Namespace: 'AWS/ECS', MetricName: 'CPUUtilization', Period: 60,
        Dimensions: [{ Name: 'ClusterName', Value: 'scaling' }, { Name: 'ServiceName', Value: name }],
      };
      metrics.set(`CPUUtilization/${name}`, 95);
      await s.store.put(`cloudwatch/alarms/${alarmName}`, alarm);
      await advance(1);
      assert.equal(await desired(name), 2, 'the alarm is OK');
      const [described] = (await aas.send(new DescribeScalingPoliciesCommand({ ServiceNamespace: 'ecs', PolicyNames: ['step-up'], ResourceId: resourceId }))).ScalingPolicies!;
      assert.deepEqual(described!.Alarms, [{ AlarmName: alarmName, AlarmARN: alarm.AlarmArn }]);

      await s.store.put(`cloudwatch/alarms/${alarmName}`, { ...alarm, StateValue: 'ALARM' });
      await advance(1);
      assert.equal(await desired(name), 5, 'breach 25 is in [20, ∞): +3');
      assert.equal((await activities(resourceId))[0]!.Cause, `monitor alarm ${alarmName} in state ALARM triggered policy step-up`);
      await advance(1);
      assert.equal(await desired(name), 5, 'within the cooldown, +3 from 2 is already there');
      await advance(2);
      assert.equal(await desired(name), 8, 'after the cooldown, again');
      await s.store.delete(`cloudwatch/alarms/${alarmName}`);
      metrics.set(`CPUUtilization/${name}`, undefined);
    });

    it('keeps the desired count within the capacity bounds, and scheduled actions move the bounds', async () => {
      const { name, resourceId } = await service(1);
      await register(resourceId, 3, 6);
      await s.server.evaluateAutoscaling();
      assert.equal(await desired(name), 3);
      assert.deepEqual((await activities(resourceId)).map((a) => [a.Description, a.Cause]), [['Setting desired count to 3.', 'minimum capacity was set to 3']]);

      await s.ecs.send(new UpdateServiceCommand({ cluster: 'scaling', service: name, desiredCount: 9 }));
      await s.server.evaluateAutoscaling();
      assert.equal(await desired(name), 6, 'a desired count above MaxCapacity comes back to it');

      const at = new Date(now + 2 * PERIOD_MS).toISOString().slice(0, 19);
      await aas.send(new PutScheduledActionCommand({ ...ECS, ResourceId: resourceId, ScheduledActionName: 'quiet', Schedule: `at(${at})`, ScalableTargetAction: { MinCapacity: 0, MaxCapacity: 2 } }));
      await advance(1);
      assert.equal(await desired(name), 6, 'not yet');
      await advance(1);
      assert.equal(await desired(name), 2);
      const [target] = (await aas.send(new DescribeScalableTargetsCommand({ ServiceNamespace: 'ecs', ResourceIds: [resourceId] }))).ScalableTargets!;
      assert.deepEqual([target!.MinCapacity, target!.MaxCapacity], [0, 2]);
      const recent = (await activities(resourceId)).slice(0, 2).map((a) => [a.Description, a.Cause]);
      assert.deepEqual(recent, [
        ['Setting desired count to 2.', 'maximum capacity was set to 2'],
        ['Setting min capacity to 0 and max capacity to 2', 'scheduled action name quiet was triggered'],
      ]);
      await advance(1);
      assert.equal((await activities(resourceId)).length, 4, 'an at() action runs once');
    });

    it('ScheduledScalingSuspended skips scheduled runs; lifting it runs them from then on', async () => {
      const { name, resourceId } = await service(1);
      await aas.send(new RegisterScalableTargetCommand({ ...ECS, ResourceId: resourceId, MinCapacity: 1, MaxCapacity: 4, SuspendedState: { ScheduledScalingSuspended: true } }));
      await aas.send(new PutScheduledActionCommand({ ...ECS, ResourceId: resourceId, ScheduledActionName: 'every', Schedule: 'rate(2 minutes)', ScalableTargetAction: { MinCapacity: 3 } }));
      const at = new Date(now + PERIOD_MS).toISOString().slice(0, 19);
      await aas.send(new PutScheduledActionCommand({ ...ECS, ResourceId: resourceId, ScheduledActionName: 'once', Schedule: `at(${at})`, ScalableTargetAction: { MaxCapacity: 5 } }));
      await advance(3);
      assert.equal(await desired(name), 1, 'suspended');
      await aas.send(new RegisterScalableTargetCommand({ ...ECS, ResourceId: resourceId, SuspendedState: { ScheduledScalingSuspended: false } }));
      await advance(1);
      assert.equal(await desired(name), 3);
      assert.equal((await activities(resourceId)).at(-1)!.Description, 'Setting min capacity to 3');
      const [target] = (await aas.send(new DescribeScalableTargetsCommand({ ServiceNamespace: 'ecs', ResourceIds: [resourceId] }))).ScalableTargets!;
      assert.equal(target!.MaxCapacity, 4, 'the at() run that fell in the suspension was skipped, not replayed');
    });

    it('keeps scaling activities six weeks', async () => {
      const { resourceId } = await service(1);
      await register(resourceId, 2, 3);
      await s.server.evaluateAutoscaling();
      assert.equal((await activities(resourceId)).length, 1);
      await advance(6 * 7 * 24 * 60 - 1);
      assert.equal((await activities(resourceId)).length, 1, 'six weeks less a period');
      await advance(2 * 60);
      assert.deepEqual(await activities(resourceId), [], 'pruned on the first pass past six weeks');
      await rejects(aas.send(new DescribeScalingActivitiesCommand({ ServiceNamespace: 'ecs', ScalableDimension: 'ecs:service:DesiredCount' })),
        'ValidationException', /ResourceId must be specified when ScalableDimension is specified/);
    });
  });
});
