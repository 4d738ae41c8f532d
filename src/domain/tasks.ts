/**
 * Tasks: RunTask, StartTask, StopTask, DescribeTasks, ListTasks, and the agent's side of a task's
 * life (the manifest it runs from and the state reports it sends back).
 *
 * Writers: the API writes desired state (desiredStatus, stop reason); the agent that owns the task
 * writes observed state (lastStatus, containers, health), forward-only. Resources a task reserves
 * on its instance are taken when it is placed and given back exactly once, when it is STOPPED.
 */
import type { ContainerOverride, RunTaskRequest, StartTaskRequest, Task, TaskOverride } from '@aws-sdk/client-ecs';
import {
  ClientException, ConflictError, InvalidParameterException, type AgentContainer, type AgentTask,
  type TaskStateReport, CONTAINER_STATUS_ORDER, TASK_STATUS_ORDER, containerArn, isForward, newResourceId, newUuid,
  parseArn, resourceIdOf, taskArn,
} from '../model/index.js';
import {
  defaultPlacementStrategy, place, take, validatePlacement, type Placement, type PlacementConstraint, type PlacementFailure,
  type PlacementInstance, type PlacementOutcome, type PlacementRequest, type PlacementStrategy, type TaskDemand,
} from '../scheduler/index.js';
import { requireActiveCluster, type ClusterRecord } from './clusters.js';
import type { DomainContext, Wire } from './context.js';
import { keys } from './keys.js';
import { pageThrough } from './pagination.js';
import { serviceNameOfTask } from './metrics-view.js';
import type { ContainerInstanceRecord, Reservation, TaskDefinitionRecord, TaskRecord } from './records.js';
import { applyReservation, reservationFor, reservationOf } from './resources.js';
import { placementViewOf } from './instance-view.js';
import { resolveTaskDefinition } from './task-definitions.js';
import { validateTags } from './tags.js';
import type { Entry, TxnOp } from '../store/index.js';

const CAS_ATTEMPTS = 10;
const MAX_RUN_COUNT = 10;

export type Failure = { arn: string; reason: string; detail?: string };
type LaunchInput = Pick<RunTaskRequest, 'taskDefinition' | 'overrides' | 'group' | 'startedBy' | 'tags' | 'launchType' | 'enableExecuteCommand'>;

/**
 * RunTask: places `count` tasks with the request's placement strategy (random by default) and the
 * task definition's and the request's constraints, then records them.
 */
export async function runTask(ctx: DomainContext, input: RunTaskRequest, rng: () => number = Math.random) {
  const cluster = await requireActiveCluster(ctx, input.cluster);
  const count = input.count ?? 1;
  if (!Number.isInteger(count) || count < 1 || count > MAX_RUN_COUNT) {
    throw new InvalidParameterException(`count must be between 1 and ${MAX_RUN_COUNT}.`);
  }
  const tokenKey = input.clientToken ? keys.runTaskToken(cluster.value.clusterName, input.clientToken) : undefined;
  if (tokenKey) {
    const earlier = await ctx.store.get<{ taskArns: string[]; failures: Failure[] }>(tokenKey);
    // The same clientToken answers the same tasks instead of launching more (idempotent retry).
    if (earlier) return { ...(await describeTasks(ctx, { cluster: input.cluster, tasks: earlier.value.taskArns })), failures: earlier.value.failures };
  }
  const launch = await prepareLaunch(ctx, input);
  const request = placementRequest(launch, input.placementStrategy ?? defaultPlacementStrategy('RunTask'), input.placementConstraints ?? []);
  for (let attempt = 0; ; attempt++) {
    const instances = (await ctx.store.list<ContainerInstanceRecord>(keys.containerInstancesOf(cluster.value.clusterName)))
      .filter((e) => e.value.status !== 'INACTIVE');
    if (instances.length === 0) throw new InvalidParameterException('No Container Instances were found in your cluster.');
    const view = await placementViewOf(ctx, cluster.value.clusterName);
    const result = place(instances.map((e) => view(e.value)), request, count, rng);
    try {
      const tasks = await commitLaunch(ctx, cluster.value, launch, instances, result.placements, tokenKey, result.failures);
      return { tasks: tasks.map((t) => presentTask(t, false)), failures: result.failures };
    } catch (err) {
      if (!(err instanceof ConflictError) || attempt + 1 >= CAS_ATTEMPTS) throw err;
    }
  }
}

/** StartTask: starts one task on each named container instance, if it fits there (no placement rules, as ECS). */
export async function startTask(ctx: DomainContext, input: StartTaskRequest) {
  const cluster = await requireActiveCluster(ctx, input.cluster);
  const refs = input.containerInstances ?? [];
  if (refs.length === 0 || refs.length > 10) throw new InvalidParameterException('containerInstances must name 1 to 10 container instances.');
  const launch = await prepareLaunch(ctx, input);
  const request = placementRequest(launch, [], []);
  for (let attempt = 0; ; attempt++) {
    const failures: Failure[] = [];
    const instances: Entry<ContainerInstanceRecord>[] = [];
    const placements: Placement[] = [];
    const pool = new Map<string, PlacementInstance>();
    const view = await placementViewOf(ctx, cluster.value.clusterName);
    for (const ref of refs) {
      const id = resourceIdOf(ref, 'container-instance');
      const entry = id ? await ctx.store.get<ContainerInstanceRecord>(keys.containerInstance(cluster.value.clusterName, id)) : undefined;
      if (!entry) { failures.push({ arn: ref, reason: 'MISSING' }); continue; }
      if (!instances.some((i) => i.key === entry.key)) instances.push(entry);
      const instance = pool.get(entry.key) ?? view(entry.value);
      const result = place([instance], request, 1, Math.random);
      const placed = result.placements[0];
      if (!placed) { failures.push(...result.failures); continue; }
      pool.set(entry.key, { ...instance, ...take(instance, launch.demand, placed) });
      placements.push(placed);
    }
    try {
      const tasks = await commitLaunch(ctx, cluster.value, launch, instances, placements, undefined, failures);
      return { tasks: tasks.map((t) => presentTask(t, false)), failures };
    } catch (err) {
      if (!(err instanceof ConflictError) || attempt + 1 >= CAS_ATTEMPTS) throw err;
    }
  }
}

/**
 * Places and records up to `count` tasks of a service deployment: group `service:<name>`,
 * startedBy the deployment id, as ECS tags service tasks. `instanceArns` places one task on each
 * of those instances instead (a DAEMON service's targets). Answers the tasks placed and, when
 * fewer than asked could be placed, why each instance refused.
 */
export async function launchServiceTasks(
  ctx: DomainContext,
  input: {
    clusterName: string; serviceName: string; deploymentId: string; taskDefinition: string; count: number; instanceArns?: readonly string[];
    placementStrategy: readonly PlacementStrategy[]; placementConstraints: readonly PlacementConstraint[];
  },
  rng: () => number = Math.random,
): Promise<{ tasks: TaskRecord[]; failures: PlacementFailure[] }> {
  const cluster = await requireActiveCluster(ctx, input.clusterName);
  const launch = await prepareLaunch(ctx, { taskDefinition: input.taskDefinition, group: `service:${input.serviceName}`, startedBy: input.deploymentId });
  launch.serviceName = input.serviceName;
  const request = placementRequest(launch, input.instanceArns ? [] : input.placementStrategy, input.placementConstraints);
  for (let attempt = 0; ; attempt++) {
    const instances = (await ctx.store.list<ContainerInstanceRecord>(keys.containerInstancesOf(cluster.value.clusterName)))
      .filter((e) => e.value.status !== 'INACTIVE');
    const view = await placementViewOf(ctx, cluster.value.clusterName);
    let result: PlacementOutcome;
    if (input.instanceArns) {
      // DAEMON: each target on its own, so one that cannot take the task does not stop the others.
      result = { placements: [], failures: [] };
      for (const arn of input.instanceArns) {
        const entry = instances.find((e) => e.value.containerInstanceArn === arn);
        if (!entry) continue;
        const one = place([view(entry.value)], request, 1, rng);
        result.placements.push(...one.placements);
        result.failures.push(...one.failures);
      }
    } else {
      result = place(instances.map((e) => view(e.value)), request, input.count, rng);
    }
    try {
      return { tasks: await commitLaunch(ctx, cluster.value, launch, instances, result.placements, undefined, result.failures), failures: result.failures };
    } catch (err) {
      if (!(err instanceof ConflictError) || attempt + 1 >= CAS_ATTEMPTS) throw err;
    }
  }
}

/**
 * What placement needs of a launch. The task definition's constraints join the request's; both
 * are validated here, before anything is written.
 */
function placementRequest(launch: Launch, strategy: readonly PlacementStrategy[], constraints: readonly PlacementConstraint[]): PlacementRequest {
  const all = [...(launch.definition.placementConstraints ?? []), ...constraints];
  validatePlacement(strategy, all);
  return { demand: launch.demand, group: launch.group, strategy, constraints: all };
}

interface Launch {
  definition: TaskDefinitionRecord;
  overrides: Wire<TaskOverride>;
  demand: TaskDemand;
  group: string;
  /** Set when a service launches the task: the task joins the service's task index. */
  serviceName?: string;
  startedBy?: string;
  tags: Wire<Task>['tags'];
  enableExecuteCommand: boolean;
}

async function prepareLaunch(ctx: DomainContext, input: LaunchInput): Promise<Launch> {
  if (input.launchType && input.launchType !== 'EC2' && input.launchType !== 'EXTERNAL') {
    throw new InvalidParameterException(`launchType ${input.launchType} is not supported: Wharf runs tasks on registered container instances (EC2 or EXTERNAL).`);
  }
  validateTags(input.tags);
  const definition = await resolveTaskDefinition(ctx, input.taskDefinition!);
  if (definition.status !== 'ACTIVE') throw new ClientException('TaskDefinition is inactive');
  if (definition.networkMode === 'awsvpc') {
    throw new InvalidParameterException('networkMode awsvpc is not supported by Wharf yet; use bridge or host.');
  }
  const byName = new Map((definition.containerDefinitions ?? []).map((c) => [c.name!, c]));
  const given = input.overrides?.containerOverrides ?? [];
  for (const o of given) {
    if (!o.name || !byName.has(o.name)) {
      throw new InvalidParameterException(`Override for container named ${o.name} is not a container in the TaskDefinition.`);
    }
  }
  // ECS answers an override entry for every container, named, with the given ones filled in.
  const containerOverrides = [...byName.keys()].map((name) => ({ name, ...given.find((o) => o.name === name) }));
  const sizing = containerOverrides.map((o) => {
    const c = byName.get(o.name)!;
    return { name: o.name, cpu: o.cpu ?? c.cpu, memory: o.memory ?? c.memory, memoryReservation: o.memoryReservation ?? c.memoryReservation };
  });
  return {
    definition,
    overrides: { ...input.overrides, containerOverrides, inferenceAcceleratorOverrides: input.overrides?.inferenceAcceleratorOverrides ?? [] },
    demand: reservationOf(
      { ...definition, cpu: input.overrides?.cpu ?? definition.cpu, memory: input.overrides?.memory ?? definition.memory },
      sizing,
    ),
    group: input.group ?? `family:${definition.family}`,
    ...(input.startedBy !== undefined ? { startedBy: input.startedBy } : {}),
    tags: input.tags ?? [],
    enableExecuteCommand: input.enableExecuteCommand ?? false,
  };
}

/** Writes the new tasks and the instances' reduced resources in one transaction (CAS on each instance). */
async function commitLaunch(
  ctx: DomainContext, cluster: ClusterRecord, launch: Launch, instances: Entry<ContainerInstanceRecord>[],
  placements: readonly Placement[], tokenKey: string | undefined, failures: readonly Failure[],
): Promise<TaskRecord[]> {
  const now = ctx.nowMs() / 1000;
  const byArn = new Map(instances.map((e) => [e.value.containerInstanceArn, { entry: e, record: { ...e.value }, taken: false }]));
  const tasks: TaskRecord[] = placements.map((placement) => {
    const slot = byArn.get(placement.containerInstanceArn)!;
    const reservation = reservationFor(launch.demand, placement);
    slot.record.remainingResources = applyReservation(slot.record.remainingResources, reservation, 1);
    slot.taken = true;
    return newTaskRecord(ctx, cluster, launch, slot.record, now, reservation, placement);
  });
  const ops = [
    ...[...byArn.values()]
      .filter((s) => s.taken)
      .map((s) => ({ op: 'put' as const, key: s.entry.key, value: s.record, expectedModRevision: s.entry.modRevision })),
    ...tasks.flatMap((t) => taskIndexPuts(t, launch.serviceName)),
    ...tasks.map((t) => ({ op: 'put' as const, key: taskKeyOf(t.taskArn)!, value: t, expectedModRevision: 0 })),
    ...(tokenKey ? [{ op: 'put' as const, key: tokenKey, value: { taskArns: tasks.map((t) => t.taskArn), failures }, expectedModRevision: 0 }] : []),
  ];
  if (ops.length > 0) await ctx.store.txn(ops);
  for (const t of tasks) ctx.log({ msg: 'task placed', taskArn: t.taskArn, containerInstanceArn: t.containerInstanceArn });
  return tasks;
}

function newTaskRecord(
  ctx: DomainContext, cluster: ClusterRecord, launch: Launch, instance: ContainerInstanceRecord, now: number,
  reservation: Reservation, placement: Placement,
): TaskRecord {
  const id = newResourceId();
  const arn = taskArn(ctx.scope, cluster.clusterName, id);
  const d = launch.definition;
  const az = instance.attributes?.find((a) => a.name === 'ecs.availability-zone')?.value;
  const arch = instance.attributes?.find((a) => a.name === 'ecs.cpu-architecture')?.value ?? 'x86_64';
  return {
    attachments: [],
    attributes: [{ name: 'ecs.cpu-architecture', value: arch }],
    ...(az ? { availabilityZone: az } : {}),
    clusterArn: cluster.clusterArn,
    connectivity: 'CONNECTED',
    connectivityAt: now,
    containerInstanceArn: instance.containerInstanceArn,
    containers: (d.containerDefinitions ?? []).map((c) => {
      const o = launch.overrides.containerOverrides?.find((x) => x.name === c.name);
      const memory = o?.memory ?? c.memory;
      const memoryReservation = o?.memoryReservation ?? c.memoryReservation;
      return {
        containerArn: containerArn(ctx.scope, cluster.clusterName, id, newUuid()),
        taskArn: arn,
        name: c.name!,
        image: c.image!,
        lastStatus: 'PENDING',
        networkInterfaces: [],
        healthStatus: 'UNKNOWN',
        cpu: String(o?.cpu ?? c.cpu ?? 0),
        ...(memory !== undefined ? { memory: String(memory) } : {}),
        ...(memoryReservation !== undefined ? { memoryReservation: String(memoryReservation) } : {}),
      };
    }),
    ...(launch.overrides.cpu ?? d.cpu ? { cpu: launch.overrides.cpu ?? d.cpu } : {}),
    ...(launch.overrides.memory ?? d.memory ? { memory: launch.overrides.memory ?? d.memory } : {}),
    createdAt: now,
    desiredStatus: 'RUNNING',
    enableExecuteCommand: launch.enableExecuteCommand,
    group: launch.group,
    healthStatus: 'UNKNOWN',
    lastStatus: 'PENDING',
    launchType: 'EC2',
    overrides: launch.overrides,
    ...(launch.startedBy !== undefined ? { startedBy: launch.startedBy } : {}),
    tags: launch.tags ?? [],
    taskArn: arn,
    taskDefinitionArn: d.taskDefinitionArn,
    version: 1,
    reservation,
    ...(placement.tcpHostPorts.length + placement.udpHostPorts.length > 0
      ? { dynamicHostPorts: { tcp: placement.tcpHostPorts, udp: placement.udpHostPorts } }
      : {}),
  };
}

/** StopTask: sets desiredStatus STOPPED with the reason; the owning agent stops the containers. */
export async function stopTask(ctx: DomainContext, input: { cluster?: string; task: string; reason?: string }) {
  const cluster = await requireActiveCluster(ctx, input.cluster);
  const id = resourceIdOf(input.task, 'task');
  for (let attempt = 0; ; attempt++) {
    const entry = id ? await ctx.store.get<TaskRecord>(keys.task(cluster.value.clusterName, id)) : undefined;
    if (!entry) throw new InvalidParameterException('The referenced task was not found.');
    const task = entry.value;
    if (task.desiredStatus === 'STOPPED') return { task: presentTask(task, false) };
    const now = ctx.nowMs() / 1000;
    const stopped: TaskRecord = {
      ...task,
      desiredStatus: 'STOPPED',
      stopCode: 'UserInitiated',
      stoppedReason: input.reason ?? 'Task stopped by user',
      stoppingAt: now,
      version: task.version + 1,
    };
    const instance = await ctx.store.get<ContainerInstanceRecord>(instanceKeyOf(task.containerInstanceArn)!);
    try {
      if (!instance || instance.value.status === 'INACTIVE') {
        // No agent owns the task any more, so nobody will report it stopped: close it here.
        await finishStopped(ctx, entry, { ...stopped, lastStatus: 'STOPPED', stoppedAt: now, executionStoppedAt: now }, instance);
      } else {
        await ctx.store.put(entry.key, stopped, { expectedModRevision: entry.modRevision });
      }
      ctx.log({ msg: 'task stop requested', taskArn: task.taskArn, reason: stopped.stoppedReason });
      return { task: presentTask(stopped, false) };
    } catch (err) {
      if (!(err instanceof ConflictError) || attempt + 1 >= CAS_ATTEMPTS) throw err;
    }
  }
}

export async function describeTasks(ctx: DomainContext, input: { cluster?: string; tasks: string[]; include?: string[] }) {
  const cluster = await requireActiveCluster(ctx, input.cluster);
  if (input.tasks.length > 100) throw new InvalidParameterException('tasks can have at most 100 items.');
  const withTags = input.include?.includes('TAGS') ?? false;
  const tasks: Wire<Task>[] = [];
  const failures: Failure[] = [];
  for (const ref of input.tasks) {
    const id = resourceIdOf(ref, 'task');
    const entry = id ? await ctx.store.get<TaskRecord>(keys.task(cluster.value.clusterName, id)) : undefined;
    if (entry) tasks.push(presentTask(entry.value, withTags));
    else failures.push({ arn: ref.startsWith('arn:') || !id ? ref : taskArn(ctx.scope, cluster.value.clusterName, id), reason: 'MISSING' });
  }
  return { tasks, failures };
}

export async function listTasks(
  ctx: DomainContext,
  input: { cluster?: string; containerInstance?: string; family?: string; startedBy?: string; serviceName?: string;
    desiredStatus?: string; launchType?: string; nextToken?: string; maxResults?: number },
) {
  const cluster = await requireActiveCluster(ctx, input.cluster);
  const desired = input.desiredStatus ?? 'RUNNING';
  const instanceId = input.containerInstance ? resourceIdOf(input.containerInstance, 'container-instance') : undefined;
  if (input.containerInstance && !instanceId) throw new InvalidParameterException('containerInstance is not a valid container instance id or ARN.');
  const page = await pageThrough<TaskRecord>(ctx.store, keys.tasksOf(cluster.value.clusterName), {
    nextToken: input.nextToken,
    maxResults: input.maxResults,
    filter: (t) =>
      t.desiredStatus === desired &&
      (instanceId === undefined || t.containerInstanceArn.endsWith(`/${instanceId}`)) &&
      (input.family === undefined || familyOf(t.taskDefinitionArn) === input.family) &&
      (input.startedBy === undefined || t.startedBy === input.startedBy) &&
      (input.serviceName === undefined || t.group === `service:${input.serviceName}`) &&
      (input.launchType === undefined || t.launchType === input.launchType),
  });
  return { taskArns: page.items.map((e) => e.value.taskArn), nextToken: page.nextToken };
}

/**
 * Applies an agent's snapshot of a task, forward-only: statuses never move back, timestamps are
 * set once, and a stop the API decided keeps its own stopCode and reason. A STOPPED task gives its
 * reservation back to the instance in the same transaction. Reports for tasks the instance does
 * not own are ignored. Returns whether anything changed.
 */
export async function applyTaskStateReport(ctx: DomainContext, containerInstanceArn: string, report: TaskStateReport): Promise<boolean> {
  const key = taskKeyOf(report.taskArn);
  if (!key) return false;
  for (let attempt = 0; ; attempt++) {
    const entry = await ctx.store.get<TaskRecord>(key);
    if (!entry || entry.value.containerInstanceArn !== containerInstanceArn) return false;
    const definition = await resolveTaskDefinition(ctx, entry.value.taskDefinitionArn);
    const essential = new Set((definition.containerDefinitions ?? []).filter((c) => c.essential !== false).map((c) => c.name!));
    const next = mergeReport(entry.value, report, ctx.nowMs() / 1000, essential);
    if (!next) return false;
    try {
      if (next.lastStatus === 'STOPPED') {
        await finishStopped(ctx, entry, next, await ctx.store.get<ContainerInstanceRecord>(instanceKeyOf(containerInstanceArn)!));
      } else {
        await ctx.store.put(key, next, { expectedModRevision: entry.modRevision });
      }
      if (next.lastStatus !== entry.value.lastStatus) {
        ctx.log({ msg: 'task status', taskArn: next.taskArn, lastStatus: next.lastStatus, stoppedReason: next.stoppedReason });
      }
      return true;
    } catch (err) {
      if (!(err instanceof ConflictError) || attempt + 1 >= CAS_ATTEMPTS) throw err;
    }
  }
}

/** The task after `report`, or undefined when the report changes nothing (or would move it back). */
function mergeReport(task: TaskRecord, report: TaskStateReport, now: number, essential: ReadonlySet<string>): TaskRecord | undefined {
  if (task.lastStatus === 'STOPPED') return undefined;
  const status = report.lastStatus;
  if (!isForward(TASK_STATUS_ORDER, task.lastStatus as (typeof TASK_STATUS_ORDER)[number], status)) return undefined;
  const at = (iso: string | undefined) => (iso === undefined ? undefined : Date.parse(iso) / 1000);
  const next: TaskRecord = { ...task, lastStatus: status };
  next.containers = (task.containers ?? []).map((c) => {
    const r = report.containers.find((x) => x.name === c.name);
    if (!r || !isForward(CONTAINER_STATUS_ORDER, c.lastStatus as (typeof CONTAINER_STATUS_ORDER)[number], r.lastStatus)) return c;
    return {
      ...c,
      lastStatus: r.lastStatus,
      ...(r.runtimeId !== undefined ? { runtimeId: r.runtimeId } : {}),
      ...(r.imageDigest !== undefined ? { imageDigest: r.imageDigest } : {}),
      ...(r.exitCode !== undefined ? { exitCode: r.exitCode } : {}),
      ...(r.reason !== undefined ? { reason: r.reason } : {}),
      ...(r.networkBindings !== undefined ? { networkBindings: r.networkBindings } : {}),
      ...(r.healthStatus !== undefined ? { healthStatus: r.healthStatus } : {}),
    };
  });
  next.pullStartedAt ??= at(report.pullStartedAt);
  next.pullStoppedAt ??= at(report.pullStoppedAt);
  if (isForward(TASK_STATUS_ORDER, 'RUNNING', status)) next.startedAt ??= at(report.startedAt);
  if (isForward(TASK_STATUS_ORDER, 'DEACTIVATING', status)) {
    next.stoppingAt ??= now;
    if (next.desiredStatus !== 'STOPPED') {
      // The agent decided the task ends (essential container exited, start failed).
      next.desiredStatus = 'STOPPED';
      if (report.stopCode) next.stopCode = report.stopCode;
      if (report.stoppedReason) next.stoppedReason = report.stoppedReason;
    }
  }
  if (status === 'STOPPED') {
    next.executionStoppedAt ??= at(report.executionStoppedAt) ?? now;
    next.stoppedAt ??= now;
    next.stopCode ??= report.stopCode;
    next.stoppedReason ??= report.stoppedReason;
  }
  for (const k of ['pullStartedAt', 'pullStoppedAt', 'startedAt', 'executionStoppedAt', 'stopCode', 'stoppedReason'] as const) {
    if (next[k] === undefined) delete next[k];
  }
  next.healthStatus = taskHealth(next, essential);
  const { version: _v, ...a } = next;
  const { version: _w, ...b } = task;
  if (JSON.stringify(a) === JSON.stringify(b)) return undefined;
  next.version = task.version + 1;
  return next;
}

/** ECS's rule: HEALTHY only if every essential container is; any essential UNHEALTHY makes it UNHEALTHY. */
function taskHealth(task: TaskRecord, essential: ReadonlySet<string>): 'HEALTHY' | 'UNHEALTHY' | 'UNKNOWN' {
  const statuses = (task.containers ?? []).filter((c) => essential.has(c.name ?? '')).map((c) => c.healthStatus ?? 'UNKNOWN');
  if (statuses.includes('UNHEALTHY')) return 'UNHEALTHY';
  if (statuses.length > 0 && statuses.every((s) => s === 'HEALTHY')) return 'HEALTHY';
  return 'UNKNOWN';
}

/** The index entries a new task adds (see keys.instanceTask / keys.serviceTask). */
function taskIndexPuts(task: TaskRecord, serviceName: string | undefined): TxnOp[] {
  const { cluster, taskId, instanceId } = taskIds(task);
  return [
    { op: 'put', key: keys.instanceTask(cluster, instanceId, taskId), value: {}, expectedModRevision: 0 },
    ...(serviceName !== undefined ? [{ op: 'put' as const, key: keys.serviceTask(cluster, serviceName, taskId), value: {}, expectedModRevision: 0 }] : []),
  ];
}

/**
 * Writes the task index entries a store lacks: a data directory from before the indexes existed
 * holds tasks no agent manifest would list, and an agent stops what its manifest does not list.
 * Idempotent; a server runs it as it starts. Answers how many entries it wrote.
 */
export async function restoreTaskIndexes(ctx: DomainContext): Promise<number> {
  let written = 0;
  for (const cluster of await ctx.store.list<ClusterRecord>(keys.clusters())) {
    for (const { value: task } of await ctx.store.list<TaskRecord>(keys.tasksOf(cluster.value.clusterName))) {
      const service = task.group?.startsWith('service:') && task.startedBy?.startsWith('ecs-svc/') ? task.group.slice('service:'.length) : undefined;
      const wanted = taskIndexPuts(task, service).filter((op) => task.lastStatus !== 'STOPPED' || !op.key.startsWith('ecs/instance-tasks/'));
      const missing: TxnOp[] = [];
      for (const op of wanted) if (!(await ctx.store.get(op.key))) missing.push(op);
      if (missing.length === 0) continue;
      await ctx.store.txn(missing);
      written += missing.length;
    }
  }
  if (written > 0) ctx.log({ msg: 'task indexes restored', entries: written });
  return written;
}

function taskIds(task: TaskRecord): { cluster: string; taskId: string; instanceId: string } {
  const [cluster = '', taskId = ''] = parseArn(task.taskArn)?.path ?? [];
  return { cluster, taskId, instanceId: parseArn(task.containerInstanceArn)?.path[1] ?? '' };
}

/**
 * Writes a task as STOPPED, gives its reservation back to its instance and drops it from the
 * instance's task index, atomically.
 */
export async function finishStopped(
  ctx: DomainContext, entry: Entry<TaskRecord>, stopped: TaskRecord, instance: Entry<ContainerInstanceRecord> | undefined,
): Promise<void> {
  const { cluster, taskId, instanceId } = taskIds(entry.value);
  const ops: TxnOp[] = [
    { op: 'put', key: entry.key, value: stopped, expectedModRevision: entry.modRevision },
    { op: 'delete', key: keys.instanceTask(cluster, instanceId, taskId) },
  ];
  if (instance) {
    const record = { ...instance.value, remainingResources: applyReservation(instance.value.remainingResources, entry.value.reservation, -1) };
    ops.push({ op: 'put', key: instance.key, value: record, expectedModRevision: instance.modRevision });
  }
  await ctx.store.txn(ops);
}

/** The tasks an instance's agent must hold: every task placed there that is not yet STOPPED. */
export async function tasksForInstance(ctx: DomainContext, clusterName: string, containerInstanceArn: string): Promise<TaskRecord[]> {
  const instanceId = parseArn(containerInstanceArn)?.path[1] ?? '';
  const tasks: TaskRecord[] = [];
  for (const e of await ctx.store.list(keys.instanceTasksOf(clusterName, instanceId))) {
    const task = await ctx.store.get<TaskRecord>(keys.task(clusterName, e.key.slice(e.key.lastIndexOf('/') + 1)));
    if (task && task.value.lastStatus !== 'STOPPED') tasks.push(task.value);
  }
  return tasks;
}

/** A task resolved for the agent: its definition's containers with the task's overrides applied. */
export async function agentTaskOf(ctx: DomainContext, task: TaskRecord, definitions: Map<string, TaskDefinitionRecord>): Promise<AgentTask> {
  let definition = definitions.get(task.taskDefinitionArn);
  if (!definition) {
    definition = await resolveTaskDefinition(ctx, task.taskDefinitionArn);
    definitions.set(task.taskDefinitionArn, definition);
  }
  // Mappings without a host port take the ports placement gave them, in definition order (the
  // order resources.reservationOf counted them in).
  const dynamic = { tcp: [...(task.dynamicHostPorts?.tcp ?? [])], udp: [...(task.dynamicHostPorts?.udp ?? [])] };
  const bridge = (definition.networkMode ?? 'bridge') === 'bridge';
  const containers: AgentContainer[] = (definition.containerDefinitions ?? []).map((c) => {
    const portMappings = bridge && c.portMappings
      ? c.portMappings.map((p) => (p.containerPort !== undefined && !p.hostPort
        ? { ...p, hostPort: (p.protocol === 'udp' ? dynamic.udp : dynamic.tcp).shift() ?? 0 }
        : p))
      : c.portMappings;
    const o: Wire<ContainerOverride> | undefined = task.overrides?.containerOverrides?.find((x) => x.name === c.name);
    const stored = task.containers?.find((x) => x.name === c.name);
    const environment = [...(c.environment ?? [])];
    for (const e of o?.environment ?? []) {
      const i = environment.findIndex((x) => x.name === e.name);
      if (i >= 0) environment[i] = e; else environment.push(e);
    }
    return {
      ...c,
      name: c.name!,
      image: c.image!,
      containerArn: stored?.containerArn ?? '',
      environment,
      ...(portMappings ? { portMappings } : {}),
      ...(o?.command ? { command: o.command } : {}),
      ...(o?.cpu !== undefined ? { cpu: o.cpu } : {}),
      ...(o?.memory !== undefined ? { memory: o.memory } : {}),
      ...(o?.memoryReservation !== undefined ? { memoryReservation: o.memoryReservation } : {}),
    };
  });
  const cpu = task.cpu !== undefined ? Number(task.cpu) : undefined;
  const memory = task.memory !== undefined ? Number(task.memory) : undefined;
  return {
    taskArn: task.taskArn,
    clusterArn: task.clusterArn,
    taskDefinitionArn: task.taskDefinitionArn,
    family: definition.family,
    revision: definition.revision,
    desiredStatus: task.desiredStatus === 'STOPPED' ? 'STOPPED' : 'RUNNING',
    networkMode: (definition.networkMode ?? 'bridge') as AgentTask['networkMode'],
    ...(cpu !== undefined ? { cpu } : {}),
    ...(memory !== undefined ? { memory } : {}),
    containers,
  };
}

/** A task as answered: without Wharf's bookkeeping, and with tags only when asked for. */
export function presentTask(task: TaskRecord, withTags: boolean): Wire<Task> {
  const { reservation: _r, dynamicHostPorts: _d, tags, ...out } = task;
  return withTags ? { ...out, tags } : out;
}

/** The store key of a task ARN (long format), or undefined for anything else. */
export function taskKeyOf(arn: string): string | undefined {
  const p = parseArn(arn);
  return p && p.resourceType === 'task' && p.path.length === 2 ? keys.task(p.path[0]!, p.path[1]!) : undefined;
}

/** The store key of a container-instance ARN (long format). */
export function instanceKeyOf(arn: string): string | undefined {
  const p = parseArn(arn);
  return p && p.resourceType === 'container-instance' && p.path.length === 2 ? keys.containerInstance(p.path[0]!, p.path[1]!) : undefined;
}

function familyOf(taskDefinitionArn: string): string | undefined {
  const p = parseArn(taskDefinitionArn);
  return p?.path[0]?.split(':')[0];
}


/** How long ECS keeps a STOPPED task describable: "at least 1 hour". */
export const STOPPED_TASK_RETENTION_MS = 60 * 60 * 1000;

/** The STOPPED tasks among `tasks` whose stoppedAt lies `retentionMs` or more before `nowMs` (pure). */
export function expiredStoppedTasks<E extends { value: TaskRecord }>(tasks: readonly E[], nowMs: number, retentionMs: number): E[] {
  return tasks.filter((e) => e.value.lastStatus === 'STOPPED' && e.value.stoppedAt !== undefined && e.value.stoppedAt * 1000 + retentionMs <= nowMs);
}

/**
 * Deletes every STOPPED task kept for `retentionMs`, in every cluster. Each delete carries the
 * revision it read, so a task that changed meanwhile is left for the next sweep. Answers how many
 * went.
 */
export async function deleteExpiredStoppedTasks(ctx: DomainContext, retentionMs: number): Promise<number> {
  let deleted = 0;
  for (const cluster of await ctx.store.list<ClusterRecord>(keys.clusters())) {
    const expired = expiredStoppedTasks(await ctx.store.list<TaskRecord>(keys.tasksOf(cluster.value.clusterName)), ctx.nowMs(), retentionMs);
    for (const e of expired) {
      const serviceName = serviceNameOfTask(e.value);
      const { cluster: clusterName, taskId } = taskIds(e.value);
      try {
        await ctx.store.txn([
          { op: 'delete', key: e.key, expectedModRevision: e.modRevision },
          ...(serviceName !== undefined ? [{ op: 'delete' as const, key: keys.serviceTask(clusterName, serviceName, taskId) }] : []),
        ]);
        deleted++;
      } catch (err) {
        if (!(err instanceof ConflictError)) throw err;
      }
    }
  }
  if (deleted > 0) ctx.log({ msg: 'stopped tasks expired', count: deleted });
  return deleted;
}
