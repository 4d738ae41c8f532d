/** The agent against the real Docker Engine: run, crash, re-adopt, stop, clean up. */
import assert from 'node:assert/strict';
import { mkdtemp, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { after, before, it } from 'node:test';
import { LABELS } from '../model/agent-protocol.js';
import { agentTask } from '../testkit/agent-tasks.js';
import { FakeEcsServer, TEST_CREDENTIALS } from '../testkit/fake-ecs-server.js';
import { ensureTestImage } from '../testkit/test-image.js';
import { Agent } from './agent.js';
import { DockerRuntime } from './docker-runtime.js';
import { silentLogger } from './log.js';

const server = new FakeEcsServer();
const docker = new DockerRuntime();
let dataDir: string;
let dockerUp = false;
const instanceArns = new Set<string>();

before(async () => {
  try {
    await docker.info({ signal: AbortSignal.timeout(3_000) });
    dockerUp = true;
  } catch {
    return;
  }
  await ensureTestImage();
  await server.start();
  dataDir = await mkdtemp(path.join(os.tmpdir(), 'wharf-agent-docker-'));
});

after(async () => {
  // Remove every container the agents of this test created, even after a failure.
  for (const arn of instanceArns) {
    for (const c of await docker.list({ [LABELS.containerInstanceArn]: arn }).catch(() => [])) await docker.remove(c.id).catch(() => undefined);
  }
  docker.close();
  if (dockerUp) {
    await server.close();
    await rm(dataDir, { recursive: true, force: true });
  }
});

it('runs a task on Docker, survives an agent crash without restarting it, then stops and removes it', async (t) => {
  if (!dockerUp) return t.skip('no Docker Engine answers (DOCKER_HOST or /var/run/docker.sock)');
  const opts = {
    serverUrl: server.url, credentials: TEST_CREDENTIALS, dataDir, logger: silentLogger, imagePullBehavior: 'prefer-cached' as const,
    taskCleanupWaitMs: 0, stopTimeoutSeconds: 2,
  };
  const task = agentTask({
    containers: [
      { name: 'web', command: ['httpd', '-f', '-p', '8080'], portMappings: [{ containerPort: 8080 }], dependsOn: [{ containerName: 'init', condition: 'SUCCESS' }] },
      { name: 'init', essential: false, command: ['sh', '-c', 'exit 0'] },
    ],
  });
  let seq = 0;
  const first = new Agent(opts);
  await first.start();
  const arn = first.containerInstanceArn!;
  instanceArns.add(arn);
  await server.waitUntil(() => server.openConnections === 1, 'connection');
  server.sendManifest({ seqNum: ++seq, containerInstanceArn: arn, tasks: [task] });
  await server.waitUntil(() => server.latest(task.taskArn)?.lastStatus === 'RUNNING', 'RUNNING', 30_000);
  const running = server.latest(task.taskArn)!;
  const web = running.containers.find((c) => c.name === 'web')!;
  assert.ok((web.networkBindings ?? []).some((b) => b.containerPort === 8080 && (b.hostPort ?? 0) > 0));
  assert.equal(running.containers.find((c) => c.name === 'init')!.exitCode, 0);

  first.destroy(); // as kill -9 would: nothing drained, containers untouched
  await new Promise((r) => setTimeout(r, 50));
  assert.equal((await docker.inspect(web.runtimeId!))?.running, true);

  const second = new Agent(opts);
  try {
    await second.start();
    assert.equal(second.containerInstanceArn, arn);
    await server.waitUntil(() => server.openConnections >= 1, 'reconnection');
    const before = server.reports.length;
    server.sendManifest({ seqNum: ++seq, containerInstanceArn: arn, tasks: [task] });
    await server.waitUntil(() => server.reports.slice(before).some((r) => r.taskArn === task.taskArn && r.lastStatus === 'RUNNING'), 're-adopted', 15_000);
    const readopted = server.latest(task.taskArn)!;
    assert.equal(readopted.containers.find((c) => c.name === 'web')!.runtimeId, web.runtimeId);
    const state = await docker.inspect(web.runtimeId!);
    assert.equal(state?.running, true);

    server.sendManifest({ seqNum: ++seq, containerInstanceArn: arn, tasks: [{ ...task, desiredStatus: 'STOPPED' }] });
    await server.waitUntil(() => server.latest(task.taskArn)?.lastStatus === 'STOPPED', 'STOPPED', 30_000);
    const stopped = server.latest(task.taskArn)!;
    assert.equal(typeof stopped.containers.find((c) => c.name === 'web')!.exitCode, 'number');
    for (let i = 0; i < 100 && (await docker.list({ [LABELS.containerInstanceArn]: arn })).length > 0; i++) await new Promise((r) => setTimeout(r, 50));
    assert.equal((await docker.list({ [LABELS.containerInstanceArn]: arn })).length, 0, 'stopped containers removed after the cleanup wait');
  } finally {
    await second.close();
  }
});
