import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import type { TaskStateReport } from '../model/agent-protocol.js';
import { TASK_STATUS_ORDER } from '../model/statuses.js';
import type { TaskStatus } from '../model/statuses.js';
import { agentTask, TEST_INSTANCE_ARN } from '../testkit/agent-tasks.js';
import { FakeRuntime } from '../testkit/fake-runtime.js';
import type { Clock } from './clock.js';
import { containerRuntimeName, containerSpec } from './container-spec.js';
import type { ContainerState } from './container-runtime.js';
import { ESSENTIAL_EXIT_REASON, TaskRunner } from './task-runner.js';

const IMAGE = 'wharf-test/busybox:latest';

/** A clock whose timers fire only when the test advances it. */
class ManualClock implements Clock {
  private t = Date.now();
  private timers: { at: number; fn: () => void }[] = [];
  now() { return this.t; }
  setTimer(ms: number, fn: () => void) {
    const timer = { at: this.t + ms, fn };
    this.timers.push(timer);
    return () => { this.timers = this.timers.filter((x) => x !== timer); };
  }
  advance(ms: number) {
    this.t += ms;
    const due = this.timers.filter((x) => x.at <= this.t);
    this.timers = this.timers.filter((x) => x.at > this.t);
    for (const d of due) d.fn();
  }
}

function harness(task = agentTask(), o: { rt?: FakeRuntime; adopted?: ContainerState[]; clock?: Clock; routeEvents?: boolean } = {}) {
  const rt = o.rt ?? new FakeRuntime({ images: [IMAGE] });
  const reports: TaskStateReport[] = [];
  const waiters: { pred: (r: TaskStateReport) => boolean; resolve: (r: TaskStateReport) => void }[] = [];
  const runner = new TaskRunner({
    task, runtime: rt, containerInstanceArn: TEST_INSTANCE_ARN, imagePullBehavior: 'prefer-cached', defaultStopTimeoutSeconds: 30,
    ...(o.adopted ? { adopted: o.adopted } : {}), ...(o.clock ? { clock: o.clock } : {}),
    onReport: (r) => {
      reports.push(r);
      for (const w of [...waiters]) if (w.pred(r)) { waiters.splice(waiters.indexOf(w), 1); w.resolve(r); }
    },
  });
  const sub = o.routeEvents === false ? undefined : rt.subscribe({}, (ev) => (ev.type === 'resync' ? runner.resync() : runner.onContainerEvent(ev.containerId)));
  const waitFor = (pred: (r: TaskStateReport) => boolean, what = 'report'): Promise<TaskStateReport> => {
    const last = reports.at(-1);
    if (last && pred(last)) return Promise.resolve(last);
    return new Promise((resolve, reject) => {
      const t = setTimeout(() => reject(new Error(`timed out waiting for ${what}; last report ${JSON.stringify(reports.at(-1))}`)), 5_000);
      waiters.push({ pred, resolve: (r) => { clearTimeout(t); resolve(r); } });
    });
  };
  const status = (s: TaskStatus) => waitFor((r) => r.lastStatus === s, s);
  return { rt, runner, reports, waitFor, status, close: async () => { sub?.close(); await runner.close(); } };
}

function assertForwardOnly(reports: TaskStateReport[]) {
  for (let i = 1; i < reports.length; i++) {
    assert.ok(TASK_STATUS_ORDER.indexOf(reports[i]!.lastStatus) >= TASK_STATUS_ORDER.indexOf(reports[i - 1]!.lastStatus),
      `status went backwards: ${reports.map((r) => r.lastStatus).join(' -> ')}`);
  }
}

describe('TaskRunner', () => {
  it('runs a task: PENDING with pullStartedAt, then RUNNING with runtime id, bindings and UNKNOWN health', async () => {
    const h = harness(agentTask({ containers: [{ name: 'app', portMappings: [{ containerPort: 80 }] }] }));
    try {
      h.runner.start();
      const running = await h.status('RUNNING');
      assert.equal(h.reports[0]!.lastStatus, 'PENDING');
      assert.ok(h.reports[0]!.pullStartedAt);
      assert.ok(running.startedAt && running.pullStoppedAt);
      const c = running.containers[0]!;
      assert.equal(c.lastStatus, 'RUNNING');
      assert.equal(c.healthStatus, 'UNKNOWN');
      assert.ok(c.runtimeId);
      assert.equal(c.networkBindings?.[0]?.containerPort, 80);
      assert.ok((c.networkBindings?.[0]?.hostPort ?? 0) > 0);
      assert.deepEqual(h.rt.calls, ['create:app', 'start:app']);
      const spec = h.rt.find('app')!.spec;
      assert.equal(spec.labels['com.wharf.ecs.task-arn'], h.runner.taskArn);
      assert.match(spec.name, /^ecs-test-1-app-[0-9a-f]{20}$/);
    } finally { await h.close(); }
  });

  it('stops on desiredStatus STOPPED: STOPPING, then STOPPED with exit codes and no stopCode of its own', async () => {
    const task = agentTask();
    const h = harness(task);
    try {
      h.runner.start();
      await h.status('RUNNING');
      h.runner.update({ ...task, desiredStatus: 'STOPPED' });
      const stopped = await h.status('STOPPED');
      assert.ok(h.reports.some((r) => r.lastStatus === 'STOPPING'));
      assert.equal(stopped.stopCode, undefined);
      assert.equal(stopped.containers[0]!.lastStatus, 'STOPPED');
      assert.equal(stopped.containers[0]!.exitCode, 143);
      assert.ok(stopped.executionStoppedAt);
      assertForwardOnly(h.reports);
    } finally { await h.close(); }
  });

  it('stops the whole task when an essential container exits (EssentialContainerExited)', async () => {
    const h = harness(agentTask({ containers: [{ name: 'app' }, { name: 'sidecar', essential: false }] }));
    try {
      h.runner.start();
      await h.status('RUNNING');
      h.rt.exit('app', 1);
      const stopped = await h.status('STOPPED');
      assert.equal(stopped.stopCode, 'EssentialContainerExited');
      assert.equal(stopped.stoppedReason, ESSENTIAL_EXIT_REASON);
      assert.equal(stopped.containers.find((c) => c.name === 'app')!.exitCode, 1);
      assert.equal(stopped.containers.find((c) => c.name === 'sidecar')!.exitCode, 143);
      assert.ok(h.rt.calls.includes('stop:sidecar'));
      assertForwardOnly(h.reports);
    } finally { await h.close(); }
  });

  it('keeps the task running when a non-essential container exits', async () => {
    const h = harness(agentTask({ containers: [{ name: 'app' }, { name: 'job', essential: false }] }));
    try {
      h.runner.start();
      await h.status('RUNNING');
      h.rt.exit('job', 0);
      const r = await h.waitFor((x) => x.containers.find((c) => c.name === 'job')?.lastStatus === 'STOPPED', 'job stopped');
      assert.equal(r.lastStatus, 'RUNNING');
      assert.equal(r.stopCode, undefined);
    } finally { await h.close(); }
  });

  it('fails to start when the image cannot be pulled: STOPPED, TaskFailedToStart, CannotPullContainerError', async () => {
    const rt = new FakeRuntime();
    rt.pullFailures.set('nope:1', 'pull access denied for nope');
    const h = harness(agentTask({ containers: [{ name: 'app', image: 'nope:1' }] }), { rt });
    try {
      h.runner.start();
      const stopped = await h.status('STOPPED');
      assert.equal(stopped.stopCode, 'TaskFailedToStart');
      assert.equal(stopped.stoppedReason, 'CannotPullContainerError: pull access denied for nope');
      assert.equal(stopped.containers[0]!.reason, stopped.stoppedReason);
      assert.equal(stopped.containers[0]!.lastStatus, 'STOPPED');
      assert.deepEqual(h.reports.map((r) => r.lastStatus), ['PENDING', 'STOPPED']);
    } finally { await h.close(); }
  });

  it('reports CannotCreateContainerError and CannotStartContainerError', async () => {
    const rt = new FakeRuntime({ images: [IMAGE, 'bad:1'] });
    rt.createFailures.set('bad:1', 'invalid mount config');
    const h1 = harness(agentTask({ containers: [{ name: 'app', image: 'bad:1' }] }), { rt });
    const h2 = harness(agentTask({ containers: [{ name: 'app', entryPoint: ['/nonexistent/bin'] }] }), { rt });
    try {
      h1.runner.start();
      h2.runner.start();
      const s1 = await h1.status('STOPPED');
      const s2 = await h2.status('STOPPED');
      assert.equal(s1.stoppedReason, 'CannotCreateContainerError: invalid mount config');
      assert.equal(s1.stopCode, 'TaskFailedToStart');
      assert.match(s2.stoppedReason ?? '', /^CannotStartContainerError: /);
      assert.equal(s2.stopCode, 'TaskFailedToStart');
    } finally { await h1.close(); await h2.close(); }
  });

  it('starts containers in dependsOn order (HEALTHY, SUCCESS) and counts a completed one as run', async () => {
    const h = harness(agentTask({
      containers: [
        { name: 'web', dependsOn: [{ containerName: 'db', condition: 'HEALTHY' }, { containerName: 'migrate', condition: 'SUCCESS' }] },
        { name: 'db', healthCheck: { command: ['CMD', 'true'] } },
        { name: 'migrate', essential: false, command: ['sh', '-c', 'exit 0'] },
      ],
    }));
    try {
      h.runner.start();
      const running = await h.status('RUNNING');
      const startOrder = h.rt.calls.filter((c) => c.startsWith('start:'));
      assert.equal(startOrder.at(-1), 'start:web');
      assert.equal(running.containers.find((c) => c.name === 'db')!.healthStatus, 'HEALTHY');
      const migrate = running.containers.find((c) => c.name === 'migrate')!;
      assert.equal(migrate.lastStatus, 'STOPPED');
      assert.equal(migrate.exitCode, 0);
    } finally { await h.close(); }
  });

  it('fails the task when a SUCCESS dependency exits non-zero', async () => {
    const h = harness(agentTask({
      containers: [
        { name: 'web', dependsOn: [{ containerName: 'migrate', condition: 'SUCCESS' }] },
        { name: 'migrate', essential: false, command: ['sh', '-c', 'exit 2'] },
      ],
    }));
    try {
      h.runner.start();
      const stopped = await h.status('STOPPED');
      assert.equal(stopped.stopCode, 'TaskFailedToStart');
      assert.match(stopped.stoppedReason ?? '', /dependency migrate cannot reach SUCCESS \(exit code 2\)/);
      assert.ok(!h.rt.calls.includes('start:web'));
    } finally { await h.close(); }
  });

  it('gives up after the dependency startTimeout', async () => {
    const clock = new ManualClock();
    const h = harness(agentTask({
      containers: [
        { name: 'web', dependsOn: [{ containerName: 'db', condition: 'HEALTHY' }] },
        { name: 'db', startTimeout: 10, healthCheck: { command: ['CMD-SHELL', 'pg_isready'] } },
      ],
    }), { clock });
    try {
      h.runner.start();
      await h.waitFor((r) => r.containers.find((c) => c.name === 'db')?.lastStatus === 'RUNNING', 'db running');
      clock.advance(11_000);
      const stopped = await h.status('STOPPED');
      assert.equal(stopped.stopCode, 'TaskFailedToStart');
      assert.match(stopped.stoppedReason ?? '', /dependency db did not reach HEALTHY within 10s/);
      assert.ok(!h.rt.calls.includes('start:web'));
    } finally { await h.close(); }
  });

  it('stops in reverse dependency order', async () => {
    const task = agentTask({
      containers: [
        { name: 'web', dependsOn: [{ containerName: 'api', condition: 'START' }] },
        { name: 'api', dependsOn: [{ containerName: 'db', condition: 'START' }] },
        { name: 'db' },
      ],
    });
    const h = harness(task);
    try {
      h.runner.start();
      await h.status('RUNNING');
      assert.deepEqual(h.rt.calls.filter((c) => c.startsWith('start:')), ['start:db', 'start:api', 'start:web']);
      h.runner.update({ ...task, desiredStatus: 'STOPPED' });
      await h.status('STOPPED');
      assert.deepEqual(h.rt.calls.filter((c) => c.startsWith('stop:')), ['stop:web', 'stop:api', 'stop:db']);
    } finally { await h.close(); }
  });

  it('re-adopts running containers without recreating or restarting them', async () => {
    const rt = new FakeRuntime({ images: [IMAGE] });
    const task = agentTask({ containers: [{ name: 'app' }, { name: 'side', essential: false }] });
    const ids = task.containers.map((c) => rt.adopt(containerSpec(task, c, {
      containerInstanceArn: TEST_INSTANCE_ARN, name: containerRuntimeName(task, c.name), defaultStopTimeoutSeconds: 30, runtimeNames: new Map(),
    })));
    const adopted = await rt.list({ 'com.wharf.ecs.task-arn': task.taskArn });
    const h = harness(task, { rt, adopted });
    try {
      h.runner.start();
      const running = await h.status('RUNNING');
      assert.deepEqual(rt.calls, []);
      assert.deepEqual(running.containers.map((c) => c.runtimeId).sort(), [...ids].sort());
      assert.deepEqual(h.reports.map((r) => r.lastStatus), ['RUNNING']);
    } finally { await h.close(); }
  });

  it('moves statuses only forward: a later RUNNING desiredStatus does not revive a stopped task', async () => {
    const task = agentTask();
    const h = harness(task);
    try {
      h.runner.start();
      await h.status('RUNNING');
      h.runner.update({ ...task, desiredStatus: 'STOPPED' });
      await h.status('STOPPED');
      h.runner.update({ ...task, desiredStatus: 'RUNNING' });
      h.runner.resync();
      await new Promise((r) => setTimeout(r, 20));
      assert.equal(h.runner.report().lastStatus, 'STOPPED');
      assert.equal(h.rt.calls.filter((c) => c.startsWith('create:')).length, 1);
      assertForwardOnly(h.reports);
    } finally { await h.close(); }
  });

  it('stops a task whose desiredStatus turns STOPPED during the pull, creating nothing', async () => {
    const rt = new FakeRuntime({ registry: [IMAGE] });
    let release!: () => void;
    rt.pullGate = new Promise((r) => { release = r; });
    const task = agentTask();
    const h = harness(task, { rt });
    try {
      h.runner.start();
      await h.status('PENDING');
      h.runner.update({ ...task, desiredStatus: 'STOPPED' });
      const stopped = await h.status('STOPPED');
      assert.equal(stopped.stopCode, undefined);
      assert.ok(!rt.calls.some((c) => c.startsWith('create:')));
    } finally { release(); await h.close(); }
  });

  it('reports health changes, keeping the task RUNNING when unhealthy', async () => {
    const h = harness(agentTask({ containers: [{ name: 'app', healthCheck: { command: ['CMD-SHELL', 'check'] } }] }));
    try {
      h.runner.start();
      const running = await h.status('RUNNING');
      assert.equal(running.containers[0]!.healthStatus, 'UNKNOWN');
      h.rt.setHealth('app', 'healthy');
      await h.waitFor((r) => r.containers[0]!.healthStatus === 'HEALTHY', 'HEALTHY');
      h.rt.setHealth('app', 'unhealthy');
      const r = await h.waitFor((x) => x.containers[0]!.healthStatus === 'UNHEALTHY', 'UNHEALTHY');
      assert.equal(r.lastStatus, 'RUNNING');
    } finally { await h.close(); }
  });

  it('notices an exit missed by the event stream on resync', async () => {
    const h = harness(agentTask(), { routeEvents: false });
    try {
      h.runner.start();
      await h.status('RUNNING');
      h.rt.exit('app', 9);
      h.runner.resync();
      const stopped = await h.status('STOPPED');
      assert.equal(stopped.containers[0]!.exitCode, 9);
      assert.equal(stopped.stopCode, 'EssentialContainerExited');
    } finally { await h.close(); }
  });

  it('reports a task first seen with desiredStatus STOPPED as STOPPED without starting anything', async () => {
    const h = harness(agentTask({ desiredStatus: 'STOPPED' }));
    try {
      h.runner.start();
      await h.status('STOPPED');
      assert.deepEqual(h.rt.calls, []);
      assert.deepEqual(h.reports.map((r) => r.lastStatus), ['STOPPED']);
    } finally { await h.close(); }
  });
});
