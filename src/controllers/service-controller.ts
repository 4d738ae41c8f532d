/**
 * The service scheduler: keeps every service at its desired count and rolls its deployments.
 *
 * Level-triggered (STYLE rule 2): store changes only enqueue a service's key; `sync(key)` reads the
 * service, its tasks and its instances afresh, asks the pure planner (service-plan.ts) what to do,
 * and applies that: tasks stopped, tasks launched, the service's counts, deployments and events
 * written with the revision that was read. A sync that finds nothing to do writes nothing, so a
 * write of its own that wakes it again settles at once. Time-based conditions (warm-up, grace
 * periods, start back-off) come back as a wake-up, and every service is also looked at on a slow
 * periodic resync.
 */
import {
  deregisterServiceTargets, keys, launchServiceTasks, newServiceEventId, readServiceState, registerServiceTargets, stopServiceTask, taskKeyOf,
  writeServiceStatus, type DomainContext, type ServiceRecord, type TaskRecord,
} from '../domain/index.js';
import { describeUnplaceable } from '../scheduler/index.js';
import { newDeploymentId } from '../model/index.js';
import { planService, withEvents, type ServicePlanOptions } from './service-plan.js';

export interface ServiceControllerOptions extends ServicePlanOptions {
  ctx: DomainContext;
  /** Every service is synced at least this often, whatever happens. */
  resyncIntervalMs: number;
  /** How many services are synced at once. */
  concurrency: number;
  rng?: () => number;
}

/** At most this many task ids in one "has started" / "has stopped" event. */
const EVENT_TASK_IDS = 10;
/** A failing sync is retried after this, doubling per consecutive failure up to the cap. */
const RETRY_BASE_MS = 200;
const RETRY_MAX_MS = 30_000;

export class ServiceController {
  readonly #options: ServiceControllerOptions;
  readonly #queued = new Set<string>();
  readonly #active = new Map<string, Promise<void>>();
  /** Keys that changed while their sync ran: synced again once it ends. */
  readonly #dirty = new Set<string>();
  readonly #wakeTimers = new Map<string, NodeJS.Timeout>();
  readonly #failures = new Map<string, number>();
  #unwatch: (() => void)[] = [];
  #resyncTimer: NodeJS.Timeout | undefined;
  #pumpScheduled = false;
  /** Clusters whose instances changed in this loop turn; their services are enqueued once, in the check phase. */
  readonly #changedClusters = new Set<string>();
  #closed = false;

  constructor(options: ServiceControllerOptions) {
    this.#options = options;
  }

  start(): void {
    const { store } = this.#options.ctx;
    this.#unwatch.push(store.watch('ecs/services/', (e) => { if (e.type === 'put') this.enqueue(e.key); }));
    this.#unwatch.push(store.watch('ecs/tasks/', (e) => {
      if (e.type !== 'put') return;
      const group = (e.value as { group?: string }).group;
      if (!group?.startsWith('service:')) return;
      const cluster = e.key.split('/')[2]!;
      this.enqueue(keys.service(cluster, group.slice('service:'.length)));
    }));
    this.#unwatch.push(store.watch('ecs/instances/', (e) => { this.#instancesChanged(e.key.split('/')[2]!); }));
    // A service task's target changing health (written by the load-balancer controller) may make
    // the task healthy in its deployment, or due for replacement.
    this.#unwatch.push(store.watch('elbv2/targets/', (e) => {
      const taskArn = e.type === 'put' ? (e.value as { taskArn?: string }).taskArn : undefined;
      if (taskArn) void this.#enqueueServiceOfTask(taskArn);
    }));
    this.#resyncTimer = setInterval(() => { void this.#enqueueAll(); }, this.#options.resyncIntervalMs);
    this.#resyncTimer.unref();
    void this.#enqueueAll();
  }

  /** Asks for `serviceKey` to be synced soon; repeated asks before it runs coalesce. */
  enqueue(serviceKey: string): void {
    if (this.#closed) return;
    if (this.#active.has(serviceKey)) { this.#dirty.add(serviceKey); return; }
    this.#queued.add(serviceKey);
    this.#schedulePump();
  }

  /** Stops watching and waits for the syncs in progress. */
  async close(): Promise<void> {
    this.#closed = true;
    for (const u of this.#unwatch) u();
    clearInterval(this.#resyncTimer);
    for (const t of this.#wakeTimers.values()) clearTimeout(t);
    this.#queued.clear();
    await Promise.all(this.#active.values());
  }

  /**
   * Starts queued syncs once the event loop has handled the I/O at hand (check phase). Every agent
   * report is a store change that enqueues its service, and a sync reads all of the service's
   * tasks: started at once, each socket read would cost a full sync; deferred, the reports of one
   * loop turn share one.
   */
  #schedulePump(): void {
    if (this.#pumpScheduled) return;
    this.#pumpScheduled = true;
    setImmediate(() => {
      this.#pumpScheduled = false;
      this.#pump();
    });
  }

  #pump(): void {
    for (const key of this.#queued) {
      if (this.#active.size >= this.#options.concurrency) return;
      this.#queued.delete(key);
      const run = this.sync(key)
        .then(() => { this.#failures.delete(key); })
        .catch((err: unknown) => {
          const failures = (this.#failures.get(key) ?? 0) + 1;
          this.#failures.set(key, failures);
          this.#options.ctx.log({ msg: 'service sync failed', serviceKey: key, error: err instanceof Error ? err.stack ?? err.message : String(err) });
          this.#wakeAfter(key, Math.min(RETRY_MAX_MS, RETRY_BASE_MS * 2 ** (failures - 1)));
        })
        .finally(() => {
          this.#active.delete(key);
          if (this.#dirty.delete(key)) this.#queued.add(key);
          this.#schedulePump();
        });
      this.#active.set(key, run);
    }
  }

  /** One reconcile of one service (public for tests): read, plan, apply. */
  async sync(serviceKey: string): Promise<void> {
    const { ctx } = this.#options;
    const state = await readServiceState(ctx, serviceKey);
    if (!state) return;
    const service = state.entry.value;
    const nowMs = ctx.nowMs();
    const plan = planService({
      service, tasks: state.tasks, instances: state.instances, healthChecked: state.healthChecked,
      eligibleInstanceArns: state.eligibleInstanceArns, nowMs,
      targetGroups: state.targetGroups, targets: state.targets, intendedTargets: state.intendedTargets,
      ids: { deployment: newDeploymentId, event: newServiceEventId },
    }, this.#options);

    const events: string[] = [];
    for (const s of plan.stops) await stopServiceTask(ctx, s.taskArn, s.reason, s.lost);
    for (const ids of chunks(plan.stops.map((s) => idOf(s.taskArn)))) {
      events.push(`(service ${service.serviceName}) has stopped ${ids.length} running tasks: ${ids.map((id) => `(task ${id})`).join(' ')}.`);
    }

    const clusterName = serviceKey.split('/')[2]!;
    for (const start of plan.starts) {
      const { tasks, failures } = await launchServiceTasks(ctx, {
        clusterName, serviceName: service.serviceName, deploymentId: start.deploymentId, taskDefinition: start.taskDefinition,
        count: start.count, ...(start.instanceArns ? { instanceArns: start.instanceArns } : {}),
        placementStrategy: service.placementStrategy ?? [], placementConstraints: service.placementConstraints ?? [],
      }, this.#options.rng);
      for (const ids of chunks(tasks.map((t) => idOf(t.taskArn)))) {
        events.push(`(service ${service.serviceName}) has started ${ids.length} tasks: ${ids.map((id) => `(task ${id})`).join(' ')}.`);
      }
      if (tasks.length < start.count) {
        events.push(describeUnplaceable(service.serviceName, failures));
        // Capacity may free up without any change to this service: look again shortly.
        this.#wakeAfter(serviceKey, 5_000);
      }
    }

    let next: ServiceRecord | undefined = plan.service;
    if (events.length > 0) next = withEvents(next ?? service, events, nowMs, newServiceEventId);
    if (next && next !== service && !(await writeServiceStatus(ctx, state.entry, next))) {
      this.enqueue(serviceKey);
      return;
    }
    // Only once the record holds which tasks drain: a later sync then stops each after its delay,
    // and one that finds a draining task's targets still registered deregisters them again.
    if (plan.deregistrations.length > 0) await deregisterServiceTargets(ctx, plan.deregistrations);
    if (plan.registrations.length > 0) await registerServiceTargets(ctx, plan.registrations);
    if (plan.wakeAfterMs !== undefined) this.#wakeAfter(serviceKey, plan.wakeAfterMs);
  }

  #wakeAfter(key: string, ms: number): void {
    if (this.#closed) return;
    clearTimeout(this.#wakeTimers.get(key));
    const timer = setTimeout(() => { this.#wakeTimers.delete(key); this.enqueue(key); }, ms);
    timer.unref();
    this.#wakeTimers.set(key, timer);
  }

  /**
   * Every task placed or stopped rewrites its instance's resources, so a burst of reports is a
   * burst of instance writes: the cluster's services are listed once per loop turn, not per write.
   */
  #instancesChanged(clusterName: string): void {
    if (this.#closed) return;
    if (this.#changedClusters.size === 0) {
      setImmediate(() => {
        const clusters = [...this.#changedClusters];
        this.#changedClusters.clear();
        for (const c of clusters) void this.#enqueueCluster(c);
      });
    }
    this.#changedClusters.add(clusterName);
  }

  async #enqueueServiceOfTask(taskArn: string): Promise<void> {
    try {
      const key = taskKeyOf(taskArn);
      const group = key ? (await this.#options.ctx.store.get<TaskRecord>(key))?.value.group : undefined;
      if (key && group?.startsWith('service:')) this.enqueue(keys.service(key.split('/')[2]!, group.slice('service:'.length)));
    } catch (err) {
      this.#options.ctx.log({ msg: 'service enqueue failed', taskArn, error: String(err) });
    }
  }

  async #enqueueCluster(clusterName: string): Promise<void> {
    try {
      for (const e of await this.#options.ctx.store.list(keys.servicesOf(clusterName))) this.enqueue(e.key);
    } catch (err) {
      this.#options.ctx.log({ msg: 'service enqueue failed', clusterName, error: String(err) });
    }
  }

  async #enqueueAll(): Promise<void> {
    try {
      for (const e of await this.#options.ctx.store.list('ecs/services/')) {
        if ((e.value as { status?: string }).status !== 'INACTIVE') this.enqueue(e.key);
      }
    } catch (err) {
      this.#options.ctx.log({ msg: 'service resync failed', error: String(err) });
    }
  }
}

/**
 * Task ids in groups of at most 10, one event each, as ECS's scheduler starts and stops tasks in
 * batches: a service of thousands then keeps its 100 events small instead of one event naming all.
 */
function chunks(ids: string[]): string[][] {
  const out: string[][] = [];
  for (let i = 0; i < ids.length; i += EVENT_TASK_IDS) out.push(ids.slice(i, i + EVENT_TASK_IDS));
  return out;
}

function idOf(arn: string): string {
  return arn.slice(arn.lastIndexOf('/') + 1);
}
