/**
 * The metric store: CloudWatch-style time series (namespace, metric name, dimensions), kept in
 * memory at a few resolutions with bounded retention, and snapshotted to one file so a restart
 * keeps history. It is not the state store: metrics are many small writes no one needs to
 * compare-and-swap, and losing the last snapshot interval on a crash is acceptable (README).
 *
 * Every datum is folded into one bucket of each tier at once (1 minute, 5 minutes, 1 hour by
 * default), so "downsampling" costs nothing later; each tier forgets buckets older than its
 * retention. A query reads the finest tier that still holds its start time.
 */
import { mkdirSync, readFileSync, renameSync, writeFileSync } from 'node:fs';
import { dirname } from 'node:path';

/** The five statistics CloudWatch computes for every metric. */
export type Statistic = 'SampleCount' | 'Average' | 'Sum' | 'Minimum' | 'Maximum';
export const STATISTICS: readonly Statistic[] = ['SampleCount', 'Average', 'Sum', 'Minimum', 'Maximum'];

/** Dimension name → value. A metric's identity includes all of them; their order does not matter. */
export type Dimensions = Readonly<Record<string, string>>;

export interface MetricIdentity {
  namespace: string;
  metricName: string;
  dimensions: Dimensions;
}

/** An aggregate of samples (one sample is {1, v, v, v}); CloudWatch's StatisticSet. */
export interface StatisticSet {
  sampleCount: number;
  sum: number;
  minimum: number;
  maximum: number;
}

export interface MetricDatum extends MetricIdentity {
  timestampMs: number;
  values: StatisticSet;
  /** CloudWatch's StandardUnit; a series keeps the unit of its latest datum (default `None`). */
  unit?: string;
}

export interface StatisticsQuery extends MetricIdentity {
  /** Inclusive. Rounded down to the resolution of the tier that answers (one minute for recent data). */
  startTimeMs: number;
  /** Exclusive. */
  endTimeMs: number;
  /** Length of each returned datapoint; callers validate it (CloudWatch: 1, 5, 10, 30 or a multiple of 60). */
  periodSeconds: number;
  /** When given, a series stored with another unit answers no datapoints (as CloudWatch). */
  unit?: string;
}

/** One period's aggregate. Only periods holding at least one sample are returned. */
export interface Datapoint extends StatisticSet {
  /** Start of the period. */
  timestampMs: number;
  average: number;
  unit: string;
}

export interface ListMetricsQuery {
  namespace?: string;
  metricName?: string;
  /** Each named dimension must be present; with a value, equal to it (CloudWatch's DimensionFilter). */
  dimensions?: readonly { name: string; value?: string }[];
  /** Only metrics that received data at or after this time. */
  activeSinceMs?: number;
}

export interface RetentionTier {
  resolutionSeconds: number;
  retentionSeconds: number;
}

/**
 * Default tiers: 1-minute points for 6 hours (what scaling and alarms read), 5-minute points for
 * 7 days, 1-hour points for 63 days. At most 3,888 points (about 150 KiB) per series.
 */
export const DEFAULT_RETENTION_TIERS: readonly RetentionTier[] = [
  { resolutionSeconds: 60, retentionSeconds: 6 * 3600 },
  { resolutionSeconds: 300, retentionSeconds: 7 * 86_400 },
  { resolutionSeconds: 3600, retentionSeconds: 63 * 86_400 },
];

/**
 * Series of users' own namespaces kept at most (with the default tiers about 300 MiB when every
 * one is full). Wharf's own series (reserved namespaces) are not counted: their number follows the
 * clusters and services, and a user filling the store must not stop them.
 */
export const DEFAULT_MAX_SERIES = 2000;

/** Namespaces only Wharf writes: `AWS/...` (as in CloudWatch) and Container Insights'. */
export function isReservedNamespace(namespace: string): boolean {
  return namespace.startsWith('AWS/') || namespace === 'ECS/ContainerInsights';
}

export interface MetricStoreOptions {
  nowMs?: () => number;
  /** Finest first; each resolution a multiple of the previous one. */
  tiers?: readonly RetentionTier[];
  maxSeries?: number;
  /** Where snapshots go; none keeps metrics in memory only. */
  snapshotPath?: string;
  /** How often `start()` writes a snapshot. */
  snapshotIntervalMs?: number;
}

/** A write of a new series of a user namespace when the store already holds `maxSeries` of them. */
export class MetricSeriesLimitError extends Error {
  readonly code = 'LimitExceeded';
  constructor(limit: number) {
    super(`The metric store holds its limit of ${limit} metrics; no new metric can be created.`);
  }
}

/** One tier of one series: parallel arrays ordered by bucket start, oldest first. */
class TierBuckets {
  startMs: number[] = [];
  count: number[] = [];
  sum: number[] = [];
  min: number[] = [];
  max: number[] = [];

  add(bucketMs: number, v: StatisticSet): void {
    const last = this.startMs.length - 1;
    // Data nearly always arrives in time order: the newest bucket or a new one after it.
    let i = last >= 0 && this.startMs[last]! <= bucketMs ? last : this.#search(bucketMs);
    if (i < 0 || this.startMs[i] !== bucketMs) {
      i += 1;
      this.startMs.splice(i, 0, bucketMs);
      this.count.splice(i, 0, v.sampleCount);
      this.sum.splice(i, 0, v.sum);
      this.min.splice(i, 0, v.minimum);
      this.max.splice(i, 0, v.maximum);
      return;
    }
    this.count[i]! += v.sampleCount;
    this.sum[i]! += v.sum;
    if (v.minimum < this.min[i]!) this.min[i] = v.minimum;
    if (v.maximum > this.max[i]!) this.max[i] = v.maximum;
  }

  /** Index of the last bucket starting at or before `ms`, -1 when none. */
  #search(ms: number): number {
    let lo = 0;
    let hi = this.startMs.length - 1;
    let found = -1;
    while (lo <= hi) {
      const mid = (lo + hi) >> 1;
      if (this.startMs[mid]! <= ms) { found = mid; lo = mid + 1; } else hi = mid - 1;
    }
    return found;
  }

  /** Index of the first bucket starting at or after `ms`. */
  firstAtOrAfter(ms: number): number {
    const i = this.#search(ms);
    return i >= 0 && this.startMs[i] === ms ? i : i + 1;
  }

  dropBefore(ms: number): void {
    const n = this.firstAtOrAfter(ms);
    if (n === 0) return;
    for (const a of [this.startMs, this.count, this.sum, this.min, this.max]) a.splice(0, n);
  }

  get length(): number { return this.startMs.length; }
}

interface Series extends MetricIdentity {
  unit: string;
  lastPutMs: number;
  tiers: TierBuckets[];
}

/** The persisted form: one object per series, tiers as column arrays. */
interface Snapshot {
  version: 1;
  series: {
    namespace: string; metricName: string; dimensions: Record<string, string>; unit: string; lastPutMs: number;
    tiers: { resolutionSeconds: number; startMs: number[]; count: number[]; sum: number[]; min: number[]; max: number[] }[];
  }[];
}

/** The store's identity of a series: dimension order is irrelevant, as in CloudWatch. */
export function seriesKey(id: MetricIdentity): string {
  const dims = Object.keys(id.dimensions).sort().map((k) => `${k}=${id.dimensions[k]}`);
  return [id.namespace, id.metricName, ...dims].join('\u0000');
}

/** One sample as a statistic set. */
export function singleValue(value: number): StatisticSet {
  return { sampleCount: 1, sum: value, minimum: value, maximum: value };
}

export class MetricStore {
  readonly #series = new Map<string, Series>();
  readonly #nowMs: () => number;
  readonly #tiers: readonly RetentionTier[];
  readonly #maxSeries: number;
  /** Series of user (not reserved) namespaces, which maxSeries bounds. */
  #userSeries = 0;
  readonly #snapshotPath: string | undefined;
  readonly #snapshotIntervalMs: number;
  readonly #listeners = new Set<(datum: MetricDatum) => void>();
  #timer: NodeJS.Timeout | undefined;

  constructor(options: MetricStoreOptions = {}) {
    this.#nowMs = options.nowMs ?? Date.now;
    this.#tiers = options.tiers ?? DEFAULT_RETENTION_TIERS;
    this.#maxSeries = options.maxSeries ?? DEFAULT_MAX_SERIES;
    this.#snapshotPath = options.snapshotPath;
    this.#snapshotIntervalMs = options.snapshotIntervalMs ?? 60_000;
    for (let i = 1; i < this.#tiers.length; i++) {
      if (this.#tiers[i]!.resolutionSeconds % this.#tiers[i - 1]!.resolutionSeconds !== 0) {
        throw new Error('each retention tier resolution must be a multiple of the previous one');
      }
    }
  }

  /** Loads the snapshot (if any) and snapshots every snapshotIntervalMs, pruning expired data. */
  start(): void {
    this.load();
    if (this.#snapshotPath === undefined) return;
    this.#timer = setInterval(() => {
      try { this.snapshot(); } catch { /* the next interval retries; metrics are not the state of record */ }
    }, this.#snapshotIntervalMs);
    this.#timer.unref();
  }

  /** Stops the timer and writes a last snapshot. */
  close(): void {
    if (this.#timer !== undefined) clearInterval(this.#timer);
    this.#timer = undefined;
    if (this.#snapshotPath !== undefined) this.snapshot();
  }

  /**
   * Adds one datum (folded into each tier's bucket). Throws MetricSeriesLimitError when it would
   * create a series of a user namespace beyond maxSeries; data older than the longest retention is
   * ignored.
   */
  put(datum: MetricDatum): void {
    const key = seriesKey(datum);
    let series = this.#series.get(key);
    const now = this.#nowMs();
    if (series === undefined) {
      this.#prune(now);
      const user = !isReservedNamespace(datum.namespace);
      if (user && this.#userSeries >= this.#maxSeries) throw new MetricSeriesLimitError(this.#maxSeries);
      if (user) this.#userSeries++;
      series = {
        namespace: datum.namespace, metricName: datum.metricName, dimensions: { ...datum.dimensions },
        unit: datum.unit ?? 'None', lastPutMs: now, tiers: this.#tiers.map(() => new TierBuckets()),
      };
      this.#series.set(key, series);
    }
    series.unit = datum.unit ?? series.unit;
    series.lastPutMs = now;
    this.#tiers.forEach((tier, i) => {
      if (datum.timestampMs < now - tier.retentionSeconds * 1000) return;
      const resMs = tier.resolutionSeconds * 1000;
      const buckets = series.tiers[i]!;
      buckets.add(Math.floor(datum.timestampMs / resMs) * resMs, datum.values);
      // Trim lazily: a tier may overshoot its retention by 64 buckets before it is cut back.
      if (buckets.length > Math.ceil(tier.retentionSeconds / tier.resolutionSeconds) + 64) {
        buckets.dropBefore(now - tier.retentionSeconds * 1000);
      }
    });
    for (const listener of this.#listeners) listener(datum);
  }

  /**
   * Aggregates a series into periods of `periodSeconds` starting at `startTimeMs` (rounded down to
   * the answering tier's resolution), ascending. A metric that does not exist answers [] as
   * CloudWatch does.
   */
  statistics(query: StatisticsQuery): Datapoint[] {
    const series = this.#series.get(seriesKey(query));
    if (series === undefined || (query.unit !== undefined && query.unit !== series.unit)) return [];
    const now = this.#nowMs();
    let tierIndex = this.#tiers.findIndex((t) => query.startTimeMs >= now - t.retentionSeconds * 1000);
    if (tierIndex < 0) tierIndex = this.#tiers.length - 1;
    const tier = this.#tiers[tierIndex]!;
    const buckets = series.tiers[tierIndex]!;
    const resMs = tier.resolutionSeconds * 1000;
    const periodMs = query.periodSeconds * 1000;
    const start = Math.floor(query.startTimeMs / resMs) * resMs;
    const out: Datapoint[] = [];
    let current: Datapoint | undefined;
    for (let i = buckets.firstAtOrAfter(start); i < buckets.length; i++) {
      const bucketMs = buckets.startMs[i]!;
      if (bucketMs >= query.endTimeMs) break;
      if (bucketMs < now - tier.retentionSeconds * 1000) continue;
      const periodStart = start + Math.floor((bucketMs - start) / periodMs) * periodMs;
      if (current === undefined || current.timestampMs !== periodStart) {
        current = {
          timestampMs: periodStart, sampleCount: 0, sum: 0, minimum: Infinity, maximum: -Infinity, average: 0, unit: series.unit,
        };
        out.push(current);
      }
      current.sampleCount += buckets.count[i]!;
      current.sum += buckets.sum[i]!;
      current.minimum = Math.min(current.minimum, buckets.min[i]!);
      current.maximum = Math.max(current.maximum, buckets.max[i]!);
    }
    for (const p of out) p.average = p.sampleCount > 0 ? p.sum / p.sampleCount : 0;
    return out;
  }

  /** The value of one statistic of a datapoint. */
  static statisticOf(point: Datapoint, statistic: Statistic): number {
    switch (statistic) {
      case 'SampleCount': return point.sampleCount;
      case 'Average': return point.average;
      case 'Sum': return point.sum;
      case 'Minimum': return point.minimum;
      case 'Maximum': return point.maximum;
    }
  }

  /** Metrics matching the query, sorted by namespace, name, then dimensions. */
  listMetrics(query: ListMetricsQuery = {}): MetricIdentity[] {
    const out: { key: string; id: MetricIdentity }[] = [];
    this.#prune(this.#nowMs());
    for (const [key, s] of this.#series) {
      if (query.namespace !== undefined && s.namespace !== query.namespace) continue;
      if (query.metricName !== undefined && s.metricName !== query.metricName) continue;
      if (query.activeSinceMs !== undefined && s.lastPutMs < query.activeSinceMs) continue;
      if (query.dimensions?.some((f) => !(f.name in s.dimensions) || (f.value !== undefined && s.dimensions[f.name] !== f.value))) continue;
      out.push({ key, id: { namespace: s.namespace, metricName: s.metricName, dimensions: { ...s.dimensions } } });
    }
    return out.sort((a, b) => (a.key < b.key ? -1 : a.key > b.key ? 1 : 0)).map((e) => e.id);
  }

  /** Calls `listener` after every datum is stored (alarms and scaling may react without polling). Returns unsubscribe. */
  onPut(listener: (datum: MetricDatum) => void): () => void {
    this.#listeners.add(listener);
    return () => this.#listeners.delete(listener);
  }

  /** Number of series held. */
  get size(): number { return this.#series.size; }

  /** Number of series of user namespaces held (what maxSeries bounds). */
  get userSeries(): number { return this.#userSeries; }

  /** Most series of user namespaces the store holds. */
  get maxSeries(): number { return this.#maxSeries; }

  /** Writes every series to snapshotPath (temporary file, then rename: a crash leaves the old one whole). */
  snapshot(): void {
    if (this.#snapshotPath === undefined) return;
    this.#prune(this.#nowMs());
    const snap: Snapshot = {
      version: 1,
      series: [...this.#series.values()].map((s) => ({
        namespace: s.namespace, metricName: s.metricName, dimensions: { ...s.dimensions }, unit: s.unit, lastPutMs: s.lastPutMs,
        tiers: s.tiers.map((b, i) => ({
          resolutionSeconds: this.#tiers[i]!.resolutionSeconds, startMs: b.startMs, count: b.count, sum: b.sum, min: b.min, max: b.max,
        })),
      })),
    };
    mkdirSync(dirname(this.#snapshotPath), { recursive: true });
    const tmp = `${this.#snapshotPath}.tmp`;
    writeFileSync(tmp, JSON.stringify(snap));
    renameSync(tmp, this.#snapshotPath);
  }

  /** Reads snapshotPath into the store (tiers matched by resolution); a missing or unreadable file is an empty store. */
  load(): void {
    if (this.#snapshotPath === undefined) return;
    let snap: Snapshot;
    try {
      snap = JSON.parse(readFileSync(this.#snapshotPath, 'utf8')) as Snapshot;
    } catch {
      return;
    }
    if (snap.version !== 1 || !Array.isArray(snap.series)) return;
    for (const s of snap.series) {
      const series: Series = {
        namespace: s.namespace, metricName: s.metricName, dimensions: s.dimensions, unit: s.unit, lastPutMs: s.lastPutMs,
        tiers: this.#tiers.map((tier) => {
          const saved = s.tiers.find((t) => t.resolutionSeconds === tier.resolutionSeconds);
          const b = new TierBuckets();
          if (saved) Object.assign(b, { startMs: saved.startMs, count: saved.count, sum: saved.sum, min: saved.min, max: saved.max });
          return b;
        }),
      };
      if (!this.#series.has(seriesKey(series)) && !isReservedNamespace(series.namespace)) this.#userSeries++;
      this.#series.set(seriesKey(series), series);
    }
    this.#prune(this.#nowMs());
  }

  /** Forgets buckets past retention and series with no data left in any tier. */
  #prune(now: number): void {
    for (const [key, s] of this.#series) {
      s.tiers.forEach((b, i) => b.dropBefore(now - this.#tiers[i]!.retentionSeconds * 1000));
      if (!s.tiers.every((b) => b.length === 0)) continue;
      this.#series.delete(key);
      if (!isReservedNamespace(s.namespace)) this.#userSeries--;
    }
  }
}
