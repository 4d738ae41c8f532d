/** What the ECS metrics are computed from: every cluster's instances, tasks and services, read as they are now. */
import type { DomainContext } from './context.js';
import { keys } from './keys.js';
import type { ContainerInstanceRecord, ServiceRecord, TaskRecord } from './records.js';

export interface ClusterContents {
  clusterName: string;
  instances: ContainerInstanceRecord[];
  /** STOPPED ones too, while they are retained. */
  tasks: TaskRecord[];
  services: ServiceRecord[];
}

/** Every ACTIVE cluster with its instances, tasks and ACTIVE or DRAINING services (one prefix scan each). */
export async function clusterContents(ctx: DomainContext): Promise<ClusterContents[]> {
  const clusters = await ctx.store.list<{ clusterName: string; status: string }>(keys.clusters());
  return Promise.all(clusters.filter((c) => c.value.status === 'ACTIVE').map(async ({ value: { clusterName } }) => {
    const [instances, tasks, services] = await Promise.all([
      ctx.store.list<ContainerInstanceRecord>(keys.containerInstancesOf(clusterName)),
      ctx.store.list<TaskRecord>(keys.tasksOf(clusterName)),
      ctx.store.list<ServiceRecord>(keys.servicesOf(clusterName)),
    ]);
    return {
      clusterName,
      instances: instances.map((e) => e.value),
      tasks: tasks.map((e) => e.value),
      services: services.map((e) => e.value).filter((s) => s.status !== 'INACTIVE'),
    };
  }));
}

/** The service a task belongs to: group `service:<name>` set by the service scheduler. */
export function serviceNameOfTask(task: Pick<TaskRecord, 'group'>): string | undefined {
  return task.group?.startsWith('service:') ? task.group.slice('service:'.length) : undefined;
}
