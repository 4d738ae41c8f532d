/**
 * A Wharf installation as real processes, for end-to-end tests and benchmarks: `wharf server` on a
 * free loopback port with its own data directory, and agents as separate `wharf agent` processes on
 * the local Docker Engine. Each agent gets a unique cluster-and-label scope so runs never see each
 * other's containers. `stop()` kills every process and removes every container this run created,
 * and runs from a test's `after` even when the test failed.
 */
import { spawn, execFileSync, type ChildProcess } from 'node:child_process';
import { mkdirSync, mkdtempSync, readFileSync, readdirSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { CreateClusterCommand, ECSClient } from '@aws-sdk/client-ecs';
import { randomBytes } from 'node:crypto';
import { readSharedCredentials } from '../api/credentials.js';
import { LABELS } from '../model/index.js';

const WHARF_JS = fileURLToPath(new URL('../bin/wharf.js', import.meta.url));

export interface WharfProcesses {
  url: string;
  /** This run's own cluster (created at start); agents join it unless told otherwise. */
  cluster: string;
  clusterArn: string;
  dataDir: string;
  credentialsFile: string;
  credentials: { accessKeyId: string; secretAccessKey: string };
  ecs: ECSClient;
  server: ChildProcess;
  /**
   * Starts an agent process joined to `cluster` (this run's cluster by default); with `netns`, inside
   * that named network namespace (`/run/netns/<netns>`, entered with nsenter, which then execs node:
   * the child's pid is the agent's own).
   */
  startAgent(options?: { cluster?: string; dataDir?: string; extraArgs?: string[]; netns?: string }): Promise<ChildProcess>;
  /** Environment for the AWS CLI pointed at this server. */
  cliEnv(): NodeJS.ProcessEnv;
  stop(): Promise<void>;
}

/**
 * `serverArgs` are added to `wharf server`'s flags; `serverNodeArgs` go to node before the script
 * (a benchmark's `--cpu-prof`, for one); `dataDir` (created, and removed by stop()) replaces a
 * fresh temp directory.
 */
export async function startWharf(options: { serverArgs?: string[]; serverNodeArgs?: string[]; dataDir?: string } = {}): Promise<WharfProcesses> {
  const dataDir = options.dataDir ?? mkdtempSync(join(tmpdir(), 'wharf-e2e-'));
  mkdirSync(dataDir, { recursive: true });
  const children: ChildProcess[] = [];
  const server = spawn(process.execPath, [...(options.serverNodeArgs ?? []), WHARF_JS, 'server', '--data-dir', dataDir, '--port', '0', ...(options.serverArgs ?? [])], {
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  children.push(server);
  // Only the tail is kept, for the error message should the server fail to start.
  let serverLog = '';
  server.stderr!.on('data', (d: Buffer) => { serverLog = (serverLog + d.toString()).slice(-8192); });
  const url = await new Promise<string>((resolve, reject) => {
    let out = '';
    const timer = setTimeout(() => reject(new Error(`server did not start: ${out}${serverLog}`)), 15_000);
    server.stdout!.on('data', (d: Buffer) => {
      out += d.toString();
      const m = /listening on (http:\/\/\S+)/.exec(out);
      if (m) { clearTimeout(timer); resolve(m[1]!); }
    });
    server.once('exit', (code) => { clearTimeout(timer); reject(new Error(`server exited ${code}: ${serverLog}`)); });
  }).catch(async (err: unknown) => {
    await killAndWait(server);
    rmSync(dataDir, { recursive: true, force: true });
    throw err;
  });
  const credentialsFile = join(dataDir, 'credentials');
  const credentials = readSharedCredentials(credentialsFile)!;
  const ecs = new ECSClient({ endpoint: url, region: 'us-east-1', credentials, maxAttempts: 1 });
  const agentDirs: string[] = [];
  const cluster = `e2e-${randomBytes(6).toString('hex')}`;
  let clusterArn: string;
  try {
    clusterArn = (await ecs.send(new CreateClusterCommand({ clusterName: cluster }))).cluster!.clusterArn!;
  } catch (err) {
    ecs.destroy();
    await killAndWait(server);
    rmSync(dataDir, { recursive: true, force: true });
    throw err;
  }

  return {
    url, cluster, clusterArn, dataDir, credentialsFile, credentials, ecs, server,
    async startAgent(agentOptions = {}) {
      const agentDir = agentOptions.dataDir ?? join(dataDir, `agent-${agentDirs.length}`);
      agentDirs.push(agentDir);
      const command = [
        process.execPath, WHARF_JS, 'agent', '--server', url, '--cluster', agentOptions.cluster ?? cluster, '--data-dir', agentDir,
        '--credentials-file', credentialsFile, '--image-pull-behavior', 'prefer-cached', '--heartbeat-interval-ms', '1000',
        ...(agentOptions.extraArgs ?? []),
      ];
      if (agentOptions.netns) command.unshift('nsenter', `--net=/run/netns/${agentOptions.netns}`, '--');
      const agent = spawn(command[0]!, command.slice(1), { stdio: ['ignore', 'ignore', 'pipe'] });
      agent.stderr!.on('data', (d: Buffer) => { if (process.env['WHARF_TEST_VERBOSE']) process.stderr.write(d); });
      children.push(agent);
      return agent;
    },
    cliEnv: () => ({ ...process.env, AWS_SHARED_CREDENTIALS_FILE: credentialsFile, AWS_CONFIG_FILE: '/dev/null', AWS_PAGER: '' }),
    async stop() {
      ecs.destroy();
      // The server first, gracefully, so that it stops the HAProxies of its load balancers.
      await stopGracefully(server);
      await Promise.all(children.map((c) => killAndWait(c)));
      killProcessesUnder(dataDir);
      removeClusterContainers(clusterArn);
      rmSync(dataDir, { recursive: true, force: true });
    },
  };
}

/** Removes every container of `clusterArn` (by the ownership label), running or not. */
export function removeClusterContainers(clusterArn: string): void {
  const ids = execFileSync('docker', ['ps', '-aq', '--filter', `label=${LABELS.clusterArn}=${clusterArn}`], { encoding: 'utf8' })
    .split('\n').filter(Boolean);
  if (ids.length > 0) execFileSync('docker', ['rm', '-f', ...ids], { stdio: 'ignore' });
}

/** How long a server may take to close (its load balancers' HAProxies included) before SIGKILL. */
const SERVER_STOP_GRACE_MS = 10_000;

/** SIGTERM, then SIGKILL if the process is still there after the grace. */
async function stopGracefully(child: ChildProcess): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null) return;
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
  child.kill('SIGTERM');
  const timer = setTimeout(() => child.kill('SIGKILL'), SERVER_STOP_GRACE_MS);
  await exited;
  clearTimeout(timer);
}

/**
 * Kills, by pid, every process whose command line names a path under `dir`: what a server of this
 * run started there (a load balancer's HAProxy under `<dataDir>/lb`) and left behind when it was
 * killed or crashed.
 */
function killProcessesUnder(dir: string): void {
  const marker = `${dir}/`;
  for (const pid of readdirSync('/proc').filter((p) => /^\d+$/.test(p))) {
    let cmdline: string;
    try {
      cmdline = readFileSync(`/proc/${pid}/cmdline`, 'utf8');
    } catch {
      continue; // gone meanwhile
    }
    if (!cmdline.includes(marker) || Number(pid) === process.pid) continue;
    try { process.kill(Number(pid), 'SIGKILL'); } catch { /* gone meanwhile */ }
  }
}

function killAndWait(child: ChildProcess): Promise<void> {
  return new Promise((resolve) => {
    if (child.exitCode !== null || child.signalCode !== null) return resolve();
    child.once('exit', () => resolve());
    child.kill('SIGKILL');
  });
}
