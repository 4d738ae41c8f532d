/**
 * Services behind a Wharf load balancer on real containers, with a request stream running through
 * it the whole time: a rolling deployment and a scale-in fail no request, and a task whose
 * container is killed stops failing requests within one health-check interval. Two instances,
 * each a network namespace with its own dockerd and agent (startHosts), so the load balancer
 * reaches tasks at the address each agent dials from.
 */
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { ElasticLoadBalancingV2Client } from '@aws-sdk/client-elastic-load-balancing-v2';
import { createLoadBalancedService } from '../../src/testkit/load-balanced-service.js';
import { startRequestStream, type RequestStreamSummary } from '../../src/testkit/request-stream.js';
import { startHosts, type InstanceHosts } from '../../src/testkit/instance-hosts.js';
import type { WharfProcesses } from '../../src/testkit/wharf-processes.js';

/** ELB's shortest interval; the target group's checks run this often. */
const HEALTH_CHECK_INTERVAL_SECONDS = 5;

describe('services behind a load balancer', () => {
  let h: InstanceHosts;
  let w: WharfProcesses;
  let elb: ElasticLoadBalancingV2Client;

  before(async () => {
    // Tasks behind a load balancer count as healthy once their targets are; the ready delay only
    // matters for tasks without one.
    h = await startHosts({ count: 2, serverArgs: ['--task-ready-delay-seconds', '1'] });
    w = h.wharf;
    elb = new ElasticLoadBalancingV2Client({ endpoint: w.url, region: 'us-east-1', credentials: w.credentials, maxAttempts: 1 });
  });
  after(async () => { elb?.destroy(); await h?.stop(); });

  const describeFailures = (s: RequestStreamSummary) =>
    `${s.failed} failed and ${s.non2xx} non-2xx of ${s.requests}: ${JSON.stringify(s.failures.slice(0, 5))}`;

  it('rolls out a new revision and scales in without a failed request', async () => {
    const svc = await createLoadBalancedService({
      ecs: w.ecs, elb, cluster: w.cluster, name: 'zero-downtime', desiredCount: 3,
      healthCheckIntervalSeconds: HEALTH_CHECK_INTERVAL_SECONDS,
    });
    const stream = startRequestStream({ url: svc.url, concurrency: 4, ratePerSecond: 200 });
    try {
      await svc.rollOut();
      await svc.scaleTo(1);
    } finally {
      const s = await stream.stop();
      assert.equal(s.failed + s.non2xx, 0, describeFailures(s));
      assert.ok(s.ok > 0);
      // Both revisions answered, and only the new one does at the end.
      assert.ok(s.bodies.has('rev-1') && s.bodies.has('rev-2'), JSON.stringify([...s.bodies]));
    }
    const after = startRequestStream({ url: svc.url, concurrency: 1 });
    await new Promise((r) => setTimeout(r, 300));
    const tail = await after.stop();
    assert.deepEqual([...tail.bodies.keys()], ['rev-2']);
    await svc.remove();
  });

  it('stops failing requests within one health-check interval after a task container is killed', async () => {
    const svc = await createLoadBalancedService({
      ecs: w.ecs, elb, cluster: w.cluster, name: 'killed-task', desiredCount: 2,
      healthCheckIntervalSeconds: HEALTH_CHECK_INTERVAL_SECONDS,
    });
    const stream = startRequestStream({ url: svc.url, concurrency: 4, ratePerSecond: 200 });
    let killedAtMs = 0;
    try {
      await new Promise((r) => setTimeout(r, 500));
      const [victim] = await svc.runningTasks();
      killedAtMs = stream.elapsedMs();
      await h.hostOf(victim!.containerInstanceArn!)!.docker(['kill', victim!.containers![0]!.runtimeId!]);
      // The service replaces it; the stream keeps going through the replacement.
      await svc.waitForHealthyTargets(2);
    } finally {
      const s = await stream.stop();
      const late = s.failures.filter((f) => f.atMs > killedAtMs + HEALTH_CHECK_INTERVAL_SECONDS * 1000);
      assert.deepEqual(late, [], describeFailures(s));
      assert.ok(s.ok > 0);
    }
    await svc.remove();
  });
});
