/**
 * The README quickstart, driven by the real AWS CLI against real processes and Docker Engine:
 * create a cluster, register a task definition, run a task, watch PENDING -> RUNNING, reach its
 * port, stop it, see it STOPPED with its exit code and stoppedReason; then a service of two
 * copies, `aws ecs wait services-stable`, a new revision rolled out, and the service deleted.
 */
import { after, before, it } from 'node:test';
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { promisify } from 'node:util';
import { ensureTestImage, TEST_IMAGE } from '../../src/testkit/test-image.js';
import { startWharf, type WharfProcesses } from '../../src/testkit/wharf-processes.js';
import { AWS_CLI, waitFor, waitForConnectedInstances } from './helpers.js';

const run = promisify(execFile);
let w: WharfProcesses;

async function aws(...args: string[]): Promise<any> {
  const { stdout } = await run(AWS_CLI, ['ecs', ...args, '--endpoint-url', w.url, '--region', 'us-east-1', '--output', 'json'], { env: w.cliEnv() });
  return stdout.trim() === '' ? {} : JSON.parse(stdout);
}

before(async () => {
  await ensureTestImage();
  // A 1 s task warm-up instead of ECS's 40 s keeps the rollout below at test speed.
  w = await startWharf({ serverArgs: ['--task-ready-delay-seconds', '1'] });
  await w.startAgent();
  await waitForConnectedInstances(w.ecs, w.cluster);
});
after(async () => { await w?.stop(); });

it('runs the quickstart with the AWS CLI', async () => {
  const created = await aws('create-cluster', '--cluster-name', w.cluster);
  assert.equal(created.cluster.status, 'ACTIVE');
  const listed = await aws('list-clusters');
  assert.ok(listed.clusterArns.includes(w.clusterArn));

  const definition = {
    family: 'quickstart',
    containerDefinitions: [{
      name: 'web', image: TEST_IMAGE, memory: 32, stopTimeout: 2,
      // The test image is FROM scratch: no /tmp until the container makes one.
      command: ['sh', '-c', 'busybox mkdir -p /www && echo hello from wharf > /www/index.html && exec httpd -f -p 8080 -h /www'],
      portMappings: [{ containerPort: 8080 }],
    }],
  };
  const registered = await aws('register-task-definition', '--cli-input-json', JSON.stringify(definition));
  assert.equal(registered.taskDefinition.revision, 1);

  const started = await aws('run-task', '--cluster', w.cluster, '--task-definition', 'quickstart');
  assert.deepEqual(started.failures, []);
  const taskArn: string = started.tasks[0].taskArn;
  assert.equal(started.tasks[0].lastStatus, 'PENDING');

  const running = await waitFor('RUNNING', async () => {
    const t = (await aws('describe-tasks', '--cluster', w.cluster, '--tasks', taskArn)).tasks[0];
    if (t.lastStatus === 'STOPPED') throw new Error(`task stopped: ${t.stoppedReason}`);
    return t.lastStatus === 'RUNNING' ? t : undefined;
  });
  const binding = running.containers[0].networkBindings[0];
  assert.equal(binding.containerPort, 8080);
  assert.ok(binding.hostPort > 0);
  const body = await waitFor('the port to answer', async () => {
    // Each probe is bounded: a connection the proxy accepts but never answers must not hang the test.
    const res = await fetch(`http://127.0.0.1:${binding.hostPort}/index.html`, { signal: AbortSignal.timeout(2000) }).catch(() => undefined);
    return res?.ok ? res.text().catch(() => undefined) : undefined;
  });
  assert.equal(body.trim(), 'hello from wharf');

  const stopping = await aws('stop-task', '--cluster', w.cluster, '--task', taskArn);
  assert.equal(stopping.task.desiredStatus, 'STOPPED');
  const stopped = await waitFor('STOPPED', async () => {
    const t = (await aws('describe-tasks', '--cluster', w.cluster, '--tasks', taskArn)).tasks[0];
    return t.lastStatus === 'STOPPED' ? t : undefined;
  });
  assert.equal(stopped.stopCode, 'UserInitiated');
  assert.equal(stopped.stoppedReason, 'Task stopped by user');
  assert.equal(typeof stopped.containers[0].exitCode, 'number');
  assert.equal(stopped.containers[0].lastStatus, 'STOPPED');
});

it('answers CLI errors in ECS form', async () => {
  await assert.rejects(aws('run-task', '--cluster', 'no-such-cluster', '--task-definition', 'quickstart'), (e: Error & { stderr?: string }) =>
    /ClusterNotFoundException/.test(e.stderr ?? '') && /Cluster not found/.test(e.stderr ?? ''));
  await assert.rejects(aws('describe-task-definition', '--task-definition', 'never-registered'), (e: Error & { stderr?: string }) =>
    /ClientException/.test(e.stderr ?? ''));
});

it('keeps a service running with the AWS CLI, rolls out a new revision and deletes it', async () => {
  const definition = (reply: string) => JSON.stringify({
    family: 'quickstart-svc',
    containerDefinitions: [{ name: 'app', image: TEST_IMAGE, memory: 16, stopTimeout: 1, command: ['sh', '-c', `echo ${reply}; exec sleep 3600`] }],
  });
  await aws('register-task-definition', '--cli-input-json', definition('one'));
  await aws('register-task-definition', '--cli-input-json', definition('two'));
  const created = await aws('create-service', '--cluster', w.cluster, '--service-name', 'hello', '--task-definition', 'quickstart-svc:1',
    '--desired-count', '2');
  assert.equal(created.service.status, 'ACTIVE');
  await aws('wait', 'services-stable', '--cluster', w.cluster, '--services', 'hello');
  let svc = (await aws('describe-services', '--cluster', w.cluster, '--services', 'hello')).services[0];
  assert.equal(svc.runningCount, 2);
  assert.equal(svc.deployments.length, 1);
  // The waiter only asks for one deployment at its desired count; the deployment completes once
  // its tasks have been healthy for the warm-up.
  await waitFor('steady state', async () => {
    const d = (await aws('describe-services', '--cluster', w.cluster, '--services', 'hello')).services[0];
    return d.events.some((e: { message: string }) => e.message === '(service hello) has reached a steady state.') ? d : undefined;
  });

  await aws('update-service', '--cluster', w.cluster, '--service', 'hello', '--task-definition', 'quickstart-svc:2');
  await aws('wait', 'services-stable', '--cluster', w.cluster, '--services', 'hello');
  svc = (await aws('describe-services', '--cluster', w.cluster, '--services', 'hello')).services[0];
  assert.match(svc.taskDefinition, /quickstart-svc:2$/);
  const tasks = await aws('list-tasks', '--cluster', w.cluster, '--service-name', 'hello');
  const described = await aws('describe-tasks', '--cluster', w.cluster, '--tasks', ...tasks.taskArns);
  assert.ok(described.tasks.every((t: { taskDefinitionArn: string; group: string }) => t.taskDefinitionArn.endsWith('quickstart-svc:2') && t.group === 'service:hello'));

  await aws('delete-service', '--cluster', w.cluster, '--service', 'hello', '--force');
  await aws('wait', 'services-inactive', '--cluster', w.cluster, '--services', 'hello');
  assert.deepEqual((await aws('list-services', '--cluster', w.cluster)).serviceArns, []);
});
