/**
 * The narrow container runtime the task runner needs. DockerRuntime implements it on the Docker
 * Engine API; FakeRuntime (testkit) implements it in memory. Both pass container-runtime.contract.ts.
 *
 * Every call takes an optional AbortSignal; implementations add their own default timeout on top.
 */
import type { NetworkBinding } from '@aws-sdk/client-ecs';
import { WharfError } from '../model/errors.js';

/** ECS_IMAGE_PULL_BEHAVIOR values. */
export type ImagePullBehavior = 'default' | 'always' | 'once' | 'prefer-cached';
export const IMAGE_PULL_BEHAVIORS: readonly ImagePullBehavior[] = ['default', 'always', 'once', 'prefer-cached'];

export interface CallOptions {
  signal?: AbortSignal;
}

export interface RuntimeInfo {
  /** Logical CPUs the engine sees. */
  ncpu: number;
  memTotalBytes: number;
  /** Engine version, e.g. `20.10.24`. */
  serverVersion: string;
  /** As the engine reports it: `x86_64`, `aarch64`... */
  architecture: string;
  osType: string;
}

export interface EnsuredImage {
  /** Local image id (sha256:...). */
  imageId: string;
  /** Registry digest (sha256:...) when known: from the pull, or the image's RepoDigests. */
  digest?: string;
  /** True when this call pulled it. */
  pulled: boolean;
}

export interface PortMappingSpec {
  containerPort: number;
  /** 0 or absent: a dynamic host port chosen by the engine (bridge mode only). */
  hostPort?: number;
  protocol: 'tcp' | 'udp';
}

export interface HealthCheckSpec {
  /** As given in the task definition: ["CMD", ...] or ["CMD-SHELL", "..."]. */
  test: string[];
  intervalMs: number;
  timeoutMs: number;
  retries: number;
  startPeriodMs: number;
}

/** Everything needed to create one container; built from an AgentContainer by container-spec.ts. */
export interface ContainerSpec {
  name: string;
  image: string;
  labels: Record<string, string>;
  entryPoint?: string[];
  command?: string[];
  /** `NAME=value` strings. */
  env: string[];
  workingDirectory?: string;
  user?: string;
  hostname?: string;
  cpuShares: number;
  memoryBytes?: number;
  memoryReservationBytes?: number;
  networkMode: 'bridge' | 'host' | 'none';
  portMappings: PortMappingSpec[];
  ulimits: { name: string; soft: number; hard: number }[];
  /** Absent: no health check, and any HEALTHCHECK baked into the image is disabled (as ECS does). */
  healthCheck?: HealthCheckSpec;
  stopTimeoutSeconds: number;
  readonlyRootFilesystem?: boolean;
  privileged?: boolean;
  init?: boolean;
  interactive?: boolean;
  pseudoTerminal?: boolean;
  extraHosts?: string[];
  dnsServers?: string[];
  dnsSearchDomains?: string[];
  /** `name:alias` pairs naming other containers of the task (bridge mode). */
  links?: string[];
  /** Docker's local logging driver, when the task definition's driver is shipped by the agent (awslogs). */
  logDriver?: 'json-file';
}

export type ContainerRunState = 'created' | 'running' | 'paused' | 'restarting' | 'removing' | 'exited' | 'dead';
export type ContainerHealth = 'starting' | 'healthy' | 'unhealthy';

/** A container as the runtime sees it now (docker inspect). */
export interface ContainerState {
  id: string;
  name: string;
  labels: Record<string, string>;
  /** Local image id. */
  imageId: string;
  state: ContainerRunState;
  running: boolean;
  exitCode?: number;
  /** ISO-8601; absent when the container never started. */
  startedAt?: string;
  /** ISO-8601; absent while it never finished. */
  finishedAt?: string;
  /** Absent when the container has no health check. */
  health?: ContainerHealth;
  /** Published ports, as the engine assigned them (bridge mode). */
  networkBindings: NetworkBinding[];
  /** The engine's error for a container that failed, e.g. OCI runtime errors. */
  error?: string;
}

export type RuntimeEventKind = 'start' | 'die' | 'health' | 'destroy' | 'oom' | 'other';

/**
 * `container`: something happened to one container; consumers re-inspect it.
 * `resync`: the event stream (re)connected and events may have been missed; re-inspect everything.
 */
export type RuntimeEvent =
  | { type: 'container'; kind: RuntimeEventKind; containerId: string; labels: Record<string, string> }
  | { type: 'resync' };

export interface Subscription {
  close(): void;
}

/** Stable codes of runtime failures; the task runner maps them to ECS stop reasons in one table. */
export type RuntimeErrorCode =
  | 'CannotPullContainerError'
  | 'CannotCreateContainerError'
  | 'CannotStartContainerError'
  | 'CannotStopContainerError'
  | 'CannotInspectContainerError'
  | 'CannotRemoveContainerError'
  | 'ContainerNameConflict'
  | 'RuntimeUnavailable';

/**
 * A runtime call failed. `ambiguous` is true when the engine may or may not have applied it
 * (timeout, dropped connection): callers resolve that by inspecting, never by assuming.
 */
export class RuntimeError extends WharfError {
  declare readonly code: RuntimeErrorCode;
  readonly ambiguous: boolean;
  readonly statusCode: number | undefined;
  constructor(code: RuntimeErrorCode, message: string, options: { cause?: unknown; ambiguous?: boolean; statusCode?: number } = {}) {
    super(code, message, { cause: options.cause, retryable: options.ambiguous ?? false });
    this.ambiguous = options.ambiguous ?? false;
    this.statusCode = options.statusCode;
  }
}

export interface ContainerRuntime {
  info(opts?: CallOptions): Promise<RuntimeInfo>;
  /**
   * Makes `image` available locally per `behavior` (ECS_IMAGE_PULL_BEHAVIOR):
   * default = pull, falling back to a cached copy if the pull fails; always = pull, failure fails;
   * once = pull unless this runtime already pulled it and it is still cached; prefer-cached = use
   * the cached copy, pull only when missing. Fails with CannotPullContainerError.
   */
  ensureImage(image: string, behavior: ImagePullBehavior, opts?: CallOptions): Promise<EnsuredImage>;
  /** Creates a container and returns its id. Fails with CannotCreateContainerError or ContainerNameConflict. */
  create(spec: ContainerSpec, opts?: CallOptions): Promise<string>;
  /** Starts a created container; starting a running one is a no-op. Fails with CannotStartContainerError. */
  start(id: string, opts?: CallOptions): Promise<void>;
  /** SIGTERM, then SIGKILL after timeoutSeconds; a stopped container is a no-op; resolves once it exited. */
  stop(id: string, timeoutSeconds: number, opts?: CallOptions): Promise<void>;
  /** The container by id or name, or undefined when there is none. */
  inspect(idOrName: string, opts?: CallOptions): Promise<ContainerState | undefined>;
  /** Removes a container (forcibly) with its anonymous volumes; a missing one is a no-op. */
  remove(id: string, opts?: CallOptions): Promise<void>;
  /** All containers (running or not) carrying every given label (value `undefined` = key present). */
  list(labels: Record<string, string | undefined>, opts?: CallOptions): Promise<ContainerState[]>;
  /**
   * Container events for containers carrying every given label. Emits `resync` once the stream is
   * (re)connected, including the first time. Reconnects on its own until closed.
   */
  subscribe(labels: Record<string, string | undefined>, listener: (ev: RuntimeEvent) => void): Subscription;
}
