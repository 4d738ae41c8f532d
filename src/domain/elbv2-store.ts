/**
 * Reading ELBv2 records by ARN, paging with ELB's Marker, and the compare-and-swap retry every
 * ELBv2 write uses.
 *
 * Consistency between parents and children: a write that adds or changes a child (a listener of a
 * load balancer, a rule of a listener) also rewrites its parent unchanged, compare-and-swapped, in
 * the same transaction; a deletion checks every child it read. So a deletion racing with a
 * creation conflicts and retries instead of leaving an orphan.
 */
import {
  ConflictError, ElbValidationError, ListenerNotFoundException, LoadBalancerNotFoundException, RuleNotFoundException,
  TargetGroupNotFoundException,
} from '../model/index.js';
import type { Entry, Store } from '../store/index.js';
import type { DomainContext } from './context.js';
import { parseElbArn } from './elbv2-arns.js';
import type { ElbResourceRef } from './elbv2-arns.js';
import { decodeNextToken } from './keys.js';
import { pageThrough } from './pagination.js';
import type { Page } from './pagination.js';
import type { ListenerRecord, LoadBalancerRecord, RuleRecord, TargetGroupRecord } from './records.js';

const CAS_ATTEMPTS = 10;

/** Runs `attempt` again while it loses a compare-and-swap race, a bounded number of times. */
export async function retryOnConflict<T>(attempt: () => Promise<T>): Promise<T> {
  for (let i = 0; ; i++) {
    try {
      return await attempt();
    } catch (err) {
      if (!(err instanceof ConflictError) || i + 1 >= CAS_ATTEMPTS) throw err;
    }
  }
}

const KIND_WORDS: Record<ElbResourceRef['kind'], string> = {
  loadbalancer: 'load balancer', listener: 'listener', 'listener-rule': 'rule', targetgroup: 'target group',
};

/** The parts of an ARN that must name a `kind` resource, or ValidationError naming it. */
export function refOf<K extends ElbResourceRef['kind']>(arn: string, kind: K): Extract<ElbResourceRef, { kind: K }> {
  const ref = parseElbArn(arn);
  if (ref?.kind !== kind) throw new ElbValidationError(`'${arn}' is not a valid ${KIND_WORDS[kind]} ARN`);
  return ref as Extract<ElbResourceRef, { kind: K }>;
}

/**
 * The stored record an ARN names, if it is the same resource: a name can be reused by a later
 * resource, which gets another id and so another ARN.
 */
export async function readByArn<T>(store: Store, key: string, arn: string, arnOf: (record: T) => string): Promise<Entry<T> | undefined> {
  const entry = await store.get<T>(key);
  return entry !== undefined && arnOf(entry.value) === arn ? entry : undefined;
}

export async function requireLoadBalancer(ctx: DomainContext, arn: string): Promise<Entry<LoadBalancerRecord>> {
  const entry = await readByArn<LoadBalancerRecord>(ctx.store, refOf(arn, 'loadbalancer').key, arn, (r) => r.LoadBalancerArn);
  if (entry === undefined) throw new LoadBalancerNotFoundException(`Load balancer '${arn}' not found`);
  return entry;
}

export async function requireListener(ctx: DomainContext, arn: string): Promise<Entry<ListenerRecord>> {
  const entry = await readByArn<ListenerRecord>(ctx.store, refOf(arn, 'listener').key, arn, (r) => r.ListenerArn);
  if (entry === undefined) throw new ListenerNotFoundException(`Listener '${arn}' not found`);
  return entry;
}

/** A stored (non-default) rule, or undefined when the ARN names none. */
export async function readRule(ctx: DomainContext, arn: string): Promise<Entry<RuleRecord> | undefined> {
  return readByArn<RuleRecord>(ctx.store, refOf(arn, 'listener-rule').key, arn, (r) => r.RuleArn);
}

export function ruleNotFound(arn: string): RuleNotFoundException {
  return new RuleNotFoundException(`Rule '${arn}' not found`);
}

/** The target group an ARN names (a forward action's target), or TargetGroupNotFound. */
export async function requireTargetGroup(ctx: DomainContext, arn: string): Promise<Entry<TargetGroupRecord>> {
  const ref = parseElbArn(arn);
  if (ref?.kind !== 'targetgroup') throw new ElbValidationError(`'${arn}' is not a valid target group ARN`);
  const entry = await readByArn<TargetGroupRecord>(ctx.store, ref.key, arn, (r) => r.TargetGroupArn);
  if (entry === undefined) throw new TargetGroupNotFoundException(`Target group '${arn}' not found`);
  return entry;
}

/** ELB's page sizes: 1-400 (the model checks the range), 400 when not given. */
const DEFAULT_PAGE_SIZE = 400;

/** One page under `prefix` after ELB's `Marker` (opaque: the last key answered). */
export async function pageWithMarker<T>(
  store: Store, prefix: string, input: { Marker?: string; PageSize?: number }, filter?: (value: T) => boolean,
): Promise<Page<T>> {
  if (input.Marker !== undefined && !(decodeNextToken(input.Marker)?.startsWith(prefix) ?? false)) {
    throw new ElbValidationError(`The marker '${input.Marker}' is not valid`);
  }
  return pageThrough<T>(store, prefix, {
    ...(input.Marker !== undefined ? { nextToken: input.Marker } : {}),
    maxResults: input.PageSize ?? DEFAULT_PAGE_SIZE,
    ...(filter !== undefined ? { filter } : {}),
  });
}

/** The load balancer ARN a listener or rule ARN belongs to. */
export function loadBalancerArnOfListener(listenerArn: string): string {
  return listenerArn.replace(':listener/', ':loadbalancer/').replace(/\/[0-9a-f]{16}$/, '');
}
