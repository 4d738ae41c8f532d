import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { MetricSeriesLimitError, MetricStore, singleValue } from './metric-store.js';

const T0 = Date.UTC(2026, 0, 1, 12, 0, 0);
const id = { namespace: 'AWS/ECS', metricName: 'CPUUtilization', dimensions: { ClusterName: 'c', ServiceName: 's' } };

function clock(start = T0) {
  const c = { now: start, nowMs: () => c.now };
  return c;
}

describe('MetricStore', () => {
  it('aggregates samples into periods with all five statistics', () => {
    const c = clock(T0 + 10 * 60_000);
    const store = new MetricStore({ nowMs: c.nowMs });
    for (const [offsetS, v] of [[0, 10], [20, 30], [40, 20], [60, 50], [130, 5]] as const) {
      store.put({ ...id, timestampMs: T0 + offsetS * 1000, values: singleValue(v), unit: 'Percent' });
    }
    const points = store.statistics({ ...id, startTimeMs: T0, endTimeMs: T0 + 300_000, periodSeconds: 60 });
    assert.deepEqual(points.map((p) => [p.timestampMs - T0, p.sampleCount, p.sum, p.minimum, p.maximum, p.average, p.unit]), [
      [0, 3, 60, 10, 30, 20, 'Percent'],
      [60_000, 1, 50, 50, 50, 50, 'Percent'],
      [120_000, 1, 5, 5, 5, 5, 'Percent'],
    ]);
    const five = store.statistics({ ...id, startTimeMs: T0, endTimeMs: T0 + 300_000, periodSeconds: 300 });
    assert.deepEqual(five.map((p) => [p.timestampMs - T0, p.sampleCount, p.sum, p.minimum, p.maximum]), [[0, 5, 115, 5, 50]]);
  });

  it('finds a series whatever the order of its dimensions, and answers [] for an unknown metric', () => {
    const store = new MetricStore({ nowMs: () => T0 + 60_000 });
    store.put({ ...id, dimensions: { ServiceName: 's', ClusterName: 'c' }, timestampMs: T0, values: singleValue(1) });
    assert.equal(store.statistics({ ...id, startTimeMs: T0, endTimeMs: T0 + 60_000, periodSeconds: 60 }).length, 1);
    assert.deepEqual(store.statistics({ ...id, metricName: 'Nope', startTimeMs: T0, endTimeMs: T0 + 60_000, periodSeconds: 60 }), []);
    assert.deepEqual(store.statistics({ ...id, dimensions: { ClusterName: 'c' }, startTimeMs: T0, endTimeMs: T0 + 60_000, periodSeconds: 60 }), []);
  });

  it('takes statistic sets, out-of-order data, and excludes the end time', () => {
    const store = new MetricStore({ nowMs: () => T0 + 3600_000 });
    store.put({ ...id, timestampMs: T0 + 120_000, values: { sampleCount: 4, sum: 100, minimum: 10, maximum: 40 } });
    store.put({ ...id, timestampMs: T0, values: singleValue(7) });
    store.put({ ...id, timestampMs: T0 + 60_000, values: singleValue(8) });
    const points = store.statistics({ ...id, startTimeMs: T0, endTimeMs: T0 + 120_000, periodSeconds: 60 });
    assert.deepEqual(points.map((p) => [p.timestampMs - T0, p.sum]), [[0, 7], [60_000, 8]]);
  });

  it('filters by unit as CloudWatch does', () => {
    const store = new MetricStore({ nowMs: () => T0 + 60_000 });
    store.put({ ...id, timestampMs: T0, values: singleValue(1), unit: 'Percent' });
    const q = { ...id, startTimeMs: T0, endTimeMs: T0 + 60_000, periodSeconds: 60 };
    assert.equal(store.statistics({ ...q, unit: 'Percent' }).length, 1);
    assert.equal(store.statistics({ ...q, unit: 'Count' }).length, 0);
  });

  it('answers old ranges from coarser tiers and forgets data past the longest retention', () => {
    const c = clock(T0);
    const tiers = [{ resolutionSeconds: 60, retentionSeconds: 3600 }, { resolutionSeconds: 600, retentionSeconds: 86_400 }];
    const store = new MetricStore({ nowMs: c.nowMs, tiers });
    for (let m = 0; m < 20; m++) store.put({ ...id, timestampMs: T0 + m * 60_000, values: singleValue(m) });
    c.now = T0 + 2 * 3600_000;
    // The one-minute tier no longer holds T0: ten-minute buckets answer, even at a 60 s period.
    const points = store.statistics({ ...id, startTimeMs: T0, endTimeMs: T0 + 3600_000, periodSeconds: 60 });
    assert.deepEqual(points.map((p) => [p.timestampMs - T0, p.sampleCount, p.sum]), [[0, 10, 45], [600_000, 10, 145]]);
    c.now = T0 + 2 * 86_400_000;
    assert.deepEqual(store.statistics({ ...id, startTimeMs: T0, endTimeMs: c.now, periodSeconds: 600 }), []);
    assert.deepEqual(store.listMetrics(), []);
    assert.equal(store.size, 0);
  });

  it('lists metrics with namespace, name, dimension filters and recent activity', () => {
    const c = clock();
    const store = new MetricStore({ nowMs: c.nowMs });
    store.put({ ...id, timestampMs: T0, values: singleValue(1) });
    store.put({ namespace: 'AWS/ECS', metricName: 'CPUUtilization', dimensions: { ClusterName: 'c' }, timestampMs: T0, values: singleValue(1) });
    c.now += 4 * 3600_000;
    store.put({ namespace: 'Custom', metricName: 'Jobs', dimensions: {}, timestampMs: c.now, values: singleValue(1) });
    assert.equal(store.listMetrics().length, 3);
    assert.deepEqual(store.listMetrics({ namespace: 'Custom' }).map((m) => m.metricName), ['Jobs']);
    assert.deepEqual(store.listMetrics({ dimensions: [{ name: 'ServiceName' }] }).map((m) => m.dimensions), [{ ClusterName: 'c', ServiceName: 's' }]);
    assert.deepEqual(store.listMetrics({ dimensions: [{ name: 'ServiceName', value: 'other' }] }), []);
    assert.equal(store.listMetrics({ activeSinceMs: c.now - 3 * 3600_000 }).length, 1);
  });

  it('refuses a new user series beyond its limit, keeps writing existing ones and Wharf\'s own', () => {
    const store = new MetricStore({ nowMs: () => T0, maxSeries: 1 });
    const user = { ...id, namespace: 'App/X' };
    store.put({ ...user, timestampMs: T0, values: singleValue(1) });
    assert.throws(() => store.put({ ...user, metricName: 'Other', timestampMs: T0, values: singleValue(1) }), MetricSeriesLimitError);
    store.put({ ...user, timestampMs: T0, values: singleValue(2) });
    assert.equal(store.statistics({ ...user, startTimeMs: T0, endTimeMs: T0 + 60_000, periodSeconds: 60 })[0]?.sum, 3);
    store.put({ ...id, timestampMs: T0, values: singleValue(1) });
    store.put({ ...id, namespace: 'ECS/ContainerInsights', timestampMs: T0, values: singleValue(1) });
    assert.deepEqual([store.size, store.userSeries], [3, 1]);
  });

  it('notifies listeners of every datum stored', () => {
    const store = new MetricStore({ nowMs: () => T0 });
    const seen: number[] = [];
    const off = store.onPut((d) => seen.push(d.values.sum));
    store.put({ ...id, timestampMs: T0, values: singleValue(4) });
    off();
    store.put({ ...id, timestampMs: T0, values: singleValue(5) });
    assert.deepEqual(seen, [4]);
  });

  it('survives a restart through its snapshot; an unreadable snapshot is an empty store', () => {
    const dir = mkdtempSync(join(tmpdir(), 'wharf-metrics-'));
    try {
      const snapshotPath = join(dir, 'metrics', 'snapshot.json');
      const first = new MetricStore({ nowMs: () => T0 + 60_000, snapshotPath });
      first.start();
      first.put({ ...id, timestampMs: T0, values: singleValue(9), unit: 'Percent' });
      first.close();
      const second = new MetricStore({ nowMs: () => T0 + 60_000, snapshotPath });
      second.start();
      const points = second.statistics({ ...id, startTimeMs: T0, endTimeMs: T0 + 60_000, periodSeconds: 60 });
      assert.deepEqual(points.map((p) => [p.sum, p.unit]), [[9, 'Percent']]);
      second.close();
      writeFileSync(snapshotPath, '{not json');
      const third = new MetricStore({ nowMs: () => T0 + 60_000, snapshotPath });
      third.start();
      assert.equal(third.size, 0);
      third.close();
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
