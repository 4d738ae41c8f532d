/**
 * Publishes the ECS metrics (src/metrics/ecs-metrics.ts) into the metric store. Agents' usage
 * samples are buffered as they arrive; every pass groups the buffered samples into sampling rounds
 * (`roundMs`, the agents' sampling interval) and publishes each round once it has ended (plus a
 * short grace for the other agents' reports of it), and once a minute the reservation and task
 * count metrics of the clusters as the store has them.
 *
 * Every pass reads the store afresh; a failed pass keeps its samples for the next one.
 */
import { clusterContents, serviceNameOfTask, type ClusterContents, type DomainContext } from '../domain/index.js';
import { capacityData, utilizationData, type MetricsCluster, type MetricStore, type ReceivedSample } from '../metrics/index.js';
import type { TelemetryReport } from '../model/index.js';
import { PeriodicPass } from './periodic-pass.js';

export interface EcsMetricsControllerOptions {
  ctx: DomainContext;
  metrics: MetricStore;
  /** The agents' sampling interval: samples are grouped into rounds of this length. */
  roundMs: number;
  /** How long after a round ends its samples may still arrive (agents sample at slightly different times). */
  roundGraceMs: number;
  /** How often a pass runs. */
  passIntervalMs: number;
  /** Samples buffered at most (oldest dropped): bounds memory when passes keep failing. */
  maxBufferedSamples: number;
}

export class EcsMetricsController {
  readonly #o: EcsMetricsControllerOptions;
  #buffer: ReceivedSample[] = [];
  #lastCapacityMinute = -1;
  readonly #passes: PeriodicPass;

  constructor(options: EcsMetricsControllerOptions) {
    this.#o = options;
    this.#passes = new PeriodicPass(() => this.#pass(), options.passIntervalMs, (entry) => options.ctx.log(entry), 'ECS metrics pass');
  }

  /**
   * Buffers a report from the agent of `containerInstanceArn`. Malformed samples are dropped, as
   * are samples more than an hour old or ahead of the server's clock by more than a round.
   */
  receive(containerInstanceArn: string, report: TelemetryReport): void {
    if (!Array.isArray(report?.samples)) return;
    const now = this.#o.ctx.nowMs();
    for (const s of report.samples) {
      if (typeof s?.taskArn !== 'string' || ![s.timestampMs, s.cpuUnits, s.memoryMiB].every((n) => typeof n === 'number' && Number.isFinite(n) && n >= 0)) continue;
      if (s.timestampMs < now - 3600_000 || s.timestampMs > now + this.#o.roundMs) continue;
      this.#buffer.push({ taskArn: s.taskArn, timestampMs: s.timestampMs, cpuUnits: s.cpuUnits, memoryMiB: s.memoryMiB, containerInstanceArn });
    }
    if (this.#buffer.length > this.#o.maxBufferedSamples) this.#buffer.splice(0, this.#buffer.length - this.#o.maxBufferedSamples);
  }

  start(): void {
    this.#passes.start();
  }

  /** One pass now (what the timer runs); passes never overlap. */
  pass(): Promise<unknown> {
    return this.#passes.now();
  }

  close(): Promise<void> {
    return this.#passes.close();
  }

  async #pass(): Promise<void> {
    const { ctx, metrics, roundMs, roundGraceMs } = this.#o;
    const now = ctx.nowMs();
    const minute = Math.floor(now / 60_000);
    const due = this.#buffer.filter((s) => roundStart(s.timestampMs, roundMs) + roundMs + roundGraceMs <= now);
    if (due.length === 0 && minute === this.#lastCapacityMinute) return;
    const clusters = (await clusterContents(ctx)).map(toMetricsCluster);
    const dueSet = new Set(due);
    this.#buffer = this.#buffer.filter((s) => !dueSet.has(s));
    const rounds = new Map<number, ReceivedSample[]>();
    for (const s of due) {
      const start = roundStart(s.timestampMs, roundMs);
      rounds.set(start, [...(rounds.get(start) ?? []), s]);
    }
    for (const [start, samples] of [...rounds].sort((a, b) => a[0] - b[0])) {
      const perTask = averagePerTask(samples);
      for (const cluster of clusters) for (const datum of utilizationData(cluster, perTask, start)) metrics.put(datum);
    }
    if (minute !== this.#lastCapacityMinute) {
      this.#lastCapacityMinute = minute;
      for (const cluster of clusters) for (const datum of capacityData(cluster, now)) metrics.put(datum);
    }
  }
}

function roundStart(timestampMs: number, roundMs: number): number {
  return Math.floor(timestampMs / roundMs) * roundMs;
}

/** One sample per task and round: an agent sampling faster than the round gives several. */
function averagePerTask(samples: ReceivedSample[]): ReceivedSample[] {
  const byTask = new Map<string, ReceivedSample[]>();
  for (const s of samples) byTask.set(s.taskArn, [...(byTask.get(s.taskArn) ?? []), s]);
  return [...byTask.values()].map((list) => ({
    ...list[0]!,
    cpuUnits: list.reduce((a, s) => a + s.cpuUnits, 0) / list.length,
    memoryMiB: list.reduce((a, s) => a + s.memoryMiB, 0) / list.length,
  }));
}

const resource = (r: { name?: string; integerValue?: number }[] | undefined, name: string) =>
  r?.find((x) => x.name === name)?.integerValue ?? 0;

function toMetricsCluster(c: ClusterContents): MetricsCluster {
  return {
    clusterName: c.clusterName,
    instances: c.instances.map((i) => ({
      containerInstanceArn: i.containerInstanceArn, status: i.status,
      registeredCpu: resource(i.registeredResources, 'CPU'), registeredMemoryMiB: resource(i.registeredResources, 'MEMORY'),
    })),
    tasks: c.tasks.map((t) => {
      const serviceName = serviceNameOfTask(t);
      return {
        taskArn: t.taskArn, containerInstanceArn: t.containerInstanceArn, lastStatus: t.lastStatus,
        reservedCpu: t.reservation?.cpu ?? 0, reservedMemoryMiB: t.reservation?.memory ?? 0,
        ...(serviceName !== undefined ? { serviceName } : {}),
      };
    }),
    services: c.services.map((s) => ({ serviceName: s.serviceName, desiredCount: s.desiredCount })),
  };
}
