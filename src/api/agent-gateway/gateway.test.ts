/**
 * The gateway's manifests against a store whose reads take uneven time: a manifest sent later
 * must never name fewer of the instance's tasks than one sent before it, or the agent would stop
 * a task the older list did not know yet.
 */
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { CreateClusterCommand, DescribeContainerInstancesCommand, RegisterTaskDefinitionCommand, RunTaskCommand } from '@aws-sdk/client-ecs';
import { keys, type ContainerInstanceRecord } from '../../domain/index.js';
import { startInProcessServer, TEST_CREDENTIALS, type InProcessServer } from '../../testkit/in-process-server.js';
import { startFakeAgent, type FakeAgent } from '../../testkit/fake-agent.js';
import { seededRng } from '../../testkit/seeded-rng.js';

describe('agent gateway manifests', () => {
  let s: InProcessServer;
  let agent: FakeAgent | undefined;

  before(async () => { s = await startInProcessServer(); });
  after(async () => { agent?.close(); await s.close(); });

  it('sends manifests in the order of the writes, though store reads finish out of order', async () => {
    await s.ecs.send(new CreateClusterCommand({ clusterName: 'order' }));
    await s.ecs.send(new RegisterTaskDefinitionCommand({ family: 'order', containerDefinitions: [{ name: 'c', image: 'x', memory: 8 }] }));
    agent = await startFakeAgent(s.url, TEST_CREDENTIALS, { cluster: 'order' });
    await agent.waitForManifest(() => true);
    // From here on every store read takes 0–20 ms, so two overlapping manifest builds could finish
    // in either order.
    const rng = seededRng(7);
    const get = s.store.get.bind(s.store);
    s.store.get = async (key) => {
      await new Promise((r) => setTimeout(r, Math.floor(rng() * 20)));
      return get(key);
    };
    const arns: string[] = [];
    for (let i = 0; i < 12; i++) {
      const out = await s.ecs.send(new RunTaskCommand({ cluster: 'order', taskDefinition: 'order' }));
      arns.push(out.tasks![0]!.taskArn!);
      await new Promise((r) => setTimeout(r, Math.floor(rng() * 10)));
    }
    await agent.waitForManifest((m) => m.tasks.length === arns.length, 10_000);
    let previous = new Set<string>();
    for (const m of agent.manifests) {
      const listed = new Set(m.tasks.map((t) => t.taskArn));
      for (const arn of previous) assert.ok(listed.has(arn), `manifest ${m.seqNum} dropped ${arn}`);
      previous = listed;
    }
  });

  it('records the address the agent dialed from, where the load balancer reaches its tasks, and keeps it off the wire', async () => {
    await s.ecs.send(new CreateClusterCommand({ clusterName: 'address' }));
    const second = await startFakeAgent(s.url, TEST_CREDENTIALS, { cluster: 'address' });
    try {
      const id = second.containerInstanceArn.slice(second.containerInstanceArn.lastIndexOf('/') + 1);
      const deadline = Date.now() + 10_000;
      let record: ContainerInstanceRecord | undefined;
      while (Date.now() < deadline) {
        record = (await s.store.get<ContainerInstanceRecord>(keys.containerInstance('address', id)))?.value;
        if (record?.agentConnected) break;
        await new Promise((r) => setTimeout(r, 20));
      }
      assert.equal(record?.agentAddress, '127.0.0.1');
      const described = await s.ecs.send(new DescribeContainerInstancesCommand({ cluster: 'address', containerInstances: [second.containerInstanceArn] }));
      assert.equal((described.containerInstances![0] as Record<string, unknown>).agentAddress, undefined);
    } finally {
      second.close();
    }
  });
});
