/**
 * Several instances for real: three network namespaces on this machine, each with its own dockerd
 * and `wharf agent`, the server on the bridge in the root namespace (src/testkit/instance-hosts.ts).
 * Tasks run on the hosts' own engines; a host that loses its agent and dockerd, or its link, shows
 * as disconnected and comes back; a crashed harness run leaves nothing the next sweep keeps.
 */
import { after, before, it } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { createHash } from 'node:crypto';
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { request } from 'node:http';
import {
  DescribeContainerInstancesCommand, RegisterTaskDefinitionCommand, RunTaskCommand, StartTaskCommand, StopTaskCommand,
  type ContainerInstance,
} from '@aws-sdk/client-ecs';
import { LABELS } from '../../src/model/index.js';
import { HOSTS_DIR, command, processesOfNamespace, runNames, sweepStaleRuns } from '../../src/testkit/host-network.js';
import { startHosts, type InstanceHost, type InstanceHosts } from '../../src/testkit/instance-hosts.js';
import { TEST_IMAGE } from '../../src/testkit/test-image.js';
import { waitFor, waitForTask } from './helpers.js';

let h: InstanceHosts;

before(async () => {
  h = await startHosts({ count: 3, attributes: (i) => ({ rack: `rack-${i}` }) });
});
after(async () => { await h?.stop(); });

async function describeInstance(host: InstanceHost): Promise<ContainerInstance> {
  const { containerInstances } = await h.wharf.ecs.send(new DescribeContainerInstancesCommand({
    cluster: h.wharf.cluster, containerInstances: [host.containerInstanceArn!],
  }));
  return containerInstances![0]!;
}

const attribute = (i: ContainerInstance, name: string) => i.attributes?.find((a) => a.name === name)?.value;

it('three hosts register three container instances, each with its zone and attributes', async () => {
  const arns = h.hosts.map((host) => host.containerInstanceArn!);
  assert.equal(new Set(arns).size, 3);
  const { containerInstances } = await h.wharf.ecs.send(new DescribeContainerInstancesCommand({ cluster: h.wharf.cluster, containerInstances: arns }));
  assert.equal(containerInstances!.length, 3);
  for (const instance of containerInstances!) {
    const host = h.hostOf(instance.containerInstanceArn!)!;
    assert.equal(instance.agentConnected, true);
    assert.equal(attribute(instance, 'ecs.availability-zone'), host.availabilityZone);
    assert.equal(attribute(instance, 'rack'), `rack-${host.index}`);
  }
  assert.deepEqual(containerInstances!.map((i) => attribute(i, 'ecs.availability-zone')).sort(), ['zone-a', 'zone-b', 'zone-c']);
});

it('RunTask runs its tasks on the hosts\' own engines, reachable at the hosts\' addresses from the server and from each other', async () => {
  await h.wharf.ecs.send(new RegisterTaskDefinitionCommand({
    family: 'web', containerDefinitions: [{
      name: 'web', image: TEST_IMAGE, memory: 16, stopTimeout: 1, portMappings: [{ containerPort: 8080 }],
      command: ['sh', '-c', 'mkdir -p /www && hostname > /www/index.html && exec httpd -f -p 8080 -h /www'],
    }],
  }));
  const run = await h.wharf.ecs.send(new RunTaskCommand({ cluster: h.wharf.cluster, taskDefinition: 'web', count: 6 }));
  assert.deepEqual(run.failures, []);
  assert.equal(run.tasks!.length, 6);
  try {
    for (const started of run.tasks!) {
      const task = await waitForTask(h.wharf.ecs, h.wharf.cluster, started.taskArn!, (t) => t.lastStatus === 'RUNNING');
      const host = h.hostOf(task.containerInstanceArn!)!;
      assert.ok(host, 'the task is on one of the hosts');
      assert.equal(task.availabilityZone, host.availabilityZone);
      // The container runs on that host's dockerd, and on no other.
      for (const other of h.hosts) {
        const mine = (await other.containers()).filter((c) => c.labels[LABELS.taskArn] === task.taskArn);
        assert.equal(mine.length, other === host ? 1 : 0, `task ${task.taskArn} on host ${other.index}`);
      }
      const port = task.containers![0]!.networkBindings![0]!.hostPort!;
      const containerId = (await host.containers()).find((c) => c.labels[LABELS.taskArn] === task.taskArn)!.id;
      // From the root namespace (where the server and a future load balancer live)... RUNNING means
      // the container started, not that httpd listens yet: a refused connection is tried again.
      const answer = await waitFor('httpd to listen', () => httpGet(`http://${host.address}:${port}/`)
        .catch((err: unknown) => { if ((err as { code?: string }).code === 'ECONNREFUSED') return undefined; throw err; }), 10_000, 50);
      assert.equal(answer.trim(), containerId.slice(0, 12));
      // ... and from a container on another host, across the bridge.
      const neighbour = h.hosts[(host.index + 1) % h.hosts.length]!;
      const fetched = await neighbour.docker(['run', '--rm', TEST_IMAGE, 'wget', '-q', '-O', '-', `http://${host.address}:${port}/`]);
      assert.equal(fetched.trim(), containerId.slice(0, 12));
    }
  } finally {
    for (const t of run.tasks!) await h.wharf.ecs.send(new StopTaskCommand({ cluster: h.wharf.cluster, task: t.taskArn! }));
  }
  for (const t of run.tasks!) await waitForTask(h.wharf.ecs, h.wharf.cluster, t.taskArn!, (x) => x.lastStatus === 'STOPPED');
});

it('a host whose agent and dockerd are killed shows as disconnected, and reconnects as the same instance when they restart', async () => {
  const host = h.hosts[2]!;
  await host.killAgent();
  await host.killDocker();
  await waitFor('agentConnected false', async () => ((await describeInstance(host)).agentConnected === false ? true : undefined));
  assert.equal(host.agent?.signalCode, 'SIGKILL');
  await host.restartDocker();
  await host.startAgent();
  await waitFor('agentConnected true', async () => ((await describeInstance(host)).agentConnected === true ? true : undefined));
  // The other hosts never noticed.
  for (const other of h.hosts.slice(0, 2)) assert.equal((await describeInstance(other)).agentConnected, true);
});

it('a crashed host loses its task containers with it; after a reboot its agent reports the task STOPPED', async () => {
  const host = h.hosts[0]!;
  await h.wharf.ecs.send(new RegisterTaskDefinitionCommand({
    family: 'sleeper', containerDefinitions: [{ name: 'app', image: TEST_IMAGE, memory: 16, stopTimeout: 1, command: ['sleep', '3600'] }],
  }));
  const { tasks } = await h.wharf.ecs.send(new StartTaskCommand({
    cluster: h.wharf.cluster, taskDefinition: 'sleeper', containerInstances: [host.containerInstanceArn!],
  }));
  const taskArn = tasks![0]!.taskArn!;
  await waitForTask(h.wharf.ecs, h.wharf.cluster, taskArn, (t) => t.lastStatus === 'RUNNING');
  assert.equal((await host.containers()).filter((c) => c.labels[LABELS.taskArn] === taskArn).length, 1);

  await host.crash();
  assert.deepEqual(processesOfNamespace(host.netns), [], 'nothing of the host runs, task container included');
  await waitFor('agentConnected false', async () => ((await describeInstance(host)).agentConnected === false ? true : undefined));

  await host.restartDocker();
  await host.startAgent();
  const stopped = await waitForTask(h.wharf.ecs, h.wharf.cluster, taskArn, (t) => t.lastStatus === 'STOPPED');
  assert.equal(stopped.containerInstanceArn, host.containerInstanceArn);
  assert.equal((await describeInstance(host)).agentConnected, true);
  assert.deepEqual((await host.containers()).filter((c) => c.labels[LABELS.taskArn] === taskArn), [], 'no container of it runs');
});

it('a host whose link is cut shows as disconnected after the missed heartbeats, and reconnects when the link is back', async () => {
  const host = h.hosts[1]!;
  await host.cutLink();
  try {
    await waitFor('agentConnected false', async () => ((await describeInstance(host)).agentConnected === false ? true : undefined), 60_000, 250);
  } finally {
    await host.restoreLink();
  }
  await waitFor('agentConnected true', async () => ((await describeInstance(host)).agentConnected === true ? true : undefined), 60_000, 250);
});

it('the next start sweeps away what a crashed run left: processes, containers, namespaces, links, mounts, directories', async () => {
  // A harness in its own process, SIGKILLed while a container runs on its host.
  const child = spawn(process.execPath, ['--input-type=module', '-e', `
    import { startHosts } from ${JSON.stringify(new URL('../../src/testkit/instance-hosts.js', import.meta.url).href)};
    const h = await startHosts({ count: 1, startAgents: false });
    const id = await h.hosts[0].docker(['run', '-d', ${JSON.stringify(TEST_IMAGE)}, 'sleep', '3600']);
    console.log(h.runId, id.trim());
  `], { stdio: ['ignore', 'pipe', 'inherit'] });
  const [runId, containerId] = await new Promise<[string, string]>((resolve, reject) => {
    let out = '';
    child.stdout.on('data', (d: Buffer) => {
      out += d.toString();
      const m = /^([0-9a-f]{6}) ([0-9a-f]{64})$/m.exec(out);
      if (m) resolve([m[1]!, m[2]!]);
    });
    child.once('exit', (code) => reject(new Error(`harness child exited ${code} before starting`)));
  });
  child.kill('SIGKILL');
  await new Promise((r) => child.once('exit', r));
  const names = runNames(runId);
  assert.ok(existsSync(names.runDir), 'the crashed run left its directory');
  assert.ok(readdirSync('/run/netns').includes(names.netns(0)), 'and its namespace');
  // containerd names a shim's socket by sha256 of its own address, namespace and container id.
  const shimSocket = `/run/containerd/s/${createHash('sha256')
    .update(`${names.runDir}/h0/exec/containerd/containerd.sock/moby/${containerId}`).digest('hex')}`;
  assert.ok(existsSync(shimSocket), 'and its container\'s shim socket');

  assert.ok((await sweepStaleRuns()).includes(runId));
  assert.equal(existsSync(names.runDir), false);
  assert.equal(readdirSync('/run/netns').includes(names.netns(0)), false);
  assert.doesNotMatch(await command('ip', ['-o', 'link', 'show']), new RegExp(`wh[bv]${runId}`));
  assert.deepEqual(commandLinesMentioning(names.runDir), [], 'no server, dockerd, containerd or shim of the run');
  assert.ok(!readFileSync('/proc/self/mountinfo', 'utf8').includes(`${HOSTS_DIR}/${runId}`), 'nothing mounted');
  assert.equal(existsSync(shimSocket), false, 'no shim socket left in /run/containerd/s');
  // The container's cgroup (below the dockerd's cgroup parent) could only go once its processes had.
  const cgroups = ['/sys/fs/cgroup', ...readdirSync('/sys/fs/cgroup').map((c) => `/sys/fs/cgroup/${c}`)]
    .map((root) => `${root}${names.cgroupParent(0)}`);
  assert.deepEqual(cgroups.filter((c) => existsSync(c)), [], 'no cgroup of the run');
  // This run is live and was left alone.
  assert.ok(existsSync(runNames(h.runId).runDir));
  assert.equal((await describeInstance(h.hosts[0]!)).agentConnected, true);
});

/** Command lines of running processes that mention `text`. */
function commandLinesMentioning(text: string): string[] {
  return readdirSync('/proc').filter((e) => /^\d+$/.test(e)).flatMap((pid) => {
    try {
      const args = readFileSync(`/proc/${pid}/cmdline`, 'utf8').replaceAll('\0', ' ');
      return args.includes(text) ? [args] : [];
    } catch {
      return [];
    }
  });
}

function httpGet(url: string): Promise<string> {
  return new Promise((resolve, reject) => {
    const req = request(url, { timeout: 10_000 }, (res) => {
      let body = '';
      res.setEncoding('utf8');
      res.on('data', (c: string) => { body += c; });
      res.on('end', () => (res.statusCode === 200 ? resolve(body) : reject(new Error(`GET ${url}: HTTP ${res.statusCode}`))));
    });
    req.on('timeout', () => req.destroy(new Error(`GET ${url} timed out`)));
    req.on('error', reject);
    req.end();
  });
}
