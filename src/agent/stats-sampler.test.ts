import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { TelemetryReport } from '../model/agent-protocol.js';
import type { Clock } from './clock.js';
import { silentLogger } from './log.js';
import { CgroupStatsSource, StatsSampler } from './stats-sampler.js';
import type { ContainerUsageReading, StatsSource } from './stats-sampler.js';

class ManualClock implements Clock {
  t = 1_000_000;
  now() { return this.t; }
  setTimer() { return () => undefined; }
}

class TableSource implements StatsSource {
  readings = new Map<string, ContainerUsageReading>();
  async read(id: string) { return this.readings.get(id); }
}

function sampler(source: StatsSource, clock: Clock, tasks: { taskArn: string; containerIds: string[] }[], connected: { up: boolean }) {
  const sent: TelemetryReport[] = [];
  const s = new StatsSampler({
    source, clock, logger: silentLogger, tasks: () => tasks, sampleIntervalMs: 20_000, maxPendingSamples: 3,
    send: (r) => { if (connected.up) sent.push(structuredClone(r)); return connected.up; },
  });
  return { s, sent };
}

describe('StatsSampler', () => {
  it('turns cumulative CPU time into CPU units per task, summing containers, once each has two readings', async () => {
    const clock = new ManualClock();
    const source = new TableSource();
    const { s, sent } = sampler(source, clock, [{ taskArn: 't1', containerIds: ['a', 'b'] }], { up: true });
    source.readings.set('a', { cpuNanos: 0, memoryBytes: 10 * 1048576 });
    source.readings.set('b', { cpuNanos: 5e9, memoryBytes: 6 * 1048576 });
    await s.sampleOnce();
    assert.deepEqual(sent, []);
    clock.t += 20_000;
    // a: 10 s of CPU in 20 s = half a core = 512 units; b: 5 s more = 256 units.
    source.readings.set('a', { cpuNanos: 10e9, memoryBytes: 12 * 1048576 });
    source.readings.set('b', { cpuNanos: 10e9, memoryBytes: 4 * 1048576 });
    await s.sampleOnce();
    assert.deepEqual(sent, [{ samples: [{ taskArn: 't1', timestampMs: clock.t, cpuUnits: 768, memoryMiB: 16 }] }]);
  });

  it('keeps samples while the server is unreachable (bounded, oldest dropped) and sends them together', async () => {
    const clock = new ManualClock();
    const source = new TableSource();
    const link = { up: false };
    const { s, sent } = sampler(source, clock, [{ taskArn: 't1', containerIds: ['a'] }], link);
    for (let i = 0; i <= 5; i++) {
      source.readings.set('a', { cpuNanos: i * 1e9, memoryBytes: 1048576 });
      await s.sampleOnce();
      clock.t += 1000;
    }
    link.up = true;
    source.readings.set('a', { cpuNanos: 6e9, memoryBytes: 1048576 });
    await s.sampleOnce();
    assert.equal(sent.length, 1);
    assert.equal(sent[0]!.samples.length, 3);
    assert.deepEqual(sent[0]!.samples.map((x) => x.timestampMs), [1_004_000, 1_005_000, 1_006_000]);
  });

  it('leaves out a task whose container is gone', async () => {
    const clock = new ManualClock();
    const source = new TableSource();
    const { s, sent } = sampler(source, clock, [{ taskArn: 't1', containerIds: ['gone'] }], { up: true });
    await s.sampleOnce();
    clock.t += 1000;
    await s.sampleOnce();
    assert.deepEqual(sent, []);
  });
});

describe('CgroupStatsSource', () => {
  it('reads cgroup v1 and v2 files, excluding inactive page cache, and falls back for containers it cannot find', async () => {
    const root = mkdtempSync(join(tmpdir(), 'wharf-cgroup-'));
    try {
      mkdirSync(join(root, 'cpuacct/docker/v1'), { recursive: true });
      mkdirSync(join(root, 'memory/docker/v1'), { recursive: true });
      writeFileSync(join(root, 'cpuacct/docker/v1/cpuacct.usage'), '123456789\n');
      writeFileSync(join(root, 'memory/docker/v1/memory.usage_in_bytes'), '10000\n');
      writeFileSync(join(root, 'memory/docker/v1/memory.stat'), 'cache 5000\ninactive_file 1\ntotal_inactive_file 4000\n');
      const v2 = join(root, 'system.slice/docker-v2.scope');
      mkdirSync(v2, { recursive: true });
      writeFileSync(join(v2, 'cpu.stat'), 'usage_usec 2500\nuser_usec 2000\n');
      writeFileSync(join(v2, 'memory.current'), '9000\n');
      writeFileSync(join(v2, 'memory.stat'), 'anon 100\ninactive_file 1000\n');
      const fallback = new TableSource();
      fallback.readings.set('remote', { cpuNanos: 7, memoryBytes: 8 });
      const source = new CgroupStatsSource(root, fallback);
      assert.deepEqual(await source.read('v1'), { cpuNanos: 123456789, memoryBytes: 6000 });
      assert.deepEqual(await source.read('v2'), { cpuNanos: 2_500_000, memoryBytes: 8000 });
      assert.deepEqual(await source.read('remote'), { cpuNanos: 7, memoryBytes: 8 });
      rmSync(join(root, 'cpuacct/docker/v1'), { recursive: true });
      assert.equal(await source.read('v1'), undefined);
      assert.equal(await new CgroupStatsSource(root, undefined).read('remote'), undefined);
    } finally {
      rmSync(root, { recursive: true, force: true });
    }
  });
});
