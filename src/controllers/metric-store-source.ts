/**
 * The autoscaling controller's MetricSource on the server's MetricStore: the statistic of one
 * series over one period, computed from the store's statistic sets (exact for SampleCount, Sum,
 * Minimum, Maximum and Average; percentiles are not kept, so they answer no data).
 */
import { MetricStore, STATISTICS, type Statistic } from '../metrics/index.js';
import type { MetricQuery, MetricSource } from './metric-source.js';

export function metricStoreSource(store: MetricStore): MetricSource {
  return {
    async statistic(query: MetricQuery, startMs: number, endMs: number): Promise<number | undefined> {
      if (!(STATISTICS as readonly string[]).includes(query.Statistic)) return undefined;
      const points = store.statistics({
        namespace: query.Namespace, metricName: query.MetricName,
        dimensions: Object.fromEntries(query.Dimensions.map((d) => [d.Name, d.Value])),
        startTimeMs: startMs, endTimeMs: endMs, periodSeconds: Math.max(1, Math.round((endMs - startMs) / 1000)),
      });
      // One period asked for: the store answers at most one datapoint (none without samples).
      const point = points[0];
      return point === undefined ? undefined : MetricStore.statisticOf(point, query.Statistic as Statistic);
    },
  };
}
