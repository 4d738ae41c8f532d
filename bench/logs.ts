/**
 * Log throughput: one awslogs container writing numbered lines as fast as it can (busybox awk), end
 * to end from the container's start until a FilterLogEvents reader (polling as `aws logs tail
 * --follow` does) holds every line, next to `docker logs --follow` reading the same container from
 * the same start, in the same run. Also counts the lines lost, repeated or out of order in Wharf.
 *
 *   node dist/bench/logs.js          (BENCH_LOG_LINES=N to change the 200,000 lines)
 *
 * Target: lines/s Wharf / lines/s docker logs >= 0.5, and 0 lines lost. Prints figures, never fails on them.
 */
import { execFile, spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { promisify } from 'node:util';
import { CloudWatchLogsClient, FilterLogEventsCommand } from '@aws-sdk/client-cloudwatch-logs';
import { RegisterTaskDefinitionCommand, RunTaskCommand } from '@aws-sdk/client-ecs';
import { LABELS } from '../src/model/index.js';
import { ensureTestImage, TEST_IMAGE } from '../src/testkit/test-image.js';
import { startWharf } from '../src/testkit/wharf-processes.js';
import { formatRatio, printTable, progress, runBenchmark, sleep, waitFor, waitForConnectedAgent } from './lib/index.js';

const execFileAsync = promisify(execFile);
const LINES = Number(process.env['BENCH_LOG_LINES'] ?? 200_000);
const TARGET_RATIO = 0.5;
/** How often the FilterLogEvents reader asks again once it has read everything there is (the CLI waits 5 s). */
const POLL_INTERVAL_MS = 20;
const RUN_TIMEOUT_MS = 10 * 60_000;

runBenchmark('logs', async (defer) => {
  progress('building the test image (if missing)');
  await ensureTestImage();
  progress('starting wharf server and agent');
  const wharf = await startWharf();
  defer(() => wharf.stop());
  await wharf.startAgent();
  await waitForConnectedAgent(wharf.ecs, wharf.cluster);
  const logs = new CloudWatchLogsClient({ endpoint: wharf.url, region: 'us-east-1', credentials: wharf.credentials, maxAttempts: 1 });
  defer(() => logs.destroy());

  const group = `/bench/logs-${randomBytes(4).toString('hex')}`;
  // About 80 bytes a line, numbered so losses, repeats and reordering show.
  const program = `BEGIN { for (i = 0; i < ${LINES}; i++) printf "line %d the quick brown fox jumps over the lazy dog 0123456789 abcdef\\n", i }`;
  await wharf.ecs.send(new RegisterTaskDefinitionCommand({
    family: 'bench-logs',
    containerDefinitions: [{
      name: 'writer', image: TEST_IMAGE, memory: 64, essential: true, command: ['busybox', 'awk', program],
      logConfiguration: { logDriver: 'awslogs', options: { 'awslogs-group': group, 'awslogs-stream-prefix': 'bench', 'awslogs-create-group': 'true' } },
    }],
  }));
  progress(`running a task writing ${LINES} lines`);
  const taskArn = (await wharf.ecs.send(new RunTaskCommand({ cluster: wharf.cluster, taskDefinition: 'bench-logs' }))).tasks![0]!.taskArn!;
  let containerId = '';
  await waitFor('the writer container', async () => {
    const { stdout } = await execFileAsync('docker', ['ps', '-aq', '--no-trunc', '--filter', `label=${LABELS.taskArn}=${taskArn}`]);
    containerId = stdout.trim();
    return containerId.length > 0;
  }, 60_000, 10);

  const [dockerDoneMs, wharfResult] = await Promise.all([followDockerLogs(containerId), followWharf(logs, group)]);
  const { startedAtMs, finishedAtMs } = await containerTimes(containerId);
  progress('timing a plain `docker logs` read of the finished container');
  const readStart = performance.now();
  const readLines = await countDockerLogs(containerId);
  const readMs = performance.now() - readStart;

  const wharfSeconds = (wharfResult.doneMs - startedAtMs) / 1000;
  const dockerSeconds = (dockerDoneMs - startedAtMs) / 1000;
  const wharfRate = LINES / wharfSeconds;
  const dockerRate = LINES / dockerSeconds;
  const perSecond = (n: number) => String(Math.round(n));
  printTable(`Log throughput, ${LINES} lines of ~80 bytes from one container, timed from the container's start`,
    ['path', 'seconds', 'lines/s', 'behind the writer s'], [
      ['Wharf: awslogs -> agent -> PutLogEvents -> FilterLogEvents', wharfSeconds, perSecond(wharfRate), (wharfResult.doneMs - finishedAtMs) / 1000],
      ['docker logs --follow (reference)', dockerSeconds, perSecond(dockerRate), (dockerDoneMs - finishedAtMs) / 1000],
      ['docker logs of the finished container (shown, not the reference)', readMs / 1000, perSecond(readLines / (readMs / 1000)), '-'],
    ], 2);
  printTable('Ratio and losses', ['figure', 'value', 'target'], [
    ['lines/s Wharf / docker logs --follow', formatRatio(wharfRate / dockerRate), `>= ${TARGET_RATIO}x`],
    ['lines lost', LINES - wharfResult.distinct, '0'],
    ['lines repeated', wharfResult.total - wharfResult.distinct, '0'],
    ['lines out of order', wharfResult.outOfOrder, '0'],
  ], 0);
});

/** `docker logs --follow` until it has printed every line; answers the wall-clock time then (ms). */
function followDockerLogs(containerId: string): Promise<number> {
  return new Promise((resolve, reject) => {
    const child = spawn('docker', ['logs', '--follow', containerId], { stdio: ['ignore', 'pipe', 'ignore'] });
    let count = 0;
    const timer = setTimeout(() => { child.kill('SIGKILL'); reject(new Error(`docker logs saw ${count} of ${LINES} lines`)); }, RUN_TIMEOUT_MS);
    child.stdout!.on('data', (chunk: Buffer) => {
      for (let i = chunk.indexOf(10); i >= 0; i = chunk.indexOf(10, i + 1)) count++;
      if (count >= LINES) {
        clearTimeout(timer);
        resolve(Date.now());
        child.kill('SIGKILL');
      }
    });
    child.once('error', reject);
  });
}

/** Reads the group as `aws logs tail --follow` does until every line is there; counts what it saw. */
async function followWharf(logs: CloudWatchLogsClient, group: string): Promise<{ doneMs: number; total: number; distinct: number; outOfOrder: number }> {
  const seenIds = new Set<string>();
  const seenLines = new Set<number>();
  let total = 0;
  let outOfOrder = 0;
  let lastLine = -1;
  let startTime = 0;
  const deadline = Date.now() + RUN_TIMEOUT_MS;
  while (seenLines.size < LINES) {
    if (Date.now() > deadline) throw new Error(`FilterLogEvents saw ${seenLines.size} of ${LINES} lines`);
    let nextToken: string | undefined;
    let any = false;
    try {
      do {
        const page = await logs.send(new FilterLogEventsCommand({ logGroupName: group, startTime, ...(nextToken ? { nextToken } : {}) }));
        for (const e of page.events ?? []) {
          if (seenIds.has(e.eventId!)) continue;
          seenIds.add(e.eventId!);
          any = true;
          total++;
          const n = Number(/^line (\d+) /.exec(e.message!)?.[1] ?? -1);
          if (n < lastLine) outOfOrder++;
          lastLine = n;
          seenLines.add(n);
          startTime = Math.max(startTime, e.timestamp!);
        }
        nextToken = page.nextToken;
      } while (nextToken);
    } catch (err) {
      // The group appears with the agent's first CreateLogGroup.
      if ((err as Error).name !== 'ResourceNotFoundException') throw err;
    }
    if (!any) await sleep(POLL_INTERVAL_MS);
  }
  return { doneMs: Date.now(), total, distinct: seenLines.size, outOfOrder };
}

/** When the writer started and exited (it has exited once every line was read). */
async function containerTimes(containerId: string): Promise<{ startedAtMs: number; finishedAtMs: number }> {
  const { stdout } = await execFileAsync('docker', ['inspect', '--format', '{{.State.StartedAt}} {{.State.FinishedAt}}', containerId]);
  const [started, finished] = stdout.trim().split(' ');
  return { startedAtMs: Date.parse(started!), finishedAtMs: Date.parse(finished!) };
}

async function countDockerLogs(containerId: string): Promise<number> {
  const { stdout } = await execFileAsync('docker', ['logs', containerId], { maxBuffer: 1 << 30 });
  return stdout.split('\n').length - 1;
}
