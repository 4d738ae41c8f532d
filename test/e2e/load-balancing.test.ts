/**
 * Zero downtime behind a Wharf load balancer, end to end: a `wharf server` process (which runs the
 * HAProxy data plane) and two instances, each a network namespace with its own dockerd and agent
 * (startHosts: their task host ports are their own, and the load balancer reaches them at the
 * address each agent dials from), busybox httpd tasks, the ELBv2 and ECS APIs through the SDKs. Under a steady stream of requests through the load balancer, a rolling
 * deployment to a new revision and then a scale-in fail no request and answer no non-2xx; and
 * after a task's container is killed, failed requests stop within one health-check interval.
 */
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { request } from 'node:http';
import { createServer } from 'node:net';
import {
  CreateServiceCommand, DeleteServiceCommand, DescribeServicesCommand, DescribeTasksCommand, ListTasksCommand, RegisterTaskDefinitionCommand,
  UpdateServiceCommand, type Service,
} from '@aws-sdk/client-ecs';
import {
  CreateListenerCommand, CreateLoadBalancerCommand, CreateTargetGroupCommand, DescribeTargetHealthCommand, ElasticLoadBalancingV2Client,
  ModifyTargetGroupAttributesCommand,
} from '@aws-sdk/client-elastic-load-balancing-v2';
import { startHosts, type InstanceHosts } from '../../src/testkit/instance-hosts.js';
import { TEST_IMAGE } from '../../src/testkit/test-image.js';
import type { WharfProcesses } from '../../src/testkit/wharf-processes.js';
import { waitFor } from './helpers.js';

/**
 * The target group's checks: every 5 s, 2 to turn healthy or unhealthy (ECS's suggested fast
 * settings), with a 4 s timeout and a 60 s grace for the service so that a loaded test machine's
 * slow first answers do not get tasks replaced.
 */
const HEALTH_CHECK_INTERVAL_S = 5;
const DEREGISTRATION_DELAY_S = 3;
/** Requests in flight at any time. */
const CONCURRENCY = 4;

let h: InstanceHosts;
let w: WharfProcesses;
let elb: ElasticLoadBalancingV2Client;

before(async () => {
  h = await startHosts({ count: 2, serverArgs: ['--task-ready-delay-seconds', '1'] });
  w = h.wharf;
  elb = new ElasticLoadBalancingV2Client({ endpoint: w.url, region: 'us-east-1', credentials: w.credentials, maxAttempts: 1 });
});
after(async () => { elb?.destroy(); await h?.stop(); });

/**
 * A port free on the server's address for a listener: below the tasks' dynamic range (49153 and
 * up), which listeners may not use, picked at random so that parallel runs rarely meet.
 */
async function freePort(): Promise<number> {
  for (;;) {
    const port = 20_000 + Math.floor(Math.random() * 20_000);
    const server = createServer();
    const free = await new Promise<boolean>((resolve) => {
      server.once('error', () => resolve(false));
      server.listen(port, h.bridgeAddress, () => resolve(true));
    });
    if (free) {
      await new Promise<void>((resolve) => server.close(() => resolve()));
      return port;
    }
  }
}

/** busybox httpd answering `reply` on 8080; it ignores SIGTERM, so stopTimeout bounds its stop. */
function webDefinition(family: string, reply: string) {
  return new RegisterTaskDefinitionCommand({
    family,
    containerDefinitions: [{
      name: 'web', image: TEST_IMAGE, memory: 16, stopTimeout: 2, portMappings: [{ containerPort: 8080 }],
      command: ['sh', '-c', `busybox mkdir -p /www && echo ${reply} > /www/index.html && exec httpd -f -p 8080 -h /www`],
    }],
  });
}

/** A load balancer with one listener on a free port forwarding to a fresh HTTP target group; answers the port and the group. */
async function loadBalancer(name: string): Promise<{ port: number; targetGroupArn: string }> {
  const lb = (await elb.send(new CreateLoadBalancerCommand({ Name: name, Type: 'application' }))).LoadBalancers![0]!;
  const tg = (await elb.send(new CreateTargetGroupCommand({
    Name: name, Protocol: 'HTTP', Port: 8080, HealthCheckPath: '/', HealthCheckIntervalSeconds: HEALTH_CHECK_INTERVAL_S,
    HealthCheckTimeoutSeconds: 4, HealthyThresholdCount: 2, UnhealthyThresholdCount: 2,
  }))).TargetGroups![0]!;
  await elb.send(new ModifyTargetGroupAttributesCommand({
    TargetGroupArn: tg.TargetGroupArn, Attributes: [{ Key: 'deregistration_delay.timeout_seconds', Value: String(DEREGISTRATION_DELAY_S) }],
  }));
  const port = await freePort();
  await elb.send(new CreateListenerCommand({
    LoadBalancerArn: lb.LoadBalancerArn, Protocol: 'HTTP', Port: port, DefaultActions: [{ Type: 'forward', TargetGroupArn: tg.TargetGroupArn }],
  }));
  return { port, targetGroupArn: tg.TargetGroupArn! };
}

interface Outcome { at: number; ok: boolean; status?: number; body?: string; error?: string }

/** `CONCURRENCY` loops of GET / through the listener, each on a fresh connection, until stop() is called. */
function requestStream(port: number): { outcomes: Outcome[]; stop(): Promise<void> } {
  const outcomes: Outcome[] = [];
  let running = true;
  const once = () => new Promise<void>((resolve) => {
    const req = request({ host: h.bridgeAddress, port, path: '/', agent: false, timeout: 5_000 }, (res) => {
      let body = '';
      res.on('data', (d: Buffer) => { body += d.toString(); });
      res.on('end', () => {
        outcomes.push({ at: Date.now(), ok: res.statusCode !== undefined && res.statusCode >= 200 && res.statusCode < 300, status: res.statusCode, body: body.trim() });
        resolve();
      });
      res.on('error', (err) => { outcomes.push({ at: Date.now(), ok: false, error: err.message }); resolve(); });
    });
    req.on('timeout', () => req.destroy(new Error('timed out')));
    req.on('error', (err) => { outcomes.push({ at: Date.now(), ok: false, error: err.message }); resolve(); });
    req.end();
  });
  const loops = Array.from({ length: CONCURRENCY }, async () => { while (running) await once(); });
  return { outcomes, stop: async () => { running = false; await Promise.all(loops); } };
}

async function service(name: string): Promise<Service> {
  return (await w.ecs.send(new DescribeServicesCommand({ cluster: w.cluster, services: [name] }))).services![0]!;
}

/** Waits until the service has one COMPLETED deployment of `taskDefinition` with `count` running tasks and nothing draining. */
async function settled(name: string, family: string, count: number, targetGroupArn: string): Promise<void> {
  let last = '';
  await waitFor(`${name} settled at ${count} of ${family}`, async () => {
    const svc = await service(name);
    const d = svc.deployments ?? [];
    const health = (await elb.send(new DescribeTargetHealthCommand({ TargetGroupArn: targetGroupArn }))).TargetHealthDescriptions ?? [];
    last = JSON.stringify({
      deployments: d.map((x) => [x.taskDefinition, x.rolloutState, x.runningCount]), runningCount: svc.runningCount,
      events: svc.events?.slice(0, 8).map((e) => e.message), targets: health.map((h) => [h.Target?.Id, h.Target?.Port, h.TargetHealth]),
    });
    if (d.length !== 1 || d[0]!.rolloutState !== 'COMPLETED' || !d[0]!.taskDefinition!.includes(`/${family}`) || svc.runningCount !== count) return undefined;
    return health.length === count && health.every((h) => h.TargetHealth?.State === 'healthy') ? true : undefined;
  }, 180_000, 250).catch((err: Error) => { throw new Error(`${err.message}; last seen: ${last}`); });
}

describe('load balancing', () => {
  it('rolls a deployment out and scales in under a steady request stream: zero failed requests, zero non-2xx', async () => {
    await w.ecs.send(webDefinition('lb-roll', 'v1'));
    await w.ecs.send(webDefinition('lb-roll', 'v2'));
    const { port, targetGroupArn } = await loadBalancer(`roll-${w.cluster.slice(-12)}`);
    await w.ecs.send(new CreateServiceCommand({
      cluster: w.cluster, serviceName: 'roll', taskDefinition: 'lb-roll:1', desiredCount: 3,
      loadBalancers: [{ targetGroupArn, containerName: 'web', containerPort: 8080 }], healthCheckGracePeriodSeconds: 60,
      deploymentConfiguration: { minimumHealthyPercent: 100, maximumPercent: 200 },
    }));
    try {
      await settled('roll', 'lb-roll:1', 3, targetGroupArn);
      const stream = requestStream(port);
      try {
        await w.ecs.send(new UpdateServiceCommand({ cluster: w.cluster, service: 'roll', taskDefinition: 'lb-roll:2' }));
        await settled('roll', 'lb-roll:2', 3, targetGroupArn);
        await w.ecs.send(new UpdateServiceCommand({ cluster: w.cluster, service: 'roll', desiredCount: 1 }));
        await settled('roll', 'lb-roll:2', 1, targetGroupArn);
      } finally {
        await stream.stop();
      }
      const failed = stream.outcomes.filter((o) => !o.ok);
      assert.ok(stream.outcomes.length > 100, `only ${stream.outcomes.length} requests were made`);
      assert.deepEqual(failed.slice(0, 10), [], `${failed.length} of ${stream.outcomes.length} requests failed`);
      assert.ok(stream.outcomes.some((o) => o.body === 'v1') && stream.outcomes.some((o) => o.body === 'v2'), 'both revisions answered');
      assert.equal(stream.outcomes[stream.outcomes.length - 1]!.body, 'v2');
    } finally {
      await w.ecs.send(new DeleteServiceCommand({ cluster: w.cluster, service: 'roll', force: true }));
    }
  });

  it('stops failing requests within one health-check interval after a task\'s container is killed', async () => {
    await w.ecs.send(webDefinition('lb-kill', 'alive'));
    const { port, targetGroupArn } = await loadBalancer(`kill-${w.cluster.slice(-12)}`);
    await w.ecs.send(new CreateServiceCommand({
      cluster: w.cluster, serviceName: 'kill', taskDefinition: 'lb-kill:1', desiredCount: 2,
      loadBalancers: [{ targetGroupArn, containerName: 'web', containerPort: 8080 }], healthCheckGracePeriodSeconds: 60,
    }));
    try {
      await settled('kill', 'lb-kill:1', 2, targetGroupArn);
      const [victim] = (await w.ecs.send(new ListTasksCommand({ cluster: w.cluster, serviceName: 'kill' }))).taskArns!;
      const task = (await w.ecs.send(new DescribeTasksCommand({ cluster: w.cluster, tasks: [victim!] }))).tasks![0]!;
      const host = h.hostOf(task.containerInstanceArn!)!;
      const stream = requestStream(port);
      let killedAt = 0;
      try {
        await new Promise((r) => setTimeout(r, 1_000));
        killedAt = Date.now();
        await host.docker(['kill', task.containers![0]!.runtimeId!]);
        // Long enough for several intervals: whatever fails must have failed early in it.
        await new Promise((r) => setTimeout(r, 4 * HEALTH_CHECK_INTERVAL_S * 1000));
      } finally {
        await stream.stop();
      }
      const failedAfterKill = stream.outcomes.filter((o) => !o.ok && o.at >= killedAt);
      const lastFailure = Math.max(killedAt, ...failedAfterKill.map((o) => o.at));
      assert.ok(lastFailure - killedAt <= HEALTH_CHECK_INTERVAL_S * 1000,
        `requests still failed ${lastFailure - killedAt} ms after the kill (${failedAfterKill.length} failures)`);
      assert.ok(stream.outcomes.filter((o) => o.at > lastFailure && o.ok).length > 10, 'requests went on succeeding');
    } finally {
      await w.ecs.send(new DeleteServiceCommand({ cluster: w.cluster, service: 'kill', force: true }));
    }
  });
});
