import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { capacityData, utilizationData, type MetricsCluster } from './ecs-metrics.js';

const I1 = 'arn:aws:ecs:us-east-1:1:container-instance/c/i1';
const I2 = 'arn:aws:ecs:us-east-1:1:container-instance/c/i2';
const cluster: MetricsCluster = {
  clusterName: 'c',
  instances: [
    { containerInstanceArn: I1, status: 'ACTIVE', registeredCpu: 2048, registeredMemoryMiB: 4096 },
    { containerInstanceArn: I2, status: 'DRAINING', registeredCpu: 2048, registeredMemoryMiB: 4096 },
    { containerInstanceArn: 'gone', status: 'INACTIVE', registeredCpu: 9999, registeredMemoryMiB: 9999 },
  ],
  tasks: [
    { taskArn: 'a', containerInstanceArn: I1, serviceName: 'web', lastStatus: 'RUNNING', reservedCpu: 256, reservedMemoryMiB: 512 },
    { taskArn: 'b', containerInstanceArn: I2, serviceName: 'web', lastStatus: 'RUNNING', reservedCpu: 768, reservedMemoryMiB: 512 },
    { taskArn: 'c', containerInstanceArn: I1, lastStatus: 'PENDING', reservedCpu: 1024, reservedMemoryMiB: 1024 },
    { taskArn: 'd', containerInstanceArn: I1, serviceName: 'web', lastStatus: 'STOPPED', reservedCpu: 512, reservedMemoryMiB: 512 },
  ],
  services: [{ serviceName: 'web', desiredCount: 3 }],
};
const T = 1_700_000_000_000;
const pick = (data: ReturnType<typeof utilizationData>, metric: string, service?: string) =>
  data.find((d) => d.metricName === metric && d.dimensions['ServiceName'] === service);

describe('ECS metrics', () => {
  it('service utilization: average is total used over total reserved, min and max per task', () => {
    const data = utilizationData(cluster, [
      { taskArn: 'a', containerInstanceArn: I1, timestampMs: T, cpuUnits: 256, memoryMiB: 128 },
      { taskArn: 'b', containerInstanceArn: I2, timestampMs: T, cpuUnits: 0, memoryMiB: 256 },
    ], T);
    const cpu = pick(data, 'CPUUtilization', 'web')!;
    assert.deepEqual(cpu.dimensions, { ClusterName: 'c', ServiceName: 'web' });
    assert.equal(cpu.namespace, 'AWS/ECS');
    assert.equal(cpu.unit, 'Percent');
    // 256 used of 1024 reserved = 25 %, not the mean of 100 % and 0 %.
    assert.deepEqual(cpu.values, { sampleCount: 2, sum: 50, minimum: 0, maximum: 100 });
    assert.deepEqual(pick(data, 'MemoryUtilization', 'web')!.values, { sampleCount: 2, sum: 75, minimum: 25, maximum: 50 });
    // Cluster level: used over registered by ACTIVE and DRAINING instances (4096 CPU units, 8192 MiB).
    assert.equal(pick(data, 'CPUUtilization')!.values.sum, 6.25);
    assert.equal(pick(data, 'MemoryUtilization')!.values.sum, 4.6875);
  });

  it('ignores samples from an agent that does not hold the task, and of unknown tasks', () => {
    const data = utilizationData(cluster, [
      { taskArn: 'a', containerInstanceArn: I2, timestampMs: T, cpuUnits: 256, memoryMiB: 128 },
      { taskArn: 'zz', containerInstanceArn: I1, timestampMs: T, cpuUnits: 256, memoryMiB: 128 },
    ], T);
    assert.deepEqual(data, []);
  });

  it('leaves out utilization of a service whose tasks reserve nothing', () => {
    const unsized: MetricsCluster = { ...cluster, tasks: [{ ...cluster.tasks[0]!, reservedCpu: 0 }] };
    const data = utilizationData(unsized, [{ taskArn: 'a', containerInstanceArn: I1, timestampMs: T, cpuUnits: 100, memoryMiB: 128 }], T);
    assert.equal(pick(data, 'CPUUtilization', 'web'), undefined);
    assert.ok(pick(data, 'MemoryUtilization', 'web'));
  });

  it('reservation counts tasks not STOPPED over ACTIVE and DRAINING instances; task counts in ContainerInsights', () => {
    const data = capacityData(cluster, T);
    const get = (metric: string, service?: string) => pick(data, metric, service)?.values.sum;
    assert.equal(get('CPUReservation'), 50); // (256 + 768 + 1024) / 4096
    assert.equal(get('MemoryReservation'), 25); // 2048 / 8192
    assert.equal(get('RunningTaskCount'), 2);
    assert.equal(get('PendingTaskCount'), 1);
    assert.equal(get('RunningTaskCount', 'web'), 2);
    assert.equal(get('PendingTaskCount', 'web'), 0);
    assert.equal(get('DesiredTaskCount', 'web'), 3);
    assert.equal(pick(data, 'RunningTaskCount')!.namespace, 'ECS/ContainerInsights');
    assert.equal(pick(data, 'RunningTaskCount')!.unit, 'Count');
  });
});
