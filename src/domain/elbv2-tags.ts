/**
 * AddTags, RemoveTags, DescribeTags over every ELBv2 resource (load balancers, listeners, rules,
 * default rules included, and target groups), generic over the ARN's kind: each kind's record
 * keeps its tags in `tags`, except a default rule, whose tags its listener keeps.
 */
import type { Tag } from '@aws-sdk/client-elastic-load-balancing-v2';
import {
  DuplicateTagKeysException, ElbTooManyTagsException, ElbValidationError, ListenerNotFoundException, LoadBalancerNotFoundException,
  TargetGroupNotFoundException,
} from '../model/index.js';
import type { TxnOp } from '../store/index.js';
import type { DomainContext } from './context.js';
import { defaultRuleId } from './elbv2-arns.js';
import type { ElbResourceRef } from './elbv2-arns.js';
import { parseElbArn } from './elbv2-arns.js';
import { readByArn, retryOnConflict, ruleNotFound } from './elbv2-store.js';

/** ELB: 50 tags per resource; AddTags, RemoveTags and DescribeTags take up to 20 resources. */
const MAX_TAGS = 50;
const MAX_RESOURCES = 20;

/** ELB's tag rules beyond the model's lengths: unique keys within a request, `aws:` reserved. */
export function validateElbTags(tags: readonly Tag[] | undefined): void {
  const seen = new Set<string>();
  for (const tag of tags ?? []) {
    const key = tag.Key ?? '';
    if (key.toLowerCase().startsWith('aws:')) throw new ElbValidationError(`Tag key '${key}' uses the prefix 'aws:', which is reserved for AWS use`);
    if (seen.has(key)) throw new DuplicateTagKeysException(key);
    seen.add(key);
  }
  if (seen.size > MAX_TAGS) throw new ElbTooManyTagsException();
}

/** `tags` with `added` merged in (a key given again takes the new value). */
function mergeElbTags(tags: readonly Tag[], added: readonly Tag[]): Tag[] {
  const byKey = new Map(tags.map((t) => [t.Key, t] as const));
  for (const t of added) byKey.set(t.Key, t.Value === undefined ? { Key: t.Key } : { Key: t.Key, Value: t.Value });
  return [...byKey.values()];
}

interface Tagged {
  arn: string;
  key: string;
  modRevision: number;
  record: Record<string, unknown>;
  /** The record member holding the tags. */
  member: 'tags' | 'defaultRuleTags';
}

const ARN_MEMBER: Record<ElbResourceRef['kind'], string> = {
  loadbalancer: 'LoadBalancerArn', listener: 'ListenerArn', 'listener-rule': 'RuleArn', targetgroup: 'TargetGroupArn',
};

async function readTagged(ctx: DomainContext, arn: string): Promise<Tagged> {
  const ref = parseElbArn(arn);
  if (ref === undefined) throw new ElbValidationError(`'${arn}' is not a valid load balancer, listener, rule or target group ARN`);
  if (ref.kind === 'listener-rule' && ref.ruleId === defaultRuleId(ref.listenerId)) {
    const listenerArn = arn.replace(':listener-rule/', ':listener/').replace(/\/[0-9a-f]{16}$/, '');
    const listener = await readByArn<Record<string, unknown>>(ctx.store, ref.listenerKey, listenerArn, (r) => String(r['ListenerArn']));
    if (listener === undefined) throw ruleNotFound(arn);
    return { arn, key: ref.listenerKey, modRevision: listener.modRevision, record: listener.value, member: 'defaultRuleTags' };
  }
  const entry = await readByArn<Record<string, unknown>>(ctx.store, ref.key, arn, (r) => String(r[ARN_MEMBER[ref.kind]]));
  if (entry === undefined) {
    switch (ref.kind) {
      case 'loadbalancer': throw new LoadBalancerNotFoundException(`Load balancer '${arn}' not found`);
      case 'listener': throw new ListenerNotFoundException(`Listener '${arn}' not found`);
      case 'listener-rule': throw ruleNotFound(arn);
      case 'targetgroup': throw new TargetGroupNotFoundException(`Target group '${arn}' not found`);
    }
  }
  return { arn, key: ref.key, modRevision: entry.modRevision, record: entry.value, member: 'tags' };
}

function tagsOf(tagged: Tagged): Tag[] {
  return (tagged.record[tagged.member] as Tag[] | undefined) ?? [];
}

function checkResourceCount(arns: readonly string[]): void {
  if (arns.length === 0) throw new ElbValidationError('At least one resource ARN must be given');
  if (arns.length > MAX_RESOURCES) throw new ElbValidationError(`At most ${MAX_RESOURCES} resource ARNs can be given, got ${arns.length}`);
}

/**
 * Changes the tags of every resource in `arns` in one transaction: all or none (a missing resource
 * or a resource over the limit changes nothing). A resource named twice is changed once.
 */
async function updateTags(ctx: DomainContext, arns: readonly string[], change: (tags: Tag[]) => Tag[]): Promise<void> {
  checkResourceCount(arns);
  await retryOnConflict(async () => {
    const byKey = new Map<string, Tagged>();
    for (const arn of arns) {
      const tagged = await readTagged(ctx, arn);
      const id = `${tagged.key}#${tagged.member}`;
      if (!byKey.has(id)) byKey.set(id, tagged);
    }
    // A default rule and its listener share a record: both changes go into one write.
    const records = new Map<string, { modRevision: number; value: Record<string, unknown> }>();
    for (const tagged of byKey.values()) {
      const tags = change(tagsOf(tagged));
      if (tags.length > MAX_TAGS) throw new ElbTooManyTagsException(`The resource '${tagged.arn}' would have more than ${MAX_TAGS} tags`);
      const current = records.get(tagged.key) ?? { modRevision: tagged.modRevision, value: { ...tagged.record } };
      current.value[tagged.member] = tags;
      records.set(tagged.key, current);
    }
    const ops: TxnOp[] = [...records.entries()].map(([key, r]) => ({ op: 'put', key, value: r.value, expectedModRevision: r.modRevision }));
    await ctx.store.txn(ops);
  });
}

export async function addTags(ctx: DomainContext, input: { ResourceArns: string[]; Tags: Tag[] }): Promise<Record<string, never>> {
  validateElbTags(input.Tags);
  await updateTags(ctx, input.ResourceArns, (tags) => mergeElbTags(tags, input.Tags));
  return {};
}

export async function removeTags(ctx: DomainContext, input: { ResourceArns: string[]; TagKeys: string[] }): Promise<Record<string, never>> {
  const keys = new Set(input.TagKeys);
  await updateTags(ctx, input.ResourceArns, (tags) => tags.filter((t) => !keys.has(t.Key ?? '')));
  return {};
}

export async function describeTags(ctx: DomainContext, input: { ResourceArns: string[] }) {
  checkResourceCount(input.ResourceArns);
  const TagDescriptions = [];
  for (const arn of input.ResourceArns) TagDescriptions.push({ ResourceArn: arn, Tags: tagsOf(await readTagged(ctx, arn)) });
  return { TagDescriptions };
}
