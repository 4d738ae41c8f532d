import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import type { ServerTraffic, TrafficCounters } from '../lb/index.js';
import { trackingQuery } from './autoscaling-controller.js';
import { roundData, tallyTraffic, targetCounts, trafficBetween, type TrafficRound } from './load-balancer-metrics.js';

const TG = 'arn:aws:elasticloadbalancing:us-east-1:123456789012:targetgroup/web/943f017f100becff';
const LB = 'arn:aws:elasticloadbalancing:us-east-1:123456789012:loadbalancer/app/front/50dc6c495c0c9188';

const server = (requests: number, ok: number, notFound: number, responseTimeMs: number): ServerTraffic =>
  ({ requests, http: { '2XX': ok, '3XX': 0, '4XX': notFound, '5XX': 0 }, responseTimeMs });
const reading = (generation: number, servers: Record<string, ServerTraffic>): TrafficCounters =>
  ({ generation, groups: new Map([[TG, new Map(Object.entries(servers))]]), retired: [] });

describe('trafficBetween', () => {
  it('counts the difference per server, summed per group, with response times weighted by responses', () => {
    const before = reading(1, { slot0: server(10, 10, 0, 5), slot1: server(4, 4, 0, 20) });
    const after = reading(1, { slot0: server(16, 14, 2, 10), slot1: server(6, 6, 0, 30) });
    assert.deepEqual(trafficBetween(before, after).get(TG), {
      requests: 8, http: { '2XX': 6, '3XX': 0, '4XX': 2, '5XX': 0 },
      // 6 responses at 10 ms, 2 at 30 ms.
      responseTime: { sumSeconds: 0.06 + 0.06, count: 8, minSeconds: 0.01, maxSeconds: 0.03 },
    });
  });

  it('counts from zero after a reload or restart (another worker), even when the counters grew past the old ones', () => {
    const before = reading(1, { slot0: server(10, 10, 0, 5) });
    assert.equal(trafficBetween(before, reading(2, { slot0: server(15, 15, 0, 5) })).get(TG)?.requests, 15);
    assert.equal(trafficBetween(before, reading(2, { slot0: server(3, 3, 0, 5) })).get(TG)?.requests, 3);
  });

  it('adds what replaced workers counted up to their final readings, each from the earlier reading of the same worker', () => {
    const before = reading(1, { slot0: server(10, 10, 0, 5) });
    const final1 = reading(1, { slot0: server(14, 14, 0, 5) });
    const final2 = reading(2, { slot0: server(6, 6, 0, 5) });
    const now = { ...reading(3, { slot0: server(2, 2, 0, 5) }), retired: [reading(0, { slot0: server(99, 99, 0, 5) }), final1, final2] };
    // 4 more in worker 1, 6 in worker 2, 2 in worker 3; worker 0's were read before.
    assert.equal(trafficBetween(before, now).get(TG)?.requests, 12);
    // Read again: nothing new, the retired readings are older than the last one.
    assert.equal(trafficBetween(now, now).get(TG)?.requests, 0);
  });

  it('counts from zero a server whose counter went down, and a first reading from the worker\'s start', () => {
    assert.equal(trafficBetween(reading(1, { slot0: server(10, 10, 0, 5) }), reading(1, { slot0: server(4, 4, 0, 5) })).get(TG)?.requests, 4);
    assert.equal(trafficBetween(undefined, reading(1, { slot0: server(7, 7, 0, 5) })).get(TG)?.requests, 7);
  });

  it('has no response time for an interval without responses', () => {
    const same = reading(1, { slot0: server(10, 10, 0, 5) });
    assert.deepEqual(trafficBetween(same, same).get(TG), { requests: 0, http: { '2XX': 0, '3XX': 0, '4XX': 0, '5XX': 0 } });
  });
});

describe('tallyTraffic', () => {
  it('adds readings to the open round and closes it at the first reading of a later round', () => {
    let { tally, closed } = tallyTraffic(undefined, reading(1, { slot0: server(2, 2, 0, 5) }), 60_500, 20_000);
    assert.equal(closed, undefined);
    ({ tally, closed } = tallyTraffic(tally, reading(1, { slot0: server(5, 5, 0, 5) }), 79_000, 20_000));
    assert.equal(closed, undefined);
    ({ tally, closed } = tallyTraffic(tally, reading(1, { slot0: server(9, 9, 0, 5) }), 80_400, 20_000));
    assert.equal(closed?.startMs, 60_000);
    assert.equal(closed.groups.get(TG)?.requests, 9);
    assert.equal(tally.open.startMs, 80_000);
    ({ tally, closed } = tallyTraffic(tally, reading(1, { slot0: server(10, 10, 0, 5) }), 100_100, 20_000));
    assert.equal(closed?.startMs, 80_000);
    assert.equal(closed.groups.get(TG)?.requests, 1);
  });
});

describe('roundData', () => {
  const round: TrafficRound = { startMs: 60_000, groups: new Map([[TG, { requests: 30, http: { '2XX': 28, '3XX': 0, '4XX': 0, '5XX': 2 } }]]) };
  const value = (data: ReturnType<typeof roundData>, metricName: string, dimensions: Record<string, string>) =>
    data.find((d) => d.metricName === metricName && JSON.stringify(d.dimensions) === JSON.stringify(dimensions))?.values.sum;

  it('publishes under the ARN suffixes CloudWatch uses as dimension values, per healthy target', () => {
    const data = roundData(round, [{ loadBalancerArn: LB, targetGroupArn: TG, healthyTargetCount: 3, registeredTargetCount: 4 }]);
    const both = { LoadBalancer: 'app/front/50dc6c495c0c9188', TargetGroup: 'targetgroup/web/943f017f100becff' };
    assert.ok(data.every((d) => d.namespace === 'AWS/ApplicationELB' && d.timestampMs === 60_000));
    assert.equal(value(data, 'RequestCount', both), 30);
    assert.equal(value(data, 'RequestCount', { LoadBalancer: both.LoadBalancer }), 30);
    assert.equal(value(data, 'RequestCountPerTarget', { TargetGroup: both.TargetGroup }), 10);
    assert.equal(value(data, 'HTTPCode_Target_2XX_Count', both), 28);
    assert.equal(value(data, 'HTTPCode_Target_5XX_Count', both), 2);
  });

  it('publishes zero requests for a group without traffic in the round', () => {
    const data = roundData({ startMs: 60_000, groups: new Map() }, [{ loadBalancerArn: LB, targetGroupArn: TG, healthyTargetCount: 2, registeredTargetCount: 2 }]);
    assert.equal(value(data, 'RequestCountPerTarget', { TargetGroup: 'targetgroup/web/943f017f100becff' }), 0);
    assert.equal(data.some((d) => d.metricName.startsWith('HTTPCode')), false);
  });
});

it('counts healthy and registered targets per group, leaving deregistered ones out', () => {
  const counts = targetCounts([
    { TargetGroupArn: 'a', state: 'healthy' }, { TargetGroupArn: 'a', state: 'unhealthy' },
    { TargetGroupArn: 'a', state: 'draining', deregisteredAt: 10 }, { TargetGroupArn: 'b', state: 'initial' },
  ]);
  assert.deepEqual(Object.fromEntries(counts), { a: { healthyTargetCount: 1, registeredTargetCount: 2 }, b: { healthyTargetCount: 0, registeredTargetCount: 1 } });
});

it('publishes RequestCountPerTarget under exactly the series target tracking\'s ALBRequestCountPerTarget reads', () => {
  const label = 'app/front/50dc6c495c0c9188/targetgroup/web/943f017f100becff';
  const query = trackingQuery({
    PolicyARN: 'arn', PolicyName: 'p', PolicyType: 'TargetTrackingScaling', ServiceNamespace: 'ecs', ResourceId: 'service/prod/web',
    ScalableDimension: 'ecs:service:DesiredCount', CreationTime: 0,
    TargetTrackingScalingPolicyConfiguration: { TargetValue: 100, PredefinedMetricSpecification: { PredefinedMetricType: 'ALBRequestCountPerTarget', ResourceLabel: label } },
  }, 'service/prod/web')!;
  const data = roundData({ startMs: 0, groups: new Map() }, [{ loadBalancerArn: LB, targetGroupArn: TG, healthyTargetCount: 1, registeredTargetCount: 1 }]);
  const wanted = Object.fromEntries(query.Dimensions.map((d) => [d.Name, d.Value]));
  assert.ok(data.some((d) => d.namespace === query.Namespace && d.metricName === query.MetricName && JSON.stringify(d.dimensions) === JSON.stringify(wanted)));
});
