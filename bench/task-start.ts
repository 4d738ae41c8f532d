/**
 * Task start: how long RunTask takes to give a RUNNING task, next to `docker run -d` of the same
 * image and command on the same engine, measured in the same run and interleaved so both share the
 * machine's noise. A third line, Engine API create+start without the CLI, is the stricter floor.
 * The references label their containers (`--label`) so cleanup finds them even after a failure.
 *
 *   node dist/bench/task-start.js          (BENCH_RUNS=N to change the 20 runs of each)
 *
 * Target: median(Wharf) / median(docker run) <= 1.3. Prints figures, never fails on them.
 */
import { execFile } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { performance } from 'node:perf_hooks';
import { promisify } from 'node:util';
import { DescribeTasksCommand, RunTaskCommand, StopTaskCommand, type ECSClient, type Task } from '@aws-sdk/client-ecs';
import { ensureTestImage, TEST_IMAGE } from '../src/testkit/test-image.js';
import { startWharf } from '../src/testkit/wharf-processes.js';
import {
  BENCH_LABEL, DockerEngine, SLEEP_COMMAND, formatRatio, median, printTable, progress, registerSleepTaskDefinition, runBenchmark, sleep,
  summarize, waitForConnectedAgent, waitForTaskStatus,
} from './lib/index.js';

const execFileAsync = promisify(execFile);

const RUNS = Number(process.env['BENCH_RUNS'] ?? 20);
const TARGET_RATIO = 1.3;
/** DescribeTasks poll period while waiting for RUNNING: one call takes ~2 ms, so this adds at most a few ms. */
const POLL_INTERVAL_MS = 5;
/** The untimed StopTask waits this long for `sleep` (deaf to SIGTERM); 30 s each would not fit in 3 minutes. */
const STOP_TIMEOUT_SECONDS = 1;
const START_TIMEOUT_MS = 60_000;
const STOP_WAIT_TIMEOUT_MS = 60_000;

interface WharfSample {
  totalMs: number;
  runTaskMs: number;
  /** Phases from the task's own timestamps (ms precision), for the breakdown table. */
  toPullStartMs: number;
  pullMs: number;
  createStartMs: number;
  reportMs: number;
}

runBenchmark('task-start', async (defer) => {
  const runId = randomBytes(4).toString('hex');
  const engine = new DockerEngine();
  defer(() => engine.close());
  if (!(await engine.ping())) throw new Error('Docker Engine does not answer on its socket; start dockerd first');
  progress('building the test image (if missing)');
  await ensureTestImage();
  defer(() => removeBenchContainers(runId));
  progress('starting wharf server and agent');
  const wharf = await startWharf();
  defer(() => wharf.stop());
  await wharf.startAgent();
  await waitForConnectedAgent(wharf.ecs, wharf.cluster);
  const taskDefinition = await registerSleepTaskDefinition(wharf.ecs, 'bench-task-start', STOP_TIMEOUT_SECONDS);

  const label = `${BENCH_LABEL}=${runId}`;
  const wharfRun = () => runWharfTask(wharf.ecs, wharf.cluster, taskDefinition);
  const dockerCliRun = async () => {
    const t0 = performance.now();
    const { stdout } = await execFileAsync('docker', ['run', '-d', '--label', label, TEST_IMAGE, ...SLEEP_COMMAND]);
    const ms = performance.now() - t0;
    await execFileAsync('docker', ['rm', '-f', stdout.trim()]);
    return ms;
  };
  const engineRun = async () => {
    const t0 = performance.now();
    const id = await engine.createAndStart(TEST_IMAGE, SLEEP_COMMAND, { [BENCH_LABEL]: runId });
    const ms = performance.now() - t0;
    await engine.remove(id);
    return ms;
  };

  progress('warm-up: one untimed run of each');
  await wharfRun();
  await dockerCliRun();
  await engineRun();

  const wharfSamples: WharfSample[] = [];
  const cliMs: number[] = [];
  const engineMs: number[] = [];
  for (let i = 0; i < RUNS; i++) {
    wharfSamples.push(await wharfRun());
    cliMs.push(await dockerCliRun());
    engineMs.push(await engineRun());
    progress(`run ${i + 1}/${RUNS}: wharf ${wharfSamples.at(-1)!.totalMs.toFixed(0)} ms, docker run ${cliMs.at(-1)!.toFixed(0)} ms, engine API ${engineMs.at(-1)!.toFixed(0)} ms`);
  }
  report(wharfSamples, cliMs, engineMs);
});

/** One timed RunTask → RUNNING, then an untimed StopTask → STOPPED. */
async function runWharfTask(ecs: ECSClient, cluster: string, taskDefinition: string): Promise<WharfSample> {
  const t0 = performance.now();
  const run = await ecs.send(new RunTaskCommand({ cluster, taskDefinition, count: 1 }));
  const runTaskMs = performance.now() - t0;
  const taskArn = run.tasks?.[0]?.taskArn;
  if (!taskArn) throw new Error(`RunTask placed no task: ${JSON.stringify(run.failures)}`);
  let task: Task | undefined;
  for (;;) {
    task = (await ecs.send(new DescribeTasksCommand({ cluster, tasks: [taskArn] }))).tasks?.[0];
    if (task?.lastStatus === 'RUNNING') break;
    if (task?.lastStatus === 'STOPPED' || task?.lastStatus === 'DEPROVISIONING') {
      throw new Error(`task stopped before RUNNING: ${task.stoppedReason ?? 'no reason'}`);
    }
    if (performance.now() - t0 > START_TIMEOUT_MS) throw new Error(`task ${taskArn} not RUNNING after ${START_TIMEOUT_MS} ms`);
    await sleep(POLL_INTERVAL_MS);
  }
  const totalMs = performance.now() - t0;

  // The task's timestamps are epoch-based; t0 is put on the same clock.
  const t0Epoch = performance.timeOrigin + t0;
  const at = (d: Date | undefined) => (d ? d.getTime() : Number.NaN);
  const sample: WharfSample = {
    totalMs,
    runTaskMs,
    toPullStartMs: at(task.pullStartedAt) - t0Epoch,
    pullMs: at(task.pullStoppedAt) - at(task.pullStartedAt),
    createStartMs: at(task.startedAt) - at(task.pullStoppedAt),
    reportMs: t0Epoch + totalMs - at(task.startedAt),
  };

  await ecs.send(new StopTaskCommand({ cluster, task: taskArn, reason: 'benchmark' }));
  await waitForTaskStatus(ecs, cluster, taskArn, 'STOPPED', STOP_WAIT_TIMEOUT_MS);
  return sample;
}

/** Removes every container the docker references of this run left, running or not. */
async function removeBenchContainers(runId: string): Promise<void> {
  const { stdout } = await execFileAsync('docker', ['ps', '-aq', '--filter', `label=${BENCH_LABEL}=${runId}`]);
  const ids = stdout.split('\n').filter(Boolean);
  if (ids.length > 0) await execFileAsync('docker', ['rm', '-f', ...ids]);
}

function report(wharf: WharfSample[], cliMs: number[], engineMs: number[]): void {
  const total = summarize(wharf.map((s) => s.totalMs));
  const cli = summarize(cliMs);
  const api = summarize(engineMs);
  printTable(`Task start, ${RUNS} interleaved runs of each (ms)`, ['path', 'median', 'p90', 'min', 'max'], [
    ['Wharf: RunTask -> DescribeTasks RUNNING', total.median, total.p90, total.min, total.max],
    ['reference: docker run -d (CLI)', cli.median, cli.p90, cli.min, cli.max],
    ['stricter reference: Engine API create+start', api.median, api.p90, api.min, api.max],
  ]);
  printTable('Ratios (medians)', ['ratio', 'measured', 'target'], [
    ['Wharf / docker run -d', formatRatio(total.median / cli.median), `<= ${TARGET_RATIO.toFixed(2)}x`],
    ['Wharf / Engine API create+start', formatRatio(total.median / api.median), '(none)'],
  ]);
  const phase = (f: (s: WharfSample) => number) => median(wharf.map(f));
  printTable('Where Wharf\'s time goes (medians, ms; phases from the task\'s own timestamps, 1 ms resolution)', ['phase', 'median'], [
    ['RunTask call (client-measured)', phase((s) => s.runTaskMs)],
    ['RunTask start -> agent begins (pullStartedAt)', phase((s) => s.toPullStartMs)],
    ['image check (pullStartedAt -> pullStoppedAt)', phase((s) => s.pullMs)],
    ['create + start (pullStoppedAt -> container startedAt)', phase((s) => s.createStartMs)],
    ['startedAt -> client sees RUNNING (report + poll)', phase((s) => s.reportMs)],
  ]);
}
