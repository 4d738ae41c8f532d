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
 * above), i.e. the close of the third such period, 2 to 3 periods after the crossing. Wharf's
 * target tracking scales out after one period above the target (server default; see
 * DEFAULT_PLAN_OPTIONS), so its own floor is the close of the first such period, 0 to 2 periods
 * after; what Wharf takes beyond that floor is its own lag (the settle delay after a period closes,
 * the pass, the UpdateService write). Target from the issue: at most 2 periods.
 */
import {
  ApplicationAutoScalingClient, PutScalingPolicyCommand, RegisterScalableTargetCommand,
} from '@aws-sdk/client-application-auto-scaling';
import { CreateClusterCommand, CreateServiceCommand, DescribeServicesCommand, RegisterTaskDefinitionCommand } from '@aws-sdk/client-ecs';
import { AWS_SCALE_OUT_DATAPOINTS, DEFAULT_PLAN_OPTIONS, metricStoreSource } from '../src/controllers/index.js';
import { MetricStore, singleValue } from '../src/metrics/index.js';
import { startInProcessServer, TEST_CREDENTIALS } from '../src/testkit/in-process-server.js';
import { formatRatio, median, printTable, progress, runBenchmark, sleep } from './lib/index.js';

const RUNS = Number(process.env['BENCH_RUNS'] ?? 5);
const PERIOD_MS = Number(process.env['BENCH_PERIOD_MS'] ?? 1000);
const SAMPLES_PER_PERIOD = 4;
const BASELINE_PERIODS = 5;
const TARGET_PERIODS = 2;
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
  /** The earliest instants Wharf's rule and Application Auto Scaling's allow, per run. */
  const floors: number[] = [];
  const awsFloors: number[] = [];
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
    const closeOf = (datapoints: number) => (firstAbove + datapoints * PERIOD_MS - crossedAt) / PERIOD_MS;
    periods.push(reaction);
    floors.push(closeOf(DEFAULT_PLAN_OPTIONS.scaleOutDatapoints));
    awsFloors.push(closeOf(AWS_SCALE_OUT_DATAPOINTS));
    progress(`run ${run}/${RUNS}: desired count moved ${reaction.toFixed(2)} periods after the crossing; `
      + `Wharf's rule allows ${floors.at(-1)!.toFixed(2)}, Application Auto Scaling's ${awsFloors.at(-1)!.toFixed(2)}`);
  }

  const mid = median(periods);
  const lags = periods.map((p, i) => p - floors[i]!);
  const row = (figure: string, values: number[]) => [figure, median(values), Math.min(...values), Math.max(...values)];
  printTable(`Scaling reaction (period ${PERIOD_MS} ms, ${RUNS} runs): periods from the CPU metric crossing 50% to the new desired count`, [
    'figure', 'median', 'min', 'max',
  ], [
    row('Wharf', periods),
    row(`earliest Wharf's rule allows (${DEFAULT_PLAN_OPTIONS.scaleOutDatapoints} datapoint)`, floors),
    row('Wharf beyond its rule (its own lag)', lags),
    row(`earliest Application Auto Scaling's rule allows (${AWS_SCALE_OUT_DATAPOINTS} datapoints, reference)`, awsFloors),
    ['target (issue)', TARGET_PERIODS, TARGET_PERIODS, TARGET_PERIODS],
  ], 2);
  printTable('Ratios', ['ratio', 'value'], [
    ['Wharf / Application Auto Scaling\'s earliest (median)', formatRatio(mid / median(awsFloors))],
    ['Wharf / target (median)', formatRatio(mid / TARGET_PERIODS)],
    ['Wharf / target (worst run)', formatRatio(Math.max(...periods) / TARGET_PERIODS)],
  ]);
});
