/**
 * ELBv2 target groups: CreateTargetGroup, DescribeTargetGroups, ModifyTargetGroup,
 * DescribeTargetGroupAttributes, ModifyTargetGroupAttributes, DeleteTargetGroup, with ELB's
 * defaults per protocol and ELB's validation. Registrations and their health are in targets.ts.
 *
 * Wharf serves the two kinds its HAProxy data plane can: HTTP target groups (behind application
 * load balancers) and TCP ones (behind network load balancers), with target types instance and ip.
 * A target group's LoadBalancerArns is never stored: it is derived from the listeners and rules
 * that forward to it, so it can never disagree with them.
 */
import type {
  CreateTargetGroupInput, DeleteTargetGroupInput, DescribeTargetGroupAttributesInput, DescribeTargetGroupsInput, ModifyTargetGroupAttributesInput,
  ModifyTargetGroupInput, TargetGroup, TargetGroupAttribute,
} from '@aws-sdk/client-elastic-load-balancing-v2';
import {
  ConflictError, DuplicateTargetGroupNameException, ElbValidationError, InvalidConfigurationRequestException, ResourceInUseException,
  TargetGroupNotFoundException, TooManyTargetGroupsException,
} from '../model/index.js';
import type { TxnOp } from '../store/index.js';
import type { DomainContext, Wire } from './context.js';
import { newElbId, parseElbArn, targetGroupArn } from './elbv2-arns.js';
import { pageWithMarker, requireLoadBalancer, requireTargetGroup, retryOnConflict } from './elbv2-store.js';
import { validateElbTags } from './elbv2-tags.js';
import { keys } from './keys.js';
import { loadBalancersByTargetGroup } from './listeners.js';
import type { TargetGroupRecord } from './records.js';

/** ELB's quota: target groups per region per account. */
const MAX_TARGET_GROUPS = 3000;
const NAME = /^[A-Za-z0-9-]{1,32}$/;

type Protocol = 'HTTP' | 'TCP';

/**
 * ELB's health-check defaults. HTTP target groups (application load balancers): HTTP checks of
 * `/` every 30 s, 5 s timeout, 5 healthy / 2 unhealthy, success 200. TCP target groups (network
 * load balancers): TCP checks every 30 s with a 10 s timeout; with HTTP checks the timeout is 6 s
 * and success 200-399.
 */
function healthCheckDefaults(protocol: Protocol, checkProtocol: Protocol) {
  return {
    HealthCheckIntervalSeconds: 30,
    HealthCheckTimeoutSeconds: protocol === 'HTTP' ? 5 : checkProtocol === 'HTTP' ? 6 : 10,
    HealthyThresholdCount: 5,
    UnhealthyThresholdCount: 2,
    matcher: protocol === 'HTTP' ? '200' : '200-399',
  };
}

/** The attributes every target group starts with, by protocol, with ELB's default values. */
function defaultAttributes(protocol: Protocol): Record<string, string> {
  return protocol === 'HTTP'
    ? {
      'deregistration_delay.timeout_seconds': '300',
      'stickiness.enabled': 'false',
      'stickiness.type': 'lb_cookie',
      'stickiness.lb_cookie.duration_seconds': '86400',
      'slow_start.duration_seconds': '0',
      'load_balancing.algorithm.type': 'round_robin',
    }
    : {
      'deregistration_delay.timeout_seconds': '300',
      'stickiness.enabled': 'false',
      'stickiness.type': 'source_ip',
    };
}

export async function createTargetGroup(ctx: DomainContext, input: CreateTargetGroupInput): Promise<{ TargetGroups: Wire<TargetGroup>[] }> {
  const name = input.Name ?? '';
  validateName(name);
  const targetType = input.TargetType ?? 'instance';
  if (targetType !== 'instance' && targetType !== 'ip') {
    throw new ElbValidationError(`Target type '${targetType}' is not supported by Wharf: use 'instance' or 'ip'`);
  }
  if (input.Protocol === undefined) throw new ElbValidationError('A protocol must be specified');
  const protocol = requireProtocol(input.Protocol, 'Protocol');
  if (input.Port === undefined) throw new ElbValidationError('A port must be specified');
  if (input.IpAddressType !== undefined && input.IpAddressType !== 'ipv4') {
    throw new ElbValidationError(`IP address type '${input.IpAddressType}' is not supported by Wharf: target groups are 'ipv4'`);
  }
  if (input.ProtocolVersion !== undefined && (protocol !== 'HTTP' || input.ProtocolVersion !== 'HTTP1')) {
    throw new ElbValidationError(`Protocol version '${input.ProtocolVersion}' is not supported for target groups with the ${protocol} protocol`);
  }
  validateElbTags(input.Tags);
  const checkProtocol = input.HealthCheckProtocol === undefined ? protocol : requireProtocol(input.HealthCheckProtocol, 'HealthCheckProtocol');
  const defaults = healthCheckDefaults(protocol, checkProtocol);
  const record: TargetGroupRecord = withHealthCheck({
    TargetGroupArn: targetGroupArn(ctx.scope, name, newElbId()),
    TargetGroupName: name,
    Protocol: protocol,
    Port: input.Port,
    ...(input.VpcId !== undefined ? { VpcId: input.VpcId } : {}),
    TargetType: targetType,
    IpAddressType: 'ipv4',
    ...(protocol === 'HTTP' ? { ProtocolVersion: 'HTTP1' } : {}),
    HealthCheckProtocol: checkProtocol,
    HealthCheckPort: 'traffic-port',
    HealthCheckEnabled: true,
    HealthCheckIntervalSeconds: defaults.HealthCheckIntervalSeconds,
    HealthCheckTimeoutSeconds: defaults.HealthCheckTimeoutSeconds,
    HealthyThresholdCount: defaults.HealthyThresholdCount,
    UnhealthyThresholdCount: defaults.UnhealthyThresholdCount,
    ...(checkProtocol === 'HTTP' ? { HealthCheckPath: '/', Matcher: { HttpCode: defaults.matcher } } : {}),
    attributes: defaultAttributes(protocol),
    tags: input.Tags ?? [],
  }, input);

  const key = keys.targetGroup(name);
  const existing = await ctx.store.get<TargetGroupRecord>(key);
  if (existing) {
    // ELB answers a repeated create with the same settings with the existing target group.
    if (sameSettings(existing.value, record)) return { TargetGroups: [await presentOne(ctx, existing.value)] };
    throw new DuplicateTargetGroupNameException(name);
  }
  if ((await ctx.store.list(keys.targetGroups(), { limit: MAX_TARGET_GROUPS })).length >= MAX_TARGET_GROUPS) {
    throw new TooManyTargetGroupsException(`You have reached the maximum number of target groups (${MAX_TARGET_GROUPS})`);
  }
  try {
    await ctx.store.put(key, record, { expectedModRevision: 0 });
  } catch (err) {
    if (err instanceof ConflictError) throw new DuplicateTargetGroupNameException(name);
    throw err;
  }
  ctx.log({ msg: 'target group created', targetGroupArn: record.TargetGroupArn });
  return { TargetGroups: [present(record, [])] };
}

export async function describeTargetGroups(
  ctx: DomainContext, input: DescribeTargetGroupsInput,
): Promise<{ TargetGroups: Wire<TargetGroup>[]; NextMarker?: string }> {
  const given = [input.LoadBalancerArn !== undefined, (input.TargetGroupArns?.length ?? 0) > 0, (input.Names?.length ?? 0) > 0].filter(Boolean).length;
  if (given > 1) throw new ElbValidationError('Only one of LoadBalancerArn, TargetGroupArns or Names can be specified');
  const usage = await loadBalancersByTargetGroup(ctx);
  if (input.TargetGroupArns?.length || input.Names?.length) {
    // Named ones are answered all at once, in the order asked, as ELB does.
    const records = input.TargetGroupArns?.length
      ? await Promise.all(input.TargetGroupArns.map(async (arn) => (await requireTargetGroup(ctx, arn)).value))
      : await Promise.all(input.Names!.map(async (n) => {
        const entry = NAME.test(n) ? await ctx.store.get<TargetGroupRecord>(keys.targetGroup(n)) : undefined;
        if (!entry) throw new TargetGroupNotFoundException(`One or more target groups not found`);
        return entry.value;
      }));
    return { TargetGroups: records.map((r) => present(r, usage.get(r.TargetGroupArn))) };
  }
  const lbArn = input.LoadBalancerArn;
  if (lbArn !== undefined) await requireLoadBalancer(ctx, lbArn);
  const page = await pageWithMarker<TargetGroupRecord>(ctx.store, keys.targetGroups(), input,
    (tg) => lbArn === undefined || (usage.get(tg.TargetGroupArn)?.has(lbArn) ?? false));
  return {
    TargetGroups: page.items.map((e) => present(e.value, usage.get(e.value.TargetGroupArn))),
    ...(page.nextToken !== undefined ? { NextMarker: page.nextToken } : {}),
  };
}

export async function modifyTargetGroup(ctx: DomainContext, input: ModifyTargetGroupInput): Promise<{ TargetGroups: Wire<TargetGroup>[] }> {
  return retryOnConflict(async () => {
    const entry = await requireTargetGroup(ctx, input.TargetGroupArn ?? '');
    const current = entry.value;
    const protocol = current.Protocol as Protocol;
    const checkProtocol = input.HealthCheckProtocol === undefined
      ? current.HealthCheckProtocol as Protocol
      : requireProtocol(input.HealthCheckProtocol, 'HealthCheckProtocol');
    let base: TargetGroupRecord = { ...current, HealthCheckProtocol: checkProtocol };
    if (checkProtocol !== current.HealthCheckProtocol) {
      // Switching a TCP target group's checks between TCP and HTTP brings the other kind's defaults.
      const defaults = healthCheckDefaults(protocol, checkProtocol);
      const { HealthCheckPath: _p, Matcher: _m, ...rest } = base;
      base = {
        ...rest,
        HealthCheckTimeoutSeconds: defaults.HealthCheckTimeoutSeconds,
        ...(checkProtocol === 'HTTP' ? { HealthCheckPath: '/', Matcher: { HttpCode: defaults.matcher } } : {}),
      };
    }
    const record = withHealthCheck(base, input);
    await ctx.store.put(entry.key, record, { expectedModRevision: entry.modRevision });
    ctx.log({ msg: 'target group modified', targetGroupArn: record.TargetGroupArn });
    return { TargetGroups: [await presentOne(ctx, record)] };
  });
}

export async function describeTargetGroupAttributes(ctx: DomainContext, input: DescribeTargetGroupAttributesInput): Promise<{ Attributes: TargetGroupAttribute[] }> {
  const entry = await requireTargetGroup(ctx, input.TargetGroupArn ?? '');
  return { Attributes: attributeList(entry.value.attributes) };
}

/**
 * Sets the given attributes, all or none: every key must be one the target group's protocol has,
 * every value within ELB's bounds, and the result consistent (slow start cannot be combined with
 * the least outstanding requests algorithm). Answers every attribute, as ELB does.
 */
export async function modifyTargetGroupAttributes(ctx: DomainContext, input: ModifyTargetGroupAttributesInput): Promise<{ Attributes: TargetGroupAttribute[] }> {
  const changes: TargetGroupAttribute[] = input.Attributes ?? [];
  if (changes.length === 0) throw new ElbValidationError('Attributes must contain at least one attribute');
  return retryOnConflict(async () => {
    const entry = await requireTargetGroup(ctx, input.TargetGroupArn ?? '');
    const current = entry.value;
    const attributes = { ...current.attributes };
    for (const a of changes) {
      const key: string = a.Key ?? '';
      const value: string = a.Value ?? '';
      if (!Object.hasOwn(attributes, key)) throw new ElbValidationError(`Target group attribute key '${key}' is not recognized`);
      validateAttribute(current.Protocol as Protocol, key, value);
      attributes[key] = value;
    }
    if (attributes['load_balancing.algorithm.type'] === 'least_outstanding_requests' && attributes['slow_start.duration_seconds'] !== '0') {
      throw new InvalidConfigurationRequestException('Slow start mode cannot be enabled with the least outstanding requests load balancing algorithm');
    }
    await ctx.store.put(entry.key, { ...current, attributes }, { expectedModRevision: entry.modRevision });
    ctx.log({ msg: 'target group attributes modified', targetGroupArn: current.TargetGroupArn });
    return { Attributes: attributeList(attributes) };
  });
}

/**
 * Deletes a target group and its registrations in one transaction. Refused while a listener or a
 * rule forwards to it; deleting one that does not exist succeeds, as ELB's does.
 */
export async function deleteTargetGroup(ctx: DomainContext, input: DeleteTargetGroupInput): Promise<Record<string, never>> {
  const arn = input.TargetGroupArn ?? '';
  const ref = parseElbArn(arn);
  if (ref?.kind !== 'targetgroup') throw new ElbValidationError(`'${arn}' is not a valid target group ARN`);
  return retryOnConflict(async () => {
    const entry = await ctx.store.get<TargetGroupRecord>(ref.key);
    if (!entry || entry.value.TargetGroupArn !== arn) return {};
    if ((await loadBalancersByTargetGroup(ctx)).has(arn)) {
      throw new ResourceInUseException(`Target group '${arn}' is currently in use by a listener or a rule`);
    }
    const targets = await ctx.store.list(keys.targetsOf(ref.name));
    const ops: TxnOp[] = [
      { op: 'delete', key: entry.key, expectedModRevision: entry.modRevision },
      ...targets.map((t) => ({ op: 'delete' as const, key: t.key, expectedModRevision: t.modRevision })),
    ];
    await ctx.store.txn(ops);
    ctx.log({ msg: 'target group deleted', targetGroupArn: arn });
    return {};
  });
}

/** A target group's deregistration delay, in milliseconds. */
export function deregistrationDelayMs(tg: TargetGroupRecord): number {
  return Number(tg.attributes['deregistration_delay.timeout_seconds'] ?? '300') * 1000;
}

/** A target group as ELB answers it: the stored settings, LoadBalancerArns derived, no tags. */
export function present(record: TargetGroupRecord, loadBalancerArns: Iterable<string> | undefined): Wire<TargetGroup> {
  const { attributes: _a, tags: _t, ...out } = record;
  return { ...out, LoadBalancerArns: [...(loadBalancerArns ?? [])] };
}

async function presentOne(ctx: DomainContext, record: TargetGroupRecord): Promise<Wire<TargetGroup>> {
  return present(record, (await loadBalancersByTargetGroup(ctx)).get(record.TargetGroupArn));
}

type HealthCheckInput = Pick<CreateTargetGroupInput, 'HealthCheckEnabled' | 'HealthCheckPath' | 'HealthCheckPort' | 'HealthCheckIntervalSeconds' |
  'HealthCheckTimeoutSeconds' | 'HealthyThresholdCount' | 'UnhealthyThresholdCount' | 'Matcher'>;

/**
 * `base` with the health-check settings of a create or modify applied, checked as ELB checks them:
 * a path and matcher only with HTTP checks, a port that is `traffic-port` or 1-65535, the
 * timeout below the interval, matcher codes within the protocol's range.
 */
function withHealthCheck(base: TargetGroupRecord, input: HealthCheckInput): TargetGroupRecord {
  const http = base.HealthCheckProtocol === 'HTTP';
  if (base.Protocol === 'HTTP' && !http) {
    throw new ElbValidationError(`Health check protocol '${base.HealthCheckProtocol ?? ''}' is not supported for target groups with the HTTP protocol`);
  }
  if (!http && input.HealthCheckPath !== undefined) {
    throw new ElbValidationError('Health check path is only supported with the HTTP health check protocol');
  }
  if (!http && input.Matcher !== undefined) {
    throw new ElbValidationError('Health check matcher is only supported with the HTTP health check protocol');
  }
  if (input.Matcher?.GrpcCode !== undefined) throw new ElbValidationError('A gRPC matcher is only supported by target groups with the gRPC protocol version');
  const next: TargetGroupRecord = {
    ...base,
    ...(input.HealthCheckEnabled !== undefined ? { HealthCheckEnabled: input.HealthCheckEnabled } : {}),
    ...(input.HealthCheckPath !== undefined ? { HealthCheckPath: input.HealthCheckPath } : {}),
    ...(input.HealthCheckPort !== undefined ? { HealthCheckPort: input.HealthCheckPort } : {}),
    ...(input.HealthCheckIntervalSeconds !== undefined ? { HealthCheckIntervalSeconds: input.HealthCheckIntervalSeconds } : {}),
    ...(input.HealthCheckTimeoutSeconds !== undefined ? { HealthCheckTimeoutSeconds: input.HealthCheckTimeoutSeconds } : {}),
    ...(input.HealthyThresholdCount !== undefined ? { HealthyThresholdCount: input.HealthyThresholdCount } : {}),
    ...(input.UnhealthyThresholdCount !== undefined ? { UnhealthyThresholdCount: input.UnhealthyThresholdCount } : {}),
    ...(input.Matcher?.HttpCode !== undefined ? { Matcher: { HttpCode: input.Matcher.HttpCode } } : {}),
  };
  if (next.HealthCheckPath !== undefined && !next.HealthCheckPath.startsWith('/')) {
    throw new ElbValidationError(`Health check path '${next.HealthCheckPath}' must begin with a '/' character`);
  }
  if (next.HealthCheckPath !== undefined && !/^[\x21-\x7e]{1,1024}$/.test(next.HealthCheckPath)) {
    throw new ElbValidationError('Health check path must be 1-1024 printable ASCII characters without spaces');
  }
  const port = next.HealthCheckPort ?? 'traffic-port';
  if (port !== 'traffic-port' && !(/^\d{1,5}$/.test(port) && Number(port) >= 1 && Number(port) <= 65535)) {
    throw new ElbValidationError(`Health check port '${port}' must be 'traffic-port' or a port between 1 and 65535`);
  }
  for (const [field, value, min, max] of [
    ['HealthCheckIntervalSeconds', next.HealthCheckIntervalSeconds, 5, 300],
    ['HealthCheckTimeoutSeconds', next.HealthCheckTimeoutSeconds, 2, 120],
    ['HealthyThresholdCount', next.HealthyThresholdCount, 2, 10],
    ['UnhealthyThresholdCount', next.UnhealthyThresholdCount, 2, 10],
  ] as const) {
    if (value === undefined || !Number.isInteger(value) || value < min || value > max) {
      throw new ElbValidationError(`${field} must be between ${min} and ${max}`);
    }
  }
  if (next.HealthCheckTimeoutSeconds! >= next.HealthCheckIntervalSeconds!) {
    throw new ElbValidationError('Health check interval must be greater than the timeout.');
  }
  if (next.Matcher?.HttpCode !== undefined) parseMatcher(next.Matcher.HttpCode, base.Protocol === 'HTTP' ? 499 : 599);
  return next;
}

/**
 * The status codes a matcher accepts: comma-separated codes and ranges (`200`, `200,202`,
 * `200-299`), each within 200 and `max` (499 for application load balancers, 599 for network).
 */
export function parseMatcher(httpCode: string, max = 499): { from: number; to: number }[] {
  const parts = httpCode.split(',');
  const ranges: { from: number; to: number }[] = [];
  for (const part of parts) {
    const m = /^(\d{3})(?:-(\d{3}))?$/.exec(part.trim());
    const from = m ? Number(m[1]) : NaN;
    const to = m?.[2] !== undefined ? Number(m[2]) : from;
    if (!m || from < 200 || to > max || from > to) {
      throw new ElbValidationError(`Health check matcher HTTP code '${httpCode}' must be codes or ranges of codes between 200 and ${max}, such as '200', '200,202' or '200-299'`);
    }
    ranges.push({ from, to });
  }
  return ranges;
}

function validateAttribute(protocol: Protocol, key: string, value: string): void {
  const integer = (min: number, max: number) => {
    if (!/^\d+$/.test(value) || Number(value) < min || Number(value) > max) {
      throw new ElbValidationError(`Target group attribute '${key}' must be an integer between ${min} and ${max}, not '${value}'`);
    }
  };
  switch (key) {
    case 'deregistration_delay.timeout_seconds': return integer(0, 3600);
    case 'stickiness.lb_cookie.duration_seconds': return integer(1, 604800);
    case 'slow_start.duration_seconds':
      integer(0, 900);
      if (value !== '0' && Number(value) < 30) throw new ElbValidationError(`Target group attribute '${key}' must be 0 (off) or between 30 and 900, not '${value}'`);
      return;
    case 'stickiness.enabled':
      if (value !== 'true' && value !== 'false') throw new ElbValidationError(`Target group attribute '${key}' must be 'true' or 'false', not '${value}'`);
      return;
    case 'stickiness.type': {
      const allowed = protocol === 'HTTP' ? 'lb_cookie' : 'source_ip';
      if (value !== allowed) throw new ElbValidationError(`Stickiness type '${value}' is not supported for target groups with the ${protocol} protocol: use '${allowed}'`);
      return;
    }
    case 'load_balancing.algorithm.type':
      if (value !== 'round_robin' && value !== 'least_outstanding_requests') {
        throw new ElbValidationError(`Target group attribute '${key}' must be 'round_robin' or 'least_outstanding_requests', not '${value}'`);
      }
      return;
  }
}

function validateName(name: string): void {
  if (name.length === 0 || name.length > 32) throw new ElbValidationError('Target group name cannot be longer than 32 characters');
  if (!NAME.test(name)) throw new ElbValidationError(`Target group name '${name}' can only contain characters that are alphanumeric characters or hyphens(-)`);
  if (name.startsWith('-') || name.endsWith('-')) throw new ElbValidationError(`Target group name '${name}' cannot begin or end with '-'`);
  if (name.toLowerCase().startsWith('internal-')) throw new ElbValidationError(`Target group name '${name}' cannot begin with 'internal-'`);
}

function requireProtocol(value: string, field: string): Protocol {
  if (value === 'HTTP' || value === 'TCP') return value;
  throw new ElbValidationError(`${field} '${value}' is not supported by Wharf: its load balancers serve HTTP and TCP`);
}


/** Two creates of the same name agree when everything but the ARN and tags is equal. */
function sameSettings(a: TargetGroupRecord, b: TargetGroupRecord): boolean {
  const settings = (r: TargetGroupRecord) => {
    const { TargetGroupArn: _arn, tags: _tags, attributes: _attributes, ...rest } = r;
    return JSON.stringify(Object.entries(rest).sort(([x], [y]) => x.localeCompare(y)));
  };
  return settings(a) === settings(b);
}

function attributeList(attributes: Record<string, string>): TargetGroupAttribute[] {
  return Object.entries(attributes).map(([Key, Value]) => ({ Key, Value }));
}

