import { after, before, it } from 'node:test';
import assert from 'node:assert/strict';
import { CreateClusterCommand, DescribeContainerInstancesCommand, DescribeTasksCommand, RegisterTaskDefinitionCommand, RunTaskCommand } from '@aws-sdk/client-ecs';
import type { DomainContext } from '../domain/index.js';
import { startFakeAgent, type FakeAgent } from '../testkit/fake-agent.js';
import { startInProcessServer, TEST_CREDENTIALS, TEST_SCOPE, type InProcessServer } from '../testkit/in-process-server.js';
import { TaskRetentionController } from './task-retention.js';

const HOUR_MS = 60 * 60 * 1000;
let nowMs = Date.parse('2026-01-01T00:00:00Z');
let s: InProcessServer;
let agent: FakeAgent;

before(async () => {
  s = await startInProcessServer({ nowMs: () => nowMs });
  await s.ecs.send(new CreateClusterCommand({}));
  agent = await startFakeAgent(s.url, TEST_CREDENTIALS);
  await s.ecs.send(new RegisterTaskDefinitionCommand({ family: 'f', containerDefinitions: [{ name: 'c', image: 'i', memory: 8 }] }));
});
after(async () => { agent.close(); await s.close(); });

it('expires STOPPED tasks once the retention has passed, and only those', async () => {
  const ctx: DomainContext = { store: s.store, scope: TEST_SCOPE, nowMs: () => nowMs, principalArn: 'p', log: () => undefined };
  const controller = new TaskRetentionController({ ctx, retentionMs: HOUR_MS, sweepIntervalMs: HOUR_MS });
  await waitUntil(async () => (await s.ecs.send(new DescribeContainerInstancesCommand({ containerInstances: [agent.containerInstanceArn] })))
    .containerInstances?.[0]?.agentConnected || undefined);
  const { tasks } = await s.ecs.send(new RunTaskCommand({ taskDefinition: 'f', count: 2 }));
  const [stopped, running] = tasks!.map((t) => t.taskArn!) as [string, string];
  agent.report({ taskArn: stopped, lastStatus: 'STOPPED', stopCode: 'EssentialContainerExited', containers: [{ name: 'c', lastStatus: 'STOPPED', exitCode: 0 }] });
  await waitUntil(async () => (await describe(stopped))?.lastStatus === 'STOPPED' || undefined);

  nowMs += HOUR_MS - 1000;
  await controller.sweep();
  assert.equal((await describe(stopped))?.lastStatus, 'STOPPED', 'kept for the whole hour');

  nowMs += 2000;
  await controller.sweep();
  assert.equal(await describe(stopped), undefined, 'gone after the hour');
  assert.equal((await describe(running))?.desiredStatus, 'RUNNING', 'a running task is never expired');
  await controller.close();
});

async function describe(arn: string) {
  return (await s.ecs.send(new DescribeTasksCommand({ tasks: [arn] }))).tasks?.[0];
}

async function waitUntil(probe: () => Promise<true | undefined>): Promise<void> {
  for (let i = 0; i < 200; i++) {
    if (await probe()) return;
    await new Promise((r) => setTimeout(r, 20));
  }
  throw new Error('condition never held');
}
