/**
 * One actor per task: the only writer of that task's observed state on this instance. It converges
 * the task's containers to the task's desired status and reports whole snapshots (TaskStateReport)
 * whenever anything observable changes.
 *
 * Per container the runner walks NONE -> PULLED -> CREATED -> RUNNING -> STOPPED (never backwards);
 * each step is one runtime operation, at most one in flight per container. `step()` is the pure-ish
 * decision: it looks at the state and starts whatever operations are due; operations only record
 * what they observed and wake `step()` again. See README.md for the task status flow.
 */
import type { ContainerCondition, NetworkBinding } from '@aws-sdk/client-ecs';
import type { AgentContainer, AgentTask, ContainerStateReport, TaskStateReport } from '../model/agent-protocol.js';
import { LABELS } from '../model/agent-protocol.js';
import { TASK_STATUS_ORDER, isForward } from '../model/statuses.js';
import type { ContainerStatus, HealthStatus, TaskStatus, TaskStopCode } from '../model/statuses.js';
import { Backoff } from './backoff.js';
import type { Clock } from './clock.js';
import { systemClock } from './clock.js';
import type { ContainerHealth, ContainerRuntime, ContainerState, ImagePullBehavior } from './container-runtime.js';
import { RuntimeError } from './container-runtime.js';
import { containerRuntimeName, containerSpec, stopTimeoutSeconds } from './container-spec.js';
import type { Logger } from './log.js';
import { silentLogger } from './log.js';
import { BACKOFF, TIMEOUTS } from './timeouts.js';

/** Internal per-container progress; everything before RUNNING is PENDING on the wire. */
export type KnownStatus = 'NONE' | 'PULLED' | 'CREATED' | 'RUNNING' | 'STOPPED';
const KNOWN_ORDER: readonly KnownStatus[] = ['NONE', 'PULLED', 'CREATED', 'RUNNING', 'STOPPED'];

/** The stoppedReason of a task whose essential container exited (ECS wording). */
export const ESSENTIAL_EXIT_REASON = 'Essential container in task exited';

/** Runtime error codes -> the ECS reason prefix shown in stoppedReason and the container's reason. */
const START_FAILURE_PREFIX: Record<string, string> = {
  CannotPullContainerError: 'CannotPullContainerError',
  CannotCreateContainerError: 'CannotCreateContainerError',
  ContainerNameConflict: 'CannotCreateContainerError',
  CannotStartContainerError: 'CannotStartContainerError',
  CannotInspectContainerError: 'CannotStartContainerError',
};

interface ContainerRecord {
  def: AgentContainer;
  runtimeName: string;
  known: KnownStatus;
  runtimeId?: string;
  imageDigest?: string;
  exitCode?: number;
  reason?: string;
  health?: ContainerHealth;
  everHealthy: boolean;
  networkBindings?: NetworkBinding[];
  /** When it first reached RUNNING (ms); set means "has run", even if it exited since. */
  startedAtMs?: number;
  /** When it first became ready to start but waited on dependencies (ms), for startTimeout. */
  waitingSinceMs?: number;
  op?: { kind: 'pull' | 'create' | 'start' | 'stop' | 'inspect'; abort: AbortController };
  /** An event arrived while an operation was in flight: inspect again once it settles. */
  dirty: boolean;
  stopRetry?: { backoff: Backoff; notBeforeMs: number };
}

export interface TaskRunnerOptions {
  task: AgentTask;
  runtime: ContainerRuntime;
  containerInstanceArn: string;
  imagePullBehavior: ImagePullBehavior;
  /** Used for containers without stopTimeout (ECS_CONTAINER_STOP_TIMEOUT). */
  defaultStopTimeoutSeconds: number;
  /** Called with a whole snapshot whenever the task's observed state changes. */
  onReport(report: TaskStateReport): void;
  /** Containers of this task found on the engine at start-up (re-adoption after a restart). */
  adopted?: ContainerState[];
  clock?: Clock;
  logger?: Logger;
}

const isEssential = (c: AgentContainer) => c.essential !== false;

/**
 * The actor for one task. Call start() once; then feed it update() for new manifests and
 * onContainerEvent()/resync() for runtime events. It never moves a status backwards.
 */
export class TaskRunner {
  readonly taskArn: string;
  private task: AgentTask;
  private readonly o: TaskRunnerOptions;
  private readonly clock: Clock;
  private readonly log: Logger;
  private readonly containers = new Map<string, ContainerRecord>();
  private lastStatus: TaskStatus = 'PENDING';
  private stopCode: TaskStopCode | undefined;
  private stoppedReason: string | undefined;
  private pullStartedAtMs: number | undefined;
  private pullStoppedAtMs: number | undefined;
  private startedAtMs: number | undefined;
  private executionStoppedAtMs: number | undefined;
  private lastReportJson = '';
  private stepScheduled = false;
  private started = false;
  private closing = false;
  private readonly inflight = new Set<Promise<void>>();
  private cancelTimer: (() => void) | undefined;
  private timerDueMs: number | undefined;

  constructor(options: TaskRunnerOptions) {
    this.o = options;
    this.task = options.task;
    this.taskArn = options.task.taskArn;
    this.clock = options.clock ?? systemClock;
    this.log = options.logger ?? silentLogger;
    for (const def of this.task.containers) {
      const found = options.adopted?.find((s) => s.labels[LABELS.containerName] === def.name);
      const rec: ContainerRecord = {
        def, runtimeName: found?.name ?? containerRuntimeName(this.task, def.name), known: 'NONE', everHealthy: false, dirty: false,
      };
      this.containers.set(def.name, rec);
      if (found) {
        rec.runtimeId = found.id;
        rec.known = 'CREATED';
        this.observe(rec, found);
      }
    }
    if (options.adopted?.length) {
      const starts = [...this.containers.values()].map((c) => c.startedAtMs);
      if (starts.every((s) => s !== undefined)) this.startedAtMs = Math.max(...(starts as number[]));
    }
  }

  /** Begins converging. Idempotent. */
  start(): void {
    this.started = true;
    this.kick();
  }

  /** A newer manifest entry for this task; desiredStatus only moves RUNNING -> STOPPED. */
  update(task: AgentTask): void {
    if (task.taskArn !== this.taskArn) throw new Error(`task ${task.taskArn} routed to the runner of ${this.taskArn}`);
    const desiredStatus = this.task.desiredStatus === 'STOPPED' ? 'STOPPED' : task.desiredStatus;
    this.task = { ...this.task, desiredStatus };
    this.kick();
  }

  /** The server no longer lists this task: stop it as if desiredStatus became STOPPED. */
  requestStop(): void {
    this.task = { ...this.task, desiredStatus: 'STOPPED' };
    this.kick();
  }

  /** Something happened to one of this task's containers: re-inspect it. */
  onContainerEvent(containerId: string): void {
    for (const c of this.containers.values()) if (c.runtimeId === containerId) this.inspectLater(c);
  }

  /** Events may have been missed: re-inspect every container. */
  resync(): void {
    for (const c of this.containers.values()) if (c.runtimeId) this.inspectLater(c);
  }

  /** The current snapshot, for re-sending after a reconnect. */
  report(): TaskStateReport {
    const r: TaskStateReport = {
      taskArn: this.taskArn,
      lastStatus: this.lastStatus,
      containers: [...this.containers.values()].map((c) => this.containerReport(c)),
    };
    if (this.stopCode) r.stopCode = this.stopCode;
    if (this.stoppedReason) r.stoppedReason = this.stoppedReason;
    const iso = (ms: number) => new Date(ms).toISOString();
    if (this.pullStartedAtMs !== undefined) r.pullStartedAt = iso(this.pullStartedAtMs);
    if (this.pullStoppedAtMs !== undefined) r.pullStoppedAt = iso(this.pullStoppedAtMs);
    if (this.startedAtMs !== undefined) r.startedAt = iso(this.startedAtMs);
    if (this.executionStoppedAtMs !== undefined) r.executionStoppedAt = iso(this.executionStoppedAtMs);
    return r;
  }

  get status(): TaskStatus {
    return this.lastStatus;
  }

  get desiredStatus(): AgentTask['desiredStatus'] {
    return this.task.desiredStatus;
  }

  /** When the task reached STOPPED (ms), for the cleanup wait. */
  get stoppedAtMs(): number | undefined {
    return this.lastStatus === 'STOPPED' ? this.executionStoppedAtMs : undefined;
  }

  /** Runtime ids of every container this task created. */
  containerIds(): string[] {
    return [...this.containers.values()].flatMap((c) => (c.runtimeId ? [c.runtimeId] : []));
  }

  /** True when STOPPED and nothing is in flight. */
  get settled(): boolean {
    return this.lastStatus === 'STOPPED' && this.inflight.size === 0;
  }

  /** Drains: starts nothing new, lets in-flight operations finish (aborted after drainMs). Containers keep running. */
  async close(drainMs: number = TIMEOUTS.drainMs): Promise<void> {
    this.closing = true;
    this.cancelTimer?.();
    if (this.inflight.size === 0) return;
    let timer: NodeJS.Timeout | undefined;
    const all = Promise.allSettled([...this.inflight]);
    await Promise.race([all, new Promise<void>((r) => { timer = setTimeout(r, drainMs); })]);
    clearTimeout(timer);
    this.destroy(new Error('agent closing'));
    await all;
  }

  /** Aborts every in-flight operation. Containers keep running. */
  destroy(err: Error): void {
    this.closing = true;
    this.cancelTimer?.();
    for (const c of this.containers.values()) c.op?.abort.abort(err);
  }

  // ---- decisions -------------------------------------------------------------------------------

  private kick(): void {
    if (this.stepScheduled || !this.started || this.closing) return;
    this.stepScheduled = true;
    queueMicrotask(() => {
      this.stepScheduled = false;
      if (!this.closing) this.step();
    });
  }

  private get stopping(): boolean {
    return this.task.desiredStatus === 'STOPPED' || this.stoppedReason !== undefined;
  }

  private step(): void {
    const now = this.clock.now();
    let nextDueMs: number | undefined;
    const due = (ms: number) => { nextDueMs = nextDueMs === undefined ? ms : Math.min(nextDueMs, ms); };

    if (this.stopping) {
      for (const c of this.containers.values()) {
        if (c.op?.kind === 'pull') c.op.abort.abort(new Error('task stopping'));
        // Never started: nothing to stop. A created container is left for the cleanup.
        if (!c.op && (c.known === 'NONE' || c.known === 'PULLED' || c.known === 'CREATED')) this.advance(c, 'STOPPED');
      }
      for (const c of this.containers.values()) {
        if (c.op || c.known !== 'RUNNING') continue;
        // Reverse dependency order: stop a container only after everything depending on it stopped.
        if (this.dependentsOf(c).some((d) => d.known !== 'STOPPED')) continue;
        if (c.stopRetry && c.stopRetry.notBeforeMs > now) { due(c.stopRetry.notBeforeMs); continue; }
        this.runStop(c);
      }
    } else {
      for (const c of this.containers.values()) {
        if (c.op) continue;
        if (c.known === 'NONE') this.runPull(c);
        else if (c.known === 'PULLED' && !c.def.links?.length) this.runCreate(c);
        else if (c.known === 'PULLED' || c.known === 'CREATED') {
          const deps = this.dependencyState(c, now);
          if (deps.state === 'met') {
            if (c.known === 'PULLED') this.runCreate(c);
            else this.runStart(c);
          } else if (deps.state === 'never') {
            this.failToStart(c, deps.reason);
          } else {
            c.waitingSinceMs ??= now;
            if (deps.dueMs !== undefined) due(deps.dueMs);
          }
        }
      }
      if (this.stopping) return this.kick();
    }

    this.updateTaskStatus(now);
    this.armTimer(nextDueMs, now);
    this.emitIfChanged();
  }

  /** Dependencies of `c`: its dependsOn, plus links (a link needs its target started). */
  private dependenciesOf(c: ContainerRecord): { dep: ContainerRecord; condition: ContainerCondition }[] {
    const out: { dep: ContainerRecord; condition: ContainerCondition }[] = [];
    for (const d of c.def.dependsOn ?? []) {
      const dep = d.containerName ? this.containers.get(d.containerName) : undefined;
      if (dep && d.condition) out.push({ dep, condition: d.condition });
    }
    for (const l of c.def.links ?? []) {
      const dep = this.containers.get(l.split(':')[0] ?? '');
      if (dep && !out.some((o) => o.dep === dep)) out.push({ dep, condition: 'START' });
    }
    return out;
  }

  private dependentsOf(c: ContainerRecord): ContainerRecord[] {
    return [...this.containers.values()].filter((o) => o !== c && this.dependenciesOf(o).some((d) => d.dep === c));
  }

  private dependencyState(c: ContainerRecord, now: number): { state: 'met' } | { state: 'never'; reason: string } | { state: 'wait'; dueMs?: number } {
    let dueMs: number | undefined;
    for (const { dep, condition } of this.dependenciesOf(c)) {
      const ran = dep.startedAtMs !== undefined;
      const stopped = dep.known === 'STOPPED';
      let s: 'met' | 'wait' | 'never';
      switch (condition) {
        case 'START': s = ran ? 'met' : stopped ? 'never' : 'wait'; break;
        case 'COMPLETE': s = stopped ? (ran ? 'met' : 'never') : 'wait'; break;
        case 'SUCCESS': s = stopped ? (ran && dep.exitCode === 0 ? 'met' : 'never') : 'wait'; break;
        case 'HEALTHY': s = dep.everHealthy ? 'met' : stopped || !dep.def.healthCheck ? 'never' : 'wait'; break;
        default: s = 'never';
      }
      if (s === 'never') {
        const what = condition === 'SUCCESS' && dep.exitCode !== undefined ? ` (exit code ${dep.exitCode})` : '';
        return { state: 'never', reason: `CannotStartContainerError: dependency ${dep.def.name} cannot reach ${condition}${what}` };
      }
      if (s === 'wait') {
        // startTimeout belongs to the dependency: how long others wait for it to reach the condition.
        const timeoutS = dep.def.startTimeout;
        if (timeoutS !== undefined && timeoutS > 0) {
          const deadline = (dep.startedAtMs ?? c.waitingSinceMs ?? now) + timeoutS * 1000;
          if (now >= deadline) {
            return { state: 'never', reason: `CannotStartContainerError: dependency ${dep.def.name} did not reach ${condition} within ${timeoutS}s` };
          }
          dueMs = dueMs === undefined ? deadline : Math.min(dueMs, deadline);
        }
        return { state: 'wait', ...(dueMs !== undefined ? { dueMs } : {}) };
      }
    }
    return { state: 'met' };
  }

  private updateTaskStatus(now: number): void {
    const all = [...this.containers.values()];
    const busy = all.some((c) => c.op && c.op.kind !== 'inspect');
    if (all.every((c) => c.known === 'STOPPED') && !busy) {
      if (this.setStatus('STOPPED')) this.executionStoppedAtMs = now;
      return;
    }
    if (this.stopping && all.some((c) => c.known === 'RUNNING')) {
      this.setStatus('STOPPING');
      return;
    }
    if (!this.stopping && all.every((c) => c.startedAtMs !== undefined)) {
      if (this.setStatus('RUNNING')) this.startedAtMs ??= now;
    }
  }

  /** Forward-only; returns true when the status changed. */
  private setStatus(s: TaskStatus): boolean {
    if (s === this.lastStatus || !isForward(TASK_STATUS_ORDER, this.lastStatus, s)) return false;
    this.lastStatus = s;
    this.log.info('task status', { taskArn: this.taskArn, lastStatus: s });
    return true;
  }

  private armTimer(dueMs: number | undefined, now: number): void {
    if (dueMs === this.timerDueMs) return;
    this.cancelTimer?.();
    this.cancelTimer = undefined;
    this.timerDueMs = dueMs;
    if (dueMs !== undefined) {
      this.cancelTimer = this.clock.setTimer(Math.max(0, dueMs - now), () => {
        this.timerDueMs = undefined;
        this.cancelTimer = undefined;
        this.kick();
      });
    }
  }

  private emitIfChanged(): void {
    const r = this.report();
    const json = JSON.stringify(r);
    if (json === this.lastReportJson) return;
    this.lastReportJson = json;
    this.o.onReport(r);
  }

  private containerReport(c: ContainerRecord): ContainerStateReport {
    const lastStatus: ContainerStatus = c.known === 'RUNNING' ? 'RUNNING' : c.known === 'STOPPED' ? 'STOPPED' : 'PENDING';
    const health: HealthStatus = !c.def.healthCheck ? 'UNKNOWN' : c.health === 'healthy' ? 'HEALTHY' : c.health === 'unhealthy' ? 'UNHEALTHY' : 'UNKNOWN';
    const r: ContainerStateReport = { name: c.def.name, lastStatus, healthStatus: health };
    if (c.runtimeId) r.runtimeId = c.runtimeId;
    if (c.imageDigest) r.imageDigest = c.imageDigest;
    if (c.exitCode !== undefined) r.exitCode = c.exitCode;
    if (c.reason) r.reason = c.reason;
    if (c.networkBindings) r.networkBindings = c.networkBindings;
    return r;
  }

  // ---- observations ----------------------------------------------------------------------------

  /** Forward-only per container. */
  private advance(c: ContainerRecord, to: KnownStatus): void {
    if (KNOWN_ORDER.indexOf(to) > KNOWN_ORDER.indexOf(c.known)) c.known = to;
  }

  /** Records what the runtime says about a container. */
  private observe(c: ContainerRecord, st: ContainerState): void {
    c.runtimeId = st.id;
    if (st.health) {
      c.health = st.health;
      if (st.health === 'healthy') c.everHealthy = true;
    }
    if (st.startedAt && c.startedAtMs === undefined) c.startedAtMs = Math.min(Date.parse(st.startedAt), this.clock.now());
    if (st.running) {
      this.advance(c, 'RUNNING');
      c.networkBindings = this.task.networkMode === 'host'
        ? (c.def.portMappings ?? []).filter((p) => p.containerPort !== undefined).map((p) => ({
          bindIP: '0.0.0.0', containerPort: p.containerPort!, hostPort: p.containerPort!, protocol: p.protocol ?? 'tcp',
        }))
        : st.networkBindings;
      c.startedAtMs ??= this.clock.now();
    } else if (st.state !== 'created') {
      const was = c.known;
      this.advance(c, 'STOPPED');
      if (st.exitCode !== undefined && st.startedAt) c.exitCode = st.exitCode;
      if (was !== 'STOPPED' && c.known === 'STOPPED') this.onContainerStopped(c);
    }
  }

  private onContainerStopped(c: ContainerRecord): void {
    this.log.info('container stopped', { taskArn: this.taskArn, container: c.def.name, exitCode: c.exitCode });
    if (isEssential(c.def) && !this.stopping && c.startedAtMs !== undefined) {
      this.stopCode = 'EssentialContainerExited';
      this.stoppedReason = ESSENTIAL_EXIT_REASON;
    }
  }

  private failToStart(c: ContainerRecord, reason: string): void {
    this.log.warn('container failed to start', { taskArn: this.taskArn, container: c.def.name, reason });
    c.reason ??= reason;
    this.advance(c, 'STOPPED');
    if (!this.stopping) {
      this.stopCode = 'TaskFailedToStart';
      this.stoppedReason = reason;
    }
  }

  private reasonOf(err: unknown, fallbackCode: string): string {
    const code = err instanceof RuntimeError ? START_FAILURE_PREFIX[err.code] ?? fallbackCode : fallbackCode;
    const msg = err instanceof Error ? err.message : String(err);
    return `${code}: ${msg}`;
  }

  // ---- operations ------------------------------------------------------------------------------

  private run(c: ContainerRecord, kind: NonNullable<ContainerRecord['op']>['kind'], fn: (signal: AbortSignal) => Promise<void>): void {
    const abort = new AbortController();
    c.op = { kind, abort };
    const p = fn(abort.signal)
      .catch((err: unknown) => {
        this.log.error('container operation failed', { taskArn: this.taskArn, container: c.def.name, op: kind, error: err });
      })
      .finally(() => {
        c.op = undefined;
        this.inflight.delete(p);
        if (c.dirty && !this.closing) {
          c.dirty = false;
          this.runInspect(c);
        }
        this.kick();
      });
    this.inflight.add(p);
  }

  private inspectLater(c: ContainerRecord): void {
    if (this.closing || !c.runtimeId) return;
    if (c.op) c.dirty = true;
    else this.runInspect(c);
  }

  private runInspect(c: ContainerRecord): void {
    const id = c.runtimeId;
    if (!id) return;
    this.run(c, 'inspect', async (signal) => {
      const st = await this.o.runtime.inspect(id, { signal });
      if (st) this.observe(c, st);
      else this.containerVanished(c);
    });
  }

  private containerVanished(c: ContainerRecord): void {
    if (c.known === 'STOPPED') return;
    c.reason ??= 'DockerContainerRemovedError: the container was removed outside the agent';
    const wasRunning = c.startedAtMs !== undefined;
    this.advance(c, 'STOPPED');
    if (wasRunning) this.onContainerStopped(c);
    else if (!this.stopping) this.failToStart(c, c.reason);
  }

  private runPull(c: ContainerRecord): void {
    this.pullStartedAtMs ??= this.clock.now();
    this.run(c, 'pull', async (signal) => {
      try {
        const img = await this.o.runtime.ensureImage(c.def.image, this.o.imagePullBehavior, { signal });
        if (img.digest) c.imageDigest = img.digest;
        this.advance(c, 'PULLED');
      } catch (err) {
        if (signal.aborted) this.advance(c, 'STOPPED');
        else this.failToStart(c, this.reasonOf(err, 'CannotPullContainerError'));
      }
      if ([...this.containers.values()].every((o) => o.known !== 'NONE')) this.pullStoppedAtMs ??= this.clock.now();
    });
  }

  private runCreate(c: ContainerRecord): void {
    const runtimeNames = new Map([...this.containers.values()].map((o) => [o.def.name, o.runtimeName] as const));
    const spec = containerSpec(this.task, c.def, {
      containerInstanceArn: this.o.containerInstanceArn, name: c.runtimeName,
      defaultStopTimeoutSeconds: this.o.defaultStopTimeoutSeconds, runtimeNames,
    });
    this.run(c, 'create', async (signal) => {
      try {
        c.runtimeId = await this.o.runtime.create(spec, { signal });
        this.advance(c, 'CREATED');
      } catch (err) {
        // A timeout or a name conflict may mean our own earlier attempt got through: look before failing.
        if (err instanceof RuntimeError && (err.ambiguous || err.code === 'ContainerNameConflict')) {
          const found = await this.o.runtime.inspect(c.runtimeName, { signal }).catch(() => undefined);
          if (found && found.labels[LABELS.taskArn] === this.taskArn) {
            c.runtimeId = found.id;
            this.advance(c, 'CREATED');
            this.observe(c, found);
            return;
          }
        }
        this.failToStart(c, this.reasonOf(err, 'CannotCreateContainerError'));
      }
    });
  }

  private runStart(c: ContainerRecord): void {
    const id = c.runtimeId!;
    this.run(c, 'start', async (signal) => {
      let startErr: unknown;
      try {
        await this.o.runtime.start(id, { signal });
      } catch (err) {
        startErr = err;
      }
      // Inspect either way: for bindings after a start, and to resolve a failed start that may have run.
      const st = await this.o.runtime.inspect(id, { signal }).catch((err: unknown) => {
        startErr ??= err;
        return undefined;
      });
      if (st && (st.running || st.startedAt)) {
        this.observe(c, st);
        return;
      }
      this.failToStart(c, this.reasonOf(startErr ?? new Error(st?.error || 'container did not start'), 'CannotStartContainerError'));
    });
  }

  private runStop(c: ContainerRecord): void {
    const id = c.runtimeId!;
    const timeoutS = stopTimeoutSeconds(c.def, this.o.defaultStopTimeoutSeconds);
    this.run(c, 'stop', async (signal) => {
      let stopErr: unknown;
      try {
        await this.o.runtime.stop(id, timeoutS, { signal });
      } catch (err) {
        stopErr = err;
      }
      const st = await this.o.runtime.inspect(id, { signal }).catch(() => 'unknown' as const);
      if (st === undefined) return this.containerVanished(c);
      if (st !== 'unknown') this.observe(c, st);
      if (c.known !== 'STOPPED') {
        // Still running (or unknown): try again later rather than assume it stopped.
        c.stopRetry ??= { backoff: new Backoff(BACKOFF.stopRetryInitialMs, BACKOFF.stopRetryMaxMs), notBeforeMs: 0 };
        c.stopRetry.notBeforeMs = this.clock.now() + c.stopRetry.backoff.next();
        this.log.warn('container still running after stop', { taskArn: this.taskArn, container: c.def.name, error: stopErr });
      }
    });
  }
}
