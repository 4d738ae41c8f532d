/**
 * API throughput: signed DescribeTasks requests per second that the Wharf server answers at 64
 * concurrent keep-alive connections, next to a bare node:http server answering Wharf's exact
 * response bytes with no work. Both servers and the load generator are separate processes; the
 * rounds alternate reference, Wharf, reference, Wharf and the medians are compared.
 *
 *   node dist/bench/api-throughput.js      (BENCH_ROUNDS, BENCH_WARMUP_MS, BENCH_DURATION_MS to change)
 *
 * Target: req/s(Wharf) / req/s(reference) >= 0.5. Prints figures, never fails on them.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import http from 'node:http';
import { fileURLToPath } from 'node:url';
import { RunTaskCommand } from '@aws-sdk/client-ecs';
import { signRequest } from '../src/sigv4/index.js';
import { ensureTestImage } from '../src/testkit/test-image.js';
import { startWharf, type WharfProcesses } from '../src/testkit/wharf-processes.js';
import type { CannedResponse, LoadResult, LoadSpec } from './children/protocol.js';
import {
  collectOutput, cpuTimeMs, formatRatio, median, printTable, progress, registerSleepTaskDefinition, runBenchmark, terminate,
  waitForConnectedAgent, waitForOutput, waitForTaskStatus,
} from './lib/index.js';
import type { Cell } from './lib/index.js';

const CONNECTIONS = 64;
const ROUNDS = Number(process.env['BENCH_ROUNDS'] ?? 2);
const WARMUP_MS = Number(process.env['BENCH_WARMUP_MS'] ?? 2_000);
const DURATION_MS = Number(process.env['BENCH_DURATION_MS'] ?? 8_000);
const TARGET_RATIO = 0.5;
const REGION = 'us-east-1';
const TARGET_HEADER = 'AmazonEC2ContainerServiceV20141113.DescribeTasks';
/** Response headers the reference replays; Date, Connection and Keep-Alive node:http adds itself. */
const REPLAYED_HEADERS = ['content-type', 'x-amzn-requestid'];

const LOAD_GENERATOR_JS = fileURLToPath(new URL('./children/load-generator.js', import.meta.url));
const REFERENCE_SERVER_JS = fileURLToPath(new URL('./children/reference-server.js', import.meta.url));

interface SignedRequest {
  host: string;
  port: number;
  path: string;
  headers: Record<string, string>;
  body: Buffer;
}

interface Measured {
  result: LoadResult;
  reqPerSec: number;
  /** CPU the server process used during the whole load run, as a share of one core. */
  serverCpuShare: number;
}

/** Load generators still running, ended by cleanup if the benchmark stops early. */
const generators = new Set<ChildProcess>();

runBenchmark('api-throughput', async (defer) => {
  defer(() => Promise.all([...generators].map((g) => terminate(g, 'SIGKILL'))));
  progress('building the test image (if missing)');
  await ensureTestImage();
  progress('starting wharf server and agent, and one RUNNING task');
  const wharf = await startWharf();
  defer(() => wharf.stop());
  await wharf.startAgent();
  await waitForConnectedAgent(wharf.ecs, wharf.cluster);
  const taskDefinition = await registerSleepTaskDefinition(wharf.ecs, 'bench-api-throughput', 1);
  const run = await wharf.ecs.send(new RunTaskCommand({ cluster: wharf.cluster, taskDefinition, count: 1 }));
  const taskArn = run.tasks?.[0]?.taskArn;
  if (!taskArn) throw new Error(`RunTask placed no task: ${JSON.stringify(run.failures)}`);
  await waitForTaskStatus(wharf.ecs, wharf.cluster, taskArn, 'RUNNING', 60_000);

  // One signature for the whole run: the server accepts it for minutes, and the run takes one.
  const request = signDescribeTasks(wharf, taskArn);
  const canned = await capture(request);
  const cannedBody = Buffer.from(canned.bodyBase64, 'base64').toString();
  if (canned.status !== 200) throw new Error(`Wharf answered the signed DescribeTasks with ${canned.status}: ${cannedBody}`);
  const taskCount = (JSON.parse(cannedBody) as { tasks?: unknown[] }).tasks?.length ?? 0;
  if (taskCount !== 1) throw new Error(`the captured DescribeTasks response holds ${taskCount} tasks, not 1`);

  const reference = spawn(process.execPath, [REFERENCE_SERVER_JS, JSON.stringify(canned)], { stdio: ['ignore', 'pipe', 'inherit'] });
  defer(() => terminate(reference));
  const referencePort = Number((await waitForOutput(reference, /listening (\d+)/, 10_000))[1]);

  const refRounds: Measured[] = [];
  const wharfRounds: Measured[] = [];
  for (let round = 1; round <= ROUNDS; round++) {
    progress(`round ${round}/${ROUNDS}: reference`);
    refRounds.push(await load({ ...request, port: referencePort }, reference.pid!));
    progress(`round ${round}/${ROUNDS}: wharf`);
    wharfRounds.push(await load(request, wharf.server.pid!));
  }
  report(canned, refRounds, wharfRounds);
});

function signDescribeTasks(wharf: WharfProcesses, taskArn: string): SignedRequest {
  const url = new URL(wharf.url);
  const body = Buffer.from(JSON.stringify({ cluster: wharf.cluster, tasks: [taskArn] }));
  const headers: Record<string, string> = {
    host: url.host,
    'content-type': 'application/x-amz-json-1.1',
    'x-amz-target': TARGET_HEADER,
  };
  const auth = signRequest({ method: 'POST', url: new URL('/', url), headers, body }, wharf.credentials, { region: REGION, service: 'ecs' });
  return { host: url.hostname, port: Number(url.port), path: '/', headers: { ...headers, ...auth }, body };
}

/** Sends the signed request once and keeps the parts of Wharf's answer the reference replays. */
function capture(request: SignedRequest): Promise<CannedResponse> {
  return new Promise((resolve, reject) => {
    const req = http.request({
      host: request.host, port: request.port, method: 'POST', path: request.path,
      headers: { ...request.headers, 'content-length': String(request.body.length) }, timeout: 10_000,
    }, (res) => {
      const chunks: Buffer[] = [];
      res.on('data', (c: Buffer) => chunks.push(c));
      res.on('error', reject);
      res.on('end', () => {
        const headers: Record<string, string> = {};
        for (const name of REPLAYED_HEADERS) {
          const value = res.headers[name];
          if (typeof value === 'string') headers[name] = value;
        }
        resolve({ status: res.statusCode ?? 0, headers, bodyBase64: Buffer.concat(chunks).toString('base64') });
      });
    });
    req.on('timeout', () => req.destroy(new Error('capturing the DescribeTasks response timed out')));
    req.on('error', reject);
    req.end(request.body);
  });
}

/** One load run in a fresh load-generator process against `target`; `serverPid` is sampled for CPU. */
async function load(target: SignedRequest, serverPid: number): Promise<Measured> {
  const spec: LoadSpec = {
    host: target.host, port: target.port, method: 'POST', path: target.path, headers: target.headers,
    bodyBase64: target.body.toString('base64'), connections: CONNECTIONS, warmupMs: WARMUP_MS, durationMs: DURATION_MS,
  };
  const cpuBefore = cpuTimeMs(serverPid) ?? Number.NaN;
  const startedAt = Date.now();
  const generator = spawn(process.execPath, [LOAD_GENERATOR_JS, JSON.stringify(spec)], { stdio: ['ignore', 'pipe', 'pipe'] });
  generators.add(generator);
  generator.once('exit', () => generators.delete(generator));
  const result = JSON.parse(await collectOutput(generator, WARMUP_MS + DURATION_MS + 30_000)) as LoadResult;
  const serverCpuShare = ((cpuTimeMs(serverPid) ?? Number.NaN) - cpuBefore) / (Date.now() - startedAt);
  return { result, reqPerSec: result.ok / result.measuredSeconds, serverCpuShare };
}

function report(canned: CannedResponse, refRounds: Measured[], wharfRounds: Measured[]): void {
  const pct = (share: number) => `${Math.round(share * 100)}%`;
  const rows: Cell[][] = [];
  for (let i = 0; i < ROUNDS; i++) {
    for (const [name, m] of [['reference (bare node:http)', refRounds[i]!], ['Wharf DescribeTasks', wharfRounds[i]!]] as const) {
      rows.push([`${i + 1}: ${name}`, m.reqPerSec, m.result.errors, pct(m.serverCpuShare), pct(m.result.cpuShareOfOneCore)]);
    }
  }
  const bodyBytes = Buffer.from(canned.bodyBase64, 'base64').length;
  printTable(
    `DescribeTasks at ${CONNECTIONS} keep-alive connections, ${WARMUP_MS / 1000} s warm-up + ${DURATION_MS / 1000} s measured per run, ${bodyBytes}-byte response`,
    ['round: server', 'req/s', 'errors', 'server CPU', 'load-gen CPU'], rows, 0,
  );
  const ref = median(refRounds.map((m) => m.reqPerSec));
  const wh = median(wharfRounds.map((m) => m.reqPerSec));
  printTable(`Medians of ${ROUNDS} rounds`, ['server', 'req/s', 'errors'], [
    ['reference (bare node:http)', ref, refRounds.reduce((n, m) => n + m.result.errors, 0)],
    ['Wharf DescribeTasks', wh, wharfRounds.reduce((n, m) => n + m.result.errors, 0)],
  ], 0);
  printTable('Ratio', ['ratio', 'measured', 'target'], [['Wharf / reference', formatRatio(wh / ref), `>= ${TARGET_RATIO.toFixed(2)}x`]]);
  const firstError = [...refRounds, ...wharfRounds].find((m) => m.result.firstError)?.result.firstError;
  if (firstError) process.stdout.write(`first error seen: ${firstError}\n`);
}
