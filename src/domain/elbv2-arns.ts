/**
 * ELBv2 ARNs, as ELB mints them, and their parts back: every ARN carries the names and ids its
 * record's store key needs (see keys.ts), so resolving one is a single read.
 *
 *   loadbalancer/app|net/<name>/<id>
 *   listener/app|net/<lb-name>/<lb-id>/<listener-id>
 *   listener-rule/app|net/<lb-name>/<lb-id>/<listener-id>/<rule-id>
 *   targetgroup/<name>/<id>
 */
import { createHash, randomBytes } from 'node:crypto';
import type { AccountScope } from '../model/index.js';
import { keys } from './keys.js';

/** A 16-hex-digit id, as ELB puts at the end of its ARNs. */
export function newElbId(): string {
  return randomBytes(8).toString('hex');
}

const prefix = (s: AccountScope) => `arn:${s.partition}:elasticloadbalancing:${s.region}:${s.accountId}`;

export type LoadBalancerKind = 'app' | 'net';

export const loadBalancerArn = (s: AccountScope, kind: LoadBalancerKind, name: string, id: string) =>
  `${prefix(s)}:loadbalancer/${kind}/${name}/${id}`;

/** A listener's ARN: its load balancer's ARN with `listener` and the listener's id. */
export function listenerArnOf(loadBalancerArnValue: string, listenerId: string): string {
  return `${loadBalancerArnValue.replace(':loadbalancer/', ':listener/')}/${listenerId}`;
}

/** A rule's ARN: its listener's ARN with `listener-rule` and the rule's id. */
export function ruleArnOf(listenerArnValue: string, ruleId: string): string {
  return `${listenerArnValue.replace(':listener/', ':listener-rule/')}/${ruleId}`;
}

/**
 * The id of a listener's default rule. The default rule is the listener's DefaultActions and is
 * not stored, so its id is derived from the listener's: the same ARN on every read.
 */
export function defaultRuleId(listenerId: string): string {
  return createHash('sha256').update(`default-rule:${listenerId}`).digest('hex').slice(0, 16);
}

/** What an ELBv2 ARN names, with the store key of its record. */
export type ElbResourceRef =
  | { kind: 'loadbalancer'; key: string; name: string }
  | { kind: 'listener'; key: string; loadBalancerName: string; listenerId: string }
  | { kind: 'listener-rule'; key: string; listenerKey: string; listenerId: string; ruleId: string }
  | { kind: 'targetgroup'; key: string; name: string };

const NAME_PART = '[A-Za-z0-9-]{1,32}';
const ID_PART = '[0-9a-f]{16}';
const RESOURCE = new RegExp(
  `^arn:[^:]+:elasticloadbalancing:[^:]*:[^:]*:(?:` +
  `loadbalancer/(?:app|net)/(${NAME_PART})/${ID_PART}` +
  `|listener/(?:app|net)/(${NAME_PART})/${ID_PART}/(${ID_PART})` +
  `|listener-rule/(?:app|net)/(${NAME_PART})/${ID_PART}/(${ID_PART})/(${ID_PART})` +
  `|targetgroup/(${NAME_PART})/${ID_PART})$`,
);

/**
 * The resource an ELBv2 ARN names, or undefined when it is not one (wrong service, kind or form).
 * Only the form is checked: the caller compares the stored record's ARN with the one given, since
 * a name can be reused by a later resource with another id.
 */
export function parseElbArn(arn: string): ElbResourceRef | undefined {
  const m = RESOURCE.exec(arn);
  if (!m) return undefined;
  const [, lbName, lName, listenerId, rName, rListenerId, ruleId, tgName] = m;
  if (lbName !== undefined) return { kind: 'loadbalancer', key: keys.loadBalancer(lbName), name: lbName };
  if (lName !== undefined && listenerId !== undefined) {
    return { kind: 'listener', key: keys.listener(lName, listenerId), loadBalancerName: lName, listenerId };
  }
  if (rName !== undefined && rListenerId !== undefined && ruleId !== undefined) {
    return { kind: 'listener-rule', key: keys.rule(rListenerId, ruleId), listenerKey: keys.listener(rName, rListenerId), listenerId: rListenerId, ruleId };
  }
  if (tgName !== undefined) return { kind: 'targetgroup', key: keys.targetGroup(tgName), name: tgName };
  return undefined;
}
