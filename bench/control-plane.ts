/**
 * The whole control plane at scale: a real `wharf server`, 500 simulated agents on the real agent
 * protocol (children/simulated-agents.ts, in their own processes), and one service of 5,000 tasks,
 * timed from the CreateService call until DescribeServices answers runningCount 5000. Each round
 * uses a fresh service; between rounds the service is deleted (force) and its tasks drain.
 *
 *   node dist/bench/control-plane.js
 *   (BENCH_TASKS, BENCH_AGENTS, BENCH_ROUNDS, BENCH_AGENT_PROCESSES, BENCH_ROUND_TIMEOUT_MS to change;
 *    BENCH_CPU_PROF=<dir> writes a V8 CPU profile of the server there)
 *
 * Target: >= 1,000 tasks/s. Reference: ECS launches at most 500 tasks per minute per service.
 * Prints figures, never fails on them.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdirSync, readdirSync } from 'node:fs';
import { resolve } from 'node:path';
import { createInterface } from 'node:readline';
import { fileURLToPath } from 'node:url';
import {
  CreateServiceCommand, DeleteServiceCommand, DescribeContainerInstancesCommand, DescribeServicesCommand,
  ListContainerInstancesCommand, type ECSClient, type Service,
} from '@aws-sdk/client-ecs';
import { startWharf } from '../src/testkit/wharf-processes.js';
import type { SimulatedAgentsMessage, SimulatedAgentsSpec } from './children/protocol.js';
import {
  cpuTimeMs, formatRatio, median, peakResidentBytes, printTable, progress, registerSleepTaskDefinition, residentBytes,
  runBenchmark, sleep, terminate, waitFor,
} from './lib/index.js';
import type { Cell } from './lib/index.js';

const TASKS = Number(process.env['BENCH_TASKS'] ?? 5_000);
const AGENTS = Number(process.env['BENCH_AGENTS'] ?? 500);
const ROUNDS = Number(process.env['BENCH_ROUNDS'] ?? 3);
const AGENT_PROCESSES = Number(process.env['BENCH_AGENT_PROCESSES'] ?? 2);
const ROUND_TIMEOUT_MS = Number(process.env['BENCH_ROUND_TIMEOUT_MS'] ?? 600_000);
const CPU_PROFILE_DIR = process.env['BENCH_CPU_PROF'];
/** How often DescribeServices is polled while a service comes up or drains. */
const POLL_INTERVAL_MS = 100;
const TARGET_TASKS_PER_SECOND = 1_000;
/** ECS's own service throttle: at most 500 task launches per minute per service. */
const ECS_TASKS_PER_SECOND = 500 / 60;
const ZONES = ['us-east-1a', 'us-east-1b', 'us-east-1c'];
/** Each instance fits 100+ of the benchmark's tasks (16 MiB, no CPU reservation); placement spreads them ~10 a piece. */
const INSTANCE_CPU = 1024;
const INSTANCE_MEMORY_MIB = 2048;
const JOIN_CONCURRENCY = 20;

const SIMULATED_AGENTS_JS = fileURLToPath(new URL('./children/simulated-agents.js', import.meta.url));

/** One child process of simulated agents, with the latest counts it wrote. */
class SimulatedAgents {
  readonly child: ChildProcess;
  latest: Extract<SimulatedAgentsMessage, { type: 'progress' }> = { type: 'progress', running: 0, stopped: 0 };
  readonly ready: Promise<void>;
  #onReset: (() => void) | undefined;

  constructor(spec: SimulatedAgentsSpec) {
    this.child = spawn(process.execPath, [SIMULATED_AGENTS_JS, JSON.stringify(spec)], { stdio: ['pipe', 'pipe', 'inherit'] });
    this.ready = new Promise((resolveReady, reject) => {
      this.child.once('exit', (code, signal) => reject(new Error(`simulated agents exited (${signal ?? code}) before all joined`)));
      createInterface({ input: this.child.stdout! }).on('line', (line) => {
        const message = JSON.parse(line) as SimulatedAgentsMessage;
        if (message.type === 'ready') resolveReady();
        else if (message.type === 'reset') this.#onReset?.();
        else if (message.type === 'progress') this.latest = message;
      });
    });
  }

  /** Zeroes the child's counts; resolves once it has. */
  reset(): Promise<void> {
    return new Promise((resolveReset) => {
      this.#onReset = () => {
        this.latest = { type: 'progress', running: 0, stopped: 0 };
        resolveReset();
      };
      this.child.stdin!.write(JSON.stringify({ type: 'reset' }) + '\n');
    });
  }
}

interface RoundResult {
  /** CreateService sent → DescribeServices answered runningCount == TASKS. */
  toRunningMs: number;
  createServiceCallMs: number;
  /** CreateService sent → the agents' first and last RUNNING report. */
  firstReportMs: number;
  lastReportMs: number;
  serverCpuMs: number;
  agentsCpuMs: number;
  maxServerRssBytes: number;
  /** DeleteService (force) sent → service INACTIVE and every task reported STOPPED. */
  drainMs: number;
}

const agentProcesses: SimulatedAgents[] = [];

runBenchmark('control-plane', async (defer) => {
  defer(() => Promise.all(agentProcesses.map((a) => terminate(a.child))));
  if (CPU_PROFILE_DIR) mkdirSync(CPU_PROFILE_DIR, { recursive: true });
  progress('starting wharf server');
  const wharf = await startWharf({
    serverNodeArgs: CPU_PROFILE_DIR ? ['--cpu-prof', '--cpu-prof-dir', resolve(CPU_PROFILE_DIR)] : [],
  });
  defer(() => wharf.stop());
  if (CPU_PROFILE_DIR) {
    // V8 writes the profile only when the server exits on its own: SIGTERM it before the testkit's
    // SIGKILL (deferred steps run last first), on failure too.
    defer(async () => {
      await Promise.all(agentProcesses.map((a) => terminate(a.child)));
      await terminate(wharf.server, 'SIGTERM', 60_000);
      const written = readdirSync(CPU_PROFILE_DIR).filter((f) => f.endsWith('.cpuprofile'));
      process.stdout.write(`server CPU profile(s) in ${resolve(CPU_PROFILE_DIR)}: ${written.join(', ') || 'none written'}\n`);
    });
  }
  const serverPid = wharf.server.pid!;
  const { ecs, cluster } = wharf;

  progress(`joining ${AGENTS} simulated agents in ${AGENT_PROCESSES} processes`);
  const joinStartedAt = Date.now();
  const perProcess = Math.ceil(AGENTS / AGENT_PROCESSES);
  for (let first = 0; first < AGENTS; first += perProcess) {
    agentProcesses.push(new SimulatedAgents({
      url: wharf.url, credentials: wharf.credentials, cluster, count: Math.min(perProcess, AGENTS - first), firstIndex: first,
      zones: ZONES, cpu: INSTANCE_CPU, memoryMiB: INSTANCE_MEMORY_MIB, joinConcurrency: JOIN_CONCURRENCY,
    }));
  }
  await Promise.all(agentProcesses.map((a) => a.ready));
  await waitFor(`${AGENTS} agents to connect`, async () => (await connectedInstances(ecs, cluster)) === AGENTS, 120_000, 250);
  const joinMs = Date.now() - joinStartedAt;
  progress(`${AGENTS} agents connected in ${(joinMs / 1000).toFixed(1)} s`);

  const taskDefinition = await registerSleepTaskDefinition(ecs, 'bench-control-plane', 1);
  const rssBeforeRounds = residentBytes(serverPid) ?? Number.NaN;
  const cpuBeforeRounds = cpuTimeMs(serverPid) ?? Number.NaN;
  const rounds: RoundResult[] = [];
  for (let round = 1; round <= ROUNDS; round++) {
    progress(`round ${round}/${ROUNDS}: CreateService desiredCount ${TASKS}`);
    rounds.push(await runRound(ecs, cluster, `bench-cp-${round}`, taskDefinition, serverPid));
    const r = rounds[rounds.length - 1]!;
    progress(`round ${round}/${ROUNDS}: ${TASKS} RUNNING in ${(r.toRunningMs / 1000).toFixed(2)} s, drained in ${(r.drainMs / 1000).toFixed(2)} s`);
  }
  const serverCpuMs = (cpuTimeMs(serverPid) ?? Number.NaN) - cpuBeforeRounds;
  const peakRss = peakResidentBytes(serverPid) ?? Number.NaN;
  report(rounds, { joinMs, rssBeforeRounds, peakRss, serverCpuMs });

});

async function runRound(ecs: ECSClient, cluster: string, serviceName: string, taskDefinition: string, serverPid: number): Promise<RoundResult> {
  await Promise.all(agentProcesses.map((a) => a.reset()));
  const cpuBefore = cpuTimeMs(serverPid) ?? Number.NaN;
  const agentsCpuBefore = agentsCpuMs();
  let maxServerRssBytes = residentBytes(serverPid) ?? 0;
  const startedAt = Date.now();
  await ecs.send(new CreateServiceCommand({ cluster, serviceName, taskDefinition, desiredCount: TASKS }));
  const createServiceCallMs = Date.now() - startedAt;
  const service = await pollService(ecs, cluster, serviceName, startedAt, (s) => s.runningCount === TASKS, () => {
    maxServerRssBytes = Math.max(maxServerRssBytes, residentBytes(serverPid) ?? 0);
  });
  const toRunningMs = Date.now() - startedAt;
  const serverCpuMs = (cpuTimeMs(serverPid) ?? Number.NaN) - cpuBefore;
  const agentsCpuMs_ = agentsCpuMs() - agentsCpuBefore;
  // The reports that made DescribeServices say so have been sent; the agents' counts may trail by one progress line.
  await waitFor('the agents to count every RUNNING report', () => sum((a) => a.latest.running) >= TASKS, 10_000, 20);
  const firstReportMs = Math.min(...agentProcesses.map((a) => a.latest.firstRunningAt ?? Infinity)) - startedAt;
  const lastReportMs = lastOf((a) => a.latest.lastRunningAt) - startedAt;
  if (service.pendingCount !== 0) progress(`note: pendingCount ${service.pendingCount} when runningCount reached ${TASKS}`);

  await Promise.all(agentProcesses.map((a) => a.reset()));
  const drainStartedAt = Date.now();
  await ecs.send(new DeleteServiceCommand({ cluster, service: serviceName, force: true }));
  await pollService(ecs, cluster, serviceName, drainStartedAt, (s) => s.status === 'INACTIVE' && sum((a) => a.latest.stopped) >= TASKS);
  const drainMs = Date.now() - drainStartedAt;
  return {
    toRunningMs, createServiceCallMs, firstReportMs, lastReportMs, serverCpuMs, agentsCpuMs: agentsCpuMs_, maxServerRssBytes, drainMs,
  };
}

/**
 * DescribeServices every POLL_INTERVAL_MS (measured from one call's start to the next) until
 * `done` holds; `sample` runs once per poll. Rejects after ROUND_TIMEOUT_MS with the service's
 * counts and latest event.
 */
async function pollService(
  ecs: ECSClient, cluster: string, serviceName: string, startedAt: number, done: (s: Service) => boolean, sample?: () => void,
): Promise<Service> {
  for (;;) {
    const pollAt = Date.now();
    const service = (await ecs.send(new DescribeServicesCommand({ cluster, services: [serviceName] }))).services?.[0];
    if (!service) throw new Error(`DescribeServices does not find ${serviceName}`);
    sample?.();
    if (done(service)) return service;
    if (Date.now() - startedAt > ROUND_TIMEOUT_MS) {
      throw new Error(`${serviceName} not done after ${ROUND_TIMEOUT_MS} ms: status ${service.status}, running ${service.runningCount}, ` +
        `pending ${service.pendingCount}, agents sent ${sum((a) => a.latest.running)} RUNNING / ${sum((a) => a.latest.stopped)} STOPPED ` +
        `(last RUNNING at +${lastOf((a) => a.latest.lastRunningAt) - startedAt} ms, last STOPPED at +${lastOf((a) => a.latest.lastStoppedAt) - startedAt} ms); ` +
        `latest event: ${service.events?.[0]?.message?.slice(0, 300) ?? 'none'}`);
    }
    await sleep(Math.max(0, pollAt + POLL_INTERVAL_MS - Date.now()));
  }
}

/** How many of the cluster's container instances have agentConnected true. */
async function connectedInstances(ecs: ECSClient, cluster: string): Promise<number> {
  let connected = 0;
  let nextToken: string | undefined;
  do {
    const page = await ecs.send(new ListContainerInstancesCommand({ cluster, maxResults: 100, nextToken }));
    nextToken = page.nextToken;
    const arns = page.containerInstanceArns ?? [];
    if (arns.length === 0) continue;
    const described = await ecs.send(new DescribeContainerInstancesCommand({ cluster, containerInstances: arns }));
    connected += (described.containerInstances ?? []).filter((i) => i.agentConnected === true).length;
  } while (nextToken);
  return connected;
}

function sum(of: (a: SimulatedAgents) => number): number {
  return agentProcesses.reduce((n, a) => n + of(a), 0);
}

/** The latest of a time the agent processes reported (epoch ms); -Infinity when none has. */
function lastOf(of: (a: SimulatedAgents) => number | undefined): number {
  return Math.max(...agentProcesses.map((a) => of(a) ?? -Infinity));
}

function agentsCpuMs(): number {
  return sum((a) => cpuTimeMs(a.child.pid!) ?? 0);
}

function report(rounds: RoundResult[], run: { joinMs: number; rssBeforeRounds: number; peakRss: number; serverCpuMs: number }): void {
  const seconds = (ms: number) => ms / 1000;
  const mb = (bytes: number) => bytes / 1e6;
  const pct = (share: number) => `${Math.round(share * 100)}%`;
  const rows: Cell[][] = rounds.map((r, i) => [
    String(i + 1),
    TASKS / seconds(r.toRunningMs),
    seconds(r.toRunningMs),
    r.createServiceCallMs,
    r.firstReportMs,
    seconds(r.lastReportMs),
    pct(r.serverCpuMs / r.toRunningMs),
    pct(r.agentsCpuMs / r.toRunningMs),
    mb(r.maxServerRssBytes),
    seconds(r.drainMs),
  ]);
  printTable(
    `CreateService desiredCount ${TASKS} on ${AGENTS} simulated agents (${AGENT_PROCESSES} processes, ${ZONES.length} zones) → DescribeServices runningCount ${TASKS}, polled every ${POLL_INTERVAL_MS} ms`,
    ['round', 'tasks/s', 'to RUNNING s', 'CreateService ms', 'first report ms', 'last report s', 'server CPU', 'agents CPU', 'server RSS MB', 'drain s'],
    rows, 1,
  );
  const tasksPerSecond = median(rounds.map((r) => TASKS / seconds(r.toRunningMs)));
  const byReports = median(rounds.map((r) => TASKS / seconds(r.lastReportMs)));
  printTable(`Median of ${rounds.length} rounds`, ['figure', 'tasks/s', 'vs target (>= 1000/s)', 'vs ECS (500/min = 8.3/s)'], [
    ['Wharf: CreateService → DescribeServices runningCount', tasksPerSecond, formatRatio(tasksPerSecond / TARGET_TASKS_PER_SECOND), formatRatio(tasksPerSecond / ECS_TASKS_PER_SECOND)],
    ['Wharf: CreateService → last agent RUNNING report sent', byReports, formatRatio(byReports / TARGET_TASKS_PER_SECOND), formatRatio(byReports / ECS_TASKS_PER_SECOND)],
    ['ECS service throttle (reference)', ECS_TASKS_PER_SECOND, formatRatio(ECS_TASKS_PER_SECOND / TARGET_TASKS_PER_SECOND), '1.00x'],
  ]);
  printTable('Server process over the run', ['figure', 'value'], [
    [`${AGENTS} agents registered and connected, s`, seconds(run.joinMs)],
    ['RSS before the first round, MB', mb(run.rssBeforeRounds)],
    ['peak RSS (VmHWM, whole life), MB', mb(run.peakRss)],
    [`CPU time over ${rounds.length} rounds (up and drain), s`, seconds(run.serverCpuMs)],
  ]);
}
