import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import type { ContainerInstanceRecord, DeploymentRecord, ServiceRecord, ServiceTarget, TargetRecord, TaskRecord } from '../domain/index.js';
import { circuitBreakerThreshold, planService, startBackoffMs, type ServiceSnapshot } from './service-plan.js';

const NOW = 1_800_000_000_000;
const OPTIONS = { taskReadyDelayMs: 40_000, instanceLossGraceMs: 15_000 };
const TD1 = 'arn:aws:ecs:us-east-1:1:task-definition/web:1';
const TD2 = 'arn:aws:ecs:us-east-1:1:task-definition/web:2';

function deployment(id: string, taskDefinition = TD1, extra: Partial<DeploymentRecord> = {}): DeploymentRecord {
  return { id, status: 'PRIMARY', taskDefinition, desiredCount: 0, createdAt: 0, updatedAt: 0, rolloutState: 'IN_PROGRESS', ...extra };
}

function service(extra: Partial<ServiceRecord> = {}): ServiceRecord {
  return {
    serviceArn: 'arn:aws:ecs:us-east-1:1:service/c/web', serviceName: 'web', clusterArn: 'arn:aws:ecs:us-east-1:1:cluster/c',
    status: 'ACTIVE', desiredCount: 4, taskDefinition: TD1, schedulingStrategy: 'REPLICA',
    deployments: [deployment('d1')], events: [], tags: [], createdAt: 0,
    deploymentConfiguration: { maximumPercent: 200, minimumHealthyPercent: 100 },
    ...extra,
  };
}

let taskSeq = 0;
/** A task of deployment `startedBy`, RUNNING for an hour on instance `on` unless told otherwise. */
function task(startedBy: string, on = 'i1', extra: Partial<TaskRecord> = {}): TaskRecord {
  const id = String(++taskSeq).padStart(32, '0');
  return {
    taskArn: `arn:aws:ecs:us-east-1:1:task/c/${id}`, clusterArn: 'x', containerInstanceArn: instanceArn(on), taskDefinitionArn: TD1,
    lastStatus: 'RUNNING', desiredStatus: 'RUNNING', version: 1, tags: [], startedBy, group: 'service:web',
    startedAt: (NOW - 3_600_000) / 1000, reservation: { cpu: 0, memory: 0, tcpPorts: [], udpPorts: [] },
    ...extra,
  };
}

const instanceArn = (id: string) => `arn:aws:ecs:us-east-1:1:container-instance/c/${id}`;
function instance(id: string, extra: Partial<ContainerInstanceRecord> = {}): ContainerInstanceRecord {
  return { containerInstanceArn: instanceArn(id), ec2InstanceId: id, status: 'ACTIVE', agentConnected: true, tags: [], registeredAt: 0, ...extra };
}

function snapshot(svc: ServiceRecord, tasks: TaskRecord[], extra: Partial<ServiceSnapshot> = {}): ServiceSnapshot {
  const instances = extra.instances ?? [instance('i1'), instance('i2')];
  let n = 0;
  return {
    service: svc, tasks, instances, healthChecked: new Map(), nowMs: NOW,
    eligibleInstanceArns: new Set(instances.map((i) => i.containerInstanceArn)),
    ids: { deployment: () => `ecs-svc/${String(++n).padStart(19, '9')}`, event: () => `event-${++n}` },
    ...extra,
  };
}

const startCount = (plan: ReturnType<typeof planService>) => plan.starts.reduce((a, s) => a + s.count, 0);

describe('service plan: desired count', () => {
  it('starts the whole desired count for a new service', () => {
    const plan = planService(snapshot(service(), []), OPTIONS);
    assert.deepEqual(plan.starts, [{ deploymentId: 'd1', taskDefinition: TD1, count: 4 }]);
    assert.deepEqual(plan.stops, []);
  });

  it('replaces only what is missing, and stops the excess after a scale-in, busiest instance first', () => {
    assert.equal(startCount(planService(snapshot(service(), [task('d1'), task('d1'), task('d1')]), OPTIONS)), 1);
    const a = task('d1', 'i1'), b = task('d1', 'i1'), c = task('d1', 'i2');
    const plan = planService(snapshot(service({ desiredCount: 2 }), [a, b, c]), OPTIONS);
    assert.equal(plan.stops.length, 1);
    assert.ok([a.taskArn, b.taskArn].includes(plan.stops[0]!.taskArn));
  });

  it('stops pending tasks before running ones on scale-in', () => {
    const running = task('d1'), pending = task('d1', 'i2', { lastStatus: 'PENDING', startedAt: undefined });
    const plan = planService(snapshot(service({ desiredCount: 1 }), [running, pending]), OPTIONS);
    assert.deepEqual(plan.stops.map((s) => s.taskArn), [pending.taskArn]);
  });

  it('is idempotent: a settled service plans nothing and writes nothing', () => {
    const svc = service({ desiredCount: 2 });
    const tasks = [task('d1'), task('d1', 'i2')];
    const first = planService(snapshot(svc, tasks), OPTIONS);
    assert.equal(first.service!.deployments[0]!.rolloutState, 'COMPLETED');
    assert.ok(first.service!.events.some((e) => e.message === '(service web) has reached a steady state.'));
    const again = planService(snapshot(first.service!, tasks), OPTIONS);
    assert.deepEqual(again.starts, []);
    assert.deepEqual(again.stops, []);
    assert.equal(again.service, undefined);
  });
});

describe('service plan: rolling deployment', () => {
  const rolling = (min: number, max: number, desired = 4) => service({
    desiredCount: desired, deploymentConfiguration: { minimumHealthyPercent: min, maximumPercent: max },
    deployments: [deployment('d2', TD2), deployment('d1', TD1, { status: 'ACTIVE', rolloutState: 'COMPLETED' })],
  });
  const old = (n: number) => Array.from({ length: n }, (_, i) => task('d1', i % 2 ? 'i2' : 'i1'));

  it('with 100/200 starts a full new set and stops nothing until it is healthy', () => {
    const plan = planService(snapshot(rolling(100, 200), old(4)), OPTIONS);
    assert.equal(startCount(plan), 4);
    assert.deepEqual(plan.stops, []);
  });

  it('with 50/100 stops half of the old tasks first (ceil for the minimum) and starts none', () => {
    const plan = planService(snapshot(rolling(50, 100), old(4)), OPTIONS);
    assert.equal(plan.stops.length, 2);
    assert.equal(startCount(plan), 0);
  });

  it('rounds maximumPercent down: desired 3 at 125% may run 3, so with 100% healthy nothing moves and ECS says why', () => {
    const plan = planService(snapshot(rolling(100, 125, 3), old(3)), OPTIONS);
    assert.equal(startCount(plan), 0);
    assert.deepEqual(plan.stops, []);
    assert.ok(plan.service!.events[0]!.message!.includes('was unable to stop or start tasks during a deployment because of the service deployment configuration'));
  });

  it('rounds minimumHealthyPercent up: desired 2 at 75% keeps both old tasks', () => {
    const plan = planService(snapshot(rolling(75, 100, 2), old(2)), OPTIONS);
    assert.deepEqual(plan.stops, []);
  });

  it('counts a new task without health checks as healthy only 40 s after RUNNING, and wakes up then', () => {
    const fresh = [1, 2, 3, 4].map(() => task('d2', 'i1', { startedAt: (NOW - 10_000) / 1000 }));
    const plan = planService(snapshot(rolling(100, 200), [...old(4), ...fresh]), OPTIONS);
    assert.deepEqual(plan.stops, []);
    assert.equal(plan.wakeAfterMs, 30_000);
    const later = planService({ ...snapshot(rolling(100, 200), [...old(4), ...fresh]), nowMs: NOW + 30_000 }, OPTIONS);
    assert.equal(later.stops.length, 4);
  });

  it('with a container health check, counts a task healthy once it is HEALTHY', () => {
    const checked = new Map([[TD1, new Set(['app'])]]);
    const fresh = [1, 2, 3, 4].map(() => task('d2', 'i1', { startedAt: NOW / 1000, healthStatus: 'HEALTHY' }));
    const plan = planService({ ...snapshot(rolling(100, 200), [...old(4), ...fresh]), healthChecked: checked }, OPTIONS);
    assert.equal(plan.stops.length, 4);
  });

  it('drops the old deployment once its tasks are stopped, and completes', () => {
    const svc = rolling(100, 200, 2);
    const plan = planService(snapshot(svc, [task('d2'), task('d2', 'i2'), task('d1', 'i1', { lastStatus: 'STOPPED', desiredStatus: 'STOPPED' })]), OPTIONS);
    assert.deepEqual(plan.service!.deployments.map((d) => [d.id, d.status, d.rolloutState]), [['d2', 'PRIMARY', 'COMPLETED']]);
    assert.deepEqual(plan.service!.lastCompletedDeployment, { id: 'd2', taskDefinition: TD2, loadBalancers: [] });
  });
});

describe('service plan: health and instance loss', () => {
  const checked = new Map([[TD1, new Set(['app'])]]);

  it('replaces a task that is UNHEALTHY once healthCheckGracePeriodSeconds is over', () => {
    const sick = task('d1', 'i1', { healthStatus: 'UNHEALTHY', startedAt: (NOW - 20_000) / 1000 });
    const early = planService({ ...snapshot(service({ desiredCount: 1, healthCheckGracePeriodSeconds: 60 }), [sick]), healthChecked: checked }, OPTIONS);
    assert.deepEqual(early.stops, []);
    assert.equal(early.wakeAfterMs, 40_000);
    const due = planService({ ...snapshot(service({ desiredCount: 1, healthCheckGracePeriodSeconds: 10 }), [sick]), healthChecked: checked }, OPTIONS);
    assert.deepEqual(due.stops, [{ taskArn: sick.taskArn, reason: 'Task failed container health checks', lost: false }]);
    assert.equal(startCount(due), 1);
  });

  it('writes off the tasks of an instance whose agent has been gone past the grace, and starts replacements', () => {
    const gone = instance('i1', { agentConnected: false, agentDisconnectedAt: (NOW - 20_000) / 1000 });
    const t = task('d1', 'i1');
    const plan = planService(snapshot(service({ desiredCount: 1 }), [t], { instances: [gone, instance('i2')] }), OPTIONS);
    assert.equal(plan.stops.length, 1);
    assert.equal(plan.stops[0]!.lost, true);
    assert.equal(startCount(plan), 1);
  });

  it('also writes off a task that was already being stopped when its agent went away', () => {
    const gone = instance('i1', { agentConnected: false, agentDisconnectedAt: (NOW - 20_000) / 1000 });
    const stopping = task('d1', 'i1', { desiredStatus: 'STOPPED' });
    const plan = planService(snapshot(service({ status: 'DRAINING', desiredCount: 0 }), [stopping], { instances: [gone] }), OPTIONS);
    assert.deepEqual(plan.stops.map((s) => [s.taskArn, s.lost]), [[stopping.taskArn, true]]);
  });

  it('waits out the grace for an agent that just disconnected', () => {
    const gone = instance('i1', { agentConnected: false, agentDisconnectedAt: (NOW - 5_000) / 1000 });
    const plan = planService(snapshot(service({ desiredCount: 1 }), [task('d1', 'i1')], { instances: [gone] }), OPTIONS);
    assert.deepEqual(plan.stops, []);
    assert.equal(plan.wakeAfterMs, 10_000);
  });

  it('replaces tasks on a DRAINING instance within minimumHealthyPercent', () => {
    const draining = instance('i1', { status: 'DRAINING' });
    const tasks = [task('d1', 'i1'), task('d1', 'i1'), task('d1', 'i2'), task('d1', 'i2')];
    const plan = planService(snapshot(service({ deploymentConfiguration: { minimumHealthyPercent: 50, maximumPercent: 200 } }), tasks,
      { instances: [draining, instance('i2')] }), OPTIONS);
    assert.equal(plan.stops.length, 2);
    assert.ok(plan.stops.every((s) => tasks.slice(0, 2).some((t) => t.taskArn === s.taskArn)));
    assert.equal(startCount(plan), 2);
  });
});

describe('service plan: circuit breaker and back-off', () => {
  it('uses ECS threshold formula: ceil(0.5 × desired) within [3, 200]', () => {
    assert.equal(circuitBreakerThreshold(1), 3);
    assert.equal(circuitBreakerThreshold(7), 4);
    assert.equal(circuitBreakerThreshold(10), 5);
    assert.equal(circuitBreakerThreshold(1000), 200);
  });

  it('backs off starts after repeated failures, up to 15 minutes', () => {
    assert.equal(startBackoffMs(2), 0);
    assert.equal(startBackoffMs(3), 5_000);
    assert.equal(startBackoffMs(4), 10_000);
    assert.equal(startBackoffMs(100), 15 * 60_000);
  });

  const failed = (id: string) => task(id, 'i1', { lastStatus: 'STOPPED', desiredStatus: 'STOPPED', startedAt: undefined, stoppedAt: (NOW - 60_000) / 1000 });
  const breaker = (rollback: boolean) => service({
    desiredCount: 2,
    deploymentConfiguration: { minimumHealthyPercent: 100, maximumPercent: 200, deploymentCircuitBreaker: { enable: true, rollback } },
    deployments: [deployment('d2', TD2), deployment('d1', TD1, { status: 'ACTIVE', rolloutState: 'COMPLETED' })],
    lastCompletedDeployment: { id: 'd1', taskDefinition: TD1 },
  });

  it('fails the deployment at the threshold and rolls back to the last completed one', () => {
    const tasks = [task('d1'), task('d1', 'i2'), failed('d2'), failed('d2'), failed('d2')];
    const plan = planService(snapshot(breaker(true), tasks), OPTIONS);
    const [head, ...rest] = plan.service!.deployments;
    assert.equal(head!.taskDefinition, TD1);
    assert.equal(head!.rolloutState, 'IN_PROGRESS');
    assert.equal(head!.rolloutStateReason, 'ECS deployment circuit breaker: rolling back to deploymentId d1.');
    // The failed deployment has no task left, so it is gone; d1's tasks are replaced by the rollback's.
    assert.deepEqual(rest.map((d) => d.id), ['d1']);
    assert.equal(plan.service!.taskDefinition, TD1);
    const messages = plan.service!.events.map((e) => e.message);
    assert.ok(messages.includes('(service web) (deployment d2) deployment failed: tasks failed to start.'));
  });

  it('without rollback, leaves the deployment FAILED and starts nothing for it', () => {
    const plan = planService(snapshot(breaker(false), [task('d1'), task('d1', 'i2'), failed('d2'), failed('d2'), failed('d2')]), OPTIONS);
    assert.equal(plan.service!.deployments[0]!.rolloutState, 'FAILED');
    assert.equal(plan.service!.deployments[0]!.failedTasks, 3);
    assert.equal(startCount(plan), 0);
  });

  it('below the threshold keeps trying, after the back-off', () => {
    const plan = planService(snapshot(breaker(true), [task('d1'), task('d1', 'i2'), failed('d2'), failed('d2')]), OPTIONS);
    assert.equal(plan.service!.deployments[0]!.failedTasks, 2);
    assert.equal(startCount(plan), 2);
  });
});

describe('service plan: DAEMON', () => {
  const daemon = service({ schedulingStrategy: 'DAEMON', desiredCount: 0, deploymentConfiguration: { minimumHealthyPercent: 0, maximumPercent: 100 } });

  it('targets every eligible ACTIVE connected instance that has no task, and follows their number', () => {
    const instances = [instance('i1'), instance('i2'), instance('i3', { agentConnected: false }), instance('i4', { status: 'DRAINING' })];
    const plan = planService(snapshot(daemon, [task('d1', 'i1')], { instances }), OPTIONS);
    assert.deepEqual(plan.starts, [{ deploymentId: 'd1', taskDefinition: TD1, count: 1, instanceArns: [instanceArn('i2')] }]);
    assert.equal(plan.service!.desiredCount, 2);
  });

  it('leaves out instances that fail the memberOf constraints, and stops its task on a DRAINING one', () => {
    const instances = [instance('i1', { status: 'DRAINING' }), instance('i2'), instance('i3')];
    const onDraining = task('d1', 'i1');
    const plan = planService(snapshot(daemon, [onDraining], { instances, eligibleInstanceArns: new Set([instanceArn('i2')]) }), OPTIONS);
    assert.deepEqual(plan.stops.map((s) => s.taskArn), [onDraining.taskArn]);
    assert.deepEqual(plan.starts[0]!.instanceArns, [instanceArn('i2')]);
  });

  it('replaces an old deployment\'s task on an instance only after it has stopped', () => {
    const svc = { ...daemon, deployments: [deployment('d2', TD2), deployment('d1', TD1, { status: 'ACTIVE' as const })] };
    const plan = planService(snapshot(svc, [task('d1', 'i1')], { instances: [instance('i1')] }), OPTIONS);
    assert.equal(plan.stops.length, 1);
    assert.deepEqual(plan.starts, []);
  });
});

describe('service plan: deletion', () => {
  it('stops every task of a DRAINING service and turns it INACTIVE once none is left', () => {
    const draining = service({ status: 'DRAINING', desiredCount: 0 });
    assert.equal(planService(snapshot(draining, [task('d1'), task('d1')]), OPTIONS).stops.length, 2);
    assert.equal(planService(snapshot(draining, []), OPTIONS).service!.status, 'INACTIVE');
  });
});

describe('service plan: load balancing', () => {
  const TG = 'arn:aws:elasticloadbalancing:us-east-1:1:targetgroup/web/0123456789abcdef';
  const TG2 = 'arn:aws:elasticloadbalancing:us-east-1:1:targetgroup/api/0123456789abcdef';
  const balanced = (extra: Partial<ServiceRecord> = {}) => service({
    desiredCount: 2, loadBalancers: [{ targetGroupArn: TG, containerName: 'app', containerPort: 8080 }], ...extra,
  });
  let port = 49152;
  /**
   * What the controller reads for `tasks`: each RUNNING task's intended targets (instance id, a host
   * port) in `groups` (by default TG alone; a function gives each task its own, as its deployment's
   * loadBalancers do), and the `registered` tasks' targets in `registeredIn` (by default TG alone).
   */
  function lb(tasks: TaskRecord[], extra: { states?: Record<string, TargetRecord['health']['State']>; delayMs?: number; registered?: TaskRecord[];
    deregisteredAt?: Record<string, number>; groups?: string[] | ((t: TaskRecord) => string[]); registeredIn?: (t: TaskRecord) => string[] } = {}) {
    const intendedTargets = new Map<string, ServiceTarget[]>();
    const targets: TargetRecord[] = [];
    const groupsOf = typeof extra.groups === 'function' ? extra.groups : () => (extra.groups as string[] | undefined) ?? [TG];
    for (const t of tasks) {
      if (t.lastStatus !== 'RUNNING' || t.desiredStatus !== 'RUNNING') continue;
      const wanted = groupsOf(t).map((g) => ({
        TargetGroupArn: g, Id: idOfInstance(t), Port: portOf(t), address: '10.0.0.1', taskArn: t.taskArn,
      }));
      intendedTargets.set(t.taskArn, wanted);
    }
    for (const t of extra.registered ?? tasks) {
      const deregisteredAt = extra.deregisteredAt?.[t.taskArn];
      for (const g of extra.registeredIn?.(t) ?? [TG]) {
        targets.push({
          TargetGroupArn: g, Id: idOfInstance(t), Port: portOf(t), address: '10.0.0.1', registeredAt: 0, taskArn: t.taskArn,
          ...(deregisteredAt !== undefined ? { deregisteredAt } : {}),
          health: { State: deregisteredAt !== undefined ? 'draining' : extra.states?.[t.taskArn] ?? 'healthy', Reason: 'Target.ResponseCodeMismatch',
            Description: 'Health checks failed with these codes: [503]' },
        });
      }
    }
    return { targetGroups: new Map([[TG, { deregistrationDelayMs: extra.delayMs ?? 5_000 }], [TG2, { deregistrationDelayMs: 0 }]]), targets, intendedTargets };
  }
  const ports = new Map<string, number>();
  const portOf = (t: TaskRecord) => { if (!ports.has(t.taskArn)) ports.set(t.taskArn, ++port); return ports.get(t.taskArn)!; };
  const idOfInstance = (t: TaskRecord) => `i-${t.containerInstanceArn.slice(-2)}`;
  const messages = (plan: ReturnType<typeof planService>) => plan.service?.events.map((e) => e.message) ?? [];

  it('registers each RUNNING task in its target groups, and counts it healthy only once every target is healthy, with no warm-up delay', () => {
    const fresh = [task('d1', 'i1', { startedAt: NOW / 1000 }), task('d1', 'i2', { startedAt: NOW / 1000 })];
    const unregistered = planService({ ...snapshot(balanced(), fresh), ...lb(fresh, { registered: [], groups: [TG, TG2] }) }, OPTIONS);
    assert.deepEqual(unregistered.registrations.map((r) => [r.TargetGroupArn, r.taskArn]),
      [[TG, fresh[0]!.taskArn], [TG2, fresh[0]!.taskArn], [TG, fresh[1]!.taskArn], [TG2, fresh[1]!.taskArn]]);
    assert.ok(messages(unregistered).includes(`(service web) registered 2 targets in (target-group ${TG})`));
    assert.ok(messages(unregistered).includes(`(service web) registered 2 targets in (target-group ${TG2})`));
    assert.equal(unregistered.service!.deployments[0]!.rolloutState, 'IN_PROGRESS');

    const initial = planService({ ...snapshot(balanced(), fresh), ...lb(fresh, { states: { [fresh[0]!.taskArn]: 'initial' } }) }, OPTIONS);
    assert.deepEqual(initial.registrations, []);
    assert.equal(initial.service!.deployments[0]!.rolloutState, 'IN_PROGRESS');
    assert.equal(initial.wakeAfterMs, undefined, 'the target\'s health change wakes the service, not a timer');

    const healthy = planService({ ...snapshot(balanced(), fresh), ...lb(fresh) }, OPTIONS);
    assert.equal(healthy.service!.deployments[0]!.rolloutState, 'COMPLETED');
    assert.ok(messages(healthy).includes('(service web) has reached a steady state.'));
  });

  it('with container health checks, needs the containers HEALTHY as well as the targets', () => {
    const checked = new Map([[TD1, new Set(['app'])]]);
    const tasks = [task('d1', 'i1', { healthStatus: 'UNKNOWN' }), task('d1', 'i2', { healthStatus: 'HEALTHY' })];
    const plan = planService({ ...snapshot(balanced(), tasks), healthChecked: checked, ...lb(tasks) }, OPTIONS);
    assert.equal(plan.service!.deployments[0]!.rolloutState, 'IN_PROGRESS');
  });

  it('drains a task before stopping it on scale-in: deregisters, records it, and stops it once the deregistration delay has passed', () => {
    const tasks = [task('d1', 'i1'), task('d1', 'i1'), task('d1', 'i2')];
    const first = planService({ ...snapshot(balanced(), tasks), ...lb(tasks) }, OPTIONS);
    assert.deepEqual(first.stops, [], 'nothing is stopped before its targets drain');
    const drained = Object.keys(first.service!.drainingTasks ?? {});
    assert.equal(drained.length, 1);
    assert.deepEqual(first.deregistrations.map((d) => d.taskArn), drained);
    assert.ok(messages(first).includes('(service web) has begun draining connections on 1 tasks.'));
    assert.ok(messages(first).includes(`(service web) deregistered 1 targets in (target-group ${TG})`));
    assert.equal(first.service!.runningCount, 2, 'a draining task no longer counts as running');

    // Same state again (the deregistration not yet applied): the same task stays chosen, nothing new is decided.
    const again = planService({ ...snapshot(first.service!, tasks), ...lb(tasks) }, OPTIONS);
    assert.deepEqual(Object.keys(again.service?.drainingTasks ?? first.service!.drainingTasks!), drained);
    assert.deepEqual(again.stops, []);
    assert.deepEqual(again.deregistrations.map((d) => d.taskArn), drained, 'a draining task\'s target still registered is deregistered again');

    const deregisteredAt = { [drained[0]!]: NOW / 1000 };
    const waiting = planService({ ...snapshot(first.service!, tasks), ...lb(tasks, { deregisteredAt }) }, OPTIONS);
    assert.deepEqual(waiting.stops, []);
    assert.deepEqual(waiting.deregistrations, []);
    assert.equal(waiting.wakeAfterMs, 5_000);

    const done = planService({ ...snapshot(first.service!, tasks), ...lb(tasks, { deregisteredAt }), nowMs: NOW + 5_000 }, OPTIONS);
    assert.deepEqual(done.stops, [{ taskArn: drained[0]!, reason: 'Scaling activity initiated by (deployment d1)', lost: false }]);

    // Once it is STOPPED it is forgotten, and the service is steady.
    const stoppedTasks = tasks.map((t) => (t.taskArn === drained[0] ? { ...t, lastStatus: 'STOPPED', desiredStatus: 'STOPPED' } : t));
    const settled = planService({ ...snapshot(done.service ?? first.service!, stoppedTasks), ...lb(stoppedTasks, { deregisteredAt }), nowMs: NOW + 6_000 }, OPTIONS);
    assert.equal(settled.service!.drainingTasks, undefined);
    assert.deepEqual(settled.deregistrations, []);
  });

  it('in a rolling deployment stops old tasks only as new ones turn healthy in the target group, each after draining', () => {
    const svc = balanced({ deployments: [deployment('d2', TD2), deployment('d1', TD1, { status: 'ACTIVE', rolloutState: 'COMPLETED' })] });
    const oldTasks = [task('d1', 'i1'), task('d1', 'i2')];
    const newTasks = [task('d2', 'i1', { startedAt: NOW / 1000 }), task('d2', 'i2', { startedAt: NOW / 1000 })];
    const all = [...oldTasks, ...newTasks];
    const starting = planService({ ...snapshot(svc, all), ...lb(all, { states: Object.fromEntries(newTasks.map((t) => [t.taskArn, 'initial'])) }) }, OPTIONS);
    assert.deepEqual(starting.deregistrations, []);
    assert.equal(starting.service?.drainingTasks, undefined);
    const oneHealthy = planService({ ...snapshot(svc, all), ...lb(all, { states: { [newTasks[1]!.taskArn]: 'initial' } }) }, OPTIONS);
    assert.equal(Object.keys(oneHealthy.service!.drainingTasks!).length, 1, 'minimumHealthyPercent 100: one old task may go per healthy new one');
    assert.deepEqual(oneHealthy.stops, []);
  });

  it('replaces a task whose target stays unhealthy past the grace period, with ECS\'s event, draining it first', () => {
    const sick = task('d1', 'i1', { startedAt: (NOW - 20_000) / 1000 });
    const ok = task('d1', 'i2');
    const states = { [sick.taskArn]: 'unhealthy' as const };
    const early = planService({ ...snapshot(balanced({ healthCheckGracePeriodSeconds: 60 }), [sick, ok]), ...lb([sick, ok], { states }) }, OPTIONS);
    assert.equal(early.service?.drainingTasks, undefined);
    assert.equal(early.wakeAfterMs, 40_000);
    const due = planService({ ...snapshot(balanced({ healthCheckGracePeriodSeconds: 10 }), [sick, ok]), ...lb([sick, ok], { states }) }, OPTIONS);
    assert.deepEqual(due.service!.drainingTasks, { [sick.taskArn]: { reason: `Task failed ELB health checks in (target-group ${TG})`, since: NOW / 1000 } });
    assert.ok(messages(due).includes(`(service web) (instance i-i1) (port ${portOf(sick)}) is unhealthy in (target-group ${TG}) due to ` +
      '(reason Health checks failed with these codes: [503]).'), messages(due).join('\n'));
    // An ip target (its Id is its address) is named by its task, as ECS names awsvpc tasks.
    const ipRead = lb([sick, ok], { states });
    const asIp = { ...ipRead, targets: ipRead.targets.map((x) => ({ ...x, Id: x.address })),
      intendedTargets: new Map([...ipRead.intendedTargets].map(([k, v]) => [k, v.map((w) => ({ ...w, Id: w.address }))])) };
    const ipDue = planService({ ...snapshot(balanced({ healthCheckGracePeriodSeconds: 10 }), [sick, ok]), ...asIp }, OPTIONS);
    assert.ok(messages(ipDue).includes(`(service web) (task ${sick.taskArn.slice(-32)}) is unhealthy in (target-group ${TG}) due to ` +
      '(reason Health checks failed with these codes: [503]).'), messages(ipDue).join('\n'));
    assert.equal(startCount(due), 1, 'its replacement starts while it drains (within maximumPercent)');
  });

  it('counts a task stopped for failing ELB health checks against the circuit breaker', () => {
    const failedElb = (n: number) => Array.from({ length: n }, () => task('d2', 'i1', {
      lastStatus: 'STOPPED', desiredStatus: 'STOPPED', stoppedReason: `Task failed ELB health checks in (target-group ${TG})`, stoppedAt: (NOW - 60_000) / 1000,
    }));
    const svc = balanced({
      deploymentConfiguration: { minimumHealthyPercent: 100, maximumPercent: 200, deploymentCircuitBreaker: { enable: true, rollback: false } },
      deployments: [deployment('d2', TD2), deployment('d1', TD1, { status: 'ACTIVE', rolloutState: 'COMPLETED' })],
    });
    const old = [task('d1', 'i1'), task('d1', 'i2')];
    const plan = planService({ ...snapshot(svc, [...old, ...failedElb(3)]), ...lb(old) }, OPTIONS);
    assert.equal(plan.service!.deployments[0]!.rolloutState, 'FAILED');
  });

  it('stops a lost task at once and deregisters its targets; deregisters those of tasks that stopped by themselves', () => {
    const gone = instance('i1', { agentConnected: false, agentDisconnectedAt: (NOW - 20_000) / 1000 });
    const lost = task('d1', 'i1');
    const exited = task('d1', 'i2', { lastStatus: 'STOPPED', desiredStatus: 'STOPPED' });
    const plan = planService({ ...snapshot(balanced({ desiredCount: 1 }), [lost, exited], { instances: [gone, instance('i2')] }), ...lb([lost], { registered: [lost, exited] }) }, OPTIONS);
    assert.deepEqual(plan.stops.map((s) => [s.taskArn, s.lost]), [[lost.taskArn, true]]);
    assert.deepEqual(plan.deregistrations.map((d) => d.taskArn).sort(), [lost.taskArn, exited.taskArn].sort());
    assert.equal(plan.service!.drainingTasks, undefined);
  });

  it('deregisters targets in a target group the service no longer uses, and forgets the group once none is left', () => {
    const tasks = [task('d1', 'i1'), task('d1', 'i2')];
    const svc = balanced({ loadBalancers: [{ targetGroupArn: TG2, containerName: 'app', containerPort: 8080 }], retiredTargetGroupArns: [TG] });
    const read = lb(tasks, { groups: [TG2] });
    const plan = planService({ ...snapshot(svc, tasks), ...read }, OPTIONS);
    assert.deepEqual(plan.deregistrations.map((d) => d.TargetGroupArn), [TG, TG]);
    assert.deepEqual(plan.registrations.map((r) => r.TargetGroupArn), [TG2, TG2]);
    assert.deepEqual(plan.service!.retiredTargetGroupArns, [TG], 'kept until the deregistrations are seen');
    const after = lb(tasks, { groups: [TG2], deregisteredAt: Object.fromEntries(tasks.map((t) => [t.taskArn, NOW / 1000])) });
    const next = planService({ ...snapshot(svc, tasks), ...after }, OPTIONS);
    assert.equal(next.service!.retiredTargetGroupArns, undefined);
  });

  it('DAEMON: starts an instance\'s new task only once its old one has drained and been stopped', () => {
    const daemon = balanced({
      schedulingStrategy: 'DAEMON', desiredCount: 1, deploymentConfiguration: { minimumHealthyPercent: 0, maximumPercent: 100 },
      deployments: [deployment('d2', TD2), deployment('d1', TD1, { status: 'ACTIVE' })],
    });
    const oldTask = task('d1', 'i1');
    const instances = [instance('i1')];
    const first = planService({ ...snapshot(daemon, [oldTask], { instances }), ...lb([oldTask]) }, OPTIONS);
    assert.deepEqual(Object.keys(first.service!.drainingTasks!), [oldTask.taskArn]);
    assert.deepEqual(first.starts, []);
    const draining = planService({ ...snapshot(first.service!, [oldTask], { instances }), ...lb([oldTask], { deregisteredAt: { [oldTask.taskArn]: NOW / 1000 } }) }, OPTIONS);
    assert.deepEqual(draining.starts, [], 'no second task on the instance while the first drains');
    const stoppedTask = { ...oldTask, lastStatus: 'STOPPED', desiredStatus: 'STOPPED' };
    const after = planService({ ...snapshot(first.service!, [stoppedTask], { instances }), ...lb([stoppedTask], { deregisteredAt: { [oldTask.taskArn]: NOW / 1000 } }), nowMs: NOW + 6_000 }, OPTIONS);
    assert.deepEqual(after.starts.map((st) => st.instanceArns), [[instanceArn('i1')]]);
  });

  it('drains every task of a deleted service before stopping it', () => {
    const tasks = [task('d1', 'i1'), task('d1', 'i2')];
    const plan = planService({ ...snapshot(balanced({ status: 'DRAINING', desiredCount: 0 }), tasks), ...lb(tasks) }, OPTIONS);
    assert.deepEqual(plan.stops, []);
    assert.equal(Object.keys(plan.service!.drainingTasks!).length, 2);
    assert.equal(plan.service!.status, 'DRAINING');
  });

  describe('a deployment\'s tasks stay in its own target groups', () => {
    const LB1 = [{ targetGroupArn: TG, containerName: 'app', containerPort: 8080 }];
    const LB2 = [{ targetGroupArn: TG2, containerName: 'app', containerPort: 8080 }];
    /** After UpdateService moved the service from TG (d1, completed) to TG2 (d2, same task definition). */
    const moved = (loadBalancers: typeof LB1, extra: Partial<ServiceRecord> = {}) => balanced({
      loadBalancers,
      deployments: [deployment('d2', TD1, { loadBalancers }), deployment('d1', TD1, { status: 'ACTIVE', rolloutState: 'COMPLETED', loadBalancers: LB1 })],
      ...extra,
    });
    const byDeployment = (t: TaskRecord) => (t.startedBy === 'd1' ? [TG] : [TG2]);

    it('registers the new deployment\'s tasks in the new group, keeps the old ones in the old group, and drains them from it only as the new ones turn healthy', () => {
      const oldTasks = [task('d1', 'i1'), task('d1', 'i2')];
      const newTasks = [task('d2', 'i1', { startedAt: NOW / 1000 }), task('d2', 'i2', { startedAt: NOW / 1000 })];
      const all = [...oldTasks, ...newTasks];
      const svc = moved(LB2);

      const unregistered = planService({ ...snapshot(svc, all), ...lb(all, { groups: byDeployment, registered: oldTasks }) }, OPTIONS);
      assert.deepEqual(unregistered.registrations.map((r) => [r.TargetGroupArn, r.taskArn]), newTasks.map((t) => [TG2, t.taskArn]));
      assert.deepEqual(unregistered.deregistrations, [], 'the old tasks keep their targets in the old group');
      assert.equal(unregistered.service?.drainingTasks, undefined);
      assert.deepEqual(unregistered.stops, []);

      const starting = planService({ ...snapshot(svc, all), ...lb(all, {
        groups: byDeployment, registeredIn: byDeployment, states: Object.fromEntries(newTasks.map((t) => [t.taskArn, 'initial'])),
      }) }, OPTIONS);
      assert.deepEqual(starting.registrations, []);
      assert.deepEqual(starting.deregistrations, []);
      assert.equal(starting.service?.drainingTasks, undefined, 'no old task goes before a new one is healthy in the new group');

      const healthy = planService({ ...snapshot(svc, all), ...lb(all, { groups: byDeployment, registeredIn: byDeployment }) }, OPTIONS);
      assert.deepEqual(Object.keys(healthy.service!.drainingTasks!).sort(), oldTasks.map((t) => t.taskArn).sort());
      assert.deepEqual(healthy.deregistrations.map((d) => [d.TargetGroupArn, d.taskArn]).sort(), oldTasks.map((t) => [TG, t.taskArn]).sort());
      assert.deepEqual(healthy.registrations, []);
      assert.deepEqual(healthy.service!.loadBalancers, LB2);
      assert.ok(messages(healthy).includes(`(service web) deregistered 2 targets in (target-group ${TG})`), messages(healthy).join('\n'));
    });

    it('judges an old task by its own target: unhealthy in the old group past the grace period, it is replaced', () => {
      const sick = task('d1', 'i1', { startedAt: (NOW - 120_000) / 1000 });
      const tasks = [sick, task('d1', 'i2'), task('d2', 'i1', { startedAt: NOW / 1000 })];
      const read = lb(tasks, { groups: byDeployment, registeredIn: byDeployment, states: { [sick.taskArn]: 'unhealthy', [tasks[2]!.taskArn]: 'initial' } });
      const plan = planService({ ...snapshot(moved(LB2, { healthCheckGracePeriodSeconds: 10 }), tasks), ...read }, OPTIONS);
      assert.deepEqual(plan.service!.drainingTasks, { [sick.taskArn]: { reason: `Task failed ELB health checks in (target-group ${TG})`, since: NOW / 1000 } });
      assert.deepEqual(plan.deregistrations.map((d) => [d.TargetGroupArn, d.taskArn]), [[TG, sick.taskArn]]);
    });

    it('with every load balancer removed, registers the new tasks nowhere and drains the old ones from their group as they are retired', () => {
      const oldTasks = [task('d1', 'i1'), task('d1', 'i2')];
      const newTasks = [task('d2', 'i1', { startedAt: (NOW - 10_000) / 1000 }), task('d2', 'i2', { startedAt: (NOW - 10_000) / 1000 })];
      const all = [...oldTasks, ...newTasks];
      const svc = moved([]);
      const groups = (t: TaskRecord) => (t.startedBy === 'd1' ? [TG] : []);
      const read = lb(all, { groups, registered: oldTasks });

      const warming = planService({ ...snapshot(svc, all), ...read }, OPTIONS);
      assert.deepEqual(warming.registrations, []);
      assert.deepEqual(warming.deregistrations, []);
      assert.equal(warming.service?.drainingTasks, undefined, 'the new tasks are not healthy before their warm-up delay');
      assert.equal(warming.wakeAfterMs, 30_000);

      const warm = planService({ ...snapshot(svc, all), ...read, nowMs: NOW + 30_000 }, OPTIONS);
      assert.deepEqual(Object.keys(warm.service!.drainingTasks!).sort(), oldTasks.map((t) => t.taskArn).sort());
      assert.deepEqual(warm.deregistrations.map((d) => [d.TargetGroupArn, d.taskArn]).sort(), oldTasks.map((t) => [TG, t.taskArn]).sort());
      assert.deepEqual(warm.registrations, []);

      // The old deployment is gone once its tasks are STOPPED; a target left registered (its
      // deregistration not yet applied) keeps the group read, and it is forgotten once none is.
      const stopped = oldTasks.map((t) => ({ ...t, lastStatus: 'STOPPED', desiredStatus: 'STOPPED' }));
      const after = [...stopped, ...newTasks];
      const leftover = planService({ ...snapshot(svc, after), ...lb(after, { groups, registered: stopped }), nowMs: NOW + 60_000 }, OPTIONS);
      assert.deepEqual(leftover.service!.deployments.map((d) => d.id), ['d2']);
      assert.deepEqual(leftover.deregistrations.map((d) => [d.TargetGroupArn, d.taskArn]).sort(), oldTasks.map((t) => [TG, t.taskArn]).sort());
      assert.deepEqual(leftover.service!.retiredTargetGroupArns, [TG]);
      const deregisteredAt = Object.fromEntries(oldTasks.map((t) => [t.taskArn, (NOW + 60_000) / 1000]));
      const clean = planService({ ...snapshot(leftover.service!, after), ...lb(after, { groups, registered: stopped, deregisteredAt }), nowMs: NOW + 61_000 }, OPTIONS);
      assert.equal(clean.service?.retiredTargetGroupArns, undefined);
      assert.deepEqual(clean.deregistrations, []);
    });

    it('a completed deployment is remembered with its loadBalancers, the service\'s for one that has none of its own', () => {
      const tasks = [task('d1', 'i1'), task('d1', 'i2')];
      const own = planService({ ...snapshot(balanced({ loadBalancers: LB2, deployments: [deployment('d1', TD1, { loadBalancers: LB1 })] }), tasks), ...lb(tasks) }, OPTIONS);
      assert.deepEqual(own.service!.lastCompletedDeployment, { id: 'd1', taskDefinition: TD1, loadBalancers: LB1 });
      const legacy = planService({ ...snapshot(balanced(), tasks), ...lb(tasks) }, OPTIONS);
      assert.deepEqual(legacy.service!.lastCompletedDeployment, { id: 'd1', taskDefinition: TD1, loadBalancers: LB1 });
    });

    it('a circuit-breaker rollback returns to the last completed deployment\'s loadBalancers', () => {
      const failed = () => task('d2', 'i1', { lastStatus: 'STOPPED', desiredStatus: 'STOPPED', startedAt: undefined, stoppedAt: (NOW - 60_000) / 1000 });
      const breaker = { minimumHealthyPercent: 100, maximumPercent: 200, deploymentCircuitBreaker: { enable: true, rollback: true } };
      const tasks = [task('d1', 'i1'), task('d1', 'i2'), failed(), failed(), failed()];
      const svc = moved(LB2, { deploymentConfiguration: breaker, lastCompletedDeployment: { id: 'd1', taskDefinition: TD1, loadBalancers: LB1 } });
      const read = lb(tasks, { groups: byDeployment, registered: tasks.slice(0, 2) });
      const plan = planService({ ...snapshot(svc, tasks), ...read }, OPTIONS);
      const head = plan.service!.deployments[0]!;
      assert.equal(head.rolloutStateReason, 'ECS deployment circuit breaker: rolling back to deploymentId d1.');
      assert.deepEqual(head.loadBalancers, LB1);
      assert.deepEqual(plan.service!.loadBalancers, LB1, 'DescribeServices shows the rollback\'s');
      assert.deepEqual(plan.deregistrations, [], 'd1\'s tasks stay registered in their group');

      // A remembered deployment without its loadBalancers (an older record) takes them from its
      // deployment record while that is still listed.
      const older = planService({ ...snapshot({ ...svc, lastCompletedDeployment: { id: 'd1', taskDefinition: TD1 } }, tasks), ...read }, OPTIONS);
      assert.deepEqual(older.service!.deployments[0]!.loadBalancers, LB1);
    });
  });
});
