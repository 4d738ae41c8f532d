/**
 * Services against Docker Swarm, on one engine in one run: how long until 20 replicas run, and how
 * long from `docker kill` of one replica's container until its replacement runs.
 *
 * Both run on ONE dockerd of the instance-hosts harness (a network namespace of its own, so Swarm
 * never touches the machine's main engine, which other work uses): Swarm after `swarm init` on it,
 * Wharf through its agent on that same engine. A third line is the engine's own floor: N
 * concurrent Engine API create+start calls with no orchestrator, then one more (what any
 * replacement needs at least). Rounds are interleaved, the order rotating each round, so all three
 * share the machine's noise; one untimed warm-up round of each comes first.
 *
 *   node dist/bench/services-vs-swarm.js       (BENCH_ROUNDS=N, default 5; BENCH_REPLICAS=N, default 20)
 *
 * Target: Wharf's time <= 0.5 x Swarm's for both figures. Prints figures, never fails on them.
 */
import { performance } from 'node:perf_hooks';
import {
  CreateServiceCommand, DeleteServiceCommand, DescribeTasksCommand, ListTasksCommand, type ECSClient, type Task,
} from '@aws-sdk/client-ecs';
import { LABELS } from '../src/model/index.js';
import { startHosts, type InstanceHost } from '../src/testkit/instance-hosts.js';
import { TEST_IMAGE } from '../src/testkit/test-image.js';
import {
  BENCH_LABEL, DockerEngine, SLEEP_COMMAND, formatRatio, median, printTable, progress, registerSleepTaskDefinition, runBenchmark, sleep,
  summarize, waitFor,
} from './lib/index.js';

const ROUNDS = Number(process.env['BENCH_ROUNDS'] ?? 5);
const REPLICAS = Number(process.env['BENCH_REPLICAS'] ?? 20);
const TARGET_RATIO = 0.5;
/** Both sides are polled at this period: one Engine API list, or ListTasks + DescribeTasks (a few ms each). */
const POLL_INTERVAL_MS = 50;
const RUNNING_TIMEOUT_MS = 180_000;
const CLEANUP_TIMEOUT_MS = 180_000;
/**
 * Untimed stops (service removal between rounds) wait this long for `sleep`, which ignores
 * SIGTERM as PID 1: the same on both sides (Swarm --stop-grace-period, Wharf stopTimeout).
 */
const STOP_GRACE_SECONDS = 1;
const SWARM_SERVICE_LABEL = 'com.docker.swarm.service.name';

interface Sample { scaleUpMs: number; replaceMs: number }
/** Where Wharf's replacement time goes, from the tasks' own timestamps (ms after the kill). */
interface ReplacementPhases {
  /** The server has the killed task STOPPED (stoppedAt): the agent saw the container die and reported it. */
  stoppedMs: number;
  /** The scheduler created the replacement (createdAt). */
  createdMs: number;
  /** Its container started (startedAt). */
  startedMs: number;
  /** The benchmark saw it RUNNING. */
  seenMs: number;
}
/** Where Wharf's scale-up time goes: the last of the tasks to reach each moment (ms after CreateService). */
interface ScaleUpPhases {
  /** The scheduler created the task (createdAt). */
  createdMs: number;
  /** The agent began it (pullStartedAt). */
  begunMs: number;
  /** Its container started (startedAt). */
  startedMs: number;
  /** The benchmark saw all RUNNING. */
  seenMs: number;
}
type WharfSample = Sample & { phases: ReplacementPhases; scaleUpPhases: ScaleUpPhases };


runBenchmark('services-vs-swarm', async (defer) => {
  if (!Number.isInteger(ROUNDS) || ROUNDS < 1 || !Number.isInteger(REPLICAS) || REPLICAS < 1) {
    throw new Error('BENCH_ROUNDS and BENCH_REPLICAS must be positive integers');
  }
  progress('starting one namespaced host: dockerd, wharf server and agent');
  const hosts = await startHosts({
    count: 1,
    // Swarm's executor pulls the image before every task unless told to prefer the local one;
    // there is no registry here, and Wharf's agent runs with --image-pull-behavior prefer-cached.
    dockerEnvironment: { DOCKER_SERVICE_PREFER_OFFLINE_IMAGE: '1' },
    // Wharf removes a stopped task's containers after this (ECS agent default 3 h), so each round
    // starts from an engine as empty as Swarm's after `service rm`.
    agentArgs: ['--task-cleanup-wait-ms', '1000'],
  });
  defer(() => hosts.stop());
  const host = hosts.hosts[0]!;
  // As many connections as replicas: the engine-floor line starts them all at once, as the orchestrators do.
  const engine = new DockerEngine(host.dockerHost, REPLICAS);
  defer(() => engine.close());
  const { ecs, cluster, clusterArn } = hosts.wharf;

  progress(`swarm init on ${host.netns} (${host.address})`);
  await host.docker(['swarm', 'init', '--advertise-addr', host.address]);
  defer(() => host.docker(['swarm', 'leave', '--force']));
  const taskDefinition = await registerSleepTaskDefinition(ecs, `bench-swarm-${hosts.runId}`, STOP_GRACE_SECONDS);

  const swarmSamples: Sample[] = [];
  const wharfSamples: WharfSample[] = [];
  const floorSamples: Sample[] = [];
  const sides = [
    (name: string) => swarmRound(host, engine, name).then((s) => { swarmSamples.push(s); }),
    (name: string) => wharfRound(ecs, cluster, clusterArn, taskDefinition, engine, name).then((s) => { wharfSamples.push(s); }),
    (name: string) => engineFloorRound(engine, name).then((s) => { floorSamples.push(s); }),
  ];

  progress('warm-up: one untimed round of each');
  for (const side of sides) await side(`warmup-${hosts.runId}`);
  for (const samples of [swarmSamples, wharfSamples, floorSamples]) samples.length = 0;

  for (let round = 0; round < ROUNDS; round++) {
    const name = `bench-${hosts.runId}-${round}`;
    for (let i = 0; i < sides.length; i++) await sides[(round + i) % sides.length]!(name);
    const [s, w, f] = [swarmSamples.at(-1)!, wharfSamples.at(-1)!, floorSamples.at(-1)!];
    progress(`round ${round + 1}/${ROUNDS}: ${REPLICAS} running: swarm ${s.scaleUpMs.toFixed(0)} ms, wharf ${w.scaleUpMs.toFixed(0)} ms, `
      + `engine ${f.scaleUpMs.toFixed(0)} ms; replacement: swarm ${s.replaceMs.toFixed(0)} ms, wharf ${w.replaceMs.toFixed(0)} ms, `
      + `engine ${f.replaceMs.toFixed(0)} ms`);
  }
  report(swarmSamples, wharfSamples, floorSamples);
});

/**
 * `docker service create --detach --replicas N` (through the CLI, as a Swarm user does), timed
 * until N of its containers run; then SIGKILL one of them and time until N others run. Untimed:
 * `docker service rm` and waiting until its containers are gone.
 */
async function swarmRound(host: InstanceHost, engine: DockerEngine, name: string): Promise<Sample> {
  const label = `${SWARM_SERVICE_LABEL}=${name}`;
  const t0 = performance.now();
  await host.docker([
    'service', 'create', '--detach', '--replicas', String(REPLICAS), '--name', name,
    // No registry to resolve the tag to a digest against: without this the CLI waits for the lookup to time out.
    '--no-resolve-image',
    '--stop-grace-period', `${STOP_GRACE_SECONDS}s`,
    TEST_IMAGE, ...SLEEP_COMMAND,
  ]);
  try {
    let running: string[] = [];
    await waitFor(`${REPLICAS} running replicas of swarm service ${name}`, async () => {
      running = await engine.containers(label);
      return running.length >= REPLICAS;
    }, RUNNING_TIMEOUT_MS, POLL_INTERVAL_MS);
    const scaleUpMs = performance.now() - t0;

    const victim = running[0]!;
    const t1 = performance.now();
    await engine.kill(victim);
    await waitFor(`a replacement of swarm task container ${victim}`, async () => {
      const now = await engine.containers(label);
      return now.filter((id) => id !== victim).length >= REPLICAS;
    }, RUNNING_TIMEOUT_MS, POLL_INTERVAL_MS);
    return { scaleUpMs, replaceMs: performance.now() - t1 };
  } finally {
    await host.docker(['service', 'rm', name]);
    await waitFor(`the containers of swarm service ${name} to be removed`,
      async () => (await engine.containers(label, true)).length === 0, CLEANUP_TIMEOUT_MS, 200);
  }
}

/**
 * CreateService with desiredCount N, timed until N of its tasks are RUNNING (DescribeTasks); then
 * SIGKILL one task's container on the engine and time until N other tasks of the service are
 * RUNNING. Untimed: DeleteService (force) and waiting until the agent removed the containers.
 */
async function wharfRound(
  ecs: ECSClient, cluster: string, clusterArn: string, taskDefinition: string, engine: DockerEngine, serviceName: string,
): Promise<WharfSample> {
  const runningTasks = async (): Promise<string[]> => {
    const arns = (await ecs.send(new ListTasksCommand({ cluster, serviceName, desiredStatus: 'RUNNING' }))).taskArns ?? [];
    return (await describeTasks(ecs, cluster, arns)).filter((t) => t.lastStatus === 'RUNNING').map((t) => t.taskArn!);
  };
  const t0 = performance.now();
  await ecs.send(new CreateServiceCommand({ cluster, serviceName, taskDefinition, desiredCount: REPLICAS }));
  try {
    let running: string[] = [];
    await waitFor(`${REPLICAS} RUNNING tasks of service ${serviceName}`, async () => {
      running = await runningTasks();
      return running.length >= REPLICAS;
    }, RUNNING_TIMEOUT_MS, POLL_INTERVAL_MS);
    const scaleUpMs = performance.now() - t0;
    const createdAt = performance.timeOrigin + t0;
    const started = (await describeTasks(ecs, cluster, running));
    const last = (f: (t: Task) => Date | undefined) => Math.max(...started.map((t) => (f(t)?.getTime() ?? Number.NaN) - createdAt));
    const scaleUpPhases: ScaleUpPhases = {
      createdMs: last((t) => t.createdAt), begunMs: last((t) => t.pullStartedAt), startedMs: last((t) => t.startedAt), seenMs: scaleUpMs,
    };

    const victim = running[0]!;
    const [container] = await engine.containers(`${LABELS.taskArn}=${victim}`);
    if (!container) throw new Error(`no running container for task ${victim}`);
    const t1 = performance.now();
    await engine.kill(container);
    let after: string[] = [];
    await waitFor(`a replacement of task ${victim}`, async () => {
      after = await runningTasks();
      return after.filter((arn) => arn !== victim).length >= REPLICAS;
    }, RUNNING_TIMEOUT_MS, POLL_INTERVAL_MS);
    const replaceMs = performance.now() - t1;

    // The kill on the tasks' epoch clock, to place their timestamps after it.
    const killedAt = performance.timeOrigin + t1;
    const replacement = after.find((arn) => !running.includes(arn));
    const { tasks } = await ecs.send(new DescribeTasksCommand({ cluster, tasks: [victim, ...(replacement ? [replacement] : [])] }));
    const task = (arn: string | undefined) => tasks?.find((t) => t.taskArn === arn);
    const since = (d: Date | undefined) => (d ? d.getTime() - killedAt : Number.NaN);
    const phases: ReplacementPhases = {
      stoppedMs: since(task(victim)?.stoppedAt),
      createdMs: since(task(replacement)?.createdAt),
      startedMs: since(task(replacement)?.startedAt),
      seenMs: replaceMs,
    };
    return { scaleUpMs, replaceMs, phases, scaleUpPhases };
  } finally {
    await ecs.send(new DeleteServiceCommand({ cluster, service: serviceName, force: true }));
    await waitFor(`the containers of service ${serviceName} to be removed`,
      async () => (await engine.containers(`${LABELS.clusterArn}=${clusterArn}`, true)).length === 0, CLEANUP_TIMEOUT_MS, 200);
    await sleep(200);
  }
}

/** DescribeTasks of any number of tasks (100 per call, ECS's limit). */
async function describeTasks(ecs: ECSClient, cluster: string, arns: readonly string[]): Promise<Task[]> {
  const tasks: Task[] = [];
  for (let i = 0; i < arns.length; i += 100) {
    tasks.push(...((await ecs.send(new DescribeTasksCommand({ cluster, tasks: arns.slice(i, i + 100) }))).tasks ?? []));
  }
  return tasks;
}

/**
 * The engine's floor, no orchestrator: N concurrent Engine API create+start calls, timed until all
 * answered; then one more create+start, the least a replacement costs. Untimed: removing them.
 */
async function engineFloorRound(engine: DockerEngine, name: string): Promise<Sample> {
  const labels = { [BENCH_LABEL]: name };
  try {
    const t0 = performance.now();
    await Promise.all(Array.from({ length: REPLICAS }, () => engine.createAndStart(TEST_IMAGE, SLEEP_COMMAND, labels)));
    const scaleUpMs = performance.now() - t0;
    const t1 = performance.now();
    await engine.createAndStart(TEST_IMAGE, SLEEP_COMMAND, labels);
    return { scaleUpMs, replaceMs: performance.now() - t1 };
  } finally {
    await Promise.all((await engine.containers(`${BENCH_LABEL}=${name}`, true)).map((id) => engine.remove(id)));
  }
}

function report(swarm: Sample[], wharf: WharfSample[], floor: Sample[]): void {
  const row = (label: string, values: number[]) => {
    const s = summarize(values);
    return [label, s.median, s.min, s.max];
  };
  printTable(`${REPLICAS} replicas on one engine, ${swarm.length} interleaved rounds (ms)`, ['figure', 'median', 'min', 'max'], [
    row(`Swarm: service create -> ${REPLICAS} running`, swarm.map((s) => s.scaleUpMs)),
    row(`Wharf: CreateService -> ${REPLICAS} RUNNING`, wharf.map((s) => s.scaleUpMs)),
    row(`engine floor: ${REPLICAS} concurrent create+start`, floor.map((s) => s.scaleUpMs)),
    row('Swarm: docker kill -> replacement running', swarm.map((s) => s.replaceMs)),
    row('Wharf: docker kill -> replacement RUNNING', wharf.map((s) => s.replaceMs)),
    row('engine floor: one create+start', floor.map((s) => s.replaceMs)),
  ], 0);
  const ratio = (a: Sample[], b: Sample[], f: (s: Sample) => number) => formatRatio(median(a.map(f)) / median(b.map(f)));
  const up = (s: Sample) => s.scaleUpMs;
  const replace = (s: Sample) => s.replaceMs;
  printTable('Ratios (medians)', ['figure', 'Wharf / Swarm', 'target', 'Wharf / floor', 'Swarm / floor'], [
    [`${REPLICAS} replicas running`, ratio(wharf, swarm, up), `<= ${TARGET_RATIO.toFixed(2)}x`, ratio(wharf, floor, up), ratio(swarm, floor, up)],
    ['replacement after docker kill', ratio(wharf, swarm, replace), `<= ${TARGET_RATIO.toFixed(2)}x`, ratio(wharf, floor, replace), ratio(swarm, floor, replace)],
  ]);
  const upPhase = (f: (p: ScaleUpPhases) => number) => median(wharf.map((s) => f(s.scaleUpPhases)));
  printTable(`Where Wharf's scale-up time goes (medians, ms after CreateService; the last of the ${REPLICAS} tasks to reach each moment)`, ['moment', 'median'], [
    ['task created (service scheduler)', upPhase((p) => p.createdMs)],
    ['agent begins it (pullStartedAt)', upPhase((p) => p.begunMs)],
    ['its container started (startedAt)', upPhase((p) => p.startedMs)],
    [`benchmark sees all ${REPLICAS} RUNNING`, upPhase((p) => p.seenMs)],
  ], 0);
  const phase = (f: (p: ReplacementPhases) => number) => median(wharf.map((s) => f(s.phases)));
  printTable('Where Wharf\'s replacement time goes (medians, ms after the kill; the tasks\' own timestamps, 1 ms resolution)', ['moment', 'median'], [
    ['killed task STOPPED on the server (agent saw the exit, reported)', phase((p) => p.stoppedMs)],
    ['replacement task created (service scheduler)', phase((p) => p.createdMs)],
    ['replacement container started (agent: create + start)', phase((p) => p.startedMs)],
    ['benchmark sees it RUNNING (report + poll)', phase((p) => p.seenMs)],
  ], 0);
}
