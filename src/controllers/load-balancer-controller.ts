/**
 * The load-balancer controller: runs one HAProxy data plane per load balancer and keeps it at what
 * the elbv2 records say; writes back what only it observes (each load balancer's State, each
 * target's health, the end of a deregistered target's draining).
 *
 * Level-triggered: any elbv2 change, and a periodic health poll, schedule one sync; a sync reads
 * every elbv2 record afresh, builds each load balancer's configuration (pure,
 * load-balancer-plan.ts), applies it to its data plane (which reloads only when more than targets
 * changed), reads the data planes' health and writes the difference. Syncs never overlap; changes
 * during one schedule the next.
 */
import { createHash } from 'node:crypto';
import { rmSync } from 'node:fs';
import { join } from 'node:path';
import {
  deleteDrainedTarget, readLoadBalancingSnapshot, writeLoadBalancerState, writeTargetHealth,
  type DomainContext, type LoadBalancerRecord,
} from '../domain/index.js';
import { HaproxyLoadBalancer, type LoadBalancerConfig, type TargetHealth } from '../lb/index.js';
import { buildLoadBalancerConfig, planTargets } from './load-balancer-plan.js';

export interface LoadBalancerControllerOptions {
  ctx: DomainContext;
  /** Where each load balancer's HAProxy files go, one short subdirectory each. */
  dataDir: string;
  /** The address listeners bind. */
  bindAddress: string;
  /** HAProxy worker threads per load balancer; one per CPU when absent. */
  threads?: number;
  /** How often target health is read from the data planes (and every record looked at again). */
  healthPollIntervalMs: number;
  /** A load balancer whose data plane failed to start is retried after this. */
  retryFailedMs: number;
}

interface Managed {
  dataPlane: HaproxyLoadBalancer;
  /** The configuration last applied, as JSON: an unchanged one is not applied again... */
  appliedJson?: string;
  /** ...unless HAProxy refused it (the data plane paces its retries). */
  refused?: string;
}

export class LoadBalancerController {
  readonly #options: LoadBalancerControllerOptions;
  readonly #managed = new Map<string, Managed>();
  /** Load balancers whose data plane could not start: when to try again. */
  readonly #startRetryAtMs = new Map<string, number>();
  #unwatch: (() => void) | undefined;
  #pollTimer: NodeJS.Timeout | undefined;
  #wakeTimer: NodeJS.Timeout | undefined;
  #running: Promise<void> | undefined;
  #again = false;
  #closed = false;

  constructor(options: LoadBalancerControllerOptions) {
    this.#options = options;
  }

  start(): void {
    this.#unwatch = this.#options.ctx.store.watch('elbv2/', () => this.schedule());
    this.#pollTimer = setInterval(() => this.schedule(), this.#options.healthPollIntervalMs);
    this.#pollTimer.unref();
    this.schedule();
  }

  /** Asks for a sync soon; asks while one runs make exactly one more. */
  schedule(): void {
    if (this.#closed) return;
    if (this.#running) {
      this.#again = true;
      return;
    }
    this.#running = new Promise<void>((resolve) => setImmediate(resolve))
      .then(() => this.sync())
      .catch((err: unknown) => this.#options.ctx.log({ msg: 'load-balancer sync failed', error: err instanceof Error ? err.stack ?? err.message : String(err) }))
      .finally(() => {
        this.#running = undefined;
        if (this.#again) {
          this.#again = false;
          this.schedule();
        }
      });
  }

  /** One reconcile of every load balancer (public for tests; call it only when no scheduled one runs). */
  async sync(): Promise<void> {
    const { ctx } = this.#options;
    const snapshot = await readLoadBalancingSnapshot(ctx);
    const nowMs = ctx.nowMs();
    const present = new Set(snapshot.loadBalancers.map((e) => e.value.LoadBalancerArn));
    for (const [arn, managed] of this.#managed) {
      if (present.has(arn)) continue;
      this.#managed.delete(arn);
      await managed.dataPlane.close();
      rmSync(this.#dirOf(arn), { recursive: true, force: true });
    }
    for (const arn of this.#startRetryAtMs.keys()) if (!present.has(arn)) this.#startRetryAtMs.delete(arn);

    const health = new Map<string, Map<string, TargetHealth>>();
    const inUse = new Set<string>();
    const failed = new Set<string>();
    for (const entry of snapshot.loadBalancers) {
      const loadBalancer = entry.value;
      const { config, unsupported } = buildLoadBalancerConfig(snapshot, loadBalancer);
      for (const g of config.targetGroups) inUse.add(g.targetGroupId);
      const state = await this.#converge(loadBalancer, config, unsupported, nowMs);
      await writeLoadBalancerState(ctx, entry, state);
      const managed = this.#managed.get(loadBalancer.LoadBalancerArn);
      if (!managed) {
        for (const g of config.targetGroups) if (state.Code === 'failed') failed.add(g.targetGroupId);
        continue;
      }
      try {
        for (const [group, targets] of await managed.dataPlane.targetHealth()) health.set(group, new Map([...(health.get(group) ?? []), ...targets]));
      } catch (err) {
        ctx.log({ msg: 'target health read failed', loadBalancerArn: loadBalancer.LoadBalancerArn, error: String(err) });
      }
    }

    const plan = planTargets({ targets: snapshot.targets, targetGroups: snapshot.targetGroups, health, inUse, failed, nowMs });
    for (const { entry, health: next } of plan.healthWrites) await writeTargetHealth(ctx, entry, { ...next });
    for (const entry of plan.deletions) {
      if (await deleteDrainedTarget(ctx, entry)) ctx.log({ msg: 'target drained', targetGroupArn: entry.value.TargetGroupArn, id: entry.value.Id, port: entry.value.Port });
    }
    clearTimeout(this.#wakeTimer);
    if (plan.wakeAfterMs !== undefined && !this.#closed) {
      this.#wakeTimer = setTimeout(() => this.schedule(), plan.wakeAfterMs);
      this.#wakeTimer.unref();
    }
  }

  /** Starts or updates one load balancer's data plane; answers the State to record. */
  async #converge(loadBalancer: LoadBalancerRecord, config: LoadBalancerConfig, unsupported: string[], nowMs: number): Promise<LoadBalancerRecord['State']> {
    const arn = loadBalancer.LoadBalancerArn;
    const json = JSON.stringify(config);
    if (unsupported.length) this.#options.ctx.log({ msg: 'load balancer has parts the data plane cannot serve', loadBalancerArn: arn, unsupported });
    let managed = this.#managed.get(arn);
    if (!managed) {
      if ((this.#startRetryAtMs.get(arn) ?? 0) > nowMs) return loadBalancer.State;
      const dataPlane = new HaproxyLoadBalancer({
        dir: this.#dirOf(arn), bindAddress: this.#options.bindAddress, log: this.#options.ctx.log,
        ...(this.#options.threads ? { threads: this.#options.threads } : {}),
      });
      try {
        await dataPlane.start(config);
      } catch (err) {
        dataPlane.destroy();
        this.#startRetryAtMs.set(arn, nowMs + this.#options.retryFailedMs);
        return { Code: 'failed', Reason: err instanceof Error ? err.message : String(err) };
      }
      this.#startRetryAtMs.delete(arn);
      managed = { dataPlane, appliedJson: json };
      this.#managed.set(arn, managed);
      this.#options.ctx.log({ msg: 'load balancer data plane started', loadBalancerArn: arn, pid: dataPlane.pid });
      return { Code: 'active' };
    }
    if (managed.appliedJson !== json || managed.refused !== undefined) {
      const result = await managed.dataPlane.apply(config);
      for (const e of result.targetErrors) this.#options.ctx.log({ msg: 'data plane refused a target', loadBalancerArn: arn, ...e });
      managed.appliedJson = json;
      if (result.refused === undefined) delete managed.refused;
      else managed.refused = result.refused;
    }
    // A refused configuration leaves HAProxy serving the previous one: the load balancer works,
    // but not as described, so it says so.
    return managed.refused === undefined ? { Code: 'active' } : { Code: 'failed', Reason: managed.refused };
  }

  #dirOf(loadBalancerArn: string): string {
    return join(this.#options.dataDir, createHash('sha256').update(loadBalancerArn).digest('hex').slice(0, 12));
  }

  /** Stops watching, waits for a sync in progress, and soft-stops every data plane. */
  async close(): Promise<void> {
    this.#closed = true;
    this.#unwatch?.();
    clearInterval(this.#pollTimer);
    clearTimeout(this.#wakeTimer);
    await this.#running;
    await Promise.all([...this.#managed.values()].map((m) => m.dataPlane.close()));
    this.#managed.clear();
  }
}
