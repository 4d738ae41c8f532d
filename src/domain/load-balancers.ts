/**
 * Load balancers: create, describe, delete, attributes. Wharf has no VPCs: subnets, subnet
 * mappings and security groups are accepted and echoed (one availability zone per subnet), and a
 * load balancer's DNS name is the server's advertise host, where its listeners' ports answer.
 * A load balancer is created `provisioning`; the data plane's controller moves it to `active` or
 * `failed`.
 */
import type { CreateLoadBalancerInput, LoadBalancer, LoadBalancerAttribute } from '@aws-sdk/client-elastic-load-balancing-v2';
import {
  DuplicateLoadBalancerNameException, ElbValidationError, InvalidConfigurationRequestException, LoadBalancerNotFoundException,
  OperationNotPermittedException, TooManyLoadBalancersException, WharfError,
} from '../model/index.js';
import type { TxnOp } from '../store/index.js';
import type { DomainContext, Wire } from './context.js';
import { loadBalancerArn, newElbId } from './elbv2-arns.js';
import { pageWithMarker, readByArn, refOf, requireLoadBalancer, retryOnConflict } from './elbv2-store.js';
import { validateElbTags } from './elbv2-tags.js';
import { keys } from './keys.js';
import type { ListenerRecord, LoadBalancerRecord } from './records.js';

/** ELB's default quota of load balancers per region. */
const MAX_LOAD_BALANCERS = 50;
/** DescribeLoadBalancers takes up to 20 names or ARNs. */
const MAX_DESCRIBED = 20;
const NAME = /^[A-Za-z0-9](?:[A-Za-z0-9-]{0,30}[A-Za-z0-9])?$/;
/** Subnet and security group ids are only echoed, but must stay plain ids. */
const NETWORK_ID = /^[A-Za-z0-9-]{1,64}$/;

type LoadBalancerType = LoadBalancerRecord['Type'];

/** Where a load balancer answers: a record plus the DNS name it is reached at. */
export interface LoadBalancerView { dnsName: string }

/** A load balancer as ELB answers it: the record's wire members and the DNS name. */
function present(record: LoadBalancerRecord, view: LoadBalancerView): Wire<LoadBalancer> {
  const { attributes: _attributes, tags: _tags, ...wire } = record;
  return { ...wire, DNSName: view.dnsName };
}

/**
 * Creates a load balancer, or answers the existing one when one of that name has the same type,
 * scheme, IP address type, subnets and security groups (ELB's idempotency); another with that name
 * is DuplicateLoadBalancerName.
 */
export async function createLoadBalancer(ctx: DomainContext, input: CreateLoadBalancerInput, view: LoadBalancerView) {
  const name = input.Name ?? '';
  if (!NAME.test(name)) {
    throw new ElbValidationError(`Load balancer name '${name}' is not valid: it must be 1-32 letters, digits and hyphens, ` +
      'and must not begin or end with a hyphen');
  }
  if (name.toLowerCase().startsWith('internal-')) throw new ElbValidationError(`Load balancer name '${name}' cannot begin with 'internal-'`);
  const type = input.Type ?? 'application';
  if (type !== 'application' && type !== 'network') {
    throw new ElbValidationError(`Load balancer type '${type}' is not supported by Wharf; use 'application' or 'network'`);
  }
  if (input.CustomerOwnedIpv4Pool !== undefined || input.IpamPools?.Ipv4IpamPoolId !== undefined) {
    throw new InvalidConfigurationRequestException('Wharf has no customer-owned or IPAM address pools');
  }
  if (input.Subnets !== undefined && input.SubnetMappings !== undefined) {
    throw new ElbValidationError('Specify either Subnets or SubnetMappings, not both');
  }
  const subnets = input.Subnets ?? (input.SubnetMappings ?? []).map((m) => m.SubnetId ?? '');
  checkIds(subnets, 'subnet', 'InvalidSubnet');
  const securityGroups = input.SecurityGroups ?? [];
  checkIds(securityGroups, 'security group', 'InvalidSecurityGroup');
  validateElbTags(input.Tags);

  const settings = {
    Type: type,
    Scheme: input.Scheme ?? 'internet-facing',
    IpAddressType: input.IpAddressType ?? 'ipv4',
    AvailabilityZones: subnets.map((SubnetId, i) => ({ ZoneName: zoneName(ctx.scope.region, i), SubnetId, LoadBalancerAddresses: [] })),
    SecurityGroups: securityGroups,
  };
  return retryOnConflict(async () => {
    const key = keys.loadBalancer(name);
    const existing = await ctx.store.get<LoadBalancerRecord>(key);
    if (existing !== undefined) {
      const same = JSON.stringify(pick(existing.value)) === JSON.stringify(pick(settings));
      if (!same) throw new DuplicateLoadBalancerNameException(`A load balancer with the name '${name}' already exists with different settings`);
      return { LoadBalancers: [present(existing.value, view)] };
    }
    const count = (await ctx.store.list(keys.loadBalancers())).length;
    if (count >= MAX_LOAD_BALANCERS) throw new TooManyLoadBalancersException(`The quota of ${MAX_LOAD_BALANCERS} load balancers has been reached`);
    const record: LoadBalancerRecord = {
      LoadBalancerArn: loadBalancerArn(ctx.scope, type === 'application' ? 'app' : 'net', name, newElbId()),
      LoadBalancerName: name,
      CreatedTime: ctx.nowMs() / 1000,
      State: { Code: 'provisioning' },
      ...settings,
      attributes: defaultAttributes(type),
      tags: input.Tags ?? [],
    };
    await ctx.store.put(key, record, { expectedModRevision: 0 });
    ctx.log({ msg: 'load balancer created', loadBalancerArn: record.LoadBalancerArn });
    return { LoadBalancers: [present(record, view)] };
  });
}

function pick(r: Pick<LoadBalancerRecord, 'Type' | 'Scheme' | 'IpAddressType' | 'AvailabilityZones' | 'SecurityGroups'>) {
  return [r.Type, r.Scheme, r.IpAddressType, (r.AvailabilityZones ?? []).map((z) => z.SubnetId), r.SecurityGroups ?? []];
}

/** One availability zone per subnet, named as the region's zones are (`us-east-1a`, `us-east-1b`, ...). */
function zoneName(region: string, index: number): string {
  return `${region}${String.fromCharCode(97 + (index % 26))}`;
}

function checkIds(ids: readonly string[], what: string, code: 'InvalidSubnet' | 'InvalidSecurityGroup'): void {
  const seen = new Set<string>();
  for (const id of ids) {
    if (!NETWORK_ID.test(id)) throw new WharfError(code, `The ${what} id '${id}' is not valid: use 1-64 letters, digits and hyphens`);
    if (seen.has(id)) throw new ElbValidationError(`The ${what} '${id}' is given more than once`);
    seen.add(id);
  }
}

export async function describeLoadBalancers(
  ctx: DomainContext, input: { LoadBalancerArns?: string[]; Names?: string[]; Marker?: string; PageSize?: number }, view: LoadBalancerView,
) {
  const arns = input.LoadBalancerArns ?? [];
  const names = input.Names ?? [];
  if (arns.length > 0 && names.length > 0) throw new ElbValidationError('Load balancer names and load balancer ARNs cannot both be specified');
  if (arns.length > MAX_DESCRIBED || names.length > MAX_DESCRIBED) {
    throw new ElbValidationError(`At most ${MAX_DESCRIBED} load balancer names or ARNs can be specified`);
  }
  if (arns.length > 0 || names.length > 0) {
    const found: LoadBalancerRecord[] = [];
    const missing: string[] = [];
    for (const arn of arns) {
      const entry = await readByArn<LoadBalancerRecord>(ctx.store, refOf(arn, 'loadbalancer').key, arn, (r) => r.LoadBalancerArn);
      if (entry === undefined) missing.push(arn);
      else found.push(entry.value);
    }
    for (const name of names) {
      const entry = await ctx.store.get<LoadBalancerRecord>(keys.loadBalancer(name));
      if (entry === undefined) missing.push(name);
      else found.push(entry.value);
    }
    if (missing.length > 0) throw new LoadBalancerNotFoundException(`Load balancers '[${missing.join(', ')}]' not found`);
    return { LoadBalancers: found.map((r) => present(r, view)) };
  }
  const page = await pageWithMarker<LoadBalancerRecord>(ctx.store, keys.loadBalancers(), input);
  return {
    LoadBalancers: page.items.map((e) => present(e.value, view)),
    ...(page.nextToken !== undefined ? { NextMarker: page.nextToken } : {}),
  };
}

/**
 * Deletes a load balancer with its listeners, their rules and their ports, in one transaction.
 * As in ELB, deleting one that does not exist (any more) succeeds; deletion protection refuses.
 */
export async function deleteLoadBalancer(ctx: DomainContext, input: { LoadBalancerArn: string }): Promise<Record<string, never>> {
  const ref = refOf(input.LoadBalancerArn, 'loadbalancer');
  await retryOnConflict(async () => {
    const entry = await readByArn<LoadBalancerRecord>(ctx.store, ref.key, input.LoadBalancerArn, (r) => r.LoadBalancerArn);
    if (entry === undefined) return;
    if (entry.value.attributes['deletion_protection.enabled'] === 'true') {
      throw new OperationNotPermittedException(`Load balancer '${input.LoadBalancerArn}' cannot be deleted because deletion protection is enabled`);
    }
    const ops: TxnOp[] = [{ op: 'delete', key: ref.key, expectedModRevision: entry.modRevision }];
    for (const listener of await ctx.store.list<ListenerRecord>(keys.listenersOf(ref.name))) {
      ops.push(...await listenerDeletion(ctx, listener.key, listener.modRevision, listener.value));
    }
    await ctx.store.txn(ops);
  });
  ctx.log({ msg: 'load balancer deleted', loadBalancerArn: input.LoadBalancerArn });
  return {};
}

/** The writes that delete a listener: itself (checked at `modRevision`), its rules, its port. */
export async function listenerDeletion(ctx: DomainContext, key: string, modRevision: number, listener: ListenerRecord): Promise<TxnOp[]> {
  const listenerId = listener.ListenerArn.slice(listener.ListenerArn.lastIndexOf('/') + 1);
  const ops: TxnOp[] = [{ op: 'delete', key, expectedModRevision: modRevision }];
  for (const rule of await ctx.store.list(keys.rulesOf(listenerId))) ops.push({ op: 'delete', key: rule.key, expectedModRevision: rule.modRevision });
  const port = await ctx.store.get<{ ListenerArn: string }>(keys.listenerPort(listener.Port));
  if (port?.value.ListenerArn === listener.ListenerArn) ops.push({ op: 'delete', key: port.key, expectedModRevision: port.modRevision });
  return ops;
}

// ---- Attributes ------------------------------------------------------------------------------

type AttributeCheck = { kind: 'boolean' } | { kind: 'integer'; min: number; max: number } | { kind: 'enum'; values: string[] } | { kind: 'text' };

interface AttributeSpec { defaultValue: string; check: AttributeCheck; types: LoadBalancerType[] }

const BOOLEAN: AttributeCheck = { kind: 'boolean' };
const TEXT: AttributeCheck = { kind: 'text' };
const BOTH: LoadBalancerType[] = ['application', 'network'];
const APPLICATION: LoadBalancerType[] = ['application'];
const NETWORK: LoadBalancerType[] = ['network'];

/**
 * ELB's load balancer attributes with their defaults, per type, in the order ELB lists them.
 * Logs to S3 cannot be turned on: Wharf has no S3 (see `modifyLoadBalancerAttributes`).
 */
const ATTRIBUTES: ReadonlyArray<[string, AttributeSpec]> = [
  ['access_logs.s3.enabled', { defaultValue: 'false', check: BOOLEAN, types: BOTH }],
  ['access_logs.s3.bucket', { defaultValue: '', check: TEXT, types: BOTH }],
  ['access_logs.s3.prefix', { defaultValue: '', check: TEXT, types: BOTH }],
  ['connection_logs.s3.enabled', { defaultValue: 'false', check: BOOLEAN, types: APPLICATION }],
  ['connection_logs.s3.bucket', { defaultValue: '', check: TEXT, types: APPLICATION }],
  ['connection_logs.s3.prefix', { defaultValue: '', check: TEXT, types: APPLICATION }],
  ['client_keep_alive.seconds', { defaultValue: '3600', check: { kind: 'integer', min: 60, max: 604_800 }, types: APPLICATION }],
  ['deletion_protection.enabled', { defaultValue: 'false', check: BOOLEAN, types: BOTH }],
  ['idle_timeout.timeout_seconds', { defaultValue: '60', check: { kind: 'integer', min: 1, max: 4000 }, types: APPLICATION }],
  ['routing.http.desync_mitigation_mode', { defaultValue: 'defensive', check: { kind: 'enum', values: ['monitor', 'defensive', 'strictest'] }, types: APPLICATION }],
  ['routing.http.drop_invalid_header_fields.enabled', { defaultValue: 'false', check: BOOLEAN, types: APPLICATION }],
  ['routing.http.preserve_host_header.enabled', { defaultValue: 'false', check: BOOLEAN, types: APPLICATION }],
  ['routing.http.x_amzn_tls_version_and_cipher_suite.enabled', { defaultValue: 'false', check: BOOLEAN, types: APPLICATION }],
  ['routing.http.xff_client_port.enabled', { defaultValue: 'false', check: BOOLEAN, types: APPLICATION }],
  ['routing.http.xff_header_processing.mode', { defaultValue: 'append', check: { kind: 'enum', values: ['append', 'preserve', 'remove'] }, types: APPLICATION }],
  ['routing.http2.enabled', { defaultValue: 'true', check: BOOLEAN, types: APPLICATION }],
  ['waf.fail_open.enabled', { defaultValue: 'false', check: BOOLEAN, types: APPLICATION }],
  ['load_balancing.cross_zone.enabled', { defaultValue: 'false', check: BOOLEAN, types: NETWORK }],
  ['dns_record.client_routing_policy', {
    defaultValue: 'any_availability_zone',
    check: { kind: 'enum', values: ['any_availability_zone', 'availability_zone_affinity', 'partial_availability_zone_affinity'] },
    types: NETWORK,
  }],
  ['zonal_shift.config.enabled', { defaultValue: 'false', check: BOOLEAN, types: BOTH }],
];

const S3_LOGS = ['access_logs.s3.enabled', 'connection_logs.s3.enabled'];

function defaultAttributes(type: LoadBalancerType): Record<string, string> {
  return Object.fromEntries(ATTRIBUTES.filter(([, spec]) => spec.types.includes(type)).map(([key, spec]) => [key, spec.defaultValue]));
}

function attributeList(record: LoadBalancerRecord): LoadBalancerAttribute[] {
  return Object.entries(record.attributes).map(([Key, Value]) => ({ Key, Value }));
}

export async function describeLoadBalancerAttributes(ctx: DomainContext, input: { LoadBalancerArn: string }) {
  const entry = await requireLoadBalancer(ctx, input.LoadBalancerArn);
  return { Attributes: attributeList(entry.value) };
}

/** Sets the given attributes (each checked against ELB's values for the type) and answers them all. */
export async function modifyLoadBalancerAttributes(ctx: DomainContext, input: { LoadBalancerArn: string; Attributes: LoadBalancerAttribute[] }) {
  if (input.Attributes.length === 0) throw new ElbValidationError('At least one attribute must be specified');
  return retryOnConflict(async () => {
    const entry = await requireLoadBalancer(ctx, input.LoadBalancerArn);
    const attributes = { ...entry.value.attributes };
    for (const { Key: key = '', Value: value = '' } of input.Attributes) {
      if (!Object.hasOwn(attributes, key)) {
        throw new ElbValidationError(`Load balancer attribute key '${key}' is not recognized for ${entry.value.Type} load balancers`);
      }
      const spec = ATTRIBUTES.find(([k]) => k === key)![1];
      checkAttribute(key, value, spec.check);
      if (S3_LOGS.includes(key) && value === 'true') {
        throw new InvalidConfigurationRequestException(`'${key}' cannot be enabled: Wharf has no S3 to write logs to`);
      }
      attributes[key] = value;
    }
    const record: LoadBalancerRecord = { ...entry.value, attributes };
    await ctx.store.put(entry.key, record, { expectedModRevision: entry.modRevision });
    return { Attributes: attributeList(record) };
  });
}

function checkAttribute(key: string, value: string, check: AttributeCheck): void {
  const bad = (expected: string) => new ElbValidationError(`Load balancer attribute '${key}' must be ${expected}, got '${value}'`);
  switch (check.kind) {
    case 'boolean': if (value !== 'true' && value !== 'false') throw bad("'true' or 'false'"); return;
    case 'integer': {
      if (!/^\d{1,9}$/.test(value) || Number(value) < check.min || Number(value) > check.max) throw bad(`an integer from ${check.min} to ${check.max}`);
      return;
    }
    case 'enum': if (!check.values.includes(value)) throw bad(`one of ${check.values.join(', ')}`); return;
    case 'text':
      if (/[\x00-\x1f\x7f]/.test(value)) throw bad('text without control characters');
  }
}
