/**
 * The service scheduler's decision, as a pure function: one snapshot of a service, its tasks and
 * its cluster's instances, and the time, in; the tasks to start and stop and the service record
 * to write, out. It never reads the store or the clock, so each rule below is tested on its own
 * and running it twice on the same snapshot decides the same thing (STYLE rule 1).
 *
 * ECS's rules it follows (ECS API reference, DeploymentConfiguration and
 * ServiceDeploymentCircuitBreaker; developer guide, rolling update and service throttle logic):
 * - at most floor(desiredCount × maximumPercent / 100) tasks RUNNING or PENDING, and at least
 *   ceil(desiredCount × minimumHealthyPercent / 100) healthy ones while old tasks are stopped;
 * - a task counts as healthy when every essential container with a health check is HEALTHY, or,
 *   when none has one, 40 seconds after it reached RUNNING;
 * - a task whose essential container is UNHEALTHY after healthCheckGracePeriodSeconds is replaced;
 * - the circuit breaker fails a deployment after ceil(0.5 × desiredCount) failed tasks, clamped
 *   to [3, 200], and rolls back to the last completed deployment when asked to;
 * - tasks that keep failing to start are retried with a growing delay, up to 15 minutes.
 * Load balancing (ECS's service load balancing): every RUNNING task is registered in each target
 * group of its own deployment's loadBalancers (a changed configuration is a new deployment, whose
 * new tasks take the new groups while the old tasks keep theirs until they are retired, as ECS's
 * UpdateService describes); such a task counts as healthy once all its targets are
 * healthy (and its checked containers HEALTHY; ELB's checks replace the 40 s warm-up); one whose
 * target is unhealthy after healthCheckGracePeriodSeconds is replaced; and a task the scheduler
 * stops is first deregistered and stopped only once the target group's deregistration delay has
 * passed (the tasks draining are kept in the service record, so the choice holds across syncs).
 * Instance loss (Wharf's addition): tasks on an instance whose agent has been gone longer than a
 * grace are written STOPPED here and replaced elsewhere; the agent, if it comes back, stops their
 * containers because they are no longer in its manifest.
 */
import {
  deploymentLoadBalancers, type ContainerInstanceRecord, type DeploymentRecord, type ServiceRecord, type ServiceTarget, type TargetRecord,
  type TaskRecord,
} from '../domain/index.js';

export interface ServicePlanOptions {
  /** ECS counts a task without health checks as healthy this long after RUNNING (40 s). */
  taskReadyDelayMs: number;
  /** How long an instance's agent may be gone before its service tasks are replaced. */
  instanceLossGraceMs: number;
}

export interface ServiceSnapshot {
  service: ServiceRecord;
  /** Every task of the service still in the store, STOPPED ones included. */
  tasks: readonly TaskRecord[];
  /** The cluster's container instances. */
  instances: readonly ContainerInstanceRecord[];
  /** Task definition ARN → names of its essential containers that define a health check. */
  healthChecked: ReadonlyMap<string, ReadonlySet<string>>;
  /** Instances that meet the service's memberOf constraints (DAEMON places one task on each). */
  eligibleInstanceArns: ReadonlySet<string>;
  nowMs: number;
  /** The service's target groups that exist (current and retired), with their deregistration delays. */
  targetGroups?: ReadonlyMap<string, { deregistrationDelayMs: number }>;
  /** Registrations of the service's tasks, each with the health ELB answers for it. */
  targets?: readonly TargetRecord[];
  /** Task ARN → the registrations each RUNNING task should have under its deployment's loadBalancers. */
  intendedTargets?: ReadonlyMap<string, readonly ServiceTarget[]>;
  /** Fresh ids, the only source of novelty a plan has (deployments on rollback, events). */
  ids: { deployment(): string; event(): string };
}

export interface TaskStop {
  taskArn: string;
  reason: string;
  /**
   * The task's agent is gone: nobody will report it stopped, so it is written STOPPED at once and
   * its resources given back.
   */
  lost: boolean;
}

export interface TaskStart {
  deploymentId: string;
  taskDefinition: string;
  count: number;
  /** DAEMON: the instances to place on, one task each. REPLICA: placement chooses. */
  instanceArns?: string[];
}

/** One registration of one task, as the plan names it for deregistration. */
export type TargetRef = Pick<ServiceTarget, 'TargetGroupArn' | 'Id' | 'Port' | 'taskArn'>;

export interface ServicePlan {
  starts: TaskStart[];
  stops: TaskStop[];
  /** Targets to register: RUNNING tasks' registrations that are missing. */
  registrations: ServiceTarget[];
  /**
   * Targets to deregister (they then drain): those of tasks draining, stopping or stopped, and
   * those their deployment's loadBalancers do not name. Applied once the service record is written.
   */
  deregistrations: TargetRef[];
  /** The service record to write, or undefined when nothing about it changed. */
  service: ServiceRecord | undefined;
  /** Run again after this long even if nothing changes (a delay or grace is running out). */
  wakeAfterMs: number | undefined;
}

/** ECS's circuit-breaker threshold: half the desired count, at least 3, at most 200. */
export function circuitBreakerThreshold(desiredCount: number): number {
  return Math.min(200, Math.max(3, Math.ceil(0.5 * desiredCount)));
}

/** The delay before the next start after `failures` consecutive failed starts (ECS: up to 15 min). */
export function startBackoffMs(failures: number): number {
  if (failures < 3) return 0;
  return Math.min(15 * 60_000, 5_000 * 2 ** (failures - 3));
}

const MAX_EVENTS = 100;
/** ECS repeats an unchanged event (such as "steady state") only after 6 hours. */
const EVENT_REPEAT_MS = 6 * 60 * 60_000;

type Health = 'healthy' | 'starting' | 'unhealthy';

export function planService(snap: ServiceSnapshot, options: ServicePlanOptions): ServicePlan {
  const { service, nowMs } = snap;
  const name = service.serviceName;
  const instancesByArn = new Map(snap.instances.map((i) => [i.containerInstanceArn, i]));
  const wake = new Wake();
  const events: string[] = [];
  const stops: TaskStop[] = [];
  const stopping = new Set<string>();
  const stop = (t: TaskRecord, reason: string, lost = false) => {
    if (stopping.has(t.taskArn)) return;
    stopping.add(t.taskArn);
    stops.push({ taskArn: t.taskArn, reason, lost });
  };

  const targetGroups = snap.targetGroups ?? new Map<string, { deregistrationDelayMs: number }>();
  const targets = snap.targets ?? [];
  const intended = snap.intendedTargets ?? new Map<string, readonly ServiceTarget[]>();
  // Tasks whose targets drain before they are stopped, by task ARN: read from the service record
  // (draining began in an earlier sync), and added to by retire() below.
  const draining = new Map(Object.entries(service.drainingTasks ?? {}));
  const drainStarted: string[] = [];
  const registeredTargetsOf = (taskArn: string) => targets.filter((x) => x.taskArn === taskArn && x.deregisteredAt === undefined);
  /** Stops a task the scheduler no longer wants; one with registered targets drains first. */
  const retire = (t: TaskRecord, reason: string) => {
    if (stopping.has(t.taskArn) || draining.has(t.taskArn)) return;
    if (registeredTargetsOf(t.taskArn).length === 0) return stop(t, reason);
    stopping.add(t.taskArn);
    draining.set(t.taskArn, { reason, since: nowMs / 1000 });
    drainStarted.push(t.taskArn);
  };

  // Tasks the scheduler still owns: not STOPPED, not already asked to stop, not draining.
  const notStopped = snap.tasks.filter((t) => t.lastStatus !== 'STOPPED');
  const live = notStopped.filter((t) => t.desiredStatus === 'RUNNING' && !draining.has(t.taskArn));

  /** The state of a RUNNING task's targets, or undefined when it should have none. */
  const targetStateOf = (t: TaskRecord): { health: Health; unhealthy?: TargetRecord } | undefined => {
    const wanted = intended.get(t.taskArn);
    if (!wanted || wanted.length === 0) return undefined;
    let allHealthy = true;
    for (const w of wanted) {
      const r = registeredTargetsOf(t.taskArn).find((x) => sameTarget(x, w));
      if (r?.health.State === 'unhealthy') return { health: 'unhealthy', unhealthy: r };
      if (r?.health.State !== 'healthy') allHealthy = false;
    }
    return { health: allHealthy ? 'healthy' : 'starting' };
  };
  const containerHealthOf = (t: TaskRecord): Health => {
    if (t.lastStatus !== 'RUNNING' || t.startedAt === undefined) return 'starting';
    const checked = snap.healthChecked.get(t.taskDefinitionArn);
    if (checked && checked.size > 0) {
      if (t.healthStatus === 'HEALTHY') return 'healthy';
      if (t.healthStatus === 'UNHEALTHY') return 'unhealthy';
      return 'starting';
    }
    if (targetStateOf(t)) return 'healthy'; // the load balancer's checks judge it instead of the warm-up delay
    const readyAt = t.startedAt * 1000 + options.taskReadyDelayMs;
    if (readyAt <= nowMs) return 'healthy';
    wake.at(readyAt - nowMs);
    return 'starting';
  };
  const healthOf = (t: TaskRecord): Health => {
    const container = containerHealthOf(t);
    const target = t.lastStatus === 'RUNNING' ? targetStateOf(t) : undefined;
    if (!target) return container;
    if (container === 'unhealthy' || target.health === 'unhealthy') return 'unhealthy';
    return container === 'healthy' && target.health === 'healthy' ? 'healthy' : 'starting';
  };

  // 1. Tasks whose instance is gone or whose agent has been away past the grace, those already
  //    asked to stop included: nobody is left to report them STOPPED.
  for (const t of notStopped) {
    const instance = instancesByArn.get(t.containerInstanceArn);
    if (!instance || instance.status === 'INACTIVE') {
      stop(t, `Task stopped because its container instance ${idOf(t.containerInstanceArn)} was deregistered.`, true);
      continue;
    }
    if (!instance.agentConnected) {
      const goneAtMs = (instance.agentDisconnectedAt ?? instance.registeredAt ?? 0) * 1000;
      const dueAt = goneAtMs + options.instanceLossGraceMs;
      if (dueAt <= nowMs) {
        stop(t, `Task stopped because the agent on container instance ${idOf(t.containerInstanceArn)} stopped responding.`, true);
      } else {
        wake.at(dueAt - nowMs);
      }
    }
  }

  // 1b. Tasks whose targets have drained: stopped now, for the reason draining began with. Ready
  //     once every target is deregistered and its group's deregistration delay has passed.
  for (const t of notStopped) {
    const d = draining.get(t.taskArn);
    if (!d || stopping.has(t.taskArn) || t.desiredStatus === 'STOPPED') continue;
    const mine = targets.filter((x) => x.taskArn === t.taskArn);
    const delayOf = (x: TargetRecord) => targetGroups.get(x.TargetGroupArn)?.deregistrationDelayMs ?? 0;
    const readyAt = Math.max(d.since * 1000, ...mine.map((x) => (x.deregisteredAt ?? d.since) * 1000 + delayOf(x)));
    if (mine.every((x) => x.deregisteredAt !== undefined) && readyAt <= nowMs) stop(t, d.reason);
    else wake.at(readyAt - nowMs);
  }

  // 2. Tasks whose essential containers fail their health checks, or whose target fails the load
  //    balancer's, once the grace period is over.
  const graceMs = (service.healthCheckGracePeriodSeconds ?? 0) * 1000;
  for (const t of live) {
    if (stopping.has(t.taskArn)) continue;
    const containerFailed = containerHealthOf(t) === 'unhealthy';
    const failedTarget = containerFailed ? undefined : targetStateOf(t)?.unhealthy;
    if (!containerFailed && !failedTarget) continue;
    const graceEndsAt = (t.startedAt ?? 0) * 1000 + graceMs;
    if (graceEndsAt > nowMs) {
      wake.at(graceEndsAt - nowMs);
    } else if (failedTarget) {
      retire(t, `${ELB_HEALTH_FAILURE} (target-group ${failedTarget.TargetGroupArn})`);
      const why = failedTarget.health.Description ?? failedTarget.health.Reason ?? 'Health checks failed';
      // ECS names an instance target by its instance and port, an ip target by its task.
      const who = failedTarget.Id === failedTarget.address ? `(task ${idOf(t.taskArn)})` : `(instance ${failedTarget.Id}) (port ${failedTarget.Port})`;
      events.push(`(service ${name}) ${who} is unhealthy in (target-group ${failedTarget.TargetGroupArn}) due to (reason ${why}).`);
    } else {
      retire(t, 'Task failed container health checks');
      events.push(`(service ${name}) (task ${idOf(t.taskArn)}) failed container health checks.`);
    }
  }

  let deployments = service.deployments.map((d) => ({ ...d }));
  let next: ServiceRecord = { ...service };
  const starts: TaskStart[] = [];

  // 3. The circuit breaker judges the primary deployment before anything new is started for it.
  const primaryBefore = deployments[0];
  if (primaryBefore && service.status === 'ACTIVE') {
    const outcome = judgeDeployment(primaryBefore, snap, healthOf, name);
    deployments[0] = outcome.deployment;
    events.push(...outcome.events);
    if (outcome.rollBack && service.lastCompletedDeployment) {
      const target = service.lastCompletedDeployment;
      const nowSec = nowMs / 1000;
      // Back to the completed deployment's target groups as well as its task definition. A record
      // written before Wharf kept them has them on that deployment if it is still listed; failing
      // that, the service's (the failed deployment's) are the only ones known.
      const completed = deployments.find((d) => d.id === target.id);
      const loadBalancers = target.loadBalancers ?? (completed ? deploymentLoadBalancers(service, completed) : service.loadBalancers ?? []);
      const rollback: DeploymentRecord = {
        ...primaryBefore,
        id: snap.ids.deployment(),
        status: 'PRIMARY',
        taskDefinition: target.taskDefinition,
        loadBalancers,
        desiredCount: service.desiredCount,
        pendingCount: 0,
        runningCount: 0,
        failedTasks: 0,
        createdAt: nowSec,
        updatedAt: nowSec,
        rolloutState: 'IN_PROGRESS',
        rolloutStateReason: `ECS deployment circuit breaker: rolling back to deploymentId ${target.id}.`,
      };
      deployments = [rollback, ...deployments.map((d) => ({ ...d, status: 'ACTIVE' as const }))];
      next = { ...next, taskDefinition: target.taskDefinition, loadBalancers };
      events.push(`(service ${name}) (deployment ${rollback.id}) deployment started: rolling back to ${target.id}.`);
    }
  }
  const primary = deployments[0];

  // 4. Starts and stops that move the service toward its desired count.
  const remaining = live.filter((t) => !stopping.has(t.taskArn));
  if (service.status !== 'ACTIVE') {
    for (const t of remaining) retire(t, `Scaling activity initiated by (service ${name} is being deleted)`);
  } else if (primary) {
    // Tasks on their way to STOPPED still run, so they count against maximumPercent until they stop.
    const occupying = notStopped.filter((t) => !stops.some((s) => s.lost && s.taskArn === t.taskArn)).length;
    const decision = service.schedulingStrategy === 'DAEMON'
      ? planDaemon(snap, primary, remaining, instancesByArn, healthOf,
        new Set(notStopped.filter((t) => draining.has(t.taskArn) || stopping.has(t.taskArn)).map((t) => t.containerInstanceArn)))
      : planReplica(snap, primary, remaining, occupying, instancesByArn, healthOf, wake);
    for (const s of decision.stops) retire(s.task, s.reason);
    starts.push(...decision.starts);
    events.push(...decision.events);
    if (decision.desiredCount !== undefined && decision.desiredCount !== next.desiredCount) {
      next = { ...next, desiredCount: decision.desiredCount };
      deployments[0] = { ...deployments[0]!, desiredCount: decision.desiredCount };
    }
  }

  // 4b. Load-balancer registrations: each task that stays gets its missing targets; every other
  //     registration of the service's tasks (draining, stopping, stopped, no longer named) goes.
  const staying = new Set(live.filter((t) => !stopping.has(t.taskArn)).map((t) => t.taskArn));
  const registrations: ServiceTarget[] = [];
  for (const arn of staying) {
    for (const w of intended.get(arn) ?? []) {
      if (!registeredTargetsOf(arn).some((x) => sameTarget(x, w))) registrations.push(w);
    }
  }
  const deregistrations: TargetRef[] = targets
    .filter((x) => x.deregisteredAt === undefined && (!staying.has(x.taskArn!) || !(intended.get(x.taskArn!) ?? []).some((w) => sameTarget(x, w))))
    .map((x) => ({ TargetGroupArn: x.TargetGroupArn, Id: x.Id, Port: x.Port, taskArn: x.taskArn! }));
  for (const [arn, n] of countBy(registrations)) events.push(`(service ${name}) registered ${n} targets in (target-group ${arn})`);
  for (const [arn, n] of countBy(deregistrations)) events.push(`(service ${name}) deregistered ${n} targets in (target-group ${arn})`);
  if (drainStarted.length > 0) events.push(`(service ${name}) has begun draining connections on ${drainStarted.length} tasks.`);
  for (const arn of draining.keys()) if (!notStopped.some((t) => t.taskArn === arn)) draining.delete(arn);

  // 5. Counts, finished deployments, and the deployment's rollout state.
  const stillThere = notStopped.filter((t) => !stops.some((s) => s.lost && s.taskArn === t.taskArn));
  deployments = deployments.filter((d, i) => i === 0 || stillThere.some((t) => t.startedBy === d.id));
  deployments = deployments.map((d) => {
    const mine = live.filter((t) => t.startedBy === d.id && !stopping.has(t.taskArn));
    const runningCount = mine.filter((t) => t.lastStatus === 'RUNNING').length;
    const pendingCount = mine.length - runningCount;
    return d.runningCount === runningCount && d.pendingCount === pendingCount ? d : { ...d, runningCount, pendingCount };
  });
  const head = deployments[0];
  if (head && service.status === 'ACTIVE' && head.rolloutState === 'IN_PROGRESS' && deployments.length === 1 && starts.length === 0) {
    const primaryLive = live.filter((t) => t.startedBy === head.id && !stopping.has(t.taskArn));
    const settled = primaryLive.length === next.desiredCount && primaryLive.every((t) => healthOf(t) === 'healthy') &&
      notStopped.every((t) => t.desiredStatus === 'RUNNING') && draining.size === 0;
    if (settled) {
      deployments[0] = { ...head, rolloutState: 'COMPLETED', rolloutStateReason: `ECS deployment ${head.id} completed.`, failedTasks: 0 };
      next = { ...next, lastCompletedDeployment: { id: head.id, taskDefinition: head.taskDefinition, loadBalancers: deploymentLoadBalancers(next, head) } };
      events.push(`(service ${name}) (deployment ${head.id}) deployment completed.`);
    }
  }
  deployments = deployments.map((d, i) => (i === 0 ? (d.status === 'PRIMARY' ? d : { ...d, status: 'PRIMARY' }) : d.status === 'ACTIVE' ? d : { ...d, status: 'ACTIVE' }));
  const steady = service.status === 'ACTIVE' && deployments.length === 1 && deployments[0]!.rolloutState === 'COMPLETED' &&
    starts.length === 0 && stops.length === 0 && (deployments[0]!.runningCount ?? 0) === next.desiredCount &&
    draining.size === 0 && registrations.length === 0 && deregistrations.length === 0;
  if (steady) events.push(`(service ${name}) has reached a steady state.`);

  const runningCount = deployments.reduce((n, d) => n + (d.runningCount ?? 0), 0);
  const pendingCount = deployments.reduce((n, d) => n + (d.pendingCount ?? 0), 0);
  next = { ...next, deployments, runningCount, pendingCount };
  if (service.status === 'DRAINING' && notStopped.length === 0) next = { ...next, status: 'INACTIVE', deployments: [] };
  // A target group neither the service nor any deployment left names is retired while any of the
  // service's tasks is still registered in it (so the next sync still reads it and sees the
  // deregistrations through), and forgotten once none is.
  const named = new Set([...next.loadBalancers ?? [], ...next.deployments.flatMap((d) => deploymentLoadBalancers(next, d))].map((l) => l.targetGroupArn));
  const retired = [...new Set(targets.filter((x) => x.deregisteredAt === undefined && !named.has(x.TargetGroupArn)).map((x) => x.TargetGroupArn))];
  const { drainingTasks: _d, retiredTargetGroupArns: _r, ...rest } = next;
  next = {
    ...rest,
    ...(draining.size > 0 ? { drainingTasks: Object.fromEntries(draining) } : {}),
    ...(retired.length > 0 ? { retiredTargetGroupArns: retired } : {}),
  };
  next = withEvents(next, events, nowMs, snap.ids.event);

  const changed = JSON.stringify(next) !== JSON.stringify(service);
  return { starts, stops, registrations, deregistrations, service: changed ? next : undefined, wakeAfterMs: wake.ms };
}

interface Decision {
  starts: TaskStart[];
  stops: { task: TaskRecord; reason: string }[];
  events: string[];
  /** DAEMON: the desired count follows the number of eligible instances. */
  desiredCount?: number;
}

/**
 * REPLICA: start new-deployment tasks while the tasks not yet STOPPED stay within maximumPercent
 * (`occupying` counts them, those being stopped included), and stop
 * obsolete ones (older deployments, tasks on DRAINING instances) while the healthy count stays
 * at or above minimumHealthyPercent. Excess tasks after a scale-in go regardless of health.
 */
function planReplica(
  snap: ServiceSnapshot, primary: DeploymentRecord, live: TaskRecord[], occupying: number,
  instancesByArn: Map<string, ContainerInstanceRecord>, healthOf: (t: TaskRecord) => Health, wake: Wake,
): Decision {
  const { service } = snap;
  const desired = service.desiredCount;
  const config = service.deploymentConfiguration ?? {};
  const maxTotal = Math.floor((desired * (config.maximumPercent ?? 200)) / 100);
  const minHealthy = Math.ceil((desired * (config.minimumHealthyPercent ?? 100)) / 100);
  const draining = (t: TaskRecord) => instancesByArn.get(t.containerInstanceArn)?.status === 'DRAINING';
  const current = live.filter((t) => t.startedBy === primary.id && !draining(t));
  const obsolete = live.filter((t) => t.startedBy !== primary.id || draining(t));
  const decision: Decision = { starts: [], stops: [], events: [] };
  const scaling = `Scaling activity initiated by (deployment ${primary.id})`;

  // Scale-in: the newest deployment has more than it should; unhealthy and pending ones go first,
  // then those on the instances that hold the most of this service's tasks.
  if (current.length > desired) {
    for (const t of pickForScaleIn(current, current.length - desired, healthOf)) decision.stops.push({ task: t, reason: scaling });
  }
  const kept = current.length > desired ? desired : current.length;

  let healthy = live.filter((t) => healthOf(t) === 'healthy' && !decision.stops.some((s) => s.task === t)).length;
  const ordered = [...obsolete].sort((a, b) => rank(healthOf(a)) - rank(healthOf(b)));
  for (const t of ordered) {
    if (healthOf(t) === 'healthy') {
      if (healthy - 1 < minHealthy) continue;
      healthy--;
    }
    decision.stops.push({ task: t, reason: scaling });
  }

  let room = Math.max(0, maxTotal - occupying);
  const needed = Math.max(0, desired - kept);
  if (primary.rolloutState === 'FAILED') return decision; // a FAILED deployment launches nothing
  const backoff = startBackoff(snap, primary);
  if (needed > 0 && backoff.waitMs > 0) {
    wake.at(backoff.waitMs);
    decision.events.push(`(service ${service.serviceName}) is unable to consistently start tasks successfully.`);
    return decision;
  }
  if (needed > 0 && room === 0 && decision.stops.length === 0 && obsolete.length > 0) {
    decision.events.push(`(service ${service.serviceName}) was unable to stop or start tasks during a deployment because of the service ` +
      'deployment configuration. Update the minimumHealthyPercent or maximumPercent value and try again.');
  }
  room = Math.min(room, needed);
  if (room > 0) decision.starts.push({ deploymentId: primary.id, taskDefinition: primary.taskDefinition, count: room });
  return decision;
}

/**
 * DAEMON: one task of the newest deployment on every eligible ACTIVE instance with a connected
 * agent. An instance's older task is stopped first and the new one started once it is gone, so
 * the two never compete for the instance's ports; `busyInstanceArns` hold a task still draining
 * or being stopped in this plan, and get their new task once that one has been stopped.
 */
function planDaemon(
  snap: ServiceSnapshot, primary: DeploymentRecord, live: TaskRecord[], instancesByArn: Map<string, ContainerInstanceRecord>,
  healthOf: (t: TaskRecord) => Health, busyInstanceArns: ReadonlySet<string>,
): Decision {
  const decision: Decision = { starts: [], stops: [], events: [] };
  const scaling = `Scaling activity initiated by (deployment ${primary.id})`;
  const eligible = snap.instances.filter((i) => i.status === 'ACTIVE' && i.agentConnected && snap.eligibleInstanceArns.has(i.containerInstanceArn));
  const eligibleArns = new Set(eligible.map((i) => i.containerInstanceArn));
  const byInstance = new Map<string, TaskRecord[]>();
  for (const t of live) byInstance.set(t.containerInstanceArn, [...(byInstance.get(t.containerInstanceArn) ?? []), t]);
  const targets: string[] = [];
  for (const [arn, tasks] of byInstance) {
    const instance = instancesByArn.get(arn);
    const keepHere = eligibleArns.has(arn) || (instance?.status === 'ACTIVE' && !instance.agentConnected);
    // One task per instance: the newest deployment's healthiest, every other one goes.
    const mine = tasks.filter((t) => t.startedBy === primary.id).sort((a, b) => rank(healthOf(b)) - rank(healthOf(a)));
    const keep = keepHere ? mine[0] : undefined;
    for (const t of tasks) if (t !== keep) decision.stops.push({ task: t, reason: scaling });
  }
  if (primary.rolloutState !== 'FAILED') {
    for (const i of eligible) if (!byInstance.has(i.containerInstanceArn) && !busyInstanceArns.has(i.containerInstanceArn)) targets.push(i.containerInstanceArn);
  }
  if (targets.length > 0) {
    decision.starts.push({ deploymentId: primary.id, taskDefinition: primary.taskDefinition, count: targets.length, instanceArns: targets });
  }
  decision.desiredCount = eligible.length;
  return decision;
}

/** Failed-start history of the primary deployment, and how long the next start must wait. */
function startBackoff(snap: ServiceSnapshot, primary: DeploymentRecord): { failures: number; waitMs: number } {
  const mine = snap.tasks.filter((t) => t.startedBy === primary.id);
  const lastStartedAt = Math.max(0, ...mine.map((t) => t.startedAt ?? 0));
  const failed = mine.filter((t) => t.lastStatus === 'STOPPED' && t.startedAt === undefined && (t.stoppedAt ?? 0) >= lastStartedAt);
  if (failed.length === 0) return { failures: 0, waitMs: 0 };
  const lastFailureMs = Math.max(...failed.map((t) => (t.stoppedAt ?? 0) * 1000));
  return { failures: failed.length, waitMs: Math.max(0, lastFailureMs + startBackoffMs(failed.length) - snap.nowMs) };
}

/**
 * The circuit breaker's view of the primary deployment: failed tasks are those that stopped before
 * RUNNING or failed their health checks; a healthy task resets the count (ECS's resetOnHealthyTask
 * default). Reaching the threshold fails the deployment.
 */
function judgeDeployment(
  d: DeploymentRecord, snap: ServiceSnapshot, healthOf: (t: TaskRecord) => Health, name: string,
): { deployment: DeploymentRecord; events: string[]; rollBack: boolean } {
  const breaker = snap.service.deploymentConfiguration?.deploymentCircuitBreaker;
  const mine = snap.tasks.filter((t) => t.startedBy === d.id);
  const anyHealthy = mine.some((t) => t.lastStatus !== 'STOPPED' && t.desiredStatus === 'RUNNING' && healthOf(t) === 'healthy');
  const failedTasks = anyHealthy ? 0 : mine.filter((t) => t.lastStatus === 'STOPPED' && isFailure(t)).length;
  let deployment = d.failedTasks === failedTasks ? d : { ...d, failedTasks };
  if (!breaker?.enable || d.rolloutState !== 'IN_PROGRESS' || snap.service.schedulingStrategy === 'DAEMON') {
    return { deployment, events: [], rollBack: false };
  }
  if (failedTasks < circuitBreakerThreshold(snap.service.desiredCount)) return { deployment, events: [], rollBack: false };
  deployment = { ...deployment, rolloutState: 'FAILED', rolloutStateReason: 'ECS deployment circuit breaker: tasks failed to start.' };
  const events = [`(service ${name}) (deployment ${d.id}) deployment failed: tasks failed to start.`];
  return { deployment, events, rollBack: breaker.rollback === true && snap.service.lastCompletedDeployment !== undefined };
}

/** ECS's stop reason for a task replaced because its target failed the load balancer's health checks. */
const ELB_HEALTH_FAILURE = 'Task failed ELB health checks in';

/** A task that counts against its deployment: it never ran, or it was stopped for failing its checks. */
function isFailure(t: TaskRecord): boolean {
  if (t.startedAt === undefined) return true;
  return t.stoppedReason === 'Task failed container health checks' || t.stopCode === 'EssentialContainerExited' ||
    t.stoppedReason?.startsWith(ELB_HEALTH_FAILURE) === true;
}

/** The same registration key (group, Id, port), whichever task holds it. */
function sameTarget(a: Omit<TargetRef, 'taskArn'>, b: Omit<TargetRef, 'taskArn'>): boolean {
  return a.TargetGroupArn === b.TargetGroupArn && a.Id === b.Id && a.Port === b.Port;
}

/** Target group ARN → how many of `refs` are in it, in first-seen order. */
function countBy(refs: readonly TargetRef[]): Map<string, number> {
  const counts = new Map<string, number>();
  for (const r of refs) counts.set(r.TargetGroupArn, (counts.get(r.TargetGroupArn) ?? 0) + 1);
  return counts;
}

function pickForScaleIn(tasks: TaskRecord[], count: number, healthOf: (t: TaskRecord) => Health): TaskRecord[] {
  const perInstance = new Map<string, number>();
  for (const t of tasks) perInstance.set(t.containerInstanceArn, (perInstance.get(t.containerInstanceArn) ?? 0) + 1);
  const picked: TaskRecord[] = [];
  const pool = [...tasks];
  while (picked.length < count && pool.length > 0) {
    pool.sort((a, b) => rank(healthOf(a)) - rank(healthOf(b)) ||
      (perInstance.get(b.containerInstanceArn) ?? 0) - (perInstance.get(a.containerInstanceArn) ?? 0) ||
      a.taskArn.localeCompare(b.taskArn));
    const t = pool.shift()!;
    picked.push(t);
    perInstance.set(t.containerInstanceArn, (perInstance.get(t.containerInstanceArn) ?? 1) - 1);
  }
  return picked;
}

/** Stop order: unhealthy first, then those still starting, healthy last. */
function rank(h: Health): number {
  return h === 'unhealthy' ? 0 : h === 'starting' ? 1 : 2;
}

/**
 * The service with `messages` added as events, newest first, at most 100. A message equal to the
 * latest event is dropped unless 6 hours have passed: ECS suppresses a repeated event until its
 * cause changes.
 */
export function withEvents(service: ServiceRecord, messages: readonly string[], nowMs: number, newId: () => string): ServiceRecord {
  let events = service.events;
  for (const message of messages) {
    const latest = events[0];
    if (latest?.message === message && nowMs - (latest.createdAt ?? 0) * 1000 < EVENT_REPEAT_MS) continue;
    events = [{ id: newId(), createdAt: nowMs / 1000, message }, ...events].slice(0, MAX_EVENTS);
  }
  return events === service.events ? service : { ...service, events };
}

function idOf(arn: string): string {
  return arn.slice(arn.lastIndexOf('/') + 1);
}

/** The soonest of several "look again in N ms". */
class Wake {
  ms: number | undefined;
  at(ms: number): void {
    const v = Math.max(1, Math.ceil(ms));
    if (this.ms === undefined || v < this.ms) this.ms = v;
  }
}
