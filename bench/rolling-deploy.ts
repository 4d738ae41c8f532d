/**
 * A rolling deployment and a scale-in under a high request rate through a Wharf load balancer:
 * how many requests failed or answered outside 2xx while a service of busybox httpd tasks moved
 * from one revision to the next and then halved.
 *
 * The tasks run on two instances of the instance-hosts harness (each a network namespace with its
 * own dockerd and agent), so the load balancer reaches them over the network as it would other
 * machines: through the engine's port forwarding rules, not the userland proxy that a task's host
 * port on this machine's loopback goes through.
 *
 *   node dist/bench/rolling-deploy.js   (BENCH_TASKS=N, default 4; BENCH_CONCURRENCY=N, default 32)
 *
 * Target: zero failed requests at >= 2,000 requests/s. Prints figures, never fails on them.
 */
import { ElasticLoadBalancingV2Client } from '@aws-sdk/client-elastic-load-balancing-v2';
import { createLoadBalancedService } from '../src/testkit/load-balanced-service.js';
import { startRequestStream } from '../src/testkit/request-stream.js';
import { startHosts } from '../src/testkit/instance-hosts.js';
import { formatNumber, printTable, progress, runBenchmark } from './lib/index.js';

const TASKS = Number(process.env['BENCH_TASKS'] ?? 4);
const CONCURRENCY = Number(process.env['BENCH_CONCURRENCY'] ?? 32);
const TARGET_RATE = 2_000;

runBenchmark('rolling-deploy', async (defer) => {
  progress('starting two instance hosts');
  const h = await startHosts({ count: 2, serverArgs: ['--task-ready-delay-seconds', '1'] });
  defer(() => h.stop());
  const w = h.wharf;
  const elb = new ElasticLoadBalancingV2Client({ endpoint: w.url, region: 'us-east-1', credentials: w.credentials });
  defer(() => elb.destroy());

  progress(`starting ${TASKS} tasks behind a load balancer`);
  const svc = await createLoadBalancedService({ ecs: w.ecs, elb, cluster: w.cluster, name: 'bench-rolling', desiredCount: TASKS });
  progress(`request stream at concurrency ${CONCURRENCY}; rolling out revision 2, then scaling in to ${Math.ceil(TASKS / 2)}`);
  const stream = startRequestStream({ url: svc.url, concurrency: CONCURRENCY });
  const phases: [string, number][] = [];
  let t0 = stream.elapsedMs();
  await svc.rollOut();
  phases.push(['rolling deployment', stream.elapsedMs() - t0]);
  t0 = stream.elapsedMs();
  await svc.scaleTo(Math.ceil(TASKS / 2));
  phases.push(['scale-in', stream.elapsedMs() - t0]);
  const s = await stream.stop();

  printTable('Rolling deployment and scale-in under load', ['phase', 'seconds'], phases.map(([n, ms]) => [n, ms / 1000]));
  printTable('Requests through the load balancer', ['figure', 'value'], [
    ['requests', s.requests],
    ['requests/s', s.requestsPerSecond],
    ['2xx', s.ok],
    ['non-2xx', s.non2xx],
    ['failed (no answer)', s.failed],
    ['p50 latency ms', s.p50Ms],
    ['p99 latency ms', s.p99Ms],
  ], 0);
  for (const [body, n] of s.bodies) progress(`answered ${body}: ${n}`);
  const met = s.failed + s.non2xx === 0 && s.requestsPerSecond >= TARGET_RATE;
  process.stdout.write(`failed requests: ${s.failed + s.non2xx} at ${formatNumber(s.requestsPerSecond, 0)} req/s ` +
    `(target: 0 at >= ${TARGET_RATE} req/s) — ${met ? 'met' : 'NOT met'}\n`);
  if (s.failures.length) process.stdout.write(`first failures: ${JSON.stringify(s.failures.slice(0, 5))}\n`);
  await svc.remove();
});
