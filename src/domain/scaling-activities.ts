/**
 * Scaling activities: what Application Auto Scaling did to a target and why, newest first, kept
 * six weeks as the service keeps them. Written by the autoscaling controller, read by
 * DescribeScalingActivities.
 */
import type { DescribeScalingActivitiesRequest } from '@aws-sdk/client-application-auto-scaling';
import { ValidationException, newUuid } from '../model/index.js';
import type { ScalingActivityRecord } from './autoscaling-records.js';
import type { DomainContext } from './context.js';
import { epochSeconds } from './context.js';
import { keys } from './keys.js';
import { ECS_NAMESPACE, pageOf, type TargetRef } from './scalable-targets.js';

/** Application Auto Scaling answers the activities of the previous six weeks. */
export const SCALING_ACTIVITY_RETENTION_MS = 42 * 24 * 3600_000;

export interface ScalingActivityInput {
  target: TargetRef;
  /** e.g. `Setting desired count to 3.` */
  description: string;
  /** e.g. `monitor alarm … in state ALARM triggered policy …` */
  cause: string;
  statusMessage: string;
  startMs: number;
  endMs: number;
}

/** Orders activities recorded in the same millisecond: the later one sorts first, as newer. */
let sequence = 0;
const SEQUENCE_LIMIT = 1_000_000;

export async function recordScalingActivity(ctx: DomainContext, input: ScalingActivityInput): Promise<ScalingActivityRecord> {
  const id = newUuid();
  sequence = (sequence + 1) % SEQUENCE_LIMIT;
  const order = String(SEQUENCE_LIMIT - 1 - sequence).padStart(6, '0');
  const record: ScalingActivityRecord = {
    ActivityId: id,
    ServiceNamespace: input.target.ServiceNamespace as ScalingActivityRecord['ServiceNamespace'],
    ResourceId: input.target.ResourceId,
    ScalableDimension: input.target.ScalableDimension as ScalingActivityRecord['ScalableDimension'],
    Description: input.description,
    Cause: input.cause,
    StartTime: epochSeconds(input.startMs),
    EndTime: epochSeconds(input.endMs),
    StatusCode: 'Successful',
    StatusMessage: input.statusMessage,
  };
  await ctx.store.put(keys.scalingActivity(input.target.ServiceNamespace, input.startMs, `${order}-${id}`), record);
  ctx.log({ msg: 'scaling activity', resourceId: input.target.ResourceId, description: input.description, cause: input.cause });
  return record;
}

export async function describeScalingActivities(ctx: DomainContext, input: DescribeScalingActivitiesRequest) {
  if (input.ScalableDimension !== undefined && input.ResourceId === undefined) {
    throw new ValidationException('ResourceId must be specified when ScalableDimension is specified.');
  }
  if (input.ServiceNamespace !== ECS_NAMESPACE) return { ScalingActivities: [] };
  const page = await pageOf<ScalingActivityRecord>(ctx, keys.scalingActivitiesOf(ECS_NAMESPACE), input, (a) =>
    (input.ResourceId === undefined || a.ResourceId === input.ResourceId) &&
    (input.ScalableDimension === undefined || a.ScalableDimension === input.ScalableDimension));
  return { ScalingActivities: page.items.map((e) => e.value), NextToken: page.nextToken };
}

/** Deletes activities older than the retention; answers how many went. */
export async function pruneScalingActivities(ctx: DomainContext, nowMs: number): Promise<number> {
  const prefix = keys.scalingActivitiesOf(ECS_NAMESPACE);
  // Keys count down from the newest, so everything after the cutoff's key is older.
  const cutoff = keys.scalingActivity(ECS_NAMESPACE, nowMs - SCALING_ACTIVITY_RETENTION_MS, '');
  const old = await ctx.store.list(prefix, { startAfter: cutoff });
  for (const e of old) await ctx.store.delete(e.key);
  return old.length;
}
