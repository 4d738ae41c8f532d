/**
 * Where ECS users look for Wharf's own metrics: the namespaces, metric names and dimension names
 * that Amazon ECS (and Container Insights) publish to CloudWatch.
 */

/** ECS service and cluster metrics; dimensions {ClusterName} or {ClusterName, ServiceName}. */
export const ECS_NAMESPACE = 'AWS/ECS';
/** Container Insights; Wharf publishes RunningTaskCount here too, as ECS only does with Insights on. */
export const CONTAINER_INSIGHTS_NAMESPACE = 'ECS/ContainerInsights';

export const ECS_METRIC = {
  /** Percent: CPU units used by the tasks over the units their definitions reserve (service), or by the cluster's tasks. */
  cpuUtilization: 'CPUUtilization',
  /** Percent: memory used over memory reserved, as CPUUtilization. */
  memoryUtilization: 'MemoryUtilization',
  /** Percent (cluster only): CPU units reserved by tasks over units registered by ACTIVE and DRAINING instances. */
  cpuReservation: 'CPUReservation',
  /** Percent (cluster only): memory reserved by tasks over memory registered by ACTIVE and DRAINING instances. */
  memoryReservation: 'MemoryReservation',
  /** Count of RUNNING tasks (Container Insights' name and namespace). */
  runningTaskCount: 'RunningTaskCount',
  /** Count of tasks not yet RUNNING (PROVISIONING, PENDING, ACTIVATING); Container Insights. */
  pendingTaskCount: 'PendingTaskCount',
  /** A service's desiredCount; Container Insights. */
  desiredTaskCount: 'DesiredTaskCount',
} as const;

export const ECS_DIMENSION = { clusterName: 'ClusterName', serviceName: 'ServiceName' } as const;
