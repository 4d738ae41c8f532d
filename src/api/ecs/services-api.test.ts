/**
 * Services through the real AWS SDK against an in-process server, with fake agents that simulate
 * a runtime over the real gateway protocol: desired count, scale-in, rolling deployments, the
 * circuit breaker, DAEMON, draining, instance loss, events, and every input fault.
 */
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import {
  CreateClusterCommand, CreateServiceCommand, DeleteClusterCommand, DeleteServiceCommand, DescribeClustersCommand,
  DescribeServicesCommand, ECSClient, ListServicesByNamespaceCommand, ListServicesCommand, ListTasksCommand,
  RegisterTaskDefinitionCommand, UpdateContainerInstancesStateCommand, UpdateServiceCommand, DescribeTasksCommand,
  type Service,
} from '@aws-sdk/client-ecs';
import { startInProcessServer, TEST_CREDENTIALS, type InProcessServer } from '../../testkit/in-process-server.js';
import { startFakeAgent, type FakeAgent, type FakeAgentOptions } from '../../testkit/fake-agent.js';

const INSTANCE_LOSS_GRACE_MS = 300;

describe('services', () => {
  let s: InProcessServer;
  let ecs: ECSClient;
  const agents: FakeAgent[] = [];
  let clusterSeq = 0;

  before(async () => {
    // Tasks count as healthy at once, and a lost agent's tasks are replaced after 300 ms, so the
    // rules run at test speed; the ECS defaults (40 s, 15 s) are the server's own defaults.
    s = await startInProcessServer({ taskReadyDelayMs: 0, instanceLossGraceMs: INSTANCE_LOSS_GRACE_MS, heartbeatIntervalMs: 200 });
    ecs = s.ecs;
    await ecs.send(new RegisterTaskDefinitionCommand({
      family: 'web', containerDefinitions: [{ name: 'app', image: 'wharf-test/busybox', memory: 128 }],
    }));
    await ecs.send(new RegisterTaskDefinitionCommand({
      family: 'web', containerDefinitions: [{ name: 'app', image: 'wharf-test/busybox:v2', memory: 128 }],
    }));
    await ecs.send(new RegisterTaskDefinitionCommand({
      family: 'broken', containerDefinitions: [{ name: 'app', image: 'wharf-test/does-not-exist', memory: 128 }],
    }));
  });
  after(async () => { for (const a of agents) a.close(); await s.close(); });

  async function cluster(instances: number, options: FakeAgentOptions = {}, zones = ['zone-a', 'zone-b', 'zone-c']): Promise<{ name: string; agents: FakeAgent[] }> {
    const name = `svc-${++clusterSeq}`;
    await ecs.send(new CreateClusterCommand({ clusterName: name }));
    const mine: FakeAgent[] = [];
    for (let i = 0; i < instances; i++) {
      const agent = await startFakeAgent(s.url, TEST_CREDENTIALS, {
        cluster: name,
        attributes: [{ name: 'ecs.availability-zone', value: zones[i % zones.length]! }],
        simulate: {},
        ...options,
      });
      agents.push(agent);
      mine.push(agent);
    }
    return { name, agents: mine };
  }

  async function describe1(clusterName: string, service: string): Promise<Service> {
    const out = await ecs.send(new DescribeServicesCommand({ cluster: clusterName, services: [service] }));
    return out.services![0]!;
  }

  async function until(clusterName: string, service: string, test: (svc: Service) => boolean, what: string, timeoutMs = 10_000): Promise<Service> {
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      const svc = await describe1(clusterName, service);
      if (test(svc)) return svc;
      if (Date.now() > deadline) {
        throw new Error(`timed out waiting for ${what}: ${JSON.stringify({ ...svc, events: svc.events?.slice(0, 5) }, null, 1)}`);
      }
      await new Promise((r) => setTimeout(r, 50));
    }
  }

  const steady = (desired: number) => (svc: Service) =>
    svc.deployments?.length === 1 && svc.runningCount === desired && svc.deployments[0]?.rolloutState === 'COMPLETED';

  it('creates a service whose tasks carry startedBy = deployment id and group = service:<name>, then reaches a steady state', async () => {
    const c = await cluster(3);
    const created = await ecs.send(new CreateServiceCommand({ cluster: c.name, serviceName: 'api', taskDefinition: 'web:1', desiredCount: 4 }));
    const svc = created.service!;
    assert.equal(svc.status, 'ACTIVE');
    assert.equal(svc.serviceArn, `arn:aws:ecs:us-east-1:123456789012:service/${c.name}/api`);
    assert.equal(svc.deployments?.length, 1);
    assert.match(svc.deployments![0]!.id!, /^ecs-svc\/\d{19}$/);
    assert.equal(svc.deployments![0]!.rolloutState, 'IN_PROGRESS');
    assert.deepEqual(svc.deploymentConfiguration, { deploymentCircuitBreaker: { enable: false, rollback: false }, maximumPercent: 200, minimumHealthyPercent: 100 });
    assert.deepEqual(svc.placementStrategy, [{ type: 'spread', field: 'attribute:ecs.availability-zone' }, { type: 'spread', field: 'instanceId' }]);

    const done = await until(c.name, 'api', steady(4), 'steady state');
    assert.equal(done.deployments![0]!.rolloutStateReason, `ECS deployment ${svc.deployments![0]!.id} completed.`);
    const messages = done.events!.map((e) => e.message);
    assert.ok(messages.includes('(service api) has reached a steady state.'), messages.join('\n'));
    assert.ok(messages.some((m) => /^\(service api\) has started 4 tasks: (\(task [0-9a-f]{32}\) ?){4}\.$/.test(m!)), messages.join('\n'));

    const list = await ecs.send(new ListTasksCommand({ cluster: c.name, serviceName: 'api' }));
    assert.equal(list.taskArns?.length, 4);
    const tasks = (await ecs.send(new DescribeTasksCommand({ cluster: c.name, tasks: list.taskArns! }))).tasks!;
    for (const t of tasks) {
      assert.equal(t.startedBy, svc.deployments![0]!.id);
      assert.equal(t.group, 'service:api');
    }
    const clusters = await ecs.send(new DescribeClustersCommand({ clusters: [c.name] }));
    assert.equal(clusters.clusters![0]!.activeServicesCount, 1);
    assert.equal((await ecs.send(new ListServicesCommand({ cluster: c.name }))).serviceArns?.length, 1);
  });

  it('scales out and in with UpdateService desiredCount, without a new deployment', async () => {
    const c = await cluster(2);
    const created = await ecs.send(new CreateServiceCommand({ cluster: c.name, serviceName: 'scale', taskDefinition: 'web:1', desiredCount: 2 }));
    await until(c.name, 'scale', steady(2), 'steady at 2');
    await ecs.send(new UpdateServiceCommand({ cluster: c.name, service: 'scale', desiredCount: 5 }));
    let svc = await until(c.name, 'scale', (x) => x.runningCount === 5, 'scale-out to 5');
    assert.equal(svc.deployments![0]!.id, created.service!.deployments![0]!.id);
    await ecs.send(new UpdateServiceCommand({ cluster: c.name, service: 'scale', desiredCount: 1 }));
    svc = await until(c.name, 'scale', (x) => x.runningCount === 1 && x.pendingCount === 0, 'scale-in to 1');
    assert.ok(svc.events!.some((e) => /has stopped 4 running tasks/.test(e.message!)), svc.events!.map((e) => e.message).join('\n'));
  });

  it('replaces a task that stops', async () => {
    const c = await cluster(1);
    await ecs.send(new CreateServiceCommand({ cluster: c.name, serviceName: 'keep', taskDefinition: 'web:1', desiredCount: 2 }));
    await until(c.name, 'keep', steady(2), 'steady');
    const [victim] = (await ecs.send(new ListTasksCommand({ cluster: c.name, serviceName: 'keep' }))).taskArns!;
    c.agents[0]!.report({ taskArn: victim!, lastStatus: 'STOPPED', stopCode: 'EssentialContainerExited', stoppedReason: 'Essential container in task exited',
      containers: [{ name: 'app', lastStatus: 'STOPPED', exitCode: 1 }] });
    await until(c.name, 'keep', (x) => x.runningCount === 2, 'replacement');
    const running = (await ecs.send(new ListTasksCommand({ cluster: c.name, serviceName: 'keep' }))).taskArns!;
    assert.equal(running.length, 2);
    assert.ok(!running.includes(victim!));
  });

  it('rolls a new revision out within maximumPercent and minimumHealthyPercent, then drops the old deployment', async () => {
    const c = await cluster(3);
    await ecs.send(new CreateServiceCommand({
      cluster: c.name, serviceName: 'roll', taskDefinition: 'web:1', desiredCount: 4,
      deploymentConfiguration: { maximumPercent: 150, minimumHealthyPercent: 50 },
    }));
    await until(c.name, 'roll', steady(4), 'first steady');
    let peak = 0;
    const updated = await ecs.send(new UpdateServiceCommand({ cluster: c.name, service: 'roll', taskDefinition: 'web:2' }));
    assert.equal(updated.service!.deployments!.length, 2);
    assert.equal(updated.service!.deployments![0]!.status, 'PRIMARY');
    assert.equal(updated.service!.deployments![1]!.status, 'ACTIVE');
    const svc = await until(c.name, 'roll', (x) => {
      peak = Math.max(peak, (x.runningCount ?? 0) + (x.pendingCount ?? 0));
      return steady(4)(x) && x.taskDefinition?.endsWith('web:2') === true;
    }, 'rollout');
    assert.ok(peak <= 6, `at most floor(4 × 150%) = 6 tasks at once, saw ${peak}`);
    assert.equal(svc.deployments![0]!.taskDefinition, svc.taskDefinition);
    const tasks = (await ecs.send(new DescribeTasksCommand({
      cluster: c.name, tasks: (await ecs.send(new ListTasksCommand({ cluster: c.name, serviceName: 'roll' }))).taskArns!,
    }))).tasks!;
    assert.ok(tasks.every((t) => t.taskDefinitionArn?.endsWith('web:2')));
  });

  it('forceNewDeployment replaces every task with the same task definition', async () => {
    const c = await cluster(2);
    await ecs.send(new CreateServiceCommand({ cluster: c.name, serviceName: 'force', taskDefinition: 'web:1', desiredCount: 2 }));
    await until(c.name, 'force', steady(2), 'steady');
    const before = (await ecs.send(new ListTasksCommand({ cluster: c.name, serviceName: 'force' }))).taskArns!;
    const updated = await ecs.send(new UpdateServiceCommand({ cluster: c.name, service: 'force', forceNewDeployment: true }));
    const id = updated.service!.deployments![0]!.id;
    await until(c.name, 'force', (x) => steady(2)(x) && x.deployments![0]!.id === id, 'forced rollout');
    const afterArns = (await ecs.send(new ListTasksCommand({ cluster: c.name, serviceName: 'force' }))).taskArns!;
    assert.ok(afterArns.every((a) => !before.includes(a)));
  });

  it('trips the circuit breaker on a revision whose tasks fail to start, and rolls back to the last completed deployment', async () => {
    const c = await cluster(2, { simulate: { fail: (t) => t.containers.some((x) => x.image.includes('does-not-exist')) } });
    await ecs.send(new CreateServiceCommand({
      cluster: c.name, serviceName: 'cb', taskDefinition: 'web:1', desiredCount: 2,
      deploymentConfiguration: { deploymentCircuitBreaker: { enable: true, rollback: true }, maximumPercent: 200, minimumHealthyPercent: 100 },
    }));
    const first = await until(c.name, 'cb', steady(2), 'steady');
    const good = first.deployments![0]!.id!;
    const bad = (await ecs.send(new UpdateServiceCommand({ cluster: c.name, service: 'cb', taskDefinition: 'broken' }))).service!.deployments![0]!.id!;
    const svc = await until(c.name, 'cb', (x) => steady(2)(x) && x.deployments![0]!.id !== bad, 'rollback', 30_000);
    assert.ok(svc.taskDefinition!.endsWith('web:1'));
    const messages = svc.events!.map((e) => e.message!);
    assert.ok(messages.includes(`(service cb) (deployment ${bad}) deployment failed: tasks failed to start.`), messages.join('\n'));
    assert.ok(messages.some((m) => m.includes(`rolling back to ${good}`)), messages.join('\n'));
  });

  it('without rollback, a failed deployment stays FAILED and launches nothing more', async () => {
    const c = await cluster(1, { simulate: { fail: () => true } });
    await ecs.send(new CreateServiceCommand({
      cluster: c.name, serviceName: 'cbf', taskDefinition: 'broken', desiredCount: 1,
      deploymentConfiguration: { deploymentCircuitBreaker: { enable: true, rollback: false } },
    }));
    const svc = await until(c.name, 'cbf', (x) => x.deployments![0]!.rolloutState === 'FAILED', 'FAILED', 30_000);
    assert.equal(svc.deployments![0]!.rolloutStateReason, 'ECS deployment circuit breaker: tasks failed to start.');
    assert.ok(svc.deployments![0]!.failedTasks! >= 3);
  });

  it('DAEMON places one task on every instance, including one that joins later', async () => {
    const c = await cluster(2);
    await ecs.send(new CreateServiceCommand({ cluster: c.name, serviceName: 'd', taskDefinition: 'web:1', schedulingStrategy: 'DAEMON' }));
    await until(c.name, 'd', (x) => x.runningCount === 2 && x.desiredCount === 2, 'one per instance');
    const late = await startFakeAgent(s.url, TEST_CREDENTIALS, { cluster: c.name, simulate: {} });
    agents.push(late);
    await until(c.name, 'd', (x) => x.runningCount === 3 && x.desiredCount === 3, 'the late instance too');
    const onLate = await ecs.send(new ListTasksCommand({ cluster: c.name, serviceName: 'd', containerInstance: late.containerInstanceArn }));
    assert.equal(onLate.taskArns?.length, 1);
  });

  it('moves service tasks off a DRAINING instance and places nothing more there', async () => {
    const c = await cluster(2);
    await ecs.send(new CreateServiceCommand({ cluster: c.name, serviceName: 'dr', taskDefinition: 'web:1', desiredCount: 4 }));
    await until(c.name, 'dr', steady(4), 'steady');
    const drained = c.agents[0]!.containerInstanceArn;
    await ecs.send(new UpdateContainerInstancesStateCommand({ cluster: c.name, containerInstances: [drained], status: 'DRAINING' }));
    await waitFor(async () => {
      const on = await ecs.send(new ListTasksCommand({ cluster: c.name, serviceName: 'dr', containerInstance: drained }));
      const svc = await describe1(c.name, 'dr');
      return on.taskArns!.length === 0 && svc.runningCount === 4;
    }, 'drain');
  });

  it('replaces the tasks of an instance whose agent is gone after the grace, elsewhere', async () => {
    const c = await cluster(2);
    await ecs.send(new CreateServiceCommand({ cluster: c.name, serviceName: 'loss', taskDefinition: 'web:1', desiredCount: 4 }));
    await until(c.name, 'loss', steady(4), 'steady');
    const lost = c.agents[0]!;
    const onLost = (await ecs.send(new ListTasksCommand({ cluster: c.name, serviceName: 'loss', containerInstance: lost.containerInstanceArn }))).taskArns!;
    assert.ok(onLost.length > 0);
    lost.close();
    await waitFor(async () => {
      const svc = await describe1(c.name, 'loss');
      const there = await ecs.send(new ListTasksCommand({ cluster: c.name, serviceName: 'loss', containerInstance: c.agents[1]!.containerInstanceArn }));
      return svc.runningCount === 4 && there.taskArns!.length === 4;
    }, 'replacement on the other instance');
    const old = (await ecs.send(new DescribeTasksCommand({ cluster: c.name, tasks: onLost }))).tasks!;
    for (const t of old) {
      assert.equal(t.lastStatus, 'STOPPED');
      assert.match(t.stoppedReason!, /stopped responding/);
    }
  });

  it('deletes: refuses while scaled up without force, then DRAINING until the tasks are gone, then INACTIVE', async () => {
    const c = await cluster(1);
    await ecs.send(new CreateServiceCommand({ cluster: c.name, serviceName: 'del', taskDefinition: 'web:1', desiredCount: 2 }));
    await until(c.name, 'del', steady(2), 'steady');
    await assert.rejects(ecs.send(new DeleteServiceCommand({ cluster: c.name, service: 'del' })),
      (e: Error) => e.name === 'InvalidParameterException' && /scaled above 0/.test(e.message));
    await assert.rejects(ecs.send(new DeleteClusterCommand({ cluster: c.name })), (e: Error) => e.name === 'ClusterContainsServicesException');
    const deleted = await ecs.send(new DeleteServiceCommand({ cluster: c.name, service: 'del', force: true }));
    assert.equal(deleted.service!.status, 'DRAINING');
    assert.deepEqual((await ecs.send(new ListServicesCommand({ cluster: c.name }))).serviceArns, []);
    await until(c.name, 'del', (x) => x.status === 'INACTIVE', 'INACTIVE');
    await assert.rejects(ecs.send(new UpdateServiceCommand({ cluster: c.name, service: 'del', desiredCount: 1 })),
      (e: Error) => e.name === 'ServiceNotActiveException');
    // The name is free again once the service is INACTIVE.
    await ecs.send(new CreateServiceCommand({ cluster: c.name, serviceName: 'del', taskDefinition: 'web:1', desiredCount: 0 }));
  });

  describe('bad input, with nothing half-applied', () => {
    let name: string;
    before(async () => {
      name = (await cluster(1)).name;
      await ecs.send(new CreateServiceCommand({ cluster: name, serviceName: 'ok', taskDefinition: 'web:1', desiredCount: 1 }));
    });

    const rejects = async (p: Promise<unknown>, type: string, message: RegExp) => {
      await assert.rejects(p, (e: Error) => e.name === type && message.test(e.message));
    };
    const unchanged = async () => {
      const svc = await describe1(name, 'ok');
      assert.equal(svc.desiredCount, 1);
      assert.ok(svc.taskDefinition!.endsWith('web:1'));
      assert.equal(svc.deploymentConfiguration?.minimumHealthyPercent, 100);
    };

    it('UpdateService to an unknown task definition', async () => {
      await rejects(ecs.send(new UpdateServiceCommand({ cluster: name, service: 'ok', taskDefinition: 'nope:9', desiredCount: 3 })),
        'ClientException', /Unable to describe task definition/);
      await unchanged();
    });
    it('a negative desiredCount', async () => {
      await rejects(ecs.send(new UpdateServiceCommand({ cluster: name, service: 'ok', desiredCount: -1 })), 'InvalidParameterException', /desiredCount/);
      await rejects(ecs.send(new CreateServiceCommand({ cluster: name, serviceName: 'neg', taskDefinition: 'web:1', desiredCount: -2 })),
        'InvalidParameterException', /desiredCount/);
      await unchanged();
    });
    it('minimumHealthyPercent above maximumPercent', async () => {
      await rejects(ecs.send(new UpdateServiceCommand({
        cluster: name, service: 'ok', desiredCount: 3, deploymentConfiguration: { minimumHealthyPercent: 100, maximumPercent: 50 },
      })), 'InvalidParameterException', /minimumHealthyPercent \(100\) can't be greater than maximumPercent \(50\)/);
      await unchanged();
    });
    it('a malformed memberOf expression names where it fails', async () => {
      await rejects(ecs.send(new UpdateServiceCommand({
        cluster: name, service: 'ok', desiredCount: 3, placementConstraints: [{ type: 'memberOf', expression: 'attribute:ecs.instance-type ==' }],
      })), 'InvalidParameterException', /position 30/);
      await unchanged();
    });
    it('a strategy field that does not exist', async () => {
      await rejects(ecs.send(new CreateServiceCommand({
        cluster: name, serviceName: 'bad', taskDefinition: 'web:1', desiredCount: 1, placementStrategy: [{ type: 'binpack', field: 'disk' }],
      })), 'InvalidParameterException', /binpack/);
      const out = await ecs.send(new DescribeServicesCommand({ cluster: name, services: ['bad'] }));
      assert.deepEqual(out.failures?.map((f) => f.reason), ['MISSING']);
    });
    it('an unknown service, and a service that already exists', async () => {
      await rejects(ecs.send(new UpdateServiceCommand({ cluster: name, service: 'ghost', desiredCount: 1 })), 'ServiceNotFoundException', /Service not found/);
      await rejects(ecs.send(new CreateServiceCommand({ cluster: name, serviceName: 'ok', taskDefinition: 'web:2', desiredCount: 1 })),
        'InvalidParameterException', /not idempotent/);
      await unchanged();
    });
    it('describes unknown services as MISSING, and ListServicesByNamespace knows no namespace', async () => {
      const out = await ecs.send(new DescribeServicesCommand({ cluster: name, services: ['ghost'] }));
      assert.deepEqual(out.failures, [{ arn: `arn:aws:ecs:us-east-1:123456789012:service/${name}/ghost`, reason: 'MISSING' }]);
      await rejects(ecs.send(new ListServicesByNamespaceCommand({ namespace: 'ns' })), 'NamespaceNotFoundException', /ns/);
    });
  });
});

async function waitFor(test: () => Promise<boolean>, what: string, timeoutMs = 10_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!(await test())) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 50));
  }
}
