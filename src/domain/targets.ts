/**
 * Registrations in ELBv2 target groups: RegisterTargets, DeregisterTargets, DescribeTargetHealth,
 * and the registrations the service controller makes for its tasks.
 *
 * A registration's life (`elbv2/targets/<target group>/<Id>:<Port>`):
 *
 * ```
 * RegisterTargets / service task RUNNING
 *   └─► initial (Elb.RegistrationInProgress; unused/Target.NotInUse while no load balancer uses the group)
 *         └─► healthy / unhealthy           written by the load-balancer controller from its checks
 * DeregisterTargets / service task stopping
 *   └─► deregisteredAt set ─► draining (Target.DeregistrationInProgress)
 *         └─► deleted by the load-balancer controller once the deregistration delay has passed
 * ```
 *
 * The API and the service controller write desired state (the registration, `deregisteredAt`);
 * only the load-balancer controller writes `health`. What DescribeTargetHealth answers is derived
 * from both: a deregistered target is draining whatever its last check said.
 */
import { isIPv4 } from 'node:net';
import type {
  DeregisterTargetsInput, DescribeTargetHealthInput, RegisterTargetsInput, TargetDescription, TargetHealthDescription, TargetHealthReasonEnum,
} from '@aws-sdk/client-elastic-load-balancing-v2';
import {
  DRAINING, ElbValidationError, HEALTH_CHECKS_DISABLED, InvalidTargetException, NOT_IN_USE, REGISTRATION_IN_PROGRESS, TooManyTargetsException,
} from '../model/index.js';
import type { TxnOp } from '../store/index.js';
import type { DomainContext, Wire } from './context.js';
import { keys } from './keys.js';
import type { ContainerInstanceRecord, TargetGroupRecord, TargetRecord } from './records.js';
import { requireTargetGroup, retryOnConflict } from './elbv2-store.js';
import { loadBalancersByTargetGroup } from './listeners.js';
import { deregistrationDelayMs } from './target-groups.js';

/** ELB's quota: targets per target group. */
const MAX_TARGETS = 1000;

/** A registration the service controller wants for one of its tasks. */
export interface ServiceTarget {
  TargetGroupArn: string;
  Id: string;
  Port: number;
  address: string;
  taskArn: string;
}

export async function registerTargets(ctx: DomainContext, input: RegisterTargetsInput): Promise<Record<string, never>> {
  const given = input.Targets ?? [];
  if (given.length === 0) throw new ElbValidationError('Targets must contain at least one target');
  return retryOnConflict(async () => {
    const tg = await requireTargetGroup(ctx, input.TargetGroupArn ?? '');
    const resolved = await resolveTargets(ctx, tg.value, given);
    const used = (await loadBalancersByTargetGroup(ctx)).has(tg.value.TargetGroupArn);
    const existing = await ctx.store.list<TargetRecord>(keys.targetsOf(tg.value.TargetGroupName));
    const byKey = new Map(existing.map((e) => [e.key, e]));
    const ops: TxnOp[] = [{ op: 'check', key: tg.key, expectedModRevision: tg.modRevision }];
    const now = ctx.nowMs() / 1000;
    let count = existing.length;
    for (const t of resolved) {
      const key = keys.target(tg.value.TargetGroupName, t.Id, t.Port);
      const current = byKey.get(key);
      // Registering a registered target again changes nothing; a draining one comes back fresh.
      if (current && current.value.deregisteredAt === undefined) continue;
      if (!current) count++;
      const record: TargetRecord = {
        TargetGroupArn: tg.value.TargetGroupArn, Id: t.Id, Port: t.Port, address: t.address,
        ...(t.AvailabilityZone !== undefined ? { AvailabilityZone: t.AvailabilityZone } : {}),
        registeredAt: now,
        health: initialHealth(used),
      };
      ops.push({ op: 'put', key, value: record, expectedModRevision: current?.modRevision ?? 0 });
      byKey.set(key, { key, value: record, createRevision: 0, modRevision: 0 });
    }
    if (count > MAX_TARGETS) throw new TooManyTargetsException(`You cannot register more than ${MAX_TARGETS} targets in target group '${tg.value.TargetGroupArn}'`);
    if (ops.length === 1) return {};
    await ctx.store.txn(ops);
    ctx.log({ msg: 'targets registered', targetGroupArn: tg.value.TargetGroupArn, targets: resolved.map((t) => `${t.Id}:${t.Port}`) });
    return {};
  });
}

/**
 * Starts draining the given registrations, all or none: every one must be registered. They stay
 * (as draining) until the load-balancer controller removes them after the deregistration delay.
 */
export async function deregisterTargets(ctx: DomainContext, input: DeregisterTargetsInput): Promise<Record<string, never>> {
  const given = input.Targets ?? [];
  if (given.length === 0) throw new ElbValidationError('Targets must contain at least one target');
  return retryOnConflict(async () => {
    const tg = await requireTargetGroup(ctx, input.TargetGroupArn ?? '');
    const now = ctx.nowMs() / 1000;
    const ops: TxnOp[] = [];
    const missing: string[] = [];
    for (const t of given) {
      const port = t.Port ?? tg.value.Port;
      const entry = t.Id && port !== undefined ? await ctx.store.get<TargetRecord>(keys.target(tg.value.TargetGroupName, t.Id, port)) : undefined;
      if (!entry) { missing.push(`'${t.Id ?? ''}${port !== undefined ? `:${port}` : ''}'`); continue; }
      if (entry.value.deregisteredAt !== undefined) continue;
      ops.push({ op: 'put', key: entry.key, value: { ...entry.value, deregisteredAt: now }, expectedModRevision: entry.modRevision });
    }
    if (missing.length > 0) {
      throw new InvalidTargetException(`The following targets are not registered in target group '${tg.value.TargetGroupArn}': ${missing.join(', ')}`);
    }
    if (ops.length === 0) return {};
    await ctx.store.txn(ops);
    ctx.log({ msg: 'targets deregistered', targetGroupArn: tg.value.TargetGroupArn, count: ops.length });
    return {};
  });
}

/**
 * Each registration with its health. Asked for specific targets, a target that is not registered
 * answers `unused` / `Target.NotRegistered`; a target without a port means all its registrations.
 * A deregistered target is answered as draining until its deregistration delay is over (at once
 * when no load balancer uses the group).
 */
export async function describeTargetHealth(ctx: DomainContext, input: DescribeTargetHealthInput): Promise<{ TargetHealthDescriptions: Wire<TargetHealthDescription>[] }> {
  const tg = (await requireTargetGroup(ctx, input.TargetGroupArn ?? '')).value;
  const used = (await loadBalancersByTargetGroup(ctx)).has(tg.TargetGroupArn);
  const nowMs = ctx.nowMs();
  // Without a load balancer nothing drains: a deregistered target is gone at once.
  const delayMs = used ? deregistrationDelayMs(tg) : 0;
  const all = (await ctx.store.list<TargetRecord>(keys.targetsOf(tg.TargetGroupName))).map((e) => e.value)
    .filter((t) => t.deregisteredAt === undefined || t.deregisteredAt * 1000 + delayMs > nowMs);
  if (!input.Targets?.length) return { TargetHealthDescriptions: all.map((t) => describeOne(tg, t, used)) };
  const out: Wire<TargetHealthDescription>[] = [];
  for (const asked of input.Targets) {
    const found = all.filter((t) => t.Id === asked.Id && (asked.Port === undefined || t.Port === asked.Port));
    if (found.length > 0) { out.push(...found.map((t) => describeOne(tg, t, used))); continue; }
    out.push({
      Target: { Id: asked.Id, ...(asked.Port !== undefined ? { Port: asked.Port } : {}) },
      ...(asked.Port !== undefined ? { HealthCheckPort: healthCheckPortOf(tg, asked.Port) } : {}),
      TargetHealth: { State: 'unused', Reason: 'Target.NotRegistered', Description: 'Target is not registered to the target group' },
    });
  }
  return { TargetHealthDescriptions: out };
}

/** The registrations of a target group, as stored (draining ones included). */
export async function targetsOf(ctx: DomainContext, tg: TargetGroupRecord): Promise<TargetRecord[]> {
  return (await ctx.store.list<TargetRecord>(keys.targetsOf(tg.TargetGroupName))).map((e) => e.value);
}

/**
 * Registers service tasks' targets. A key already registered for the same task is left alone;
 * one left by an earlier task (a reused host port, still draining) is taken over. Missing target
 * groups are skipped: a service outlives a deleted target group.
 */
export async function registerServiceTargets(ctx: DomainContext, targets: readonly ServiceTarget[]): Promise<void> {
  const usage = targets.length > 0 ? await loadBalancersByTargetGroup(ctx) : new Map<string, Set<string>>();
  for (const t of targets) {
    const tg = await requireTargetGroup(ctx, t.TargetGroupArn).catch(() => undefined);
    if (!tg) continue;
    const key = keys.target(tg.value.TargetGroupName, t.Id, t.Port);
    await casTarget(ctx, key, (current) => {
      if (current && current.taskArn === t.taskArn && current.deregisteredAt === undefined) return undefined;
      return {
        TargetGroupArn: t.TargetGroupArn, Id: t.Id, Port: t.Port, address: t.address,
        registeredAt: ctx.nowMs() / 1000,
        taskArn: t.taskArn,
        health: initialHealth(usage.has(t.TargetGroupArn)),
      };
    });
  }
}

/** Starts draining service tasks' registrations; a key that now belongs to another task is left alone. */
export async function deregisterServiceTargets(ctx: DomainContext, targets: readonly Pick<ServiceTarget, 'TargetGroupArn' | 'Id' | 'Port' | 'taskArn'>[]): Promise<void> {
  for (const t of targets) {
    const tg = await requireTargetGroup(ctx, t.TargetGroupArn).catch(() => undefined);
    if (!tg) continue;
    await casTarget(ctx, keys.target(tg.value.TargetGroupName, t.Id, t.Port), (current) =>
      (current && current.taskArn === t.taskArn && current.deregisteredAt === undefined ? { ...current, deregisteredAt: ctx.nowMs() / 1000 } : undefined));
  }
}

/** Where an instance target is reached: the instance's agent address, if it is registered and known. */
export async function instanceByEc2Id(ctx: DomainContext, ec2InstanceId: string): Promise<ContainerInstanceRecord | undefined> {
  for (const cluster of await ctx.store.list<{ clusterName: string }>(keys.clusters())) {
    for (const i of await ctx.store.list<ContainerInstanceRecord>(keys.containerInstancesOf(cluster.value.clusterName))) {
      if (i.value.ec2InstanceId === ec2InstanceId && i.value.status !== 'INACTIVE') return i.value;
    }
  }
  return undefined;
}

/** Writes `change` of the registration at `key` (undefined: leave it), compare-and-swapped. */
async function casTarget(ctx: DomainContext, key: string, change: (current: TargetRecord | undefined) => TargetRecord | undefined): Promise<void> {
  await retryOnConflict(async () => {
    const entry = await ctx.store.get<TargetRecord>(key);
    const next = change(entry?.value);
    if (next) await ctx.store.put(key, next, { expectedModRevision: entry?.modRevision ?? 0 });
  });
}

/**
 * The given targets with their ports and addresses: an instance target's Id must name a
 * registered container instance whose agent's address is known, an ip target's Id is an IPv4
 * address. Every fault is reported at once.
 */
async function resolveTargets(ctx: DomainContext, tg: TargetGroupRecord, targets: readonly TargetDescription[]) {
  const out: { Id: string; Port: number; address: string; AvailabilityZone?: string }[] = [];
  const notRunning: string[] = [];
  for (const t of targets) {
    const id = t.Id ?? '';
    const port = t.Port ?? tg.Port;
    if (port === undefined) throw new ElbValidationError(`A port must be specified for target '${id}'`);
    if (tg.TargetType === 'ip') {
      if (!isIPv4(id)) throw new InvalidTargetException(`The IP address '${id}' is not a valid IPv4 address`);
      out.push({ Id: id, Port: port, address: id, ...(t.AvailabilityZone !== undefined ? { AvailabilityZone: t.AvailabilityZone } : {}) });
      continue;
    }
    if (t.AvailabilityZone !== undefined) throw new ElbValidationError('An Availability Zone can be given only for targets of type ip');
    const instance = /^i-[0-9a-f]{8,17}$/.test(id) ? await instanceByEc2Id(ctx, id) : undefined;
    if (!instance?.agentAddress) { notRunning.push(`'${id}'`); continue; }
    out.push({ Id: id, Port: port, address: instance.agentAddress });
  }
  if (notRunning.length > 0) {
    throw new InvalidTargetException(`The following targets are not in a running state and cannot be registered: ${notRunning.join(', ')}`);
  }
  return out;
}

function initialHealth(used: boolean): TargetRecord['health'] {
  return used ? REGISTRATION_IN_PROGRESS : NOT_IN_USE;
}

/**
 * The health ELB would answer for a registration: draining once deregistered, unused while no
 * load balancer uses the group, unavailable with checks disabled, else the controller's last word.
 */
export function effectiveHealth(tg: TargetGroupRecord, t: TargetRecord, used: boolean): TargetRecord['health'] {
  if (t.deregisteredAt !== undefined) return DRAINING;
  if (!used) return NOT_IN_USE;
  if (tg.HealthCheckEnabled === false) return HEALTH_CHECKS_DISABLED;
  // A group that has just come into use has targets still recorded as unused: their checks start now.
  if (t.health.State === 'unused') return initialHealth(true);
  return t.health;
}

function describeOne(tg: TargetGroupRecord, t: TargetRecord, used: boolean): Wire<TargetHealthDescription> {
  const health = effectiveHealth(tg, t, used);
  return {
    Target: { Id: t.Id, Port: t.Port, ...(t.AvailabilityZone !== undefined ? { AvailabilityZone: t.AvailabilityZone } : {}) },
    HealthCheckPort: healthCheckPortOf(tg, t.Port),
    // Reasons are written only from ELB's enum (here and by the load-balancer controller).
    TargetHealth: { State: health.State, ...(health.Reason !== undefined ? { Reason: health.Reason as TargetHealthReasonEnum } : {}), ...(health.Description !== undefined ? { Description: health.Description } : {}) },
  };
}

function healthCheckPortOf(tg: TargetGroupRecord, port: number): string {
  return tg.HealthCheckPort === undefined || tg.HealthCheckPort === 'traffic-port' ? String(port) : tg.HealthCheckPort;
}
