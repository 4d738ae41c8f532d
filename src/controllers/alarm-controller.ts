/**
 * Evaluates every metric alarm on a schedule (src/metrics/alarm-evaluation.ts) and writes the
 * alarms whose state changed, with a history item. Level-triggered: a pass reads every alarm and
 * its metric afresh; a pass that finds nothing new writes nothing. A write that loses a race (the
 * alarm was updated meanwhile) is left to the next pass.
 *
 * Alarm actions are not run here: a state change is a write under `cloudwatch/alarms/`, and the
 * Application Auto Scaling controller watches that prefix for the policy ARNs in AlarmActions.
 */
import { listAlarms, writeAlarmState, type AlarmRecord, type DomainContext } from '../domain/index.js';
import { evaluateAlarm, evaluationSpan, type AlarmRule, type MetricStore, type Statistic } from '../metrics/index.js';
import { PeriodicPass } from './periodic-pass.js';

export interface AlarmControllerOptions {
  ctx: DomainContext;
  metrics: MetricStore;
  /** How often every alarm is evaluated (CloudWatch: every minute; shorter catches 10 s and 30 s periods). */
  evaluationIntervalMs: number;
}

/** The rule of a stored alarm. */
export function alarmRuleOf(alarm: AlarmRecord): AlarmRule {
  return {
    statistic: alarm.Statistic as Statistic,
    periodSeconds: alarm.Period ?? 60,
    evaluationPeriods: alarm.EvaluationPeriods ?? 1,
    datapointsToAlarm: alarm.DatapointsToAlarm ?? alarm.EvaluationPeriods ?? 1,
    threshold: alarm.Threshold ?? 0,
    comparisonOperator: alarm.ComparisonOperator as AlarmRule['comparisonOperator'],
    treatMissingData: (alarm.TreatMissingData ?? 'missing') as AlarmRule['treatMissingData'],
  };
}

export class AlarmController {
  readonly #o: AlarmControllerOptions;
  readonly #passes: PeriodicPass;

  constructor(options: AlarmControllerOptions) {
    this.#o = options;
    this.#passes = new PeriodicPass(() => this.#pass(), options.evaluationIntervalMs, (entry) => options.ctx.log(entry), 'alarm evaluation');
  }

  start(): void {
    this.#passes.start();
  }

  /** Evaluates every alarm now (what the timer runs); passes never overlap. */
  pass(): Promise<unknown> {
    return this.#passes.now();
  }

  close(): Promise<void> {
    return this.#passes.close();
  }

  async #pass(): Promise<void> {
    const { ctx, metrics } = this.#o;
    const now = ctx.nowMs();
    for (const entry of await listAlarms(ctx)) {
      const alarm = entry.value;
      if (alarm.Namespace === undefined || alarm.MetricName === undefined || alarm.Statistic === undefined) continue;
      const rule = alarmRuleOf(alarm);
      const points = metrics.statistics({
        namespace: alarm.Namespace, metricName: alarm.MetricName,
        dimensions: Object.fromEntries((alarm.Dimensions ?? []).map((d) => [d.Name ?? '', d.Value ?? ''])),
        ...evaluationSpan(rule, now), periodSeconds: rule.periodSeconds,
        ...(alarm.Unit !== undefined ? { unit: alarm.Unit } : {}),
      });
      const verdict = evaluateAlarm(rule, points, alarm.StateValue, now);
      // SetAlarmState's reason stands until the data says something different.
      if (verdict.state === alarm.StateValue) continue;
      await writeAlarmState(ctx, entry, { StateValue: verdict.state, StateReason: verdict.reason, StateReasonData: verdict.reasonData });
    }
  }
}
