/**
 * Services on several real instances (src/testkit/instance-hosts.ts: three network namespaces,
 * each with its own dockerd and `wharf agent`): spread across instances and zones, memberOf,
 * distinctInstance, DAEMON, draining, a rolling deployment to a revision that fails and is rolled
 * back by the circuit breaker, and the loss of an instance's link with its tasks replaced on the
 * others, then stopped on it when it comes back.
 *
 * The server runs with a 1 s task warm-up (ECS: 40 s) and a 3 s instance-loss grace (default 15 s)
 * so the rules play out at test speed.
 */
import { after, before, it, type TestContext } from 'node:test';
import assert from 'node:assert/strict';
import {
  CreateServiceCommand, DeleteServiceCommand, DescribeServicesCommand, DescribeTasksCommand, ListTasksCommand,
  RegisterTaskDefinitionCommand, UpdateContainerInstancesStateCommand, UpdateServiceCommand, type CreateServiceCommandInput, type Service,
  type Task,
} from '@aws-sdk/client-ecs';
import { LABELS } from '../../src/model/index.js';
import { startHosts, type InstanceHosts } from '../../src/testkit/instance-hosts.js';
import { TEST_IMAGE } from '../../src/testkit/test-image.js';
import { waitFor } from './helpers.js';

let h: InstanceHosts;
let cluster: string;

before(async () => {
  h = await startHosts({
    count: 3,
    attributes: (i) => ({ stack: i === 2 ? 'canary' : 'prod' }),
    serverArgs: ['--task-ready-delay-seconds', '1', '--instance-loss-grace-seconds', '3'],
  });
  cluster = h.wharf.cluster;
  const ecs = h.wharf.ecs;
  await ecs.send(new RegisterTaskDefinitionCommand({
    family: 'sleeper', containerDefinitions: [{ name: 'app', image: TEST_IMAGE, memory: 16, stopTimeout: 1, command: ['sleep', '3600'] }],
  }));
  await ecs.send(new RegisterTaskDefinitionCommand({
    family: 'sleeper', containerDefinitions: [{ name: 'app', image: TEST_IMAGE, memory: 16, stopTimeout: 1, command: ['sleep', '7200'] }],
  }));
  // An image no host has and no registry serves: every task of this revision fails to start.
  await ecs.send(new RegisterTaskDefinitionCommand({
    family: 'unpullable', containerDefinitions: [{ name: 'app', image: 'wharf-test/missing:none', memory: 16 }],
  }));
});
after(async () => { await h?.stop(); });

async function service(name: string): Promise<Service> {
  return (await h.wharf.ecs.send(new DescribeServicesCommand({ cluster, services: [name] }))).services![0]!;
}

async function untilService(name: string, test: (s: Service) => boolean, what: string, timeoutMs = 60_000): Promise<Service> {
  let last: Service | undefined;
  try {
    return await waitFor(`${name}: ${what}`, async () => {
      last = await service(name);
      return test(last) ? last : undefined;
    }, timeoutMs, 250);
  } catch (err) {
    // What the service looked like last says more than "timed out".
    const seen = last && { runningCount: last.runningCount, pendingCount: last.pendingCount, deployments: last.deployments,
      events: last.events?.slice(0, 8).map((e) => e.message) };
    throw new Error(`${(err as Error).message}; last seen: ${JSON.stringify(seen)}`);
  }
}

const steady = (n: number) => (s: Service) =>
  s.deployments?.length === 1 && s.deployments[0]?.rolloutState === 'COMPLETED' && s.runningCount === n && s.pendingCount === 0;

async function runningTasks(name: string): Promise<Task[]> {
  const arns = (await h.wharf.ecs.send(new ListTasksCommand({ cluster, serviceName: name }))).taskArns!;
  if (arns.length === 0) return [];
  return (await h.wharf.ecs.send(new DescribeTasksCommand({ cluster, tasks: arns }))).tasks!.filter((t) => t.lastStatus === 'RUNNING');
}

function countBy<T>(items: T[], key: (t: T) => string): Map<string, number> {
  const m = new Map<string, number>();
  for (const i of items) m.set(key(i), (m.get(key(i)) ?? 0) + 1);
  return m;
}

async function remove(name: string): Promise<void> {
  await h.wharf.ecs.send(new DeleteServiceCommand({ cluster, service: name, force: true }));
  await untilService(name, (s) => s.status === 'INACTIVE', 'INACTIVE');
}

/** Creates a service for one test and deletes it afterwards, pass or fail, so the next test starts clean. */
async function withService(t: TestContext, input: Omit<CreateServiceCommandInput, 'cluster'>): Promise<void> {
  await h.wharf.ecs.send(new CreateServiceCommand({ cluster, ...input }));
  t.after(() => remove(input.serviceName!));
}

it('spreads a service evenly across zones and instances by default', async (t) => {
  await withService(t, { serviceName: 'spread', taskDefinition: 'sleeper:1', desiredCount: 6 });
  await untilService('spread', steady(6), 'steady at 6');
  const tasks = await runningTasks('spread');
  assert.deepEqual([...countBy(tasks, (t) => t.availabilityZone!).values()], [2, 2, 2]);
  assert.deepEqual([...countBy(tasks, (t) => t.containerInstanceArn!).values()], [2, 2, 2]);
  // Each task runs on its own host's engine.
  for (const t of tasks) {
    const host = h.hostOf(t.containerInstanceArn!)!;
    assert.ok((await host.containers()).some((c) => c.labels[LABELS.taskArn] === t.taskArn));
  }
});

it('memberOf keeps tasks on the instances whose attributes match', async (t) => {
  await withService(t, {
    serviceName: 'prod-only', taskDefinition: 'sleeper:1', desiredCount: 4,
    placementConstraints: [{ type: 'memberOf', expression: 'attribute:stack == prod' }],
  });
  await untilService('prod-only', steady(4), 'steady at 4');
  for (const t of await runningTasks('prod-only')) assert.equal(h.hostOf(t.containerInstanceArn!)!.attributes['stack'], 'prod');
});

it('distinctInstance places at most one task per instance and says why the rest cannot be placed', async (t) => {
  await withService(t, {
    serviceName: 'distinct', taskDefinition: 'sleeper:1', desiredCount: 4, placementConstraints: [{ type: 'distinctInstance' }],
  });
  const s = await untilService('distinct', (x) => x.runningCount === 3 &&
    (x.events ?? []).some((e) => e.message!.includes('was unable to place a task because no container instance met all of its requirements')), 'three placed');
  assert.equal(s.runningCount, 3);
  assert.equal(new Set((await runningTasks('distinct')).map((t) => t.containerInstanceArn)).size, 3);
});

it('DAEMON runs one task on every instance', async (t) => {
  await withService(t, { serviceName: 'daemon', taskDefinition: 'sleeper:1', schedulingStrategy: 'DAEMON' });
  const s = await untilService('daemon', (x) => x.desiredCount === 3 && x.runningCount === 3, 'one per instance');
  assert.equal(s.schedulingStrategy, 'DAEMON');
  assert.equal(new Set((await runningTasks('daemon')).map((t) => t.containerInstanceArn)).size, 3);
});

it('rolls back a deployment whose tasks fail to start, with the circuit breaker', async (t) => {
  await withService(t, {
    serviceName: 'breaker', taskDefinition: 'sleeper:1', desiredCount: 2,
    deploymentConfiguration: { maximumPercent: 200, minimumHealthyPercent: 100, deploymentCircuitBreaker: { enable: true, rollback: true } },
  });
  const first = await untilService('breaker', steady(2), 'steady');
  const bad = (await h.wharf.ecs.send(new UpdateServiceCommand({ cluster, service: 'breaker', taskDefinition: 'unpullable' })))
    .service!.deployments![0]!.id!;
  const s = await untilService('breaker', (x) => steady(2)(x) && x.deployments![0]!.id !== bad, 'rolled back', 120_000);
  assert.ok(s.taskDefinition!.endsWith('sleeper:1'));
  const messages = s.events!.map((e) => e.message!);
  assert.ok(messages.includes(`(service breaker) (deployment ${bad}) deployment failed: tasks failed to start.`), messages.join('\n'));
  assert.ok(messages.some((m) => m.includes(`rolling back to ${first.deployments![0]!.id}`)), messages.join('\n'));
  // The healthy tasks kept serving throughout: minimumHealthyPercent 100 never let them go early.
  assert.ok((await runningTasks('breaker')).every((t) => t.taskDefinitionArn!.endsWith('sleeper:1')));
});

it('moves service tasks off a DRAINING instance within minimumHealthyPercent, and places nothing more there', async (t) => {
  await withService(t, {
    serviceName: 'drain', taskDefinition: 'sleeper:1', desiredCount: 3,
    deploymentConfiguration: { minimumHealthyPercent: 50, maximumPercent: 200 },
  });
  await untilService('drain', steady(3), 'steady');
  const drained = h.hosts[0]!.containerInstanceArn!;
  await h.wharf.ecs.send(new UpdateContainerInstancesStateCommand({ cluster, containerInstances: [drained], status: 'DRAINING' }));
  try {
    await waitFor('tasks moved off the draining instance', async () => {
      const tasks = await runningTasks('drain');
      return tasks.length === 3 && tasks.every((t) => t.containerInstanceArn !== drained) ? tasks : undefined;
    }, 60_000, 250);
    await waitFor('this service\'s containers gone from the drained host', async () => {
      const mine = new Set(((await h.wharf.ecs.send(new ListTasksCommand({ cluster, serviceName: 'drain', desiredStatus: 'STOPPED' }))).taskArns ?? []));
      const left = (await h.hosts[0]!.containers()).filter((c) => mine.has(c.labels[LABELS.taskArn] ?? ''));
      return left.length === 0 ? true : undefined;
    }, 30_000, 250);
  } finally {
    await h.wharf.ecs.send(new UpdateContainerInstancesStateCommand({ cluster, containerInstances: [drained], status: 'ACTIVE' }));
  }
});

it('replaces the tasks of an instance that lost its link, and stops them there once it is back', async (t) => {
  await withService(t, { serviceName: 'loss', taskDefinition: 'sleeper:1', desiredCount: 3 });
  await untilService('loss', steady(3), 'steady');
  const host = h.hosts[1]!;
  const stranded = (await runningTasks('loss')).filter((t) => t.containerInstanceArn === host.containerInstanceArn);
  assert.equal(stranded.length, 1, 'spread put one task on each host');
  await host.cutLink();
  try {
    // The session falls silent (3 heartbeats), the grace passes, and the task is replaced elsewhere.
    await waitFor('replacement on the other hosts', async () => {
      const tasks = await runningTasks('loss');
      return tasks.length === 3 && tasks.every((t) => t.containerInstanceArn !== host.containerInstanceArn) ? tasks : undefined;
    }, 90_000, 500);
    const written = (await h.wharf.ecs.send(new DescribeTasksCommand({ cluster, tasks: [stranded[0]!.taskArn!] }))).tasks![0]!;
    assert.equal(written.lastStatus, 'STOPPED');
    // Cut off, the host still runs the old container.
    assert.ok((await host.containers()).some((c) => c.labels[LABELS.taskArn] === stranded[0]!.taskArn));
  } finally {
    await host.restoreLink();
  }
  await waitFor('the returning agent stops the replaced task', async () => {
    const still = (await host.containers()).some((c) => c.labels[LABELS.taskArn] === stranded[0]!.taskArn);
    return still ? undefined : true;
  }, 60_000, 500);
});
