/**
 * One load balancer's data plane: an HAProxy process in master-worker mode, owned by this object.
 *
 * ```
 * start(config) ──► render (targets left out) ──► haproxy -W -S master.sock ──► worker up ──► fill slots (runtime API)
 * apply(config) ──► listeners/rules/group settings changed? ──yes──► haproxy -c, save server state, master `reload`
 *                                     │                                (listeners handed over: no connection lost)
 *                                     └──────────────► target diff over the runtime API: fill / drain / ready / empty slots, add slots
 * master exits unexpectedly ──► back-off ──► started again from the last applied config
 * ```
 *
 * Targets never cause a reload: a new target fills a free server slot (a group with none gets one
 * more at run time, `add server`) at weight 0, is marked down, then gets its weight, so it
 * receives traffic only once its health checks pass (the group's healthy threshold); a reload
 * renders every slot HAProxy has, and keeps every slot's target and its health and drain state
 * (server-state-file).
 * Each slot's fail-open twin (see failOpenName) follows it: same address, readied once the target
 * has been judged, drained and emptied with it, its state kept across reloads too.
 * Calls are serialized; every socket call and process wait has a timeout.
 */
import { spawn, execFile, type ChildProcess } from 'node:child_process';
import { existsSync, mkdirSync, readFileSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import type { LoadBalancerConfig, TargetConfig, TargetGroupConfig } from './config.js';
import { backendName, failOpenName, isUsableAddress, renderHaproxyConfig, serverArguments, slotCapacity, slotName, TARGET_WEIGHT, type HaproxyFiles } from './haproxy-config.js';
import { expectAnswer, HaproxyCommandError, sendCommand } from './runtime-socket.js';
import { addServerTraffic, parseServerStats, type ServerStat, type ServerTraffic } from './show-stat.js';
import { ADDRESS_UNUSABLE, DRAINING, REGISTRATION_IN_PROGRESS, targetHealthOf, type TargetHealth } from './target-health.js';
import * as timeouts from './timeouts.js';

export interface HaproxyLoadBalancerOptions {
  /** This load balancer's own directory (configuration, sockets, server state). Kept short: socket paths are limited to 107 bytes. */
  dir: string;
  /** The address listeners bind: `0.0.0.0` to serve every interface, `127.0.0.1` for tests. */
  bindAddress: string;
  /** HAProxy worker threads; one per CPU when absent. */
  threads?: number;
  /** The haproxy binary; `haproxy` on the PATH by default. */
  haproxyPath?: string;
  log: (entry: Record<string, unknown>) => void;
}

/** HAProxy could not start, or refused a configuration; `message` carries HAProxy's own words. */
export class DataPlaneError extends Error {
  override name = 'DataPlaneError';
}

/** What one `apply` did. */
export interface ApplyResult {
  /** Whether HAProxy was reloaded (listeners, rules or group settings changed). */
  reloaded: boolean;
  /**
   * Why HAProxy refused the configuration's listeners, rules or group settings (HAProxy's words):
   * it keeps serving the ones it had, with the new targets of the groups it has.
   */
  refused?: string;
  /** Targets HAProxy refused, with its answer: they stay out of the data plane until the next apply. */
  targetErrors: { targetGroupId: string; targetId: string; error: string }[];
}

/** What one HAProxy worker counted, for each target group by server slot. */
export interface WorkerCounters {
  /**
   * Which HAProxy worker counted: it changes with every start, restart and reload, where every
   * counter starts again from zero.
   */
  generation: number;
  /** Target group id → server slot → that slot's counters (a slot keeps counting across the targets it holds). */
  groups: Map<string, Map<string, ServerTraffic>>;
}

/** The traffic counters of a data plane: the current worker's, and the last ones of the workers reloads replaced. */
export interface TrafficCounters extends WorkerCounters {
  /**
   * The counters each of the last few workers replaced by a reload had just before it (oldest
   * first), so what they counted since an earlier reading is not lost. A worker that crashed has none.
   */
  retired: WorkerCounters[];
}

/** Final readings of replaced workers kept: more reloads than this between two readings lose the oldest's counts. */
const RETIRED_READINGS_KEPT = 16;

/** What one read of HAProxy's `show stat` tells. */
export interface Observation {
  /** Each target of the last applied configuration, by target group id and target id, in ELB's health states. */
  health: Map<string, Map<string, TargetHealth>>;
  traffic: TrafficCounters;
}

type Status = 'new' | 'running' | 'closing' | 'closed';

/** A running HAProxy's server slots: target group id → slot index → the target in it (as it was added, and when), or a hole. */
type RunningTargets = Map<string, (RunningTarget | undefined)[]>;
interface RunningTarget {
  target: TargetConfig;
  addedAtMs: number;
  /** The admin state of the slot's fail-open twin (see failOpenName). */
  twin: TwinState;
}

/**
 * A fail-open twin's admin state: `maint` until its target has been judged healthy or unhealthy,
 * then `ready`, and `drain` while the target drains (ELB sends a draining target no new request,
 * failing open or not; what the twin is serving finishes).
 *
 * Targets still in their initial checks get no fail-open traffic. ELB's documentation says a target
 * "must pass initial health checks" before it can receive requests, and that a group fails open
 * when it "contains only unhealthy registered targets" ("Health checks for your target groups";
 * the knowledge-center page on failing health checks, for Elb.InitialHealthChecking and
 * Elb.RegistrationInProgress). So a group whose targets are all `initial` answers 503, and a group
 * with no healthy target fails open to its unhealthy targets only, never to initial ones.
 */
type TwinState = 'maint' | 'drain' | 'ready';

export class HaproxyLoadBalancer {
  readonly #options: HaproxyLoadBalancerOptions;
  readonly #files: HaproxyFiles & { config: string; masterSocket: string; pidFile: string };
  #status: Status = 'new';
  #child: ChildProcess | undefined;
  #stderrTail: string[] = [];
  /** The configuration last applied: its targets are what HAProxy serves. */
  #desired: LoadBalancerConfig | undefined;
  /** The configuration HAProxy loaded last (differs from #desired while HAProxy refuses that one); a restart after a crash comes back to it. */
  #loaded: LoadBalancerConfig | undefined;
  /** The text of #loaded with the slots as they are now: a desired text that differs takes a reload. */
  #runningText = '';
  /** The listeners, rules and group settings HAProxy last refused, why, and when: the same ones are tried again only after RELOAD_RETRY_MS. */
  #refused: { structure: string; reason: string; atMs: number } | undefined;
  #running: RunningTargets = new Map();
  /** `<group id> <target id>` → the health last reported, so a judged target keeps its state across reloads. */
  readonly #health = new Map<string, TargetHealth>();
  #queue: Promise<unknown> = Promise.resolve();
  #restartTimer: NodeJS.Timeout | undefined;
  #crashesInARow = 0;
  /** How many times HAProxy was started (1 + restarts after crashes). */
  starts = 0;
  /** Bumped for every new worker (start, restart, reload): its counters start from zero. */
  #generation = 0;
  /** The last counters of workers replaced by reloads, newest last. */
  #retired: WorkerCounters[] = [];

  constructor(options: HaproxyLoadBalancerOptions) {
    this.#options = options;
    const dir = options.dir;
    this.#files = {
      config: join(dir, 'haproxy.cfg'),
      masterSocket: join(dir, 'master.sock'),
      runtimeSocket: join(dir, 'runtime.sock'),
      serverStateFile: join(dir, 'server-state'),
      bodyDir: join(dir, 'bodies'),
      pidFile: join(dir, 'haproxy.pid'),
    };
    if (Buffer.byteLength(this.#files.runtimeSocket) > 107) throw new DataPlaneError(`data-plane directory path too long for a unix socket: ${dir}`);
  }

  /** The master process id while HAProxy runs. */
  get pid(): number | undefined {
    return this.#child?.pid;
  }

  /** Starts HAProxy with `config`; resolves once its worker serves, and its targets are added. */
  start(config: LoadBalancerConfig): Promise<ApplyResult> {
    if (this.#status !== 'new') return Promise.reject(new DataPlaneError(`cannot start a data plane that is ${this.#status}`));
    this.#status = 'running';
    return this.#serialized(async () => {
      try {
        mkdirSync(this.#files.bodyDir, { recursive: true });
        await this.#stopOrphan();
        await this.#launch(config, config);
      } catch (err) {
        this.#status = 'closed';
        throw err;
      }
      this.#desired = config;
      const targetErrors = await this.#applyTargets(config);
      this.#runningText = this.#render(config, this.#running).text;
      return { reloaded: false, targetErrors };
    });
  }

  /**
   * Makes HAProxy serve `config`: a seamless reload when anything but targets changed, then the
   * target changes over the runtime API. When HAProxy refuses the new listeners, rules or group
   * settings (a port in use, say), it keeps serving its previous ones, target changes still go
   * through, and the result says why; the same configuration is tried again after RELOAD_RETRY_MS.
   */
  apply(config: LoadBalancerConfig): Promise<ApplyResult> {
    return this.#serialized(async () => {
      this.#assertRunning();
      this.#desired = config;
      // Crashed and not yet restarted: the restart brings these targets up.
      if (!this.#child) return { reloaded: false, targetErrors: [] };
      // Groups HAProxy has keep the slots they have here: a group that outgrows them gets more at
      // run time, never by a reload.
      const slots = new Map([...this.#slotsFor(config, config)].map(([id, grown]) => [id, this.#running.get(id) ?? grown]));
      const text = this.#render(config, slots).text;
      let reloaded = false;
      let refused: string | undefined;
      if (text !== this.#runningText) {
        // Targets move between applies; what HAProxy refused is the rest.
        const structure = JSON.stringify({ ...config, targetGroups: config.targetGroups.map((g) => ({ ...g, targets: [] })) });
        if (this.#refused?.structure === structure && Date.now() - this.#refused.atMs < timeouts.RELOAD_RETRY_MS) {
          refused = this.#refused.reason;
        } else {
          try {
            await this.#reload(config);
            reloaded = true;
            this.#refused = undefined;
          } catch (err) {
            if (!(err instanceof DataPlaneError)) throw err;
            refused = err.message;
            this.#refused = { structure, reason: refused, atMs: Date.now() };
          }
        }
      }
      const targetErrors = await this.#applyTargets(config);
      // What HAProxy runs now: a reload is needed next time only if something but targets changes.
      this.#runningText = this.#render(this.#loaded!, this.#running).text;
      return { reloaded, targetErrors, ...(refused !== undefined ? { refused } : {}) };
    });
  }

  /**
   * Each target of the last applied configuration, by target group id and target id, in ELB's
   * health states, from HAProxy's health checks.
   */
  async targetHealth(): Promise<Map<string, Map<string, TargetHealth>>> {
    return (await this.observe()).health;
  }

  /** Target health and traffic counters, from one `show stat` (no counters while HAProxy is down after a crash). */
  observe(): Promise<Observation> {
    return this.#serialized(async () => {
      this.#assertRunning();
      const stats = this.#child ? parseServerStats(await sendCommand(this.#files.runtimeSocket, 'show stat -1 4 -1', timeouts.COMMAND_TIMEOUT_MS)) : [];
      const byName = new Map(stats.map((s) => [`${s.backend}/${s.server}`, s]));
      const health = new Map<string, Map<string, TargetHealth>>();
      const traffic: TrafficCounters = { generation: this.#generation, groups: new Map(), retired: [...this.#retired] };
      for (const group of this.#desired?.targetGroups ?? []) {
        const backend = backendName(group.targetGroupId);
        const healths = new Map<string, TargetHealth>();
        const slots = this.#running.get(group.targetGroupId) ?? [];
        for (const target of group.targets) {
          if (!isUsableAddress(target.address)) {
            healths.set(target.targetId, ADDRESS_UNUSABLE);
            continue;
          }
          const key = `${group.targetGroupId} ${target.targetId}`;
          const slot = slots.findIndex((r) => r?.target.targetId === target.targetId);
          const running = slots[slot];
          let state = target.draining ? DRAINING : REGISTRATION_IN_PROGRESS;
          if (running) {
            const check = group.healthCheck;
            const initialChecksDue = Date.now() - running.addedAtMs >= (check.unhealthyThreshold * check.intervalSeconds + check.timeoutSeconds) * 1000;
            state = targetHealthOf(byName.get(`${backend}/${slotName(slot)}`), target.draining, this.#health.get(key), initialChecksDue);
            if ((state.State === 'healthy' || state.State === 'unhealthy') && running.twin === 'maint') {
              await this.#readyTwin(group.targetGroupId, `${backend}/${failOpenName(slot)}`, running);
            }
          }
          this.#health.set(key, state);
          healths.set(target.targetId, state);
        }
        health.set(group.targetGroupId, healths);
        traffic.groups.set(group.targetGroupId, this.#slotTraffic(group.targetGroupId, byName));
      }
      return { health, traffic };
    });
  }

  /**
   * One group's counters by slot, from `show stat` rows by `<backend>/<server>`: what the slot's
   * twin served while failing open counts as the slot's (both reach the same target), so each
   * request counts once, under its slot, and no twin shows as a server of its own.
   */
  #slotTraffic(targetGroupId: string, byName: Map<string, ServerStat>): Map<string, ServerTraffic> {
    const backend = backendName(targetGroupId);
    return new Map((this.#running.get(targetGroupId) ?? []).flatMap((_, i) => {
      const stat = byName.get(`${backend}/${slotName(i)}`);
      const twin = byName.get(`${backend}/${failOpenName(i)}`);
      return stat ? [[slotName(i), twin ? addServerTraffic(stat.traffic, twin.traffic) : stat.traffic] as const] : [];
    }));
  }

  /**
   * Readies the twin of a slot whose target was judged, and records it. A refusal is logged and
   * leaves the twin in maintenance, so the next observe tries again; an unreachable HAProxy is thrown.
   */
  async #readyTwin(targetGroupId: string, twin: string, running: RunningTarget): Promise<void> {
    try {
      await this.#command(`set server ${twin} state ready`, '');
      running.twin = 'ready';
    } catch (err) {
      if (err instanceof HaproxyCommandError && err.retryable) throw err;
      this.#options.log({ msg: 'fail-open server not readied', targetGroupId, server: twin, error: String(err), dir: this.#options.dir });
    }
  }

  /** Soft-stops HAProxy: it stops listening and finishes open requests (killed after CLOSE_GRACE_MS). */
  async close(): Promise<void> {
    if (this.#status === 'closed' || this.#status === 'closing') return this.#queue.then(() => undefined, () => undefined);
    this.#status = 'closing';
    clearTimeout(this.#restartTimer);
    await this.#queue.catch(() => undefined);
    await this.#stop('SIGUSR1', timeouts.CLOSE_GRACE_MS);
    this.#status = 'closed';
  }

  /** Stops HAProxy at once (open connections are cut). */
  destroy(): void {
    this.#status = 'closed';
    clearTimeout(this.#restartTimer);
    const child = this.#child;
    this.#child = undefined;
    if (child && child.exitCode === null && child.signalCode === null) child.kill('SIGKILL');
  }

  #assertRunning(): void {
    if (this.#status !== 'running') throw new DataPlaneError(`the data plane is ${this.#status}`);
  }

  #serialized<T>(work: () => Promise<T>): Promise<T> {
    const next = this.#queue.then(work, work);
    this.#queue = next.catch(() => undefined);
    return next;
  }

  /** The configuration text for `config` with these slots (targets added later fill free slots at run time). */
  #render(config: LoadBalancerConfig, slots: RunningTargets) {
    const targets = new Map([...slots].map(([id, s]) => [id, s.map((r) => r?.target)]));
    return renderHaproxyConfig(config, {
      files: this.#files, bindAddress: this.#options.bindAddress, slots: targets, ...(this.#options.threads ? { threads: this.#options.threads } : {}),
    });
  }

  /**
   * The slots each group of `config` gets in a configuration rendered now: the running ones (a
   * group's targets stay where they are, every slot HAProxy has keeps its name), grown to the
   * doubling capacity (slotCapacity) for them and for every target of the same group in `desired`
   * that will hold a slot once `desired` is applied.
   */
  #slotsFor(config: LoadBalancerConfig, desired: LoadBalancerConfig): RunningTargets {
    return new Map(config.targetGroups.map((group) => {
      const current = this.#running.get(group.targetGroupId) ?? [];
      const held = new Set(current.flatMap((r) => (r ? [r.target.targetId] : [])));
      const targets = desired.targetGroups.find((g) => g.targetGroupId === group.targetGroupId)?.targets ?? group.targets;
      const needed = targets.filter((t) => isUsableAddress(t.address) && (held.has(t.targetId) || !t.draining)).length;
      const capacity = slotCapacity(Math.max(current.length, needed));
      return [group.targetGroupId, [...current, ...Array<undefined>(capacity - current.length).fill(undefined)]];
    }));
  }

  #writeBodies(bodies: Map<string, string>): void {
    for (const [name, body] of bodies) writeFileSync(join(this.#files.bodyDir, name), body);
  }

  /** An HAProxy left by a previous server process (it crashed) holds our ports: stop it, and wait until it has gone. */
  async #stopOrphan(): Promise<void> {
    if (!existsSync(this.#files.pidFile)) return;
    const pid = Number(readFileSync(this.#files.pidFile, 'utf8').trim());
    let cmdline = '';
    try {
      cmdline = readFileSync(`/proc/${pid}/cmdline`, 'utf8');
    } catch { /* gone */ }
    if (pid > 0 && cmdline.includes(this.#files.config)) {
      this.#options.log({ msg: 'stopping HAProxy left by a previous run', pid, dir: this.#options.dir });
      try {
        process.kill(pid, 'SIGTERM');
      } catch { /* already gone */ }
      const deadline = Date.now() + timeouts.CLOSE_GRACE_MS;
      while (existsSync(`/proc/${pid}`) && Date.now() < deadline) await delay(timeouts.POLL_INTERVAL_MS);
    }
    rmSync(this.#files.pidFile, { force: true });
  }

  /**
   * Starts the master with `config` and waits for its worker. No slot is filled yet (targets are
   * added at run time), but every group has slots enough for its targets in `desired`, the
   * configuration they will come from.
   */
  async #launch(config: LoadBalancerConfig, desired: LoadBalancerConfig): Promise<void> {
    this.#running = new Map();
    const slots = this.#slotsFor(config, desired);
    const rendered = this.#render(config, slots);
    this.#writeBodies(rendered.bodies);
    writeFileSync(this.#files.config, rendered.text);
    rmSync(this.#files.masterSocket, { force: true });
    rmSync(this.#files.runtimeSocket, { force: true });
    this.#stderrTail = [];
    const child = spawn(this.#options.haproxyPath ?? 'haproxy',
      ['-W', '-db', '-S', `${this.#files.masterSocket},mode,600`, '-f', this.#files.config, '-p', this.#files.pidFile],
      { stdio: ['ignore', 'ignore', 'pipe'] });
    this.#child = child;
    this.starts += 1;
    child.stderr!.setEncoding('utf8').on('data', (text: string) => {
      this.#stderrTail.push(...text.split('\n').filter((l) => l.trim()));
      this.#stderrTail.splice(0, Math.max(0, this.#stderrTail.length - 20));
    });
    let gone = false;
    child.once('exit', () => { gone = true; });
    const deadline = Date.now() + timeouts.START_TIMEOUT_MS;
    for (;;) {
      if (gone) {
        this.#child = undefined;
        throw new DataPlaneError(`HAProxy did not start: ${this.#alerts()}`);
      }
      const workers = await this.#processes().catch(() => undefined);
      if (workers?.workers.length && existsSync(this.#files.runtimeSocket)) break;
      if (Date.now() > deadline) {
        child.kill('SIGKILL');
        this.#child = undefined;
        throw new DataPlaneError(`HAProxy did not start within ${timeouts.START_TIMEOUT_MS} ms: ${this.#alerts()}`);
      }
      await delay(timeouts.POLL_INTERVAL_MS);
    }
    // Only a process that served is restarted when it exits; one that never came up is an error.
    child.once('exit', (code, signal) => this.#onExit(child, code, signal));
    this.#running = slots;
    this.#loaded = config;
    this.#runningText = rendered.text;
    this.#generation += 1;
    this.#options.log({ msg: 'HAProxy started', pid: child.pid, dir: this.#options.dir });
  }

  /** HAProxy's last alerts on stderr: why it refused to start or reload. */
  #alerts(): string {
    const alerts = this.#stderrTail.filter((l) => /ALERT|error/i.test(l));
    return (alerts.length ? alerts : this.#stderrTail).slice(-5).join(' | ') || 'no output';
  }

  /** The master exits when a worker dies: everything restarts from the last applied configuration. */
  #onExit(child: ChildProcess, code: number | null, signal: NodeJS.Signals | null): void {
    if (this.#child !== child) return;
    this.#child = undefined;
    if (this.#status !== 'running') return;
    this.#options.log({ msg: 'HAProxy exited; restarting', code, signal, dir: this.#options.dir, stderr: this.#alerts() });
    this.#health.clear();
    this.#scheduleRestart();
  }

  #scheduleRestart(): void {
    this.#crashesInARow += 1;
    const backoffMs = Math.min(timeouts.RESTART_MAX_MS, timeouts.RESTART_BACKOFF_MS * 2 ** (this.#crashesInARow - 1));
    this.#restartTimer = setTimeout(() => {
      void this.#serialized(async () => {
        if (this.#status !== 'running' || this.#child || !this.#loaded || !this.#desired) return;
        await this.#launch(this.#loaded, this.#desired);
        await this.#applyTargets(this.#desired);
        this.#runningText = this.#render(this.#loaded, this.#running).text;
        this.#crashesInARow = 0;
      }).catch((err: unknown) => {
        this.#options.log({ msg: 'HAProxy restart failed', error: String(err), dir: this.#options.dir });
        if (this.#status === 'running' && !this.#child) this.#scheduleRestart();
      });
    }, backoffMs);
    this.#restartTimer.unref();
  }

  /** The master CLI's `show proc`: its reload and failure counts, and the current workers' pids. */
  async #processes(): Promise<{ reloads: number; failed: number; workers: number[] }> {
    const text = await sendCommand(this.#files.masterSocket, 'show proc', timeouts.COMMAND_TIMEOUT_MS);
    const master = /^\d+\s+master\s+(\d+)\s+\[failed:\s*(\d+)\]/m.exec(text);
    if (!master) throw new HaproxyCommandError(`unexpected 'show proc' answer: ${text.slice(0, 200)}`, 'show proc', true);
    const section = /# workers\n([\s\S]*?)(?:\n#|$)/.exec(text)?.[1] ?? '';
    const workers = [...section.matchAll(/^(\d+)\s+worker/gm)].map((m) => Number(m[1]));
    return { reloads: Number(master[1]), failed: Number(master[2]), workers };
  }

  /** Validates, saves the servers' state, and has the master reload: listeners pass to the new worker. */
  async #reload(config: LoadBalancerConfig): Promise<void> {
    const slots = this.#slotsFor(config, config);
    const rendered = this.#render(config, slots);
    this.#writeBodies(rendered.bodies);
    const candidate = `${this.#files.config}.new`;
    writeFileSync(candidate, rendered.text);
    await this.#validate(candidate);
    const state = await sendCommand(this.#files.runtimeSocket, 'show servers state', timeouts.COMMAND_TIMEOUT_MS);
    writeFileSync(this.#files.serverStateFile, state);
    // The worker's counters go with it: what it counted since the last reading is read now (only
    // what it finishes after this is not counted).
    const finalStats = parseServerStats(await sendCommand(this.#files.runtimeSocket, 'show stat -1 4 -1', timeouts.COMMAND_TIMEOUT_MS));
    const byName = new Map(finalStats.map((s) => [`${s.backend}/${s.server}`, s]));
    const final: WorkerCounters = { generation: this.#generation, groups: new Map([...this.#running.keys()].map((id) => [id, this.#slotTraffic(id, byName)])) };
    const before = await this.#processes();
    const previousText = this.#runningText;
    this.#stderrTail = [];
    renameSync(candidate, this.#files.config);
    // The master answers nothing to `reload` (HAProxy 2.6): completion is read from `show proc`.
    await sendCommand(this.#files.masterSocket, 'reload', timeouts.COMMAND_TIMEOUT_MS).catch(() => '');
    const deadline = Date.now() + timeouts.RELOAD_TIMEOUT_MS;
    for (;;) {
      await delay(timeouts.POLL_INTERVAL_MS);
      const now = await this.#processes().catch(() => undefined);
      if (now && now.failed > before.failed) {
        writeFileSync(this.#files.config, previousText);
        throw new DataPlaneError(`HAProxy refused the new configuration: ${this.#alerts()}`);
      }
      if (now?.workers.some((pid) => !before.workers.includes(pid))) break;
      if (Date.now() > deadline) {
        writeFileSync(this.#files.config, previousText);
        throw new DataPlaneError(`HAProxy did not reload within ${timeouts.RELOAD_TIMEOUT_MS} ms: ${this.#alerts()}`);
      }
    }
    this.#runningText = rendered.text;
    this.#loaded = config;
    // Target groups that went away took their servers with them; new ones start empty.
    this.#running = slots;
    this.#retired = [...this.#retired, final].slice(-RETIRED_READINGS_KEPT);
    this.#generation += 1;
    this.#options.log({ msg: 'HAProxy reloaded', dir: this.#options.dir });
  }

  #validate(path: string): Promise<void> {
    return new Promise((resolve, reject) => {
      execFile(this.#options.haproxyPath ?? 'haproxy', ['-c', '-q', '-f', path], { timeout: timeouts.VALIDATE_TIMEOUT_MS }, (err, _stdout, stderr) => {
        if (!err) return resolve();
        const alerts = stderr.split('\n').filter((l) => /ALERT/.test(l)).slice(0, 5).join(' | ');
        reject(new DataPlaneError(`HAProxy refused the configuration: ${alerts || stderr.trim() || err.message}`));
      });
    });
  }

  /** Brings the running slots to the configuration's targets over the runtime API. */
  async #applyTargets(config: LoadBalancerConfig): Promise<ApplyResult['targetErrors']> {
    const errors: ApplyResult['targetErrors'] = [];
    for (const group of config.targetGroups) {
      const slots = this.#running.get(group.targetGroupId);
      if (!slots) continue;
      const backend = backendName(group.targetGroupId);
      const wanted = new Map(group.targets.filter((t) => isUsableAddress(t.address)).map((t) => [t.targetId, t]));
      const attempt = async (targetId: string, work: () => Promise<void>) => {
        try {
          await work();
        } catch (err) {
          if (err instanceof HaproxyCommandError && err.retryable) throw err;
          errors.push({ targetGroupId: group.targetGroupId, targetId, error: err instanceof Error ? err.message : String(err) });
        }
      };
      for (const [i, running] of slots.entries()) {
        if (!running) continue;
        const { target: current, addedAtMs, twin } = running;
        const target = wanted.get(current.targetId);
        const server = `${backend}/${slotName(i)}`;
        const twinServer = `${backend}/${failOpenName(i)}`;
        if (!target || target.address !== current.address || target.port !== current.port) {
          await attempt(current.targetId, async () => {
            await this.#emptySlot(server, twinServer);
            slots[i] = undefined;
            this.#health.delete(`${group.targetGroupId} ${current.targetId}`);
          });
        } else if (target.draining !== current.draining) {
          await attempt(current.targetId, async () => {
            const state = target.draining ? 'drain' : 'ready';
            // The twin first: a draining target must not be left reachable through it.
            if (twin !== 'maint') await this.#command(`set server ${twinServer} state ${state}`, '');
            await this.#command(`set server ${server} state ${state}`, '');
            slots[i] = { target, addedAtMs, twin: twin === 'maint' ? 'maint' : state };
          });
        }
      }
      for (const [targetId, target] of wanted) {
        // A target deregistered before it was ever added has nothing to drain.
        if (target.draining || slots.some((r) => r?.target.targetId === targetId)) continue;
        await attempt(targetId, async () => {
          let free = slots.indexOf(undefined);
          if (free < 0) {
            free = slots.length;
            await this.#addSlot(backend, group, free);
            slots.push(undefined);
          }
          await this.#fillSlot(`${backend}/${slotName(free)}`, `${backend}/${failOpenName(free)}`, target);
          slots[free] = { target, addedAtMs: Date.now(), twin: 'maint' };
        });
      }
    }
    return errors;
  }

  /**
   * Puts a target in a free slot; it receives nothing until its health checks pass the healthy
   * threshold. Its twin gets the same address and stays in maintenance until the target is judged.
   */
  async #fillSlot(server: string, twin: string, target: TargetConfig): Promise<void> {
    await this.#command(`set server ${server} addr ${target.address} port ${target.port}`, /changed|no need to change/);
    try {
      await this.#command(`set server ${twin} addr ${target.address} port ${target.port}`, /changed|no need to change/);
      await this.#command(`set weight ${server} 0`, '');
      await this.#command(`set server ${server} state ready`, '');
      // Leaving maintenance counts a checked server as up; marking it down makes it earn that.
      await this.#command(`set server ${server} health down`, '');
      await this.#command(`set weight ${server} ${TARGET_WEIGHT}`, '');
    } catch (err) {
      await this.#emptySlot(server, twin).catch(() => undefined);
      throw err;
    }
  }

  /**
   * Gives a group whose slots are all taken one more, slot `index` and its twin, at run time: free
   * (the configuration's arguments for a free slot, see serverArguments: in maintenance, no
   * address), with the slot's health checks enabled (`add server` leaves them off; they run once
   * the slot is filled and readied, as a configured slot's do). All or nothing: when HAProxy refuses
   * a step, what was added is deleted again.
   */
  async #addSlot(backend: string, group: TargetGroupConfig, index: number): Promise<void> {
    const added: string[] = [];
    try {
      for (const [name, role] of [[slotName(index), 'slot'], [failOpenName(index), 'twin']] as const) {
        await this.#command(`add server ${backend}/${name} ${serverArguments(group, role, undefined)}`, 'New server registered.');
        added.push(`${backend}/${name}`);
      }
      await this.#command(`enable health ${backend}/${slotName(index)}`, '');
    } catch (err) {
      for (const server of added) await this.#command(`del server ${server}`, 'Server deleted.').catch(() => undefined);
      throw err;
    }
  }

  /** Empties a slot and its twin: maintenance (no traffic, no checks), their open sessions cut. */
  async #emptySlot(server: string, twin: string): Promise<void> {
    for (const name of [twin, server]) {
      await this.#command(`set server ${name} state maint`, '');
      await this.#command(`shutdown sessions server ${name}`, '');
    }
  }

  #command(command: string, expected: string | RegExp): Promise<void> {
    return expectAnswer(this.#files.runtimeSocket, command, expected, timeouts.COMMAND_TIMEOUT_MS);
  }

  async #stop(signal: NodeJS.Signals, graceMs: number): Promise<void> {
    const child = this.#child;
    if (!child || child.exitCode !== null || child.signalCode !== null) return;
    const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
    child.kill(signal);
    const timer = setTimeout(() => child.kill('SIGKILL'), graceMs);
    await exited;
    clearTimeout(timer);
    rmSync(this.#files.pidFile, { force: true });
  }
}

const delay = (ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms));
