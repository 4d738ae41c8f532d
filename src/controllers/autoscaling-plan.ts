/**
 * Application Auto Scaling's decisions, pure (STYLE rule 1): given a target, its service's desired
 * count, its policies with what the controller remembers of them, their metric datapoints and the
 * alarms acting on them, and `now`, answer the new desired count and why — or nothing.
 *
 * Rules, as Application Auto Scaling applies them to ECS services:
 * - Target tracking: AlarmHigh is in ALARM when the last `scaleOutDatapoints` period values are
 *   all above the target (Wharf: 1 by default, Application Auto Scaling: 3; see
 *   DEFAULT_PLAN_OPTIONS); the policy then scales out proportionally,
 *   ceil(capacity × metric / target). AlarmLow is in ALARM when the last `scaleInDatapoints` (15)
 *   values are all below 90% of the target; the policy then scales in to the same formula, rounded
 *   up so it never removes more than the metric asks. A missing datapoint is insufficient data:
 *   no scaling on it.
 * - During a policy's scale-out cooldown the capacity its last scale-out added counts as already
 *   there: it scales out again only past what the same formula gives from the capacity it scaled
 *   out from. No scale-in during its scale-in cooldown (nor during a step policy's cooldown).
 * - Several policies: any scale-out wins, the largest; target tracking scales in only when every
 *   target tracking policy with scale-in enabled wants to, to the largest count asked for.
 * - Step scaling: an alarm naming the policy in ALARM picks the step whose interval (relative to
 *   the alarm threshold; lower bound inclusive above the threshold, upper bound inclusive below)
 *   holds the breach, and applies ChangeInCapacity, PercentChangeInCapacity (with
 *   MinAdjustmentMagnitude) or ExactCapacity.
 * - Scale-in waits while an ECS deployment is in progress; DynamicScalingIn/OutSuspended stop
 *   either direction; the result always stays within MinCapacity and MaxCapacity.
 */
import type { StepAdjustment, StepScalingPolicyConfiguration, TargetTrackingScalingPolicyConfiguration } from '@aws-sdk/client-application-auto-scaling';
import type { ScalingPolicyState, Wire } from '../domain/index.js';

export interface AutoscalingPlanOptions {
  /** Consecutive period values above the target that put AlarmHigh in ALARM (Application Auto Scaling: 3). */
  scaleOutDatapoints: number;
  /** Consecutive period values below 90% of the target that put AlarmLow in ALARM (Application Auto Scaling: 15). */
  scaleInDatapoints: number;
}

/**
 * Scale-out after one period above the target: Wharf's target tracking reacts within two periods of
 * the load crossing its target (the project's target for scaling reaction), where Application Auto
 * Scaling's AlarmHigh waits for three datapoints, two to three periods. Scale-in keeps AWS's
 * fifteen. Server flag --scale-out-datapoints 3 gives AWS's timing.
 */
export const DEFAULT_PLAN_OPTIONS: AutoscalingPlanOptions = { scaleOutDatapoints: 1, scaleInDatapoints: 15 };
/** Application Auto Scaling's own AlarmHigh datapoints. */
export const AWS_SCALE_OUT_DATAPOINTS = 3;
/** Application Auto Scaling's default cooldowns for ECS services, in seconds. */
export const DEFAULT_COOLDOWN_SECONDS = 300;
/** AlarmLow's threshold as a share of the target value. */
export const SCALE_IN_THRESHOLD_RATIO = 0.9;

export interface TrackingPolicyInput {
  kind: 'tracking';
  policyName: string;
  configuration: Wire<TargetTrackingScalingPolicyConfiguration>;
  state: ScalingPolicyState;
  /** The policy's metric, one value per period, newest first (undefined: no data in that period). */
  datapoints: (number | undefined)[];
  alarmHigh: string;
  alarmLow: string;
}

export interface StepPolicyInput {
  kind: 'step';
  policyName: string;
  configuration: Wire<StepScalingPolicyConfiguration>;
  state: ScalingPolicyState;
  /** Alarms in ALARM that name this policy, each with its metric's value minus its threshold (undefined: no data). */
  alarms: { alarmName: string; breach: number | undefined }[];
}

export type PolicyInput = TrackingPolicyInput | StepPolicyInput;

export interface TargetSnapshot {
  minCapacity: number;
  maxCapacity: number;
  desiredCount: number;
  scaleInSuspended: boolean;
  scaleOutSuspended: boolean;
  /** An ECS deployment is rolling out: Application Auto Scaling does not scale in meanwhile. */
  deploymentInProgress: boolean;
  policies: PolicyInput[];
  nowMs: number;
}

/** One policy's wish. */
interface Proposal {
  policyName: string;
  direction: 'out' | 'in';
  desired: number;
  cause: string;
  /** Tracking scale-in proposals must agree; step ones stand alone. */
  tracking: boolean;
  /** The capacity the proposal is computed from (in a scale-out cooldown, the one it started from). */
  from: number;
}

export interface ScalingDecision {
  desiredCount: number;
  /** The policy whose proposal was applied. */
  policyName: string;
  direction: 'out' | 'in';
  /** Application Auto Scaling's cause: `monitor alarm <name> in state ALARM triggered policy <policy>`. */
  cause: string;
  /** The capacity the change was computed from: a scale-out's cooldown baseline. */
  from: number;
}

/**
 * The capacity bounds' own correction: a desired count outside [min, max] is brought inside,
 * whatever the policies say. Undefined when it is inside.
 */
export function boundsCorrection(t: { minCapacity: number; maxCapacity: number; desiredCount: number }): { desiredCount: number; cause: string } | undefined {
  if (t.desiredCount < t.minCapacity) return { desiredCount: t.minCapacity, cause: `minimum capacity was set to ${t.minCapacity}` };
  if (t.desiredCount > t.maxCapacity) return { desiredCount: t.maxCapacity, cause: `maximum capacity was set to ${t.maxCapacity}` };
  return undefined;
}

/** What the policies ask of the target now, within its bounds; undefined when nothing changes. */
export function planScaling(t: TargetSnapshot, options: AutoscalingPlanOptions = DEFAULT_PLAN_OPTIONS): ScalingDecision | undefined {
  const proposals = t.policies.flatMap((p) => (p.kind === 'tracking' ? trackingProposal(p, t, options) : stepProposal(p, t)) ?? []);
  const clamp = (n: number) => Math.min(t.maxCapacity, Math.max(t.minCapacity, n));
  const outs = t.scaleOutSuspended ? [] : proposals.filter((p) => p.direction === 'out' && clamp(p.desired) > t.desiredCount);
  if (outs.length > 0) return decide(outs, clamp);
  if (t.scaleInSuspended || t.deploymentInProgress) return undefined;
  const voters = t.policies.filter((p): p is TrackingPolicyInput => p.kind === 'tracking' && p.configuration.DisableScaleIn !== true);
  const trackingIns = proposals.filter((p) => p.tracking && p.direction === 'in');
  const ins = [
    ...proposals.filter((p) => !p.tracking && p.direction === 'in'),
    ...(voters.length > 0 && trackingIns.length === voters.length ? trackingIns : []),
  ].filter((p) => clamp(p.desired) < t.desiredCount);
  return ins.length > 0 ? decide(ins, clamp) : undefined;
}

/** The proposal giving the largest capacity wins (availability first). */
function decide(proposals: Proposal[], clamp: (n: number) => number): ScalingDecision {
  const best = proposals.reduce((a, b) => (b.desired > a.desired ? b : a));
  return { desiredCount: clamp(best.desired), policyName: best.policyName, direction: best.direction, cause: best.cause, from: best.from };
}

function trackingProposal(p: TrackingPolicyInput, t: TargetSnapshot, options: AutoscalingPlanOptions): Proposal | undefined {
  const target = p.configuration.TargetValue!;
  const latest = p.datapoints[0];
  if (latest === undefined) return undefined;
  const window = (n: number) => p.datapoints.slice(0, n);
  const all = (n: number, test: (v: number) => boolean) => {
    const values = window(n);
    return values.length === n && values.every((v) => v !== undefined && test(v));
  };
  const cause = (alarm: string) => `monitor alarm ${alarm} in state ALARM triggered policy ${p.policyName}`;
  if (all(options.scaleOutDatapoints, (v) => v > target)) {
    const outCooldownMs = (p.configuration.ScaleOutCooldown ?? DEFAULT_COOLDOWN_SECONDS) * 1000;
    const inCooldown = p.state.lastScaleOutAtMs !== undefined && t.nowMs < p.state.lastScaleOutAtMs + outCooldownMs;
    const from = inCooldown ? p.state.scaleOutFromCapacity ?? t.desiredCount : t.desiredCount;
    const desired = Math.ceil(from * latest / target);
    return desired > t.desiredCount ? { policyName: p.policyName, direction: 'out', desired, cause: cause(p.alarmHigh), tracking: true, from } : undefined;
  }
  if (p.configuration.DisableScaleIn !== true && all(options.scaleInDatapoints, (v) => v < target * SCALE_IN_THRESHOLD_RATIO)) {
    const inCooldownMs = (p.configuration.ScaleInCooldown ?? DEFAULT_COOLDOWN_SECONDS) * 1000;
    if (p.state.lastScaleInAtMs !== undefined && t.nowMs < p.state.lastScaleInAtMs + inCooldownMs) return undefined;
    const desired = Math.ceil(t.desiredCount * latest / target);
    return desired < t.desiredCount ? { policyName: p.policyName, direction: 'in', desired, cause: cause(p.alarmLow), tracking: true, from: t.desiredCount } : undefined;
  }
  return undefined;
}

function stepProposal(p: StepPolicyInput, t: TargetSnapshot): Proposal | undefined {
  const cooldownMs = (p.configuration.Cooldown ?? DEFAULT_COOLDOWN_SECONDS) * 1000;
  const last = Math.max(p.state.lastScaleOutAtMs ?? -Infinity, p.state.lastScaleInAtMs ?? -Infinity);
  const inCooldown = t.nowMs < last + cooldownMs;
  const outCooling = p.state.lastScaleOutAtMs !== undefined && t.nowMs < p.state.lastScaleOutAtMs + cooldownMs;
  let best: Proposal | undefined;
  for (const alarm of p.alarms) {
    const step = stepFor(p.configuration.StepAdjustments ?? [], alarm.breach);
    if (!step) continue;
    // In a scale-out's cooldown the capacity it added counts as there: compute from where it started.
    const from = outCooling ? p.state.scaleOutFromCapacity ?? t.desiredCount : t.desiredCount;
    const desired = applyAdjustment(p.configuration, step.ScalingAdjustment ?? 0, from);
    if (desired === t.desiredCount) continue;
    const direction = desired > t.desiredCount ? 'out' : 'in';
    // In cooldown, scale-in waits.
    if (inCooldown && direction === 'in') continue;
    const proposal: Proposal = {
      policyName: p.policyName, direction, desired, tracking: false, from,
      cause: `monitor alarm ${alarm.alarmName} in state ALARM triggered policy ${p.policyName}`,
    };
    if (!best || proposal.desired > best.desired) best = proposal;
  }
  return best;
}

/**
 * The step whose interval holds `breach` (metric minus threshold). Above the threshold the lower
 * bound is inclusive, below it the upper bound is; a lone step with no bounds holds everything,
 * even a breach of unknown size.
 */
export function stepFor(steps: Wire<StepAdjustment>[], breach: number | undefined): Wire<StepAdjustment> | undefined {
  if (breach === undefined) {
    const [only, ...rest] = steps;
    return only && rest.length === 0 && only.MetricIntervalLowerBound === undefined && only.MetricIntervalUpperBound === undefined ? only : undefined;
  }
  return steps.find((s) => {
    const lower = s.MetricIntervalLowerBound ?? -Infinity;
    const upper = s.MetricIntervalUpperBound ?? Infinity;
    return breach >= 0 ? lower <= breach && breach < upper : lower < breach && breach <= upper;
  });
}

/**
 * The capacity a step adjustment gives from `capacity`. A percentage change is truncated toward
 * zero, but never below one whole task, and at least MinAdjustmentMagnitude; never below 0.
 */
export function applyAdjustment(c: Wire<StepScalingPolicyConfiguration>, adjustment: number, capacity: number): number {
  switch (c.AdjustmentType) {
    case 'ExactCapacity':
      return Math.max(0, adjustment);
    case 'PercentChangeInCapacity': {
      const raw = capacity * adjustment / 100;
      if (raw === 0) return capacity;
      let change = Math.abs(raw) < 1 ? Math.sign(raw) : Math.trunc(raw);
      if (c.MinAdjustmentMagnitude !== undefined && Math.abs(change) < c.MinAdjustmentMagnitude) change = Math.sign(raw) * c.MinAdjustmentMagnitude;
      return Math.max(0, capacity + change);
    }
    default:
      return Math.max(0, capacity + adjustment);
  }
}

/** The policy's state once `decision` is applied at `nowMs`: its cooldown starts, with its baseline. */
export function stateAfter(state: ScalingPolicyState, decision: ScalingDecision, nowMs: number): ScalingPolicyState {
  return decision.direction === 'out'
    ? { ...state, lastScaleOutAtMs: nowMs, scaleOutFromCapacity: decision.from }
    : { ...state, lastScaleInAtMs: nowMs };
}
