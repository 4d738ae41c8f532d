/**
 * Application Auto Scaling's scalable targets for ECS services: RegisterScalableTarget,
 * DescribeScalableTargets, DeregisterScalableTarget, and the tags of a target. Wharf scales one
 * dimension, `ecs:service:DesiredCount` of namespace `ecs`, on resource ids
 * `service/<cluster>/<service>`; anything else is refused with the service's own wording.
 */
import type {
  DeregisterScalableTargetRequest, DescribeScalableTargetsRequest, RegisterScalableTargetRequest, ScalableDimension, ScalableTarget,
  ServiceNamespace,
} from '@aws-sdk/client-application-auto-scaling';
import {
  ConflictError, InvalidParameterException, ObjectNotFoundException, ResourceNotFoundException,
  TooManyTagsException, ValidationException, newScalableTargetId, scalableTargetArn,
} from '../model/index.js';
import type { Entry } from '../store/index.js';
import type { ScalableTargetRecord, ScalingPolicyState, ScheduledActionState } from './autoscaling-records.js';
import type { DomainContext, Wire } from './context.js';
import { epochSeconds } from './context.js';
import { keys } from './keys.js';
import { pageThrough, type Page } from './pagination.js';
import type { ServiceRecord } from './records.js';

export const ECS_NAMESPACE = 'ecs';
export const ECS_DESIRED_COUNT = 'ecs:service:DesiredCount';
const CAS_ATTEMPTS = 10;
const MAX_TAGS = 50;
/** Application Auto Scaling pages hold at most 50 items, and 50 by default. */
const MAX_PAGE = 50;
/** ECS's quota: a service runs at most 5,000 tasks, so no capacity bound can go beyond. */
const MAX_CAPACITY = 5000;
const SERVICE_RESOURCE_ID = /^service\/([A-Za-z0-9_-]{1,255})\/([A-Za-z0-9_-]{1,255})$/;

/** The target a request names: namespace, dimension and resource id, checked to be one Wharf scales. */
export interface TargetRef { ServiceNamespace: ServiceNamespace; ScalableDimension: ScalableDimension; ResourceId: string }

/** The ECS cluster and service an ECS resource id names. */
export interface ServiceRef { clusterName: string; serviceName: string }

/**
 * Checks that a request names an ECS service's desired count, and answers the service it names.
 * Other namespaces and dimensions get Application Auto Scaling's own refusal.
 */
export function requireEcsTarget(ref: { ServiceNamespace?: string; ScalableDimension?: string; ResourceId?: string }): ServiceRef {
  if (ref.ServiceNamespace !== ECS_NAMESPACE || (ref.ScalableDimension !== undefined && ref.ScalableDimension !== ECS_DESIRED_COUNT)) {
    throw new ValidationException('Unsupported service namespace, resource type or scalable dimension');
  }
  return serviceOfResourceId(ref.ResourceId ?? '');
}

export function serviceOfResourceId(resourceId: string): ServiceRef {
  const m = SERVICE_RESOURCE_ID.exec(resourceId);
  if (!m) {
    throw new ValidationException(`Unsupported resource ID: ${resourceId}. An ECS service's resource ID is service/<cluster-name>/<service-name>.`);
  }
  return { clusterName: m[1]!, serviceName: m[2]! };
}

export function noTargetMessage(ref: TargetRef): string {
  return `No scalable target registered for service namespace: ${ref.ServiceNamespace}, resource ID: ${ref.ResourceId}, scalable dimension: ${ref.ScalableDimension}`;
}

/** The scalable target a request names, or ObjectNotFoundException in Application Auto Scaling's words. */
export async function requireScalableTarget(ctx: DomainContext, ref: TargetRef): Promise<Entry<ScalableTargetRecord>> {
  requireEcsTarget(ref);
  const entry = await ctx.store.get<ScalableTargetRecord>(keys.scalableTarget(ref.ServiceNamespace, ref.ScalableDimension, ref.ResourceId));
  if (!entry) throw new ObjectNotFoundException(noTargetMessage(ref));
  return entry;
}

/**
 * RegisterScalableTarget: creates a target on an existing, ACTIVE ECS service (MinCapacity and
 * MaxCapacity then required), or updates the bounds, suspended state and nothing else of an
 * existing one. Tags only go with a new target, as in Application Auto Scaling.
 */
export async function registerScalableTarget(ctx: DomainContext, input: RegisterScalableTargetRequest): Promise<{ ScalableTargetARN: string }> {
  const { clusterName, serviceName } = requireEcsTarget(input);
  const ref = { ServiceNamespace: input.ServiceNamespace!, ScalableDimension: input.ScalableDimension!, ResourceId: input.ResourceId! };
  for (const [name, value] of [['MinCapacity', input.MinCapacity], ['MaxCapacity', input.MaxCapacity]] as const) {
    if (value !== undefined && (value < 0 || value > MAX_CAPACITY)) {
      throw new ValidationException(`${name} must be between 0 and ${MAX_CAPACITY} for an ECS service, not ${value}.`);
    }
  }
  const service = await ctx.store.get<ServiceRecord>(keys.service(clusterName, serviceName));
  if (!service || service.value.status !== 'ACTIVE') throw new ValidationException(`ECS service doesn't exist: ${input.ResourceId}`);
  // A DAEMON service runs one task per instance: it has no desired count to scale.
  if (service.value.schedulingStrategy === 'DAEMON') {
    throw new ValidationException(`ECS service ${input.ResourceId} uses the DAEMON scheduling strategy; only REPLICA services can be scaled.`);
  }
  const key = keys.scalableTarget(ref.ServiceNamespace, ref.ScalableDimension, ref.ResourceId);
  for (let attempt = 0; ; attempt++) {
    const existing = await ctx.store.get<ScalableTargetRecord>(key);
    if (existing && input.Tags !== undefined) {
      throw new ValidationException('The scalable target that you tried to tag already exists. To update tags on an existing scalable target, use the TagResource API.');
    }
    if (!existing && (input.MinCapacity === undefined || input.MaxCapacity === undefined)) {
      throw new ValidationException('MinCapacity and MaxCapacity are required to register a new scalable target.');
    }
    const min = input.MinCapacity ?? existing!.value.MinCapacity;
    const max = input.MaxCapacity ?? existing!.value.MaxCapacity;
    if (min > max) throw new ValidationException(`Minimum capacity (${min}) cannot be greater than maximum capacity (${max}).`);
    if (!existing) validateTags(input.Tags ?? {});
    const suspended = { ...existing?.value.SuspendedState, ...input.SuspendedState };
    const record: ScalableTargetRecord = existing
      ? { ...existing.value, MinCapacity: min, MaxCapacity: max, SuspendedState: suspended, ...(input.RoleARN !== undefined ? { RoleARN: input.RoleARN } : {}) }
      : {
        ServiceNamespace: ref.ServiceNamespace,
        ResourceId: ref.ResourceId,
        ScalableDimension: ref.ScalableDimension,
        MinCapacity: min,
        MaxCapacity: max,
        RoleARN: input.RoleARN ?? `arn:${ctx.scope.partition}:iam::${ctx.scope.accountId}:role/aws-service-role/ecs.application-autoscaling.amazonaws.com/AWSServiceRoleForApplicationAutoScaling_ECSService`,
        CreationTime: epochSeconds(ctx.nowMs()),
        SuspendedState: {
          DynamicScalingInSuspended: suspended.DynamicScalingInSuspended ?? false,
          DynamicScalingOutSuspended: suspended.DynamicScalingOutSuspended ?? false,
          ScheduledScalingSuspended: suspended.ScheduledScalingSuspended ?? false,
        },
        ScalableTargetARN: scalableTargetArn(ctx.scope, newScalableTargetId()),
        Tags: input.Tags ?? {},
      };
    try {
      await ctx.store.put(key, record, { expectedModRevision: existing?.modRevision ?? 0 });
      ctx.log({ msg: existing ? 'scalable target updated' : 'scalable target registered', resourceId: ref.ResourceId, min, max });
      return { ScalableTargetARN: record.ScalableTargetARN };
    } catch (err) {
      if (!(err instanceof ConflictError) || attempt + 1 >= CAS_ATTEMPTS) throw err;
    }
  }
}

export async function describeScalableTargets(ctx: DomainContext, input: DescribeScalableTargetsRequest) {
  if (input.ServiceNamespace !== ECS_NAMESPACE) return { ScalableTargets: [] };
  const ids = input.ResourceIds !== undefined && input.ResourceIds.length > 0 ? new Set(input.ResourceIds) : undefined;
  const page = await pageOf<ScalableTargetRecord>(ctx, keys.scalableTargetsOf(ECS_NAMESPACE), input, (t) =>
    (ids === undefined || ids.has(t.ResourceId)) && (input.ScalableDimension === undefined || t.ScalableDimension === input.ScalableDimension));
  return { ScalableTargets: page.items.map((e) => presentScalableTarget(e.value)), NextToken: page.nextToken };
}

/**
 * DeregisterScalableTarget: the target, its scaling policies and its scheduled actions go in one
 * transaction (with the controller's state of each), as Application Auto Scaling deletes them with
 * it. Its scaling activities stay describable.
 */
export async function deregisterScalableTarget(ctx: DomainContext, input: DeregisterScalableTargetRequest): Promise<void> {
  for (let attempt = 0; ; attempt++) {
    const target = await requireScalableTarget(ctx, input as TargetRef);
    const { ServiceNamespace: ns, ScalableDimension: dim, ResourceId: id } = target.value;
    const policies = await ctx.store.list(keys.scalingPoliciesOfTarget(ns, dim, id));
    const actions = await ctx.store.list(keys.scheduledActionsOfTarget(ns, dim, id));
    try {
      await ctx.store.txn([
        { op: 'delete', key: target.key, expectedModRevision: target.modRevision },
        ...policies.flatMap((p) => [
          { op: 'delete' as const, key: p.key, expectedModRevision: p.modRevision },
          { op: 'delete' as const, key: keys.scalingPolicyState(p.key) },
        ]),
        ...actions.flatMap((a) => [
          { op: 'delete' as const, key: a.key, expectedModRevision: a.modRevision },
          { op: 'delete' as const, key: keys.scheduledActionState(a.key) },
        ]),
      ]);
      ctx.log({ msg: 'scalable target deregistered', resourceId: id, policies: policies.length, scheduledActions: actions.length });
      return;
    } catch (err) {
      if (!(err instanceof ConflictError) || attempt + 1 >= CAS_ATTEMPTS) throw err;
    }
  }
}

/** A scalable target by its store key, with the revision read (undefined once deregistered). */
export async function readScalableTarget(ctx: DomainContext, key: string): Promise<Entry<ScalableTargetRecord> | undefined> {
  return ctx.store.get<ScalableTargetRecord>(key);
}

/**
 * Writes what the autoscaling controller remembers of a policy or a scheduled action (its only
 * writer: no revision is compared). A state written just after its record was deleted stays
 * stray until a record of that name is created again, which starts from a fresh state.
 */
export async function writeControllerState(ctx: DomainContext, stateKey: string, state: ScalingPolicyState | ScheduledActionState): Promise<void> {
  await ctx.store.put(stateKey, state);
}

/** Every scalable target of every namespace Wharf scales (what the autoscaling controller walks). */
export async function listScalableTargets(ctx: DomainContext): Promise<Entry<ScalableTargetRecord>[]> {
  return ctx.store.list<ScalableTargetRecord>(keys.scalableTargets());
}

/**
 * Writes a target's capacity bounds (a scheduled action ran), provided the target has not changed
 * since it was read. Answers false on a conflict: the caller reads again and decides afresh.
 */
export async function writeScalableTargetCapacity(
  ctx: DomainContext, entry: Entry<ScalableTargetRecord>, bounds: { MinCapacity: number; MaxCapacity: number },
): Promise<boolean> {
  try {
    await ctx.store.put(entry.key, { ...entry.value, ...bounds }, { expectedModRevision: entry.modRevision });
    return true;
  } catch (err) {
    if (err instanceof ConflictError) return false;
    throw err;
  }
}

export async function tagScalableTarget(ctx: DomainContext, input: { ResourceARN?: string; Tags?: Record<string, string> }): Promise<void> {
  await updateTags(ctx, input.ResourceARN ?? '', (tags) => {
    const next = { ...tags, ...input.Tags };
    validateTags(next);
    return next;
  });
}

export async function untagScalableTarget(ctx: DomainContext, input: { ResourceARN?: string; TagKeys?: string[] }): Promise<void> {
  await updateTags(ctx, input.ResourceARN ?? '', (tags) => {
    const next = { ...tags };
    for (const k of input.TagKeys ?? []) delete next[k];
    return next;
  });
}

export async function listScalableTargetTags(ctx: DomainContext, input: { ResourceARN?: string }): Promise<Record<string, string>> {
  return (await targetByArn(ctx, input.ResourceARN ?? '')).value.Tags;
}

/** A target as answered: without its tags, which only ListTagsForResource shows. */
export function presentScalableTarget(record: ScalableTargetRecord): Wire<ScalableTarget> {
  const { Tags: _tags, ...out } = record;
  return out;
}

/**
 * One page of the records under `prefix` that pass `filter`, with Application Auto Scaling's page
 * size (at most 50) and its error for a token it did not give.
 */
export async function pageOf<T>(
  ctx: DomainContext, prefix: string, input: { MaxResults?: number; NextToken?: string }, filter: (value: T) => boolean,
): Promise<Page<T>> {
  if (input.MaxResults !== undefined && (input.MaxResults < 1 || input.MaxResults > MAX_PAGE)) {
    throw new ValidationException(`1 validation error detected: Value '${input.MaxResults}' at 'maxResults' failed to satisfy constraint: Member must have value between 1 and ${MAX_PAGE}`);
  }
  try {
    return await pageThrough<T>(ctx.store, prefix, { nextToken: input.NextToken, maxResults: input.MaxResults, defaultMaxResults: MAX_PAGE, filter });
  } catch (err) {
    if (err instanceof InvalidParameterException) throw new ValidationException('Invalid NextToken');
    throw err;
  }
}

async function targetByArn(ctx: DomainContext, arn: string): Promise<Entry<ScalableTargetRecord>> {
  const found = (await listScalableTargets(ctx)).find((e) => e.value.ScalableTargetARN === arn);
  if (!found) throw new ResourceNotFoundException(`No scalable target found for ARN: ${arn}`);
  return found;
}

async function updateTags(ctx: DomainContext, arn: string, change: (tags: Record<string, string>) => Record<string, string>): Promise<void> {
  for (let attempt = 0; ; attempt++) {
    const entry = await targetByArn(ctx, arn);
    const record = { ...entry.value, Tags: change(entry.value.Tags) };
    try {
      await ctx.store.put(entry.key, record, { expectedModRevision: entry.modRevision });
      return;
    } catch (err) {
      if (!(err instanceof ConflictError) || attempt + 1 >= CAS_ATTEMPTS) throw err;
    }
  }
}

/** Application Auto Scaling's tag rules beyond the model's lengths: at most 50, `aws:` reserved. */
function validateTags(tags: Record<string, string>): void {
  const names = Object.keys(tags);
  if (names.length > MAX_TAGS) throw new TooManyTagsException(`A scalable target can have at most ${MAX_TAGS} tags.`);
  const reserved = names.find((k) => k.toLowerCase().startsWith('aws:'));
  if (reserved !== undefined) throw new ValidationException(`Tag key '${reserved}' uses the reserved prefix 'aws:'.`);
}

/** The ECS service a target scales, as stored (undefined when it is gone). */
export async function readTargetService(ctx: DomainContext, resourceId: string): Promise<Entry<ServiceRecord> | undefined> {
  const { clusterName, serviceName } = serviceOfResourceId(resourceId);
  return ctx.store.get<ServiceRecord>(keys.service(clusterName, serviceName));
}

/**
 * Deletes a policy or scheduled action together with the controller's state of it (one
 * transaction, against the revision read); `missing` is the error when the record is not there.
 */
export async function deleteWithState<T>(
  ctx: DomainContext, key: string, stateKey: string, missing: () => Error,
): Promise<T> {
  for (let attempt = 0; ; attempt++) {
    const entry = await ctx.store.get<T>(key);
    if (!entry) throw missing();
    try {
      await ctx.store.txn([
        { op: 'delete', key, expectedModRevision: entry.modRevision },
        { op: 'delete', key: stateKey },
      ]);
      return entry.value;
    } catch (err) {
      if (!(err instanceof ConflictError) || attempt + 1 >= CAS_ATTEMPTS) throw err;
    }
  }
}

/**
 * The records of a target under `prefix`, each with the controller's state record (at the key
 * `stateKeyOf` gives): what one evaluation reads.
 */
export async function readWithStates<T, S>(
  ctx: DomainContext, prefix: string, stateKeyOf: (key: string) => string,
): Promise<{ value: T; state: Entry<S> | undefined; stateKey: string }[]> {
  const records = await ctx.store.list<T>(prefix);
  return Promise.all(records.map(async (r) => {
    const stateKey = stateKeyOf(r.key);
    return { value: r.value, state: await ctx.store.get<S>(stateKey), stateKey };
  }));
}
