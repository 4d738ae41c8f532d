/**
 * Listeners: create, describe, modify, delete. Every load balancer listens on the one Wharf host,
 * so a port serves one listener of one load balancer (keys.listenerPort, taken atomically with the
 * listener). Wharf has no certificates: HTTPS and TLS listeners are refused, as are UDP ones
 * (HAProxy balances TCP and HTTP).
 */
import type { CreateListenerInput, Listener, ModifyListenerInput } from '@aws-sdk/client-elastic-load-balancing-v2';
import {
  CertificateNotFoundException, DuplicateListenerException, ElbValidationError, IncompatibleProtocolsException, ListenerNotFoundException,
  TargetGroupAssociationLimitException, TooManyListenersException, UnsupportedProtocolException,
} from '../model/index.js';
import { DEFAULT_DYNAMIC_PORT_RANGE } from '../scheduler/index.js';
import type { TxnOp } from '../store/index.js';
import type { DomainContext, Wire } from './context.js';
import { listenerArnOf, newElbId } from './elbv2-arns.js';
import { forwardedTargetGroupArns, normalizeActions } from './elbv2-routing.js';
import type { StoredAction } from './elbv2-routing.js';
import { loadBalancerArnOfListener, pageWithMarker, readByArn, refOf, requireListener, requireLoadBalancer, requireTargetGroup, retryOnConflict } from './elbv2-store.js';
import { validateElbTags } from './elbv2-tags.js';
import { keys } from './keys.js';
import { listenerDeletion } from './load-balancers.js';
import type { ListenerRecord, LoadBalancerRecord, RuleRecord } from './records.js';

/** ELB's default quota of listeners per load balancer. */
const MAX_LISTENERS = 50;

/** Who holds a listener port (value at keys.listenerPort). */
interface PortClaim { ListenerArn: string; LoadBalancerArn: string }

const LISTENER_PROTOCOLS: Record<LoadBalancerRecord['Type'], string[]> = {
  application: ['HTTP', 'HTTPS'],
  network: ['TCP', 'TLS', 'UDP', 'TCP_UDP'],
};
/** Target group protocols a listener of each load balancer type forwards to. */
const TARGET_PROTOCOLS: Record<LoadBalancerRecord['Type'], string[]> = {
  application: ['HTTP', 'HTTPS'],
  network: ['TCP', 'TCP_UDP'],
};

function present(record: ListenerRecord): Wire<Listener> {
  const { tags: _tags, defaultRuleTags: _defaultRuleTags, ...wire } = record;
  return wire;
}

/** The listener's id: the last part of its ARN. */
export function listenerIdOf(listenerArn: string): string {
  return listenerArn.slice(listenerArn.lastIndexOf('/') + 1);
}

/** What Wharf can serve for a `type` load balancer, with ELB's error for the rest. */
function checkProtocol(type: LoadBalancerRecord['Type'], input: Pick<CreateListenerInput, 'Protocol' | 'Port' | 'Certificates' | 'SslPolicy' | 'AlpnPolicy' | 'MutualAuthentication'>): void {
  const protocol = input.Protocol;
  if (protocol === undefined) throw new ElbValidationError('A listener protocol must be specified');
  if (!LISTENER_PROTOCOLS[type].includes(protocol)) {
    throw new ElbValidationError(`Listener protocol '${protocol}' must be one of '${LISTENER_PROTOCOLS[type].join(', ')}' for ${type} load balancers`);
  }
  if (protocol === 'HTTPS' || protocol === 'TLS') {
    const certificate = input.Certificates?.[0]?.CertificateArn;
    if (certificate !== undefined) throw new CertificateNotFoundException(`Certificate '${certificate}' not found: Wharf has no certificates`);
    throw new ElbValidationError(`A certificate must be specified for ${protocol} listeners, and Wharf has no certificates: use ${type === 'application' ? 'HTTP' : 'TCP'}`);
  }
  if (protocol === 'UDP' || protocol === 'TCP_UDP') throw new UnsupportedProtocolException(`Protocol '${protocol}' is not supported by Wharf's load balancers: use TCP`);
  if (input.Certificates !== undefined && input.Certificates.length > 0) throw new ElbValidationError(`Certificates cannot be specified for ${protocol} listeners`);
  if (input.SslPolicy !== undefined) throw new ElbValidationError(`An SSL policy cannot be specified for ${protocol} listeners`);
  if (input.AlpnPolicy !== undefined && input.AlpnPolicy.length > 0) throw new ElbValidationError(`An ALPN policy cannot be specified for ${protocol} listeners`);
  if (input.MutualAuthentication !== undefined) throw new ElbValidationError(`Mutual authentication cannot be specified for ${protocol} listeners`);
}

function checkPort(port: number | undefined): number {
  if (port === undefined) throw new ElbValidationError('A listener port must be specified');
  const { first, last } = DEFAULT_DYNAMIC_PORT_RANGE;
  if (port >= first && port <= last) {
    throw new ElbValidationError(`Listener port ${port} is in ${first}-${last}, the range Wharf gives tasks as dynamic host ports: choose a port below ${first}`);
  }
  return port;
}

/**
 * Every load balancer each target group is used by (through listeners' default actions and
 * rules), for ELB's one-load-balancer-per-target-group rule and DescribeTargetGroups'
 * LoadBalancerArns.
 */
export async function loadBalancersByTargetGroup(ctx: DomainContext): Promise<Map<string, Set<string>>> {
  const users = new Map<string, Set<string>>();
  const add = (actions: readonly StoredAction[] | undefined, loadBalancerArn: string) => {
    for (const arn of forwardedTargetGroupArns(actions ?? [])) {
      const set = users.get(arn) ?? new Set<string>();
      set.add(loadBalancerArn);
      users.set(arn, set);
    }
  };
  for (const { value } of await ctx.store.list<ListenerRecord>(keys.listeners())) add(value.DefaultActions, value.LoadBalancerArn);
  for (const { value } of await ctx.store.list<RuleRecord>(keys.rules())) add(value.Actions, loadBalancerArnOfListener(value.ListenerArn));
  return users;
}

/**
 * The target groups `actions` forward to exist, speak a protocol the listener can forward to, and
 * are used by no other load balancer (ELB: one load balancer per target group).
 */
export async function checkForwardTargets(
  ctx: DomainContext, loadBalancer: LoadBalancerRecord, listenerProtocol: string, actions: readonly StoredAction[],
): Promise<void> {
  const arns = forwardedTargetGroupArns(actions);
  if (arns.length === 0) return;
  const users = await loadBalancersByTargetGroup(ctx);
  for (const arn of arns) {
    const group = (await requireTargetGroup(ctx, arn)).value;
    if (group.Protocol === undefined || !TARGET_PROTOCOLS[loadBalancer.Type].includes(group.Protocol)) {
      throw new IncompatibleProtocolsException(`The target group '${arn}' uses protocol '${group.Protocol ?? 'none'}', which a ` +
        `${listenerProtocol} listener of a ${loadBalancer.Type} load balancer cannot forward to`);
    }
    const others = [...users.get(arn) ?? []].filter((lb) => lb !== loadBalancer.LoadBalancerArn);
    if (others.length > 0) {
      throw new TargetGroupAssociationLimitException(`The target group '${arn}' is already used by load balancer '${others[0]}', ` +
        'and a target group can be used by one load balancer only');
    }
  }
}

/** The holder of `port`, when another listener has it: DuplicateListener on the same load balancer, else a ValidationError. */
async function portTaken(ctx: DomainContext, port: number, loadBalancerArn: string) {
  const claim = await ctx.store.get<PortClaim>(keys.listenerPort(port));
  if (claim === undefined) return undefined;
  if (claim.value.LoadBalancerArn === loadBalancerArn) {
    return { claim, error: new DuplicateListenerException(`A listener already exists on port ${port} of load balancer '${loadBalancerArn}'`) };
  }
  return {
    claim,
    error: new ElbValidationError(`Port ${port} is already used by a listener of load balancer '${claim.value.LoadBalancerArn}': ` +
      'Wharf serves every load balancer on one host, so each listener needs a port of its own'),
  };
}

/**
 * Creates a listener. As in ELB, creating one again with the same port, protocol and default
 * actions answers the existing listener; another listener on that port is DuplicateListener.
 */
export async function createListener(ctx: DomainContext, input: CreateListenerInput) {
  return retryOnConflict(async () => {
    const lb = await requireLoadBalancer(ctx, input.LoadBalancerArn ?? '');
    checkProtocol(lb.value.Type, input);
    const port = checkPort(input.Port);
    const protocol = input.Protocol!;
    const actions = normalizeActions(input.DefaultActions, lb.value.Type, 'DefaultActions');
    validateElbTags(input.Tags);
    const taken = await portTaken(ctx, port, lb.value.LoadBalancerArn);
    if (taken !== undefined) {
      const existing = await ctx.store.get<ListenerRecord>(keys.listener(lb.value.LoadBalancerName, listenerIdOf(taken.claim.value.ListenerArn)));
      if (existing !== undefined && existing.value.LoadBalancerArn === lb.value.LoadBalancerArn && existing.value.Protocol === protocol &&
        JSON.stringify(existing.value.DefaultActions) === JSON.stringify(actions)) {
        return { Listeners: [present(existing.value)] };
      }
      throw taken.error;
    }
    await checkForwardTargets(ctx, lb.value, protocol, actions);
    const listeners = await ctx.store.list(keys.listenersOf(lb.value.LoadBalancerName));
    if (listeners.length >= MAX_LISTENERS) throw new TooManyListenersException(`A load balancer can have at most ${MAX_LISTENERS} listeners`);
    const listenerId = newElbId();
    const record: ListenerRecord = {
      ListenerArn: listenerArnOf(lb.value.LoadBalancerArn, listenerId),
      LoadBalancerArn: lb.value.LoadBalancerArn,
      Port: port,
      Protocol: protocol,
      DefaultActions: actions,
      tags: input.Tags ?? [],
    };
    const claim: PortClaim = { ListenerArn: record.ListenerArn, LoadBalancerArn: record.LoadBalancerArn };
    await ctx.store.txn([
      // The load balancer rewritten unchanged: a DeleteLoadBalancer racing with this conflicts instead of missing the listener.
      { op: 'put', key: lb.key, value: lb.value, expectedModRevision: lb.modRevision },
      { op: 'put', key: keys.listener(lb.value.LoadBalancerName, listenerId), value: record, expectedModRevision: 0 },
      { op: 'put', key: keys.listenerPort(port), value: claim, expectedModRevision: 0 },
    ]);
    ctx.log({ msg: 'listener created', listenerArn: record.ListenerArn, port });
    return { Listeners: [present(record)] };
  });
}

export async function describeListeners(ctx: DomainContext, input: { LoadBalancerArn?: string; ListenerArns?: string[]; Marker?: string; PageSize?: number }) {
  const arns = input.ListenerArns ?? [];
  if (input.LoadBalancerArn !== undefined && arns.length > 0) throw new ElbValidationError('A load balancer ARN and listener ARNs cannot both be specified');
  if (input.LoadBalancerArn === undefined && arns.length === 0) throw new ElbValidationError('A load balancer ARN or listener ARNs must be specified');
  if (arns.length > 0) {
    const found: ListenerRecord[] = [];
    for (const arn of arns) {
      const entry = await readByArn<ListenerRecord>(ctx.store, refOf(arn, 'listener').key, arn, (r) => r.ListenerArn);
      if (entry === undefined) throw new ListenerNotFoundException(`Listener '${arn}' not found`);
      found.push(entry.value);
    }
    return { Listeners: found.map(present) };
  }
  const lb = await requireLoadBalancer(ctx, input.LoadBalancerArn!);
  const page = await pageWithMarker<ListenerRecord>(ctx.store, keys.listenersOf(lb.value.LoadBalancerName), input);
  return { Listeners: page.items.map((e) => present(e.value)), ...(page.nextToken !== undefined ? { NextMarker: page.nextToken } : {}) };
}

/** Changes a listener's port, protocol or default actions; a new port is taken and the old one given back in the same write. */
export async function modifyListener(ctx: DomainContext, input: ModifyListenerInput) {
  return retryOnConflict(async () => {
    const listener = await requireListener(ctx, input.ListenerArn ?? '');
    const lb = await requireLoadBalancer(ctx, listener.value.LoadBalancerArn);
    const protocol = input.Protocol ?? listener.value.Protocol;
    checkProtocol(lb.value.Type, { ...input, Protocol: protocol });
    const port = input.Port === undefined ? listener.value.Port : checkPort(input.Port);
    const actions = input.DefaultActions === undefined
      ? listener.value.DefaultActions ?? []
      : normalizeActions(input.DefaultActions, lb.value.Type, 'DefaultActions');
    await checkForwardTargets(ctx, lb.value, protocol, actions);
    const record: ListenerRecord = { ...listener.value, Port: port, Protocol: protocol, DefaultActions: actions };
    const ops: TxnOp[] = [{ op: 'put', key: listener.key, value: record, expectedModRevision: listener.modRevision }];
    if (port !== listener.value.Port) {
      const taken = await portTaken(ctx, port, lb.value.LoadBalancerArn);
      if (taken !== undefined) throw taken.error;
      const old = await ctx.store.get<PortClaim>(keys.listenerPort(listener.value.Port));
      if (old?.value.ListenerArn === record.ListenerArn) ops.push({ op: 'delete', key: old.key, expectedModRevision: old.modRevision });
      const claim: PortClaim = { ListenerArn: record.ListenerArn, LoadBalancerArn: record.LoadBalancerArn };
      ops.push({ op: 'put', key: keys.listenerPort(port), value: claim, expectedModRevision: 0 });
    }
    await ctx.store.txn(ops);
    return { Listeners: [present(record)] };
  });
}

/** Deletes a listener with its rules and gives its port back. */
export async function deleteListener(ctx: DomainContext, input: { ListenerArn: string }): Promise<Record<string, never>> {
  await retryOnConflict(async () => {
    const listener = await requireListener(ctx, input.ListenerArn);
    await ctx.store.txn(await listenerDeletion(ctx, listener.key, listener.modRevision, listener.value));
  });
  ctx.log({ msg: 'listener deleted', listenerArn: input.ListenerArn });
  return {};
}
