/**
 * The load balancers' request metrics from their data planes' traffic counters (pure): the
 * difference between two readings of one data plane, folded into rounds, and each closed round's
 * `AWS/ApplicationELB` datums per target group (src/metrics/elb-metrics.ts has the definitions).
 *
 * ```
 * reading (every health poll) ──► trafficBetween(last, reading) ──► added to the open round
 * first reading after the round's end ──► the round is closed ──► targetGroupData per target group
 * ```
 */
import type { HttpCodeCounts, ServerTraffic, TrafficCounters, WorkerCounters } from '../lb/index.js';
import { targetGroupData, type MetricDatum } from '../metrics/index.js';

/** One target group's traffic over an interval. */
export interface GroupTraffic {
  requests: number;
  http: HttpCodeCounts;
  /**
   * Response times of the responses counted. HAProxy keeps only each server's average over its
   * last 1024 responses, so the sum is estimated as that average times the server's responses in
   * the interval, and least and most are those of the servers' averages.
   */
  responseTime?: { sumSeconds: number; count: number; minSeconds: number; maxSeconds: number };
}

const CODES = ['2XX', '3XX', '4XX', '5XX'] as const;

const noTraffic = (): GroupTraffic => ({ requests: 0, http: { '2XX': 0, '3XX': 0, '4XX': 0, '5XX': 0 } });

/**
 * Each target group's traffic between two readings of one data plane: from `previous` through the
 * final readings of the workers reloads replaced since (those of its worker and later ones) to
 * `current`. A server counts from zero when there is no earlier reading of it from the same
 * HAProxy worker (the data plane started, restarted or reloaded in between, or this is the first
 * reading), or when a counter of it went down: whatever it counted since is the new worker's.
 */
export function trafficBetween(previous: TrafficCounters | undefined, current: TrafficCounters): Map<string, GroupTraffic> {
  const readings: WorkerCounters[] = [...current.retired.filter((r) => previous === undefined || r.generation >= previous.generation), current];
  const out = new Map<string, GroupTraffic>();
  let last: WorkerCounters | undefined = previous;
  for (const reading of readings) {
    const sameWorker = last?.generation === reading.generation;
    for (const [group, servers] of reading.groups) {
      // Only groups the current worker serves are published; a group a reload removed is gone.
      if (!current.groups.has(group)) continue;
      let traffic = out.get(group) ?? noTraffic();
      for (const [server, now] of servers) traffic = addTraffic(traffic, serverDelta(sameWorker ? last?.groups.get(group)?.get(server) : undefined, now));
      out.set(group, traffic);
    }
    last = reading;
  }
  return out;
}

function serverDelta(before: ServerTraffic | undefined, now: ServerTraffic): GroupTraffic {
  const reset = before === undefined || now.requests < before.requests || CODES.some((c) => now.http[c] < before.http[c]);
  const base = reset ? undefined : before;
  const http = Object.fromEntries(CODES.map((c) => [c, now.http[c] - (base?.http[c] ?? 0)])) as unknown as HttpCodeCounts;
  const responses = CODES.reduce((sum, c) => sum + http[c], 0);
  const seconds = now.responseTimeMs / 1000;
  return {
    requests: now.requests - (base?.requests ?? 0), http,
    ...(responses > 0 ? { responseTime: { sumSeconds: seconds * responses, count: responses, minSeconds: seconds, maxSeconds: seconds } } : {}),
  };
}

/** The traffic of both intervals. */
export function addTraffic(a: GroupTraffic, b: GroupTraffic): GroupTraffic {
  const http = Object.fromEntries(CODES.map((c) => [c, a.http[c] + b.http[c]])) as unknown as HttpCodeCounts;
  const [x, y] = [a.responseTime, b.responseTime];
  const responseTime = x && y
    ? { sumSeconds: x.sumSeconds + y.sumSeconds, count: x.count + y.count, minSeconds: Math.min(x.minSeconds, y.minSeconds), maxSeconds: Math.max(x.maxSeconds, y.maxSeconds) }
    : x ?? y;
  return { requests: a.requests + b.requests, http, ...(responseTime ? { responseTime } : {}) };
}

/** The traffic counted in one round, `[startMs, startMs + roundMs)`, by target group id. */
export interface TrafficRound { startMs: number; groups: Map<string, GroupTraffic> }

/** One data plane's tally: its last reading and the round still open. */
export interface TrafficTally { last: TrafficCounters; open: TrafficRound }

/**
 * Folds a reading taken at `nowMs` into `tally`. The traffic since the last reading goes to the
 * open round; a reading in a later round closes the open one (so a round also holds what came
 * between its end and the first reading after it: one poll interval at most) and opens the
 * current round. A reading with no tally opens one with what the worker counted so far.
 */
export function tallyTraffic(tally: TrafficTally | undefined, reading: TrafficCounters, nowMs: number, roundMs: number): { tally: TrafficTally; closed?: TrafficRound } {
  const startMs = Math.floor(nowMs / roundMs) * roundMs;
  const delta = trafficBetween(tally?.last, reading);
  const base = tally?.open ?? { startMs, groups: new Map<string, GroupTraffic>() };
  const groups = new Map(base.groups);
  for (const [group, traffic] of delta) groups.set(group, addTraffic(groups.get(group) ?? noTraffic(), traffic));
  const open = { startMs: base.startMs, groups };
  if (open.startMs < startMs) return { tally: { last: reading, open: { startMs, groups: new Map() } }, closed: open };
  return { tally: { last: reading, open } };
}

/** A target group as a closed round publishes it. */
export interface PublishedGroup {
  loadBalancerArn: string;
  targetGroupArn: string;
  healthyTargetCount: number;
  registeredTargetCount: number;
}

/**
 * The `AWS/ApplicationELB` datums of a closed round, one set per target group the load balancer
 * forwards to, stamped with the round's start; a group without requests publishes zero requests
 * (RequestCountPerTarget is always reported, which lets target tracking scale in when idle).
 */
export function roundData(round: TrafficRound, groups: PublishedGroup[]): MetricDatum[] {
  return groups.flatMap((g) => {
    const traffic = round.groups.get(g.targetGroupArn) ?? noTraffic();
    return targetGroupData({
      loadBalancer: arnSuffix(g.loadBalancerArn, ':loadbalancer/'), targetGroup: `targetgroup/${arnSuffix(g.targetGroupArn, ':targetgroup/')}`,
      requestCount: traffic.requests, healthyTargetCount: g.healthyTargetCount, registeredTargetCount: g.registeredTargetCount,
      httpCodeTarget: traffic.http, ...(traffic.responseTime ? { responseTime: traffic.responseTime } : {}),
    }, round.startMs);
  });
}

/** Each target group's healthy and registered targets (those not deregistered), by target group ARN. */
export function targetCounts(targets: { TargetGroupArn: string; deregisteredAt?: number; state: string }[]): Map<string, Pick<PublishedGroup, 'healthyTargetCount' | 'registeredTargetCount'>> {
  const counts = new Map<string, Pick<PublishedGroup, 'healthyTargetCount' | 'registeredTargetCount'>>();
  for (const target of targets) {
    if (target.deregisteredAt !== undefined) continue;
    const count = counts.get(target.TargetGroupArn) ?? { healthyTargetCount: 0, registeredTargetCount: 0 };
    count.registeredTargetCount += 1;
    if (target.state === 'healthy') count.healthyTargetCount += 1;
    counts.set(target.TargetGroupArn, count);
  }
  return counts;
}

/** The part of an ELB ARN after `marker`: CloudWatch's dimension values (`app/<name>/<id>`, `<name>/<id>`). */
function arnSuffix(arn: string, marker: string): string {
  const at = arn.indexOf(marker);
  return at < 0 ? arn : arn.slice(at + marker.length);
}
