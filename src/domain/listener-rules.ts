/**
 * Listener rules: create, describe, modify, delete, set priorities. Rules belong to listeners of
 * application load balancers. The default rule is the listener's DefaultActions: it is answered
 * with a derived ARN (elbv2-arns.ts `defaultRuleId`), its actions can be modified, and it can be
 * neither deleted nor reprioritized.
 *
 * Every write that changes which priorities a listener's rules hold also rewrites the listener
 * unchanged, compare-and-swapped: two CreateRule calls racing for one priority conflict, and the
 * loser retries and gets PriorityInUse.
 */
import type { CreateRuleInput, ModifyRuleInput, Rule, RulePriorityPair } from '@aws-sdk/client-elastic-load-balancing-v2';
import {
  ElbValidationError, OperationNotPermittedException, PriorityInUseException, TooManyRulesException,
} from '../model/index.js';
import type { Entry, TxnOp } from '../store/index.js';
import type { DomainContext, Wire } from './context.js';
import { defaultRuleId, newElbId, parseElbArn, ruleArnOf } from './elbv2-arns.js';
import { normalizeActions, normalizeConditions } from './elbv2-routing.js';
import { readRule, refOf, requireListener, requireLoadBalancer, retryOnConflict, ruleNotFound } from './elbv2-store.js';
import { validateElbTags } from './elbv2-tags.js';
import { decodeNextToken, encodeNextToken, keys } from './keys.js';
import { checkForwardTargets, listenerIdOf } from './listeners.js';
import type { ListenerRecord, RuleRecord } from './records.js';

/** ELB's default quota of rules per listener, the default rule not counted. */
const MAX_RULES = 100;
const DEFAULT_PAGE_SIZE = 400;

function present(record: RuleRecord): Wire<Rule> {
  const { tags: _tags, ListenerArn: _listenerArn, ...wire } = record;
  return { ...wire, IsDefault: false };
}

function defaultRuleArn(listener: ListenerRecord): string {
  return ruleArnOf(listener.ListenerArn, defaultRuleId(listenerIdOf(listener.ListenerArn)));
}

function presentDefault(listener: ListenerRecord): Wire<Rule> {
  return { RuleArn: defaultRuleArn(listener), Priority: 'default', Conditions: [], Actions: listener.DefaultActions ?? [], IsDefault: true };
}

/** True when `arn` names the default rule of its listener. */
function isDefaultRuleArn(arn: string): boolean {
  const ref = parseElbArn(arn);
  return ref?.kind === 'listener-rule' && ref.ruleId === defaultRuleId(ref.listenerId);
}

/** The listener a rule ARN belongs to. */
function listenerArnOfRule(ruleArn: string): string {
  return ruleArn.replace(':listener-rule/', ':listener/').replace(/\/[0-9a-f]{16}$/, '');
}

/** A listener that can hold rules, with its load balancer: the load balancer must be an application one. */
async function requireRuleListener(ctx: DomainContext, listenerArn: string) {
  const listener = await requireListener(ctx, listenerArn);
  const lb = await requireLoadBalancer(ctx, listener.value.LoadBalancerArn);
  if (lb.value.Type !== 'application') {
    throw new ElbValidationError(`Listener '${listenerArn}' belongs to a network load balancer, whose listeners have no rules`);
  }
  return { listener, lb };
}

function refuseTransforms(input: { Transforms?: unknown[] }): void {
  if (input.Transforms !== undefined && input.Transforms.length > 0) throw new ElbValidationError('Rule transforms are not supported by Wharf');
}

export async function createRule(ctx: DomainContext, input: CreateRuleInput) {
  refOf(input.ListenerArn ?? '', 'listener');
  const conditions = normalizeConditions(input.Conditions);
  refuseTransforms(input);
  validateElbTags(input.Tags);
  return retryOnConflict(async () => {
    const { listener, lb } = await requireRuleListener(ctx, input.ListenerArn ?? '');
    const actions = normalizeActions(input.Actions, 'application');
    const listenerId = listenerIdOf(listener.value.ListenerArn);
    const rules = await ctx.store.list<RuleRecord>(keys.rulesOf(listenerId));
    const priority = String(input.Priority);
    if (rules.some((r) => r.value.Priority === priority)) throw new PriorityInUseException(`Priority '${priority}' is currently in use`);
    if (rules.length >= MAX_RULES) throw new TooManyRulesException(`A listener can have at most ${MAX_RULES} rules besides its default rule`);
    await checkForwardTargets(ctx, lb.value, listener.value.Protocol, actions);
    const ruleId = newElbId();
    const record: RuleRecord = {
      RuleArn: ruleArnOf(listener.value.ListenerArn, ruleId),
      ListenerArn: listener.value.ListenerArn,
      Priority: priority,
      Conditions: conditions,
      Actions: actions,
      tags: input.Tags ?? [],
    };
    await ctx.store.txn([
      { op: 'put', key: listener.key, value: listener.value, expectedModRevision: listener.modRevision },
      { op: 'put', key: keys.rule(listenerId, ruleId), value: record, expectedModRevision: 0 },
    ]);
    return { Rules: [present(record)] };
  });
}

/** A listener's rules by priority, its default rule last (as ELB lists them). */
function byPriority(rules: Array<Entry<RuleRecord>>): RuleRecord[] {
  return rules.map((r) => r.value).sort((a, b) => Number(a.Priority) - Number(b.Priority));
}

export async function describeRules(ctx: DomainContext, input: { ListenerArn?: string; RuleArns?: string[]; Marker?: string; PageSize?: number }) {
  const arns = input.RuleArns ?? [];
  if (input.ListenerArn !== undefined && arns.length > 0) throw new ElbValidationError('A listener ARN and rule ARNs cannot both be specified');
  if (input.ListenerArn === undefined && arns.length === 0) throw new ElbValidationError('A listener ARN or rule ARNs must be specified');
  if (arns.length > 0) {
    const rules: Array<Wire<Rule>> = [];
    for (const arn of arns) {
      refOf(arn, 'listener-rule');
      if (isDefaultRuleArn(arn)) {
        const listener = await requireListener(ctx, listenerArnOfRule(arn)).catch(() => { throw ruleNotFound(arn); });
        rules.push(presentDefault(listener.value));
        continue;
      }
      const rule = await readRule(ctx, arn);
      if (rule === undefined) throw ruleNotFound(arn);
      rules.push(present(rule.value));
    }
    return { Rules: rules };
  }
  const listener = await requireListener(ctx, input.ListenerArn!);
  const all = [...byPriority(await ctx.store.list<RuleRecord>(keys.rulesOf(listenerIdOf(listener.value.ListenerArn))))
    .map(present), presentDefault(listener.value)];
  let start = 0;
  if (input.Marker !== undefined) {
    const offset = decodeNextToken(input.Marker);
    if (offset === undefined || !/^\d+$/.test(offset) || Number(offset) > all.length) {
      throw new ElbValidationError(`The marker '${input.Marker}' is not valid`);
    }
    start = Number(offset);
  }
  const end = start + (input.PageSize ?? DEFAULT_PAGE_SIZE);
  return { Rules: all.slice(start, end), ...(end < all.length ? { NextMarker: encodeNextToken(String(end)) } : {}) };
}

/**
 * Replaces a rule's conditions and/or actions. On the default rule only the actions can change
 * (they are the listener's DefaultActions).
 */
export async function modifyRule(ctx: DomainContext, input: ModifyRuleInput) {
  const arn = input.RuleArn ?? '';
  refOf(arn, 'listener-rule');
  refuseTransforms(input);
  const conditions = input.Conditions === undefined ? undefined : normalizeConditions(input.Conditions);
  return retryOnConflict(async () => {
    if (isDefaultRuleArn(arn)) {
      if (conditions !== undefined) throw new OperationNotPermittedException('The conditions of a default rule cannot be modified');
      const listener = await requireListener(ctx, listenerArnOfRule(arn)).catch(() => { throw ruleNotFound(arn); });
      const lb = await requireLoadBalancer(ctx, listener.value.LoadBalancerArn);
      if (input.Actions === undefined) return { Rules: [presentDefault(listener.value)] };
      const actions = normalizeActions(input.Actions, lb.value.Type);
      await checkForwardTargets(ctx, lb.value, listener.value.Protocol, actions);
      const record: ListenerRecord = { ...listener.value, DefaultActions: actions };
      await ctx.store.put(listener.key, record, { expectedModRevision: listener.modRevision });
      return { Rules: [presentDefault(record)] };
    }
    const rule = await readRule(ctx, arn);
    if (rule === undefined) throw ruleNotFound(arn);
    const { listener, lb } = await requireRuleListener(ctx, rule.value.ListenerArn);
    const actions = input.Actions === undefined ? rule.value.Actions ?? [] : normalizeActions(input.Actions, 'application');
    await checkForwardTargets(ctx, lb.value, listener.value.Protocol, actions);
    const record: RuleRecord = { ...rule.value, Conditions: conditions ?? rule.value.Conditions ?? [], Actions: actions };
    await ctx.store.put(rule.key, record, { expectedModRevision: rule.modRevision });
    return { Rules: [present(record)] };
  });
}

export async function deleteRule(ctx: DomainContext, input: { RuleArn: string }): Promise<Record<string, never>> {
  refOf(input.RuleArn, 'listener-rule');
  if (isDefaultRuleArn(input.RuleArn)) throw new OperationNotPermittedException('A default rule cannot be deleted');
  await retryOnConflict(async () => {
    const rule = await readRule(ctx, input.RuleArn);
    if (rule === undefined) throw ruleNotFound(input.RuleArn);
    await ctx.store.delete(rule.key, { expectedModRevision: rule.modRevision });
  });
  return {};
}

/**
 * Gives rules new priorities, all at once: the priorities every affected listener ends up with
 * must be unique (swapping two rules' priorities in one call works), else PriorityInUse and
 * nothing changes.
 */
export async function setRulePriorities(ctx: DomainContext, input: { RulePriorities: RulePriorityPair[] }) {
  const pairs = input.RulePriorities;
  if (pairs.length === 0) throw new ElbValidationError('At least one rule priority must be specified');
  const wanted = new Map<string, string>();
  for (const pair of pairs) {
    const arn = pair.RuleArn ?? '';
    refOf(arn, 'listener-rule');
    if (pair.Priority === undefined) throw new ElbValidationError(`A priority must be specified for rule '${arn}'`);
    if (isDefaultRuleArn(arn)) throw new OperationNotPermittedException('The priority of a default rule cannot be changed');
    if (wanted.has(arn)) throw new ElbValidationError(`Rule '${arn}' is given more than once`);
    wanted.set(arn, String(pair.Priority));
  }
  return retryOnConflict(async () => {
    const ops: TxnOp[] = [];
    const changed: RuleRecord[] = [];
    const byListener = new Map<string, Array<Entry<RuleRecord>>>();
    for (const arn of wanted.keys()) {
      const rule = await readRule(ctx, arn);
      if (rule === undefined) throw ruleNotFound(arn);
      byListener.set(rule.value.ListenerArn, [...byListener.get(rule.value.ListenerArn) ?? [], rule]);
    }
    for (const [listenerArn, moved] of byListener) {
      const listener = await requireListener(ctx, listenerArn);
      ops.push({ op: 'put', key: listener.key, value: listener.value, expectedModRevision: listener.modRevision });
      const holders = new Map<string, string>();
      for (const rule of await ctx.store.list<RuleRecord>(keys.rulesOf(listenerIdOf(listenerArn)))) {
        const priority = wanted.get(rule.value.RuleArn) ?? rule.value.Priority;
        if (holders.has(priority)) throw new PriorityInUseException(`Priority '${priority}' is currently in use`);
        holders.set(priority, rule.value.RuleArn);
      }
      for (const rule of moved) {
        const record: RuleRecord = { ...rule.value, Priority: wanted.get(rule.value.RuleArn)! };
        ops.push({ op: 'put', key: rule.key, value: record, expectedModRevision: rule.modRevision });
        changed.push(record);
      }
    }
    await ctx.store.txn(ops);
    return { Rules: changed.map(present) };
  });
}
