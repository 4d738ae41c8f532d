/**
 * The instance agent: registers this machine as a container instance, holds the gateway session,
 * routes each TaskManifest to one TaskRunner per task, forwards their reports, re-adopts its
 * containers after a restart, stops strays and removes stopped containers after the cleanup wait.
 */
import { readFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import type { Attribute, RegisterContainerInstanceRequest } from '@aws-sdk/client-ecs';
import type { AgentTask, TaskManifest, TaskStateReport } from '../model/agent-protocol.js';
import { LABELS } from '../model/agent-protocol.js';
import { DEFAULT_CLUSTER, parseArn } from '../model/arns.js';
import type { Credentials } from '../sigv4/index.js';
import { Backoff, sleep } from './backoff.js';
import type { Clock } from './clock.js';
import { systemClock } from './clock.js';
import type { ContainerRuntime, ContainerState, ImagePullBehavior, RuntimeEvent, RuntimeInfo, Subscription } from './container-runtime.js';
import { DockerRuntime } from './docker-runtime.js';
import { ECR_SERVICE, EcsApiError, EcsClient } from './ecs-client.js';
import { RegistryAuth } from './registry-auth.js';
import { GatewayClient } from './gateway-client.js';
import type { Logger } from './log.js';
import { jsonLogger } from './log.js';
import { readAgentState, writeAgentState } from './state-file.js';
import { StatsSampler, statsSourceFor } from './stats-sampler.js';
import type { SampledTask, StatsSource, StatsSourceKind } from './stats-sampler.js';
import { TaskRunner } from './task-runner.js';
import { BACKOFF } from './timeouts.js';

/** Reserved TCP host ports registered by default, as the ECS agent does. */
export const DEFAULT_RESERVED_PORTS = ['22', '2375', '2376', '51678', '51679'] as const;

export const AGENT_DEFAULTS = {
  cluster: DEFAULT_CLUSTER,
  dataDir: path.join(os.homedir(), '.wharf', 'agent'),
  availabilityZone: 'local-1a',
  region: 'us-east-1',
  imagePullBehavior: 'default' as ImagePullBehavior,
  heartbeatIntervalMs: 5_000,
  stopTimeoutSeconds: 30,
  /** ECS_ENGINE_TASK_CLEANUP_WAIT_DURATION: 3 h. */
  taskCleanupWaitMs: 3 * 60 * 60 * 1000,
  /** ECS collects task resource use every 20 s. */
  statsSampleIntervalMs: 20_000,
  statsSource: 'auto' as StatsSourceKind,
  cgroupRoot: '/sys/fs/cgroup',
  /** 15 minutes of rounds of 100 tasks are kept while the server is unreachable. */
  maxPendingStatsSamples: 4500,
} as const;

/** Agent options; everything but serverUrl and credentials has a default (AGENT_DEFAULTS). */
export interface AgentOptions {
  serverUrl: string;
  credentials: Credentials;
  cluster?: string;
  dataDir?: string;
  /** DOCKER_HOST syntax; ignored when `runtime` is given. */
  dockerHost?: string;
  /** Custom attributes, registered beside the ecs.* ones. */
  attributes?: Record<string, string>;
  availabilityZone?: string;
  region?: string;
  imagePullBehavior?: ImagePullBehavior;
  heartbeatIntervalMs?: number;
  stopTimeoutSeconds?: number;
  taskCleanupWaitMs?: number;
  /** How often task resource use is sampled and sent; 0 turns sampling off. */
  statsSampleIntervalMs?: number;
  /** How usage is read (cgroup files, Docker's stats call, or cgroup with Docker as fallback), or a source of one's own. */
  statsSource?: StatsSourceKind | StatsSource;
  /** Where the host's cgroup filesystem is mounted. */
  cgroupRoot?: string;
  maxPendingStatsSamples?: number;
  reservedPorts?: string[];
  reservedUdpPorts?: string[];
  /** The container runtime; a DockerRuntime on dockerHost by default (then owned and closed by the agent). */
  runtime?: ContainerRuntime;
  logger?: Logger;
  clock?: Clock;
  /** Reported in versionInfo. */
  agentVersion?: string;
  agentHash?: string;
}

type Resolved = Required<Omit<AgentOptions, 'runtime' | 'dockerHost' | 'statsSource'>> & { dockerHost: string | undefined };

function packageVersion(): string {
  try {
    const pkg = JSON.parse(readFileSync(new URL('../../../package.json', import.meta.url), 'utf8')) as { version?: string };
    return pkg.version ?? '0.0.0';
  } catch {
    return '0.0.0';
  }
}

/** Maps the engine's architecture to ECS's ecs.cpu-architecture values. */
export function cpuArchitecture(engineArch: string): string {
  return engineArch === 'aarch64' || engineArch === 'arm64' ? 'arm64' : engineArch === 'x86_64' || engineArch === 'amd64' ? 'x86_64' : engineArch;
}

/** The RegisterContainerInstance input for this machine (pure; exported for tests). */
export function registrationRequest(
  o: Pick<Resolved, 'cluster' | 'attributes' | 'availabilityZone' | 'reservedPorts' | 'reservedUdpPorts' | 'agentVersion' | 'agentHash'>,
  info: RuntimeInfo,
  containerInstanceArn: string | undefined,
): RegisterContainerInstanceRequest {
  const attributes: Attribute[] = [
    { name: 'ecs.os-type', value: 'linux' },
    { name: 'ecs.cpu-architecture', value: cpuArchitecture(info.architecture) },
    { name: 'ecs.availability-zone', value: o.availabilityZone },
    { name: 'ecs.instance-type', value: 'wharf' },
    ...Object.entries(o.attributes).map(([name, value]) => ({ name, value })),
  ];
  return {
    cluster: o.cluster,
    ...(containerInstanceArn ? { containerInstanceArn } : {}),
    totalResources: [
      { name: 'CPU', type: 'INTEGER', integerValue: info.ncpu * 1024 },
      { name: 'MEMORY', type: 'INTEGER', integerValue: Math.floor(info.memTotalBytes / (1024 * 1024)) },
      { name: 'PORTS', type: 'STRINGSET', stringSetValue: [...o.reservedPorts] },
      { name: 'PORTS_UDP', type: 'STRINGSET', stringSetValue: [...o.reservedUdpPorts] },
    ],
    versionInfo: { agentVersion: o.agentVersion, agentHash: o.agentHash, dockerVersion: `DockerVersion: ${info.serverVersion}` },
    attributes,
  };
}

/** The cluster ARN of a container-instance ARN (`...:container-instance/<cluster>/<id>`). */
export function clusterArnOf(containerInstanceArn: string, cluster: string): string {
  if (cluster.startsWith('arn:')) return cluster;
  const p = parseArn(containerInstanceArn);
  if (!p || p.path.length < 2) return cluster;
  return `arn:${p.partition}:${p.service}:${p.region}:${p.accountId}:cluster/${p.path[0]}`;
}

/**
 * The agent. start() registers (retrying until the server answers) and starts the gateway session;
 * close() drains and leaves every task container running; destroy() aborts at once.
 */
export class Agent {
  private readonly o: Resolved;
  private readonly runtime: ContainerRuntime;
  private readonly ownsRuntime: boolean;
  private readonly log: Logger;
  private readonly clock: Clock;
  private readonly abort = new AbortController();
  private readonly runners = new Map<string, TaskRunner>();
  private readonly cleanups = new Map<string, () => void>();
  private gateway: GatewayClient | undefined;
  private sampler: StatsSampler | undefined;
  private readonly statsSource: StatsSource | undefined;
  private subscription: Subscription | undefined;
  private instanceArn: string | undefined;
  private clusterArnValue: string | undefined;
  private lastSeqNum: number | undefined;
  private newestManifest: TaskManifest | undefined;
  private applying: Promise<void> | undefined;
  /** Containers found at start-up, by task ARN, until the first manifest claims or strays them. */
  private adoptable: Map<string, ContainerState[]> | undefined;
  private listedTasks = new Set<string>();
  private closing = false;

  constructor(options: AgentOptions) {
    this.o = {
      serverUrl: options.serverUrl,
      credentials: options.credentials,
      cluster: options.cluster ?? AGENT_DEFAULTS.cluster,
      dataDir: options.dataDir ?? AGENT_DEFAULTS.dataDir,
      dockerHost: options.dockerHost,
      attributes: options.attributes ?? {},
      availabilityZone: options.availabilityZone ?? AGENT_DEFAULTS.availabilityZone,
      region: options.region ?? AGENT_DEFAULTS.region,
      imagePullBehavior: options.imagePullBehavior ?? AGENT_DEFAULTS.imagePullBehavior,
      heartbeatIntervalMs: options.heartbeatIntervalMs ?? AGENT_DEFAULTS.heartbeatIntervalMs,
      stopTimeoutSeconds: options.stopTimeoutSeconds ?? AGENT_DEFAULTS.stopTimeoutSeconds,
      taskCleanupWaitMs: options.taskCleanupWaitMs ?? AGENT_DEFAULTS.taskCleanupWaitMs,
      statsSampleIntervalMs: options.statsSampleIntervalMs ?? AGENT_DEFAULTS.statsSampleIntervalMs,
      cgroupRoot: options.cgroupRoot ?? AGENT_DEFAULTS.cgroupRoot,
      maxPendingStatsSamples: options.maxPendingStatsSamples ?? AGENT_DEFAULTS.maxPendingStatsSamples,
      reservedPorts: options.reservedPorts ?? [...DEFAULT_RESERVED_PORTS],
      reservedUdpPorts: options.reservedUdpPorts ?? [],
      logger: options.logger ?? jsonLogger(),
      clock: options.clock ?? systemClock,
      agentVersion: options.agentVersion ?? packageVersion(),
      agentHash: options.agentHash ?? 'wharf',
    };
    this.ownsRuntime = options.runtime === undefined;
    // Images in the server's own registry are pulled with an ECR token, as the ECS agent does.
    const ecr = new EcsClient({ serverUrl: options.serverUrl, region: this.o.region, credentials: options.credentials, service: ECR_SERVICE });
    const registryAuth = new RegistryAuth(ecr, new URL(options.serverUrl).host);
    this.runtime = options.runtime ?? new DockerRuntime({
      ...(options.dockerHost ? { dockerHost: options.dockerHost } : {}),
      registryAuth: (image, signal) => registryAuth.headerFor(image, signal),
    });
    this.log = this.o.logger;
    this.clock = this.o.clock;
    const kind = options.statsSource ?? AGENT_DEFAULTS.statsSource;
    this.statsSource = typeof kind === 'object' ? kind
      : statsSourceFor(kind, this.runtime instanceof DockerRuntime ? this.runtime.docker : undefined, this.o.cgroupRoot);
  }

  /** This instance's ARN, once registered. */
  get containerInstanceArn(): string | undefined {
    return this.instanceArn;
  }

  get clusterArn(): string | undefined {
    return this.clusterArnValue;
  }

  /** Latest report of every task the agent holds. */
  reports(): TaskStateReport[] {
    return [...this.runners.values()].map((r) => r.report());
  }

  /**
   * Registers (retrying with backoff while the engine or the server is unreachable), saves the
   * identity, subscribes to engine events and dials the gateway. Resolves once registered.
   */
  async start(): Promise<void> {
    const signal = this.abort.signal;
    const saved = await readAgentState(this.o.dataDir);
    if (saved && saved.cluster !== this.o.cluster) {
      throw new Error(`data mismatch: the saved container instance belongs to cluster ${saved.cluster}, not ${this.o.cluster}; ` +
        `delete ${path.join(this.o.dataDir, 'agent-state.json')} to register as a new container instance`);
    }
    const info = await this.retry('docker info', () => this.runtime.info({ signal }), signal);
    const ecs = new EcsClient({ serverUrl: this.o.serverUrl, region: this.o.region, credentials: this.o.credentials });
    const request = registrationRequest(this.o, info, saved?.containerInstanceArn);
    const register = async () => {
      try {
        return await ecs.registerContainerInstance(request, { signal });
      } catch (err) {
        // As ECS's own agent does: the `default` cluster is created on first use; any other
        // cluster must exist (the agent keeps retrying until someone creates it).
        if (!(err instanceof EcsApiError && err.code === 'ClusterNotFoundException' && this.o.cluster === DEFAULT_CLUSTER)) throw err;
        this.log.info('creating the default cluster');
        await ecs.call('CreateCluster', { clusterName: DEFAULT_CLUSTER }, { signal });
        return ecs.registerContainerInstance(request, { signal });
      }
    };
    const res = await this.retry('RegisterContainerInstance', register, signal);
    const arn = res.containerInstance?.containerInstanceArn;
    if (!arn) throw new Error('RegisterContainerInstance answered without a containerInstanceArn');
    this.instanceArn = arn;
    this.clusterArnValue = clusterArnOf(arn, this.o.cluster);
    await writeAgentState(this.o.dataDir, { cluster: this.o.cluster, clusterArn: this.clusterArnValue, containerInstanceArn: arn });
    this.log.info('registered', { containerInstanceArn: arn, clusterArn: this.clusterArnValue, reRegistered: saved?.containerInstanceArn === arn });

    // Subscribe before listing containers for adoption, so nothing happens unseen in between.
    this.subscription = this.runtime.subscribe({ [LABELS.containerInstanceArn]: arn, [LABELS.taskArn]: undefined }, (ev) => this.onRuntimeEvent(ev));
    this.gateway = new GatewayClient({
      serverUrl: this.o.serverUrl, clusterArn: this.clusterArnValue, containerInstanceArn: arn, credentials: this.o.credentials,
      region: this.o.region, heartbeatIntervalMs: this.o.heartbeatIntervalMs, logger: this.log,
      onManifest: (m) => this.onManifest(m),
      onConnected: () => { for (const r of this.runners.values()) this.gateway?.sendReport(r.report()); },
    });
    this.gateway.start();
    if (this.o.statsSampleIntervalMs > 0 && this.statsSource) {
      this.sampler = new StatsSampler({
        source: this.statsSource, tasks: () => this.sampledTasks(), send: (r) => this.gateway?.sendTelemetry(r) ?? false,
        sampleIntervalMs: this.o.statsSampleIntervalMs, maxPendingSamples: this.o.maxPendingStatsSamples, clock: this.clock, logger: this.log,
      });
      this.sampler.start();
    }
  }

  /** RUNNING tasks with their RUNNING containers: what resource sampling reads. */
  private sampledTasks(): SampledTask[] {
    const out: SampledTask[] = [];
    for (const runner of this.runners.values()) {
      const report = runner.report();
      if (report.lastStatus !== 'RUNNING') continue;
      const containerIds = report.containers.flatMap((c) => (c.lastStatus === 'RUNNING' && c.runtimeId ? [c.runtimeId] : []));
      if (containerIds.length > 0) out.push({ taskArn: report.taskArn, containerIds });
    }
    return out;
  }

  /** Drains: closes the session, lets in-flight container operations finish. Task containers keep running. */
  async close(): Promise<void> {
    if (this.closing) return;
    this.closing = true;
    this.abort.abort(new Error('agent closing'));
    this.subscription?.close();
    await this.sampler?.close();
    await this.gateway?.close();
    await this.applying?.catch(() => undefined);
    await Promise.all([...this.runners.values()].map((r) => r.close()));
    for (const cancel of this.cleanups.values()) cancel();
    if (this.ownsRuntime) (this.runtime as DockerRuntime).close();
  }

  /** Aborts everything at once. Task containers keep running. */
  destroy(err: Error = new Error('agent destroyed')): void {
    this.closing = true;
    this.abort.abort(err);
    this.subscription?.close();
    void this.sampler?.close();
    this.gateway?.destroy();
    for (const r of this.runners.values()) r.destroy(err);
    for (const cancel of this.cleanups.values()) cancel();
    if (this.ownsRuntime) (this.runtime as DockerRuntime).close();
  }

  private async retry<T>(what: string, fn: () => Promise<T>, signal: AbortSignal): Promise<T> {
    const backoff = new Backoff(BACKOFF.registerInitialMs, BACKOFF.registerMaxMs);
    for (;;) {
      try {
        return await fn();
      } catch (err) {
        if (signal.aborted) throw signal.reason;
        const delayMs = backoff.next();
        this.log.warn(`${what} failed; retrying`, { error: err, delayMs });
        await sleep(delayMs, signal);
      }
    }
  }

  // ---- manifests -------------------------------------------------------------------------------

  private onManifest(m: TaskManifest): void {
    if (this.closing) return;
    if (m.containerInstanceArn !== this.instanceArn) {
      this.log.warn('manifest for another container instance ignored', { containerInstanceArn: m.containerInstanceArn });
      return;
    }
    const newest = Math.max(this.lastSeqNum ?? -Infinity, this.newestManifest?.seqNum ?? -Infinity);
    if (m.seqNum < newest) {
      this.log.debug('stale manifest ignored', { seqNum: m.seqNum, newest });
      return;
    }
    this.newestManifest = m;
    this.applying ??= this.applyManifests().finally(() => { this.applying = undefined; });
  }

  /** Applies the newest manifest until none is waiting; the first one waits for adoption. */
  private async applyManifests(): Promise<void> {
    while (this.newestManifest && !this.closing) {
      if (!this.adoptable) {
        const arn = this.instanceArn!;
        const found = await this.retry('list containers for re-adoption',
          () => this.runtime.list({ [LABELS.containerInstanceArn]: arn }, { signal: this.abort.signal }), this.abort.signal)
          .catch(() => undefined);
        if (!found) return;
        this.adoptable = new Map();
        for (const c of found) {
          const t = c.labels[LABELS.taskArn];
          if (t) this.adoptable.set(t, [...(this.adoptable.get(t) ?? []), c]);
        }
        if (found.length > 0) this.log.info('containers found for re-adoption', { count: found.length, tasks: this.adoptable.size });
      }
      const m = this.newestManifest;
      this.newestManifest = undefined;
      this.apply(m);
    }
  }

  private apply(m: TaskManifest): void {
    this.lastSeqNum = m.seqNum;
    this.listedTasks = new Set(m.tasks.map((t) => t.taskArn));
    for (const task of m.tasks) {
      const runner = this.runners.get(task.taskArn);
      if (runner) {
        runner.update(task);
        continue;
      }
      this.startRunner(task, this.adoptable?.get(task.taskArn));
      this.adoptable?.delete(task.taskArn);
    }
    // A task the server no longer lists must not keep running here.
    for (const [arn, runner] of this.runners) {
      if (this.listedTasks.has(arn)) continue;
      if (runner.desiredStatus !== 'STOPPED') runner.requestStop();
      if (runner.settled) this.runners.delete(arn);
    }
    // Strays: containers of tasks the first manifest after start-up does not list.
    for (const [arn, containers] of this.adoptable ?? []) this.stopStrays(arn, containers);
    this.adoptable?.clear();
  }

  private startRunner(task: AgentTask, adopted: ContainerState[] | undefined): void {
    if (adopted?.length) this.log.info('re-adopting task', { taskArn: task.taskArn, containers: adopted.length });
    const runner: TaskRunner = new TaskRunner({
      task, runtime: this.runtime, containerInstanceArn: this.instanceArn!, imagePullBehavior: this.o.imagePullBehavior,
      defaultStopTimeoutSeconds: this.o.stopTimeoutSeconds, clock: this.clock, logger: this.log,
      ...(adopted ? { adopted } : {}),
      onReport: (r) => this.onReport(runner, r),
    });
    this.runners.set(task.taskArn, runner);
    runner.start();
  }

  private onReport(runner: TaskRunner, report: TaskStateReport): void {
    this.gateway?.sendReport(report);
    if (report.lastStatus === 'STOPPED') {
      this.scheduleCleanup(runner.taskArn, runner.containerIds(), runner.stoppedAtMs ?? this.clock.now());
      if (!this.listedTasks.has(runner.taskArn)) {
        // Dropped from the manifest and now stopped: nothing more to report for it.
        queueMicrotask(() => { if (runner.settled && !this.listedTasks.has(runner.taskArn)) this.runners.delete(runner.taskArn); });
      }
    }
  }

  private stopStrays(taskArn: string, containers: ContainerState[]): void {
    this.log.warn('stopping containers of a task the server does not list', { taskArn, containers: containers.length });
    void Promise.all(containers.filter((c) => c.running).map((c) =>
      this.runtime.stop(c.id, this.o.stopTimeoutSeconds, { signal: this.abort.signal })
        .catch((err: unknown) => this.log.error('stray container stop failed', { taskArn, containerId: c.id, error: err }))))
      .then(() => {
        const finished = containers.map((c) => (c.finishedAt && !c.running ? Date.parse(c.finishedAt) : this.clock.now()));
        this.scheduleCleanup(taskArn, containers.map((c) => c.id), Math.max(...finished));
      });
  }

  /** Removes a stopped task's containers once taskCleanupWaitMs has passed since it stopped. */
  private scheduleCleanup(taskArn: string, containerIds: string[], stoppedAtMs: number): void {
    if (this.cleanups.has(taskArn) || this.closing || containerIds.length === 0) return;
    const delay = Math.max(0, stoppedAtMs + this.o.taskCleanupWaitMs - this.clock.now());
    const cancel = this.clock.setTimer(delay, () => {
      this.cleanups.delete(taskArn);
      for (const id of containerIds) {
        this.runtime.remove(id, { signal: this.abort.signal })
          .then(() => this.log.info('removed stopped container', { taskArn, containerId: id }))
          .catch((err: unknown) => this.log.warn('container removal failed', { taskArn, containerId: id, error: err }));
      }
    });
    this.cleanups.set(taskArn, cancel);
  }

  private onRuntimeEvent(ev: RuntimeEvent): void {
    if (ev.type === 'resync') {
      for (const r of this.runners.values()) r.resync();
      return;
    }
    const taskArn = ev.labels[LABELS.taskArn];
    if (taskArn && ev.kind !== 'other') this.runners.get(taskArn)?.onContainerEvent(ev.containerId);
  }
}
