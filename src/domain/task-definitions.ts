/**
 * Task definitions: immutable revisions per family. Registration validates what the ECS model
 * cannot express (the rules between fields), fills the defaults ECS fills, and takes the next
 * revision number with a compare-and-swap on the family record.
 */
import type {
  ContainerDefinition, RegisterTaskDefinitionRequest, TaskDefinition, TaskDefinitionStatus,
} from '@aws-sdk/client-ecs';
import { ClientException, ConflictError, InvalidParameterException, parseArn, taskDefinitionArn } from '../model/index.js';
import { validateTaskDefinitionConstraints } from '../scheduler/index.js';
import type { DomainContext, Wire } from './context.js';
import { keys } from './keys.js';
import { pageThrough } from './pagination.js';
import type { FamilyRecord, TaskDefinitionRecord } from './records.js';
import { validateTags } from './tags.js';

const NAME = /^[A-Za-z0-9_-]{1,255}$/;
const MAX_CONTAINERS = 10;
const MAX_DEFINITION_BYTES = 64 * 1024;
const CAS_ATTEMPTS = 10;

export async function registerTaskDefinition(ctx: DomainContext, input: RegisterTaskDefinitionRequest) {
  if (JSON.stringify(input).length > MAX_DEFINITION_BYTES) {
    throw new ClientException('Task definition size exceeds the 64 KiB limit.');
  }
  const family = input.family!;
  if (!NAME.test(family)) {
    throw new ClientException('Family contains invalid characters: use up to 255 letters, numbers, hyphens and underscores.');
  }
  validateTags(input.tags);
  const networkMode = input.networkMode ?? 'bridge';
  const taskCpu = parseTaskCpu(input.cpu);
  const taskMemory = parseTaskMemory(input.memory);
  const containers = validateContainers(input.containerDefinitions ?? [], networkMode, taskMemory !== undefined);
  // A task definition takes memberOf constraints only; a malformed expression names its position.
  validateTaskDefinitionConstraints(input.placementConstraints ?? []);
  if (input.requiresCompatibilities?.includes('FARGATE')) {
    throw new ClientException('Wharf runs tasks on registered container instances; requiresCompatibilities FARGATE is not supported.');
  }

  for (let attempt = 0; ; attempt++) {
    const familyEntry = await ctx.store.get<FamilyRecord>(keys.family(family));
    const revision = (familyEntry?.value.latestRevision ?? 0) + 1;
    const record: TaskDefinitionRecord = {
      taskDefinitionArn: taskDefinitionArn(ctx.scope, family, revision),
      containerDefinitions: containers,
      family,
      ...(input.taskRoleArn !== undefined ? { taskRoleArn: input.taskRoleArn } : {}),
      ...(input.executionRoleArn !== undefined ? { executionRoleArn: input.executionRoleArn } : {}),
      ...(input.networkMode !== undefined ? { networkMode: input.networkMode } : {}),
      revision,
      volumes: input.volumes ?? [],
      status: 'ACTIVE',
      requiresAttributes: [],
      placementConstraints: input.placementConstraints ?? [],
      compatibilities: ['EXTERNAL', 'EC2'],
      ...(input.requiresCompatibilities ? { requiresCompatibilities: input.requiresCompatibilities } : {}),
      ...(taskCpu !== undefined ? { cpu: String(taskCpu) } : {}),
      ...(taskMemory !== undefined ? { memory: String(taskMemory) } : {}),
      ...(input.pidMode !== undefined ? { pidMode: input.pidMode } : {}),
      ...(input.ipcMode !== undefined ? { ipcMode: input.ipcMode } : {}),
      ...(input.runtimePlatform ? { runtimePlatform: input.runtimePlatform } : {}),
      registeredAt: ctx.nowMs() / 1000,
      registeredBy: ctx.principalArn,
      tags: input.tags ?? [],
    };
    try {
      await ctx.store.txn([
        { op: 'put', key: keys.family(family), value: { family, latestRevision: revision } satisfies FamilyRecord, expectedModRevision: familyEntry?.modRevision ?? 0 },
        { op: 'put', key: keys.taskDefinition(family, revision), value: record, expectedModRevision: 0 },
      ]);
      return { taskDefinition: present(record), tags: record.tags };
    } catch (err) {
      if (!(err instanceof ConflictError) || attempt + 1 >= CAS_ATTEMPTS) throw err;
    }
  }
}

/** The task definition a reference names: `family` (latest ACTIVE revision), `family:revision`, or an ARN. */
export async function resolveTaskDefinition(ctx: DomainContext, ref: string): Promise<TaskDefinitionRecord> {
  const parsed = parseTaskDefinitionRef(ref);
  if (!parsed) throw new ClientException('Unable to describe task definition.');
  if (parsed.revision !== undefined) {
    const entry = await ctx.store.get<TaskDefinitionRecord>(keys.taskDefinition(parsed.family, parsed.revision));
    if (!entry) throw new ClientException(`Unable to describe task definition.`);
    return entry.value;
  }
  const revisions = await ctx.store.list<TaskDefinitionRecord>(keys.taskDefinitionsOf(parsed.family));
  for (let i = revisions.length - 1; i >= 0; i--) {
    if (revisions[i]!.value.status === 'ACTIVE') return revisions[i]!.value;
  }
  throw new ClientException('Unable to describe task definition.');
}

export async function describeTaskDefinition(ctx: DomainContext, input: { taskDefinition: string; include?: string[] }) {
  const record = await resolveTaskDefinition(ctx, input.taskDefinition);
  return {
    taskDefinition: present(record),
    ...(input.include?.includes('TAGS') ? { tags: record.tags } : {}),
  };
}

export async function listTaskDefinitions(
  ctx: DomainContext,
  input: { familyPrefix?: string; status?: TaskDefinitionStatus; sort?: 'ASC' | 'DESC'; nextToken?: string; maxResults?: number },
) {
  const status = input.status ?? 'ACTIVE';
  const prefix = input.familyPrefix;
  if (input.sort === 'DESC') {
    // Newest first: read all matching keys and page over them in reverse. Families are few
    // compared with tasks, so this stays small; ASC (the default) pages through the store.
    const all = (await ctx.store.list<TaskDefinitionRecord>(keys.taskDefinitions()))
      .filter((e) => e.value.status === status && (prefix === undefined || e.value.family.startsWith(prefix)))
      .reverse();
    const start = input.nextToken === undefined ? 0 : Number.parseInt(input.nextToken, 36);
    if (!Number.isInteger(start) || start < 0) throw new InvalidParameterException('Invalid nextToken.');
    const limit = input.maxResults ?? 100;
    const slice = all.slice(start, start + limit);
    return {
      taskDefinitionArns: slice.map((e) => e.value.taskDefinitionArn),
      nextToken: start + limit < all.length ? (start + limit).toString(36) : undefined,
    };
  }
  const page = await pageThrough<TaskDefinitionRecord>(ctx.store, keys.taskDefinitions(), {
    ...input,
    filter: (d) => d.status === status && (prefix === undefined || d.family.startsWith(prefix)),
  });
  return { taskDefinitionArns: page.items.map((e) => e.value.taskDefinitionArn), nextToken: page.nextToken };
}

export async function listTaskDefinitionFamilies(
  ctx: DomainContext,
  input: { familyPrefix?: string; status?: 'ACTIVE' | 'INACTIVE' | 'ALL'; nextToken?: string; maxResults?: number },
) {
  const status = input.status ?? 'ACTIVE';
  const families: string[] = [];
  const page = await pageThrough<FamilyRecord>(ctx.store, keys.families(), {
    nextToken: input.nextToken,
    maxResults: input.maxResults,
    filter: (f) => input.familyPrefix === undefined || f.family.startsWith(input.familyPrefix),
  });
  for (const f of page.items) {
    if (status !== 'ALL') {
      // A family is ACTIVE while any revision is ACTIVE, INACTIVE once none is.
      const revisions = await ctx.store.list<TaskDefinitionRecord>(keys.taskDefinitionsOf(f.value.family));
      const active = revisions.some((r) => r.value.status === 'ACTIVE');
      if (active !== (status === 'ACTIVE')) continue;
    }
    families.push(f.value.family);
  }
  return { families, nextToken: page.nextToken };
}

export async function deregisterTaskDefinition(ctx: DomainContext, input: { taskDefinition: string }) {
  const parsed = parseTaskDefinitionRef(input.taskDefinition);
  if (!parsed || parsed.revision === undefined) {
    throw new ClientException('A task definition revision must be specified (family:revision or the full ARN).');
  }
  const key = keys.taskDefinition(parsed.family, parsed.revision);
  const entry = await ctx.store.get<TaskDefinitionRecord>(key);
  if (!entry || entry.value.status === 'DELETE_IN_PROGRESS') throw new ClientException('Unable to describe task definition.');
  if (entry.value.status === 'INACTIVE') return { taskDefinition: present(entry.value) };
  const record: TaskDefinitionRecord = { ...entry.value, status: 'INACTIVE', deregisteredAt: ctx.nowMs() / 1000 };
  await ctx.store.put(key, record, { expectedModRevision: entry.modRevision });
  return { taskDefinition: present(record) };
}

export async function deleteTaskDefinitions(ctx: DomainContext, input: { taskDefinitions: string[] }) {
  if (input.taskDefinitions.length > 10) throw new InvalidParameterException('taskDefinitions can have at most 10 items.');
  const taskDefinitions: Wire<TaskDefinition>[] = [];
  const failures: { arn: string; reason: string; detail?: string }[] = [];
  for (const ref of input.taskDefinitions) {
    const parsed = parseTaskDefinitionRef(ref);
    const arn = parsed?.revision !== undefined ? taskDefinitionArn(ctx.scope, parsed.family, parsed.revision) : ref;
    if (!parsed || parsed.revision === undefined) {
      failures.push({ arn, reason: 'The specified task definition identifier is invalid. Specify a valid name or ARN and try again.' });
      continue;
    }
    const key = keys.taskDefinition(parsed.family, parsed.revision);
    const entry = await ctx.store.get<TaskDefinitionRecord>(key);
    if (!entry) { failures.push({ arn, reason: 'TASK_DEFINITION_NOT_FOUND' }); continue; }
    if (entry.value.status === 'ACTIVE') {
      failures.push({ arn, reason: 'The specified task definition is still in ACTIVE status. Please deregister the target and try again.' });
      continue;
    }
    const record: TaskDefinitionRecord = entry.value.status === 'DELETE_IN_PROGRESS'
      ? entry.value
      : { ...entry.value, status: 'DELETE_IN_PROGRESS', deleteRequestedAt: ctx.nowMs() / 1000 };
    if (record !== entry.value) await ctx.store.put(key, record, { expectedModRevision: entry.modRevision });
    taskDefinitions.push(present(record));
  }
  return { taskDefinitions, failures };
}

/** The definition as answered: the stored record without its tags (they travel beside it). */
function present(record: TaskDefinitionRecord): Wire<TaskDefinition> {
  const { tags: _tags, ...definition } = record;
  return definition;
}

function parseTaskDefinitionRef(ref: string): { family: string; revision?: number } | undefined {
  let body = ref;
  if (ref.startsWith('arn:')) {
    const arn = parseArn(ref);
    if (!arn || arn.resourceType !== 'task-definition' || arn.path.length !== 1) return undefined;
    body = arn.path[0]!;
  }
  const m = /^([A-Za-z0-9_-]{1,255})(?::([0-9]{1,10}))?$/.exec(body);
  if (!m) return undefined;
  return m[2] === undefined ? { family: m[1]! } : { family: m[1]!, revision: Number(m[2]) };
}

/** Task-level cpu: CPU units as a number, or `N vCPU` (1 vCPU = 1024 units). */
export function parseTaskCpu(cpu: string | undefined): number | undefined {
  if (cpu === undefined) return undefined;
  const m = /^\s*(\d+(?:\.\d+)?)\s*(vcpu)?\s*$/i.exec(cpu);
  const units = m ? Math.round(Number(m[1]) * (m[2] ? 1024 : 1)) : NaN;
  if (!Number.isFinite(units) || units < 128 || units > 196608) {
    throw new ClientException(`Invalid 'cpu' setting for task: '${cpu}'. Give CPU units (128-196608) or vCPUs such as '1 vCPU'.`);
  }
  return units;
}

/** Task-level memory: MiB as a number, or `N GB` (1 GB = 1024 MiB). */
export function parseTaskMemory(memory: string | undefined): number | undefined {
  if (memory === undefined) return undefined;
  const m = /^\s*(\d+(?:\.\d+)?)\s*(gb|mb|mib|gib)?\s*$/i.exec(memory);
  const mib = m ? Math.round(Number(m[1]) * (m[2] && m[2].toLowerCase().startsWith('g') ? 1024 : 1)) : NaN;
  if (!Number.isFinite(mib) || mib < 6) {
    throw new ClientException(`Invalid 'memory' setting for task: '${memory}'. Give MiB (at least 6) or a size such as '1 GB'.`);
  }
  return mib;
}

function validateContainers(definitions: ContainerDefinition[], networkMode: string, hasTaskMemory: boolean): ContainerDefinition[] {
  if (definitions.length === 0) throw new ClientException('Container list cannot be empty.');
  if (definitions.length > MAX_CONTAINERS) throw new ClientException(`A task definition can have at most ${MAX_CONTAINERS} containers.`);
  const names = new Set<string>();
  for (const c of definitions) {
    if (!c.name) throw new ClientException('Container.name should not be null or empty.');
    if (!NAME.test(c.name)) throw new ClientException(`Container name '${c.name}' is invalid: use up to 255 letters, numbers, hyphens and underscores.`);
    if (names.has(c.name)) throw new ClientException(`Container names must be unique within a task definition: '${c.name}' is repeated.`);
    names.add(c.name);
  }
  const out = definitions.map((c, i) => validateContainer(c, i, networkMode, hasTaskMemory));
  if (!out.some((c) => c.essential)) throw new ClientException('At least one container in a task definition must be essential.');
  const byName = new Map(out.map((c) => [c.name!, c]));
  for (const c of out) {
    for (const d of c.dependsOn ?? []) {
      const target = byName.get(d.containerName ?? '');
      if (!target) throw new ClientException(`Container '${c.name}' depends on '${d.containerName}', which is not in the task definition.`);
      if (target === c) throw new ClientException(`Container '${c.name}' cannot depend on itself.`);
      if ((d.condition === 'COMPLETE' || d.condition === 'SUCCESS') && target.essential) {
        throw new ClientException(`Container '${c.name}' has a ${d.condition} dependency on '${target.name}', which is essential; ${d.condition} can only target a non-essential container.`);
      }
      if (d.condition === 'HEALTHY' && !target.healthCheck) {
        throw new ClientException(`Container '${c.name}' has a HEALTHY dependency on '${target.name}', which has no healthCheck.`);
      }
    }
  }
  assertNoDependencyCycle(out);
  return out;
}

function validateContainer(c: ContainerDefinition, index: number, networkMode: string, hasTaskMemory: boolean): ContainerDefinition {
  const where = `containerDefinitions[${index}] ('${c.name}')`;
  if (!c.image) throw new ClientException(`Container.image should not be null or empty: ${where}.`);
  if (!hasTaskMemory && c.memory === undefined && c.memoryReservation === undefined) {
    throw new ClientException(`Invalid setting for container '${c.name}'. At least one of 'memory' or 'memoryReservation' must be specified.`);
  }
  if (c.memory !== undefined && c.memory < 6) throw new ClientException(`Invalid setting for container '${c.name}': 'memory' must be at least 6 MiB.`);
  if (c.memory !== undefined && c.memoryReservation !== undefined && c.memory < c.memoryReservation) {
    throw new ClientException(`Invalid setting for container '${c.name}'. 'memory' must be greater than or equal to 'memoryReservation'.`);
  }
  if (c.cpu !== undefined && c.cpu < 0) throw new ClientException(`Invalid setting for container '${c.name}': 'cpu' must not be negative.`);
  if (c.stopTimeout !== undefined && (c.stopTimeout < 0 || c.stopTimeout > 3600)) {
    throw new ClientException(`Invalid setting for container '${c.name}': 'stopTimeout' must be 0-3600 seconds.`);
  }
  const portMappings = (c.portMappings ?? []).map((p, j) => {
    const at = `${where}.portMappings[${j}]`;
    if (p.containerPort === undefined) throw new ClientException(`${at}: containerPort must be specified.`);
    if (p.containerPort < 1 || p.containerPort > 65535) throw new ClientException(`${at}: containerPort must be 1-65535.`);
    if (networkMode === 'none') throw new ClientException(`${at}: port mappings are not allowed with networkMode 'none'.`);
    if ((networkMode === 'host' || networkMode === 'awsvpc') && p.hostPort !== undefined && p.hostPort !== p.containerPort) {
      throw new ClientException(`When networkMode=${networkMode}, the containerPort value must match the hostPort value: ${at}.`);
    }
    if (p.hostPort !== undefined && (p.hostPort < 0 || p.hostPort > 65535)) throw new ClientException(`${at}: hostPort must be 0-65535.`);
    const hostPort = networkMode === 'bridge' ? p.hostPort ?? 0 : p.containerPort;
    return { ...p, containerPort: p.containerPort, hostPort, protocol: p.protocol ?? 'tcp' };
  });
  const hc = c.healthCheck;
  if (hc) {
    const check = (v: number | undefined, min: number, max: number, name: string) => {
      if (v !== undefined && (v < min || v > max)) throw new ClientException(`Invalid setting for container '${c.name}': healthCheck.${name} must be ${min}-${max}.`);
    };
    if (!hc.command || hc.command.length === 0) throw new ClientException(`Invalid setting for container '${c.name}': healthCheck.command must not be empty.`);
    if (hc.command.length > 1 && !['CMD', 'CMD-SHELL', 'NONE'].includes(hc.command[0]!)) {
      throw new ClientException(`Invalid setting for container '${c.name}': healthCheck.command must start with CMD or CMD-SHELL.`);
    }
    check(hc.interval, 5, 300, 'interval');
    check(hc.timeout, 2, 60, 'timeout');
    check(hc.retries, 1, 10, 'retries');
    check(hc.startPeriod, 0, 300, 'startPeriod');
  }
  // The defaults ECS fills in on registration, so a described definition reads as ECS's does.
  return {
    ...c,
    cpu: c.cpu ?? 0,
    portMappings,
    essential: c.essential ?? true,
    environment: c.environment ?? [],
    mountPoints: c.mountPoints ?? [],
    volumesFrom: c.volumesFrom ?? [],
    ...(hc ? { healthCheck: { ...hc, interval: hc.interval ?? 30, timeout: hc.timeout ?? 5, retries: hc.retries ?? 3 } } : {}),
  };
}

function assertNoDependencyCycle(containers: ContainerDefinition[]): void {
  const deps = new Map(containers.map((c) => [c.name!, (c.dependsOn ?? []).map((d) => d.containerName!)]));
  const state = new Map<string, 'visiting' | 'done'>();
  const visit = (name: string): void => {
    if (state.get(name) === 'done') return;
    if (state.get(name) === 'visiting') throw new ClientException(`Container dependencies form a cycle through '${name}'.`);
    state.set(name, 'visiting');
    for (const d of deps.get(name) ?? []) visit(d);
    state.set(name, 'done');
  };
  for (const name of deps.keys()) visit(name);
}

