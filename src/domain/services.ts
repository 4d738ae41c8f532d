/**
 * Services: CreateService, UpdateService, DeleteService, DescribeServices, ListServices,
 * ListServicesByNamespace, and what the service controller reads and writes.
 *
 * Writers: the API writes desired state (desiredCount, task definition, configuration, and a new
 * PRIMARY deployment when the task definition, the loadBalancers or the placement changes or a new
 * deployment is forced; each deployment keeps the loadBalancers it was created with); the service
 * controller writes observed state (counts, deployment rollout state, events) and launches and
 * stops the service's tasks. Every write carries the revision it read.
 */
import type {
  CreateServiceRequest, DeleteServiceRequest, DeploymentConfiguration, LoadBalancer, PlacementStrategy, Service, UpdateServiceRequest,
} from '@aws-sdk/client-ecs';
import {
  ClientException, ConflictError, InvalidParameterException, NamespaceNotFoundException, ServiceNotActiveException,
  ServiceNotFoundException, newDeploymentId, newUuid, parseArn, serviceArn,
} from '../model/index.js';
import {
  defaultPlacementStrategy, matches, parseClusterQuery, validatePlacement, type PlacementConstraint as PlacementConstraintRule,
  type PlacementStrategy as PlacementStrategyRule,
} from '../scheduler/index.js';
import { requireActiveCluster, type ClusterRecord } from './clusters.js';
import type { DomainContext, Wire } from './context.js';
import { keys } from './keys.js';
import { pageThrough } from './pagination.js';
import type { ContainerInstanceRecord, DeploymentRecord, ServiceRecord, TargetGroupRecord, TargetRecord, TaskDefinitionRecord, TaskRecord } from './records.js';
import { instanceFactsOf } from './instance-view.js';
import { resolveTaskDefinition } from './task-definitions.js';
import { finishStopped, instanceKeyOf, taskHostPort, taskKeyOf } from './tasks.js';
import { validateTags } from './tags.js';
import { requireTargetGroup } from './elbv2-store.js';
import { loadBalancersByTargetGroup } from './listeners.js';
import { deregistrationDelayMs } from './target-groups.js';
import { effectiveHealth, targetsOf, type ServiceTarget } from './targets.js';
import type { Entry } from '../store/index.js';

const NAME = /^[A-Za-z0-9_-]{1,255}$/;
const CAS_ATTEMPTS = 10;
/** ECS's quota: a service runs at most 5,000 tasks. */
const MAX_DESIRED_COUNT = 5000;
/** ECS's quota: target groups per service. */
const MAX_TARGET_GROUPS_PER_SERVICE = 5;

export async function createService(ctx: DomainContext, input: CreateServiceRequest) {
  const cluster = await requireActiveCluster(ctx, input.cluster);
  const name = input.serviceName ?? '';
  if (!NAME.test(name)) throw new InvalidParameterException('Service name must be 1-255 letters, numbers, hyphens and underscores.');
  const scheduling = input.schedulingStrategy ?? 'REPLICA';
  validateLaunch(input);
  validateTags(input.tags);
  const definition = await activeDefinition(ctx, input.taskDefinition);
  const deploymentConfiguration = resolveDeploymentConfiguration(scheduling, input.deploymentConfiguration, undefined);
  // The scheduler's defaults are ECS's own strategy types; the cast only narrows `type`.
  const placementStrategy = input.placementStrategy ?? (scheduling === 'REPLICA' ? defaultPlacementStrategy('service') as PlacementStrategy[] : []);
  const placementConstraints = input.placementConstraints ?? [];
  validateServicePlacement(scheduling, placementStrategy, placementConstraints, definition);
  const desiredCount = scheduling === 'DAEMON' ? 0 : requireDesiredCount(input.desiredCount ?? 0);
  validateGracePeriod(input.healthCheckGracePeriodSeconds);
  const loadBalancers = await validateLoadBalancers(ctx, input.loadBalancers ?? [], definition);

  const key = keys.service(cluster.value.clusterName, name);
  const existing = await ctx.store.get<ServiceRecord>(key);
  if (existing && existing.value.status !== 'INACTIVE') {
    if (input.clientToken !== undefined && existing.value.clientToken === input.clientToken) return { service: presentService(existing.value, false) };
    if (existing.value.status === 'DRAINING') throw new InvalidParameterException('Unable to Start a service that is still Draining.');
    throw new InvalidParameterException('Creation of service was not idempotent.');
  }
  const now = ctx.nowMs() / 1000;
  const deployment = newDeployment(definition.taskDefinitionArn, desiredCount, loadBalancers, now);
  const record: ServiceRecord = {
    serviceArn: serviceArn(ctx.scope, cluster.value.clusterName, name),
    serviceName: name,
    clusterArn: cluster.value.clusterArn,
    loadBalancers,
    serviceRegistries: [],
    status: 'ACTIVE',
    desiredCount,
    runningCount: 0,
    pendingCount: 0,
    launchType: 'EC2',
    taskDefinition: definition.taskDefinitionArn,
    deploymentConfiguration,
    deployments: [deployment],
    events: [],
    createdAt: now,
    placementConstraints,
    placementStrategy,
    ...(input.healthCheckGracePeriodSeconds !== undefined ? { healthCheckGracePeriodSeconds: input.healthCheckGracePeriodSeconds } : {}),
    schedulingStrategy: scheduling,
    deploymentController: { type: 'ECS' },
    tags: input.tags ?? [],
    createdBy: ctx.principalArn,
    enableECSManagedTags: input.enableECSManagedTags ?? false,
    propagateTags: input.propagateTags ?? 'NONE',
    enableExecuteCommand: input.enableExecuteCommand ?? false,
    ...(input.clientToken !== undefined ? { clientToken: input.clientToken } : {}),
  };
  await ctx.store.put(key, record, { expectedModRevision: existing?.modRevision ?? 0 });
  ctx.log({ msg: 'service created', serviceArn: record.serviceArn, deploymentId: deployment.id });
  return { service: presentService(record, false) };
}

export async function updateService(ctx: DomainContext, input: UpdateServiceRequest) {
  const cluster = await requireActiveCluster(ctx, input.cluster);
  validateLaunch({ ...input, launchType: undefined });
  if (input.desiredCount !== undefined) requireDesiredCount(input.desiredCount);
  validateGracePeriod(input.healthCheckGracePeriodSeconds);
  const definition = input.taskDefinition !== undefined ? await activeDefinition(ctx, input.taskDefinition) : undefined;
  for (let attempt = 0; ; attempt++) {
    const entry = await requireService(ctx, cluster.value, input.service);
    const current = entry.value;
    if (current.status !== 'ACTIVE') throw new ServiceNotActiveException();
    const scheduling = current.schedulingStrategy;
    const deploymentConfiguration = resolveDeploymentConfiguration(scheduling, input.deploymentConfiguration, current.deploymentConfiguration);
    const placementStrategy = input.placementStrategy ?? current.placementStrategy ?? [];
    const placementConstraints = input.placementConstraints ?? current.placementConstraints ?? [];
    const taskDefinition = definition?.taskDefinitionArn ?? current.taskDefinition;
    const nextDefinition = definition ?? await resolveTaskDefinition(ctx, taskDefinition);
    validateServicePlacement(scheduling, placementStrategy, placementConstraints, nextDefinition);
    const desiredCount = scheduling === 'DAEMON' ? current.desiredCount : input.desiredCount ?? current.desiredCount;
    const currentLoadBalancers = current.loadBalancers ?? [];
    // The load balancers are checked against the definition the new tasks will run, whichever changed.
    const loadBalancers = input.loadBalancers !== undefined || taskDefinition !== current.taskDefinition
      ? await validateLoadBalancers(ctx, input.loadBalancers ?? currentLoadBalancers, nextDefinition)
      : currentLoadBalancers;
    const loadBalancersChanged = JSON.stringify(loadBalancers) !== JSON.stringify(currentLoadBalancers);

    const now = ctx.nowMs() / 1000;
    // As ECS ("when you add, update, or remove a load balancer configuration, Amazon ECS starts new
    // tasks with the updated Elastic Load Balancing configuration, and then stops the old tasks"):
    // a changed configuration is a new deployment, and the older deployments keep theirs, so their
    // tasks stay in their own target groups until they are drained and stopped. Those of a record
    // written before deployments kept them are given the service's configuration as it was.
    const redeploy = input.forceNewDeployment === true || taskDefinition !== current.taskDefinition ||
      input.placementStrategy !== undefined || input.placementConstraints !== undefined || loadBalancersChanged;
    let deployments = current.deployments.map((d, i) => (i === 0 ? { ...d, desiredCount, updatedAt: now } : d));
    if (redeploy) {
      const deployment = newDeployment(taskDefinition, desiredCount, loadBalancers, now);
      deployments = [deployment, ...current.deployments.map((d) => ({
        ...d, status: 'ACTIVE' as const, updatedAt: now, loadBalancers: deploymentLoadBalancers(current, d),
      }))];
    }
    const record: ServiceRecord = {
      ...current,
      loadBalancers,
      desiredCount,
      taskDefinition,
      deploymentConfiguration,
      placementStrategy,
      placementConstraints,
      deployments,
      ...(input.healthCheckGracePeriodSeconds !== undefined ? { healthCheckGracePeriodSeconds: input.healthCheckGracePeriodSeconds } : {}),
      ...(input.enableExecuteCommand !== undefined ? { enableExecuteCommand: input.enableExecuteCommand } : {}),
      ...(input.enableECSManagedTags !== undefined ? { enableECSManagedTags: input.enableECSManagedTags } : {}),
      ...(input.propagateTags !== undefined ? { propagateTags: input.propagateTags } : {}),
    };
    try {
      await ctx.store.put(entry.key, record, { expectedModRevision: entry.modRevision });
      ctx.log({ msg: 'service updated', serviceArn: record.serviceArn, desiredCount, deploymentId: record.deployments[0]?.id });
      return { service: presentService(record, false) };
    } catch (err) {
      if (!(err instanceof ConflictError) || attempt + 1 >= CAS_ATTEMPTS) throw err;
    }
  }
}

/**
 * DeleteService: the service goes DRAINING (hidden from ListServices) and the controller stops its
 * tasks; it becomes INACTIVE once none is left. Without `force` a REPLICA service must first be
 * scaled to 0, as ECS requires.
 */
export async function deleteService(ctx: DomainContext, input: DeleteServiceRequest) {
  const cluster = await requireActiveCluster(ctx, input.cluster);
  for (let attempt = 0; ; attempt++) {
    const entry = await requireService(ctx, cluster.value, input.service);
    const current = entry.value;
    if (current.status === 'INACTIVE') throw new ServiceNotActiveException();
    if (current.status === 'DRAINING') return { service: presentService(current, false) };
    if (!input.force && current.schedulingStrategy === 'REPLICA' && current.desiredCount > 0) {
      throw new InvalidParameterException('The service cannot be stopped while it is scaled above 0.');
    }
    const record: ServiceRecord = { ...current, status: 'DRAINING', desiredCount: 0 };
    try {
      await ctx.store.put(entry.key, record, { expectedModRevision: entry.modRevision });
      ctx.log({ msg: 'service deleted', serviceArn: record.serviceArn });
      return { service: presentService(record, false) };
    } catch (err) {
      if (!(err instanceof ConflictError) || attempt + 1 >= CAS_ATTEMPTS) throw err;
    }
  }
}

export async function describeServices(ctx: DomainContext, input: { cluster?: string; services: string[]; include?: string[] }) {
  const cluster = await requireActiveCluster(ctx, input.cluster);
  if (input.services.length > 10) throw new InvalidParameterException('services can have at most 10 items.');
  const withTags = input.include?.includes('TAGS') ?? false;
  const services: Wire<Service>[] = [];
  const failures: { arn: string; reason: string }[] = [];
  for (const ref of input.services) {
    const name = serviceNameOf(ref, cluster.value.clusterName);
    const entry = name ? await ctx.store.get<ServiceRecord>(keys.service(cluster.value.clusterName, name)) : undefined;
    if (entry) services.push(presentService(entry.value, withTags));
    else failures.push({ arn: ref.startsWith('arn:') || !name ? ref : serviceArn(ctx.scope, cluster.value.clusterName, name), reason: 'MISSING' });
  }
  return { services, failures };
}

export async function listServices(
  ctx: DomainContext, input: { cluster?: string; launchType?: string; schedulingStrategy?: string; nextToken?: string; maxResults?: number },
) {
  const cluster = await requireActiveCluster(ctx, input.cluster);
  const page = await pageThrough<ServiceRecord>(ctx.store, keys.servicesOf(cluster.value.clusterName), {
    nextToken: input.nextToken,
    maxResults: input.maxResults,
    defaultMaxResults: 10,
    filter: (s) => s.status === 'ACTIVE' &&
      (input.launchType === undefined || s.launchType === input.launchType) &&
      (input.schedulingStrategy === undefined || s.schedulingStrategy === input.schedulingStrategy),
  });
  return { serviceArns: page.items.map((e) => e.value.serviceArn), nextToken: page.nextToken };
}

/** Wharf has no Cloud Map namespaces (Service Connect), so every namespace is unknown. */
export async function listServicesByNamespace(_ctx: DomainContext, input: { namespace: string }) {
  throw new NamespaceNotFoundException(`Namespace ${input.namespace} was not found: Wharf does not support Service Connect namespaces.`);
}

/** What the service controller decides from: the service, its tasks and its cluster's instances. */
export interface ServiceState {
  entry: Entry<ServiceRecord>;
  tasks: TaskRecord[];
  instances: ContainerInstanceRecord[];
  /** Task definition ARN → names of its essential containers that define a health check. */
  healthChecked: Map<string, Set<string>>;
  /** Instances that meet the service's and its task definition's memberOf constraints. */
  eligibleInstanceArns: Set<string>;
  /** The service's target groups that exist (current and retired), by ARN, with their deregistration delays. */
  targetGroups: Map<string, { deregistrationDelayMs: number }>;
  /** Registrations of the service's tasks in those target groups, each with the health ELB would answer. */
  targets: TargetRecord[];
  /** Task ARN → the registrations each RUNNING task should have under its deployment's loadBalancers. */
  intendedTargets: Map<string, ServiceTarget[]>;
}

export async function readServiceState(ctx: DomainContext, serviceKey: string): Promise<ServiceState | undefined> {
  const entry = await ctx.store.get<ServiceRecord>(serviceKey);
  if (!entry) return undefined;
  const [, , clusterName = '', serviceName = ''] = serviceKey.split('/');
  const tasks: TaskRecord[] = [];
  for (const e of await ctx.store.list(keys.serviceTasksOf(clusterName, serviceName))) {
    const task = await ctx.store.get<TaskRecord>(keys.task(clusterName, e.key.slice(e.key.lastIndexOf('/') + 1)));
    if (task) tasks.push(task.value);
  }
  const instances = (await ctx.store.list<ContainerInstanceRecord>(keys.containerInstancesOf(clusterName))).map((e) => e.value);
  const healthChecked = new Map<string, Set<string>>();
  const definitions = new Set([...tasks.map((t) => t.taskDefinitionArn), ...entry.value.deployments.map((d) => d.taskDefinition)]);
  let primaryDefinition: TaskDefinitionRecord | undefined;
  const definitionsByArn = new Map<string, TaskDefinitionRecord>();
  for (const arn of definitions) {
    const d = await resolveTaskDefinition(ctx, arn).catch(() => undefined);
    if (!d) continue;
    definitionsByArn.set(arn, d);
    if (arn === entry.value.deployments[0]?.taskDefinition) primaryDefinition = d;
    healthChecked.set(arn, new Set((d.containerDefinitions ?? []).filter((c) => c.essential !== false && c.healthCheck).map((c) => c.name!)));
  }
  const eligibleInstanceArns = new Set<string>();
  const expressions = [...(entry.value.placementConstraints ?? []), ...(primaryDefinition?.placementConstraints ?? [])]
    .filter((c) => c.type === 'memberOf' && c.expression).map((c) => parseClusterQuery(c.expression!));
  const facts = expressions.length > 0 ? await instanceFactsOf(ctx, clusterName) : undefined;
  for (const i of instances) {
    if (expressions.every((q) => matches(q, facts!(i)))) eligibleInstanceArns.add(i.containerInstanceArn);
  }
  return { entry, tasks, instances, healthChecked, eligibleInstanceArns, ...await readLoadBalancing(ctx, entry.value, tasks, instances, definitionsByArn) };
}

/**
 * The loadBalancers whose target groups `deployment`'s tasks are registered in: its own, or, in a
 * record written before deployments kept them, the service's.
 */
export function deploymentLoadBalancers(service: ServiceRecord, deployment: DeploymentRecord): Wire<LoadBalancer>[] {
  return deployment.loadBalancers ?? service.loadBalancers ?? [];
}

/**
 * What the planner needs of a service's load balancing: its target groups (those the service and
 * any of its deployments name, and the retired ones), its tasks' current registrations, and the
 * registrations each RUNNING task should have under its own deployment's loadBalancers (its
 * instance's id or, for ip target groups, address; the host port of the named container port).
 */
async function readLoadBalancing(
  ctx: DomainContext, service: ServiceRecord, tasks: TaskRecord[], instances: ContainerInstanceRecord[], definitions: Map<string, TaskDefinitionRecord>,
): Promise<Pick<ServiceState, 'targetGroups' | 'targets' | 'intendedTargets'>> {
  const targetGroups = new Map<string, { deregistrationDelayMs: number }>();
  const targets: TargetRecord[] = [];
  const intendedTargets = new Map<string, ServiceTarget[]>();
  const loadBalancersOf = new Map(service.deployments.map((d) => [d.id, deploymentLoadBalancers(service, d)]));
  const named = [...service.loadBalancers ?? [], ...[...loadBalancersOf.values()].flat()];
  const arns = [...new Set([...named.map((l) => l.targetGroupArn!), ...service.retiredTargetGroupArns ?? []])];
  if (arns.length === 0) return { targetGroups, targets, intendedTargets };
  const usage = await loadBalancersByTargetGroup(ctx);
  const taskArns = new Set(tasks.map((t) => t.taskArn));
  const groups = new Map<string, TargetGroupRecord>();
  for (const arn of arns) {
    const tg = await requireTargetGroup(ctx, arn).catch(() => undefined);
    if (!tg) continue;
    groups.set(arn, tg.value);
    // A group no load balancer uses drains nothing: its deregistered targets go at once.
    targetGroups.set(arn, { deregistrationDelayMs: usage.has(arn) ? deregistrationDelayMs(tg.value) : 0 });
    for (const t of await targetsOf(ctx, tg.value)) {
      if (t.taskArn !== undefined && taskArns.has(t.taskArn)) targets.push({ ...t, health: effectiveHealth(tg.value, t, usage.has(arn)) });
    }
  }
  const instancesByArn = new Map(instances.map((i) => [i.containerInstanceArn, i]));
  for (const task of tasks) {
    if (task.lastStatus !== 'RUNNING' || task.desiredStatus !== 'RUNNING') continue;
    const instance = instancesByArn.get(task.containerInstanceArn);
    const definition = definitions.get(task.taskDefinitionArn);
    if (!instance?.agentAddress || !definition) continue;
    const wanted: ServiceTarget[] = [];
    // Every live task's deployment is listed (one is kept while any of its tasks is not STOPPED);
    // were one not, its task is read as a task of a record without per-deployment loadBalancers.
    for (const lb of loadBalancersOf.get(task.startedBy ?? '') ?? service.loadBalancers ?? []) {
      const tg = groups.get(lb.targetGroupArn!);
      const port = tg ? taskHostPort(task, definition, lb.containerName!, lb.containerPort!) : undefined;
      if (!tg || port === undefined) continue;
      wanted.push({
        TargetGroupArn: tg.TargetGroupArn, Id: tg.TargetType === 'ip' ? instance.agentAddress : instance.ec2InstanceId, Port: port,
        address: instance.agentAddress, taskArn: task.taskArn,
      });
    }
    intendedTargets.set(task.taskArn, wanted);
  }
  return { targetGroups, targets, intendedTargets };
}

/**
 * Stops a service task. A task whose agent is gone (`lost`) is written STOPPED at once, its
 * resources given back; any other gets desiredStatus STOPPED and its agent stops it.
 */
export async function stopServiceTask(ctx: DomainContext, taskArnValue: string, reason: string, lost: boolean): Promise<void> {
  const key = taskKeyOf(taskArnValue);
  if (!key) return;
  for (let attempt = 0; ; attempt++) {
    const entry = await ctx.store.get<TaskRecord>(key);
    if (!entry || entry.value.lastStatus === 'STOPPED' || (entry.value.desiredStatus === 'STOPPED' && !lost)) return;
    const now = ctx.nowMs() / 1000;
    const stopped: TaskRecord = {
      ...entry.value,
      desiredStatus: 'STOPPED',
      stopCode: entry.value.stopCode ?? 'ServiceSchedulerInitiated',
      stoppedReason: entry.value.stoppedReason ?? reason,
      stoppingAt: entry.value.stoppingAt ?? now,
      version: entry.value.version + 1,
    };
    try {
      if (lost) {
        const instance = await ctx.store.get<ContainerInstanceRecord>(instanceKeyOf(entry.value.containerInstanceArn)!);
        await finishStopped(ctx, entry, { ...stopped, lastStatus: 'STOPPED', stoppedAt: now, executionStoppedAt: now }, instance);
      } else {
        await ctx.store.put(key, stopped, { expectedModRevision: entry.modRevision });
      }
      ctx.log({ msg: 'service task stop', taskArn: taskArnValue, reason, lost });
      return;
    } catch (err) {
      if (!(err instanceof ConflictError) || attempt + 1 >= CAS_ATTEMPTS) throw err;
    }
  }
}

/**
 * Writes the controller's view of a service when the service has not changed since it was read.
 * Answers false on a conflict: the caller reads again and decides afresh.
 */
export async function writeServiceStatus(ctx: DomainContext, entry: Entry<ServiceRecord>, next: ServiceRecord): Promise<boolean> {
  try {
    await ctx.store.put(entry.key, next, { expectedModRevision: entry.modRevision });
    return true;
  } catch (err) {
    if (err instanceof ConflictError) return false;
    throw err;
  }
}

/** A service as answered: without Wharf's bookkeeping, with tags only when asked for. */
export function presentService(record: ServiceRecord, withTags: boolean): Wire<Service> {
  const { tags, lastCompletedDeployment: _l, clientToken: _c, drainingTasks: _d, retiredTargetGroupArns: _r, deployments, ...rest } = record;
  const out = { ...rest, deployments: deployments.map(({ loadBalancers: _lb, ...d }) => d) };
  return withTags ? { ...out, tags } : out;
}

/** The service name a name-or-ARN reference means in `clusterName`, or undefined if it is malformed. */
function serviceNameOf(ref: string, clusterName: string): string | undefined {
  if (!ref.startsWith('arn:')) return NAME.test(ref) ? ref : undefined;
  const p = parseArn(ref);
  if (!p || p.resourceType !== 'service') return undefined;
  // Long format service/<cluster>/<name>; the old short format service/<name>.
  if (p.path.length === 2) return p.path[0] === clusterName ? p.path[1] : undefined;
  return p.path.length === 1 ? p.path[0] : undefined;
}

async function requireService(ctx: DomainContext, cluster: ClusterRecord, ref: string | undefined): Promise<Entry<ServiceRecord>> {
  const name = ref ? serviceNameOf(ref, cluster.clusterName) : undefined;
  const entry = name ? await ctx.store.get<ServiceRecord>(keys.service(cluster.clusterName, name)) : undefined;
  if (!entry) throw new ServiceNotFoundException();
  return entry;
}

async function activeDefinition(ctx: DomainContext, ref: string | undefined): Promise<TaskDefinitionRecord> {
  if (!ref) throw new InvalidParameterException('taskDefinition must be specified.');
  const definition = await resolveTaskDefinition(ctx, ref);
  if (definition.status !== 'ACTIVE') throw new ClientException('TaskDefinition is inactive');
  if (definition.networkMode === 'awsvpc') {
    throw new InvalidParameterException('networkMode awsvpc is not supported by Wharf yet; use bridge or host.');
  }
  return definition;
}

function newDeployment(taskDefinition: string, desiredCount: number, loadBalancers: Wire<LoadBalancer>[], now: number): DeploymentRecord {
  const id = newDeploymentId();
  return {
    id,
    status: 'PRIMARY',
    taskDefinition,
    loadBalancers,
    desiredCount,
    pendingCount: 0,
    runningCount: 0,
    failedTasks: 0,
    createdAt: now,
    updatedAt: now,
    launchType: 'EC2',
    rolloutState: 'IN_PROGRESS',
    rolloutStateReason: `ECS deployment ${id} in progress.`,
  };
}

function requireDesiredCount(n: number): number {
  if (!Number.isInteger(n) || n < 0) throw new InvalidParameterException('desiredCount must be a whole number greater than or equal to 0.');
  if (n > MAX_DESIRED_COUNT) throw new InvalidParameterException(`desiredCount can't be greater than ${MAX_DESIRED_COUNT}.`);
  return n;
}

function validateGracePeriod(seconds: number | undefined): void {
  if (seconds !== undefined && (!Number.isInteger(seconds) || seconds < 0 || seconds > 2_147_483_647)) {
    throw new InvalidParameterException('healthCheckGracePeriodSeconds must be between 0 and 2147483647.');
  }
}

function validateLaunch(input: { launchType?: string; serviceRegistries?: unknown[];
  capacityProviderStrategy?: unknown[]; networkConfiguration?: unknown; deploymentController?: { type?: string } }): void {
  if (input.launchType && input.launchType !== 'EC2' && input.launchType !== 'EXTERNAL') {
    throw new InvalidParameterException(`launchType ${input.launchType} is not supported: Wharf runs tasks on registered container instances (EC2 or EXTERNAL).`);
  }
  if ((input.serviceRegistries?.length ?? 0) > 0) throw new InvalidParameterException('serviceRegistries are not supported by Wharf.');
  if ((input.capacityProviderStrategy?.length ?? 0) > 0) throw new InvalidParameterException('capacityProviderStrategy is not supported by Wharf.');
  if (input.networkConfiguration !== undefined) {
    throw new InvalidParameterException('networkConfiguration applies to awsvpc tasks, which Wharf does not support yet.');
  }
  if (input.deploymentController?.type !== undefined && input.deploymentController.type !== 'ECS') {
    throw new InvalidParameterException(`deploymentController ${input.deploymentController.type} is not supported: Wharf deploys with the rolling update (ECS) controller.`);
  }
}

/**
 * A service's loadBalancers, checked as ECS checks them, in its words: each names an existing
 * ELBv2 target group that a load balancer forwards to, and a container of the task definition
 * with that TCP container port. Wharf has no Classic Load Balancers, so loadBalancerName is
 * refused. Answers the entries as stored.
 */
async function validateLoadBalancers(ctx: DomainContext, given: readonly LoadBalancer[], definition: TaskDefinitionRecord): Promise<Wire<LoadBalancer>[]> {
  if (given.length > MAX_TARGET_GROUPS_PER_SERVICE) {
    throw new InvalidParameterException(`A service can use at most ${MAX_TARGET_GROUPS_PER_SERVICE} target groups.`);
  }
  const usage = given.length > 0 ? await loadBalancersByTargetGroup(ctx) : new Map<string, Set<string>>();
  const seen = new Set<string>();
  const out: Wire<LoadBalancer>[] = [];
  for (const lb of given) {
    if (lb.loadBalancerName !== undefined) {
      throw new InvalidParameterException('loadBalancerName names a Classic Load Balancer, which Wharf does not have: give the targetGroupArn of an ELBv2 target group.');
    }
    if (!lb.targetGroupArn) throw new InvalidParameterException('Target Group ARN can not be blank.');
    if (!lb.containerName) throw new InvalidParameterException('Container Name can not be blank.');
    if (lb.containerPort === undefined) throw new InvalidParameterException('Container Port can not be blank.');
    const tg = await requireTargetGroup(ctx, lb.targetGroupArn).catch(() => undefined);
    if (!tg) {
      throw new InvalidParameterException('Unable to assume role and validate the specified targetGroupArn. Please verify that the ECS service role being passed has the proper permissions.');
    }
    if (!usage.has(lb.targetGroupArn)) {
      throw new InvalidParameterException(`The target group with targetGroupArn ${lb.targetGroupArn} does not have an associated load balancer.`);
    }
    const container = definition.containerDefinitions?.find((c) => c.name === lb.containerName);
    if (!container) throw new InvalidParameterException(`The container ${lb.containerName} does not exist in the task definition.`);
    if (!container.portMappings?.some((p) => p.containerPort === lb.containerPort && (p.protocol ?? 'tcp') === 'tcp')) {
      throw new InvalidParameterException(`The container ${lb.containerName} did not have a container port ${lb.containerPort} defined.`);
    }
    const key = `${lb.targetGroupArn} ${lb.containerName} ${lb.containerPort}`;
    if (seen.has(key)) throw new InvalidParameterException(`loadBalancers names target group ${lb.targetGroupArn} with container ${lb.containerName} and port ${lb.containerPort} more than once.`);
    seen.add(key);
    out.push({ targetGroupArn: lb.targetGroupArn, containerName: lb.containerName, containerPort: lb.containerPort });
  }
  return out;
}

/**
 * The deployment configuration after a create or update, with ECS's defaults: REPLICA 200/100,
 * DAEMON 100/0; the circuit breaker off. Percentages are checked against each other.
 */
function resolveDeploymentConfiguration(
  scheduling: 'REPLICA' | 'DAEMON', given: DeploymentConfiguration | undefined, current: Wire<DeploymentConfiguration> | undefined,
): Wire<DeploymentConfiguration> {
  const maximumPercent = given?.maximumPercent ?? current?.maximumPercent ?? (scheduling === 'DAEMON' ? 100 : 200);
  const minimumHealthyPercent = given?.minimumHealthyPercent ?? current?.minimumHealthyPercent ?? (scheduling === 'DAEMON' ? 0 : 100);
  const breaker = given?.deploymentCircuitBreaker ?? current?.deploymentCircuitBreaker ?? { enable: false, rollback: false };
  if (!Number.isInteger(minimumHealthyPercent) || minimumHealthyPercent < 0 || minimumHealthyPercent > 100) {
    throw new InvalidParameterException('minimumHealthyPercent must be between 0 and 100.');
  }
  if (!Number.isInteger(maximumPercent) || maximumPercent < 0) {
    throw new InvalidParameterException('maximumPercent must be a whole number greater than or equal to 0.');
  }
  if (minimumHealthyPercent > maximumPercent) {
    throw new InvalidParameterException(`minimumHealthyPercent (${minimumHealthyPercent}) can't be greater than maximumPercent (${maximumPercent}).`);
  }
  if (scheduling === 'DAEMON' && maximumPercent !== 100) {
    throw new InvalidParameterException('maximumPercent must be 100 for a service with the DAEMON scheduling strategy.');
  }
  return {
    deploymentCircuitBreaker: { enable: breaker.enable ?? false, rollback: breaker.rollback ?? false },
    maximumPercent,
    minimumHealthyPercent,
  };
}

/**
 * Refuses placement rules ECS would refuse, before anything is written: DAEMON services take no
 * strategy; the rules themselves (with the task definition's constraints) go through the
 * scheduler's validation, which names the rule at fault and, for memberOf, the position.
 */
function validateServicePlacement(
  scheduling: string, strategy: readonly PlacementStrategyRule[], constraints: readonly PlacementConstraintRule[], definition: TaskDefinitionRecord,
): void {
  if (scheduling === 'DAEMON' && strategy.length > 0) {
    throw new InvalidParameterException('Placement strategies are not supported with the DAEMON scheduling strategy.');
  }
  validatePlacement(strategy, [...(definition.placementConstraints ?? []), ...constraints]);
}

/** A fresh event id, as ECS's event ids are UUIDs. */
export const newServiceEventId = (): string => newUuid();
