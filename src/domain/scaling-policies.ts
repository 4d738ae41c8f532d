/**
 * Application Auto Scaling's scaling policies on ECS services: PutScalingPolicy,
 * DescribeScalingPolicies, DeleteScalingPolicy, and the controller's per-policy state.
 *
 * Target tracking policies take ECSServiceAverageCPUUtilization, ECSServiceAverageMemoryUtilization,
 * ALBRequestCountPerTarget (with its ResourceLabel) or a customized metric of one statistic; their
 * two alarms (AlarmHigh, AlarmLow) are evaluated by the autoscaling controller itself. Step scaling
 * policies run when a CloudWatch alarm naming their ARN in AlarmActions is in ALARM.
 */
import type {
  DeleteScalingPolicyRequest, DescribeScalingPoliciesRequest, PutScalingPolicyRequest, StepAdjustment,
  StepScalingPolicyConfiguration, TargetTrackingScalingPolicyConfiguration,
} from '@aws-sdk/client-application-auto-scaling';
import { ConflictError, ObjectNotFoundException, ValidationException, alarmArn, newUuid, scalingPolicyArn } from '../model/index.js';
import type { Entry } from '../store/index.js';
import { listAlarmsWithActions } from './alarm-actions.js';
import type { ScalingPolicyRecord, ScalingPolicyState } from './autoscaling-records.js';
import type { DomainContext, Wire } from './context.js';
import { epochSeconds } from './context.js';
import { keys } from './keys.js';
import {
  ECS_NAMESPACE, deleteWithState, pageOf, readWithStates, requireEcsTarget, requireScalableTarget, type TargetRef,
} from './scalable-targets.js';

const CAS_ATTEMPTS = 10;
/** The predefined metrics Application Auto Scaling offers for ECS services. */
const ECS_METRIC_TYPES = new Set(['ECSServiceAverageCPUUtilization', 'ECSServiceAverageMemoryUtilization', 'ALBRequestCountPerTarget']);
const ALB_RESOURCE_LABEL = /^app\/[^/]+\/[^/]+\/targetgroup\/[^/]+\/[^/]+$/;

/**
 * PutScalingPolicy: creates or replaces the named policy of an existing scalable target. Every
 * rule is checked before anything is written; a policy keeps its ARN, creation time and alarm
 * names across updates.
 */
export async function putScalingPolicy(ctx: DomainContext, input: PutScalingPolicyRequest) {
  requireEcsTarget(input);
  const type = input.PolicyType ?? 'StepScaling';
  if (type === 'PredictiveScaling') throw new ValidationException('Wharf does not support PredictiveScaling policies; use TargetTrackingScaling or StepScaling.');
  const configuration = type === 'TargetTrackingScaling'
    ? { TargetTrackingScalingPolicyConfiguration: validateTargetTracking(input.TargetTrackingScalingPolicyConfiguration, input.StepScalingPolicyConfiguration) }
    : { StepScalingPolicyConfiguration: validateStepScaling(input.StepScalingPolicyConfiguration, input.TargetTrackingScalingPolicyConfiguration) };
  const ref = input as TargetRef;
  const name = input.PolicyName!;
  const key = keys.scalingPolicy(ref.ServiceNamespace, ref.ScalableDimension, ref.ResourceId, name);
  for (let attempt = 0; ; attempt++) {
    const target = await requireScalableTarget(ctx, ref);
    const siblings = await ctx.store.list<ScalingPolicyRecord>(keys.scalingPoliciesOfTarget(ref.ServiceNamespace, ref.ScalableDimension, ref.ResourceId));
    const existing = siblings.find((e) => e.key === key);
    const tracking = configuration.TargetTrackingScalingPolicyConfiguration;
    if (tracking) {
      const metric = JSON.stringify(metricOf(tracking));
      const same = siblings.find((e) => e.key !== key && e.value.TargetTrackingScalingPolicyConfiguration &&
        JSON.stringify(metricOf(e.value.TargetTrackingScalingPolicyConfiguration)) === metric);
      if (same) throw new ValidationException(`Target tracking policy ${same.value.PolicyName} already tracks this metric on ${ref.ResourceId}; each target tracking policy of a target must use a different metric.`);
    }
    const uuid = existing?.value.PolicyARN.split(':')[6] ?? newUuid();
    const record: ScalingPolicyRecord = {
      PolicyARN: existing?.value.PolicyARN ?? scalingPolicyArn(ctx.scope, uuid, ref.ServiceNamespace, ref.ResourceId, name),
      PolicyName: name,
      ServiceNamespace: ref.ServiceNamespace,
      ResourceId: ref.ResourceId,
      ScalableDimension: ref.ScalableDimension,
      PolicyType: type,
      ...configuration,
      Alarms: type === 'TargetTrackingScaling' ? trackingAlarms(ctx, ref.ResourceId, uuid) : [],
      CreationTime: existing?.value.CreationTime ?? epochSeconds(ctx.nowMs()),
    };
    try {
      await ctx.store.txn([
        { op: 'check', key: target.key, expectedModRevision: target.modRevision },
        { op: 'put', key, value: record, expectedModRevision: existing?.modRevision ?? 0 },
        // A new policy starts without cooldowns, whatever a deleted namesake left behind.
        ...(existing ? [] : [{ op: 'delete' as const, key: keys.scalingPolicyState(key) }]),
      ]);
      ctx.log({ msg: existing ? 'scaling policy updated' : 'scaling policy created', policyArn: record.PolicyARN, type });
      return { PolicyARN: record.PolicyARN, Alarms: record.Alarms };
    } catch (err) {
      if (!(err instanceof ConflictError) || attempt + 1 >= CAS_ATTEMPTS) throw err;
    }
  }
}

export async function describeScalingPolicies(ctx: DomainContext, input: DescribeScalingPoliciesRequest) {
  if (input.ServiceNamespace !== ECS_NAMESPACE) return { ScalingPolicies: [] };
  const names = input.PolicyNames !== undefined && input.PolicyNames.length > 0 ? new Set(input.PolicyNames) : undefined;
  const page = await pageOf<ScalingPolicyRecord>(ctx, keys.scalingPoliciesOf(ECS_NAMESPACE), input, (p) =>
    (names === undefined || names.has(p.PolicyName)) && (input.ResourceId === undefined || p.ResourceId === input.ResourceId) &&
    (input.ScalableDimension === undefined || p.ScalableDimension === input.ScalableDimension));
  const stepAlarms = page.items.some((e) => e.value.PolicyType === 'StepScaling') ? await listAlarmsWithActions(ctx) : [];
  return {
    ScalingPolicies: page.items.map((e) => e.value.PolicyType === 'StepScaling'
      ? {
        ...e.value,
        Alarms: stepAlarms.filter((a) => a.AlarmActions.includes(e.value.PolicyARN))
          .map((a) => ({ AlarmName: a.AlarmName, AlarmARN: a.AlarmArn ?? alarmArn(ctx.scope, a.AlarmName) })),
      }
      : e.value),
    NextToken: page.nextToken,
  };
}

/** DeleteScalingPolicy: the policy and the controller's state of it, together. */
export async function deleteScalingPolicy(ctx: DomainContext, input: DeleteScalingPolicyRequest): Promise<void> {
  requireEcsTarget(input);
  const key = keys.scalingPolicy(input.ServiceNamespace!, input.ScalableDimension!, input.ResourceId!, input.PolicyName!);
  const deleted = await deleteWithState<ScalingPolicyRecord>(ctx, key, keys.scalingPolicyState(key), () => new ObjectNotFoundException(
    `No scaling policy found for service namespace: ${input.ServiceNamespace}, resource ID: ${input.ResourceId}, ` +
    `scalable dimension: ${input.ScalableDimension}, policy name: ${input.PolicyName}`));
  ctx.log({ msg: 'scaling policy deleted', policyArn: deleted.PolicyARN });
}

/** A target's policies, with the controller's state of each (what one evaluation reads). */
export async function readTargetPolicies(
  ctx: DomainContext, ref: TargetRef,
): Promise<{ policy: ScalingPolicyRecord; state: Entry<ScalingPolicyState> | undefined; stateKey: string }[]> {
  const prefix = keys.scalingPoliciesOfTarget(ref.ServiceNamespace, ref.ScalableDimension, ref.ResourceId);
  return (await readWithStates<ScalingPolicyRecord, ScalingPolicyState>(ctx, prefix, keys.scalingPolicyState))
    .map(({ value, state, stateKey }) => ({ policy: value, state, stateKey }));
}

/** The metric a target tracking policy tracks, as a comparable value. */
function metricOf(c: Wire<TargetTrackingScalingPolicyConfiguration>): unknown {
  return c.PredefinedMetricSpecification ?? c.CustomizedMetricSpecification;
}

/** The names and ARNs of a target tracking policy's two alarms, as Application Auto Scaling names them. */
function trackingAlarms(ctx: DomainContext, resourceId: string, uuid: string) {
  return ['AlarmHigh', 'AlarmLow'].map((kind) => {
    const name = `TargetTracking-${resourceId}-${kind}-${uuid}`;
    return { AlarmName: name, AlarmARN: alarmArn(ctx.scope, name) };
  });
}

function validateTargetTracking(
  c: TargetTrackingScalingPolicyConfiguration | undefined, other: StepScalingPolicyConfiguration | undefined,
): Wire<TargetTrackingScalingPolicyConfiguration> {
  if (!c) throw new ValidationException('TargetTrackingScalingPolicyConfiguration is required for a policy of type TargetTrackingScaling.');
  if (other) throw new ValidationException('StepScalingPolicyConfiguration cannot be given for a policy of type TargetTrackingScaling.');
  if (!(c.TargetValue! > 0)) throw new ValidationException(`TargetValue must be greater than 0, not ${c.TargetValue}.`);
  for (const [name, value] of [['ScaleOutCooldown', c.ScaleOutCooldown], ['ScaleInCooldown', c.ScaleInCooldown]] as const) {
    if (value !== undefined && value < 0) throw new ValidationException(`${name} must be 0 or more seconds, not ${value}.`);
  }
  const predefined = c.PredefinedMetricSpecification;
  const customized = c.CustomizedMetricSpecification;
  if ((predefined === undefined) === (customized === undefined)) {
    throw new ValidationException('Exactly one of PredefinedMetricSpecification and CustomizedMetricSpecification must be specified.');
  }
  if (predefined) {
    const type = predefined.PredefinedMetricType!;
    if (!ECS_METRIC_TYPES.has(type)) throw new ValidationException(`Unsupported predefined metric type ${type} for service namespace ecs.`);
    if (type === 'ALBRequestCountPerTarget') {
      if (!predefined.ResourceLabel || !ALB_RESOURCE_LABEL.test(predefined.ResourceLabel)) {
        throw new ValidationException('ALBRequestCountPerTarget requires a ResourceLabel of the form ' +
          `app/<load-balancer-name>/<load-balancer-id>/targetgroup/<target-group-name>/<target-group-id>, not ${predefined.ResourceLabel ?? 'none'}.`);
      }
    } else if (predefined.ResourceLabel !== undefined) {
      throw new ValidationException(`ResourceLabel applies only to ALBRequestCountPerTarget, not to ${type}.`);
    }
  }
  if (customized) {
    if (customized.Metrics !== undefined) {
      const [only, ...rest] = customized.Metrics;
      if (!only || rest.length > 0 || only.Expression !== undefined || !only.MetricStat || only.ReturnData === false) {
        throw new ValidationException('Wharf evaluates a customized metric of one MetricStat; metric math (Expression, several queries) is not supported.');
      }
      if (!only.MetricStat.Metric?.MetricName || !only.MetricStat.Metric.Namespace) {
        throw new ValidationException('CustomizedMetricSpecification.Metrics[0].MetricStat.Metric needs MetricName and Namespace.');
      }
      if (customized.MetricName !== undefined || customized.Namespace !== undefined || customized.Statistic !== undefined) {
        throw new ValidationException('CustomizedMetricSpecification takes either Metrics or MetricName, Namespace and Statistic, not both.');
      }
    } else if (!customized.MetricName || !customized.Namespace || !customized.Statistic) {
      throw new ValidationException('CustomizedMetricSpecification requires MetricName, Namespace and Statistic.');
    }
  }
  return c as Wire<TargetTrackingScalingPolicyConfiguration>;
}

function validateStepScaling(
  c: StepScalingPolicyConfiguration | undefined, other: TargetTrackingScalingPolicyConfiguration | undefined,
): Wire<StepScalingPolicyConfiguration> {
  if (!c) throw new ValidationException('StepScalingPolicyConfiguration is required for a policy of type StepScaling.');
  if (other) throw new ValidationException('TargetTrackingScalingPolicyConfiguration cannot be given for a policy of type StepScaling.');
  if (!c.AdjustmentType) throw new ValidationException('StepScalingPolicyConfiguration.AdjustmentType is required.');
  const steps = c.StepAdjustments ?? [];
  if (steps.length === 0) throw new ValidationException('StepScalingPolicyConfiguration.StepAdjustments must contain at least one step adjustment.');
  if (c.MinAdjustmentMagnitude !== undefined) {
    if (c.AdjustmentType !== 'PercentChangeInCapacity') {
      throw new ValidationException('MinAdjustmentMagnitude may only be specified when AdjustmentType is PercentChangeInCapacity.');
    }
    if (c.MinAdjustmentMagnitude < 1) throw new ValidationException(`MinAdjustmentMagnitude must be at least 1, not ${c.MinAdjustmentMagnitude}.`);
  }
  if (c.Cooldown !== undefined && c.Cooldown < 0) throw new ValidationException(`Cooldown must be 0 or more seconds, not ${c.Cooldown}.`);
  if (c.AdjustmentType === 'ExactCapacity' && steps.some((s) => s.ScalingAdjustment! < 0)) {
    throw new ValidationException('ScalingAdjustment must be 0 or more when AdjustmentType is ExactCapacity.');
  }
  validateStepIntervals(steps);
  return c as Wire<StepScalingPolicyConfiguration>;
}

/**
 * Step intervals, relative to the alarm threshold: each has lower < upper; ordered by lower bound
 * they neither overlap nor leave a gap; only the first may be open below and only the last open above.
 */
function validateStepIntervals(steps: StepAdjustment[]): void {
  const lower = (s: StepAdjustment) => s.MetricIntervalLowerBound ?? -Infinity;
  const upper = (s: StepAdjustment) => s.MetricIntervalUpperBound ?? Infinity;
  if (steps.every((s) => s.MetricIntervalLowerBound === undefined && s.MetricIntervalUpperBound === undefined) && steps.length === 1) return;
  for (const s of steps) {
    if (!(lower(s) < upper(s))) {
      throw new ValidationException(`Step adjustment [${s.MetricIntervalLowerBound ?? '-infinity'}, ${s.MetricIntervalUpperBound ?? 'infinity'}) ` +
        'must have its lower bound below its upper bound.');
    }
  }
  if (steps.filter((s) => s.MetricIntervalLowerBound === undefined).length > 1) throw new ValidationException('Only one step adjustment may have no lower bound.');
  if (steps.filter((s) => s.MetricIntervalUpperBound === undefined).length > 1) throw new ValidationException('Only one step adjustment may have no upper bound.');
  const ordered = [...steps].sort((a, b) => lower(a) - lower(b));
  for (let i = 1; i < ordered.length; i++) {
    const previous = upper(ordered[i - 1]!);
    const next = lower(ordered[i]!);
    if (next < previous) throw new ValidationException(`Step adjustments overlap at ${next}.`);
    if (next > previous) throw new ValidationException(`Step adjustments leave a gap between ${previous} and ${next}.`);
  }
}
