import { it } from 'node:test';
import assert from 'node:assert/strict';
import { MetricStore, singleValue } from '../metrics/index.js';
import { prometheusText, snakeCase } from './prometheus.js';

it('names families in snake case and escapes label values', () => {
  assert.equal(snakeCase('AWS/ECS'), 'aws_ecs');
  assert.equal(snakeCase('CPUUtilization'), 'cpu_utilization');
  assert.equal(snakeCase('ECS/ContainerInsights'), 'ecs_container_insights');
  assert.equal(snakeCase('HTTPCode_Target_2XX_Count'), 'http_code_target_2xx_count');
  assert.equal(snakeCase('9lives'), '_9lives');
});

it('exposes the newest datapoint of each fresh series, one gauge family per statistic', () => {
  const now = Date.UTC(2026, 10, 24, 8, 0, 30);
  const store = new MetricStore({ nowMs: () => now });
  store.put({ namespace: 'App/Web', metricName: 'Latency', dimensions: { Page: 'a"b\\c' }, timestampMs: now - 90_000, values: singleValue(1) });
  store.put({ namespace: 'App/Web', metricName: 'Latency', dimensions: { Page: 'a"b\\c' }, timestampMs: now - 10_000, values: singleValue(4) });
  store.put({ namespace: 'App/Web', metricName: 'Latency', dimensions: { Page: 'a"b\\c' }, timestampMs: now, values: singleValue(6) });
  store.put({ namespace: 'App/Web', metricName: 'Old', dimensions: {}, timestampMs: now - 20 * 60_000, values: singleValue(1) });
  const text = prometheusText(store, now);
  assert.match(text, /^# TYPE cloudwatch_app_web_latency_average gauge\ncloudwatch_app_web_latency_average\{page="a\\"b\\\\c"\} 5$/m);
  assert.match(text, /^cloudwatch_app_web_latency_sample_count\{page="a\\"b\\\\c"\} 2$/m);
  assert.doesNotMatch(text, /old/);
  assert.equal(prometheusText(new MetricStore(), now), '');
});
