/**
 * What the load-balancer controller reads and writes of the elbv2 records: a snapshot of them
 * all, and its own observed-state writes (a load balancer's State, a target's health, the end of
 * a target's draining), each a compare-and-swap on the revision it read.
 */
import { ConflictError } from '../model/index.js';
import type { Entry } from '../store/index.js';
import type { DomainContext } from './context.js';
import { keys } from './keys.js';
import type { ListenerRecord, LoadBalancerRecord, RuleRecord, TargetGroupRecord, TargetRecord } from './records.js';

/** Every elbv2 record, as read in one pass. */
export interface LoadBalancingSnapshot {
  loadBalancers: Entry<LoadBalancerRecord>[];
  listeners: ListenerRecord[];
  rules: RuleRecord[];
  targetGroups: TargetGroupRecord[];
  targets: Entry<TargetRecord>[];
}

export async function readLoadBalancingSnapshot(ctx: DomainContext): Promise<LoadBalancingSnapshot> {
  const [loadBalancers, listeners, rules, targetGroups, targets] = await Promise.all([
    ctx.store.list<LoadBalancerRecord>(keys.loadBalancers()),
    ctx.store.list<ListenerRecord>(keys.listeners()),
    ctx.store.list<RuleRecord>(keys.rules()),
    ctx.store.list<TargetGroupRecord>(keys.targetGroups()),
    ctx.store.list<TargetRecord>(keys.targets()),
  ]);
  return { loadBalancers, listeners: listeners.map((e) => e.value), rules: rules.map((e) => e.value), targetGroups: targetGroups.map((e) => e.value), targets };
}

/** Writes a load balancer's State when it differs; false when the record changed or went meanwhile. */
export async function writeLoadBalancerState(ctx: DomainContext, entry: Entry<LoadBalancerRecord>, state: LoadBalancerRecord['State']): Promise<boolean> {
  if (entry.value.State.Code === state.Code && entry.value.State.Reason === state.Reason) return true;
  return casPut(ctx, entry, { ...entry.value, State: state });
}

/** Writes a target's health when it differs; false when the record changed or went meanwhile. */
export async function writeTargetHealth(ctx: DomainContext, entry: Entry<TargetRecord>, health: TargetRecord['health']): Promise<boolean> {
  const current = entry.value.health;
  if (current.State === health.State && current.Reason === health.Reason && current.Description === health.Description) return true;
  return casPut(ctx, entry, { ...entry.value, health });
}

/** Deletes a deregistered target whose draining is over; false when it was registered again meanwhile. */
export async function deleteDrainedTarget(ctx: DomainContext, entry: Entry<TargetRecord>): Promise<boolean> {
  return unlessConflict(() => ctx.store.delete(entry.key, { expectedModRevision: entry.modRevision }));
}

function casPut<T>(ctx: DomainContext, entry: Entry<T>, value: T): Promise<boolean> {
  return unlessConflict(() => ctx.store.put(entry.key, value, { expectedModRevision: entry.modRevision }));
}

/** Runs a conditional write: true when it applied, false when the revision it expected has moved on. */
async function unlessConflict(write: () => Promise<unknown>): Promise<boolean> {
  try {
    await write();
    return true;
  } catch (err) {
    if (err instanceof ConflictError) return false;
    throw err;
  }
}
