/**
 * `wharf up`: everything on one machine in one command. Starts Docker Engine when none answers,
 * then the server and one agent as child processes (each its own process, as in a fleet), waits
 * until both are ready, prints the endpoint and the credentials file, and supervises them: a child
 * that dies is restarted. Ctrl-C stops the server and agent; task containers keep running and are
 * re-adopted at the next `wharf up`.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdirSync, openSync } from 'node:fs';
import { request } from 'node:http';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { CREDENTIALS_FILE } from '../api/credentials.js';
import { checkServerFlags, UsageError, serverFlags } from './server.js';

const WHARF_JS = fileURLToPath(new URL('../bin/wharf.js', import.meta.url));
const DOCKER_SOCKET = '/var/run/docker.sock';
/** dockerd needs a few seconds on a cold machine; more means something is wrong. */
const DOCKER_START_TIMEOUT_MS = 60_000;
const SERVER_START_TIMEOUT_MS = 30_000;
const RESTART_DELAY_MS = 1000;

export async function runUpCommand(argv: string[]): Promise<void> {
  const { values } = parseArgs({
    args: argv,
    options: { ...serverFlags, cluster: { type: 'string', default: 'default' }, 'image-pull-behavior': { type: 'string' } },
    strict: true,
  });
  const dataDir = values['data-dir'];
  const { port } = checkServerFlags(values);
  if (port === 0) throw new UsageError('wharf up needs a fixed --port.');
  mkdirSync(dataDir, { recursive: true });

  if (!process.env['DOCKER_HOST'] && !(await ping(DOCKER_SOCKET, '/_ping'))) {
    process.stdout.write('Docker Engine is not answering; starting dockerd...\n');
    const log = openSync(join(dataDir, 'dockerd.log'), 'a');
    spawn('dockerd', [], { detached: true, stdio: ['ignore', log, log] }).unref();
    await waitFor(() => ping(DOCKER_SOCKET, '/_ping'), DOCKER_START_TIMEOUT_MS, 'dockerd did not answer; see ' + join(dataDir, 'dockerd.log'));
  }

  const host = values.host === '0.0.0.0' ? '127.0.0.1' : values.host;
  const url = `http://${host}:${port}`;
  const children: Supervised[] = [];
  let stopping = false;
  const server = supervise('server', [
    'server', '--data-dir', dataDir, '--port', String(port), '--host', values.host, '--region', values.region, '--account-id', values['account-id'],
    '--stopped-task-retention-seconds', values['stopped-task-retention-seconds'],
    ...(values['advertise-host'] ? ['--advertise-host', values['advertise-host']] : []),
    ...(values['lb-bind-address'] ? ['--lb-bind-address', values['lb-bind-address']] : []),
    ...(['task-ready-delay-seconds', 'instance-loss-grace-seconds', 'autoscaling-period-seconds', 'ecs-metrics-round-seconds', 'scale-out-datapoints'] as const)
      .flatMap((flag) => [`--${flag}`, values[flag]]),
  ], () => stopping);
  children.push(server);
  await waitFor(() => ping({ host, port }, '/health'), SERVER_START_TIMEOUT_MS, `the server did not start; see ${join(dataDir, 'server.log')}`);

  children.push(supervise('agent', [
    'agent', '--server', url, '--cluster', values.cluster, '--data-dir', join(dataDir, 'agent'),
    '--credentials-file', join(dataDir, CREDENTIALS_FILE), '--region', values.region,
    // ECS metrics are published per sampling round: the agent samples at the server's round.
    '--stats-sample-interval-ms', String(Number(values['ecs-metrics-round-seconds']) * 1000),
    ...(values['image-pull-behavior'] ? ['--image-pull-behavior', values['image-pull-behavior']] : []),
  ], () => stopping));

  const credentials = join(dataDir, CREDENTIALS_FILE);
  process.stdout.write([
    'Wharf is up.',
    `  endpoint:     ${url}`,
    `  credentials:  ${credentials}`,
    `  logs:         ${join(dataDir, 'server.log')}, ${join(dataDir, 'agent.log')}`,
    'Try:',
    `  AWS_SHARED_CREDENTIALS_FILE=${credentials} aws ecs list-clusters --endpoint-url ${url}`,
    'Press Ctrl-C to stop (task containers keep running).',
    '',
  ].join('\n'));

  await new Promise<void>((resolve) => {
    const stop = () => {
      stopping = true;
      void Promise.all(children.map((c) => c.stop())).then(() => resolve());
    };
    process.once('SIGINT', stop);
    process.once('SIGTERM', stop);
  });

  function supervise(name: string, args: string[], isStopping: () => boolean): Supervised {
    let child: ChildProcess;
    const start = () => {
      const log = openSync(join(dataDir, `${name}.log`), 'a');
      child = spawn(process.execPath, [WHARF_JS, ...args], { stdio: ['ignore', log, log] });
      child.once('exit', (code, signal) => {
        if (isStopping()) return;
        process.stderr.write(`wharf ${name} exited (${signal ?? code}); restarting\n`);
        setTimeout(start, RESTART_DELAY_MS);
      });
    };
    start();
    return {
      get pid() { return child.pid; },
      stop: () => new Promise<void>((resolve) => {
        if (child.exitCode !== null || child.signalCode !== null) return resolve();
        child.once('exit', () => resolve());
        child.kill('SIGTERM');
      }),
    };
  }
}

interface Supervised { readonly pid: number | undefined; stop(): Promise<void> }

function ping(target: string | { host: string; port: number }, path: string): Promise<boolean> {
  return new Promise((resolve) => {
    const req = request({ ...(typeof target === 'string' ? { socketPath: target } : target), path, timeout: 1000 }, (res) => {
      res.resume();
      resolve(res.statusCode === 200);
    });
    req.on('error', () => resolve(false));
    req.on('timeout', () => { req.destroy(); resolve(false); });
    req.end();
  });
}

async function waitFor(check: () => Promise<boolean>, timeoutMs: number, failure: string): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!(await check())) {
    if (Date.now() > deadline) throw new Error(failure);
    await new Promise((r) => setTimeout(r, 100));
  }
}
