/**
 * An in-memory ContainerRuntime. Containers "run" until told to exit (exit()), with controllable
 * exit codes, health and failures. To pass the same contract suite as Docker it interprets a tiny
 * part of what a container runs:
 * - a command containing `exit N` (e.g. `sh -c "exit 3"`) exits at once with N;
 * - an executable path starting with `/nonexistent` fails to start;
 * - health check `["CMD","true"]` / `["CMD-SHELL","exit 0"]` turns healthy, `["CMD","false"]` /
 *   `["CMD-SHELL","exit 1"]` unhealthy; any other stays `starting` until setHealth().
 */
import type {
  CallOptions, ContainerHealth, ContainerRuntime, ContainerSpec, ContainerState, EnsuredImage, ImagePullBehavior,
  RuntimeEvent, RuntimeEventKind, RuntimeInfo, Subscription,
} from '../agent/container-runtime.js';
import { RuntimeError } from '../agent/container-runtime.js';
import { randomBytes } from 'node:crypto';

export interface FakeContainer {
  id: string;
  spec: ContainerSpec;
  state: ContainerState;
}

export class FakeRuntime implements ContainerRuntime {
  /** Images present locally. */
  readonly cached = new Set<string>();
  /** Images a pull can fetch. */
  readonly registry = new Set<string>();
  /** Image -> message: pulling it fails with this message. */
  readonly pullFailures = new Map<string, string>();
  /** Image -> message: creating a container of it fails. */
  readonly createFailures = new Map<string, string>();
  /** Every mutating call in order, as `<op>:<container name label or id>`, for ordering assertions. */
  readonly calls: string[] = [];
  readonly containers = new Map<string, FakeContainer>();
  /** Exit code a stopped container reports (SIGTERM). */
  stopExitCode = 143;
  /** While set, pulls wait for it (lets tests act during a pull). */
  pullGate: Promise<void> | undefined;
  private nextHostPort = 32768;
  private readonly subscribers = new Set<{ labels: Record<string, string | undefined>; listener: (ev: RuntimeEvent) => void }>();
  private readonly pulledOnce = new Set<string>();

  constructor(options: { images?: string[]; registry?: string[] } = {}) {
    for (const i of options.images ?? []) this.cached.add(i);
    for (const i of options.registry ?? []) this.registry.add(i);
  }

  async info(): Promise<RuntimeInfo> {
    return { ncpu: 2, memTotalBytes: 4096 * 1024 * 1024, serverVersion: 'fake-1.0', architecture: 'x86_64', osType: 'linux' };
  }

  async ensureImage(image: string, behavior: ImagePullBehavior, opts: CallOptions = {}): Promise<EnsuredImage> {
    const cached = (): EnsuredImage => ({ imageId: `sha256:${image}`, pulled: false });
    if (this.cached.has(image) && (behavior === 'prefer-cached' || (behavior === 'once' && this.pulledOnce.has(image)))) return cached();
    this.calls.push(`pull:${image}`);
    if (this.pullGate) await abortable(this.pullGate, opts.signal);
    opts.signal?.throwIfAborted();
    const failure = this.pullFailures.get(image) ?? (this.registry.has(image) ? undefined : `pull access denied for ${image}, repository does not exist`);
    if (failure === undefined) {
      this.cached.add(image);
      this.pulledOnce.add(image);
      return { imageId: `sha256:${image}`, digest: `sha256:digest-of-${image}`, pulled: true };
    }
    if (behavior === 'default' && this.cached.has(image)) return cached();
    throw new RuntimeError('CannotPullContainerError', failure);
  }

  async create(spec: ContainerSpec): Promise<string> {
    if ([...this.containers.values()].some((c) => c.state.name === spec.name)) {
      throw new RuntimeError('ContainerNameConflict', `Conflict. The container name "/${spec.name}" is already in use`, { statusCode: 409 });
    }
    const failure = this.createFailures.get(spec.image);
    if (failure) throw new RuntimeError('CannotCreateContainerError', failure, { statusCode: 500 });
    if (!this.cached.has(spec.image)) throw new RuntimeError('CannotCreateContainerError', `No such image: ${spec.image}`, { statusCode: 404 });
    const id = randomBytes(32).toString('hex');
    this.containers.set(id, {
      id, spec,
      state: { id, name: spec.name, labels: { ...spec.labels }, imageId: `sha256:${spec.image}`, state: 'created', running: false, networkBindings: [] },
    });
    this.record('create', id);
    return id;
  }

  async start(id: string): Promise<void> {
    const c = this.mustGet(id, 'CannotStartContainerError');
    if (c.state.running) return;
    const argv = [...(c.spec.entryPoint ?? []), ...(c.spec.command ?? [])];
    if (argv[0]?.startsWith('/nonexistent')) {
      c.state.error = `exec: "${argv[0]}": stat ${argv[0]}: no such file or directory`;
      c.state.exitCode = 127;
      throw new RuntimeError('CannotStartContainerError', `OCI runtime create failed: ${c.state.error}`, { statusCode: 400 });
    }
    this.record('start', id);
    c.state = {
      ...c.state, state: 'running', running: true, startedAt: new Date().toISOString(),
      networkBindings: c.spec.networkMode !== 'bridge' ? [] : c.spec.portMappings.map((p) => ({
        bindIP: '0.0.0.0', containerPort: p.containerPort, hostPort: p.hostPort || this.nextHostPort++, protocol: p.protocol,
      })),
    };
    delete c.state.exitCode;
    delete c.state.finishedAt;
    if (c.spec.healthCheck) c.state.health = 'starting';
    this.emit('start', c);
    const exit = /(?:^|\s|;)exit (\d+)/.exec(argv.join(' '));
    if (exit) {
      this.exitNow(c, Number(exit[1]));
      return;
    }
    const test = c.spec.healthCheck?.test.join(' ');
    const verdict: ContainerHealth | undefined = test === 'CMD true' || test === 'CMD-SHELL exit 0' ? 'healthy'
      : test === 'CMD false' || test === 'CMD-SHELL exit 1' ? 'unhealthy' : undefined;
    if (verdict) setImmediate(() => { if (c.state.running) this.setHealth(id, verdict); });
  }

  async stop(id: string, _timeoutSeconds: number): Promise<void> {
    const c = this.containers.get(id);
    if (!c) return;
    this.record('stop', id);
    if (c.state.running) this.exitNow(c, this.stopExitCode);
  }

  async inspect(idOrName: string): Promise<ContainerState | undefined> {
    const c = this.find(idOrName);
    return c ? structuredClone(c.state) : undefined;
  }

  async remove(id: string): Promise<void> {
    const c = this.containers.get(id);
    if (!c) return;
    this.record('remove', id);
    if (c.state.running) this.exitNow(c, 137);
    this.containers.delete(id);
    this.emit('destroy', c);
  }

  async list(labels: Record<string, string | undefined>): Promise<ContainerState[]> {
    return [...this.containers.values()].filter((c) => matches(c.state.labels, labels)).map((c) => structuredClone(c.state));
  }

  subscribe(labels: Record<string, string | undefined>, listener: (ev: RuntimeEvent) => void): Subscription {
    const sub = { labels, listener };
    this.subscribers.add(sub);
    setImmediate(() => { if (this.subscribers.has(sub)) listener({ type: 'resync' }); });
    return { close: () => { this.subscribers.delete(sub); } };
  }

  // ---- controls --------------------------------------------------------------------------------

  /** The container by id, runtime name, or ECS container name label. */
  find(ref: string): FakeContainer | undefined {
    return this.containers.get(ref) ?? [...this.containers.values()].find((c) => c.state.name === ref)
      ?? [...this.containers.values()].find((c) => c.state.labels['com.wharf.ecs.container-name'] === ref);
  }

  /** Makes a running container exit with `code`. */
  exit(ref: string, code: number): void {
    const c = this.mustGet(ref, 'CannotInspectContainerError');
    if (c.state.running) this.exitNow(c, code);
  }

  setHealth(ref: string, health: ContainerHealth): void {
    const c = this.mustGet(ref, 'CannotInspectContainerError');
    c.state.health = health;
    this.emit('health', c);
  }

  /** As if the engine's event stream dropped and reconnected. */
  resyncSubscribers(): void {
    for (const s of this.subscribers) s.listener({ type: 'resync' });
  }

  /** Adds a container as if a previous agent process had created and started it. */
  adopt(spec: ContainerSpec, running = true): string {
    const id = randomBytes(32).toString('hex');
    this.containers.set(id, {
      id, spec,
      state: {
        id, name: spec.name, labels: { ...spec.labels }, imageId: `sha256:${spec.image}`, state: running ? 'running' : 'exited', running,
        startedAt: new Date(Date.now() - 60_000).toISOString(), networkBindings: [],
        ...(running ? {} : { exitCode: 0, finishedAt: new Date().toISOString() }),
      },
    });
    return id;
  }

  private exitNow(c: FakeContainer, code: number): void {
    c.state = { ...c.state, state: 'exited', running: false, exitCode: code, finishedAt: new Date().toISOString() };
    this.emit('die', c);
  }

  private mustGet(ref: string, code: 'CannotStartContainerError' | 'CannotInspectContainerError'): FakeContainer {
    const c = this.find(ref);
    if (!c) throw new RuntimeError(code, `No such container: ${ref}`, { statusCode: 404 });
    return c;
  }

  private record(op: string, id: string): void {
    const c = this.containers.get(id);
    this.calls.push(`${op}:${c?.state.labels['com.wharf.ecs.container-name'] ?? id}`);
  }

  private emit(kind: RuntimeEventKind, c: FakeContainer): void {
    const ev: RuntimeEvent = { type: 'container', kind, containerId: c.id, labels: { ...c.state.labels } };
    for (const s of this.subscribers) if (matches(c.state.labels, s.labels)) setImmediate(() => s.listener(ev));
  }
}

function matches(have: Record<string, string>, want: Record<string, string | undefined>): boolean {
  return Object.entries(want).every(([k, v]) => (v === undefined ? k in have : have[k] === v));
}

function abortable(p: Promise<void>, signal: AbortSignal | undefined): Promise<void> {
  if (!signal) return p;
  return new Promise((resolve, reject) => {
    if (signal.aborted) return reject(signal.reason);
    signal.addEventListener('abort', () => reject(signal.reason), { once: true });
    p.then(resolve, reject);
  });
}
