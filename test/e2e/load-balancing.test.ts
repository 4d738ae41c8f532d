/**
 * Services behind a Wharf load balancer on real containers, with a request stream running through
 * it the whole time: a rolling deployment and a scale-in fail no request, and a task whose
 * container is killed stops failing requests within one health-check interval.
 */
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { ElasticLoadBalancingV2Client } from '@aws-sdk/client-elastic-load-balancing-v2';
import { createLoadBalancedService } from '../../src/testkit/load-balanced-service.js';
import { startRequestStream, type RequestStreamSummary } from '../../src/testkit/request-stream.js';
import { ensureTestImage } from '../../src/testkit/test-image.js';
import { startWharf, type WharfProcesses } from '../../src/testkit/wharf-processes.js';
import { waitForConnectedInstances } from './helpers.js';

/** ELB's shortest interval; the target group's checks run this often. */
const HEALTH_CHECK_INTERVAL_SECONDS = 5;

describe('services behind a load balancer', () => {
  let w: WharfProcesses;
  let elb: ElasticLoadBalancingV2Client;

  before(async () => {
    await ensureTestImage();
    // Tasks behind a load balancer count as healthy once their targets are; the ready delay only
    // matters for tasks without one.
    w = await startWharf({ serverArgs: ['--task-ready-delay-seconds', '1'] });
    elb = new ElasticLoadBalancingV2Client({ endpoint: w.url, region: 'us-east-1', credentials: w.credentials, maxAttempts: 1 });
    await w.startAgent({ dataDir: `${w.dataDir}/agent-main` });
    await waitForConnectedInstances(w.ecs, w.cluster);
  });
  after(async () => { elb?.destroy(); await w?.stop(); });

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
      execFileSync('docker', ['kill', victim!.containers![0]!.runtimeId!]);
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
