/**
 * Application Auto Scaling for ECS services: moves each scalable target's service desired count.
 *
 * Level-triggered: once per metric period (just after each period closes, when its samples are in)
 * and whenever a target, policy, scheduled action or CloudWatch alarm changes, every target is
 * evaluated afresh: scheduled actions due since the last evaluation set the capacity bounds, a
 * desired count outside the bounds is brought inside, then the pure planner
 * (autoscaling-plan.ts) decides from the policies' metrics and alarms. A change goes through the
 * domain's UpdateService path, is recorded as a scaling activity in Application Auto Scaling's
 * words and as a service event, and starts the acting policy's cooldown. Evaluations run one at a
 * time, so two never race on one target; a failing one is logged and retried on the next pass.
 */
import {
  ALARMS_PREFIX, latestRunBetween, listAlarmsWithActions, listScalableTargets, newServiceEventId, parseSchedule,
  pruneScalingActivities, readScalableTarget, readTargetPolicies, readTargetScheduledActions, readTargetService, recordScalingActivity,
  serviceOfResourceId, updateService, writeControllerState, writeScalableTargetCapacity, writeServiceStatus,
  type AlarmView, type DomainContext, type ScalableTargetRecord, type ScalingPolicyRecord, type ScalingPolicyState,
  type ScheduledActionState, type TargetRef,
} from '../domain/index.js';
import {
  DEFAULT_PLAN_OPTIONS, boundsCorrection, planScaling, stateAfter, type AutoscalingPlanOptions, type PolicyInput,
  type ScalingDecision,
} from './autoscaling-plan.js';
import type { MetricQuery, MetricSource } from './metric-source.js';
import { withEvents } from './service-plan.js';

export interface AutoscalingControllerOptions extends Partial<AutoscalingPlanOptions> {
  ctx: DomainContext;
  /** Where metric values come from; without one, only scheduled actions and capacity bounds act. */
  metrics?: MetricSource;
  /** The metric period: one datapoint per period, one evaluation pass per period (CloudWatch: 60 s). */
  periodMs: number;
  /** How long after a period closes its pass runs, so the agents' last samples of it are in. */
  settleMs?: number;
}

/** A scalable target as stored, with the revision it was read at. */
type TargetEntry = Awaited<ReturnType<typeof listScalableTargets>>[number];

/** A scheduled action's schedule is re-evaluated from at most this far back; the mark moves on at least this often. */
const SCHEDULE_MARK_MS = 3600_000;
/** Changes arriving together (an API call writes several keys) share one pass. */
const WAKE_DEBOUNCE_MS = 50;
const CAS_ATTEMPTS = 10;

export class AutoscalingController {
  readonly #options: AutoscalingControllerOptions;
  readonly #plan: AutoscalingPlanOptions;
  #unwatch: (() => void)[] = [];
  #periodTimer: NodeJS.Timeout | undefined;
  #wakeTimer: NodeJS.Timeout | undefined;
  /** The pass in progress; passes run one after another. */
  #running: Promise<void> = Promise.resolve();
  #passQueued = false;
  #closed = false;
  #lastPruneMs = 0;

  constructor(options: AutoscalingControllerOptions) {
    this.#options = options;
    this.#plan = {
      scaleOutDatapoints: options.scaleOutDatapoints ?? DEFAULT_PLAN_OPTIONS.scaleOutDatapoints,
      scaleInDatapoints: options.scaleInDatapoints ?? DEFAULT_PLAN_OPTIONS.scaleInDatapoints,
    };
  }

  start(): void {
    const { store } = this.#options.ctx;
    for (const prefix of ['autoscaling/targets/', 'autoscaling/policies/', 'autoscaling/scheduled-actions/', ALARMS_PREFIX]) {
      this.#unwatch.push(store.watch(prefix, () => this.#wake()));
    }
    this.#schedulePeriod();
    this.#wake();
  }

  async close(): Promise<void> {
    this.#closed = true;
    for (const u of this.#unwatch) u();
    clearTimeout(this.#periodTimer);
    clearTimeout(this.#wakeTimer);
    await this.#running;
  }

  /** One pass over every target now (what the period timer runs); resolves when it is done. */
  evaluateAll(): Promise<void> {
    if (this.#passQueued) return this.#running;
    this.#passQueued = true;
    this.#running = this.#running.then(async () => {
      this.#passQueued = false;
      if (this.#closed) return;
      await this.#pass();
    });
    return this.#running;
  }

  #wake(): void {
    if (this.#closed || this.#wakeTimer) return;
    this.#wakeTimer = setTimeout(() => { this.#wakeTimer = undefined; void this.evaluateAll(); }, WAKE_DEBOUNCE_MS);
    this.#wakeTimer.unref();
  }

  /** The next pass just after the current period closes. */
  #schedulePeriod(): void {
    if (this.#closed) return;
    const { periodMs } = this.#options;
    const settleMs = this.#options.settleMs ?? Math.min(5_000, periodMs / 5);
    const now = this.#options.ctx.nowMs();
    const next = Math.floor(now / periodMs) * periodMs + periodMs + settleMs;
    this.#periodTimer = setTimeout(() => { void this.evaluateAll(); this.#schedulePeriod(); }, Math.max(0, next - now));
    this.#periodTimer.unref();
  }

  async #pass(): Promise<void> {
    const { ctx } = this.#options;
    let targets: TargetEntry[];
    let alarms: AlarmView[];
    try {
      targets = await listScalableTargets(ctx);
      alarms = targets.length > 0 ? await listAlarmsWithActions(ctx) : [];
    } catch (err) {
      ctx.log({ msg: 'autoscaling pass failed', error: String(err) });
      return;
    }
    for (const target of targets) {
      if (this.#closed) return;
      try {
        await this.#evaluate(target.key, alarms);
      } catch (err) {
        ctx.log({ msg: 'autoscaling evaluation failed', resourceId: target.value.ResourceId, error: err instanceof Error ? err.stack ?? err.message : String(err) });
      }
    }
    const now = ctx.nowMs();
    if (now - this.#lastPruneMs > SCHEDULE_MARK_MS) {
      this.#lastPruneMs = now;
      await pruneScalingActivities(ctx, now).catch((err: unknown) => ctx.log({ msg: 'scaling activity prune failed', error: String(err) }));
    }
  }

  /** One target: scheduled actions, then the bounds, then the policies. Each change re-reads the target. */
  async #evaluate(targetKey: string, alarms: AlarmView[]): Promise<void> {
    const { ctx } = this.#options;
    for (let attempt = 0; attempt < CAS_ATTEMPTS; attempt++) {
      const entry = await readScalableTarget(ctx, targetKey);
      if (!entry) return;
      const target = entry.value;
      const ref: TargetRef = target;
      const service = await readTargetService(ctx, target.ResourceId);
      if (!service || service.value.status !== 'ACTIVE') return;
      const nowMs = ctx.nowMs();

      // A scheduled action that moved the bounds (or lost a race) sends the evaluation round again on the fresh target.
      if ((await this.#runScheduledActions(entry, nowMs, target.SuspendedState?.ScheduledScalingSuspended === true)) !== 'unchanged') continue;

      const current = service.value.desiredCount;
      const bounds = boundsCorrection({ minCapacity: target.MinCapacity, maxCapacity: target.MaxCapacity, desiredCount: current });
      if (bounds) {
        await this.#setDesiredCount(ref, current, bounds.desiredCount, bounds.cause, nowMs);
        return;
      }

      const policies = await readTargetPolicies(ctx, ref);
      if (policies.length === 0) return;
      const inputs = await Promise.all(policies.map((p) => this.#policyInput(p.policy, p.state?.value ?? {}, alarms, target, nowMs)));
      const decision = planScaling({
        minCapacity: target.MinCapacity,
        maxCapacity: target.MaxCapacity,
        desiredCount: current,
        scaleInSuspended: target.SuspendedState?.DynamicScalingInSuspended === true,
        scaleOutSuspended: target.SuspendedState?.DynamicScalingOutSuspended === true,
        deploymentInProgress: service.value.deployments.length > 1,
        policies: inputs,
        nowMs,
      }, this.#plan);
      if (!decision) return;
      const acting = policies.find((p) => p.policy.PolicyName === decision.policyName)!;
      await this.#applyDecision(ref, current, decision, acting.stateKey, acting.state, nowMs);
      return;
    }
  }

  /**
   * Runs the target's scheduled actions due since their last evaluation (the latest of them sets
   * the bounds); while scheduled scaling is suspended their runs pass without effect, as skipped.
   * Answers whether the bounds changed, or `conflict` when the target changed under it.
   */
  async #runScheduledActions(entry: TargetEntry, nowMs: number, suspended: boolean): Promise<'changed' | 'unchanged' | 'conflict'> {
    const { ctx } = this.#options;
    const target = entry.value;
    const actions = await readTargetScheduledActions(ctx, target);
    let due: { name: string; runMs: number; min?: number; max?: number } | undefined;
    const marks: { key: string; value: ScheduledActionState }[] = [];
    for (const { action, state, stateKey } of actions) {
      const after = state?.value.evaluatedThroughMs ?? action.CreationTime! * 1000;
      const runMs = latestRunBetween(parseSchedule(action.Schedule), {
        timezone: action.Timezone ?? 'UTC', createdMs: action.CreationTime! * 1000,
        ...(action.StartTime !== undefined ? { startMs: action.StartTime * 1000 } : {}),
        ...(action.EndTime !== undefined ? { endMs: action.EndTime * 1000 } : {}),
      }, after, nowMs);
      if (runMs !== undefined || nowMs - after > SCHEDULE_MARK_MS) marks.push({ key: stateKey, value: { evaluatedThroughMs: nowMs } });
      if (runMs !== undefined && (!due || runMs > due.runMs)) {
        due = {
          name: action.ScheduledActionName, runMs,
          ...(action.ScalableTargetAction?.MinCapacity !== undefined ? { min: action.ScalableTargetAction.MinCapacity } : {}),
          ...(action.ScalableTargetAction?.MaxCapacity !== undefined ? { max: action.ScalableTargetAction.MaxCapacity } : {}),
        };
      }
    }
    let outcome: 'changed' | 'unchanged' = 'unchanged';
    if (due && !suspended) {
      // A new minimum above the maximum lifts the maximum with it, and the other way round.
      let min = due.min ?? target.MinCapacity;
      let max = due.max ?? target.MaxCapacity;
      if (due.min === undefined) min = Math.min(min, max);
      if (due.max === undefined) max = Math.max(min, max);
      if (min !== target.MinCapacity || max !== target.MaxCapacity) {
        if (!(await writeScalableTargetCapacity(ctx, entry, { MinCapacity: min, MaxCapacity: max }))) return 'conflict';
        outcome = 'changed';
        const set = [due.min !== undefined ? `min capacity to ${min}` : '', due.max !== undefined ? `max capacity to ${max}` : ''].filter(Boolean).join(' and ');
        await recordScalingActivity(ctx, {
          target, description: `Setting ${set}`, cause: `scheduled action name ${due.name} was triggered`,
          statusMessage: `Successfully set ${set}`, startMs: nowMs, endMs: ctx.nowMs(),
        });
      }
    }
    for (const m of marks) await writeControllerState(ctx, m.key, m.value);
    return outcome;
  }

  /** What the planner needs of one policy: its metric's datapoints, or the alarms in ALARM naming it. */
  async #policyInput(policy: ScalingPolicyRecord, state: ScalingPolicyState, alarms: AlarmView[], target: ScalableTargetRecord, nowMs: number): Promise<PolicyInput> {
    const tracking = policy.TargetTrackingScalingPolicyConfiguration;
    if (policy.PolicyType === 'TargetTrackingScaling' && tracking) {
      const query = trackingQuery(policy, target.ResourceId);
      const count = Math.max(this.#plan.scaleOutDatapoints, this.#plan.scaleInDatapoints);
      const datapoints = query ? await this.#datapoints(query, count, nowMs) : [];
      const [high = '', low = ''] = (policy.Alarms ?? []).map((a) => a.AlarmName ?? '');
      return { kind: 'tracking', policyName: policy.PolicyName, configuration: tracking, state, datapoints, alarmHigh: high, alarmLow: low };
    }
    const step = policy.StepScalingPolicyConfiguration ?? {};
    const acting = alarms.filter((a) => a.StateValue === 'ALARM' && a.AlarmActions.includes(policy.PolicyARN));
    return {
      kind: 'step', policyName: policy.PolicyName, configuration: step, state,
      alarms: await Promise.all(acting.map(async (a) => ({ alarmName: a.AlarmName, breach: await this.#breach(a, step.MetricAggregationType ?? 'Average', nowMs) }))),
    };
  }

  /** The query's value in each of the last `count` closed periods, newest first. */
  async #datapoints(query: MetricQuery, count: number, nowMs: number): Promise<(number | undefined)[]> {
    const { metrics, periodMs } = this.#options;
    if (!metrics) return [];
    const end = Math.floor(nowMs / periodMs) * periodMs;
    const out: (number | undefined)[] = [];
    for (let i = 0; i < count; i++) {
      const value = await metrics.statistic(query, end - (i + 1) * periodMs, end - i * periodMs);
      out.push(value);
      // An older period cannot complete a window that a newer gap already broke.
      if (value === undefined) break;
    }
    return out;
  }

  /** How far the alarm's metric (aggregated as the policy asks) is past its threshold over its last period. */
  async #breach(alarm: AlarmView, aggregation: string, nowMs: number): Promise<number | undefined> {
    const { metrics } = this.#options;
    if (!metrics || alarm.Threshold === undefined || !alarm.Namespace || !alarm.MetricName) return undefined;
    const periodMs = (alarm.Period ?? 60) * 1000;
    const end = Math.floor(nowMs / periodMs) * periodMs;
    const value = await metrics.statistic(
      {
        Namespace: alarm.Namespace, MetricName: alarm.MetricName, Statistic: aggregation,
        Dimensions: (alarm.Dimensions ?? []).map((d) => ({ Name: d.Name ?? '', Value: d.Value ?? '' })),
      }, end - periodMs, end);
    return value === undefined ? undefined : value - alarm.Threshold;
  }

  async #applyDecision(
    ref: TargetRef, from: number, decision: ScalingDecision, stateKey: string, state: { value: ScalingPolicyState } | undefined, nowMs: number,
  ): Promise<void> {
    await this.#setDesiredCount(ref, from, decision.desiredCount, decision.cause, nowMs);
    await writeControllerState(this.#options.ctx, stateKey, stateAfter(state?.value ?? {}, decision, nowMs));
  }

  /**
   * Sets the service's desired count through UpdateService, then records the scaling activity and
   * the service event.
   */
  async #setDesiredCount(ref: TargetRef, from: number, to: number, cause: string, nowMs: number): Promise<void> {
    const { ctx } = this.#options;
    const { clusterName, serviceName } = serviceOfResourceId(ref.ResourceId);
    await updateService(ctx, { cluster: clusterName, service: serviceName, desiredCount: to });
    await recordScalingActivity(ctx, {
      target: ref, description: `Setting desired count to ${to}.`, cause,
      statusMessage: `Successfully set desired count to ${to}. Change successfully fulfilled by ecs.`, startMs: nowMs, endMs: ctx.nowMs(),
    });
    const message = `(service ${serviceName}) desired count changed from ${from} to ${to} by Application Auto Scaling: ${cause}.`;
    for (let attempt = 0; attempt < CAS_ATTEMPTS; attempt++) {
      const entry = await readTargetService(ctx, ref.ResourceId);
      if (!entry) return;
      if (await writeServiceStatus(ctx, entry, withEvents(entry.value, [message], ctx.nowMs(), newServiceEventId))) return;
    }
  }
}

/** The CloudWatch metric a target tracking policy tracks on `resourceId`'s service, or undefined when it names none Wharf can read. */
export function trackingQuery(policy: ScalingPolicyRecord, resourceId: string): MetricQuery | undefined {
  const c = policy.TargetTrackingScalingPolicyConfiguration;
  if (!c) return undefined;
  const predefined = c.PredefinedMetricSpecification;
  if (predefined) {
    const { clusterName, serviceName } = serviceOfResourceId(resourceId);
    const serviceDimensions = [{ Name: 'ClusterName', Value: clusterName }, { Name: 'ServiceName', Value: serviceName }];
    switch (predefined.PredefinedMetricType) {
      case 'ECSServiceAverageCPUUtilization':
        return { Namespace: 'AWS/ECS', MetricName: 'CPUUtilization', Dimensions: serviceDimensions, Statistic: 'Average' };
      case 'ECSServiceAverageMemoryUtilization':
        return { Namespace: 'AWS/ECS', MetricName: 'MemoryUtilization', Dimensions: serviceDimensions, Statistic: 'Average' };
      case 'ALBRequestCountPerTarget': {
        // ResourceLabel: app/<lb-name>/<lb-id>/targetgroup/<tg-name>/<tg-id>; the metric's dimension is the target group part.
        const label = predefined.ResourceLabel ?? '';
        const at = label.indexOf('/targetgroup/');
        return { Namespace: 'AWS/ApplicationELB', MetricName: 'RequestCountPerTarget', Dimensions: [{ Name: 'TargetGroup', Value: label.slice(at + 1) }], Statistic: 'Sum' };
      }
      default:
        return undefined;
    }
  }
  const custom = c.CustomizedMetricSpecification;
  if (!custom) return undefined;
  const stat = custom.Metrics?.[0]?.MetricStat;
  if (stat) {
    return {
      Namespace: stat.Metric?.Namespace ?? '', MetricName: stat.Metric?.MetricName ?? '', Statistic: stat.Stat ?? 'Average',
      Dimensions: (stat.Metric?.Dimensions ?? []).map((d) => ({ Name: d.Name ?? '', Value: d.Value ?? '' })),
    };
  }
  return {
    Namespace: custom.Namespace ?? '', MetricName: custom.MetricName ?? '', Statistic: custom.Statistic ?? 'Average',
    Dimensions: (custom.Dimensions ?? []).map((d) => ({ Name: d.Name ?? '', Value: d.Value ?? '' })),
  };
}
