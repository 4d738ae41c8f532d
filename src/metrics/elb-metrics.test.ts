import { it } from 'node:test';
import assert from 'node:assert/strict';
import { targetGroupData } from './elb-metrics.js';

it('derives RequestCountPerTarget from healthy targets, response time as a statistic set, code classes with requests', () => {
  const data = targetGroupData({
    loadBalancer: 'app/web/50dc6c495c0c9188', targetGroup: 'targetgroup/web/73e2d6bc24d8a067',
    requestCount: 300, healthyTargetCount: 3, registeredTargetCount: 4,
    responseTime: { sumSeconds: 6, count: 300, minSeconds: 0.001, maxSeconds: 0.5 },
    httpCodeTarget: { '2XX': 290, '3XX': 0, '4XX': 10, '5XX': 0 },
  }, 1_000);
  const find = (name: string, dims: Record<string, string>) =>
    data.find((d) => d.metricName === name && JSON.stringify(d.dimensions) === JSON.stringify(dims));
  assert.equal(find('RequestCountPerTarget', { TargetGroup: 'targetgroup/web/73e2d6bc24d8a067' })?.values.sum, 100);
  assert.equal(find('RequestCount', { LoadBalancer: 'app/web/50dc6c495c0c9188' })?.values.sum, 300);
  const rt = find('TargetResponseTime', { LoadBalancer: 'app/web/50dc6c495c0c9188', TargetGroup: 'targetgroup/web/73e2d6bc24d8a067' });
  assert.deepEqual(rt?.values, { sampleCount: 300, sum: 6, minimum: 0.001, maximum: 0.5 });
  assert.equal(rt?.unit, 'Seconds');
  assert.ok(find('HTTPCode_Target_4XX_Count', { LoadBalancer: 'app/web/50dc6c495c0c9188' }));
  assert.equal(find('HTTPCode_Target_3XX_Count', { LoadBalancer: 'app/web/50dc6c495c0c9188' }), undefined);
  assert.ok(data.every((d) => d.namespace === 'AWS/ApplicationELB'));
});
