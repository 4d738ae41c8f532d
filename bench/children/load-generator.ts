/**
 * The load generator of the API benchmark, in its own process so it shares an event loop with
 * neither server. `connections` concurrent keep-alive loops over one node:http Agent send the same
 * request bytes over and over for warm-up + duration, and count completed 200s in the window.
 *
 * Input: argv[2] is a JSON LoadSpec. Output: one JSON LoadResult line on stdout.
 */
import http from 'node:http';
import { performance } from 'node:perf_hooks';
import type { LoadResult, LoadSpec } from './protocol.js';

const spec = JSON.parse(process.argv[2] ?? '') as LoadSpec;
const body = Buffer.from(spec.bodyBase64, 'base64');
const headers = { ...spec.headers, 'content-length': String(body.length) };
const agent = new http.Agent({ keepAlive: true, maxSockets: spec.connections });

/** Per request: a bound, so a stalled server ends the run instead of hanging it. */
const REQUEST_TIMEOUT_MS = 10_000;

let ok = 0;
let errors = 0;
let firstError: string | undefined;

/** One request → response: the HTTP status, or the transport error's message. */
function once(): Promise<number | string> {
  return new Promise((resolve) => {
    const req = http.request({ host: spec.host, port: spec.port, method: spec.method, path: spec.path, headers, agent, timeout: REQUEST_TIMEOUT_MS }, (res) => {
      res.on('error', (err) => resolve(err.message));
      res.on('end', () => resolve(res.statusCode ?? 0));
      res.resume();
    });
    req.on('timeout', () => req.destroy(new Error('request timed out')));
    req.on('error', (err) => resolve(err.message));
    req.end(body);
  });
}

async function main(): Promise<void> {
  const start = performance.now();
  const windowStart = start + spec.warmupMs;
  const windowEnd = windowStart + spec.durationMs;
  let cpuAtWindowStart: { usage: NodeJS.CpuUsage; atMs: number } | undefined;
  const loop = async () => {
    while (performance.now() < windowEnd) {
      const outcome = await once();
      const now = performance.now();
      if (outcome !== 200) {
        errors++;
        firstError ??= typeof outcome === 'number' ? `HTTP ${outcome}` : outcome;
      } else if (now >= windowStart && now <= windowEnd) {
        ok++;
      }
      if (cpuAtWindowStart === undefined && now >= windowStart) cpuAtWindowStart = { usage: process.cpuUsage(), atMs: now };
    }
  };
  await Promise.all(Array.from({ length: spec.connections }, loop));
  const cpu = process.cpuUsage(cpuAtWindowStart?.usage);
  const cpuWindowMs = performance.now() - (cpuAtWindowStart?.atMs ?? start);
  agent.destroy();
  const result: LoadResult = {
    ok, errors, measuredSeconds: spec.durationMs / 1000,
    cpuShareOfOneCore: (cpu.user + cpu.system) / 1000 / cpuWindowMs,
    ...(firstError === undefined ? {} : { firstError }),
  };
  process.stdout.write(JSON.stringify(result) + '\n');
}

main().catch((err: unknown) => {
  process.stderr.write(`load generator failed: ${String(err)}\n`);
  process.exit(1);
});
