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
  #timer: NodeJS.Timeout | undefined;
  #passing: Promise<unknown> = Promise.resolve();

  constructor(options: AlarmControllerOptions) {
    this.#o = options;
  }

  start(): void {
    this.#timer = setInterval(() => { void this.pass(); }, this.#o.evaluationIntervalMs);
    this.#timer.unref();
  }

  /** Evaluates every alarm now (what the timer runs); passes never overlap. */
  pass(): Promise<unknown> {
    this.#passing = this.#passing.then(() => this.#pass()).catch((err: unknown) => {
      this.#o.ctx.log({ msg: 'alarm evaluation failed', error: String(err) });
    });
    return this.#passing;
  }

  async close(): Promise<void> {
    clearInterval(this.#timer);
    await this.#passing;
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
