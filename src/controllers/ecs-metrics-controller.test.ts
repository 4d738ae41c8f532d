import { it } from 'node:test';
import assert from 'node:assert/strict';
import { keys, type DomainContext } from '../domain/index.js';
import { MetricStore } from '../metrics/index.js';
import { SqliteStore } from '../store/index.js';
import { TEST_SCOPE } from '../testkit/in-process-server.js';
import { EcsMetricsController } from './ecs-metrics-controller.js';

const I1 = 'arn:aws:ecs:us-east-1:123456789012:container-instance/c/i1';
const T1 = 'arn:aws:ecs:us-east-1:123456789012:task/c/t1';
const ROUND = 20_000;
const cpuOf = (metrics: MetricStore, from: number) => metrics.statistics({
  namespace: 'AWS/ECS', metricName: 'CPUUtilization', dimensions: { ClusterName: 'c', ServiceName: 'web' },
  startTimeMs: from, endTimeMs: from + 3600_000, periodSeconds: 60,
});

it('publishes a round once it has ended plus the grace, drops malformed samples, and the capacity metrics once a minute', async () => {
  const store = new SqliteStore({ path: ':memory:' });
  try {
    let now = Date.UTC(2026, 10, 24, 8, 0, 5);
    const ctx: DomainContext = { store, scope: TEST_SCOPE, nowMs: () => now, principalArn: 'p', log: () => undefined };
    await store.put(keys.cluster('c'), { clusterName: 'c', status: 'ACTIVE' });
    await store.put(keys.containerInstance('c', 'i1'), {
      containerInstanceArn: I1, status: 'ACTIVE', registeredResources: [{ name: 'CPU', integerValue: 2048 }, { name: 'MEMORY', integerValue: 4096 }],
    });
    await store.put(keys.task('c', 't1'), {
      taskArn: T1, containerInstanceArn: I1, group: 'service:web', lastStatus: 'RUNNING', reservation: { cpu: 512, memory: 256, tcpPorts: [], udpPorts: [] },
    });
    await store.put(keys.service('c', 'web'), { serviceName: 'web', status: 'ACTIVE', desiredCount: 1 });
    const metrics = new MetricStore({ nowMs: () => now });
    const controller = new EcsMetricsController({ ctx, metrics, roundMs: ROUND, roundGraceMs: 2_000, passIntervalMs: 5_000, maxBufferedSamples: 10 });
    const roundStart = Date.UTC(2026, 10, 24, 8, 0, 0);
    controller.receive(I1, { samples: [
      { taskArn: T1, timestampMs: roundStart + 1_000, cpuUnits: 256, memoryMiB: 128 },
      { taskArn: T1, timestampMs: roundStart + 3_000, cpuUnits: 512, memoryMiB: 128 },
      { taskArn: T1, timestampMs: roundStart + 2_000, cpuUnits: -1, memoryMiB: 1 },
      { taskArn: 42, timestampMs: roundStart, cpuUnits: 1, memoryMiB: 1 } as never,
      { taskArn: T1, timestampMs: now + 3600_000, cpuUnits: 1, memoryMiB: 1 },
    ] });
    await controller.pass();
    assert.deepEqual(cpuOf(metrics, roundStart), [], 'the round has not ended');
    assert.equal(metrics.listMetrics({ namespace: 'ECS/ContainerInsights', metricName: 'RunningTaskCount' }).length, 2, 'capacity at the first pass of a minute');
    now = roundStart + ROUND + 2_000;
    await controller.pass();
    // Two samples of one task in one round are averaged: 384 of 512 units.
    assert.deepEqual(cpuOf(metrics, roundStart).map((p) => [p.timestampMs - roundStart, p.sampleCount, p.average]), [[0, 1, 75]]);
    await controller.pass();
    assert.equal(cpuOf(metrics, roundStart)[0]?.sampleCount, 1, 'a round is published once');
    const running = () => metrics.statistics({
      namespace: 'ECS/ContainerInsights', metricName: 'RunningTaskCount', dimensions: { ClusterName: 'c' }, startTimeMs: roundStart, endTimeMs: roundStart + 3600_000, periodSeconds: 3600,
    })[0]?.sampleCount;
    assert.equal(running(), 1, 'capacity metrics once a minute');
    now = roundStart + 60_000;
    await controller.pass();
    assert.equal(running(), 2);
  } finally {
    await store.close();
  }
});
