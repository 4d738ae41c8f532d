/**
 * `GET /metrics`: the metric store's series in the Prometheus text exposition format (0.0.4), for
 * scrapers that cannot sign AWS requests. Each CloudWatch series gives one gauge per statistic,
 * named `cloudwatch_<namespace>_<metric>_<statistic>` in snake case with the dimensions as labels,
 * valued by its newest one-minute datapoint of the last five minutes (older series are left out,
 * as Prometheus would treat them as stale anyway):
 *
 *   cloudwatch_aws_ecs_cpu_utilization_average{cluster_name="default",service_name="web"} 42.5
 */
import { MetricStore, type Statistic } from '../metrics/index.js';

const FRESH_MS = 5 * 60_000;
const EXPOSED: readonly [Statistic, string][] =
  [['Average', 'average'], ['Sum', 'sum'], ['Minimum', 'minimum'], ['Maximum', 'maximum'], ['SampleCount', 'sample_count']];

/** `AWS/ECS` → `aws_ecs`, `CPUUtilization` → `cpu_utilization`, `ClusterName` → `cluster_name`. */
export function snakeCase(name: string): string {
  return name
    .replace(/([a-z])([A-Z])/g, '$1_$2')
    .replace(/([A-Z]+)([A-Z][a-z])/g, '$1_$2')
    .replace(/[^A-Za-z0-9]+/g, '_')
    .replace(/^_+|_+$/g, '')
    .toLowerCase()
    .replace(/^(\d)/, '_$1');
}

function labelValue(v: string): string {
  return v.replace(/\\/g, '\\\\').replace(/\n/g, '\\n').replace(/"/g, '\\"');
}

/** The exposition text of every series with a datapoint in the last five minutes. */
export function prometheusText(metrics: MetricStore, nowMs: number): string {
  const families = new Map<string, string[]>();
  for (const id of metrics.listMetrics({ activeSinceMs: nowMs - FRESH_MS })) {
    const points = metrics.statistics({ ...id, startTimeMs: nowMs - FRESH_MS, endTimeMs: nowMs + 60_000, periodSeconds: 60 });
    const newest = points[points.length - 1];
    if (newest === undefined) continue;
    const labels = Object.keys(id.dimensions).sort().map((k) => `${snakeCase(k)}="${labelValue(id.dimensions[k]!)}"`).join(',');
    for (const [statistic, suffix] of EXPOSED) {
      const name = `cloudwatch_${snakeCase(id.namespace)}_${snakeCase(id.metricName)}_${suffix}`;
      const lines = families.get(name) ?? [];
      lines.push(`${name}${labels ? `{${labels}}` : ''} ${MetricStore.statisticOf(newest, statistic)}`);
      families.set(name, lines);
    }
  }
  const out: string[] = [];
  for (const [name, lines] of [...families].sort((a, b) => (a[0] < b[0] ? -1 : 1))) {
    out.push(`# TYPE ${name} gauge`, ...lines);
  }
  return out.length === 0 ? '' : `${out.join('\n')}\n`;
}
