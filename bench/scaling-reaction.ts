/**
 * Scaling reaction: how many sampling periods pass from a service's CPU metric crossing its target
 * tracking target to the service's new desired count.
 *
 *   node dist/bench/scaling-reaction.js       (BENCH_RUNS=5, BENCH_PERIOD_MS=1000 to change them)
 *
 * An in-process Wharf server (no Docker: only the desired count is watched) whose autoscaling
 * controller reads the server's kind of metric store, at a resolution of one period, and reads a
 * closed period after the same share of a period as the server's default (7.5 s of 60 s). Each run: a
 * fresh service at desiredCount 1, a scalable target 1-10, a target tracking policy on
 * ECSServiceAverageCPUUtilization at 50% with ScaleOutCooldown 0. The bench publishes the
 * service's CPUUtilization four times per period, as the ECS metrics controller publishes agents'
 * samples: 30% for five periods, then, at a random point of a period, 90% (the crossing). It polls
 * DescribeServices every 10 ms until the desired count moves, and prints the time in periods.
 *
 * Reference, computed in the same run from the same metric store: the earliest instant
 * Application Auto Scaling's rule allows (AlarmHigh goes to ALARM once 3 consecutive period
 * datapoints are above the target; the crossing's own period counts when its average is already
 * above), i.e. the close of the third such period. It lies between 2 and 3 periods after the
 * crossing; what Wharf takes beyond it is its own lag (the settle delay after a period closes, the
 * pass, the UpdateService write). Target from the issue: at most 2 periods, which the 3-datapoint
 * rule allows only for a crossing right at the start of a period; printed as measured.
 */
import {
  ApplicationAutoScalingClient, PutScalingPolicyCommand, RegisterScalableTargetCommand,
} from '@aws-sdk/client-application-auto-scaling';
import { CreateClusterCommand, CreateServiceCommand, DescribeServicesCommand, RegisterTaskDefinitionCommand } from '@aws-sdk/client-ecs';
import { metricStoreSource } from '../src/controllers/index.js';
import { MetricStore, singleValue } from '../src/metrics/index.js';
import { startInProcessServer, TEST_CREDENTIALS } from '../src/testkit/in-process-server.js';
import { formatRatio, median, printTable, progress, runBenchmark, sleep } from './lib/index.js';

const RUNS = Number(process.env['BENCH_RUNS'] ?? 5);
const PERIOD_MS = Number(process.env['BENCH_PERIOD_MS'] ?? 1000);
const SAMPLES_PER_PERIOD = 4;
const BASELINE_PERIODS = 5;
const TARGET_PERIODS = 2;
/** Application Auto Scaling's AlarmHigh: 3 datapoints above the target. */
const RULE_DATAPOINTS = 3;
const CLUSTER = 'bench-scaling';
/**
 * The server reads a closed period once its ECS metrics are published: 7.5 s after a 60 s period
 * closes by default (round grace 2 s + metrics pass 5 s + 0.5 s). The bench publishes its samples
 * itself and keeps that share of a period.
 */
const SETTLE_SHARE = 7.5 / 60;

runBenchmark('scaling-reaction', async (defer) => {
  const metrics = new MetricStore({ tiers: [{ resolutionSeconds: PERIOD_MS / 1000, retentionSeconds: 3600 }] });
  const s = await startInProcessServer({
    autoscalingPeriodMs: PERIOD_MS, autoscalingSettleMs: SETTLE_SHARE * PERIOD_MS, metricSource: metricStoreSource(metrics),
  });
  defer(() => s.close());
  const aas = new ApplicationAutoScalingClient({ endpoint: s.url, region: 'us-east-1', credentials: TEST_CREDENTIALS, maxAttempts: 1 });
  defer(() => aas.destroy());
  await s.ecs.send(new CreateClusterCommand({ clusterName: CLUSTER }));
  await s.ecs.send(new RegisterTaskDefinitionCommand({ family: 'burn', containerDefinitions: [{ name: 'app', image: 'wharf-test/busybox', memory: 32, cpu: 128 }] }));

  const periods: number[] = [];
  const floors: number[] = [];
  for (let run = 1; run <= RUNS; run++) {
    const serviceName = `burn-${run}`;
    const resourceId = `service/${CLUSTER}/${serviceName}`;
    await s.ecs.send(new CreateServiceCommand({ cluster: CLUSTER, serviceName, taskDefinition: 'burn', desiredCount: 1 }));
    await aas.send(new RegisterScalableTargetCommand({
      ServiceNamespace: 'ecs', ScalableDimension: 'ecs:service:DesiredCount', ResourceId: resourceId, MinCapacity: 1, MaxCapacity: 10,
    }));
    await aas.send(new PutScalingPolicyCommand({
      ServiceNamespace: 'ecs', ScalableDimension: 'ecs:service:DesiredCount', ResourceId: resourceId, PolicyName: 'cpu50',
      PolicyType: 'TargetTrackingScaling',
      TargetTrackingScalingPolicyConfiguration: {
        TargetValue: 50, ScaleOutCooldown: 0, PredefinedMetricSpecification: { PredefinedMetricType: 'ECSServiceAverageCPUUtilization' },
      },
    }));
    let cpu = 30;
    const publish = setInterval(() => {
      metrics.put({
        namespace: 'AWS/ECS', metricName: 'CPUUtilization', dimensions: { ClusterName: CLUSTER, ServiceName: serviceName },
        timestampMs: Date.now(), values: singleValue(cpu),
      });
    }, PERIOD_MS / SAMPLES_PER_PERIOD);
    defer(() => clearInterval(publish));
    await sleep(BASELINE_PERIODS * PERIOD_MS + Math.random() * PERIOD_MS);
    cpu = 90;
    const crossedAt = Date.now();
    for (;;) {
      const out = await s.ecs.send(new DescribeServicesCommand({ cluster: CLUSTER, services: [serviceName] }));
      if (out.services?.[0]?.desiredCount !== 1) break;
      if (Date.now() - crossedAt > 20 * PERIOD_MS) throw new Error(`${serviceName}: no scale-out 20 periods after the crossing`);
      await sleep(10);
    }
    clearInterval(publish);
    const reaction = (Date.now() - crossedAt) / PERIOD_MS;
    const crossingPeriod = Math.floor(crossedAt / PERIOD_MS) * PERIOD_MS;
    const [crossingPoint] = metrics.statistics({
      namespace: 'AWS/ECS', metricName: 'CPUUtilization', dimensions: { ClusterName: CLUSTER, ServiceName: serviceName },
      startTimeMs: crossingPeriod, endTimeMs: crossingPeriod + PERIOD_MS, periodSeconds: PERIOD_MS / 1000,
    });
    const firstAbove = crossingPoint !== undefined && crossingPoint.average > 50 ? crossingPeriod : crossingPeriod + PERIOD_MS;
    const floor = (firstAbove + RULE_DATAPOINTS * PERIOD_MS - crossedAt) / PERIOD_MS;
    periods.push(reaction);
    floors.push(floor);
    progress(`run ${run}/${RUNS}: desired count moved ${reaction.toFixed(2)} periods after the crossing; the rule allows ${floor.toFixed(2)}`);
  }

  const mid = median(periods);
  const floorMid = median(floors);
  const lags = periods.map((p, i) => p - floors[i]!);
  printTable(`Scaling reaction (period ${PERIOD_MS} ms, ${RUNS} runs): periods from the CPU metric crossing 50% to the new desired count`, [
    'figure', 'median', 'min', 'max',
  ], [
    ['Wharf', mid, Math.min(...periods), Math.max(...periods)],
    ['earliest the 3-datapoint rule allows (same runs)', floorMid, Math.min(...floors), Math.max(...floors)],
    ['Wharf beyond the rule (its own lag)', median(lags), Math.min(...lags), Math.max(...lags)],
    ['target (issue)', TARGET_PERIODS, TARGET_PERIODS, TARGET_PERIODS],
  ], 2);
  printTable('Ratios', ['ratio', 'value'], [
    ['Wharf / rule (median)', formatRatio(mid / floorMid)],
    ['Wharf / target (median)', formatRatio(mid / TARGET_PERIODS)],
  ]);
});
