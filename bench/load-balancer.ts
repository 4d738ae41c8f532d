/**
 * Throughput and p99 latency through a Wharf load balancer (an HAProxy started and configured by
 * src/lb's data plane from a LoadBalancerConfig, as the load-balancer controller does) against an
 * HAProxy configured by hand with the same targets and thread count, in one run.
 *
 * Both sides: the same `BENCH_TARGETS` Node HTTP servers (one child process), `BENCH_THREADS`
 * HAProxy threads, health checks every 5 s. Load: `wrk` (keep-alive, `BENCH_CONNECTIONS`
 * connections, one thread), `BENCH_ROUNDS` rounds of `BENCH_SECONDS` each after an untimed warm-up,
 * the sides alternating so they share the machine's noise. Medians are compared. Targets:
 * throughput Wharf / hand >= 0.95, p99 Wharf / hand <= 1.1.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { HaproxyLoadBalancer, MIN_SLOTS, type LoadBalancerConfig, type TargetGroupConfig } from '../src/lb/index.js';
import { collectOutput, formatRatio, freePort, median, printTable, progress, requireCommands, runBenchmark, terminate, waitFor, waitForOutput } from './lib/index.js';

const TARGETS = Number(process.env['BENCH_TARGETS'] ?? 4);
const THREADS = Number(process.env['BENCH_THREADS'] ?? 1);
const CONNECTIONS = Number(process.env['BENCH_CONNECTIONS'] ?? 64);
const ROUNDS = Number(process.env['BENCH_ROUNDS'] ?? 10);
const SECONDS = Number(process.env['BENCH_SECONDS'] ?? 4);
/**
 * BENCH_HAND_FORWARDED=1 makes the hand configuration add the X-Forwarded-For, -Proto and -Port
 * headers too, as ELB (and so Wharf) does for every request: to see what share of a gap they are.
 */
const HAND_FORWARDED = process.env['BENCH_HAND_FORWARDED'] === '1';
/**
 * BENCH_ADDED_SLOTS=1 puts Wharf's targets in server slots added at run time (`add server`), as a
 * group that outgrows its configured slots gets: those are first taken by targets at loopback
 * addresses nobody listens on (never healthy, so never served), then the bench's targets are applied.
 */
const ADDED_SLOTS = process.env['BENCH_ADDED_SLOTS'] === '1';
const WARMUP_SECONDS = 2;
const BACKENDS_JS = fileURLToPath(new URL('./children/http-backends.js', import.meta.url));

interface WrkResult { requestsPerSecond: number; p99Ms: number; errors: number }

/** wrk's `--latency` report: Requests/sec, the 99% line, and any non-2xx/3xx or socket errors. */
function parseWrk(text: string): WrkResult {
  const rps = /Requests\/sec:\s+([\d.]+)/.exec(text);
  const p99 = /^\s*99%\s+([\d.]+)(us|ms|s)\s*$/m.exec(text);
  if (!rps || !p99) throw new Error(`unexpected wrk output: ${text}`);
  const unit = { us: 0.001, ms: 1, s: 1000 }[p99[2] as 'us' | 'ms' | 's'];
  const non2xx = Number(/Non-2xx or 3xx responses:\s+(\d+)/.exec(text)?.[1] ?? 0);
  const socket = /Socket errors: connect (\d+), read (\d+), write (\d+), timeout (\d+)/.exec(text);
  const socketErrors = socket ? socket.slice(1).reduce((sum, n) => sum + Number(n), 0) : 0;
  return { requestsPerSecond: Number(rps[1]), p99Ms: Number(p99[1]) * unit, errors: non2xx + socketErrors };
}

async function wrk(port: number, seconds: number): Promise<WrkResult> {
  const child = spawn('wrk', ['-t1', `-c${CONNECTIONS}`, `-d${seconds}s`, '--latency', `http://127.0.0.1:${port}/`], { stdio: ['ignore', 'pipe', 'pipe'] });
  return parseWrk(await collectOutput(child, (seconds + 30) * 1000));
}

async function ready(port: number): Promise<boolean> {
  const res = await fetch(`http://127.0.0.1:${port}/`).catch(() => undefined);
  return res?.status === 200;
}

runBenchmark('load-balancer', async (defer) => {
  requireCommands(['haproxy', 'wrk'], 'bash scripts/setup.sh --for-bench');
  const dir = mkdtempSync(join(tmpdir(), 'wharf-bench-lb-'));
  defer(() => rmSync(dir, { recursive: true, force: true }));

  const backends = spawn(process.execPath, [BACKENDS_JS, String(TARGETS)], { stdio: ['ignore', 'pipe', 'inherit'] });
  defer(() => terminate(backends));
  const ports = (JSON.parse((await waitForOutput(backends, /\{.*\}\n/, 10_000))[0]) as { ports: number[] }).ports;
  progress(`${TARGETS} targets on ports ${ports.join(', ')}`);

  // Wharf: the data plane, from a LoadBalancerConfig.
  const wharfPort = await freePort();
  const wharf = new HaproxyLoadBalancer({ dir: join(dir, 'wharf'), bindAddress: '127.0.0.1', threads: THREADS, log: () => undefined });
  defer(() => wharf.close());
  const targets = ports.map((port) => ({ targetId: `127.0.0.1:${port}`, address: '127.0.0.1', port, draining: false }));
  const withTargets = (members: TargetGroupConfig['targets']): LoadBalancerConfig => ({
    type: 'application', idleTimeoutSeconds: 60,
    listeners: [{ port: wharfPort, protocol: 'HTTP', rules: [], defaultAction: { type: 'forward', targetGroups: [{ targetGroupId: 'bench', weight: 1 }] } }],
    targetGroups: [{
      targetGroupId: 'bench', algorithm: 'round_robin', slowStartSeconds: 0,
      healthCheck: { protocol: 'HTTP', port: 'traffic-port', path: '/health', intervalSeconds: 5, timeoutSeconds: 2, healthyThreshold: 2, unhealthyThreshold: 2, matcher: '200' },
      targets: members,
    }],
  });
  if (ADDED_SLOTS) {
    const fillers = Array.from({ length: MIN_SLOTS }, (_, i) => ({ targetId: `filler${i}`, address: `127.0.0.${i + 2}`, port: ports[0]!, draining: false }));
    await wharf.start(withTargets(fillers));
    const applied = await wharf.apply(withTargets([...fillers, ...targets]));
    if (applied.reloaded || applied.targetErrors.length) throw new Error(`targets not added at run time: ${JSON.stringify(applied)}`);
    progress(`Wharf's targets in slots added at run time (${MIN_SLOTS} and up)`);
  } else {
    await wharf.start(withTargets(targets));
  }
  await waitFor('Wharf targets healthy', async () => {
    const health = (await wharf.targetHealth()).get('bench')!;
    return targets.every((t) => health.get(t.targetId)?.State === 'healthy');
  }, 60_000, 200);

  // By hand: what an operator would write for the same targets.
  const handPort = await freePort();
  const handConfig = [
    'global', `  nbthread ${THREADS}`,
    'defaults', '  mode http', '  timeout connect 5s', '  timeout client 60s', '  timeout server 60s',
    'frontend web', `  bind 127.0.0.1:${handPort}`, '  default_backend targets',
    ...(HAND_FORWARDED ? ['  option forwardfor', '  http-request set-header X-Forwarded-Proto http', `  http-request set-header X-Forwarded-Port ${handPort}`] : []),
    'backend targets', '  balance roundrobin', '  option httpchk GET /health',
    ...ports.map((port, i) => `  server t${i} 127.0.0.1:${port} check inter 5s rise 2 fall 2`),
  ].join('\n') + '\n';
  writeFileSync(join(dir, 'hand.cfg'), handConfig);
  const hand: ChildProcess = spawn('haproxy', ['-db', '-f', join(dir, 'hand.cfg')], { stdio: ['ignore', 'ignore', 'inherit'] });
  defer(() => terminate(hand));
  await waitFor('the hand-configured HAProxy', () => ready(handPort), 30_000, 100);

  progress('warm-up');
  await wrk(wharfPort, WARMUP_SECONDS);
  await wrk(handPort, WARMUP_SECONDS);
  const results: { wharf: WrkResult[]; hand: WrkResult[] } = { wharf: [], hand: [] };
  for (let round = 0; round < ROUNDS; round++) {
    const order = round % 2 === 0 ? (['wharf', 'hand'] as const) : (['hand', 'wharf'] as const);
    for (const side of order) {
      const result = await wrk(side === 'wharf' ? wharfPort : handPort, SECONDS);
      results[side].push(result);
      progress(`round ${round + 1} ${side}: ${result.requestsPerSecond.toFixed(0)} req/s, p99 ${result.p99Ms.toFixed(2)} ms, ${result.errors} errors`);
    }
  }

  const summary = (side: 'wharf' | 'hand') => ({
    rps: median(results[side].map((r) => r.requestsPerSecond)),
    p99: median(results[side].map((r) => r.p99Ms)),
    errors: results[side].reduce((sum, r) => sum + r.errors, 0),
  });
  const w = summary('wharf');
  const h = summary('hand');
  printTable(`Load balancer: ${TARGETS} Node targets${ADDED_SLOTS ? ' (Wharf: in slots added at run time)' : ''}, ${THREADS} HAProxy thread(s), wrk ${CONNECTIONS} keep-alive connections, ${ROUNDS} rounds of ${SECONDS} s (medians)`,
    ['side', 'req/s', 'p99 ms', 'errors'],
    [['Wharf load balancer', w.rps, w.p99, w.errors], ['HAProxy by hand', h.rps, h.p99, h.errors]], 2);
  // Rounds run back to back, so the ratio within a round shares the machine's load of the moment.
  const perRound = (figure: (r: WrkResult) => number) => median(results.wharf.map((r, i) => figure(r) / figure(results.hand[i]!)));
  printTable('Ratios', ['figure', 'of medians', 'median per round', 'target'], [
    ['throughput', formatRatio(w.rps / h.rps), formatRatio(perRound((r) => r.requestsPerSecond)), '>= 0.95'],
    ['p99 latency', formatRatio(w.p99 / h.p99), formatRatio(perRound((r) => r.p99Ms)), '<= 1.10'],
  ]);
  printTable('Per round', ['round', 'Wharf req/s', 'hand req/s', 'Wharf p99 ms', 'hand p99 ms'],
    results.wharf.map((r, i) => [String(i + 1), r.requestsPerSecond, results.hand[i]!.requestsPerSecond, r.p99Ms, results.hand[i]!.p99Ms]), 2);
});
