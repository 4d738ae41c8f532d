/**
 * Several agents join one cluster: each registers its own container instance (with its own
 * availability zone and custom attributes) and runs the tasks placed on it.
 */
import { after, before, it } from 'node:test';
import assert from 'node:assert/strict';
import {
  DescribeContainerInstancesCommand, RegisterTaskDefinitionCommand, StartTaskCommand, StopTaskCommand,
} from '@aws-sdk/client-ecs';
import { ensureTestImage, TEST_IMAGE } from '../../src/testkit/test-image.js';
import { startWharf, type WharfProcesses } from '../../src/testkit/wharf-processes.js';
import { waitForConnectedInstances, waitForTask } from './helpers.js';

let w: WharfProcesses;

before(async () => {
  await ensureTestImage();
  w = await startWharf();
  await w.startAgent({ extraArgs: ['--availability-zone', 'zone-a', '--attribute', 'stack=blue'] });
  await w.startAgent({ extraArgs: ['--availability-zone', 'zone-b', '--attribute', 'stack=green'] });
});
after(async () => { await w?.stop(); });

it('two agents register two instances in one cluster, and each runs the task started on it', async () => {
  const arns = await waitForConnectedInstances(w.ecs, w.cluster, 2);
  const { containerInstances } = await w.ecs.send(new DescribeContainerInstancesCommand({ cluster: w.cluster, containerInstances: arns }));
  const attr = (i: (typeof containerInstances & {})[number], name: string) => i.attributes?.find((a) => a.name === name)?.value;
  assert.deepEqual(containerInstances!.map((i) => attr(i, 'ecs.availability-zone')).sort(), ['zone-a', 'zone-b']);
  assert.deepEqual(containerInstances!.map((i) => attr(i, 'stack')).sort(), ['blue', 'green']);
  for (const i of containerInstances!) {
    const cpu = i.registeredResources?.find((r) => r.name === 'CPU')?.integerValue ?? 0;
    assert.ok(cpu >= 1024 && cpu % 1024 === 0, 'CPU is cores x 1024');
    assert.ok((i.registeredResources?.find((r) => r.name === 'MEMORY')?.integerValue ?? 0) > 0);
  }

  await w.ecs.send(new RegisterTaskDefinitionCommand({
    family: 'everywhere', containerDefinitions: [{ name: 'c', image: TEST_IMAGE, memory: 16, stopTimeout: 1, command: ['sleep', '3600'] }],
  }));
  const started = await w.ecs.send(new StartTaskCommand({ cluster: w.cluster, taskDefinition: 'everywhere', containerInstances: arns }));
  assert.deepEqual(started.failures, []);
  assert.deepEqual(started.tasks!.map((t) => t.containerInstanceArn).sort(), [...arns].sort());
  for (const t of started.tasks!) {
    const running = await waitForTask(w.ecs, w.cluster, t.taskArn!, (x) => x.lastStatus === 'RUNNING');
    assert.equal(running.availabilityZone, containerInstances!.find((i) => i.containerInstanceArn === t.containerInstanceArn)
      ?.attributes?.find((a) => a.name === 'ecs.availability-zone')?.value);
  }
  for (const t of started.tasks!) await w.ecs.send(new StopTaskCommand({ cluster: w.cluster, task: t.taskArn! }));
  for (const t of started.tasks!) await waitForTask(w.ecs, w.cluster, t.taskArn!, (x) => x.lastStatus === 'STOPPED');
});
