/**
 * awslogs end to end, on real processes and Docker Engine: a task whose container logs with the
 * awslogs driver writes numbered lines; `aws logs tail GROUP --follow` (Debian's CLI) shows them;
 * the server process is stopped while the container goes on writing and started again on the same
 * data directory, then the agent process is killed and started again on its data directory, and
 * every line arrives, in order, none lost and none twice.
 */
import { after, before, it } from 'node:test';
import assert from 'node:assert/strict';
import { execFile, spawn, type ChildProcess } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import {
  CloudWatchLogsClient, DescribeLogStreamsCommand, FilterLogEventsCommand, type FilteredLogEvent,
} from '@aws-sdk/client-cloudwatch-logs';
import { RegisterTaskDefinitionCommand, RunTaskCommand, StopTaskCommand } from '@aws-sdk/client-ecs';
import { ensureTestImage, TEST_IMAGE } from '../../src/testkit/test-image.js';
import { startWharf, type WharfProcesses } from '../../src/testkit/wharf-processes.js';
import { AWS_CLI, waitFor, waitForConnectedInstances, waitForTask } from './helpers.js';

const run = promisify(execFile);
const WHARF_JS = fileURLToPath(new URL('../../src/bin/wharf.js', import.meta.url));
let w: WharfProcesses;
let agent: ChildProcess;
/** The server started again by the test (w.stop() knows only the first one). */
let restarted: ChildProcess | undefined;
const group = `/ecs/e2e-logs-${randomBytes(4).toString('hex')}`;

before(async () => {
  await ensureTestImage();
  w = await startWharf();
  agent = await w.startAgent();
  await waitForConnectedInstances(w.ecs, w.cluster);
});
after(async () => {
  if (restarted && restarted.exitCode === null && restarted.signalCode === null) {
    const exited = new Promise((r) => restarted!.once('exit', r));
    restarted.kill('SIGKILL');
    await exited;
  }
  await w?.stop();
});

function logsClient(): CloudWatchLogsClient {
  return new CloudWatchLogsClient({ endpoint: w.url, region: 'us-east-1', credentials: w.credentials, maxAttempts: 1 });
}

/** Every event of the group, through FilterLogEvents with its paging. */
async function allEvents(logs: CloudWatchLogsClient): Promise<FilteredLogEvent[]> {
  const out: FilteredLogEvent[] = [];
  let nextToken: string | undefined;
  do {
    const page = await logs.send(new FilterLogEventsCommand({ logGroupName: group, ...(nextToken ? { nextToken } : {}) }));
    out.push(...page.events ?? []);
    nextToken = page.nextToken;
  } while (nextToken);
  return out;
}

/** `aws logs tail GROUP --follow` until its output holds `text`; answers the output. */
async function tailUntil(text: string): Promise<string> {
  const child = spawn(AWS_CLI, ['logs', 'tail', group, '--follow', '--since', '1h', '--format', 'short', '--endpoint-url', w.url, '--region', 'us-east-1'],
    { env: w.cliEnv(), stdio: ['ignore', 'pipe', 'pipe'] });
  let out = '';
  child.stdout!.on('data', (d: Buffer) => { out += d.toString(); });
  child.stderr!.on('data', (d: Buffer) => { out += d.toString(); });
  try {
    return await waitFor(`aws logs tail to show ${text}`, async () => (out.includes(text) ? out : undefined), 60_000, 200);
  } finally {
    child.kill('SIGKILL');
  }
}

it('ships a task\'s awslogs output, shown by aws logs tail, with nothing lost across server and agent restarts', async () => {
  const family = `logs-${randomBytes(3).toString('hex')}`;
  await w.ecs.send(new RegisterTaskDefinitionCommand({
    family,
    containerDefinitions: [{
      name: 'talker', image: TEST_IMAGE, memory: 32, stopTimeout: 1,
      // A numbered line every 100 ms, and one on stderr first.
      command: ['sh', '-c', 'echo starting >&2; i=0; while true; do echo "tick $i"; i=$((i+1)); sleep 0.1; done'],
      logConfiguration: {
        logDriver: 'awslogs',
        options: { 'awslogs-group': group, 'awslogs-region': 'us-east-1', 'awslogs-stream-prefix': 'app', 'awslogs-create-group': 'true' },
      },
    }],
  }));
  const taskArn = (await w.ecs.send(new RunTaskCommand({ cluster: w.cluster, taskDefinition: family }))).tasks![0]!.taskArn!;
  const task = await waitForTask(w.ecs, w.cluster, taskArn, (t) => t.lastStatus === 'RUNNING', 60_000);
  const containerId = task.containers![0]!.runtimeId!;
  const taskId = taskArn.split('/').pop()!;
  const logs = logsClient();
  try {
    // The stream is named as ECS names it, and the CLI's tail (FilterLogEvents) shows the lines.
    const streams = await waitFor('the log stream', async () => {
      // The group does not exist until the agent's first CreateLogGroup.
      const s = (await logs.send(new DescribeLogStreamsCommand({ logGroupName: group })).catch(() => undefined))?.logStreams;
      return s?.length ? s : undefined;
    }, 60_000);
    assert.deepEqual(streams.map((s) => s.logStreamName), [`app/talker/${taskId}`]);
    const tailed = await tailUntil('tick 5');
    assert.match(tailed, /starting/);
    assert.match(tailed, /tick 0\n/);

    // Stop the server; the container goes on writing; `docker logs` has lines the server cannot have.
    const port = new URL(w.url).port;
    const exited = new Promise((r) => w.server.once('exit', r));
    w.server.kill('SIGTERM');
    await exited;
    const before = (await allDockerLines(containerId)).length;
    await waitFor('lines written while the server is down', async () => ((await allDockerLines(containerId)).length >= before + 20 ? true : undefined), 30_000, 200);

    restarted = spawn(process.execPath, [WHARF_JS, 'server', '--data-dir', w.dataDir, '--port', port], { stdio: ['ignore', 'pipe', 'pipe'] });
    restarted.stderr!.resume();
    await waitFor('the server back', async () => ((await fetch(`${w.url}/health`).catch(() => undefined))?.ok ? true : undefined), 30_000, 100);

    // Everything docker logs had at the restart, plus what came after, arrives.
    await waitForLastLine(logs, containerId);

    // The agent is killed; the container writes on; a new agent on the same data directory re-adopts
    // the container and resumes from its cursor.
    const agentGone = new Promise((r) => agent.once('exit', r));
    agent.kill('SIGKILL');
    await agentGone;
    const beforeAgent = (await allDockerLines(containerId)).length;
    await waitFor('lines written while the agent is down', async () => ((await allDockerLines(containerId)).length >= beforeAgent + 20 ? true : undefined), 30_000, 200);
    agent = await w.startAgent({ dataDir: `${w.dataDir}/agent-0` });

    // In order, once each.
    const events = await waitForLastLine(logs, containerId);
    const ticks = events.map((e) => e.message!).filter((m) => m.startsWith('tick '));
    const numbers = ticks.map((m) => Number(m.slice(5)));
    assert.deepEqual(numbers, numbers.map((_, i) => i), 'every tick from 0, in order, none twice');
    assert.equal(events.filter((e) => e.message === 'starting').length, 1);
    for (let i = 1; i < events.length; i++) assert.ok(events[i]!.timestamp! >= events[i - 1]!.timestamp!);
  } finally {
    await w.ecs.send(new StopTaskCommand({ cluster: w.cluster, task: taskArn })).catch(() => undefined);
    logs.destroy();
  }
});

/** Waits until Wharf holds the last line `docker logs` has now; answers every event. */
async function waitForLastLine(logs: CloudWatchLogsClient, containerId: string): Promise<FilteredLogEvent[]> {
  const written = await allDockerLines(containerId);
  const last = written[written.length - 1]!;
  return waitFor(`${last} in Wharf`, async () => {
    const all = await allEvents(logs);
    return all.some((e) => e.message === last) ? all : undefined;
  }, 90_000, 500);
}

/** The container's stdout lines as `docker logs` reads them. */
async function allDockerLines(containerId: string): Promise<string[]> {
  const { stdout } = await run('docker', ['logs', containerId], { maxBuffer: 64 * 1024 * 1024 });
  return stdout.split('\n').filter((l) => l.startsWith('tick '));
}
