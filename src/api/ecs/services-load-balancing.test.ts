/**
 * Services behind load balancers, through the real AWS SDK against an in-process server with fake
 * agents: loadBalancers validated as ECS validates them, each RUNNING task registered in every
 * target group, a deployment waiting for healthy targets, draining before a task is stopped, and
 * tasks with an unhealthy target replaced, and each deployment's tasks kept in its own target groups
 * when UpdateService changes them. Target health is written into the store here, as the
 * load-balancer controller would write it.
 */
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import {
  CreateClusterCommand, CreateServiceCommand, DeleteServiceCommand, DescribeServicesCommand, RegisterTaskDefinitionCommand, UpdateServiceCommand,
  type LoadBalancer, type Service,
} from '@aws-sdk/client-ecs';
import { DescribeTargetHealthCommand, ElasticLoadBalancingV2Client } from '@aws-sdk/client-elastic-load-balancing-v2';
import {
  createTargetGroup, keys, modifyTargetGroupAttributes, type DomainContext, type ServiceRecord, type TargetRecord, type TaskRecord,
} from '../../domain/index.js';
import { attachLoadBalancer, ELB_ARN_PREFIX } from '../../testkit/elb-fixtures.js';
import { startFakeAgent, type FakeAgent } from '../../testkit/fake-agent.js';
import { startInProcessServer, TEST_CREDENTIALS, TEST_SCOPE, type InProcessServer } from '../../testkit/in-process-server.js';

describe('services with load balancers', () => {
  let s: InProcessServer;
  let ctx: DomainContext;
  const agents: FakeAgent[] = [];
  let elb: ElasticLoadBalancingV2Client;
  let seq = 0;

  before(async () => {
    s = await startInProcessServer({ taskReadyDelayMs: 0 });
    elb = new ElasticLoadBalancingV2Client({ endpoint: s.url, region: 'us-east-1', credentials: TEST_CREDENTIALS, maxAttempts: 1 });
    ctx = { store: s.store, scope: TEST_SCOPE, nowMs: Date.now, principalArn: `arn:aws:iam::${TEST_SCOPE.accountId}:root`, log: () => undefined };
    await s.ecs.send(new RegisterTaskDefinitionCommand({
      family: 'lb-web', containerDefinitions: [{ name: 'app', image: 'wharf-test/busybox', memory: 64, portMappings: [{ containerPort: 8080 }, { containerPort: 9090 }] }],
    }));
    await s.ecs.send(new RegisterTaskDefinitionCommand({
      family: 'lb-web', containerDefinitions: [{ name: 'app', image: 'wharf-test/busybox:v2', memory: 64, portMappings: [{ containerPort: 8080 }, { containerPort: 9090 }] }],
    }));
  });
  after(async () => { for (const a of agents) a.close(); elb?.destroy(); await s?.close(); });

  /** A cluster with `instances` fake agents, and a target group behind a load balancer, draining for `delaySeconds`. */
  async function setUp(instances: number, delaySeconds = 0): Promise<{ cluster: string; tg: string; lb: LoadBalancer[] }> {
    const n = ++seq;
    const cluster = `lb-${n}`;
    await s.ecs.send(new CreateClusterCommand({ clusterName: cluster }));
    for (let i = 0; i < instances; i++) agents.push(await startFakeAgent(s.url, TEST_CREDENTIALS, { cluster, simulate: {} }));
    const tg = (await createTargetGroup(ctx, { Name: `tg-${n}`, Protocol: 'HTTP', Port: 80 })).TargetGroups[0]!.TargetGroupArn!;
    await modifyTargetGroupAttributes(ctx, { TargetGroupArn: tg, Attributes: [{ Key: 'deregistration_delay.timeout_seconds', Value: String(delaySeconds) }] });
    await attachLoadBalancer(ctx, `lb-${n}`, tg);
    return { cluster, tg, lb: [{ targetGroupArn: tg, containerName: 'app', containerPort: 8080 }] };
  }

  async function until<T>(what: string, probe: () => Promise<T | undefined>, timeoutMs = 15_000): Promise<T> {
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      const v = await probe();
      if (v !== undefined && v !== false) return v;
      if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
      await new Promise((r) => setTimeout(r, 50));
    }
  }

  const describe1 = async (cluster: string, service: string): Promise<Service> =>
    (await s.ecs.send(new DescribeServicesCommand({ cluster, services: [service] }))).services![0]!;
  const targetsIn = async (tg: string): Promise<TargetRecord[]> =>
    (await s.store.list<TargetRecord>(keys.targetsOf(tg.split('/')[1]!))).map((e) => e.value);
  const tasksOf = async (cluster: string): Promise<TaskRecord[]> =>
    (await s.store.list<TaskRecord>(keys.tasksOf(cluster))).map((e) => e.value);
  /** Writes a target's health as the load-balancer controller would. */
  async function setHealth(target: TargetRecord, State: TargetRecord['health']['State'], Reason?: string, Description?: string): Promise<void> {
    const key = keys.target(target.TargetGroupArn.split('/')[1]!, target.Id, target.Port);
    const entry = (await s.store.get<TargetRecord>(key))!;
    await s.store.put(key, { ...entry.value, health: { State, ...(Reason ? { Reason } : {}), ...(Description ? { Description } : {}) } });
  }
  const live = (targets: TargetRecord[]) => targets.filter((t) => t.deregisteredAt === undefined);

  it('registers each RUNNING task at its instance and host port, and completes the deployment only once the targets are healthy', async () => {
    const { cluster, tg, lb } = await setUp(2);
    await s.ecs.send(new CreateServiceCommand({ cluster, serviceName: 'web', taskDefinition: 'lb-web:1', desiredCount: 2, loadBalancers: lb }));
    const targets = await until('two registrations', async () => { const t = await targetsIn(tg); return t.length === 2 ? t : undefined; });
    const tasks = await tasksOf(cluster);
    const instances = await s.store.list<{ containerInstanceArn: string; ec2InstanceId: string }>(keys.containerInstancesOf(cluster));
    for (const target of targets) {
      const task = tasks.find((t) => t.taskArn === target.taskArn)!;
      assert.ok(task, 'every target names its task');
      assert.equal(target.Id, instances.find((i) => i.value.containerInstanceArn === task.containerInstanceArn)!.value.ec2InstanceId);
      assert.equal(target.Port, task.dynamicHostPorts!.tcp[0], 'the host port placement gave container port 8080');
      assert.equal(target.address, '127.0.0.1', 'where the agent dialed from');
      assert.equal(target.health.State, 'initial');
    }
    const svc = await describe1(cluster, 'web');
    assert.deepEqual(svc.loadBalancers, lb);
    assert.equal(svc.deployments![0]!.rolloutState, 'IN_PROGRESS', 'tasks without healthy targets do not complete the deployment');
    assert.ok(svc.events!.some((e) => e.message === `(service web) registered 2 targets in (target-group ${tg})`), JSON.stringify(svc.events));

    for (const t of targets) await setHealth(t, 'healthy');
    const done = await until('deployment completed', async () => {
      const x = await describe1(cluster, 'web');
      return x.deployments?.[0]?.rolloutState === 'COMPLETED' ? x : undefined;
    });
    assert.ok(done.events!.some((e) => e.message === '(service web) has reached a steady state.'));
  });

  it('on scale-in deregisters the task first and stops it only after the deregistration delay', async () => {
    const { cluster, tg, lb } = await setUp(1, 1);
    await s.ecs.send(new CreateServiceCommand({ cluster, serviceName: 'web', taskDefinition: 'lb-web:1', desiredCount: 2, loadBalancers: lb }));
    const targets = await until('two registrations', async () => { const t = await targetsIn(tg); return t.length === 2 ? t : undefined; });
    for (const t of targets) await setHealth(t, 'healthy');
    await s.ecs.send(new UpdateServiceCommand({ cluster, service: 'web', desiredCount: 1 }));
    const drained = await until('a target draining', async () => (await targetsIn(tg)).find((t) => t.deregisteredAt !== undefined));
    const stopped = await until('the drained task stopped', async () => (await tasksOf(cluster)).find((t) => t.taskArn === drained.taskArn && t.desiredStatus === 'STOPPED'));
    assert.ok(stopped.stoppingAt! >= drained.deregisteredAt! + 1, `stopped at ${stopped.stoppingAt}, deregistered at ${drained.deregisteredAt}, delay 1 s`);
    assert.equal(stopped.stoppedReason, `Scaling activity initiated by (deployment ${(await describe1(cluster, 'web')).deployments![0]!.id})`);
    const svc = await describe1(cluster, 'web');
    const messages = svc.events!.map((e) => e.message);
    assert.ok(messages.includes('(service web) has begun draining connections on 1 tasks.'), messages.join('\n'));
    assert.ok(messages.includes(`(service web) deregistered 1 targets in (target-group ${tg})`), messages.join('\n'));
    const other = live(await targetsIn(tg));
    assert.equal(other.length, 1);
    assert.notEqual(other[0]!.taskArn, drained.taskArn);
  });

  it('replaces a task whose target stays unhealthy, with ECS\'s event, and registers its replacement', async () => {
    const { cluster, tg, lb } = await setUp(1);
    await s.ecs.send(new CreateServiceCommand({ cluster, serviceName: 'web', taskDefinition: 'lb-web:1', desiredCount: 1, loadBalancers: lb, healthCheckGracePeriodSeconds: 0 }));
    const [target] = await until('a registration', async () => { const t = await targetsIn(tg); return t.length === 1 ? t : undefined; });
    await setHealth(target!, 'unhealthy', 'Target.ResponseCodeMismatch', 'Health checks failed with these codes: [503]');
    const svc = await until('the unhealthy event', async () => {
      const x = await describe1(cluster, 'web');
      return x.events?.some((e) => e.message?.includes('is unhealthy in')) ? x : undefined;
    });
    assert.ok(svc.events!.some((e) => e.message ===
      `(service web) (instance ${target!.Id}) (port ${target!.Port}) is unhealthy in (target-group ${tg}) due to (reason Health checks failed with these codes: [503]).`),
    JSON.stringify(svc.events));
    const replacement = await until('a replacement registered', async () => live(await targetsIn(tg)).find((t) => t.taskArn !== target!.taskArn));
    assert.equal(replacement.health.State, 'initial');
    const old = await until('the unhealthy task stopped', async () => (await tasksOf(cluster)).find((t) => t.taskArn === target!.taskArn && t.desiredStatus === 'STOPPED'));
    assert.equal(old.stoppedReason, `Task failed ELB health checks in (target-group ${tg})`);
  });

  /** A second target group behind its own load balancer, in the cluster `setUp` made last. */
  async function otherGroup(suffix: string): Promise<string> {
    const arn = (await createTargetGroup(ctx, { Name: `tg-${seq}-${suffix}`, Protocol: 'HTTP', Port: 80 })).TargetGroups[0]!.TargetGroupArn!;
    await attachLoadBalancer(ctx, `lb-${seq}-${suffix}`, arn);
    return arn;
  }
  /** The one task of `deploymentId`, once it is RUNNING. */
  const runningTaskOf = (cluster: string, deploymentId: string) => until(`a RUNNING task of ${deploymentId}`, async () =>
    (await tasksOf(cluster)).find((t) => t.startedBy === deploymentId && t.lastStatus === 'RUNNING'));

  it('UpdateService to another target group starts a new deployment whose task registers there; the old task stays in the old group until it drains', async () => {
    const { cluster, tg, lb } = await setUp(1, 1);
    const other = await otherGroup('b');
    const created = await s.ecs.send(new CreateServiceCommand({ cluster, serviceName: 'web', taskDefinition: 'lb-web:1', desiredCount: 1, loadBalancers: lb }));
    const [first] = await until('a registration', async () => { const t = await targetsIn(tg); return t.length === 1 ? t : undefined; });
    await setHealth(first!, 'healthy');
    await until('the first deployment completed', async () => (await describe1(cluster, 'web')).deployments?.[0]?.rolloutState === 'COMPLETED');

    const moved = [{ targetGroupArn: other, containerName: 'app', containerPort: 9090 }];
    const updated = await s.ecs.send(new UpdateServiceCommand({ cluster, service: 'web', loadBalancers: moved }));
    const [next, previous] = updated.service!.deployments!;
    assert.equal(updated.service!.deployments!.length, 2);
    assert.equal(previous!.id, created.service!.deployments![0]!.id);
    assert.notEqual(next!.id, previous!.id);
    assert.equal(next!.taskDefinition, previous!.taskDefinition, 'a new deployment of the same task definition');
    assert.deepEqual(updated.service!.loadBalancers, moved);
    assert.ok(updated.service!.deployments!.every((d) => !('loadBalancers' in d)), 'a Deployment answers no loadBalancers, as ECS');

    const newTask = await runningTaskOf(cluster, next!.id!);
    const registered = await until('the new task registered in the new group', async () => live(await targetsIn(other)).find((t) => t.taskArn === newTask.taskArn));
    assert.equal(registered.Port, newTask.dynamicHostPorts!.tcp[1], 'the host port of container port 9090');
    // The old task is not moved: it stays registered (and serving) in the old group, and the new
    // one is not put there, while the new target is not yet healthy. (A sync applies its
    // deregistrations before its registrations, so a move would show by now.) As ELB answers it:
    const health = async (arn: string) => (await elb.send(new DescribeTargetHealthCommand({ TargetGroupArn: arn }))).TargetHealthDescriptions!
      .map((d) => [d.Target!.Id, d.Target!.Port, d.TargetHealth!.State]);
    assert.deepEqual(await health(tg), [[first!.Id, first!.Port, 'healthy']]);
    assert.deepEqual(await health(other), [[registered.Id, registered.Port, 'initial']]);
    assert.deepEqual(live(await targetsIn(tg)).map((t) => t.taskArn), [first!.taskArn]);
    assert.deepEqual(live(await targetsIn(other)).map((t) => t.taskArn), [newTask.taskArn]);
    assert.equal((await tasksOf(cluster)).find((t) => t.taskArn === first!.taskArn)!.desiredStatus, 'RUNNING');
    assert.deepEqual((await describe1(cluster, 'web')).loadBalancers, moved, 'DescribeServices shows the new configuration');

    await setHealth(registered, 'healthy');
    assert.deepEqual(await health(other), [[registered.Id, registered.Port, 'healthy']]);
    const drained = await until('the old target draining', async () => (await targetsIn(tg)).find((t) => t.taskArn === first!.taskArn && t.deregisteredAt !== undefined));
    const stopped = await until('the old task stopped', async () => (await tasksOf(cluster)).find((t) => t.taskArn === first!.taskArn && t.desiredStatus === 'STOPPED'));
    assert.ok(stopped.stoppingAt! >= drained.deregisteredAt! + 1, `stopped at ${stopped.stoppingAt}, deregistered at ${drained.deregisteredAt}, delay 1 s`);
    assert.ok(!(await targetsIn(other)).some((t) => t.taskArn === first!.taskArn), 'the old task was never registered in the new group');
    assert.ok(!(await targetsIn(tg)).some((t) => t.taskArn === newTask.taskArn), 'the new task was never registered in the old group');
    const done = await until('the new deployment completed', async () => {
      const x = await describe1(cluster, 'web');
      return x.deployments?.length === 1 && x.deployments[0]!.rolloutState === 'COMPLETED' ? x : undefined;
    });
    assert.equal(done.deployments![0]!.id, next!.id);
  });

  it('UpdateService with no load balancers: the new task is registered nowhere, the old one stays in its group until the new one is healthy, then drains', async () => {
    const { cluster, tg, lb } = await setUp(1);
    const agent = agents[agents.length - 1]!;
    // A container health check keeps the new task short of healthy until the test reports it HEALTHY.
    const family = `lb-checked-${seq}`;
    await s.ecs.send(new RegisterTaskDefinitionCommand({ family, containerDefinitions: [{ name: 'app', image: 'wharf-test/busybox', memory: 64,
      portMappings: [{ containerPort: 8080 }], healthCheck: { command: ['CMD-SHELL', 'true'] } }] }));
    await s.ecs.send(new CreateServiceCommand({ cluster, serviceName: 'web', taskDefinition: 'lb-web:1', desiredCount: 1, loadBalancers: lb }));
    const [first] = await until('a registration', async () => { const t = await targetsIn(tg); return t.length === 1 ? t : undefined; });
    await setHealth(first!, 'healthy');
    const updated = await s.ecs.send(new UpdateServiceCommand({ cluster, service: 'web', taskDefinition: family, loadBalancers: [] }));
    assert.equal(updated.service!.deployments!.length, 2);
    assert.deepEqual(updated.service!.loadBalancers, []);
    const newTask = await runningTaskOf(cluster, updated.service!.deployments![0]!.id!);
    assert.deepEqual(live(await targetsIn(tg)).map((t) => t.taskArn), [first!.taskArn], 'the old task keeps its target while the new one is not healthy');
    assert.equal((await tasksOf(cluster)).find((t) => t.taskArn === first!.taskArn)!.desiredStatus, 'RUNNING');

    agent.report({ taskArn: newTask.taskArn, lastStatus: 'RUNNING', containers: [{ name: 'app', lastStatus: 'RUNNING', healthStatus: 'HEALTHY' }] });
    await until('the old task stopped', async () => (await tasksOf(cluster)).find((t) => t.taskArn === first!.taskArn && t.desiredStatus === 'STOPPED'));
    const targets = await targetsIn(tg);
    assert.deepEqual(targets.map((t) => t.taskArn), [first!.taskArn], 'the new task was registered nowhere');
    assert.ok(targets[0]!.deregisteredAt !== undefined, 'deregistered before it was stopped');
    assert.equal((await tasksOf(cluster)).find((t) => t.taskArn === newTask.taskArn)!.desiredStatus, 'RUNNING');
  });

  it('a service stored before deployments kept their loadBalancers: the old deployment keeps the service\'s groups through an UpdateService', async () => {
    const { cluster, tg, lb } = await setUp(1);
    const other = await otherGroup('c');
    await s.ecs.send(new CreateServiceCommand({ cluster, serviceName: 'web', taskDefinition: 'lb-web:1', desiredCount: 1, loadBalancers: lb }));
    const [first] = await until('a registration', async () => { const t = await targetsIn(tg); return t.length === 1 ? t : undefined; });
    await setHealth(first!, 'healthy');
    // Rewrite the record as an older Wharf stored it: no loadBalancers on its deployments.
    const key = keys.service(cluster, 'web');
    const stored = (await s.store.get<ServiceRecord>(key))!;
    await s.store.put(key, { ...stored.value, deployments: stored.value.deployments.map(({ loadBalancers: _lb, ...d }) => d) },
      { expectedModRevision: stored.modRevision });

    const updated = await s.ecs.send(new UpdateServiceCommand({ cluster, service: 'web', loadBalancers: [{ targetGroupArn: other, containerName: 'app', containerPort: 8080 }] }));
    const newTask = await runningTaskOf(cluster, updated.service!.deployments![0]!.id!);
    await until('the new task registered in the new group', async () => live(await targetsIn(other)).some((t) => t.taskArn === newTask.taskArn));
    assert.deepEqual(live(await targetsIn(tg)).map((t) => t.taskArn), [first!.taskArn]);
    assert.ok(!(await targetsIn(other)).some((t) => t.taskArn === first!.taskArn));
  });

  it('drains the tasks of a deleted service before stopping them', async () => {
    const { cluster, tg, lb } = await setUp(1);
    await s.ecs.send(new CreateServiceCommand({ cluster, serviceName: 'web', taskDefinition: 'lb-web:1', desiredCount: 1, loadBalancers: lb }));
    await until('a registration', async () => (await targetsIn(tg)).length === 1);
    await s.ecs.send(new DeleteServiceCommand({ cluster, service: 'web', force: true }));
    await until('INACTIVE', async () => (await describe1(cluster, 'web')).status === 'INACTIVE');
    const [target] = await targetsIn(tg);
    assert.ok(target!.deregisteredAt !== undefined);
  });

  describe('refuses loadBalancers ECS refuses, in its words', () => {
    const create = (cluster: string, loadBalancers: LoadBalancer[], taskDefinition = 'lb-web:1') =>
      s.ecs.send(new CreateServiceCommand({ cluster, serviceName: `bad-${++seq}`, taskDefinition, desiredCount: 1, loadBalancers }));
    const refused = async (p: Promise<unknown>, message: string | RegExp) => {
      await assert.rejects(p, (err: Error) => {
        assert.equal(err.name, 'InvalidParameterException');
        if (typeof message === 'string') assert.equal(err.message, message); else assert.match(err.message, message);
        return true;
      });
    };

    it('an unknown or unattached target group, a missing container or port, a Classic load balancer, too many groups', async () => {
      const { cluster, tg } = await setUp(0);
      const loose = (await createTargetGroup(ctx, { Name: `loose-${seq}`, Protocol: 'HTTP', Port: 80 })).TargetGroups[0]!.TargetGroupArn!;
      await refused(create(cluster, [{ targetGroupArn: `${ELB_ARN_PREFIX}:targetgroup/nope/0123456789abcdef`, containerName: 'app', containerPort: 8080 }]),
        'Unable to assume role and validate the specified targetGroupArn. Please verify that the ECS service role being passed has the proper permissions.');
      await refused(create(cluster, [{ targetGroupArn: loose, containerName: 'app', containerPort: 8080 }]),
        `The target group with targetGroupArn ${loose} does not have an associated load balancer.`);
      await refused(create(cluster, [{ targetGroupArn: tg, containerName: 'web', containerPort: 8080 }]), 'The container web does not exist in the task definition.');
      await refused(create(cluster, [{ targetGroupArn: tg, containerName: 'app', containerPort: 80 }]), 'The container app did not have a container port 80 defined.');
      await refused(create(cluster, [{ targetGroupArn: tg, containerPort: 8080 }]), 'Container Name can not be blank.');
      await refused(create(cluster, [{ loadBalancerName: 'classic', containerName: 'app', containerPort: 8080 }]), /Classic Load Balancer/);
      await refused(create(cluster, Array.from({ length: 6 }, (_, i) => ({ targetGroupArn: tg, containerName: 'app', containerPort: 8080 + i }))), /at most 5 target groups/);
      await refused(create(cluster, [{ targetGroupArn: tg, containerName: 'app', containerPort: 8080 }, { targetGroupArn: tg, containerName: 'app', containerPort: 8080 }]),
        /more than once/);
      const list = await s.store.list(keys.servicesOf(cluster));
      assert.equal(list.length, 0, 'nothing was written');
    });

    it('UpdateService to a task definition without the load-balanced port', async () => {
      const { cluster, lb } = await setUp(0);
      await s.ecs.send(new RegisterTaskDefinitionCommand({ family: `lb-other-${seq}`, containerDefinitions: [{ name: 'app', image: 'x', memory: 8, portMappings: [{ containerPort: 7000 }] }] }));
      await s.ecs.send(new CreateServiceCommand({ cluster, serviceName: 'web', taskDefinition: 'lb-web:1', desiredCount: 0, loadBalancers: lb }));
      await refused(s.ecs.send(new UpdateServiceCommand({ cluster, service: 'web', taskDefinition: `lb-other-${seq}` })), 'The container app did not have a container port 8080 defined.');
      assert.equal((await describe1(cluster, 'web')).taskDefinition, `arn:aws:ecs:us-east-1:123456789012:task-definition/lb-web:1`);
    });

    it('UpdateService with loadBalancers naming a port the task definition lacks, or too many groups, changes nothing', async () => {
      const { cluster, tg, lb } = await setUp(0);
      const created = await s.ecs.send(new CreateServiceCommand({ cluster, serviceName: 'web', taskDefinition: 'lb-web:1', desiredCount: 0, loadBalancers: lb }));
      const before = await s.store.get(keys.service(cluster, 'web'));
      await refused(s.ecs.send(new UpdateServiceCommand({ cluster, service: 'web', loadBalancers: [{ targetGroupArn: tg, containerName: 'app', containerPort: 80 }] })),
        'The container app did not have a container port 80 defined.');
      await refused(s.ecs.send(new UpdateServiceCommand({ cluster, service: 'web', taskDefinition: 'lb-web:2',
        loadBalancers: Array.from({ length: 6 }, (_, i) => ({ targetGroupArn: tg, containerName: 'app', containerPort: 8080 + i })) })), /at most 5 target groups/);
      const after = await s.store.get(keys.service(cluster, 'web'));
      assert.equal(after!.modRevision, before!.modRevision, 'nothing was written');
      const svc = await describe1(cluster, 'web');
      assert.deepEqual(svc.deployments!.map((d) => d.id), created.service!.deployments!.map((d) => d.id));
      assert.deepEqual(svc.loadBalancers, lb);
    });
  });
});
