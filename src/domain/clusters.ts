/** Clusters: create, describe, list, update, delete (ECS semantics: a deleted cluster stays INACTIVE). */
import type { Cluster, ClusterField, ClusterSetting, Tag } from '@aws-sdk/client-ecs';
import {
  ClusterContainsContainerInstancesException, ClusterContainsServicesException, ClusterContainsTasksException, ClusterNotFoundException,
  DEFAULT_CLUSTER, InvalidParameterException, clusterArn, clusterNameOf,
} from '../model/index.js';
import type { ContainerInstanceRecord, TaskRecord } from './records.js';
import type { DomainContext, Wire } from './context.js';
import { keys } from './keys.js';
import { pageThrough } from './pagination.js';
import { validateTags } from './tags.js';

export type ClusterRecord = Wire<Cluster> & { clusterName: string; clusterArn: string; status: string; createdAt: number };

const NAME = /^[A-Za-z0-9_-]{1,255}$/;

/** The name a request's `cluster` member refers to: omitted means `default`; an ARN means its name. */
export function clusterNameFrom(ref: string | undefined): string {
  return ref === undefined || ref === '' ? DEFAULT_CLUSTER : clusterNameOf(ref);
}

/** The ACTIVE cluster a request names, or ClusterNotFoundException. */
export async function requireActiveCluster(ctx: DomainContext, ref: string | undefined) {
  const name = clusterNameFrom(ref);
  const entry = await ctx.store.get<ClusterRecord>(keys.cluster(name));
  if (!entry || entry.value.status !== 'ACTIVE') throw new ClusterNotFoundException();
  return entry;
}

export async function createCluster(
  ctx: DomainContext,
  input: { clusterName?: string; tags?: Tag[]; settings?: ClusterSetting[]; configuration?: Cluster['configuration'] },
): Promise<Wire<Cluster>> {
  const name = input.clusterName ?? DEFAULT_CLUSTER;
  if (!NAME.test(name)) {
    throw new InvalidParameterException('Cluster name must be 1-255 characters: letters, numbers, hyphens and underscores.');
  }
  validateTags(input.tags);
  const key = keys.cluster(name);
  const existing = await ctx.store.get<ClusterRecord>(key);
  // CreateCluster is idempotent in ECS: naming an ACTIVE cluster answers it unchanged.
  if (existing?.value.status === 'ACTIVE') return present(ctx, existing.value, ['TAGS', 'SETTINGS', 'CONFIGURATIONS']);
  const record: ClusterRecord = {
    clusterArn: clusterArn(ctx.scope, name),
    clusterName: name,
    status: 'ACTIVE',
    createdAt: ctx.nowMs() / 1000,
    tags: input.tags ?? [],
    settings: input.settings ?? [{ name: 'containerInsights', value: 'disabled' }],
    ...(input.configuration ? { configuration: input.configuration } : {}),
    capacityProviders: [],
    defaultCapacityProviderStrategy: [],
  };
  await ctx.store.put(key, record, { expectedModRevision: existing?.modRevision ?? 0 });
  return present(ctx, record, ['TAGS', 'SETTINGS', 'CONFIGURATIONS']);
}

export async function describeClusters(ctx: DomainContext, input: { clusters?: string[]; include?: ClusterField[] }) {
  const refs = input.clusters && input.clusters.length > 0 ? input.clusters : [DEFAULT_CLUSTER];
  if (refs.length > 100) throw new InvalidParameterException('clusters can have at most 100 items.');
  const clusters: Wire<Cluster>[] = [];
  const failures: { arn: string; reason: string }[] = [];
  for (const ref of refs) {
    const name = clusterNameOf(ref);
    const entry = await ctx.store.get<ClusterRecord>(keys.cluster(name));
    if (entry) clusters.push(await present(ctx, entry.value, input.include ?? []));
    else failures.push({ arn: ref.startsWith('arn:') ? ref : clusterArn(ctx.scope, name), reason: 'MISSING' });
  }
  return { clusters, failures };
}

export async function listClusters(ctx: DomainContext, input: { nextToken?: string; maxResults?: number }) {
  const page = await pageThrough<ClusterRecord>(ctx.store, keys.clusters(), {
    ...input, filter: (c) => c.status === 'ACTIVE',
  });
  return { clusterArns: page.items.map((e) => e.value.clusterArn), nextToken: page.nextToken };
}

export async function updateCluster(
  ctx: DomainContext,
  input: { cluster: string; settings?: ClusterSetting[]; configuration?: Cluster['configuration'] },
) {
  const entry = await requireActiveCluster(ctx, input.cluster);
  const record: ClusterRecord = { ...entry.value };
  if (input.settings) {
    const settings = [...(record.settings ?? [])];
    for (const s of input.settings) {
      const i = settings.findIndex((x) => x.name === s.name);
      if (i >= 0) settings[i] = s; else settings.push(s);
    }
    record.settings = settings;
  }
  if (input.configuration) record.configuration = input.configuration;
  await ctx.store.put(entry.key, record, { expectedModRevision: entry.modRevision });
  return { cluster: await present(ctx, record, ['SETTINGS', 'CONFIGURATIONS']) };
}

export async function deleteCluster(ctx: DomainContext, input: { cluster: string }) {
  const entry = await requireActiveCluster(ctx, input.cluster);
  const name = entry.value.clusterName;
  const services = await ctx.store.list<{ status: string }>(keys.servicesOf(name));
  if (services.some((s) => s.value.status !== 'INACTIVE')) throw new ClusterContainsServicesException();
  const instances = await ctx.store.list<ContainerInstanceRecord>(keys.containerInstancesOf(name));
  if (instances.some((i) => i.value.status !== 'INACTIVE')) throw new ClusterContainsContainerInstancesException();
  const tasks = await ctx.store.list<TaskRecord>(keys.tasksOf(name));
  if (tasks.some((t) => t.value.lastStatus !== 'STOPPED')) throw new ClusterContainsTasksException();
  const record: ClusterRecord = { ...entry.value, status: 'INACTIVE' };
  await ctx.store.put(entry.key, record, { expectedModRevision: entry.modRevision });
  return { cluster: await present(ctx, record, []) };
}

/** A cluster as answered: counts derived from its instances and tasks, optional parts per `include`. */
async function present(ctx: DomainContext, record: ClusterRecord, include: readonly string[]): Promise<Wire<Cluster>> {
  let registered = 0, running = 0, pending = 0, services = 0;
  if (record.status === 'ACTIVE') {
    for (const i of await ctx.store.list<ContainerInstanceRecord>(keys.containerInstancesOf(record.clusterName))) {
      if (i.value.status === 'ACTIVE' || i.value.status === 'DRAINING') registered++;
    }
    for (const s of await ctx.store.list<{ status: string }>(keys.servicesOf(record.clusterName))) {
      if (s.value.status === 'ACTIVE') services++;
    }
    for (const t of await ctx.store.list<TaskRecord>(keys.tasksOf(record.clusterName))) {
      if (t.value.lastStatus === 'RUNNING') running++;
      else if (t.value.lastStatus !== 'STOPPED' && t.value.desiredStatus === 'RUNNING') pending++;
    }
  }
  const out: Wire<Cluster> = {
    clusterArn: record.clusterArn,
    clusterName: record.clusterName,
    status: record.status,
    registeredContainerInstancesCount: registered,
    runningTasksCount: running,
    pendingTasksCount: pending,
    activeServicesCount: services,
    statistics: [],
    tags: include.includes('TAGS') ? record.tags ?? [] : [],
    settings: include.includes('SETTINGS') ? record.settings ?? [] : undefined,
    capacityProviders: record.capacityProviders ?? [],
    defaultCapacityProviderStrategy: record.defaultCapacityProviderStrategy ?? [],
  };
  if (include.includes('CONFIGURATIONS') && record.configuration) out.configuration = record.configuration;
  if (!out.settings) delete out.settings;
  return out;
}
