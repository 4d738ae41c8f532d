import { it } from 'node:test';
import assert from 'node:assert/strict';
import type { ScalingPolicyRecord } from '../domain/index.js';
import { trackingQuery } from './autoscaling-controller.js';

const RESOURCE = 'service/prod/web';

function policy(configuration: NonNullable<ScalingPolicyRecord['TargetTrackingScalingPolicyConfiguration']>): ScalingPolicyRecord {
  return {
    PolicyARN: 'arn', PolicyName: 'p', PolicyType: 'TargetTrackingScaling', ServiceNamespace: 'ecs', ResourceId: RESOURCE,
    ScalableDimension: 'ecs:service:DesiredCount', CreationTime: 0, TargetTrackingScalingPolicyConfiguration: configuration,
  };
}

it('tracks the ECS service metrics CloudWatch names for the predefined types', () => {
  const service = [{ Name: 'ClusterName', Value: 'prod' }, { Name: 'ServiceName', Value: 'web' }];
  assert.deepEqual(trackingQuery(policy({ TargetValue: 50, PredefinedMetricSpecification: { PredefinedMetricType: 'ECSServiceAverageCPUUtilization' } }), RESOURCE),
    { Namespace: 'AWS/ECS', MetricName: 'CPUUtilization', Dimensions: service, Statistic: 'Average' });
  assert.deepEqual(trackingQuery(policy({ TargetValue: 50, PredefinedMetricSpecification: { PredefinedMetricType: 'ECSServiceAverageMemoryUtilization' } }), RESOURCE),
    { Namespace: 'AWS/ECS', MetricName: 'MemoryUtilization', Dimensions: service, Statistic: 'Average' });
});

it('tracks RequestCountPerTarget of the target group named in the ResourceLabel, summed per period', () => {
  const label = 'app/front/50dc6c495c0c9188/targetgroup/web/943f017f100becff';
  assert.deepEqual(trackingQuery(policy({ TargetValue: 100, PredefinedMetricSpecification: { PredefinedMetricType: 'ALBRequestCountPerTarget', ResourceLabel: label } }), RESOURCE), {
    Namespace: 'AWS/ApplicationELB', MetricName: 'RequestCountPerTarget', Statistic: 'Sum',
    Dimensions: [{ Name: 'TargetGroup', Value: 'targetgroup/web/943f017f100becff' }],
  });
});

it('tracks a customized metric in either of its two forms', () => {
  const dimensions = [{ Name: 'Queue', Value: 'jobs' }];
  assert.deepEqual(trackingQuery(policy({
    TargetValue: 10, CustomizedMetricSpecification: { Namespace: 'App', MetricName: 'Backlog', Statistic: 'Maximum', Dimensions: dimensions },
  }), RESOURCE), { Namespace: 'App', MetricName: 'Backlog', Statistic: 'Maximum', Dimensions: dimensions });
  assert.deepEqual(trackingQuery(policy({
    TargetValue: 10,
    CustomizedMetricSpecification: { Metrics: [{ Id: 'm1', MetricStat: { Metric: { Namespace: 'App', MetricName: 'Backlog', Dimensions: dimensions }, Stat: 'Sum' } }] },
  }), RESOURCE), { Namespace: 'App', MetricName: 'Backlog', Statistic: 'Sum', Dimensions: dimensions });
});
