import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { applyAdjustment, AWS_SCALE_OUT_DATAPOINTS, boundsCorrection, planScaling, stateAfter, stepFor, type PolicyInput, type TargetSnapshot } from './autoscaling-plan.js';

const NOW = 1_800_000_000_000;
const MIN = 60_000;

function tracking(datapoints: (number | undefined)[], extra: Partial<Extract<PolicyInput, { kind: 'tracking' }>> = {}): PolicyInput {
  return {
    kind: 'tracking', policyName: 'cpu50', alarmHigh: 'TargetTracking-high', alarmLow: 'TargetTracking-low',
    configuration: { TargetValue: 50, PredefinedMetricSpecification: { PredefinedMetricType: 'ECSServiceAverageCPUUtilization' } },
    state: {}, datapoints, ...extra,
  };
}

function snapshot(policies: PolicyInput[], extra: Partial<TargetSnapshot> = {}): TargetSnapshot {
  return {
    minCapacity: 1, maxCapacity: 10, desiredCount: 2, scaleInSuspended: false, scaleOutSuspended: false,
    deploymentInProgress: false, policies, nowMs: NOW, ...extra,
  };
}

const low = (value: number, n = 15) => Array.from({ length: n }, () => value);

describe('target tracking', () => {
  it('scales out proportionally once the periods it needs are above the target, rounding up', () => {
    const d = planScaling(snapshot([tracking([90, 80, 60])]));
    assert.deepEqual(d, {
      desiredCount: 4, policyName: 'cpu50', direction: 'out', from: 2,
      cause: 'monitor alarm TargetTracking-high in state ALARM triggered policy cpu50',
    });
    assert.equal(planScaling(snapshot([tracking([76, 80, 60])]))?.desiredCount, 4, '2 × 76 / 50 = 3.04 → 4');
  });

  it('scales out on the newest period above the target by default, never on a missing or lower one', () => {
    assert.equal(planScaling(snapshot([tracking([90, 40, 40])]))?.desiredCount, 4);
    assert.equal(planScaling(snapshot([tracking([50, 90, 90])])), undefined, 'at the target is not above it');
    assert.equal(planScaling(snapshot([tracking([undefined, 90, 90])])), undefined);
    assert.equal(planScaling(snapshot([tracking([])])), undefined);
  });

  it('with Application Auto Scaling\'s three datapoints, does not scale out on two periods above the target, nor across a gap', () => {
    const aws = { scaleOutDatapoints: AWS_SCALE_OUT_DATAPOINTS, scaleInDatapoints: 15 };
    assert.equal(planScaling(snapshot([tracking([90, 80, 60])]), aws)?.desiredCount, 4);
    assert.equal(planScaling(snapshot([tracking([90, 80, 40])]), aws), undefined);
    assert.equal(planScaling(snapshot([tracking([90, 80])]), aws), undefined);
    assert.equal(planScaling(snapshot([tracking([90, undefined, 80])]), aws), undefined);
  });

  it('never goes past MaxCapacity', () => {
    assert.equal(planScaling(snapshot([tracking([100, 100, 100])], { desiredCount: 8 }))?.desiredCount, 10);
    assert.equal(planScaling(snapshot([tracking([100, 100, 100])], { desiredCount: 10 })), undefined);
  });

  it('scales in only after fifteen periods below 90% of the target, to ceil(capacity × metric / target)', () => {
    const d = planScaling(snapshot([tracking(low(20))], { desiredCount: 6 }));
    assert.equal(d?.desiredCount, 3, '6 × 20 / 50 = 2.4 → 3');
    assert.equal(d?.direction, 'in');
    assert.equal(d?.cause, 'monitor alarm TargetTracking-low in state ALARM triggered policy cpu50');
    assert.equal(planScaling(snapshot([tracking(low(20, 14))], { desiredCount: 6 })), undefined, 'fourteen periods are not enough');
    assert.equal(planScaling(snapshot([tracking([...low(20, 14), 45])], { desiredCount: 6 })), undefined, '45 is not below 90% of 50');
  });

  it('never goes below MinCapacity, and DisableScaleIn keeps the count', () => {
    assert.equal(planScaling(snapshot([tracking(low(1))], { desiredCount: 6, minCapacity: 2 }))?.desiredCount, 2);
    const disabled = tracking(low(1), { configuration: { TargetValue: 50, DisableScaleIn: true, PredefinedMetricSpecification: { PredefinedMetricType: 'ECSServiceAverageCPUUtilization' } } });
    assert.equal(planScaling(snapshot([disabled], { desiredCount: 6 })), undefined);
  });

  it('holds scale-out within the cooldown unless the metric asks for more than the last one gave', () => {
    const state = { lastScaleOutAtMs: NOW - MIN, scaleOutFromCapacity: 2 };
    // From 2 at 90% the last scale-out gave 4; the metric still reflects 2 tasks.
    assert.equal(planScaling(snapshot([tracking([90, 90, 90], { state })], { desiredCount: 4 })), undefined);
    assert.equal(planScaling(snapshot([tracking([150, 150, 150], { state })], { desiredCount: 4 }))?.desiredCount, 6);
    // After the 300 s default cooldown the current capacity is the base again.
    const expired = { lastScaleOutAtMs: NOW - 301_000, scaleOutFromCapacity: 2 };
    assert.equal(planScaling(snapshot([tracking([90, 90, 90], { state: expired })], { desiredCount: 4 }))?.desiredCount, 8);
  });

  it('holds scale-in within the scale-in cooldown', () => {
    const policy = (ago: number) => tracking(low(20), {
      state: { lastScaleInAtMs: NOW - ago },
      configuration: { TargetValue: 50, ScaleInCooldown: 120, PredefinedMetricSpecification: { PredefinedMetricType: 'ECSServiceAverageCPUUtilization' } },
    });
    assert.equal(planScaling(snapshot([policy(119_000)], { desiredCount: 6 })), undefined);
    assert.equal(planScaling(snapshot([policy(120_000)], { desiredCount: 6 }))?.desiredCount, 3);
  });

  it('scales in only when every policy with scale-in enabled agrees, and out when any asks', () => {
    const cpu = tracking(low(20), { policyName: 'cpu' });
    const memoryHigh = tracking([...low(80, 3), ...low(40, 12)], { policyName: 'memory' });
    const memoryIdle = tracking(low(40), { policyName: 'memory' });
    assert.equal(planScaling(snapshot([cpu, tracking(low(48), { policyName: 'memory' })], { desiredCount: 6 })), undefined, '48 is not low enough');
    assert.equal(planScaling(snapshot([cpu, memoryIdle], { desiredCount: 6 }))?.desiredCount, 5, 'the largest of 3 and 5');
    assert.equal(planScaling(snapshot([cpu, memoryHigh], { desiredCount: 6 }))?.desiredCount, 10, 'ceil(6 × 80 / 50) = 10');
  });

  it('does not scale in during a deployment or when suspended; scale-out suspended stops scale-out', () => {
    assert.equal(planScaling(snapshot([tracking(low(20))], { desiredCount: 6, deploymentInProgress: true })), undefined);
    assert.equal(planScaling(snapshot([tracking(low(20))], { desiredCount: 6, scaleInSuspended: true })), undefined);
    assert.equal(planScaling(snapshot([tracking([90, 90, 90])], { scaleOutSuspended: true })), undefined);
    assert.equal(planScaling(snapshot([tracking([90, 90, 90])], { deploymentInProgress: true }))?.desiredCount, 4);
  });
});

describe('step scaling', () => {
  const steps = [
    { MetricIntervalLowerBound: 0, MetricIntervalUpperBound: 20, ScalingAdjustment: 1 },
    { MetricIntervalLowerBound: 20, ScalingAdjustment: 3 },
  ];
  const step = (breach: number | undefined, extra: Partial<Extract<PolicyInput, { kind: 'step' }>> = {}): PolicyInput => ({
    kind: 'step', policyName: 'up', state: {},
    configuration: { AdjustmentType: 'ChangeInCapacity', StepAdjustments: steps, Cooldown: 60 },
    alarms: [{ alarmName: 'cpu-high', breach }], ...extra,
  });

  it('picks the step holding the breach: lower bound inclusive above the threshold', () => {
    assert.equal(planScaling(snapshot([step(5)]))?.desiredCount, 3);
    assert.equal(planScaling(snapshot([step(20)]))?.desiredCount, 5);
    assert.equal(planScaling(snapshot([step(-1)])), undefined, 'no step below the threshold');
    assert.equal(planScaling(snapshot([step(0)]))?.cause, 'monitor alarm cpu-high in state ALARM triggered policy up');
  });

  it('upper bound inclusive below the threshold', () => {
    const down = [{ MetricIntervalUpperBound: -10, ScalingAdjustment: -2 }, { MetricIntervalLowerBound: -10, MetricIntervalUpperBound: 0, ScalingAdjustment: -1 }];
    assert.equal(stepFor(down, -10)?.ScalingAdjustment, -2);
    assert.equal(stepFor(down, -9.5)?.ScalingAdjustment, -1);
    assert.equal(stepFor(down, 0), undefined, 'the threshold itself is above it');
    assert.equal(stepFor([{ ScalingAdjustment: 2 }], undefined)?.ScalingAdjustment, 2, 'a lone unbounded step needs no metric');
    assert.equal(stepFor(down, undefined), undefined);
  });

  it('applies the three adjustment types, percentages truncated but at least one task and MinAdjustmentMagnitude', () => {
    assert.equal(applyAdjustment({ AdjustmentType: 'ChangeInCapacity' }, -3, 2), 0);
    assert.equal(applyAdjustment({ AdjustmentType: 'ExactCapacity' }, 7, 2), 7);
    assert.equal(applyAdjustment({ AdjustmentType: 'PercentChangeInCapacity' }, 50, 5), 7, '2.5 → 2');
    assert.equal(applyAdjustment({ AdjustmentType: 'PercentChangeInCapacity' }, 10, 5), 6, '0.5 → 1');
    assert.equal(applyAdjustment({ AdjustmentType: 'PercentChangeInCapacity' }, -10, 5), 4, '-0.5 → -1');
    assert.equal(applyAdjustment({ AdjustmentType: 'PercentChangeInCapacity' }, -50, 5), 3, '-2.5 → -2');
    assert.equal(applyAdjustment({ AdjustmentType: 'PercentChangeInCapacity', MinAdjustmentMagnitude: 3 }, 10, 5), 8);
  });

  it('within the cooldown scales out only past what the last scale-out added, and never in', () => {
    const state = { lastScaleOutAtMs: NOW - 30_000, scaleOutFromCapacity: 2 };
    assert.equal(planScaling(snapshot([step(5, { state })], { desiredCount: 3 })), undefined, '2 + 1 is already there');
    assert.equal(planScaling(snapshot([step(25, { state })], { desiredCount: 3 }))?.desiredCount, 5, '2 + 3 goes past it');
    const down = step(-5, {
      state: { lastScaleInAtMs: NOW - 30_000 },
      configuration: { AdjustmentType: 'ChangeInCapacity', StepAdjustments: [{ MetricIntervalUpperBound: 0, ScalingAdjustment: -1 }], Cooldown: 60 },
    });
    assert.equal(planScaling(snapshot([down], { desiredCount: 3 })), undefined);
    assert.equal(planScaling(snapshot([down], { desiredCount: 3, nowMs: NOW + 30_000 }))?.desiredCount, 2);
  });

  it('takes the largest count when several policies act', () => {
    const d = planScaling(snapshot([step(5), tracking([90, 90, 90])]));
    assert.equal(d?.desiredCount, 4);
    assert.equal(d?.policyName, 'cpu50');
  });
});

describe('bounds and state', () => {
  it('brings a desired count outside the capacity bounds inside', () => {
    assert.deepEqual(boundsCorrection({ minCapacity: 3, maxCapacity: 5, desiredCount: 1 }), { desiredCount: 3, cause: 'minimum capacity was set to 3' });
    assert.deepEqual(boundsCorrection({ minCapacity: 0, maxCapacity: 5, desiredCount: 9 }), { desiredCount: 5, cause: 'maximum capacity was set to 5' });
    assert.equal(boundsCorrection({ minCapacity: 0, maxCapacity: 5, desiredCount: 5 }), undefined);
  });

  it('a scale-out starts its cooldown from the capacity it was computed from', () => {
    const decision = { desiredCount: 6, policyName: 'p', direction: 'out' as const, cause: '', from: 2 };
    assert.deepEqual(stateAfter({ lastScaleInAtMs: 5 }, decision, NOW), { lastScaleInAtMs: 5, lastScaleOutAtMs: NOW, scaleOutFromCapacity: 2 });
    assert.deepEqual(stateAfter({}, { ...decision, direction: 'in' }, NOW), { lastScaleInAtMs: NOW });
  });
});
