/**
 * `wharf up` as a user runs it: it prints the endpoint and a credentials file with which the AWS CLI
 * works at once (the region comes from that file too), its agent serves tasks, and Ctrl-C stops the
 * server and the agent. The run uses its own cluster so it never touches a user's `default` one.
 */
import { after, it } from 'node:test';
import assert from 'node:assert/strict';
import { execFile, spawn, type ChildProcess } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { ensureTestImage, TEST_IMAGE } from '../../src/testkit/test-image.js';
import { removeClusterContainers } from '../../src/testkit/wharf-processes.js';
import { AWS_CLI, waitFor } from './helpers.js';

const run = promisify(execFile);
const WHARF_JS = fileURLToPath(new URL('../../src/bin/wharf.js', import.meta.url));
const dataDir = mkdtempSync(join(tmpdir(), 'wharf-up-'));
const cluster = `e2e-up-${randomBytes(6).toString('hex')}`;
let up: ChildProcess | undefined;
const childPids: number[] = [];

after(() => {
  up?.kill('SIGKILL');
  for (const pid of childPids) { try { process.kill(pid, 'SIGKILL'); } catch { /* already gone */ } }
  removeClusterContainers(`arn:aws:ecs:us-east-1:000000000000:cluster/${cluster}`);
  rmSync(dataDir, { recursive: true, force: true });
});

it('wharf up prints the endpoint, the AWS CLI works with its credentials file, and Ctrl-C stops it', async () => {
  await ensureTestImage();
  const port = await freePort();
  up = spawn(process.execPath, [WHARF_JS, 'up', '--data-dir', dataDir, '--port', String(port), '--cluster', cluster,
    '--image-pull-behavior', 'prefer-cached'], { stdio: ['ignore', 'pipe', 'pipe'] });
  let out = '';
  up.stdout!.on('data', (d: Buffer) => { out += d.toString(); });
  await waitFor('Wharf is up', async () => (out.includes('Wharf is up.') ? true : undefined), 60_000);
  const endpoint = /endpoint:\s+(\S+)/.exec(out)?.[1];
  const credentials = /credentials:\s+(\S+)/.exec(out)?.[1];
  assert.equal(endpoint, `http://127.0.0.1:${port}`);
  assert.equal(credentials, join(dataDir, 'credentials'));
  childPids.push(...childrenOf(up.pid!));

  // Only the credentials file: no region in the environment or a config file.
  const env = { PATH: process.env['PATH'], HOME: dataDir, AWS_SHARED_CREDENTIALS_FILE: credentials!, AWS_CONFIG_FILE: '/dev/null' };
  const aws = async (...args: string[]) => JSON.parse((await run(AWS_CLI, ['ecs', ...args, '--endpoint-url', endpoint!, '--output', 'json'], { env })).stdout);
  assert.ok(Array.isArray((await aws('list-clusters')).clusterArns));

  await aws('create-cluster', '--cluster-name', cluster);
  await waitFor('the agent to join', async () => ((await aws('list-container-instances', '--cluster', cluster)).containerInstanceArns.length === 1 ? true : undefined));
  await aws('register-task-definition', '--family', 'up', '--container-definitions',
    JSON.stringify([{ name: 'c', image: TEST_IMAGE, memory: 16, stopTimeout: 1, command: ['sleep', '3600'] }]));
  const taskArn = (await aws('run-task', '--cluster', cluster, '--task-definition', 'up')).tasks[0].taskArn;
  await waitFor('RUNNING', async () => ((await aws('describe-tasks', '--cluster', cluster, '--tasks', taskArn)).tasks[0].lastStatus === 'RUNNING' ? true : undefined));
  await aws('stop-task', '--cluster', cluster, '--task', taskArn);
  await waitFor('STOPPED', async () => ((await aws('describe-tasks', '--cluster', cluster, '--tasks', taskArn)).tasks[0].lastStatus === 'STOPPED' ? true : undefined));

  const exited = new Promise<number | null>((resolve) => up!.once('exit', (code) => resolve(code)));
  up.kill('SIGINT');
  assert.equal(await exited, 0);
  for (const pid of childPids) assert.equal(alive(pid), false, `child ${pid} stopped`);
  assert.match(readFileSync(join(dataDir, 'server.log'), 'utf8'), /server listening/);
});

/** The pids whose parent is `pid` (the server and the agent `wharf up` started). */
function childrenOf(pid: number): number[] {
  const out: number[] = [];
  for (const name of readdirSync('/proc')) {
    if (!/^\d+$/.test(name)) continue;
    try {
      const stat = readFileSync(`/proc/${name}/stat`, 'utf8');
      // Fields after the command name: state, ppid, ...
      const ppid = Number(stat.slice(stat.lastIndexOf(')') + 2).split(' ')[1]);
      if (ppid === pid) out.push(Number(name));
    } catch { /* the process went away */ }
  }
  return out;
}

function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
}

function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const srv = createServer();
    srv.once('error', reject);
    srv.listen(0, '127.0.0.1', () => {
      const { port } = srv.address() as { port: number };
      srv.close(() => resolve(port));
    });
  });
}
