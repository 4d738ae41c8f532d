import assert from 'node:assert/strict';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { after, before, describe, it } from 'node:test';
import type { AgentTask, TaskManifest } from '../model/agent-protocol.js';
import { LABELS } from '../model/agent-protocol.js';
import { agentTask } from '../testkit/agent-tasks.js';
import { FakeEcsServer, TEST_CREDENTIALS } from '../testkit/fake-ecs-server.js';
import { FakeRuntime } from '../testkit/fake-runtime.js';
import { startInProcessServer, TEST_CREDENTIALS as IN_PROCESS_CREDENTIALS } from '../testkit/in-process-server.js';
import { DescribeClustersCommand } from '@aws-sdk/client-ecs';
import { Agent } from './agent.js';
import type { AgentOptions } from './agent.js';
import { silentLogger } from './log.js';
import { containerRuntimeName, containerSpec } from './container-spec.js';

const IMAGE = 'wharf-test/busybox:latest';

describe('Agent', () => {
  const server = new FakeEcsServer();
  let dataDir: string;
  before(async () => {
    await server.start();
    dataDir = await mkdtemp(path.join(os.tmpdir(), 'wharf-agent-test-'));
  });
  after(async () => {
    await server.close();
    await rm(dataDir, { recursive: true, force: true });
  });

  const agentWith = (runtime: FakeRuntime, over: Partial<AgentOptions> = {}) => new Agent({
    serverUrl: server.url, credentials: TEST_CREDENTIALS, dataDir, runtime, logger: silentLogger, imagePullBehavior: 'prefer-cached',
    heartbeatIntervalMs: 60_000, attributes: { team: 'core' }, ...over,
  });
  const manifest = (agent: Agent, seqNum: number, tasks: AgentTask[]): TaskManifest =>
    ({ seqNum, containerInstanceArn: agent.containerInstanceArn!, tasks });

  let seq = 0;
  const rt = new FakeRuntime({ images: [IMAGE] });
  let task: AgentTask;
  let instanceArn: string;

  it('registers (retrying a failing server), saves its identity, runs the manifest and reports', async () => {
    server.failRegistrations = 1;
    const agent = agentWith(rt);
    try {
      await agent.start();
      instanceArn = agent.containerInstanceArn!;
      const reg = server.registrations.at(-1)!;
      assert.equal(reg.cluster, 'default');
      assert.equal(reg.containerInstanceArn, undefined);
      assert.deepEqual(reg.totalResources, [
        { name: 'CPU', type: 'INTEGER', integerValue: 2048 },
        { name: 'MEMORY', type: 'INTEGER', integerValue: 4096 },
        { name: 'PORTS', type: 'STRINGSET', stringSetValue: ['22', '2375', '2376', '51678', '51679'] },
        { name: 'PORTS_UDP', type: 'STRINGSET', stringSetValue: [] },
      ]);
      const attrs = Object.fromEntries((reg.attributes ?? []).map((a) => [a.name, a.value]));
      assert.deepEqual(attrs, { 'ecs.os-type': 'linux', 'ecs.cpu-architecture': 'x86_64', 'ecs.availability-zone': 'local-1a', 'ecs.instance-type': 'wharf', team: 'core' });
      assert.equal(reg.versionInfo?.dockerVersion, 'DockerVersion: fake-1.0');
      const saved = JSON.parse(await readFile(path.join(dataDir, 'agent-state.json'), 'utf8')) as { containerInstanceArn: string };
      assert.equal(saved.containerInstanceArn, instanceArn);

      await server.waitUntil(() => server.openConnections === 1, 'gateway connection');
      const conn = server.connections.at(-1)!;
      assert.equal(conn.query.get('cluster'), 'arn:aws:ecs:us-east-1:000000000000:cluster/default');
      assert.equal(conn.query.get('containerInstance'), instanceArn);

      task = agentTask({ containers: [{ name: 'app', portMappings: [{ containerPort: 80 }] }] });
      server.sendManifest(manifest(agent, ++seq, [task]));
      await server.waitUntil(() => server.latest(task.taskArn)?.lastStatus === 'RUNNING', 'RUNNING report');
      assert.equal(server.reports.find((r) => r.taskArn === task.taskArn)?.lastStatus, 'PENDING');

      // After a reconnect the agent re-sends every task's latest report.
      const count = server.reports.length;
      server.dropConnections();
      await server.waitUntil(() => server.reports.length > count && server.latest(task.taskArn)?.lastStatus === 'RUNNING', 're-sent report');

      // A manifest older than the last applied one is ignored.
      server.sendManifest(manifest(agent, seq - 1, [{ ...task, desiredStatus: 'STOPPED' }]));
      server.sendManifest(manifest(agent, ++seq, [task]));
      await new Promise((r) => setTimeout(r, 50));
      assert.ok(!rt.calls.some((c) => c.startsWith('stop:')));
    } finally {
      await agent.close();
    }
    // Closing the agent leaves task containers running.
    assert.equal(rt.find('app')?.state.running, true);
  });

  it('after a restart re-registers with the same ARN, re-adopts without restarting, and stops strays only after the first manifest', async () => {
    const stray = agentTask({ containers: [{ name: 'old' }] });
    const strayId = rt.adopt(containerSpec(stray, stray.containers[0]!, {
      containerInstanceArn: instanceArn, name: containerRuntimeName(stray, 'old'), defaultStopTimeoutSeconds: 30, runtimeNames: new Map(),
    }));
    rt.calls.length = 0;
    const agent = agentWith(rt, { taskCleanupWaitMs: 0 });
    try {
      await agent.start();
      assert.equal(agent.containerInstanceArn, instanceArn);
      assert.equal(server.registrations.at(-1)!.containerInstanceArn, instanceArn);
      await server.waitUntil(() => server.openConnections === 1, 'gateway connection');
      await new Promise((r) => setTimeout(r, 30));
      assert.equal(rt.containers.get(strayId)?.state.running, true, 'no stray is stopped before the first manifest');

      const before = server.reports.length;
      server.sendManifest(manifest(agent, ++seq, [task]));
      await server.waitUntil(() => server.reports.slice(before).some((r) => r.taskArn === task.taskArn && r.lastStatus === 'RUNNING'), 'RUNNING after re-adoption');
      assert.ok(!rt.calls.some((c) => c.startsWith('create:') || c.startsWith('start:')), `no container recreated: ${rt.calls.join(',')}`);
      await server.waitUntil(() => !rt.containers.get(strayId)?.state.running, 'stray stopped');

      // Dropped from the manifest: stopped, then removed after the (zero) cleanup wait.
      server.sendManifest(manifest(agent, ++seq, []));
      await server.waitUntil(() => server.latest(task.taskArn)?.lastStatus === 'STOPPED', 'STOPPED');
      await server.waitUntil(() => rt.find('app') === undefined && !rt.containers.has(strayId), 'containers removed');
      assert.equal([...rt.containers.values()].filter((c) => c.state.labels[LABELS.containerInstanceArn] === instanceArn).length, 0);
    } finally {
      await agent.close();
    }
  });

  it('refuses a data dir registered in another cluster', async () => {
    const agent = agentWith(rt, { cluster: 'other' });
    await assert.rejects(agent.start(), /data mismatch/);
    agent.destroy();
  });
});

describe('Agent against the real server', () => {
  it('creates the default cluster when it joins `default` and the cluster is missing, as ECS agents do', async () => {
    const s = await startInProcessServer();
    const dir = await mkdtemp(path.join(os.tmpdir(), 'wharf-agent-default-'));
    const agent = new Agent({
      serverUrl: s.url, credentials: IN_PROCESS_CREDENTIALS, dataDir: dir, runtime: new FakeRuntime({ images: [IMAGE] }),
      logger: silentLogger, heartbeatIntervalMs: 60_000,
    });
    try {
      await agent.start();
      const { clusters } = await s.ecs.send(new DescribeClustersCommand({ clusters: ['default'] }));
      assert.equal(clusters?.[0]?.status, 'ACTIVE');
      assert.match(agent.containerInstanceArn!, /:container-instance\/default\//);
    } finally {
      await agent.close();
      await s.close();
      await rm(dir, { recursive: true, force: true });
    }
  });
});
