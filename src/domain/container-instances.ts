/**
 * Container instances: registration by agents, describe/list, state (ACTIVE/DRAINING), agent
 * connectivity, and custom attributes (PutAttributes/ListAttributes/DeleteAttributes).
 */
import type { Attribute, ContainerInstance, RegisterContainerInstanceRequest } from '@aws-sdk/client-ecs';
import { randomBytes } from 'node:crypto';
import {
  AttributeLimitExceededException, ConflictError, InvalidParameterException, TargetNotFoundException,
  containerInstanceArn, newResourceId, resourceIdOf,
} from '../model/index.js';
import { ClusterQueryError, matches, parseClusterQuery, type ClusterQuery } from '../scheduler/index.js';
import { requireActiveCluster } from './clusters.js';
import type { DomainContext, Wire } from './context.js';
import { keys } from './keys.js';
import { pageThrough } from './pagination.js';
import type { ContainerInstanceRecord, TaskRecord } from './records.js';
import { applyReservation, normalizeResources } from './resources.js';
import { instanceFactsOf } from './instance-view.js';
import { instanceKeyOf, tasksForInstance } from './tasks.js';
import { validateTags } from './tags.js';
import type { Entry } from '../store/index.js';

const ATTRIBUTE_NAME = /^[A-Za-z0-9_\-/\\.]{1,128}$/;
const MAX_CUSTOM_ATTRIBUTES = 10;
const CAS_ATTEMPTS = 10;

export async function registerContainerInstance(ctx: DomainContext, input: RegisterContainerInstanceRequest) {
  const cluster = await requireActiveCluster(ctx, input.cluster);
  validateTags(input.tags);
  for (const a of input.attributes ?? []) validateAttribute(a);
  const clusterName = cluster.value.clusterName;
  const registered = normalizeResources(input.totalResources);
  const now = ctx.nowMs() / 1000;
  if (input.containerInstanceArn) {
    // A restarted agent re-registers with its saved ARN and keeps its identity and tasks.
    const key = instanceKeyOf(input.containerInstanceArn);
    const entry = key ? await ctx.store.get<ContainerInstanceRecord>(key) : undefined;
    if (key && entry && key.startsWith(keys.containerInstancesOf(clusterName))) {
      const tasks = await tasksForInstance(ctx, clusterName, entry.value.containerInstanceArn);
      const remaining = tasks.reduce((r, t) => applyReservation(r, t.reservation, 1), registered);
      const record: ContainerInstanceRecord = {
        ...entry.value,
        versionInfo: input.versionInfo ?? entry.value.versionInfo ?? {},
        registeredResources: registered,
        remainingResources: remaining,
        status: entry.value.status === 'INACTIVE' ? 'ACTIVE' : entry.value.status,
        attributes: mergeAttributes(entry.value.attributes ?? [], input.attributes ?? []),
        version: (entry.value.version ?? 0) + 1,
      };
      await ctx.store.put(entry.key, record, { expectedModRevision: entry.modRevision });
      ctx.log({ msg: 'container instance re-registered', containerInstanceArn: record.containerInstanceArn });
      return { containerInstance: await present(ctx, record, false) };
    }
  }
  const id = newResourceId();
  const record: ContainerInstanceRecord = {
    containerInstanceArn: containerInstanceArn(ctx.scope, clusterName, id),
    ec2InstanceId: `i-${randomBytes(9).toString('hex').slice(0, 17)}`,
    version: 1,
    versionInfo: input.versionInfo ?? {},
    remainingResources: registered,
    registeredResources: registered,
    status: 'ACTIVE',
    agentConnected: false,
    runningTasksCount: 0,
    pendingTasksCount: 0,
    attributes: input.attributes ?? [],
    registeredAt: now,
    attachments: [],
    tags: input.tags ?? [],
  };
  await ctx.store.put(keys.containerInstance(clusterName, id), record, { expectedModRevision: 0 });
  ctx.log({ msg: 'container instance registered', containerInstanceArn: record.containerInstanceArn });
  return { containerInstance: await present(ctx, record, false) };
}

export async function deregisterContainerInstance(ctx: DomainContext, input: { cluster?: string; containerInstance: string; force?: boolean }) {
  const cluster = await requireActiveCluster(ctx, input.cluster);
  const entry = await requireInstance(ctx, cluster.value.clusterName, input.containerInstance);
  const tasks = await tasksForInstance(ctx, cluster.value.clusterName, entry.value.containerInstanceArn);
  if (tasks.length > 0 && !input.force) {
    throw new InvalidParameterException('The container instance has tasks that are not stopped; stop them first or deregister with force.');
  }
  const record: ContainerInstanceRecord = { ...entry.value, status: 'INACTIVE', agentConnected: false, version: (entry.value.version ?? 0) + 1 };
  await ctx.store.put(entry.key, record, { expectedModRevision: entry.modRevision });
  ctx.log({ msg: 'container instance deregistered', containerInstanceArn: record.containerInstanceArn });
  return { containerInstance: await present(ctx, record, false) };
}

export async function describeContainerInstances(ctx: DomainContext, input: { cluster?: string; containerInstances: string[]; include?: string[] }) {
  const cluster = await requireActiveCluster(ctx, input.cluster);
  if (input.containerInstances.length > 100) throw new InvalidParameterException('containerInstances can have at most 100 items.');
  const containerInstances: Wire<ContainerInstance>[] = [];
  const failures: { arn: string; reason: string }[] = [];
  const withTags = input.include?.includes('TAGS') ?? false;
  for (const ref of input.containerInstances) {
    const id = resourceIdOf(ref, 'container-instance');
    const entry = id ? await ctx.store.get<ContainerInstanceRecord>(keys.containerInstance(cluster.value.clusterName, id)) : undefined;
    if (entry) containerInstances.push(await present(ctx, entry.value, withTags));
    else failures.push({ arn: ref.startsWith('arn:') || !id ? ref : containerInstanceArn(ctx.scope, cluster.value.clusterName, id), reason: 'MISSING' });
  }
  return { containerInstances, failures };
}

export async function listContainerInstances(
  ctx: DomainContext, input: { cluster?: string; filter?: string; status?: string; nextToken?: string; maxResults?: number },
) {
  const cluster = await requireActiveCluster(ctx, input.cluster);
  const query = input.filter === undefined ? undefined : parseFilter(input.filter);
  const facts = query ? await instanceFactsOf(ctx, cluster.value.clusterName) : undefined;
  const page = await pageThrough<ContainerInstanceRecord>(ctx.store, keys.containerInstancesOf(cluster.value.clusterName), {
    nextToken: input.nextToken,
    maxResults: input.maxResults,
    filter: (i) => (input.status ? i.status === input.status : i.status !== 'INACTIVE') &&
      (!query || matches(query, facts!(i))),
  });
  return { containerInstanceArns: page.items.map((e) => e.value.containerInstanceArn), nextToken: page.nextToken };
}

export async function updateContainerInstancesState(ctx: DomainContext, input: { cluster?: string; containerInstances: string[]; status: string }) {
  const cluster = await requireActiveCluster(ctx, input.cluster);
  if (input.status !== 'ACTIVE' && input.status !== 'DRAINING') {
    throw new InvalidParameterException('Container instance status can only be updated to ACTIVE or DRAINING.');
  }
  if (input.containerInstances.length > 10) throw new InvalidParameterException('containerInstances can have at most 10 items.');
  const containerInstances: Wire<ContainerInstance>[] = [];
  const failures: { arn: string; reason: string }[] = [];
  for (const ref of input.containerInstances) {
    const id = resourceIdOf(ref, 'container-instance');
    const entry = id ? await ctx.store.get<ContainerInstanceRecord>(keys.containerInstance(cluster.value.clusterName, id)) : undefined;
    if (!entry || entry.value.status === 'INACTIVE') {
      failures.push({ arn: entry?.value.containerInstanceArn ?? ref, reason: entry ? 'INACTIVE' : 'MISSING' });
      continue;
    }
    const record = await updateInstance(ctx, entry.key, (r) => (r.status === input.status ? r : { ...r, status: input.status }));
    if (record) containerInstances.push(await present(ctx, record, false));
  }
  return { containerInstances, failures };
}

/**
 * Records whether the instance's agent holds a live gateway session, and on connect the address
 * the agent dialed from (where the load balancer reaches the instance's tasks).
 */
export async function setAgentConnected(ctx: DomainContext, containerInstanceArnValue: string, connected: boolean, agentAddress?: string): Promise<void> {
  const key = instanceKeyOf(containerInstanceArnValue);
  if (!key) return;
  await updateInstance(ctx, key, (r) => {
    if (r.agentConnected === connected && (!connected || agentAddress === undefined || r.agentAddress === agentAddress)) return r;
    if (connected) {
      const { agentDisconnectedAt: _gone, ...rest } = r;
      return { ...rest, agentConnected: true, ...(agentAddress !== undefined ? { agentAddress } : {}) };
    }
    // When the session ended: the service controller replaces the instance's tasks after a grace.
    return { ...r, agentConnected: false, agentDisconnectedAt: ctx.nowMs() / 1000 };
  });
}

/**
 * Marks every instance of every cluster disconnected. A server calls it as it starts: no agent can
 * hold a session with a server that is not yet listening.
 */
export async function markAllAgentsDisconnected(ctx: DomainContext): Promise<void> {
  for (const cluster of await ctx.store.list<{ clusterName: string }>(keys.clusters())) {
    for (const i of await ctx.store.list<ContainerInstanceRecord>(keys.containerInstancesOf(cluster.value.clusterName))) {
      if (i.value.agentConnected) await setAgentConnected(ctx, i.value.containerInstanceArn, false);
    }
  }
}

/** The instance record for a gateway session, if it exists and is not deregistered. */
export async function activeInstanceByArn(ctx: DomainContext, arn: string): Promise<ContainerInstanceRecord | undefined> {
  const key = instanceKeyOf(arn);
  const entry = key ? await ctx.store.get<ContainerInstanceRecord>(key) : undefined;
  return entry && entry.value.status !== 'INACTIVE' ? entry.value : undefined;
}

export async function putAttributes(ctx: DomainContext, input: { cluster?: string; attributes: Attribute[] }) {
  const cluster = await requireActiveCluster(ctx, input.cluster);
  if (input.attributes.length > 10) throw new AttributeLimitExceededException('You can specify up to 10 attributes per call.');
  const updates = new Map<string, { entry: Entry<ContainerInstanceRecord>; attributes: Attribute[] }>();
  for (const a of input.attributes) {
    validateAttribute(a);
    const target = await requireTarget(ctx, cluster.value.clusterName, a);
    const slot = updates.get(target.key) ?? { entry: target, attributes: [...(target.value.attributes ?? [])] };
    slot.attributes = mergeAttributes(slot.attributes, [{ name: a.name, ...(a.value !== undefined ? { value: a.value } : {}) }]);
    if (slot.attributes.filter((x) => !x.name!.startsWith('ecs.')).length > MAX_CUSTOM_ATTRIBUTES) {
      throw new AttributeLimitExceededException(`A resource can have at most ${MAX_CUSTOM_ATTRIBUTES} custom attributes.`);
    }
    updates.set(target.key, slot);
  }
  // All targets change together or none does.
  await ctx.store.txn([...updates.values()].map((u) => ({
    op: 'put' as const, key: u.entry.key, value: { ...u.entry.value, attributes: u.attributes }, expectedModRevision: u.entry.modRevision,
  })));
  return { attributes: input.attributes.map((a) => withTarget(a, updates.get(keyFor(cluster.value.clusterName, a)!)!.entry.value)) };
}

export async function deleteAttributes(ctx: DomainContext, input: { cluster?: string; attributes: Attribute[] }) {
  const cluster = await requireActiveCluster(ctx, input.cluster);
  const updates = new Map<string, { entry: Entry<ContainerInstanceRecord>; attributes: Attribute[] }>();
  for (const a of input.attributes) {
    const target = await requireTarget(ctx, cluster.value.clusterName, a);
    const slot = updates.get(target.key) ?? { entry: target, attributes: [...(target.value.attributes ?? [])] };
    slot.attributes = slot.attributes.filter((x) => x.name !== a.name);
    updates.set(target.key, slot);
  }
  await ctx.store.txn([...updates.values()].map((u) => ({
    op: 'put' as const, key: u.entry.key, value: { ...u.entry.value, attributes: u.attributes }, expectedModRevision: u.entry.modRevision,
  })));
  return { attributes: input.attributes.map((a) => withTarget(a, updates.get(keyFor(cluster.value.clusterName, a)!)!.entry.value)) };
}

export async function listAttributes(
  ctx: DomainContext,
  input: { cluster?: string; targetType: string; attributeName?: string; attributeValue?: string; nextToken?: string; maxResults?: number },
) {
  const cluster = await requireActiveCluster(ctx, input.cluster);
  if (input.attributeValue !== undefined && input.attributeName === undefined) {
    throw new InvalidParameterException('attributeValue can only be given together with attributeName.');
  }
  const all: Attribute[] = [];
  for (const e of await ctx.store.list<ContainerInstanceRecord>(keys.containerInstancesOf(cluster.value.clusterName))) {
    if (e.value.status === 'INACTIVE') continue;
    for (const a of e.value.attributes ?? []) {
      if (input.attributeName !== undefined && a.name !== input.attributeName) continue;
      if (input.attributeValue !== undefined && a.value !== input.attributeValue) continue;
      all.push(withTarget(a, e.value));
    }
  }
  const start = input.nextToken === undefined ? 0 : Number.parseInt(input.nextToken, 36);
  if (!Number.isInteger(start) || start < 0 || start > all.length) throw new InvalidParameterException('Invalid nextToken.');
  const limit = input.maxResults ?? 100;
  return { attributes: all.slice(start, start + limit), nextToken: start + limit < all.length ? (start + limit).toString(36) : undefined };
}

function parseFilter(filter: string): ClusterQuery {
  try {
    return parseClusterQuery(filter);
  } catch (err) {
    if (err instanceof ClusterQueryError) throw new InvalidParameterException(`Invalid filter expression '${filter}': ${err.message}.`);
    throw err;
  }
}

function validateAttribute(a: Attribute): void {
  if (!a.name || !ATTRIBUTE_NAME.test(a.name)) {
    throw new InvalidParameterException(`Attribute name '${a.name ?? ''}' is invalid: 1-128 letters, numbers, hyphens, underscores, slashes, backslashes or periods.`);
  }
  if (a.value !== undefined && (a.value.length < 1 || a.value.length > 128 || a.value.trim() !== a.value)) {
    throw new InvalidParameterException(`Attribute value for '${a.name}' must be 1-128 characters without leading or trailing whitespace.`);
  }
  if (a.targetType !== undefined && a.targetType !== 'container-instance') {
    throw new InvalidParameterException(`targetType '${a.targetType}' is invalid: only container-instance is supported.`);
  }
}

function keyFor(clusterName: string, a: Attribute): string | undefined {
  if (!a.targetId) return undefined;
  const id = resourceIdOf(a.targetId, 'container-instance');
  return id ? keys.containerInstance(clusterName, id) : undefined;
}

async function requireTarget(ctx: DomainContext, clusterName: string, a: Attribute): Promise<Entry<ContainerInstanceRecord>> {
  if (!a.targetId) throw new InvalidParameterException(`Attribute '${a.name}': targetId must be specified.`);
  const key = keyFor(clusterName, a);
  const entry = key ? await ctx.store.get<ContainerInstanceRecord>(key) : undefined;
  if (!entry || entry.value.status === 'INACTIVE') throw new TargetNotFoundException(`Could not find ${a.targetId}.`);
  return entry;
}

const withTarget = (a: Attribute, instance: ContainerInstanceRecord): Attribute => ({
  name: a.name, ...(a.value !== undefined ? { value: a.value } : {}), targetType: 'container-instance', targetId: instance.containerInstanceArn,
});

function mergeAttributes(existing: Attribute[], added: Attribute[]): Attribute[] {
  const byName = new Map(existing.map((a) => [a.name, a] as const));
  for (const a of added) byName.set(a.name, { name: a.name, ...(a.value !== undefined ? { value: a.value } : {}) });
  return [...byName.values()];
}

async function requireInstance(ctx: DomainContext, clusterName: string, ref: string): Promise<Entry<ContainerInstanceRecord>> {
  const id = resourceIdOf(ref, 'container-instance');
  const entry = id ? await ctx.store.get<ContainerInstanceRecord>(keys.containerInstance(clusterName, id)) : undefined;
  if (!entry || entry.value.status === 'INACTIVE') throw new InvalidParameterException('The referenced container instance was not found.');
  return entry;
}

async function updateInstance(
  ctx: DomainContext, key: string, change: (r: ContainerInstanceRecord) => ContainerInstanceRecord,
): Promise<ContainerInstanceRecord | undefined> {
  for (let attempt = 0; ; attempt++) {
    const entry = await ctx.store.get<ContainerInstanceRecord>(key);
    if (!entry) return undefined;
    const next = change(entry.value);
    if (next === entry.value) return next;
    const written = { ...next, version: (next.version ?? 0) + 1 };
    try {
      await ctx.store.put(key, written, { expectedModRevision: entry.modRevision });
      return written;
    } catch (err) {
      if (!(err instanceof ConflictError) || attempt + 1 >= CAS_ATTEMPTS) throw err;
    }
  }
}


async function present(ctx: DomainContext, record: ContainerInstanceRecord, withTags: boolean): Promise<Wire<ContainerInstance>> {
  const clusterName = instanceKeyOf(record.containerInstanceArn)!.split('/')[2]!;
  const tasks = await tasksForInstance(ctx, clusterName, record.containerInstanceArn);
  const { tags, agentDisconnectedAt: _at, agentAddress: _address, ...out } = record;
  return {
    ...out,
    runningTasksCount: tasks.filter((t) => t.lastStatus === 'RUNNING').length,
    pendingTasksCount: tasks.filter((t) => t.lastStatus !== 'RUNNING' && t.desiredStatus === 'RUNNING').length,
    ...(withTags ? { tags } : {}),
  };
}
