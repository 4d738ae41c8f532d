/**
 * Resource sampling of the task containers this agent runs: every sampling interval, reads each
 * RUNNING task container's cumulative CPU time and current memory, turns CPU time into CPU units
 * used since the previous round, sums them per task, and sends the round as one TelemetryReport.
 *
 * Two sources, chosen per container: the container's cgroup files, when the agent sees the host's
 * cgroupfs (a few small file reads, no engine round trip), and Docker's one-shot stats call
 * (`GET /containers/{id}/stats?stream=false&one-shot=true`) for everything else, e.g. a remote
 * engine. bench/metrics-cost.ts measures both.
 */
import { readFileSync } from 'node:fs';
import path from 'node:path';
import type { TaskUsageSample, TelemetryReport } from '../model/agent-protocol.js';
import type { Clock } from './clock.js';
import type { DockerClient } from './docker-client.js';
import type { Logger } from './log.js';
import { TIMEOUTS } from './timeouts.js';

/** One reading of one container. */
export interface ContainerUsageReading {
  /** Cumulative CPU time the container used since it started, in nanoseconds. */
  cpuNanos: number;
  /** Memory in use now, reclaimable page cache excluded. */
  memoryBytes: number;
}

/** Reads a container's usage; undefined when the container is gone. */
export interface StatsSource {
  read(containerId: string, signal?: AbortSignal): Promise<ContainerUsageReading | undefined>;
}

/** Ways to read usage: `auto` reads cgroup files when present and falls back to Docker per container. */
export type StatsSourceKind = 'auto' | 'cgroup' | 'docker';
export const STATS_SOURCE_KINDS: readonly StatsSourceKind[] = ['auto', 'cgroup', 'docker'];

interface DockerStatsBody {
  cpu_stats?: { cpu_usage?: { total_usage?: number } };
  memory_stats?: { usage?: number; stats?: Record<string, number> };
}

/** Docker's one-shot stats: one engine call per container and round. */
export class DockerStatsSource implements StatsSource {
  constructor(private readonly docker: DockerClient) {}

  async read(containerId: string, signal?: AbortSignal): Promise<ContainerUsageReading | undefined> {
    let body: DockerStatsBody;
    try {
      body = await this.docker.json<DockerStatsBody>({
        method: 'GET', path: `/containers/${encodeURIComponent(containerId)}/stats`,
        query: { stream: false, 'one-shot': true }, timeoutMs: TIMEOUTS.dockerQuickMs, ...(signal ? { signal } : {}),
      });
    } catch (err) {
      if ((err as { statusCode?: number }).statusCode === 404) return undefined;
      throw err;
    }
    const cpu = body.cpu_stats?.cpu_usage?.total_usage;
    const usage = body.memory_stats?.usage;
    // A stopped container answers zeros and no usage: nothing to sample.
    if (cpu === undefined || usage === undefined) return undefined;
    const stats = body.memory_stats?.stats ?? {};
    // As `docker stats`: cgroup v1 reports total_inactive_file, v2 inactive_file.
    const inactive = stats['total_inactive_file'] ?? stats['inactive_file'] ?? 0;
    return { cpuNanos: cpu, memoryBytes: Math.max(0, usage - inactive) };
  }
}

/** Where a container's cgroup files are, for cgroup v1 and v2 with the cgroupfs or systemd driver. */
interface CgroupFiles { cpu: string; cpuUnit: 'ns' | 'usec'; memory: string; memoryStat: string; inactiveKey: string }

function candidateCgroups(root: string, id: string): CgroupFiles[] {
  const v1 = (cpuDir: string, memDir: string): CgroupFiles => ({
    cpu: path.join(root, 'cpuacct', cpuDir, 'cpuacct.usage'), cpuUnit: 'ns',
    memory: path.join(root, 'memory', memDir, 'memory.usage_in_bytes'), memoryStat: path.join(root, 'memory', memDir, 'memory.stat'),
    inactiveKey: 'total_inactive_file',
  });
  const v2 = (dir: string): CgroupFiles => ({
    cpu: path.join(root, dir, 'cpu.stat'), cpuUnit: 'usec',
    memory: path.join(root, dir, 'memory.current'), memoryStat: path.join(root, dir, 'memory.stat'), inactiveKey: 'inactive_file',
  });
  return [
    v1(`docker/${id}`, `docker/${id}`),
    v1(`system.slice/docker-${id}.scope`, `system.slice/docker-${id}.scope`),
    v2(`system.slice/docker-${id}.scope`),
    v2(`docker/${id}`),
  ];
}

/** A `key value` line of a cgroup stat file. */
function statValue(text: string, key: string): number | undefined {
  for (const line of text.split('\n')) if (line.startsWith(`${key} `)) return Number(line.slice(key.length + 1));
  return undefined;
}

/**
 * Reads cgroup files under `root` (the host's /sys/fs/cgroup); a container whose files are not
 * there is read through `fallback`, and so is every later round of it.
 */
export class CgroupStatsSource implements StatsSource {
  readonly #found = new Map<string, CgroupFiles | null>();

  constructor(private readonly root: string, private readonly fallback: StatsSource | undefined) {}

  async read(containerId: string, signal?: AbortSignal): Promise<ContainerUsageReading | undefined> {
    let files = this.#found.get(containerId);
    if (files === undefined) {
      files = candidateCgroups(this.root, containerId).find((c) => readable(c.cpu)) ?? null;
      this.#found.set(containerId, files);
    }
    if (files === null) return this.fallback?.read(containerId, signal);
    try {
      const cpuText = readFileSync(files.cpu, 'latin1');
      const cpuNanos = files.cpuUnit === 'ns' ? Number(cpuText) : (statValue(cpuText, 'usage_usec') ?? 0) * 1000;
      const usage = Number(readFileSync(files.memory, 'latin1'));
      const inactive = statValue(readFileSync(files.memoryStat, 'latin1'), files.inactiveKey) ?? 0;
      return { cpuNanos, memoryBytes: Math.max(0, usage - inactive) };
    } catch {
      // The cgroup goes when the container stops; its next run gets a new one.
      this.#found.delete(containerId);
      return undefined;
    }
  }

  /** Forgets the paths of containers no longer sampled. */
  retain(containerIds: ReadonlySet<string>): void {
    for (const id of this.#found.keys()) if (!containerIds.has(id)) this.#found.delete(id);
  }
}

function readable(file: string): boolean {
  try {
    readFileSync(file, 'latin1');
    return true;
  } catch {
    return false;
  }
}

/** The source for a kind: cgroup files under `cgroupRoot`, Docker's stats call, or both. */
export function statsSourceFor(kind: StatsSourceKind, docker: DockerClient | undefined, cgroupRoot: string): StatsSource | undefined {
  const viaDocker = docker ? new DockerStatsSource(docker) : undefined;
  if (kind === 'docker') return viaDocker;
  return new CgroupStatsSource(cgroupRoot, kind === 'auto' ? viaDocker : undefined);
}

/** A task to sample: its RUNNING containers' runtime ids. */
export interface SampledTask {
  taskArn: string;
  containerIds: string[];
}

export interface StatsSamplerOptions {
  source: StatsSource;
  /** The tasks to sample now (RUNNING tasks with their RUNNING containers). */
  tasks: () => SampledTask[];
  /** Sends one report; false when it could not be sent (the samples are kept for the next round). */
  send: (report: TelemetryReport) => boolean;
  sampleIntervalMs: number;
  /** Samples kept while the server is unreachable, oldest dropped first. */
  maxPendingSamples: number;
  /** Containers read at once (Docker calls run in parallel up to this). */
  concurrency?: number;
  clock: Clock;
  logger: Logger;
}

/** Samples on a timer from start() until close(). */
export class StatsSampler {
  readonly #o: StatsSamplerOptions;
  /** The previous reading of each container, to turn cumulative CPU time into a rate. */
  readonly #previous = new Map<string, { atMs: number; cpuNanos: number }>();
  #pending: TaskUsageSample[] = [];
  #cancel: (() => void) | undefined;
  #round: Promise<void> | undefined;
  readonly #abort = new AbortController();
  #closed = false;

  constructor(options: StatsSamplerOptions) {
    this.#o = options;
  }

  start(): void {
    this.#schedule();
  }

  /** Stops sampling; waits for a round in progress. */
  async close(): Promise<void> {
    this.#closed = true;
    this.#cancel?.();
    this.#abort.abort(new Error('stats sampler closing'));
    await this.#round?.catch(() => undefined);
  }

  #schedule(): void {
    if (this.#closed) return;
    this.#cancel = this.#o.clock.setTimer(this.#o.sampleIntervalMs, () => {
      this.#round = this.sampleOnce()
        .catch((err: unknown) => this.#o.logger.warn('stats sampling failed', { error: err }))
        .finally(() => { this.#round = undefined; this.#schedule(); });
    });
  }

  /**
   * One round: reads every container, sums per task, sends the round with anything pending.
   * A task is reported once each of its containers has two readings (CPU is a rate).
   */
  async sampleOnce(): Promise<void> {
    const tasks = this.#o.tasks();
    const seen = new Set<string>();
    const work = tasks.flatMap((t) => t.containerIds.map((id) => ({ task: t, id })));
    // Each reading keeps its own time: with Docker's call, 100 containers take a while to read.
    const readings = new Map<string, { atMs: number; reading: ContainerUsageReading | undefined }>();
    const concurrency = this.#o.concurrency ?? 8;
    let next = 0;
    const worker = async () => {
      while (next < work.length && !this.#closed) {
        const { id } = work[next++]!;
        const reading = await this.#o.source.read(id, this.#abort.signal).catch((err: unknown) => {
          this.#o.logger.debug('container stats read failed', { containerId: id, error: err });
          return undefined;
        });
        readings.set(id, { atMs: this.#o.clock.now(), reading });
      }
    };
    await Promise.all(Array.from({ length: Math.min(concurrency, work.length) }, worker));
    const nowMs = this.#o.clock.now();
    const samples: TaskUsageSample[] = [];
    for (const task of tasks) {
      let cpuUnits = 0;
      let memoryBytes = 0;
      let complete = task.containerIds.length > 0;
      for (const id of task.containerIds) {
        seen.add(id);
        const { atMs, reading: r } = readings.get(id) ?? { atMs: nowMs, reading: undefined };
        const prev = this.#previous.get(id);
        if (r === undefined) { complete = false; this.#previous.delete(id); continue; }
        this.#previous.set(id, { atMs, cpuNanos: r.cpuNanos });
        memoryBytes += r.memoryBytes;
        if (prev === undefined || atMs <= prev.atMs || r.cpuNanos < prev.cpuNanos) { complete = false; continue; }
        cpuUnits += ((r.cpuNanos - prev.cpuNanos) / ((atMs - prev.atMs) * 1e6)) * 1024;
      }
      if (complete) samples.push({ taskArn: task.taskArn, timestampMs: nowMs, cpuUnits: round2(cpuUnits), memoryMiB: round2(memoryBytes / 1048576) });
    }
    for (const id of this.#previous.keys()) if (!seen.has(id)) this.#previous.delete(id);
    if (this.#o.source instanceof CgroupStatsSource) this.#o.source.retain(seen);
    this.#pending.push(...samples);
    if (this.#pending.length > this.#o.maxPendingSamples) this.#pending.splice(0, this.#pending.length - this.#o.maxPendingSamples);
    if (this.#pending.length > 0 && this.#o.send({ samples: this.#pending })) this.#pending = [];
  }
}

const round2 = (n: number) => Math.round(n * 100) / 100;
