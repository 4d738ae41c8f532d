/**
 * Services against Docker Swarm, on one engine in one run: how long until 20 replicas run, and how
 * long from `docker kill` of one replica's container until its replacement runs.
 *
 * Both run on ONE dockerd of the instance-hosts harness (a network namespace of its own, so Swarm
 * never touches the machine's main engine, which other work uses): Swarm after `swarm init` on it,
 * Wharf through its agent on that same engine. Rounds are interleaved (Swarm first in even rounds,
 * Wharf first in odd ones) so both share the machine's noise; one untimed warm-up round of each
 * comes first.
 *
 *   node dist/bench/services-vs-swarm.js       (BENCH_ROUNDS=N, default 5; BENCH_REPLICAS=N, default 20)
 *
 * Target: Wharf's time <= 0.5 x Swarm's for both figures. Prints figures, never fails on them.
 */
import { performance } from 'node:perf_hooks';
import {
  CreateServiceCommand, DeleteServiceCommand, DescribeTasksCommand, ListTasksCommand, type ECSClient,
} from '@aws-sdk/client-ecs';
import { LABELS } from '../src/model/index.js';
import { startHosts, type InstanceHost } from '../src/testkit/instance-hosts.js';
import { TEST_IMAGE } from '../src/testkit/test-image.js';
import {
  DockerEngine, SLEEP_COMMAND, formatRatio, median, printTable, progress, registerSleepTaskDefinition, runBenchmark, sleep,
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
  const engine = new DockerEngine(host.dockerHost);
  defer(() => engine.close());
  const { ecs, cluster, clusterArn } = hosts.wharf;

  progress(`swarm init on ${host.netns} (${host.address})`);
  await host.docker(['swarm', 'init', '--advertise-addr', host.address]);
  defer(() => host.docker(['swarm', 'leave', '--force']));
  const taskDefinition = await registerSleepTaskDefinition(ecs, `bench-swarm-${hosts.runId}`, STOP_GRACE_SECONDS);

  const swarm = (name: string) => swarmRound(host, engine, name);
  const wharf = (name: string) => wharfRound(ecs, cluster, clusterArn, taskDefinition, engine, name);

  progress('warm-up: one untimed round of each');
  await swarm(`warmup-${hosts.runId}-swarm`);
  await wharf(`warmup-${hosts.runId}-wharf`);

  const swarmSamples: Sample[] = [];
  const wharfSamples: Sample[] = [];
  for (let round = 0; round < ROUNDS; round++) {
    const name = `bench-${hosts.runId}-${round}`;
    if (round % 2 === 0) {
      swarmSamples.push(await swarm(name));
      wharfSamples.push(await wharf(name));
    } else {
      wharfSamples.push(await wharf(name));
      swarmSamples.push(await swarm(name));
    }
    const [s, w] = [swarmSamples.at(-1)!, wharfSamples.at(-1)!];
    progress(`round ${round + 1}/${ROUNDS}: ${REPLICAS} running: swarm ${s.scaleUpMs.toFixed(0)} ms, wharf ${w.scaleUpMs.toFixed(0)} ms; `
      + `replacement: swarm ${s.replaceMs.toFixed(0)} ms, wharf ${w.replaceMs.toFixed(0)} ms`);
  }
  report(swarmSamples, wharfSamples);
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
): Promise<Sample> {
  const runningTasks = async (): Promise<string[]> => {
    const arns = (await ecs.send(new ListTasksCommand({ cluster, serviceName, desiredStatus: 'RUNNING' }))).taskArns ?? [];
    if (arns.length === 0) return [];
    const running: string[] = [];
    for (let i = 0; i < arns.length; i += 100) {
      const { tasks } = await ecs.send(new DescribeTasksCommand({ cluster, tasks: arns.slice(i, i + 100) }));
      for (const t of tasks ?? []) if (t.lastStatus === 'RUNNING') running.push(t.taskArn!);
    }
    return running;
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

    const victim = running[0]!;
    const [container] = await engine.containers(`${LABELS.taskArn}=${victim}`);
    if (!container) throw new Error(`no running container for task ${victim}`);
    const t1 = performance.now();
    await engine.kill(container);
    await waitFor(`a replacement of task ${victim}`, async () => {
      const now = await runningTasks();
      return now.filter((arn) => arn !== victim).length >= REPLICAS;
    }, RUNNING_TIMEOUT_MS, POLL_INTERVAL_MS);
    return { scaleUpMs, replaceMs: performance.now() - t1 };
  } finally {
    await ecs.send(new DeleteServiceCommand({ cluster, service: serviceName, force: true }));
    await waitFor(`the containers of service ${serviceName} to be removed`,
      async () => (await engine.containers(`${LABELS.clusterArn}=${clusterArn}`, true)).length === 0, CLEANUP_TIMEOUT_MS, 200);
    await sleep(200);
  }
}

function report(swarm: Sample[], wharf: Sample[]): void {
  const row = (label: string, values: number[]) => {
    const s = summarize(values);
    return [label, s.median, s.min, s.max];
  };
  printTable(`${REPLICAS} replicas on one engine, ${swarm.length} interleaved rounds (ms)`, ['figure', 'median', 'min', 'max'], [
    row(`Swarm: service create -> ${REPLICAS} running`, swarm.map((s) => s.scaleUpMs)),
    row(`Wharf: CreateService -> ${REPLICAS} RUNNING`, wharf.map((s) => s.scaleUpMs)),
    row('Swarm: docker kill -> replacement running', swarm.map((s) => s.replaceMs)),
    row('Wharf: docker kill -> replacement RUNNING', wharf.map((s) => s.replaceMs)),
  ], 0);
  const ratio = (f: (s: Sample) => number) => median(wharf.map(f)) / median(swarm.map(f));
  printTable('Ratios Wharf / Swarm (medians)', ['figure', 'measured', 'target'], [
    [`${REPLICAS} replicas running`, formatRatio(ratio((s) => s.scaleUpMs)), `<= ${TARGET_RATIO.toFixed(2)}x`],
    ['replacement after docker kill', formatRatio(ratio((s) => s.replaceMs)), `<= ${TARGET_RATIO.toFixed(2)}x`],
  ]);
}
