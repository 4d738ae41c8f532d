/**
 * Application Auto Scaling's scheduled actions on ECS services: PutScheduledAction,
 * DescribeScheduledActions, DeleteScheduledAction. The autoscaling controller runs them: at each
 * time the schedule names (within StartTime and EndTime) the target's MinCapacity and MaxCapacity
 * become the action's.
 */
import type {
  DeleteScheduledActionRequest, DescribeScheduledActionsRequest, PutScheduledActionRequest,
} from '@aws-sdk/client-application-auto-scaling';
import { ConflictError, ObjectNotFoundException, ValidationException, newUuid, scheduledActionArn } from '../model/index.js';
import type { Entry } from '../store/index.js';
import type { ScheduledActionRecord, ScheduledActionState } from './autoscaling-records.js';
import type { DomainContext, Wire } from './context.js';
import { epochSeconds } from './context.js';
import { keys } from './keys.js';
import {
  ECS_NAMESPACE, deleteWithState, pageOf, readWithStates, requireEcsTarget, requireScalableTarget, type TargetRef,
} from './scalable-targets.js';
import { parseSchedule, validateTimezone } from './schedule-expression.js';

const CAS_ATTEMPTS = 10;

/**
 * PutScheduledAction: creates the named action of an existing scalable target (Schedule then
 * required) or updates the members given. The schedule, time zone, window and bounds are checked
 * before anything is written.
 */
export async function putScheduledAction(ctx: DomainContext, input: Wire<PutScheduledActionRequest>): Promise<void> {
  requireEcsTarget(input);
  const ref = input as TargetRef;
  const name = input.ScheduledActionName!;
  const key = keys.scheduledAction(ref.ServiceNamespace, ref.ScalableDimension, ref.ResourceId, name);
  for (let attempt = 0; ; attempt++) {
    const target = await requireScalableTarget(ctx, ref);
    const existing = await ctx.store.get<ScheduledActionRecord>(key);
    const schedule = input.Schedule ?? existing?.value.Schedule;
    if (schedule === undefined) throw new ValidationException('Schedule is required to create a scheduled action.');
    parseSchedule(schedule);
    const timezone = input.Timezone ?? existing?.value.Timezone;
    if (timezone !== undefined) validateTimezone(timezone);
    const startTime = input.StartTime ?? existing?.value.StartTime;
    const endTime = input.EndTime ?? existing?.value.EndTime;
    if (startTime !== undefined && endTime !== undefined && endTime <= startTime) {
      throw new ValidationException('EndTime must be later than StartTime.');
    }
    const action = { ...existing?.value.ScalableTargetAction, ...input.ScalableTargetAction };
    if (action.MinCapacity === undefined && action.MaxCapacity === undefined) {
      throw new ValidationException('ScalableTargetAction must specify MinCapacity, MaxCapacity or both.');
    }
    for (const [field, value] of [['MinCapacity', action.MinCapacity], ['MaxCapacity', action.MaxCapacity]] as const) {
      if (value !== undefined && value < 0) throw new ValidationException(`ScalableTargetAction.${field} must be 0 or more, not ${value}.`);
    }
    if (action.MinCapacity !== undefined && action.MaxCapacity !== undefined && action.MinCapacity > action.MaxCapacity) {
      throw new ValidationException(`ScalableTargetAction.MinCapacity (${action.MinCapacity}) cannot be greater than MaxCapacity (${action.MaxCapacity}).`);
    }
    const record: ScheduledActionRecord = {
      ScheduledActionName: name,
      ScheduledActionARN: existing?.value.ScheduledActionARN ?? scheduledActionArn(ctx.scope, newUuid(), ref.ServiceNamespace, ref.ResourceId, name),
      ServiceNamespace: ref.ServiceNamespace,
      Schedule: schedule,
      ...(timezone !== undefined ? { Timezone: timezone } : {}),
      ResourceId: ref.ResourceId,
      ScalableDimension: ref.ScalableDimension,
      ...(startTime !== undefined ? { StartTime: startTime } : {}),
      ...(endTime !== undefined ? { EndTime: endTime } : {}),
      ScalableTargetAction: action,
      CreationTime: existing?.value.CreationTime ?? epochSeconds(ctx.nowMs()),
    };
    try {
      // A changed schedule is evaluated afresh from now: runs it named in the past are not replayed.
      await ctx.store.txn([
        { op: 'check', key: target.key, expectedModRevision: target.modRevision },
        { op: 'put', key, value: record, expectedModRevision: existing?.modRevision ?? 0 },
        { op: 'put', key: keys.scheduledActionState(key), value: { evaluatedThroughMs: ctx.nowMs() } satisfies ScheduledActionState },
      ]);
      ctx.log({ msg: existing ? 'scheduled action updated' : 'scheduled action created', scheduledActionArn: record.ScheduledActionARN, schedule });
      return;
    } catch (err) {
      if (!(err instanceof ConflictError) || attempt + 1 >= CAS_ATTEMPTS) throw err;
    }
  }
}

export async function describeScheduledActions(ctx: DomainContext, input: DescribeScheduledActionsRequest) {
  if (input.ServiceNamespace !== ECS_NAMESPACE) return { ScheduledActions: [] };
  const names = input.ScheduledActionNames !== undefined && input.ScheduledActionNames.length > 0 ? new Set(input.ScheduledActionNames) : undefined;
  const page = await pageOf<ScheduledActionRecord>(ctx, keys.scheduledActionsOf(ECS_NAMESPACE), input, (a) =>
    (names === undefined || names.has(a.ScheduledActionName)) && (input.ResourceId === undefined || a.ResourceId === input.ResourceId) &&
    (input.ScalableDimension === undefined || a.ScalableDimension === input.ScalableDimension));
  return { ScheduledActions: page.items.map((e) => e.value), NextToken: page.nextToken };
}

export async function deleteScheduledAction(ctx: DomainContext, input: DeleteScheduledActionRequest): Promise<void> {
  requireEcsTarget(input);
  const key = keys.scheduledAction(input.ServiceNamespace!, input.ScalableDimension!, input.ResourceId!, input.ScheduledActionName!);
  const deleted = await deleteWithState<ScheduledActionRecord>(ctx, key, keys.scheduledActionState(key), () => new ObjectNotFoundException(
    `No scheduled action found for service namespace: ${input.ServiceNamespace}, resource ID: ${input.ResourceId}, ` +
    `scalable dimension: ${input.ScalableDimension}, scheduled action name: ${input.ScheduledActionName}`));
  ctx.log({ msg: 'scheduled action deleted', scheduledActionArn: deleted.ScheduledActionARN });
}

/** A target's scheduled actions, with how far the controller has evaluated each. */
export async function readTargetScheduledActions(
  ctx: DomainContext, ref: TargetRef,
): Promise<{ action: ScheduledActionRecord; state: Entry<ScheduledActionState> | undefined; stateKey: string }[]> {
  const prefix = keys.scheduledActionsOfTarget(ref.ServiceNamespace, ref.ScalableDimension, ref.ResourceId);
  return (await readWithStates<ScheduledActionRecord, ScheduledActionState>(ctx, prefix, keys.scheduledActionState))
    .map(({ value, state, stateKey }) => ({ action: value, state, stateKey }));
}
