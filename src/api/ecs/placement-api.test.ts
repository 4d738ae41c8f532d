/**
 * RunTask's placement through the real AWS SDK: strategies and constraints from the request and
 * the task definition, ECS's failure reasons, and dynamic host ports handed to the agent.
 */
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { CreateClusterCommand, RegisterTaskDefinitionCommand, RunTaskCommand, type ECSClient } from '@aws-sdk/client-ecs';
import { startInProcessServer, TEST_CREDENTIALS, type InProcessServer } from '../../testkit/in-process-server.js';
import { startFakeAgent, type FakeAgent } from '../../testkit/fake-agent.js';

describe('RunTask placement', () => {
  let s: InProcessServer;
  let ecs: ECSClient;
  const agents: FakeAgent[] = [];
  const cluster = 'placing';

  before(async () => {
    s = await startInProcessServer();
    ecs = s.ecs;
    await ecs.send(new CreateClusterCommand({ clusterName: cluster }));
    for (const [zone, stack] of [['zone-a', 'prod'], ['zone-b', 'prod'], ['zone-c', 'canary']] as const) {
      agents.push(await startFakeAgent(s.url, TEST_CREDENTIALS, {
        cluster, memoryMiB: 1024, attributes: [{ name: 'ecs.availability-zone', value: zone }, { name: 'stack', value: stack }],
      }));
    }
    await ecs.send(new RegisterTaskDefinitionCommand({
      family: 'web', containerDefinitions: [{ name: 'app', image: 'wharf-test/busybox', memory: 64, portMappings: [{ containerPort: 80 }, { containerPort: 81 }] }],
    }));
    await ecs.send(new RegisterTaskDefinitionCommand({
      family: 'canary-only', placementConstraints: [{ type: 'memberOf', expression: 'attribute:stack == canary' }],
      containerDefinitions: [{ name: 'app', image: 'wharf-test/busybox', memory: 64 }],
    }));
  });
  after(async () => { for (const a of agents) a.close(); await s.close(); });

  const zoneOf = (arn: string) => ['zone-a', 'zone-b', 'zone-c'][agents.findIndex((a) => a.containerInstanceArn === arn)];

  it('spreads across zones when asked', async () => {
    const out = await ecs.send(new RunTaskCommand({
      cluster, taskDefinition: 'web', count: 3, placementStrategy: [{ type: 'spread', field: 'attribute:ecs.availability-zone' }],
    }));
    assert.deepEqual(out.tasks!.map((t) => zoneOf(t.containerInstanceArn!)).sort(), ['zone-a', 'zone-b', 'zone-c']);
  });

  it('gives each task its own dynamic host ports from the instance\'s range, and hands them to the agent', async () => {
    const out = await ecs.send(new RunTaskCommand({ cluster, taskDefinition: 'web', count: 2, placementStrategy: [{ type: 'binpack', field: 'memory' }] }));
    assert.equal(out.tasks![0]!.containerInstanceArn, out.tasks![1]!.containerInstanceArn, 'binpack keeps them together');
    const agent = agents.find((a) => a.containerInstanceArn === out.tasks![0]!.containerInstanceArn)!;
    const manifest = await agent.waitForManifest((m) => out.tasks!.every((t) => m.tasks.some((x) => x.taskArn === t.taskArn)));
    const ports = manifest.tasks.filter((t) => out.tasks!.some((x) => x.taskArn === t.taskArn))
      .flatMap((t) => t.containers[0]!.portMappings!.map((p) => p.hostPort!));
    assert.equal(ports.length, 4);
    assert.equal(new Set(ports).size, 4, `no two mappings share a host port: ${ports.join(', ')}`);
    assert.ok(ports.every((p) => p >= 49153 && p <= 65535), ports.join(', '));
  });

  it('honours the task definition\'s memberOf, and reports the others as ECS does', async () => {
    const out = await ecs.send(new RunTaskCommand({ cluster, taskDefinition: 'canary-only', count: 2, placementConstraints: [{ type: 'distinctInstance' }] }));
    assert.equal(out.tasks!.length, 1);
    assert.equal(zoneOf(out.tasks![0]!.containerInstanceArn!), 'zone-c');
    assert.ok(out.failures!.length > 0);
    assert.ok(out.failures!.every((f) => ['MemberOf placement constraint unsatisfied.', 'DistinctInstance placement constraint unsatisfied.'].includes(f.reason!)),
      JSON.stringify(out.failures));
  });

  it('refuses a task definition constraint other than memberOf, and a malformed one', async () => {
    const definition = { family: 'bad-constraints', containerDefinitions: [{ name: 'app', image: 'wharf-test/busybox', memory: 64 }] };
    // The SDK's type admits memberOf only; a raw client can still send anything.
    await assert.rejects(ecs.send(new RegisterTaskDefinitionCommand({ ...definition, placementConstraints: [{ type: 'distinctInstance' as 'memberOf' }] })),
      (e: Error) => e.name === 'InvalidParameterException' && /placementConstraints\[0\]\.type/.test(e.message));
    await assert.rejects(ecs.send(new RegisterTaskDefinitionCommand({ ...definition, placementConstraints: [{ type: 'memberOf', expression: 'attribute:a ==' }] })),
      (e: Error) => /position/.test(e.message));
  });

  it('refuses a strategy field that does not exist, and a malformed memberOf, launching nothing', async () => {
    await assert.rejects(ecs.send(new RunTaskCommand({ cluster, taskDefinition: 'web', placementStrategy: [{ type: 'spread', field: '' }] })),
      (e: Error) => e.name === 'InvalidParameterException');
    await assert.rejects(ecs.send(new RunTaskCommand({ cluster, taskDefinition: 'web', placementConstraints: [{ type: 'memberOf', expression: 'attribute:x in [a' }] })),
      (e: Error) => e.name === 'InvalidParameterException' && /position/.test(e.message));
  });
});
