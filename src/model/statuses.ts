/**
 * Status orders. Task and container statuses only move forward (ECS order); a report that would
 * move one backwards is refused, not applied, so a late or repeated message can do no harm.
 */
export const TASK_STATUS_ORDER = [
  'PROVISIONING', 'PENDING', 'ACTIVATING', 'RUNNING', 'DEACTIVATING', 'STOPPING', 'DEPROVISIONING', 'STOPPED',
] as const;
export type TaskStatus = (typeof TASK_STATUS_ORDER)[number];

export const CONTAINER_STATUS_ORDER = ['PENDING', 'RUNNING', 'STOPPED'] as const;
export type ContainerStatus = (typeof CONTAINER_STATUS_ORDER)[number];

export type DesiredStatus = 'RUNNING' | 'STOPPED';
export type HealthStatus = 'HEALTHY' | 'UNHEALTHY' | 'UNKNOWN';

export type TaskStopCode =
  | 'TaskFailedToStart' | 'EssentialContainerExited' | 'UserInitiated' | 'ServiceSchedulerInitiated'
  | 'SpotInterruption' | 'TerminationNotice';

/** True when moving from `from` to `to` keeps the order (equal counts as allowed, a no-op). */
export function isForward<S extends string>(order: readonly S[], from: S, to: S): boolean {
  return order.indexOf(to) >= order.indexOf(from);
}

export const isTaskStatus = (s: unknown): s is TaskStatus =>
  typeof s === 'string' && (TASK_STATUS_ORDER as readonly string[]).includes(s);
export const isContainerStatus = (s: unknown): s is ContainerStatus =>
  typeof s === 'string' && (CONTAINER_STATUS_ORDER as readonly string[]).includes(s);
