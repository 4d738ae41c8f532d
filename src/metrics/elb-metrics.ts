/**
 * Application Load Balancer metrics (namespace `AWS/ApplicationELB`) from per-target-group
 * counters, with CloudWatch's definitions:
 *
 * - RequestCount (Sum): requests routed to the target group; dimensions {LoadBalancer} and
 *   {LoadBalancer, TargetGroup}.
 * - RequestCountPerTarget (Sum): RequestCount / healthy targets of the group (all targets when
 *   none is healthy); dimensions {TargetGroup} and {LoadBalancer, TargetGroup}. What target
 *   tracking's ALBRequestCountPerTarget reads.
 * - TargetResponseTime (Average, seconds): per response, from the request leaving the load balancer
 *   to the target's response headers; {LoadBalancer}, {LoadBalancer, TargetGroup}.
 * - HTTPCode_Target_2XX_Count ... 5XX (Sum): responses by class; {LoadBalancer}, {LoadBalancer, TargetGroup}.
 *
 * Dimension values are ARN suffixes, as CloudWatch's: `app/<name>/<id>` and `targetgroup/<name>/<id>`.
 *
 * The load-balancer controller calls `targetGroupData` once per round with the counts of that round
 * (from HAProxy's counters, src/controllers/load-balancer-metrics.ts) and puts the result into the
 * metric store.
 */
import type { MetricDatum } from './metric-store.js';
import { singleValue } from './metric-store.js';

export const ELB_NAMESPACE = 'AWS/ApplicationELB';

/** What the data plane counted for one target group over one interval. */
export interface TargetGroupCounters {
  /** `app/<load-balancer-name>/<id>`: the part of the load balancer ARN after `loadbalancer/`. */
  loadBalancer: string;
  /** `targetgroup/<name>/<id>`: the part of the target group ARN after the account id. */
  targetGroup: string;
  requestCount: number;
  healthyTargetCount: number;
  registeredTargetCount: number;
  /** Response times of the responses counted, in seconds: their sum, count, least and most. */
  responseTime?: { sumSeconds: number; count: number; minSeconds: number; maxSeconds: number };
  httpCodeTarget: { '2XX': number; '3XX': number; '4XX': number; '5XX': number };
}

/** The datums for one interval ending at `timestampMs`. */
export function targetGroupData(c: TargetGroupCounters, timestampMs: number): MetricDatum[] {
  const lb = { LoadBalancer: c.loadBalancer };
  const both = { LoadBalancer: c.loadBalancer, TargetGroup: c.targetGroup };
  const out: MetricDatum[] = [];
  const count = (metricName: string, dimensions: Record<string, string>, value: number) =>
    out.push({ namespace: ELB_NAMESPACE, metricName, dimensions, timestampMs, values: singleValue(value), unit: 'Count' });
  count('RequestCount', lb, c.requestCount);
  count('RequestCount', both, c.requestCount);
  const targets = c.healthyTargetCount > 0 ? c.healthyTargetCount : c.registeredTargetCount;
  if (targets > 0) {
    count('RequestCountPerTarget', { TargetGroup: c.targetGroup }, c.requestCount / targets);
    count('RequestCountPerTarget', both, c.requestCount / targets);
  }
  for (const code of ['2XX', '3XX', '4XX', '5XX'] as const) {
    if (c.httpCodeTarget[code] > 0) {
      count(`HTTPCode_Target_${code}_Count`, lb, c.httpCodeTarget[code]);
      count(`HTTPCode_Target_${code}_Count`, both, c.httpCodeTarget[code]);
    }
  }
  const rt = c.responseTime;
  if (rt !== undefined && rt.count > 0) {
    for (const dimensions of [lb, both]) {
      out.push({
        namespace: ELB_NAMESPACE, metricName: 'TargetResponseTime', dimensions, timestampMs, unit: 'Seconds',
        values: { sampleCount: rt.count, sum: rt.sumSeconds, minimum: rt.minSeconds, maximum: rt.maxSeconds },
      });
    }
  }
  return out;
}
