/**
 * Container instances as the cluster query language and placement see them: facts (attributes,
 * agent, running tasks, task groups) and remaining capacity, from one scan of the cluster's tasks.
 */
import type { InstanceFacts, PlacementInstance } from '../scheduler/index.js';
import type { DomainContext } from './context.js';
import { keys } from './keys.js';
import type { ContainerInstanceRecord, TaskRecord } from './records.js';
import { placementInstanceOf } from './resources.js';

/**
 * What the cluster query language can ask of each instance of a cluster, with the running-task
 * counts and task groups read from one scan of the cluster's tasks.
 */
export async function instanceFactsOf(ctx: DomainContext, clusterName: string): Promise<(i: ContainerInstanceRecord) => InstanceFacts> {
  const byInstance = await liveTasksByInstance(ctx, clusterName);
  return (i) => factsOf(i, byInstance.get(i.containerInstanceArn) ?? []);
}

/** Each instance of a cluster as placement sees it, from one scan of the cluster's tasks. */
export async function placementViewOf(ctx: DomainContext, clusterName: string): Promise<(i: ContainerInstanceRecord) => PlacementInstance> {
  const byInstance = await liveTasksByInstance(ctx, clusterName);
  return (i) => {
    const tasks = byInstance.get(i.containerInstanceArn) ?? [];
    const tasksByGroup = new Map<string, number>();
    for (const t of tasks) if (t.group) tasksByGroup.set(t.group, (tasksByGroup.get(t.group) ?? 0) + 1);
    return placementInstanceOf(i, factsOf(i, tasks), tasksByGroup);
  };
}

async function liveTasksByInstance(ctx: DomainContext, clusterName: string): Promise<Map<string, TaskRecord[]>> {
  const byInstance = new Map<string, TaskRecord[]>();
  for (const e of await ctx.store.list<TaskRecord>(keys.tasksOf(clusterName))) {
    if (e.value.lastStatus === 'STOPPED') continue;
    const list = byInstance.get(e.value.containerInstanceArn) ?? [];
    list.push(e.value);
    byInstance.set(e.value.containerInstanceArn, list);
  }
  return byInstance;
}

function factsOf(i: ContainerInstanceRecord, tasks: readonly TaskRecord[]): InstanceFacts {
  return {
    attributes: new Map((i.attributes ?? []).map((a) => [a.name!, a.value])),
    agentConnected: i.agentConnected,
    ...(i.versionInfo?.agentVersion !== undefined ? { agentVersion: i.versionInfo.agentVersion } : {}),
    ec2InstanceId: i.ec2InstanceId,
    ...(i.registeredAt !== undefined ? { registeredAtMs: i.registeredAt * 1000 } : {}),
    runningTasksCount: tasks.filter((t) => t.lastStatus === 'RUNNING').length,
    taskGroups: new Set(tasks.flatMap((t) => (t.group ? [t.group] : []))),
  };
}
