import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { evaluateAlarm, evaluationSpan, type AlarmRule } from './alarm-evaluation.js';
import type { Datapoint } from './metric-store.js';

const M = 60_000;
const T = Date.UTC(2026, 10, 24, 8, 0, 0);
const rule: AlarmRule = {
  statistic: 'Average', periodSeconds: 60, evaluationPeriods: 3, datapointsToAlarm: 2, threshold: 50,
  comparisonOperator: 'GreaterThanThreshold', treatMissingData: 'missing',
};
const point = (t: number, v: number): Datapoint => ({ timestampMs: t, sampleCount: 1, sum: v, minimum: v, maximum: v, average: v, unit: 'Percent' });

describe('alarm evaluation', () => {
  it('reads one period more than it evaluates, ending with the current period', () => {
    assert.deepEqual(evaluationSpan(rule, T + 30_000), { startTimeMs: T - 3 * M, endTimeMs: T + M });
  });

  it('goes to ALARM when DatapointsToAlarm of EvaluationPeriods breach, with CloudWatch reason wording', () => {
    const now = T + 30_000;
    const v = evaluateAlarm(rule, [point(T - 2 * M, 10), point(T - M, 70), point(T, 90)], 'OK', now);
    assert.equal(v.state, 'ALARM');
    assert.equal(v.reason, 'Threshold Crossed: 2 out of the last 3 datapoints [90 (24/11/26 08:00:00), 70 (24/11/26 07:59:00), 10 (24/11/26 07:58:00)] ' +
      'were greater than the threshold (50) (minimum 2 datapoints for OK -> ALARM transition).');
    const data = JSON.parse(v.reasonData);
    assert.deepEqual(data.recentDatapoints, [10, 70, 90]);
    assert.equal(data.threshold, 50);
  });

  it('uses the last complete periods while the current one has no data yet', () => {
    const v = evaluateAlarm(rule, [point(T - 3 * M, 70), point(T - 2 * M, 70), point(T - M, 10)], 'OK', T + 5_000);
    assert.equal(v.state, 'ALARM');
  });

  it('goes to OK when too few breach, and keeps its state when too few datapoints decide nothing', () => {
    assert.equal(evaluateAlarm(rule, [point(T - M, 70), point(T, 10)], 'ALARM', T).state, 'OK');
    assert.equal(evaluateAlarm(rule, [point(T, 70)], 'OK', T).state, 'OK');
    assert.equal(evaluateAlarm(rule, [point(T, 70)], 'INSUFFICIENT_DATA', T).state, 'INSUFFICIENT_DATA');
  });

  it('treats missing data as TreatMissingData says', () => {
    assert.equal(evaluateAlarm(rule, [], 'OK', T).state, 'INSUFFICIENT_DATA');
    assert.equal(evaluateAlarm({ ...rule, treatMissingData: 'ignore' }, [], 'ALARM', T).state, 'ALARM');
    assert.equal(evaluateAlarm({ ...rule, treatMissingData: 'breaching' }, [], 'OK', T).state, 'ALARM');
    assert.equal(evaluateAlarm({ ...rule, treatMissingData: 'notBreaching' }, [], 'ALARM', T).state, 'OK');
    assert.equal(evaluateAlarm({ ...rule, treatMissingData: 'breaching' }, [point(T, 10)], 'OK', T).state, 'ALARM');
  });

  it('compares as each operator says, on the chosen statistic', () => {
    const p = { ...point(T, 50), maximum: 80 };
    const one = { ...rule, evaluationPeriods: 1, datapointsToAlarm: 1 };
    assert.equal(evaluateAlarm({ ...one, comparisonOperator: 'GreaterThanOrEqualToThreshold' }, [p], 'OK', T).state, 'ALARM');
    assert.equal(evaluateAlarm({ ...one, comparisonOperator: 'GreaterThanThreshold' }, [p], 'ALARM', T).state, 'OK');
    assert.equal(evaluateAlarm({ ...one, comparisonOperator: 'LessThanOrEqualToThreshold' }, [p], 'OK', T).state, 'ALARM');
    assert.equal(evaluateAlarm({ ...one, comparisonOperator: 'LessThanThreshold' }, [p], 'ALARM', T).state, 'OK');
    assert.equal(evaluateAlarm({ ...one, statistic: 'Maximum' }, [p], 'OK', T).state, 'ALARM');
  });
});
