/**
 * Several container instances on one machine, for end-to-end tests and benchmarks: `wharf server`
 * in the root network namespace on a bridge address, and per host a network namespace joined to
 * that bridge by a veth pair, its own `dockerd` (own data and exec roots, socket, pidfile, managed
 * containerd, cgroup parent) and its own `wharf agent`, both started inside the namespace with
 * `nsenter --net=` (not `ip netns exec`, which remounts /sys and hides the cgroup mounts dockerd
 * needs). Each host has the test image loaded, an availability zone and custom attributes.
 *
 * Tests drive hosts through their controls: kill or restart the agent or dockerd, crash the whole
 * host, cut or restore its link, list its containers. `stop()` removes everything the run made and
 * runs from a test's `after` even when the test failed; start-up failures clean up the same way,
 * and each start first sweeps what earlier crashed runs left (host-network.ts).
 *
 * Needs root, iproute2, util-linux (nsenter, umount), Docker Engine (dockerd and the docker CLI).
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { closeSync, mkdirSync, openSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { DescribeContainerInstancesCommand } from '@aws-sdk/client-ecs';
import { DockerClient } from '../agent/docker-client.js';
import { readAgentState } from '../agent/state-file.js';
import {
  chooseSubnet, claimRun, command, createBridge, createHostNamespace, destroyRun, isLive, killProcesses, parentOf, processesOfNamespace,
  runNames, setLink, sweepStaleRuns,
} from './host-network.js';
import { ensureTestImage, TEST_IMAGE } from './test-image.js';
import { startWharf, type WharfProcesses } from './wharf-processes.js';

/** The zones hosts get round-robin unless told otherwise. */
export const DEFAULT_ZONES = ['zone-a', 'zone-b', 'zone-c'] as const;
/** How long one dockerd may take to answer /_ping after it was started. */
const DOCKERD_START_TIMEOUT_MS = 60_000;
/** How long the agents may take to register and connect at start-up. */
const AGENTS_CONNECT_TIMEOUT_MS = 60_000;
/** restartDocker()'s grace for a clean dockerd shutdown before SIGKILL. */
const DOCKERD_STOP_GRACE_MS = 20_000;

export interface StartHostsOptions {
  /** Number of hosts (at least 1). */
  count: number;
  /** Host i is in `zones[i % zones.length]` (`ecs.availability-zone`); default zone-a, zone-b, zone-c. */
  zones?: readonly string[];
  /** Custom attributes of each host's container instance: one set for all, or per host index. */
  attributes?: Readonly<Record<string, string>> | ((index: number) => Readonly<Record<string, string>>);
  /** More `wharf server` flags (the harness sets --host and --port). */
  serverArgs?: string[];
  /** More `wharf agent` flags for every host. */
  agentArgs?: string[];
  /** Extra environment of every dockerd (e.g. DOCKER_SERVICE_PREFER_OFFLINE_IMAGE=1 for Swarm). */
  dockerEnvironment?: Readonly<Record<string, string>>;
  /** Start each host's agent and wait until all are connected (default true). */
  startAgents?: boolean;
}

/** A container as the host's own dockerd lists it. */
export interface HostContainer {
  id: string;
  name: string;
  image: string;
  /** `running`, `exited`, ... */
  state: string;
  labels: Record<string, string>;
}

/** One instance: a network namespace with its own dockerd and agent. */
export interface InstanceHost {
  readonly index: number;
  /** Network namespace name (`/run/netns/<netns>`). */
  readonly netns: string;
  /** The host's address on the bridge; task host ports are reached here. */
  readonly address: string;
  readonly availabilityZone: string;
  readonly attributes: Readonly<Record<string, string>>;
  /** `unix://...` of this host's dockerd. */
  readonly dockerHost: string;
  /** The agent's data directory (its state file names the container instance). */
  readonly agentDataDir: string;
  /** The container instance ARN, known once the agent registered (startHosts waits for it). */
  containerInstanceArn: string | undefined;
  /** The agent process while one runs. */
  readonly agent: ChildProcess | undefined;
  /** Starts the agent (same data directory, so the same container instance); rejects if one runs. */
  startAgent(): Promise<void>;
  /** SIGKILLs the agent; its containers keep running. Resolves once it has exited. */
  killAgent(): Promise<void>;
  /** killAgent() then startAgent(). */
  restartAgent(): Promise<void>;
  /** SIGKILLs dockerd and its containerd, as a daemon crash: task containers and their shims keep running. */
  killDocker(): Promise<void>;
  /** Stops dockerd (SIGTERM, SIGKILL after a grace) if it runs, and starts it again; resolves when it answers. Running containers are gone afterwards (no live-restore). */
  restartDocker(): Promise<void>;
  /** The machine dies: SIGKILLs everything in the host, agent, dockerd, containerd, shims and task containers. */
  crash(): Promise<void>;
  /** Sets the host's link down: it and the server no longer hear each other. */
  cutLink(): Promise<void>;
  restoreLink(): Promise<void>;
  /** Containers on this host's dockerd, running ones only unless `all`. */
  containers(options?: { all?: boolean }): Promise<HostContainer[]>;
  /** Runs the docker CLI against this host's dockerd; resolves with stdout. */
  docker(args: readonly string[]): Promise<string>;
}

export interface InstanceHosts {
  readonly runId: string;
  /** The server (on the bridge address) and this run's cluster, which every host's agent joins. */
  readonly wharf: WharfProcesses;
  readonly hosts: readonly InstanceHost[];
  /** The server's address on the bridge. */
  readonly bridgeAddress: string;
  /** The host whose container instance is `arn`. */
  hostOf(containerInstanceArn: string): InstanceHost | undefined;
  /** Removes everything this run made; safe to call twice. */
  stop(): Promise<void>;
}

/**
 * Starts the server and `count` hosts, in parallel where it can; resolves once every agent is
 * connected (unless `startAgents` is false). On failure everything made so far is removed before
 * the error is thrown.
 */
export async function startHosts(options: StartHostsOptions): Promise<InstanceHosts> {
  if (!Number.isInteger(options.count) || options.count < 1) throw new Error(`startHosts: count must be a positive integer, not ${options.count}`);
  await sweepStaleRuns();
  const runId = randomBytes(3).toString('hex');
  const names = runNames(runId);
  const runDir = claimRun(runId);
  let wharf: WharfProcesses | undefined;
  const hosts: Host[] = [];
  let stopping: Promise<void> | undefined;
  const stop = () => (stopping ??= (async () => {
    // The run's pieces go even when stopping the server failed; then that failure is reported.
    const serverFailure = await wharf?.stop().then(() => undefined, (err: unknown) => err);
    await destroyRun(runId);
    if (serverFailure !== undefined) throw serverFailure;
  })());

  try {
    const subnet = await chooseSubnet();
    const bridgeAddress = await createBridge(runId, subnet);
    const zones = options.zones?.length ? options.zones : DEFAULT_ZONES;
    for (let i = 0; i < options.count; i++) {
      const attributes = typeof options.attributes === 'function' ? options.attributes(i) : options.attributes ?? {};
      hosts.push(new Host(runId, i, `${subnet}.${10 + i}`, zones[i % zones.length]!, attributes, join(runDir, `h${i}`)));
    }
    const imageTar = join(runDir, 'test-image.tar');
    // The server's data directory is inside the run's, so a sweep finds the server of a crashed run by it.
    const serverStarted = startWharf({ dataDir: join(runDir, 'server'), serverArgs: ['--host', bridgeAddress, ...(options.serverArgs ?? [])] });
    const imageSaved = ensureTestImage().then(() => command('docker', ['save', '-o', imageTar, TEST_IMAGE]));
    const results = await Promise.allSettled([
      serverStarted.then((w) => { wharf = w; }),
      imageSaved,
      ...hosts.map(async (host) => {
        await createHostNamespace(runId, host.index, host.address, bridgeAddress);
        await host.startDocker(bridgeAddress, options.dockerEnvironment ?? {});
      }),
    ]);
    throwFirstRejection(results);
    const w = wharf!;
    await Promise.all(hosts.map(async (host) => {
      await host.docker(['load', '-q', '-i', imageTar]);
      host.attach(w, options.agentArgs ?? []);
      if (options.startAgents ?? true) await host.startAgent();
    }));
    if (options.startAgents ?? true) await waitForAgents(w, hosts);
    return {
      runId, wharf: w, hosts, bridgeAddress,
      hostOf: (arn) => hosts.find((h) => h.containerInstanceArn === arn),
      stop,
    };
  } catch (err) {
    await stop().catch((cleanupErr: unknown) => {
      throw new AggregateError([err, cleanupErr], `startHosts failed (${names.runDir}), and so did its cleanup`);
    });
    throw err;
  }
}

function throwFirstRejection(results: PromiseSettledResult<unknown>[]): void {
  const failed = results.find((r): r is PromiseRejectedResult => r.status === 'rejected');
  if (failed) throw failed.reason;
}

/** Waits until each host's agent has saved its container instance ARN and the server shows it connected. */
async function waitForAgents(wharf: WharfProcesses, hosts: readonly Host[]): Promise<void> {
  const deadline = Date.now() + AGENTS_CONNECT_TIMEOUT_MS;
  for (;;) {
    for (const host of hosts) {
      host.containerInstanceArn ??= (await readAgentState(host.agentDataDir))?.containerInstanceArn;
    }
    const arns = hosts.map((h) => h.containerInstanceArn).filter((a): a is string => a !== undefined);
    if (arns.length === hosts.length) {
      const described = await wharf.ecs.send(new DescribeContainerInstancesCommand({ cluster: wharf.cluster, containerInstances: arns }));
      if ((described.containerInstances ?? []).filter((i) => i.agentConnected).length === hosts.length) return;
    }
    if (Date.now() > deadline) {
      throw new Error(`agents did not all connect within ${AGENTS_CONNECT_TIMEOUT_MS} ms (registered: ${arns.length} of ${hosts.length})`);
    }
    await new Promise((r) => setTimeout(r, 100));
  }
}

class Host implements InstanceHost {
  readonly netns: string;
  readonly dockerHost: string;
  readonly agentDataDir: string;
  containerInstanceArn: string | undefined;
  #agent: ChildProcess | undefined;
  #dockerd: ChildProcess | undefined;
  #dockerArgs: string[] = [];
  #dockerEnv: NodeJS.ProcessEnv = {};
  #wharf: WharfProcesses | undefined;
  #agentArgs: string[] = [];

  constructor(
    readonly runId: string,
    readonly index: number,
    readonly address: string,
    readonly availabilityZone: string,
    readonly attributes: Readonly<Record<string, string>>,
    readonly dir: string,
  ) {
    this.netns = runNames(runId).netns(index);
    this.dockerHost = `unix://${join(dir, 'docker.sock')}`;
    this.agentDataDir = join(dir, 'agent');
  }

  get agent(): ChildProcess | undefined {
    return this.#agent;
  }

  /** First start of dockerd: fixes its flags for every later restart. */
  async startDocker(registryAddress: string, env: Readonly<Record<string, string>>): Promise<void> {
    mkdirSync(this.dir, { recursive: true });
    this.#dockerArgs = [
      '--data-root', join(this.dir, 'data'),
      '--exec-root', join(this.dir, 'exec'),
      '--pidfile', join(this.dir, 'docker.pid'),
      '-H', this.dockerHost,
      // Not the machine's /etc/docker/daemon.json: its settings could clash with these flags.
      '--config-file', join(this.dir, 'daemon.json'),
      '--exec-opt', 'native.cgroupdriver=cgroupfs',
      '--cgroup-parent', runNames(this.runId).cgroupParent(this.index),
      // Wharf's registry is served on the server's address; a later issue pushes images there over HTTP.
      '--insecure-registry', `${registryAddress}/32`,
    ];
    this.#dockerEnv = { ...process.env, ...env };
    writeFileSync(join(this.dir, 'daemon.json'), '{}\n');
    await this.#launchDocker();
  }

  async #launchDocker(): Promise<void> {
    // dockerd reuses the containerd its pid file names while that pid exists; a killed containerd
    // can linger as a zombie (where PID 1 does not reap orphans), which would make dockerd wait
    // for it until it gives up. A pid file naming no live process is stale: remove it.
    const containerdPidFile = join(this.dir, 'exec', 'containerd', 'containerd.pid');
    const containerdPid = Number(readFileIfAny(containerdPidFile)?.trim());
    if (containerdPid > 0 && !isLive(containerdPid)) rmSync(containerdPidFile, { force: true });
    const logFile = join(this.dir, 'dockerd.log');
    const log = openSync(logFile, 'a');
    const dockerd = spawn('nsenter', [`--net=/run/netns/${this.netns}`, '--', 'dockerd', ...this.#dockerArgs], {
      stdio: ['ignore', log, log], env: this.#dockerEnv,
    });
    closeSync(log);
    this.#dockerd = dockerd;
    const exited = new Promise<never>((_, reject) => {
      dockerd.once('exit', (code, signal) => reject(new Error(`dockerd of ${this.netns} exited (${signal ?? code}): ${tail(logFile)}`)));
      dockerd.once('error', reject);
    });
    exited.catch(() => undefined);
    const client = new DockerClient(this.dockerHost);
    try {
      const deadline = Date.now() + DOCKERD_START_TIMEOUT_MS;
      for (;;) {
        const answered = await Promise.race([
          client.request({ method: 'GET', path: '/_ping', timeoutMs: 2000 }).then(() => true, () => false),
          exited,
        ]);
        if (answered) return;
        if (Date.now() > deadline) throw new Error(`dockerd of ${this.netns} did not answer within ${DOCKERD_START_TIMEOUT_MS} ms: ${tail(logFile)}`);
        await new Promise((r) => setTimeout(r, 50));
      }
    } finally {
      client.close();
    }
  }

  attach(wharf: WharfProcesses, agentArgs: readonly string[]): void {
    this.#wharf = wharf;
    this.#agentArgs = [
      '--docker-host', this.dockerHost,
      '--availability-zone', this.availabilityZone,
      ...Object.entries(this.attributes).flatMap(([name, value]) => ['--attribute', `${name}=${value}`]),
      ...agentArgs,
    ];
  }

  async startAgent(): Promise<void> {
    if (!this.#wharf) throw new Error('startAgent: the host is not attached to a server yet');
    if (isRunning(this.#agent)) throw new Error(`startAgent: the agent of ${this.netns} is running`);
    this.#agent = await this.#wharf.startAgent({ netns: this.netns, dataDir: this.agentDataDir, extraArgs: this.#agentArgs });
  }

  async killAgent(): Promise<void> {
    await killChild(this.#agent);
  }

  async restartAgent(): Promise<void> {
    await this.killAgent();
    await this.startAgent();
  }

  async killDocker(): Promise<void> {
    const dockerd = this.#dockerd;
    if (!isRunning(dockerd)) return;
    // dockerd's containerd dies with it (parent-death signal), but is killed too rather than trusted to.
    const containerd = processesOfNamespace(this.netns).filter((pid) => parentOf(pid) === dockerd!.pid);
    await Promise.all([killChild(dockerd), killProcesses(containerd)]);
  }

  async restartDocker(): Promise<void> {
    const dockerd = this.#dockerd;
    if (isRunning(dockerd)) {
      const exited = new Promise<void>((resolve) => dockerd!.once('exit', () => resolve()));
      dockerd!.kill('SIGTERM');
      const timer = setTimeout(() => dockerd!.kill('SIGKILL'), DOCKERD_STOP_GRACE_MS);
      await exited;
      clearTimeout(timer);
    }
    await this.#launchDocker();
  }

  async crash(): Promise<void> {
    await killProcesses(processesOfNamespace(this.netns));
    // The pids included our own children; wait for their exit events so isRunning() tells the truth.
    await Promise.all([waitExit(this.#agent), waitExit(this.#dockerd)]);
  }

  async cutLink(): Promise<void> {
    await setLink(this.runId, this.index, false);
  }

  async restoreLink(): Promise<void> {
    await setLink(this.runId, this.index, true);
  }

  async containers(options: { all?: boolean } = {}): Promise<HostContainer[]> {
    const client = new DockerClient(this.dockerHost);
    try {
      const list = await client.json<{ Id: string; Names?: string[]; Image: string; State: string; Labels?: Record<string, string> }[]>({
        method: 'GET', path: '/containers/json', query: { all: options.all ?? false }, timeoutMs: 15_000,
      });
      return list.map((c) => ({ id: c.Id, name: (c.Names?.[0] ?? '').replace(/^\//, ''), image: c.Image, state: c.State, labels: c.Labels ?? {} }));
    } finally {
      client.close();
    }
  }

  docker(args: readonly string[]): Promise<string> {
    return command('docker', ['-H', this.dockerHost, ...args], 120_000);
  }
}

function isRunning(child: ChildProcess | undefined): boolean {
  return child !== undefined && child.exitCode === null && child.signalCode === null;
}

function waitExit(child: ChildProcess | undefined): Promise<void> {
  return new Promise((resolve) => {
    if (!isRunning(child)) return resolve();
    child!.once('exit', () => resolve());
  });
}

async function killChild(child: ChildProcess | undefined): Promise<void> {
  if (!isRunning(child)) return;
  const exited = waitExit(child);
  child!.kill('SIGKILL');
  await exited;
}

function readFileIfAny(file: string): string | undefined {
  try {
    return readFileSync(file, 'utf8');
  } catch {
    return undefined;
  }
}

/** The last lines of a log file, for an error message. */
function tail(file: string): string {
  return readFileIfAny(file)?.split('\n').slice(-15).join('\n') ?? '(no log)';
}
