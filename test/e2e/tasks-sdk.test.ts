/**
 * Tasks on a real Docker Engine, driven by @aws-sdk/client-ecs against real server and agent
 * processes: container settings reach Docker, essential exits, pull failures, dependsOn with
 * health checks, host networking, and an agent killed with -9 that re-adopts its containers.
 */
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync, type ChildProcess } from 'node:child_process';
import {
  DescribeContainerInstancesCommand, ListContainerInstancesCommand, RegisterTaskDefinitionCommand, RunTaskCommand, StopTaskCommand, type ContainerDefinition, type ECSClient } from '@aws-sdk/client-ecs';
import { ensureTestImage, TEST_IMAGE } from '../../src/testkit/test-image.js';
import { startWharf, type WharfProcesses } from '../../src/testkit/wharf-processes.js';
import { waitFor, waitForConnectedInstances, waitForTask } from './helpers.js';

let w: WharfProcesses;
let ecs: ECSClient;
let agent: ChildProcess;

async function runOne(family: string, containers: ContainerDefinition[], extra: { networkMode?: 'host' } = {}) {
  await ecs.send(new RegisterTaskDefinitionCommand({ family, containerDefinitions: containers, ...extra }));
  const out = await ecs.send(new RunTaskCommand({ cluster: w.cluster, taskDefinition: family }));
  assert.deepEqual(out.failures, []);
  return out.tasks![0]!.taskArn!;
}

const docker = (...args: string[]) => execFileSync('docker', args, { encoding: 'utf8' }).trim();

describe('tasks on Docker through the SDK', () => {
  before(async () => {
    await ensureTestImage();
    w = await startWharf();
    ecs = w.ecs;
    agent = await w.startAgent({ dataDir: `${w.dataDir}/agent-main` });
    await waitForConnectedInstances(ecs, w.cluster);
  });
  after(async () => { await w?.stop(); });

  it('passes container settings to Docker and reports what Docker did', async () => {
    const arn = await runOne('settings', [{
      name: 'main', image: TEST_IMAGE, cpu: 256, memory: 64, memoryReservation: 32, stopTimeout: 1,
      entryPoint: ['sh', '-c'], command: ['sleep 3600'], workingDirectory: '/bin', user: '1000',
      environment: [{ name: 'GREETING', value: 'hi' }], dockerLabels: { team: 'core' },
      ulimits: [{ name: 'nofile', softLimit: 1024, hardLimit: 2048 }],
    }]);
    const task = await waitForTask(ecs, w.cluster, arn, (t) => t.lastStatus === 'RUNNING');
    const id = task.containers![0]!.runtimeId!;
    const inspect = JSON.parse(docker('inspect', id))[0];
    assert.deepEqual(inspect.Config.Entrypoint, ['sh', '-c']);
    assert.deepEqual(inspect.Config.Cmd, ['sleep 3600']);
    assert.equal(inspect.Config.WorkingDir, '/bin');
    assert.equal(inspect.Config.User, '1000');
    assert.ok(inspect.Config.Env.includes('GREETING=hi'));
    assert.equal(inspect.Config.Labels.team, 'core');
    assert.equal(inspect.Config.Labels['com.wharf.ecs.task-arn'], arn);
    assert.equal(inspect.HostConfig.CpuShares, 256);
    assert.equal(inspect.HostConfig.Memory, 64 * 1024 * 1024);
    assert.equal(inspect.HostConfig.MemoryReservation, 32 * 1024 * 1024);
    assert.deepEqual(inspect.HostConfig.Ulimits, [{ Name: 'nofile', Soft: 1024, Hard: 2048 }]);
    assert.ok(task.pullStartedAt && task.startedAt);
    await ecs.send(new StopTaskCommand({ cluster: w.cluster, task: arn, reason: 'done here' }));
    const stopped = await waitForTask(ecs, w.cluster, arn, (t) => t.lastStatus === 'STOPPED');
    assert.equal(stopped.stoppedReason, 'done here');
  });

  it('stops the task when an essential container exits, with its exit code', async () => {
    const arn = await runOne('essential-exit', [
      { name: 'quits', image: TEST_IMAGE, memory: 16, command: ['sh', '-c', 'sleep 1; exit 3'] },
      { name: 'sidecar', image: TEST_IMAGE, memory: 16, essential: false, command: ['sleep', '3600'], stopTimeout: 1 },
    ]);
    const t = await waitForTask(ecs, w.cluster, arn, (x) => x.lastStatus === 'STOPPED');
    assert.equal(t.stopCode, 'EssentialContainerExited');
    assert.equal(t.stoppedReason, 'Essential container in task exited');
    assert.equal(t.containers?.find((c) => c.name === 'quits')?.exitCode, 3);
    assert.equal(t.containers?.find((c) => c.name === 'sidecar')?.lastStatus, 'STOPPED');
    assert.equal(t.desiredStatus, 'STOPPED');
  });

  it('fails to start with TaskFailedToStart when the image cannot be pulled', async () => {
    const arn = await runOne('unpullable', [{ name: 'ghost', image: '127.0.0.1:1/wharf-test/missing:latest', memory: 16 }]);
    const t = await waitForTask(ecs, w.cluster, arn, (x) => x.lastStatus === 'STOPPED');
    assert.equal(t.stopCode, 'TaskFailedToStart');
    assert.match(t.stoppedReason ?? '', /^CannotPullContainerError: /);
    assert.match(t.containers?.[0]?.reason ?? '', /CannotPullContainerError/);
  });

  it('honours dependsOn (SUCCESS, HEALTHY) and reports container health', async () => {
    const arn = await runOne('ordered', [
      { name: 'migrate', image: TEST_IMAGE, memory: 16, essential: false, command: ['sh', '-c', 'exit 0'] },
      {
        name: 'db', image: TEST_IMAGE, memory: 16, stopTimeout: 1, command: ['sh', '-c', 'busybox touch /ready; exec sleep 3600'],
        healthCheck: { command: ['CMD-SHELL', 'test -f /ready'], interval: 5, timeout: 2, retries: 1 },
      },
      {
        name: 'app', image: TEST_IMAGE, memory: 16, stopTimeout: 1, command: ['sleep', '3600'],
        dependsOn: [{ containerName: 'migrate', condition: 'SUCCESS' }, { containerName: 'db', condition: 'HEALTHY' }],
      },
    ]);
    const t = await waitForTask(ecs, w.cluster, arn, (x) => x.lastStatus === 'RUNNING', 60_000);
    const byName = new Map(t.containers!.map((c) => [c.name, c]));
    assert.equal(byName.get('migrate')?.exitCode, 0);
    assert.equal(byName.get('db')?.healthStatus, 'HEALTHY');
    assert.equal(byName.get('app')?.lastStatus, 'RUNNING');
    const started = (name: string) => Date.parse(JSON.parse(docker('inspect', byName.get(name)!.runtimeId!))[0].State.StartedAt);
    assert.ok(started('app') >= started('db'), 'app started after db');
    await ecs.send(new StopTaskCommand({ cluster: w.cluster, task: arn }));
    await waitForTask(ecs, w.cluster, arn, (x) => x.lastStatus === 'STOPPED');
  });

  it('runs host-network tasks on the host port', async () => {
    const arn = await runOne('hostnet', [{
      name: 'web', image: TEST_IMAGE, memory: 16, stopTimeout: 1, portMappings: [{ containerPort: 18457 }],
      command: ['sh', '-c', 'busybox mkdir -p /www && echo host > /www/index.html && exec httpd -f -p 18457 -h /www'],
    }], { networkMode: 'host' });
    const t = await waitForTask(ecs, w.cluster, arn, (x) => x.lastStatus === 'RUNNING');
    assert.equal(t.containers?.[0]?.networkBindings?.[0]?.hostPort, 18457);
    const body = await waitFor('host port', async () => (await fetch('http://127.0.0.1:18457/index.html', { signal: AbortSignal.timeout(2000) }).catch(() => undefined))?.text().catch(() => undefined));
    assert.equal(body.trim(), 'host');
    await ecs.send(new StopTaskCommand({ cluster: w.cluster, task: arn }));
    await waitForTask(ecs, w.cluster, arn, (x) => x.lastStatus === 'STOPPED');
  });

  it('re-adopts running containers after kill -9 of the agent, and stops what was stopped meanwhile', async () => {
    const keep = await runOne('adopt', [{ name: 'c', image: TEST_IMAGE, memory: 16, stopTimeout: 1, command: ['sleep', '3600'] }]);
    const drop = (await ecs.send(new RunTaskCommand({ cluster: w.cluster, taskDefinition: 'adopt' }))).tasks![0]!.taskArn!;
    const keepTask = await waitForTask(ecs, w.cluster, keep, (t) => t.lastStatus === 'RUNNING');
    const dropTask = await waitForTask(ecs, w.cluster, drop, (t) => t.lastStatus === 'RUNNING');
    const keepId = keepTask.containers![0]!.runtimeId!;
    const dropId = dropTask.containers![0]!.runtimeId!;
    const startedAt = JSON.parse(docker('inspect', keepId))[0].State.StartedAt;

    // Kill the agent the hard way; its containers must keep running.
    agent.kill('SIGKILL');
    await waitFor('agent disconnected', async () => {
      const arns = (await ecs.send(new ListContainerInstancesCommand({ cluster: w.cluster }))).containerInstanceArns!;
      const d = await ecs.send(new DescribeContainerInstancesCommand({ cluster: w.cluster, containerInstances: arns }));
      return d.containerInstances!.every((i) => !i.agentConnected) ? true : undefined;
    });
    assert.equal(JSON.parse(docker('inspect', keepId))[0].State.Running, true);
    // While no agent is there, one task is stopped through the API.
    await ecs.send(new StopTaskCommand({ cluster: w.cluster, task: drop }));

    await w.startAgent({ dataDir: `${w.dataDir}/agent-main` });
    await waitForConnectedInstances(ecs, w.cluster);
    const stopped = await waitForTask(ecs, w.cluster, drop, (t) => t.lastStatus === 'STOPPED');
    assert.equal(stopped.stopCode, 'UserInitiated');
    assert.equal(JSON.parse(docker('inspect', dropId))[0].State.Running, false);
    // The kept container is the same one, never restarted.
    const after = JSON.parse(docker('inspect', keepId))[0];
    assert.equal(after.State.Running, true);
    assert.equal(after.State.StartedAt, startedAt);
    const again = await waitForTask(ecs, w.cluster, keep, (t) => t.lastStatus === 'RUNNING');
    assert.equal(again.containers![0]!.runtimeId, keepId);
    // And the re-adopted task is still under control: stopping it works.
    await ecs.send(new StopTaskCommand({ cluster: w.cluster, task: keep }));
    await waitForTask(ecs, w.cluster, keep, (t) => t.lastStatus === 'STOPPED');
    assert.equal(JSON.parse(docker('inspect', keepId))[0].State.Running, false);
  });
});
