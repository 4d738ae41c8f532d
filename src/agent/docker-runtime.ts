/** ContainerRuntime on the Docker Engine API. */
import type { NetworkBinding } from '@aws-sdk/client-ecs';
import { Backoff, sleep } from './backoff.js';
import type {
  CallOptions, ContainerHealth, ContainerRunState, ContainerRuntime, ContainerSpec, ContainerState, EnsuredImage,
  ImagePullBehavior, RuntimeErrorCode, RuntimeEvent, RuntimeEventKind, RuntimeInfo, Subscription,
} from './container-runtime.js';
import { RuntimeError } from './container-runtime.js';
import { DockerClient, DockerHttpError } from './docker-client.js';
import { BACKOFF, TIMEOUTS } from './timeouts.js';

/** Docker's zero time: the container never started or never finished. */
const ZERO_TIME = '0001-01-01T00:00:00Z';

export interface DockerRuntimeOptions {
  /** DOCKER_HOST syntax; defaults to $DOCKER_HOST, then unix:///var/run/docker.sock. */
  dockerHost?: string;
  /** The X-Registry-Auth for pulling an image, when the image's registry needs one the agent can get. */
  registryAuth?: (image: string, signal?: AbortSignal) => Promise<string | undefined>;
}

/** Splits an image reference into what POST /images/create wants: repository and tag-or-digest. */
export function splitImageReference(image: string): { repo: string; tag: string } {
  const at = image.indexOf('@');
  if (at >= 0) return { repo: image.slice(0, at), tag: image.slice(at + 1) };
  const colon = image.lastIndexOf(':');
  if (colon > image.lastIndexOf('/')) return { repo: image.slice(0, colon), tag: image.slice(colon + 1) };
  return { repo: image, tag: 'latest' };
}

/** The Docker create body for a spec (pure; exported for tests). */
export function dockerCreateBody(spec: ContainerSpec): Record<string, unknown> {
  const exposed: Record<string, object> = {};
  const bindings: Record<string, { HostIp: string; HostPort: string }[]> = {};
  if (spec.networkMode === 'bridge') {
    for (const p of spec.portMappings) {
      const key = `${p.containerPort}/${p.protocol}`;
      exposed[key] = {};
      (bindings[key] ??= []).push({ HostIp: '', HostPort: p.hostPort ? String(p.hostPort) : '' });
    }
  }
  const hc = spec.healthCheck;
  const ms = 1_000_000;
  return {
    Image: spec.image,
    Labels: spec.labels,
    Env: spec.env,
    ...(spec.entryPoint ? { Entrypoint: spec.entryPoint } : {}),
    ...(spec.command ? { Cmd: spec.command } : {}),
    ...(spec.workingDirectory ? { WorkingDir: spec.workingDirectory } : {}),
    ...(spec.user ? { User: spec.user } : {}),
    ...(spec.hostname ? { Hostname: spec.hostname } : {}),
    ExposedPorts: exposed,
    // ECS ignores HEALTHCHECKs baked into images: only the task definition's check counts.
    Healthcheck: hc
      ? { Test: hc.test, Interval: hc.intervalMs * ms, Timeout: hc.timeoutMs * ms, Retries: hc.retries, StartPeriod: hc.startPeriodMs * ms }
      : { Test: ['NONE'] },
    StopTimeout: spec.stopTimeoutSeconds,
    OpenStdin: spec.interactive ?? false,
    Tty: spec.pseudoTerminal ?? false,
    HostConfig: {
      CpuShares: spec.cpuShares,
      ...(spec.memoryBytes ? { Memory: spec.memoryBytes } : {}),
      ...(spec.memoryReservationBytes ? { MemoryReservation: spec.memoryReservationBytes } : {}),
      NetworkMode: spec.networkMode === 'bridge' ? 'bridge' : spec.networkMode,
      PortBindings: bindings,
      Ulimits: spec.ulimits.map((u) => ({ Name: u.name, Soft: u.soft, Hard: u.hard })),
      ReadonlyRootfs: spec.readonlyRootFilesystem ?? false,
      Privileged: spec.privileged ?? false,
      ...(spec.init ? { Init: true } : {}),
      ...(spec.extraHosts?.length ? { ExtraHosts: spec.extraHosts } : {}),
      ...(spec.dnsServers?.length ? { Dns: spec.dnsServers } : {}),
      ...(spec.dnsSearchDomains?.length ? { DnsSearch: spec.dnsSearchDomains } : {}),
      ...(spec.links?.length && spec.networkMode === 'bridge' ? { Links: spec.links } : {}),
      ...(spec.logDriver ? { LogConfig: { Type: spec.logDriver, Config: {} } } : {}),
    },
  };
}

interface DockerInspect {
  Id: string;
  Name: string;
  Image: string;
  Config?: { Labels?: Record<string, string> | null };
  State?: {
    Status?: string; Running?: boolean; ExitCode?: number; StartedAt?: string; FinishedAt?: string; Error?: string;
    Health?: { Status?: string } | null;
  };
  NetworkSettings?: { Ports?: Record<string, { HostIp: string; HostPort: string }[] | null> | null };
}

/** Maps `docker inspect` output to a ContainerState (pure; exported for tests). */
export function containerStateOf(c: DockerInspect): ContainerState {
  const st = c.State ?? {};
  const bindings: NetworkBinding[] = [];
  for (const [key, list] of Object.entries(c.NetworkSettings?.Ports ?? {})) {
    const [port, proto] = key.split('/');
    for (const b of list ?? []) {
      if (!b.HostPort) continue;
      bindings.push({ bindIP: b.HostIp || '0.0.0.0', containerPort: Number(port), hostPort: Number(b.HostPort), protocol: proto === 'udp' ? 'udp' : 'tcp' });
    }
  }
  const health = st.Health?.Status;
  const state: ContainerState = {
    id: c.Id,
    name: c.Name.replace(/^\//, ''),
    labels: c.Config?.Labels ?? {},
    imageId: c.Image,
    state: (st.Status ?? 'created') as ContainerRunState,
    running: st.Running === true,
    networkBindings: bindings,
  };
  if (st.StartedAt && st.StartedAt !== ZERO_TIME) state.startedAt = st.StartedAt;
  if (st.FinishedAt && st.FinishedAt !== ZERO_TIME) state.finishedAt = st.FinishedAt;
  if (!state.running && state.state !== 'created' && st.ExitCode !== undefined) state.exitCode = st.ExitCode;
  if (health === 'starting' || health === 'healthy' || health === 'unhealthy') state.health = health as ContainerHealth;
  if (st.Error) state.error = st.Error;
  return state;
}

function labelFilter(labels: Record<string, string | undefined>): string[] {
  return Object.entries(labels).map(([k, v]) => (v === undefined ? k : `${k}=${v}`));
}

function eventKind(action: string): RuntimeEventKind {
  if (action === 'start' || action === 'die' || action === 'destroy' || action === 'oom') return action;
  if (action.startsWith('health_status')) return 'health';
  return 'other';
}

/** Runtime failures: an engine answer is definitive; no answer (timeout, reset) is ambiguous. */
function toRuntimeError(code: RuntimeErrorCode, err: unknown): RuntimeError {
  if (err instanceof RuntimeError) return err;
  if (err instanceof DockerHttpError) return new RuntimeError(code, err.message, { cause: err, statusCode: err.statusCode });
  const message = err instanceof Error ? err.message : String(err);
  return new RuntimeError(code, message, { cause: err, ambiguous: true });
}

/** The Docker Engine as a ContainerRuntime. close() frees its sockets. */
export class DockerRuntime implements ContainerRuntime {
  readonly docker: DockerClient;
  /** Images this runtime pulled, for the `once` pull behavior (in memory: a restart pulls once more). */
  private readonly pulled = new Set<string>();

  private readonly registryAuth: DockerRuntimeOptions['registryAuth'];

  constructor(options: DockerRuntimeOptions = {}) {
    this.docker = new DockerClient(options.dockerHost);
    this.registryAuth = options.registryAuth;
  }

  close(): void {
    this.docker.close();
  }

  async info(opts: CallOptions = {}): Promise<RuntimeInfo> {
    try {
      const i = await this.docker.json<{ NCPU: number; MemTotal: number; ServerVersion: string; Architecture: string; OSType: string }>(
        { method: 'GET', path: '/info', timeoutMs: TIMEOUTS.dockerQuickMs, signal: opts.signal });
      return { ncpu: i.NCPU, memTotalBytes: i.MemTotal, serverVersion: i.ServerVersion, architecture: i.Architecture, osType: i.OSType };
    } catch (err) {
      throw toRuntimeError('RuntimeUnavailable', err);
    }
  }

  async ensureImage(image: string, behavior: ImagePullBehavior, opts: CallOptions = {}): Promise<EnsuredImage> {
    if (behavior === 'prefer-cached' || (behavior === 'once' && this.pulled.has(image))) {
      const cached = await this.inspectImage(image, opts);
      if (cached) return cached;
    }
    try {
      const digest = await this.pull(image, opts);
      this.pulled.add(image);
      return { ...(digest ? { digest } : {}), imageId: (await this.inspectImage(image, opts))?.imageId ?? '', pulled: true };
    } catch (err) {
      if (behavior === 'default' && !opts.signal?.aborted) {
        const cached = await this.inspectImage(image, opts).catch(() => undefined);
        if (cached) return cached;
      }
      throw toRuntimeError('CannotPullContainerError', err);
    }
  }

  private async inspectImage(image: string, opts: CallOptions): Promise<EnsuredImage | undefined> {
    try {
      const i = await this.docker.json<{ Id: string; RepoDigests?: string[] | null }>({
        method: 'GET', path: `/images/${encodeURIComponent(image)}/json`, timeoutMs: TIMEOUTS.dockerQuickMs, signal: opts.signal,
      });
      const repoDigest = (i.RepoDigests ?? [])[0];
      const at = repoDigest?.indexOf('@') ?? -1;
      return { imageId: i.Id, ...(repoDigest && at >= 0 ? { digest: repoDigest.slice(at + 1) } : {}), pulled: false };
    } catch (err) {
      if (err instanceof DockerHttpError && err.statusCode === 404) return undefined;
      throw toRuntimeError('CannotPullContainerError', err);
    }
  }

  /** Pulls and returns the registry digest; a pull error inside the progress stream fails it. */
  private async pull(image: string, opts: CallOptions): Promise<string | undefined> {
    const { repo, tag } = splitImageReference(image);
    let digest: string | undefined;
    let failure: string | undefined;
    const auth = await this.registryAuth?.(image, opts.signal);
    await this.docker.stream(
      {
        method: 'POST', path: '/images/create', query: { fromImage: repo, tag }, timeoutMs: TIMEOUTS.dockerPullMs, signal: opts.signal,
        ...(auth !== undefined ? { headers: { 'X-Registry-Auth': auth } } : {}),
      },
      (line) => {
        if (typeof line.error === 'string') failure = line.error;
        const status = line.status;
        if (typeof status === 'string' && status.startsWith('Digest: ')) digest = status.slice('Digest: '.length).trim();
      });
    if (failure !== undefined) throw new RuntimeError('CannotPullContainerError', failure);
    return digest;
  }

  async create(spec: ContainerSpec, opts: CallOptions = {}): Promise<string> {
    try {
      const res = await this.docker.json<{ Id: string }>({
        method: 'POST', path: '/containers/create', query: { name: spec.name }, body: dockerCreateBody(spec),
        timeoutMs: TIMEOUTS.dockerCreateMs, signal: opts.signal,
      });
      return res.Id;
    } catch (err) {
      if (err instanceof DockerHttpError && err.statusCode === 409) {
        throw new RuntimeError('ContainerNameConflict', err.message, { cause: err, statusCode: 409 });
      }
      throw toRuntimeError('CannotCreateContainerError', err);
    }
  }

  async start(id: string, opts: CallOptions = {}): Promise<void> {
    try {
      await this.docker.request({ method: 'POST', path: `/containers/${encodeURIComponent(id)}/start`, timeoutMs: TIMEOUTS.dockerStartMs, signal: opts.signal });
    } catch (err) {
      throw toRuntimeError('CannotStartContainerError', err);
    }
  }

  async stop(id: string, timeoutSeconds: number, opts: CallOptions = {}): Promise<void> {
    try {
      await this.docker.request({
        method: 'POST', path: `/containers/${encodeURIComponent(id)}/stop`, query: { t: Math.max(0, Math.round(timeoutSeconds)) },
        timeoutMs: timeoutSeconds * 1000 + TIMEOUTS.dockerStopExtraMs, signal: opts.signal,
      });
    } catch (err) {
      if (err instanceof DockerHttpError && err.statusCode === 404) return;
      throw toRuntimeError('CannotStopContainerError', err);
    }
  }

  async inspect(idOrName: string, opts: CallOptions = {}): Promise<ContainerState | undefined> {
    try {
      const c = await this.docker.json<DockerInspect>({
        method: 'GET', path: `/containers/${encodeURIComponent(idOrName)}/json`, timeoutMs: TIMEOUTS.dockerQuickMs, signal: opts.signal,
      });
      return containerStateOf(c);
    } catch (err) {
      if (err instanceof DockerHttpError && err.statusCode === 404) return undefined;
      throw toRuntimeError('CannotInspectContainerError', err);
    }
  }

  async remove(id: string, opts: CallOptions = {}): Promise<void> {
    try {
      await this.docker.request({
        method: 'DELETE', path: `/containers/${encodeURIComponent(id)}`, query: { force: true, v: true },
        timeoutMs: TIMEOUTS.dockerRemoveMs, signal: opts.signal,
      });
    } catch (err) {
      // 404: already gone; 409: a removal is already in progress. Both end where we want.
      if (err instanceof DockerHttpError && (err.statusCode === 404 || err.statusCode === 409)) return;
      throw toRuntimeError('CannotRemoveContainerError', err);
    }
  }

  async list(labels: Record<string, string | undefined>, opts: CallOptions = {}): Promise<ContainerState[]> {
    let summaries: { Id: string }[];
    try {
      summaries = await this.docker.json<{ Id: string }[]>({
        method: 'GET', path: '/containers/json', query: { all: true, filters: JSON.stringify({ label: labelFilter(labels) }) },
        timeoutMs: TIMEOUTS.dockerQuickMs, signal: opts.signal,
      });
    } catch (err) {
      throw toRuntimeError('CannotInspectContainerError', err);
    }
    // The summaries lack exit codes and times, which re-adoption needs.
    const states = await Promise.all(summaries.map((s) => this.inspect(s.Id, opts)));
    return states.filter((s): s is ContainerState => s !== undefined);
  }

  subscribe(labels: Record<string, string | undefined>, listener: (ev: RuntimeEvent) => void): Subscription {
    const ac = new AbortController();
    const backoff = new Backoff(BACKOFF.eventsInitialMs, BACKOFF.eventsMaxMs);
    const filters = JSON.stringify({ type: ['container'], label: labelFilter(labels) });
    const loop = async () => {
      while (!ac.signal.aborted) {
        try {
          await this.docker.stream(
            { method: 'GET', path: '/events', query: { filters }, timeoutMs: TIMEOUTS.dockerEventsConnectMs, signal: ac.signal, streamTimeout: false },
            (line) => {
              const actor = line.Actor as { ID?: string; Attributes?: Record<string, string> } | undefined;
              const action = typeof line.Action === 'string' ? line.Action : typeof line.status === 'string' ? line.status : '';
              if (!actor?.ID) return;
              listener({ type: 'container', kind: eventKind(action), containerId: actor.ID, labels: actor.Attributes ?? {} });
            },
            () => {
              backoff.reset();
              listener({ type: 'resync' });
            });
        } catch {
          // The stream broke; reconnecting emits resync, which recovers anything missed meanwhile.
        }
        if (ac.signal.aborted) break;
        await sleep(backoff.next(), ac.signal).catch(() => undefined);
      }
    };
    void loop();
    return { close: () => ac.abort() };
  }
}
