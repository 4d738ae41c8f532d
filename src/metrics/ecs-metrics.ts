/**
 * The ECS metrics with ECS's definitions, computed from a snapshot of the clusters (pure: no
 * clock, no I/O). Utilization comes from sampled task usage; reservation and task counts from the
 * state store alone.
 *
 * - Service CPUUtilization / MemoryUtilization: Average = total used by the service's tasks x 100
 *   / total reserved by their task definitions; Minimum / Maximum = the least / most utilized task;
 *   SampleCount = the tasks sampled. One datum per sampling round.
 * - Cluster CPUUtilization / MemoryUtilization: used by every task over what the ACTIVE and
 *   DRAINING instances registered.
 * - Cluster CPUReservation / MemoryReservation: reserved by tasks that hold resources (not
 *   STOPPED) over registered, same instances.
 * - RunningTaskCount, PendingTaskCount (cluster and service), DesiredTaskCount (service), in
 *   ECS/ContainerInsights where Container Insights puts them.
 */
import { singleValue as single } from './metric-store.js';
import type { MetricDatum, StatisticSet } from './metric-store.js';
import { CONTAINER_INSIGHTS_NAMESPACE, ECS_DIMENSION, ECS_METRIC, ECS_NAMESPACE } from './ecs-metric-names.js';
import type { TaskUsageSample } from '../model/index.js';

export interface MetricsTask {
  taskArn: string;
  containerInstanceArn: string;
  /** Set for a service's task. */
  serviceName?: string;
  lastStatus: string;
  /** CPU units and MiB the task reserves (its definition's task-level size, else the sum of its containers). */
  reservedCpu: number;
  reservedMemoryMiB: number;
}

export interface MetricsInstance {
  containerInstanceArn: string;
  status: string;
  registeredCpu: number;
  registeredMemoryMiB: number;
}

export interface MetricsCluster {
  clusterName: string;
  instances: MetricsInstance[];
  tasks: MetricsTask[];
  services: { serviceName: string; desiredCount: number }[];
}

/** A usage sample with the instance whose agent sent it. */
export interface ReceivedSample extends TaskUsageSample {
  containerInstanceArn: string;
}

const percent = (part: number, whole: number) => (part * 100) / whole;

/** Instances whose resources count as registered (ECS: ACTIVE and DRAINING). */
function countedInstances(c: MetricsCluster): MetricsInstance[] {
  return c.instances.filter((i) => i.status === 'ACTIVE' || i.status === 'DRAINING');
}

function dims(clusterName: string, serviceName?: string): Record<string, string> {
  return serviceName === undefined
    ? { [ECS_DIMENSION.clusterName]: clusterName }
    : { [ECS_DIMENSION.clusterName]: clusterName, [ECS_DIMENSION.serviceName]: serviceName };
}

/**
 * Utilization data for one sampling round: `samples` is what arrived for the round starting at
 * `timestampMs` (at most one per task; samples from an agent that does not hold the task, or of a
 * task the snapshot does not know, are ignored).
 */
export function utilizationData(cluster: MetricsCluster, samples: readonly ReceivedSample[], timestampMs: number): MetricDatum[] {
  const tasks = new Map(cluster.tasks.map((t) => [t.taskArn, t]));
  const byService = new Map<string, { task: MetricsTask; s: ReceivedSample }[]>();
  let usedCpu = 0;
  let usedMemory = 0;
  let any = false;
  for (const s of samples) {
    const task = tasks.get(s.taskArn);
    if (task === undefined || task.containerInstanceArn !== s.containerInstanceArn) continue;
    any = true;
    usedCpu += s.cpuUnits;
    usedMemory += s.memoryMiB;
    if (task.serviceName !== undefined) byService.set(task.serviceName, [...(byService.get(task.serviceName) ?? []), { task, s }]);
  }
  const out: MetricDatum[] = [];
  const datum = (metricName: string, dimensions: Record<string, string>, values: StatisticSet): MetricDatum =>
    ({ namespace: ECS_NAMESPACE, metricName, dimensions, timestampMs, values, unit: 'Percent' });
  for (const [serviceName, entries] of byService) {
    for (const [metricName, used, reserved] of [
      [ECS_METRIC.cpuUtilization, (e: { s: ReceivedSample }) => e.s.cpuUnits, (e: { task: MetricsTask }) => e.task.reservedCpu],
      [ECS_METRIC.memoryUtilization, (e: { s: ReceivedSample }) => e.s.memoryMiB, (e: { task: MetricsTask }) => e.task.reservedMemoryMiB],
    ] as const) {
      // A task that reserves nothing has no utilization (nothing to divide by); ECS reports none either.
      const sized = entries.filter((e) => reserved(e) > 0);
      if (sized.length === 0) continue;
      const perTask = sized.map((e) => percent(used(e), reserved(e)));
      const average = percent(sized.reduce((a, e) => a + used(e), 0), sized.reduce((a, e) => a + reserved(e), 0));
      out.push(datum(metricName, dims(cluster.clusterName, serviceName), {
        sampleCount: sized.length, sum: average * sized.length, minimum: Math.min(...perTask), maximum: Math.max(...perTask),
      }));
    }
  }
  const instances = countedInstances(cluster);
  const registeredCpu = instances.reduce((a, i) => a + i.registeredCpu, 0);
  const registeredMemory = instances.reduce((a, i) => a + i.registeredMemoryMiB, 0);
  if (any && registeredCpu > 0) out.push(datum(ECS_METRIC.cpuUtilization, dims(cluster.clusterName), single(percent(usedCpu, registeredCpu))));
  if (any && registeredMemory > 0) out.push(datum(ECS_METRIC.memoryUtilization, dims(cluster.clusterName), single(percent(usedMemory, registeredMemory))));
  return out;
}

/** Reservation and task-count data of the cluster as the snapshot has it at `timestampMs`. */
export function capacityData(cluster: MetricsCluster, timestampMs: number): MetricDatum[] {
  const out: MetricDatum[] = [];
  const instances = countedInstances(cluster);
  const registeredCpu = instances.reduce((a, i) => a + i.registeredCpu, 0);
  const registeredMemory = instances.reduce((a, i) => a + i.registeredMemoryMiB, 0);
  const holding = cluster.tasks.filter((t) => t.lastStatus !== 'STOPPED');
  const reservation = (metricName: string, reserved: number, registered: number) => {
    if (registered > 0) {
      out.push({ namespace: ECS_NAMESPACE, metricName, dimensions: dims(cluster.clusterName), timestampMs, values: single(percent(reserved, registered)), unit: 'Percent' });
    }
  };
  reservation(ECS_METRIC.cpuReservation, holding.reduce((a, t) => a + t.reservedCpu, 0), registeredCpu);
  reservation(ECS_METRIC.memoryReservation, holding.reduce((a, t) => a + t.reservedMemoryMiB, 0), registeredMemory);
  const count = (metricName: string, serviceName: string | undefined, n: number) =>
    out.push({ namespace: CONTAINER_INSIGHTS_NAMESPACE, metricName, dimensions: dims(cluster.clusterName, serviceName), timestampMs, values: single(n), unit: 'Count' });
  const running = (t: MetricsTask) => t.lastStatus === 'RUNNING';
  const pending = (t: MetricsTask) => ['PROVISIONING', 'PENDING', 'ACTIVATING'].includes(t.lastStatus);
  count(ECS_METRIC.runningTaskCount, undefined, cluster.tasks.filter(running).length);
  count(ECS_METRIC.pendingTaskCount, undefined, cluster.tasks.filter(pending).length);
  for (const service of cluster.services) {
    const own = cluster.tasks.filter((t) => t.serviceName === service.serviceName);
    count(ECS_METRIC.runningTaskCount, service.serviceName, own.filter(running).length);
    count(ECS_METRIC.pendingTaskCount, service.serviceName, own.filter(pending).length);
    count(ECS_METRIC.desiredTaskCount, service.serviceName, service.desiredCount);
  }
  return out;
}
