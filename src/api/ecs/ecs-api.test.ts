/**
 * The ECS API end to end through the real AWS SDK, against an in-process server, with a fake agent
 * where a task needs an instance. No Docker here: the agent's side is tested in src/agent and
 * end to end in test/.
 */
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import {
  ClientException, ClusterContainsContainerInstancesException, ClusterNotFoundException, CreateClusterCommand,
  DeleteAttributesCommand, DeleteClusterCommand, DeleteTaskDefinitionsCommand, DeregisterContainerInstanceCommand,
  DeregisterTaskDefinitionCommand, DescribeClustersCommand, DescribeContainerInstancesCommand, DescribeTaskDefinitionCommand,
  DescribeTasksCommand, ECSClient, InvalidParameterException, ListAttributesCommand, ListClustersCommand,
  ListContainerInstancesCommand, ListTagsForResourceCommand, ListTaskDefinitionFamiliesCommand, ListTaskDefinitionsCommand,
  ListTasksCommand, PutAttributesCommand, RegisterTaskDefinitionCommand, RunTaskCommand, StartTaskCommand, StopTaskCommand,
  TagResourceCommand, TargetNotFoundException, UntagResourceCommand, UpdateContainerInstancesStateCommand,
  type RegisterTaskDefinitionCommandInput, type Task,
} from '@aws-sdk/client-ecs';
import { startInProcessServer, TEST_CREDENTIALS, type InProcessServer } from '../../testkit/in-process-server.js';
import { startFakeAgent, type FakeAgent } from '../../testkit/fake-agent.js';

const web: RegisterTaskDefinitionCommandInput = {
  family: 'web',
  containerDefinitions: [{ name: 'app', image: 'wharf-test/busybox', memory: 128, portMappings: [{ containerPort: 80 }] }],
};

describe('ECS API through the AWS SDK', () => {
  let s: InProcessServer;
  let ecs: ECSClient;
  const agents: FakeAgent[] = [];
  before(async () => { s = await startInProcessServer(); ecs = s.ecs; });
  after(async () => { for (const a of agents) a.close(); await s.close(); });

  describe('clusters', () => {
    it('creates the default cluster when no name is given, idempotently', async () => {
      const a = await ecs.send(new CreateClusterCommand({}));
      assert.equal(a.cluster?.clusterName, 'default');
      assert.equal(a.cluster?.clusterArn, 'arn:aws:ecs:us-east-1:123456789012:cluster/default');
      assert.equal(a.cluster?.status, 'ACTIVE');
      const b = await ecs.send(new CreateClusterCommand({ clusterName: 'default' }));
      assert.equal(b.cluster?.clusterArn, a.cluster?.clusterArn);
    });

    it('describes with MISSING failures for unknown clusters', async () => {
      const out = await ecs.send(new DescribeClustersCommand({ clusters: ['default', 'nope'] }));
      assert.equal(out.clusters?.length, 1);
      assert.deepEqual(out.failures, [{ arn: 'arn:aws:ecs:us-east-1:123456789012:cluster/nope', reason: 'MISSING' }]);
    });

    it('lists with maxResults and nextToken', async () => {
      for (const n of ['c1', 'c2', 'c3']) await ecs.send(new CreateClusterCommand({ clusterName: n }));
      const p1 = await ecs.send(new ListClustersCommand({ maxResults: 2 }));
      assert.equal(p1.clusterArns?.length, 2);
      assert.ok(p1.nextToken);
      const p2 = await ecs.send(new ListClustersCommand({ maxResults: 2, nextToken: p1.nextToken }));
      assert.equal(p2.clusterArns?.length, 2);
      assert.equal(p2.nextToken, undefined);
      assert.equal(new Set([...p1.clusterArns!, ...p2.clusterArns!]).size, 4);
    });

    it('refuses a malformed nextToken with InvalidParameterException', async () => {
      await assert.rejects(ecs.send(new ListClustersCommand({ nextToken: 'garbage' })), InvalidParameterException);
    });

    it('refuses an invalid cluster name, naming the rule', async () => {
      await assert.rejects(ecs.send(new CreateClusterCommand({ clusterName: 'bad name!' })), (e: Error) =>
        e instanceof InvalidParameterException && /Cluster name/.test(e.message));
    });

    it('deletes to INACTIVE; operations on it then answer ClusterNotFoundException', async () => {
      await ecs.send(new CreateClusterCommand({ clusterName: 'doomed' }));
      const out = await ecs.send(new DeleteClusterCommand({ cluster: 'doomed' }));
      assert.equal(out.cluster?.status, 'INACTIVE');
      const d = await ecs.send(new DescribeClustersCommand({ clusters: ['doomed'] }));
      assert.equal(d.clusters?.[0]?.status, 'INACTIVE');
      await assert.rejects(ecs.send(new ListTasksCommand({ cluster: 'doomed' })), ClusterNotFoundException);
      await assert.rejects(ecs.send(new DeleteClusterCommand({ cluster: 'doomed' })), ClusterNotFoundException);
    });
  });

  describe('task definitions', () => {
    it('registers revisions, fills ECS defaults, resolves family to the latest ACTIVE revision', async () => {
      const r1 = await ecs.send(new RegisterTaskDefinitionCommand({ ...web, tags: [{ key: 'team', value: 'a' }] }));
      const td = r1.taskDefinition!;
      assert.equal(td.revision, 1);
      assert.equal(td.status, 'ACTIVE');
      assert.equal(td.taskDefinitionArn, 'arn:aws:ecs:us-east-1:123456789012:task-definition/web:1');
      assert.equal(td.containerDefinitions?.[0]?.essential, true);
      assert.deepEqual(td.containerDefinitions?.[0]?.portMappings, [{ containerPort: 80, hostPort: 0, protocol: 'tcp' }]);
      assert.ok(td.registeredAt instanceof Date);
      assert.deepEqual(r1.tags, [{ key: 'team', value: 'a' }]);
      const r2 = await ecs.send(new RegisterTaskDefinitionCommand(web));
      assert.equal(r2.taskDefinition?.revision, 2);
      assert.equal((await ecs.send(new DescribeTaskDefinitionCommand({ taskDefinition: 'web' }))).taskDefinition?.revision, 2);
      await ecs.send(new DeregisterTaskDefinitionCommand({ taskDefinition: 'web:2' }));
      assert.equal((await ecs.send(new DescribeTaskDefinitionCommand({ taskDefinition: 'web' }))).taskDefinition?.revision, 1);
      const withTags = await ecs.send(new DescribeTaskDefinitionCommand({ taskDefinition: 'web:1', include: ['TAGS'] }));
      assert.deepEqual(withTags.tags, [{ key: 'team', value: 'a' }]);
    });

    it('lists definitions (ASC, DESC, by status) and families', async () => {
      await ecs.send(new RegisterTaskDefinitionCommand({ ...web, family: 'zeta' }));
      const asc = await ecs.send(new ListTaskDefinitionsCommand({}));
      assert.deepEqual(asc.taskDefinitionArns?.map((a) => a.split('/')[1]), ['web:1', 'zeta:1']);
      const desc = await ecs.send(new ListTaskDefinitionsCommand({ sort: 'DESC', maxResults: 1 }));
      assert.deepEqual(desc.taskDefinitionArns?.map((a) => a.split('/')[1]), ['zeta:1']);
      const next = await ecs.send(new ListTaskDefinitionsCommand({ sort: 'DESC', maxResults: 1, nextToken: desc.nextToken }));
      assert.deepEqual(next.taskDefinitionArns?.map((a) => a.split('/')[1]), ['web:1']);
      const inactive = await ecs.send(new ListTaskDefinitionsCommand({ status: 'INACTIVE' }));
      assert.deepEqual(inactive.taskDefinitionArns?.map((a) => a.split('/')[1]), ['web:2']);
      const fams = await ecs.send(new ListTaskDefinitionFamiliesCommand({ familyPrefix: 'w' }));
      assert.deepEqual(fams.families, ['web']);
    });

    it('deletes only INACTIVE revisions', async () => {
      const out = await ecs.send(new DeleteTaskDefinitionsCommand({ taskDefinitions: ['web:1', 'web:2'] }));
      assert.equal(out.taskDefinitions?.[0]?.status, 'DELETE_IN_PROGRESS');
      assert.equal(out.failures?.length, 1);
      assert.match(out.failures![0]!.reason!, /still in ACTIVE status/);
    });

    it('answers ClientException for an unknown definition', async () => {
      await assert.rejects(ecs.send(new DescribeTaskDefinitionCommand({ taskDefinition: 'nope' })), ClientException);
      await assert.rejects(ecs.send(new DescribeTaskDefinitionCommand({ taskDefinition: 'web:99' })), ClientException);
    });

    const invalid: [string, RegisterTaskDefinitionCommandInput, RegExp][] = [
      ['no memory anywhere', { family: 'x', containerDefinitions: [{ name: 'a', image: 'i' }] }, /At least one of 'memory' or 'memoryReservation'/],
      ['memory below reservation', { family: 'x', containerDefinitions: [{ name: 'a', image: 'i', memory: 64, memoryReservation: 128 }] }, /'memory' must be greater/],
      ['no essential container', { family: 'x', containerDefinitions: [{ name: 'a', image: 'i', memory: 64, essential: false }] }, /essential/],
      ['duplicate names', { family: 'x', containerDefinitions: [{ name: 'a', image: 'i', memory: 6 }, { name: 'a', image: 'i', memory: 6 }] }, /unique/],
      ['unknown dependency', { family: 'x', containerDefinitions: [{ name: 'a', image: 'i', memory: 6, dependsOn: [{ containerName: 'b', condition: 'START' }] }] }, /'b'/],
      ['COMPLETE on an essential container', { family: 'x', containerDefinitions: [{ name: 'a', image: 'i', memory: 6 }, { name: 'b', image: 'i', memory: 6, dependsOn: [{ containerName: 'a', condition: 'COMPLETE' }] }] }, /non-essential/],
      ['host port differs in host mode', { family: 'x', networkMode: 'host', containerDefinitions: [{ name: 'a', image: 'i', memory: 6, portMappings: [{ containerPort: 80, hostPort: 81 }] }] }, /must match/],
      ['health check interval out of range', { family: 'x', containerDefinitions: [{ name: 'a', image: 'i', memory: 6, healthCheck: { command: ['CMD', 'true'], interval: 1 } }] }, /interval/],
      ['bad family name', { family: 'a b', containerDefinitions: [{ name: 'a', image: 'i', memory: 6 }] }, /Family/],
      ['task cpu nonsense', { family: 'x', cpu: 'lots', containerDefinitions: [{ name: 'a', image: 'i', memory: 6 }] }, /'cpu'/],
    ];
    for (const [what, input, message] of invalid) {
      it(`refuses ${what}, writing nothing`, async () => {
        await assert.rejects(ecs.send(new RegisterTaskDefinitionCommand(input)), (e: Error) => e.name === 'ClientException' && message.test(e.message));
        await assert.rejects(ecs.send(new DescribeTaskDefinitionCommand({ taskDefinition: input.family! })), ClientException);
      });
    }

    it('refuses an enum value outside the model with InvalidParameterException naming the field', async () => {
      await assert.rejects(
        ecs.send(new RegisterTaskDefinitionCommand({ ...web, networkMode: 'bogus' as never })),
        (e: Error) => e instanceof InvalidParameterException && /networkMode/.test(e.message),
      );
    });
  });

  describe('tasks on an instance', () => {
    let agent: FakeAgent;
    before(async () => {
      agent = await startFakeAgent(s.url, TEST_CREDENTIALS, { memoryMiB: 300 });
      agents.push(agent);
      await ecs.send(new RegisterTaskDefinitionCommand({ ...web, family: 'svc' }));
      // The session marks the instance connected a moment after the socket opens.
      for (let i = 0; i < 100; i++) {
        const d = await ecs.send(new DescribeContainerInstancesCommand({ containerInstances: [agent.containerInstanceArn] }));
        if (d.containerInstances?.[0]?.agentConnected) break;
        await new Promise((r) => setTimeout(r, 20));
      }
    });

    it('RunTask places on the instance, reserves resources, and the agent receives the task', async () => {
      const out = await ecs.send(new RunTaskCommand({ taskDefinition: 'svc', startedBy: 'me' }));
      assert.deepEqual(out.failures, []);
      const task = out.tasks![0]!;
      assert.equal(task.lastStatus, 'PENDING');
      assert.equal(task.desiredStatus, 'RUNNING');
      assert.equal(task.group, 'family:svc');
      assert.equal(task.containerInstanceArn, agent.containerInstanceArn);
      assert.match(task.taskArn!, /^arn:aws:ecs:us-east-1:123456789012:task\/default\/[0-9a-f]{32}$/);
      const manifest = await agent.waitForManifest((m) => m.tasks.some((t) => t.taskArn === task.taskArn));
      const sent = manifest.tasks.find((t) => t.taskArn === task.taskArn)!;
      assert.equal(sent.containers[0]?.image, 'wharf-test/busybox');
      assert.equal(sent.containers[0]?.containerArn, task.containers?.[0]?.containerArn);
      const ci = await ecs.send(new DescribeContainerInstancesCommand({ containerInstances: [agent.containerInstanceArn] }));
      assert.equal(ci.containerInstances?.[0]?.remainingResources?.find((r) => r.name === 'MEMORY')?.integerValue, 300 - 128);
      assert.equal(ci.containerInstances?.[0]?.pendingTasksCount, 1);
    });

    it('reports move a task forward only; StopTask stops it with the ECS reason; resources come back', async () => {
      const { tasks } = await ecs.send(new RunTaskCommand({ taskDefinition: 'svc' }));
      const arn = tasks![0]!.taskArn!;
      const bindings = [{ bindIP: '0.0.0.0', containerPort: 80, hostPort: 49153, protocol: 'tcp' as const }];
      agent.report({ taskArn: arn, lastStatus: 'RUNNING', startedAt: new Date().toISOString(), containers: [{ name: 'app', lastStatus: 'RUNNING', runtimeId: 'abc', networkBindings: bindings }] });
      agent.report({ taskArn: arn, lastStatus: 'PENDING', containers: [{ name: 'app', lastStatus: 'PENDING' }] });
      const running = await waitForTask(ecs, arn, (t) => t.lastStatus === 'RUNNING');
      assert.deepEqual(running.containers?.[0]?.networkBindings, bindings);
      assert.ok(running.startedAt instanceof Date);
      await ecs.send(new StopTaskCommand({ task: arn }));
      await agent.waitForManifest((m) => m.tasks.some((t) => t.taskArn === arn && t.desiredStatus === 'STOPPED'));
      agent.report({ taskArn: arn, lastStatus: 'STOPPED', containers: [{ name: 'app', lastStatus: 'STOPPED', exitCode: 143 }] });
      const stopped = await waitForTask(ecs, arn, (t) => t.lastStatus === 'STOPPED');
      assert.equal(stopped.stopCode, 'UserInitiated');
      assert.equal(stopped.stoppedReason, 'Task stopped by user');
      assert.equal(stopped.containers?.[0]?.exitCode, 143);
      assert.ok(stopped.stoppedAt instanceof Date);
      // Once STOPPED the task leaves the manifest.
      await agent.waitForManifest((m) => !m.tasks.some((t) => t.taskArn === arn));
      const listed = await ecs.send(new ListTasksCommand({ desiredStatus: 'STOPPED' }));
      assert.ok(listed.taskArns?.includes(arn));
    });

    it('an essential exit reported by the agent keeps its own stopCode', async () => {
      const { tasks } = await ecs.send(new RunTaskCommand({ taskDefinition: 'svc' }));
      const arn = tasks![0]!.taskArn!;
      agent.report({ taskArn: arn, lastStatus: 'STOPPED', stopCode: 'EssentialContainerExited', stoppedReason: 'Essential container in task exited', containers: [{ name: 'app', lastStatus: 'STOPPED', exitCode: 3 }] });
      const t = await waitForTask(ecs, arn, (x) => x.lastStatus === 'STOPPED');
      assert.equal(t.stopCode, 'EssentialContainerExited');
      assert.equal(t.desiredStatus, 'STOPPED');
    });

    it('reports RESOURCE:MEMORY when a task does not fit, and places nothing', async () => {
      const before = await ecs.send(new ListTasksCommand({}));
      const out = await ecs.send(new RunTaskCommand({ taskDefinition: 'svc', count: 2, overrides: { containerOverrides: [{ name: 'app', memory: 250 }] } }));
      assert.equal(out.tasks?.length, 0);
      assert.deepEqual(out.failures, [{ arn: agent.containerInstanceArn, reason: 'RESOURCE:MEMORY' }]);
      assert.deepEqual((await ecs.send(new ListTasksCommand({}))).taskArns, before.taskArns);
    });

    it('refuses bad RunTask input with the ECS error', async () => {
      await assert.rejects(ecs.send(new RunTaskCommand({ taskDefinition: 'svc', count: 11 })), InvalidParameterException);
      await assert.rejects(ecs.send(new RunTaskCommand({ taskDefinition: 'svc', overrides: { containerOverrides: [{ name: 'ghost' }] } })), InvalidParameterException);
      await assert.rejects(ecs.send(new RunTaskCommand({ taskDefinition: 'nope' })), ClientException);
      await assert.rejects(ecs.send(new RunTaskCommand({ cluster: 'c1', taskDefinition: 'svc' })), (e: Error) => /No Container Instances/.test(e.message));
      await assert.rejects(ecs.send(new StopTaskCommand({ task: '0123456789abcdef0123456789abcdef' })), InvalidParameterException);
    });

    it('StartTask names the instance; MISSING for an unknown one', async () => {
      const out = await ecs.send(new StartTaskCommand({ taskDefinition: 'svc', containerInstances: [agent.containerInstanceArn, 'ffffffffffffffffffffffffffffffff'] }));
      assert.equal(out.tasks?.length, 1);
      assert.deepEqual(out.failures?.map((f) => f.reason), ['MISSING']);
    });

    it('DescribeTasks answers MISSING for unknown tasks', async () => {
      const out = await ecs.send(new DescribeTasksCommand({ tasks: ['0123456789abcdef0123456789abcdef'] }));
      assert.deepEqual(out.failures, [{ arn: 'arn:aws:ecs:us-east-1:123456789012:task/default/0123456789abcdef0123456789abcdef', reason: 'MISSING' }]);
    });

    it('DRAINING instances take no new tasks', async () => {
      await ecs.send(new UpdateContainerInstancesStateCommand({ containerInstances: [agent.containerInstanceArn], status: 'DRAINING' }));
      const out = await ecs.send(new RunTaskCommand({ taskDefinition: 'svc' }));
      assert.equal(out.tasks?.length, 0);
      await ecs.send(new UpdateContainerInstancesStateCommand({ containerInstances: [agent.containerInstanceArn], status: 'ACTIVE' }));
      await assert.rejects(ecs.send(new UpdateContainerInstancesStateCommand({ containerInstances: [agent.containerInstanceArn], status: 'REGISTERING' })), InvalidParameterException);
    });

    it('attributes: put, list, delete; unknown targets are refused', async () => {
      await ecs.send(new PutAttributesCommand({ attributes: [{ name: 'stack', value: 'prod', targetId: agent.containerInstanceArn }] }));
      const listed = await ecs.send(new ListAttributesCommand({ targetType: 'container-instance', attributeName: 'stack' }));
      assert.deepEqual(listed.attributes, [{ name: 'stack', value: 'prod', targetType: 'container-instance', targetId: agent.containerInstanceArn }]);
      await ecs.send(new DeleteAttributesCommand({ attributes: [{ name: 'stack', targetId: agent.containerInstanceArn }] }));
      assert.deepEqual((await ecs.send(new ListAttributesCommand({ targetType: 'container-instance', attributeName: 'stack' }))).attributes, []);
      await assert.rejects(ecs.send(new PutAttributesCommand({ attributes: [{ name: 'x', value: 'y', targetId: 'ffffffffffffffffffffffffffffffff' }] })), TargetNotFoundException);
      await assert.rejects(ecs.send(new PutAttributesCommand({ attributes: [{ name: 'bad name', value: 'y', targetId: agent.containerInstanceArn }] })), InvalidParameterException);
    });

    it('tags: tag, list, untag a cluster and a task', async () => {
      const clusterArn = 'arn:aws:ecs:us-east-1:123456789012:cluster/default';
      await ecs.send(new TagResourceCommand({ resourceArn: clusterArn, tags: [{ key: 'a', value: '1' }, { key: 'b', value: '2' }] }));
      await ecs.send(new UntagResourceCommand({ resourceArn: clusterArn, tagKeys: ['a'] }));
      assert.deepEqual((await ecs.send(new ListTagsForResourceCommand({ resourceArn: clusterArn }))).tags, [{ key: 'b', value: '2' }]);
      await assert.rejects(ecs.send(new TagResourceCommand({ resourceArn: clusterArn, tags: [{ key: 'aws:x', value: '1' }] })), InvalidParameterException);
      await assert.rejects(ecs.send(new ListTagsForResourceCommand({ resourceArn: 'arn:aws:ecs:us-east-1:123456789012:cluster/nope' })), ClusterNotFoundException);
    });

    it('ListContainerInstances filters with the cluster query language; a malformed filter names where it fails', async () => {
      const arn = agent.containerInstanceArn;
      const list = async (filter: string) => (await ecs.send(new ListContainerInstancesCommand({ filter }))).containerInstanceArns;
      assert.deepEqual(await list('attribute:ecs.availability-zone == local-1a'), [arn]);
      assert.deepEqual(await list('attribute:ecs.availability-zone in [zone-x, zone-y]'), []);
      assert.deepEqual(await list('agentConnected == true and not(task:group == service:none)'), [arn]);
      assert.deepEqual(await list('task:group == family:svc and runningTasksCount >= 0'), [arn]);
      await assert.rejects(ecs.send(new ListContainerInstancesCommand({ filter: 'attribute:ecs.availability-zone ==' })), (e: Error) =>
        e instanceof InvalidParameterException && /expected a value at position 34/.test(e.message));
      await assert.rejects(ecs.send(new ListContainerInstancesCommand({ filter: 'colour == red' })), (e: Error) =>
        e instanceof InvalidParameterException && /unknown subject 'colour' at position 0/.test(e.message));
    });

    it('a cluster with instances cannot be deleted; deregistering needs force while tasks live', async () => {
      await assert.rejects(ecs.send(new DeleteClusterCommand({ cluster: 'default' })), ClusterContainsContainerInstancesException);
      await assert.rejects(ecs.send(new DeregisterContainerInstanceCommand({ containerInstance: agent.containerInstanceArn })), InvalidParameterException);
      const listed = await ecs.send(new ListContainerInstancesCommand({}));
      assert.deepEqual(listed.containerInstanceArns, [agent.containerInstanceArn]);
    });
  });

  describe('signatures', () => {
    it('refuses a wrong secret with InvalidSignatureException, an unknown key with UnrecognizedClientException', async () => {
      const wrong = new ECSClient({ endpoint: s.url, region: 'us-east-1', credentials: { ...TEST_CREDENTIALS, secretAccessKey: 'nope' }, maxAttempts: 1 });
      await assert.rejects(wrong.send(new ListClustersCommand({})), (e: Error) => e.name === 'InvalidSignatureException');
      wrong.destroy();
      const unknown = new ECSClient({ endpoint: s.url, region: 'eu-west-3', credentials: { accessKeyId: 'AKIAUNKNOWN', secretAccessKey: 'x' }, maxAttempts: 1 });
      await assert.rejects(unknown.send(new ListClustersCommand({})), (e: Error) => e.name === 'UnrecognizedClientException');
      unknown.destroy();
    });

    it('accepts any region', async () => {
      const other = new ECSClient({ endpoint: s.url, region: 'ap-southeast-2', credentials: TEST_CREDENTIALS, maxAttempts: 1 });
      assert.ok((await other.send(new ListClustersCommand({}))).clusterArns);
      other.destroy();
    });
  });
});

async function waitForTask(ecs: ECSClient, arn: string, test: (t: Task) => boolean): Promise<Task> {
  for (let i = 0; i < 200; i++) {
    const t = (await ecs.send(new DescribeTasksCommand({ tasks: [arn] }))).tasks?.[0];
    if (t && test(t)) return t;
    await new Promise((r) => setTimeout(r, 20));
  }
  throw new Error(`task ${arn} never matched`);
}
