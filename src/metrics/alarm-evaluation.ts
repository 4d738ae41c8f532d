/**
 * CloudWatch metric alarm evaluation (pure): the alarm's state from the datapoints of its last
 * EvaluationPeriods periods.
 *
 * - The window is the EvaluationPeriods periods ending with the current period when it already
 *   has a datapoint (so an alarm reacts within a period of the data arriving), else ending with
 *   the last complete period.
 * - A period breaches when its statistic compares with the threshold as ComparisonOperator says.
 * - Missing periods follow TreatMissingData: `breaching` / `notBreaching` count as such; `missing`
 *   (the default) and `ignore` leave them out. When every period is missing the state is
 *   INSUFFICIENT_DATA (`missing`), kept as it is (`ignore`), or decided by the other two.
 * - ALARM when at least DatapointsToAlarm periods breach; otherwise OK when any period does not
 *   breach; otherwise (too few breaching datapoints and nothing else) the state is kept.
 */
import type { Datapoint, Statistic } from './metric-store.js';
import { MetricStore } from './metric-store.js';

export type ComparisonOperator =
  | 'GreaterThanOrEqualToThreshold' | 'GreaterThanThreshold' | 'LessThanThreshold' | 'LessThanOrEqualToThreshold';
export const COMPARISON_OPERATORS: readonly ComparisonOperator[] =
  ['GreaterThanOrEqualToThreshold', 'GreaterThanThreshold', 'LessThanThreshold', 'LessThanOrEqualToThreshold'];
export type TreatMissingData = 'breaching' | 'notBreaching' | 'ignore' | 'missing';
export const TREAT_MISSING_DATA: readonly TreatMissingData[] = ['breaching', 'notBreaching', 'ignore', 'missing'];
export type AlarmState = 'OK' | 'ALARM' | 'INSUFFICIENT_DATA';

export interface AlarmRule {
  statistic: Statistic;
  periodSeconds: number;
  evaluationPeriods: number;
  datapointsToAlarm: number;
  threshold: number;
  comparisonOperator: ComparisonOperator;
  treatMissingData: TreatMissingData;
}

export interface AlarmVerdict {
  state: AlarmState;
  reason: string;
  /** JSON, as CloudWatch's StateReasonData. */
  reasonData: string;
}

/** The span to read from the metric store for an evaluation at `nowMs`: one period more than the window. */
export function evaluationSpan(rule: AlarmRule, nowMs: number): { startTimeMs: number; endTimeMs: number } {
  const periodMs = rule.periodSeconds * 1000;
  const endTimeMs = (Math.floor(nowMs / periodMs) + 1) * periodMs;
  return { startTimeMs: endTimeMs - (rule.evaluationPeriods + 1) * periodMs, endTimeMs };
}

/** True when `value` breaches the threshold. */
export function breaches(op: ComparisonOperator, value: number, threshold: number): boolean {
  switch (op) {
    case 'GreaterThanOrEqualToThreshold': return value >= threshold;
    case 'GreaterThanThreshold': return value > threshold;
    case 'LessThanThreshold': return value < threshold;
    case 'LessThanOrEqualToThreshold': return value <= threshold;
  }
}

const OPERATOR_WORDS: Record<ComparisonOperator, string> = {
  GreaterThanOrEqualToThreshold: 'greater than or equal to',
  GreaterThanThreshold: 'greater than',
  LessThanThreshold: 'less than',
  LessThanOrEqualToThreshold: 'less than or equal to',
};

/**
 * The verdict for `points` (the store's answer for evaluationSpan at `nowMs`); `current` is the
 * alarm's state now, kept when the data decides nothing.
 */
export function evaluateAlarm(rule: AlarmRule, points: readonly Datapoint[], current: AlarmState, nowMs: number): AlarmVerdict {
  const periodMs = rule.periodSeconds * 1000;
  const span = evaluationSpan(rule, nowMs);
  const byStart = new Map(points.map((p) => [p.timestampMs, p]));
  const currentPeriod = span.endTimeMs - periodMs;
  const lastPeriod = byStart.has(currentPeriod) ? currentPeriod : currentPeriod - periodMs;
  const periods = Array.from({ length: rule.evaluationPeriods }, (_, i) => lastPeriod - (rule.evaluationPeriods - 1 - i) * periodMs);
  const present = periods.flatMap((t) => {
    const p = byStart.get(t);
    return p === undefined ? [] : [{ t, value: MetricStore.statisticOf(p, rule.statistic), sampleCount: p.sampleCount }];
  });
  const missing = periods.length - present.length;
  let breaching = present.filter((p) => breaches(rule.comparisonOperator, p.value, rule.threshold)).length;
  let notBreaching = present.length - breaching;
  if (rule.treatMissingData === 'breaching') breaching += missing;
  if (rule.treatMissingData === 'notBreaching') notBreaching += missing;
  const reasonData = JSON.stringify({
    version: '1.0', queryDate: iso(nowMs), startDate: iso(periods[0]!), statistic: rule.statistic, period: rule.periodSeconds,
    recentDatapoints: present.map((p) => p.value), threshold: rule.threshold,
    evaluatedDatapoints: present.slice().reverse().map((p) => ({ timestamp: iso(p.t), sampleCount: p.sampleCount, value: p.value })),
  });
  const list = present.slice().reverse().map((p) => `${p.value} (${cloudWatchDate(p.t)})`).join(', ');
  const verdict = (state: AlarmState, reason: string): AlarmVerdict => ({ state, reason, reasonData });
  const minimum = rule.datapointsToAlarm;
  if (present.length === 0 && (rule.treatMissingData === 'missing' || rule.treatMissingData === 'ignore')) {
    if (rule.treatMissingData === 'ignore') return verdict(current, 'Unchecked: all datapoints are missing and missing data is ignored');
    return verdict('INSUFFICIENT_DATA', `Insufficient Data: ${rule.evaluationPeriods} datapoint${rule.evaluationPeriods === 1 ? ' was' : 's were'} unknown.`);
  }
  const total = rule.evaluationPeriods;
  if (breaching >= minimum) {
    return verdict('ALARM', `Threshold Crossed: ${breaching} out of the last ${total} datapoints [${list}] ` +
      `${breaching === 1 ? 'was' : 'were'} ${OPERATOR_WORDS[rule.comparisonOperator]} the threshold (${rule.threshold}) ` +
      `(minimum ${minimum} datapoint${minimum === 1 ? '' : 's'} for OK -> ALARM transition).`);
  }
  if (notBreaching > 0) {
    return verdict('OK', `Threshold Crossed: ${notBreaching} out of the last ${total} datapoints [${list}] ` +
      `${notBreaching === 1 ? 'was' : 'were'} not ${OPERATOR_WORDS[rule.comparisonOperator]} the threshold (${rule.threshold}) ` +
      `(minimum ${minimum} datapoint${minimum === 1 ? '' : 's'} for ALARM -> OK transition).`);
  }
  return verdict(current, 'Unchanged: too few datapoints to decide');
}

const iso = (ms: number) => new Date(ms).toISOString().replace('Z', '+0000');

/** CloudWatch's reason timestamp: `24/11/26 08:05:00` (dd/MM/yy HH:mm:ss, UTC). */
function cloudWatchDate(ms: number): string {
  const d = new Date(ms);
  const two = (n: number) => String(n).padStart(2, '0');
  return `${two(d.getUTCDate())}/${two(d.getUTCMonth() + 1)}/${two(d.getUTCFullYear() % 100)} ${two(d.getUTCHours())}:${two(d.getUTCMinutes())}:${two(d.getUTCSeconds())}`;
}
