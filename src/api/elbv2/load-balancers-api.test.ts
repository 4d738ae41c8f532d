/**
 * The ELBv2 load balancer, listener, rule and tag operations through the AWS SDK against an
 * in-process server. Target groups are written straight into the store (their API is another part).
 */
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import {
  AddTagsCommand, CreateListenerCommand, CreateLoadBalancerCommand, CreateRuleCommand, DeleteListenerCommand,
  DeleteLoadBalancerCommand, DeleteRuleCommand, DescribeListenersCommand, DescribeLoadBalancerAttributesCommand,
  DescribeLoadBalancersCommand, DescribeRulesCommand, DescribeTagsCommand, ElasticLoadBalancingV2Client,
  ElasticLoadBalancingV2ServiceException, ModifyListenerCommand, ModifyLoadBalancerAttributesCommand, ModifyRuleCommand,
  RemoveTagsCommand, SetRulePrioritiesCommand,
} from '@aws-sdk/client-elastic-load-balancing-v2';
import type { Action, RuleCondition } from '@aws-sdk/client-elastic-load-balancing-v2';
import { keys, newElbId } from '../../domain/index.js';
import type { TargetGroupRecord } from '../../domain/index.js';
import { TEST_CREDENTIALS, startInProcessServer } from '../../testkit/in-process-server.js';
import type { InProcessServer } from '../../testkit/in-process-server.js';

let server: InProcessServer;
let elb: ElasticLoadBalancingV2Client;
let unique = 0;

before(async () => {
  server = await startInProcessServer();
  elb = new ElasticLoadBalancingV2Client({ endpoint: server.url, region: 'us-east-1', credentials: TEST_CREDENTIALS, maxAttempts: 1 });
});
after(async () => {
  elb.destroy();
  await server.close();
});

/** A fresh name, so tests sharing the server never collide. */
const name = (prefix: string) => `${prefix}-${++unique}`;
/** A fresh listener port (below the dynamic host port range). */
let nextPort = 20_000;
const port = () => nextPort++;

/** Every ELBv2 key with its revision: equal snapshots mean nothing was written. */
async function snapshot(): Promise<string[]> {
  return (await server.store.list('elbv2/')).map((e) => `${e.key}@${e.modRevision}`);
}

/** Expects `promise` to fail with the SDK error `name` (message matching `message`), and nothing written meanwhile. */
async function fails(run: () => Promise<unknown>, errorName: string, message?: RegExp): Promise<void> {
  const before = await snapshot();
  const err = await run().then(() => undefined, (e: unknown) => e);
  assert.ok(err instanceof ElasticLoadBalancingV2ServiceException, `expected ${errorName}, got ${String(err)}`);
  assert.equal(err.name, errorName, err.message);
  assert.equal(err.$metadata.httpStatusCode, 400);
  if (message !== undefined) assert.match(err.message, message);
  assert.deepEqual(await snapshot(), before, 'a failed call must write nothing');
}

async function createLb(options: { type?: 'application' | 'network'; lbName?: string } = {}) {
  const out = await elb.send(new CreateLoadBalancerCommand({ Name: options.lbName ?? name('lb'), Type: options.type ?? 'application', Subnets: ['subnet-a', 'subnet-b'] }));
  return out.LoadBalancers![0]!;
}

/** A target group record, as its own API would store it. */
async function putTargetGroup(protocol = 'HTTP'): Promise<string> {
  const tgName = name('tg');
  const record: TargetGroupRecord = {
    TargetGroupArn: `arn:aws:elasticloadbalancing:us-east-1:123456789012:targetgroup/${tgName}/${newElbId()}`,
    TargetGroupName: tgName, Protocol: protocol as 'HTTP', Port: 80, TargetType: 'instance', attributes: {}, tags: [],
  };
  await server.store.put(keys.targetGroup(tgName), record);
  return record.TargetGroupArn;
}

const fixed = (code = '404'): Action[] => [{ Type: 'fixed-response', FixedResponseConfig: { StatusCode: code, ContentType: 'text/plain', MessageBody: 'nope' } }];

async function createListener(loadBalancerArn: string, actions: Action[] = fixed(), protocol: 'HTTP' | 'TCP' = 'HTTP') {
  const out = await elb.send(new CreateListenerCommand({ LoadBalancerArn: loadBalancerArn, Protocol: protocol, Port: port(), DefaultActions: actions }));
  return out.Listeners![0]!;
}

const pathIs = (...values: string[]): RuleCondition[] => [{ Field: 'path-pattern', PathPatternConfig: { Values: values } }];

describe('load balancers', () => {
  it('CreateLoadBalancer answers a provisioning load balancer at the advertise host, echoing subnets and settings', async () => {
    const lbName = name('web');
    const out = await elb.send(new CreateLoadBalancerCommand({
      Name: lbName, Subnets: ['subnet-1', 'subnet-2'], SecurityGroups: ['sg-1'], Scheme: 'internal', Tags: [{ Key: 'env', Value: 'test' }],
    }));
    const lb = out.LoadBalancers?.[0];
    assert.match(lb?.LoadBalancerArn ?? '', new RegExp(`^arn:aws:elasticloadbalancing:us-east-1:123456789012:loadbalancer/app/${lbName}/[0-9a-f]{16}$`));
    assert.equal(lb?.LoadBalancerName, lbName);
    assert.equal(lb?.DNSName, '127.0.0.1');
    assert.equal(lb?.Type, 'application');
    assert.equal(lb?.Scheme, 'internal');
    assert.equal(lb?.IpAddressType, 'ipv4');
    assert.deepEqual(lb?.State, { Code: 'provisioning' });
    assert.deepEqual(lb?.SecurityGroups, ['sg-1']);
    assert.deepEqual(lb?.AvailabilityZones, [
      { ZoneName: 'us-east-1a', SubnetId: 'subnet-1', LoadBalancerAddresses: [] },
      { ZoneName: 'us-east-1b', SubnetId: 'subnet-2', LoadBalancerAddresses: [] },
    ]);
    assert.ok(lb?.CreatedTime instanceof Date && Math.abs(lb.CreatedTime.getTime() - Date.now()) < 60_000);

    const again = await elb.send(new CreateLoadBalancerCommand({ Name: lbName, Subnets: ['subnet-1', 'subnet-2'], SecurityGroups: ['sg-1'], Scheme: 'internal' }));
    assert.equal(again.LoadBalancers?.[0]?.LoadBalancerArn, lb?.LoadBalancerArn, 'same settings: the same load balancer');
    await fails(() => elb.send(new CreateLoadBalancerCommand({ Name: lbName, Type: 'network' })), 'DuplicateLoadBalancerNameException');

    const network = await createLb({ type: 'network' });
    assert.match(network.LoadBalancerArn ?? '', /:loadbalancer\/net\//);
  });

  it('refuses bad names, gateway load balancers, bad subnet and security group ids and bad tags', async () => {
    await fails(() => elb.send(new CreateLoadBalancerCommand({ Name: '-bad' })), 'ValidationError', /not valid/);
    await fails(() => elb.send(new CreateLoadBalancerCommand({ Name: 'a'.repeat(33) })), 'ValidationError', /1-32/);
    await fails(() => elb.send(new CreateLoadBalancerCommand({ Name: 'internal-x' })), 'ValidationError', /internal-/);
    await fails(() => elb.send(new CreateLoadBalancerCommand({ Name: 'bad\nname' })), 'ValidationError');
    await fails(() => elb.send(new CreateLoadBalancerCommand({ Name: name('gw'), Type: 'gateway' })), 'ValidationError', /gateway/);
    await fails(() => elb.send(new CreateLoadBalancerCommand({ Name: name('s'), Subnets: ['subnet 1'] })), 'InvalidSubnetException');
    await fails(() => elb.send(new CreateLoadBalancerCommand({ Name: name('s'), SecurityGroups: ['sg;1'] })), 'InvalidSecurityGroupException');
    await fails(() => elb.send(new CreateLoadBalancerCommand({ Name: name('s'), Subnets: ['a'], SubnetMappings: [{ SubnetId: 'b' }] })), 'ValidationError');
    await fails(() => elb.send(new CreateLoadBalancerCommand({ Name: name('t'), Tags: [{ Key: 'k', Value: '1' }, { Key: 'k', Value: '2' }] })), 'DuplicateTagKeysException');
    await fails(() => elb.send(new CreateLoadBalancerCommand({ Name: name('t'), Tags: [{ Key: 'aws:x', Value: '1' }] })), 'ValidationError', /reserved/);
    await fails(() => elb.send(new CreateLoadBalancerCommand({ Name: name('t'), Tags: Array.from({ length: 51 }, (_, i) => ({ Key: `k${i}` })) })), 'TooManyTagsException');
    await fails(() => elb.send(new CreateLoadBalancerCommand({ Name: name('t'), Scheme: 'public' as 'internal' })), 'ValidationError', /at 'scheme'/);
    await fails(() => elb.send(new CreateLoadBalancerCommand({ Name: name('p'), CustomerOwnedIpv4Pool: 'ipv4pool-coip-1' })), 'InvalidConfigurationRequestException');
  });

  it('DescribeLoadBalancers by names, by ARNs, and all of them in pages', async () => {
    const a = await createLb();
    const b = await createLb();
    const byName = await elb.send(new DescribeLoadBalancersCommand({ Names: [b.LoadBalancerName!, a.LoadBalancerName!] }));
    assert.deepEqual(byName.LoadBalancers?.map((l) => l.LoadBalancerArn), [b.LoadBalancerArn, a.LoadBalancerArn]);
    const byArn = await elb.send(new DescribeLoadBalancersCommand({ LoadBalancerArns: [a.LoadBalancerArn!] }));
    assert.equal(byArn.LoadBalancers?.[0]?.LoadBalancerName, a.LoadBalancerName);
    await fails(() => elb.send(new DescribeLoadBalancersCommand({ Names: ['no-such-lb'] })), 'LoadBalancerNotFoundException', /no-such-lb/);
    const stale = a.LoadBalancerArn!.replace(/[0-9a-f]{16}$/, '0123456789abcdef');
    await fails(() => elb.send(new DescribeLoadBalancersCommand({ LoadBalancerArns: [stale] })), 'LoadBalancerNotFoundException');
    await fails(() => elb.send(new DescribeLoadBalancersCommand({ LoadBalancerArns: ['arn:aws:ecs:us-east-1:1:cluster/x'] })), 'ValidationError', /not a valid load balancer ARN/);
    await fails(() => elb.send(new DescribeLoadBalancersCommand({ Names: ['x'], LoadBalancerArns: [a.LoadBalancerArn!] })), 'ValidationError');
    await fails(() => elb.send(new DescribeLoadBalancersCommand({ Marker: 'garbage' })), 'ValidationError', /marker/);
    await fails(() => elb.send(new DescribeLoadBalancersCommand({ PageSize: 0 })), 'ValidationError', /pageSize/);

    const all = (await elb.send(new DescribeLoadBalancersCommand({}))).LoadBalancers ?? [];
    const paged: string[] = [];
    let marker: string | undefined;
    do {
      const page = await elb.send(new DescribeLoadBalancersCommand({ PageSize: 2, ...(marker !== undefined ? { Marker: marker } : {}) }));
      assert.ok((page.LoadBalancers?.length ?? 0) <= 2);
      paged.push(...(page.LoadBalancers ?? []).map((l) => l.LoadBalancerArn!));
      marker = page.NextMarker;
    } while (marker !== undefined);
    assert.deepEqual(paged, all.map((l) => l.LoadBalancerArn));
    assert.ok(paged.includes(a.LoadBalancerArn!) && paged.includes(b.LoadBalancerArn!));
  });

  it('attributes: ELB defaults per type, checked changes applied all or none, deletion protection', async () => {
    const lb = await createLb();
    const described = await elb.send(new DescribeLoadBalancerAttributesCommand({ LoadBalancerArn: lb.LoadBalancerArn }));
    const attributes = new Map(described.Attributes?.map((a) => [a.Key, a.Value]));
    assert.equal(attributes.get('idle_timeout.timeout_seconds'), '60');
    assert.equal(attributes.get('deletion_protection.enabled'), 'false');
    assert.equal(attributes.get('routing.http2.enabled'), 'true');
    assert.equal(attributes.has('load_balancing.cross_zone.enabled'), false);
    const network = await createLb({ type: 'network' });
    const networkAttributes = await elb.send(new DescribeLoadBalancerAttributesCommand({ LoadBalancerArn: network.LoadBalancerArn }));
    assert.ok(networkAttributes.Attributes?.some((a) => a.Key === 'load_balancing.cross_zone.enabled' && a.Value === 'false'));
    assert.ok(!networkAttributes.Attributes?.some((a) => a.Key === 'idle_timeout.timeout_seconds'));

    const modified = await elb.send(new ModifyLoadBalancerAttributesCommand({
      LoadBalancerArn: lb.LoadBalancerArn, Attributes: [{ Key: 'idle_timeout.timeout_seconds', Value: '120' }],
    }));
    assert.ok(modified.Attributes?.some((a) => a.Key === 'idle_timeout.timeout_seconds' && a.Value === '120'));
    assert.equal(modified.Attributes?.length, described.Attributes?.length);
    const modify = (Key: string, Value: string) => () => elb.send(new ModifyLoadBalancerAttributesCommand({
      LoadBalancerArn: lb.LoadBalancerArn, Attributes: [{ Key: 'routing.http2.enabled', Value: 'false' }, { Key, Value }],
    }));
    await fails(modify('idle_timeout.timeout_seconds', '0'), 'ValidationError', /from 1 to 4000/);
    await fails(modify('routing.http2.enabled', 'yes'), 'ValidationError', /'true' or 'false'/);
    await fails(modify('no.such.attribute', 'x'), 'ValidationError', /not recognized/);
    await fails(modify('load_balancing.cross_zone.enabled', 'true'), 'ValidationError', /not recognized for application/);
    await fails(modify('access_logs.s3.enabled', 'true'), 'InvalidConfigurationRequestException', /no S3/);
    await fails(modify('routing.http.xff_header_processing.mode', 'drop'), 'ValidationError', /append, preserve, remove/);
    await fails(modify('access_logs.s3.prefix', 'a\nb'), 'ValidationError', /control characters/);
    await fails(() => elb.send(new ModifyLoadBalancerAttributesCommand({ LoadBalancerArn: lb.LoadBalancerArn, Attributes: [] })), 'ValidationError');
    await fails(() => elb.send(new DescribeLoadBalancerAttributesCommand({ LoadBalancerArn: lb.LoadBalancerArn!.replace(/[0-9a-f]{16}$/, 'ffffffffffffffff') })),
      'LoadBalancerNotFoundException');

    await elb.send(new ModifyLoadBalancerAttributesCommand({ LoadBalancerArn: lb.LoadBalancerArn, Attributes: [{ Key: 'deletion_protection.enabled', Value: 'true' }] }));
    await fails(() => elb.send(new DeleteLoadBalancerCommand({ LoadBalancerArn: lb.LoadBalancerArn })), 'OperationNotPermittedException', /deletion protection/);
    await elb.send(new ModifyLoadBalancerAttributesCommand({ LoadBalancerArn: lb.LoadBalancerArn, Attributes: [{ Key: 'deletion_protection.enabled', Value: 'false' }] }));
    await elb.send(new DeleteLoadBalancerCommand({ LoadBalancerArn: lb.LoadBalancerArn }));
  });

  it('DeleteLoadBalancer removes its listeners, their rules and ports; deleting it again succeeds', async () => {
    const lb = await createLb();
    const listener = await createListener(lb.LoadBalancerArn!);
    await elb.send(new CreateRuleCommand({ ListenerArn: listener.ListenerArn, Priority: 1, Conditions: pathIs('/a'), Actions: fixed('200') }));
    await elb.send(new DeleteLoadBalancerCommand({ LoadBalancerArn: lb.LoadBalancerArn }));
    const listenerId = listener.ListenerArn!.split('/').pop()!;
    assert.deepEqual(await server.store.list(keys.listenersOf(lb.LoadBalancerName!)), []);
    assert.deepEqual(await server.store.list(keys.rulesOf(listenerId)), []);
    assert.equal(await server.store.get(keys.listenerPort(listener.Port!)), undefined);
    await fails(() => elb.send(new DescribeLoadBalancersCommand({ LoadBalancerArns: [lb.LoadBalancerArn!] })), 'LoadBalancerNotFoundException');
    await elb.send(new DeleteLoadBalancerCommand({ LoadBalancerArn: lb.LoadBalancerArn }));
    await fails(() => elb.send(new DeleteLoadBalancerCommand({ LoadBalancerArn: 'not-an-arn' })), 'ValidationError');
    const other = await createLb();
    const reused = await elb.send(new CreateListenerCommand({ LoadBalancerArn: other.LoadBalancerArn, Protocol: 'HTTP', Port: listener.Port, DefaultActions: fixed() }));
    assert.equal(reused.Listeners?.[0]?.Port, listener.Port, 'the port is free again');
  });
});

describe('listeners', () => {
  it('CreateListener with fixed-response, redirect and forward default actions, normalized as ELB answers them', async () => {
    const lb = await createLb();
    const tg = await putTargetGroup();
    const forward = await createListener(lb.LoadBalancerArn!, [{ Type: 'forward', TargetGroupArn: tg }]);
    assert.match(forward.ListenerArn ?? '', new RegExp(`^${lb.LoadBalancerArn!.replace(':loadbalancer/', ':listener/')}/[0-9a-f]{16}$`));
    assert.equal(forward.Protocol, 'HTTP');
    assert.deepEqual(forward.DefaultActions, [{
      Type: 'forward', Order: 1, TargetGroupArn: tg,
      ForwardConfig: { TargetGroups: [{ TargetGroupArn: tg, Weight: 1 }], TargetGroupStickinessConfig: { Enabled: false } },
    }]);
    const tg2 = await putTargetGroup();
    const weighted = await createListener(lb.LoadBalancerArn!, [{
      Type: 'forward',
      ForwardConfig: { TargetGroups: [{ TargetGroupArn: tg, Weight: 3 }, { TargetGroupArn: tg2, Weight: 1 }], TargetGroupStickinessConfig: { Enabled: true, DurationSeconds: 300 } },
    }]);
    assert.deepEqual(weighted.DefaultActions?.[0]?.ForwardConfig, {
      TargetGroups: [{ TargetGroupArn: tg, Weight: 3 }, { TargetGroupArn: tg2, Weight: 1 }], TargetGroupStickinessConfig: { Enabled: true, DurationSeconds: 300 },
    });
    assert.equal(weighted.DefaultActions?.[0]?.TargetGroupArn, undefined);
    const redirect = await createListener(lb.LoadBalancerArn!, [{ Type: 'redirect', RedirectConfig: { Protocol: 'HTTPS', StatusCode: 'HTTP_301' } }]);
    assert.deepEqual(redirect.DefaultActions?.[0]?.RedirectConfig,
      { Protocol: 'HTTPS', Port: '#{port}', Host: '#{host}', Path: '/#{path}', Query: '#{query}', StatusCode: 'HTTP_301' });
    const fixedOne = await createListener(lb.LoadBalancerArn!);
    assert.deepEqual(fixedOne.DefaultActions, [{ Type: 'fixed-response', Order: 1, FixedResponseConfig: { StatusCode: '404', ContentType: 'text/plain', MessageBody: 'nope' } }]);

    const described = await elb.send(new DescribeListenersCommand({ LoadBalancerArn: lb.LoadBalancerArn }));
    assert.deepEqual(new Set(described.Listeners?.map((l) => l.ListenerArn)), new Set([forward, weighted, redirect, fixedOne].map((l) => l.ListenerArn)));
    const one = await elb.send(new DescribeListenersCommand({ ListenerArns: [forward.ListenerArn!] }));
    assert.deepEqual(one.Listeners, [forward]);
    const firstPage = await elb.send(new DescribeListenersCommand({ LoadBalancerArn: lb.LoadBalancerArn, PageSize: 3 }));
    assert.equal(firstPage.Listeners?.length, 3);
    const secondPage = await elb.send(new DescribeListenersCommand({ LoadBalancerArn: lb.LoadBalancerArn, PageSize: 3, Marker: firstPage.NextMarker }));
    assert.equal(secondPage.Listeners?.length, 1);
    assert.equal(secondPage.NextMarker, undefined);
  });

  it('refuses what Wharf cannot serve and what ELB refuses, writing nothing', async () => {
    const lb = await createLb();
    const network = await createLb({ type: 'network' });
    const create = (input: Partial<ConstructorParameters<typeof CreateListenerCommand>[0]>) => () => elb.send(new CreateListenerCommand({
      LoadBalancerArn: lb.LoadBalancerArn, Protocol: 'HTTP', Port: port(), DefaultActions: fixed(), ...input,
    }));
    await fails(create({ Protocol: 'HTTPS' }), 'ValidationError', /certificate/);
    await fails(create({ Protocol: 'HTTPS', Certificates: [{ CertificateArn: 'arn:aws:acm:us-east-1:1:certificate/x' }] }), 'CertificateNotFoundException');
    await fails(create({ Protocol: 'TCP' }), 'ValidationError', /must be one of 'HTTP, HTTPS'/);
    const udpGroup = await putTargetGroup('UDP');
    await fails(create({ LoadBalancerArn: network.LoadBalancerArn, Protocol: 'UDP', DefaultActions: [{ Type: 'forward', TargetGroupArn: udpGroup }] }),
      'UnsupportedProtocolException');
    await fails(create({ LoadBalancerArn: network.LoadBalancerArn, Protocol: 'TCP' }), 'InvalidLoadBalancerActionException', /network/);
    await fails(create({ Port: 50_000 }), 'ValidationError', /dynamic host ports/);
    await fails(create({ Port: undefined }), 'ValidationError', /port must be specified/);
    await fails(create({ Port: 70_000 }), 'ValidationError', /at 'port'/);
    await fails(create({ SslPolicy: 'ELBSecurityPolicy-2016-08' }), 'ValidationError', /SSL policy/);
    await fails(create({ DefaultActions: [] }), 'ValidationError', /at least one action/);
    await fails(create({ DefaultActions: [...fixed(), ...fixed()] }), 'InvalidLoadBalancerActionException', /exactly one/);
    await fails(create({ DefaultActions: [{ Type: 'authenticate-oidc', AuthenticateOidcConfig: { Issuer: 'i', AuthorizationEndpoint: 'a', TokenEndpoint: 't', UserInfoEndpoint: 'u', ClientId: 'c' } }] }),
      'InvalidLoadBalancerActionException', /HTTPS/);
    await fails(create({ DefaultActions: [{ Type: 'forward', TargetGroupArn: lb.LoadBalancerArn!.replace(/loadbalancer\/app\/[^/]+/, 'targetgroup/missing') }] }),
      'TargetGroupNotFoundException');
    const tcpGroup = await putTargetGroup('TCP');
    await fails(create({ DefaultActions: [{ Type: 'forward', TargetGroupArn: tcpGroup }] }), 'IncompatibleProtocolsException');
    await fails(create({ DefaultActions: [{ Type: 'forward' }] }), 'ValidationError', /TargetGroupArn or ForwardConfig/);
    const tg = await putTargetGroup();
    await fails(create({ DefaultActions: [{ Type: 'forward', ForwardConfig: { TargetGroups: [{ TargetGroupArn: tg }, { TargetGroupArn: tg }] } }] }), 'ValidationError', /more than once/);
    await fails(create({ DefaultActions: [{ Type: 'forward', ForwardConfig: { TargetGroups: [{ TargetGroupArn: tg, Weight: 1000 }] } }] }), 'ValidationError', /weight/);
    await fails(create({ DefaultActions: [{ Type: 'forward', ForwardConfig: { TargetGroups: [{ TargetGroupArn: tg }], TargetGroupStickinessConfig: { Enabled: true } } }] }),
      'ValidationError', /DurationSeconds/);
    await fails(create({ DefaultActions: [{ Type: 'forward', TargetGroupArn: tg, RedirectConfig: { StatusCode: 'HTTP_301' } }] }), 'ValidationError', /redirect configuration/);
    await fails(create({ DefaultActions: [{ Type: 'redirect', RedirectConfig: { StatusCode: 'HTTP_302' } }] }), 'InvalidLoadBalancerActionException', /loop/);
    await fails(create({ DefaultActions: [{ Type: 'redirect', RedirectConfig: { Host: 'evil\nhost', StatusCode: 'HTTP_302' } }] }), 'ValidationError', /\\x0a/);
    await fails(create({ DefaultActions: [{ Type: 'redirect', RedirectConfig: { Path: 'no-slash', StatusCode: 'HTTP_302' } }] }), 'ValidationError', /start with/);
    await fails(create({ DefaultActions: [{ Type: 'redirect', RedirectConfig: { Host: '#{hostname}', StatusCode: 'HTTP_302' } }] }), 'ValidationError', /unknown token/);
    await fails(create({ DefaultActions: [{ Type: 'redirect', RedirectConfig: { Port: '99999', StatusCode: 'HTTP_302' } }] }), 'ValidationError', /Port/);
    await fails(create({ DefaultActions: [{ Type: 'redirect', RedirectConfig: { Query: '?a=b', StatusCode: 'HTTP_302' } }] }), 'ValidationError', /leading/);
    const six = await Promise.all(Array.from({ length: 6 }, () => putTargetGroup()));
    await fails(create({ DefaultActions: [{ Type: 'forward', ForwardConfig: { TargetGroups: six.map((TargetGroupArn) => ({ TargetGroupArn })) } }] }), 'ValidationError', /at most 5/);
    await fails(create({ DefaultActions: [{ Type: 'forward', TargetGroupArn: tg, ForwardConfig: { TargetGroups: [{ TargetGroupArn: six[0] }] } }] }), 'ValidationError', /different target groups/);
    const tcpForStickiness = await putTargetGroup('TCP');
    await fails(create({ LoadBalancerArn: network.LoadBalancerArn, Protocol: 'TCP', DefaultActions: [{
      Type: 'forward', ForwardConfig: { TargetGroups: [{ TargetGroupArn: tcpForStickiness }], TargetGroupStickinessConfig: { Enabled: true, DurationSeconds: 60 } },
    }] }), 'ValidationError', /stickiness/);
    await fails(create({ DefaultActions: [{ Type: 'fixed-response', FixedResponseConfig: { StatusCode: '302' } }] }), 'ValidationError', /statusCode/);
    await fails(create({ DefaultActions: [{ Type: 'fixed-response', FixedResponseConfig: { StatusCode: '200', ContentType: 'image/png' } }] }), 'ValidationError', /ContentType/);
    await fails(create({ DefaultActions: [{ Type: 'fixed-response', FixedResponseConfig: { StatusCode: '200', MessageBody: 'a\u0000b' } }] }), 'ValidationError', /control/);
    await fails(create({ LoadBalancerArn: lb.LoadBalancerArn!.replace(/[0-9a-f]{16}$/, 'eeeeeeeeeeeeeeee') }), 'LoadBalancerNotFoundException');
  });

  it('a port serves one listener: DuplicateListener on the same load balancer, a ValidationError across load balancers; the same listener again is answered as is', async () => {
    const lb = await createLb();
    const other = await createLb();
    const listener = await createListener(lb.LoadBalancerArn!);
    const again = await elb.send(new CreateListenerCommand({ LoadBalancerArn: lb.LoadBalancerArn, Protocol: 'HTTP', Port: listener.Port, DefaultActions: fixed() }));
    assert.equal(again.Listeners?.[0]?.ListenerArn, listener.ListenerArn);
    await fails(() => elb.send(new CreateListenerCommand({ LoadBalancerArn: lb.LoadBalancerArn, Protocol: 'HTTP', Port: listener.Port, DefaultActions: fixed('503') })),
      'DuplicateListenerException');
    await fails(() => elb.send(new CreateListenerCommand({ LoadBalancerArn: other.LoadBalancerArn, Protocol: 'HTTP', Port: listener.Port, DefaultActions: fixed() })),
      'ValidationError', /already used by a listener of load balancer/);
  });

  it('a target group serves one load balancer (TargetGroupAssociationLimit)', async () => {
    const tg = await putTargetGroup();
    const lb = await createLb();
    await createListener(lb.LoadBalancerArn!, [{ Type: 'forward', TargetGroupArn: tg }]);
    await createListener(lb.LoadBalancerArn!, [{ Type: 'forward', TargetGroupArn: tg }]);
    const other = await createLb();
    await fails(() => elb.send(new CreateListenerCommand({ LoadBalancerArn: other.LoadBalancerArn, Protocol: 'HTTP', Port: port(), DefaultActions: [{ Type: 'forward', TargetGroupArn: tg }] })),
      'TargetGroupAssociationLimitException');
  });

  it('ModifyListener moves the port (the old one freed) and replaces the default actions; DeleteListener deletes its rules', async () => {
    const lb = await createLb();
    const listener = await createListener(lb.LoadBalancerArn!);
    const oldPort = listener.Port!;
    const newPort = port();
    const tg = await putTargetGroup();
    const modified = await elb.send(new ModifyListenerCommand({ ListenerArn: listener.ListenerArn, Port: newPort, DefaultActions: [{ Type: 'forward', TargetGroupArn: tg }] }));
    assert.equal(modified.Listeners?.[0]?.Port, newPort);
    assert.equal(modified.Listeners?.[0]?.DefaultActions?.[0]?.TargetGroupArn, tg);
    assert.equal(await server.store.get(keys.listenerPort(oldPort)), undefined);
    const taken = await createListener(lb.LoadBalancerArn!);
    await fails(() => elb.send(new ModifyListenerCommand({ ListenerArn: listener.ListenerArn, Port: taken.Port })), 'DuplicateListenerException');
    await fails(() => elb.send(new ModifyListenerCommand({ ListenerArn: listener.ListenerArn, Protocol: 'HTTPS' })), 'ValidationError', /certificate/);
    const tcpGroup = await putTargetGroup('TCP');
    await fails(() => elb.send(new ModifyListenerCommand({ ListenerArn: listener.ListenerArn, DefaultActions: [{ Type: 'forward', TargetGroupArn: tcpGroup }] })),
      'IncompatibleProtocolsException');

    const rule = await elb.send(new CreateRuleCommand({ ListenerArn: listener.ListenerArn, Priority: 5, Conditions: pathIs('/x'), Actions: fixed('200') }));
    await elb.send(new DeleteListenerCommand({ ListenerArn: listener.ListenerArn }));
    await fails(() => elb.send(new DescribeRulesCommand({ RuleArns: [rule.Rules![0]!.RuleArn!] })), 'RuleNotFoundException');
    await fails(() => elb.send(new DescribeListenersCommand({ ListenerArns: [listener.ListenerArn!] })), 'ListenerNotFoundException');
    await fails(() => elb.send(new DeleteListenerCommand({ ListenerArn: listener.ListenerArn })), 'ListenerNotFoundException');
    await fails(() => elb.send(new DescribeListenersCommand({})), 'ValidationError');
    await fails(() => elb.send(new DescribeListenersCommand({ LoadBalancerArn: lb.LoadBalancerArn, ListenerArns: [taken.ListenerArn!] })), 'ValidationError');
    await fails(() => elb.send(new ModifyListenerCommand({ ListenerArn: listener.ListenerArn, Port: port() })), 'ListenerNotFoundException');
  });

  it('network load balancers take TCP listeners forwarding to TCP target groups', async () => {
    const lb = await createLb({ type: 'network' });
    const tg = await putTargetGroup('TCP');
    const listener = await createListener(lb.LoadBalancerArn!, [{ Type: 'forward', TargetGroupArn: tg }], 'TCP');
    assert.match(listener.ListenerArn ?? '', /:listener\/net\//);
    const httpGroup = await putTargetGroup('HTTP');
    await fails(() => elb.send(new CreateListenerCommand({ LoadBalancerArn: lb.LoadBalancerArn, Protocol: 'TCP', Port: port(), DefaultActions: [{ Type: 'forward', TargetGroupArn: httpGroup }] })),
      'IncompatibleProtocolsException');
    await fails(() => elb.send(new CreateRuleCommand({ ListenerArn: listener.ListenerArn, Priority: 1, Conditions: pathIs('/'), Actions: [{ Type: 'forward', TargetGroupArn: tg }] })),
      'ValidationError', /network load balancer/);
  });
});

describe('rules', () => {
  it('CreateRule with each condition, normalized; DescribeRules by priority with the default rule last', async () => {
    const lb = await createLb();
    const listener = await createListener(lb.LoadBalancerArn!);
    const tg = await putTargetGroup();
    const create = async (Priority: number, Conditions: RuleCondition[]) =>
      (await elb.send(new CreateRuleCommand({ ListenerArn: listener.ListenerArn, Priority, Conditions, Actions: [{ Type: 'forward', TargetGroupArn: tg }] }))).Rules![0]!;
    const legacy = await create(20, [{ Field: 'path-pattern', Values: ['/img/*'] }]);
    assert.deepEqual(legacy.Conditions, [{ Field: 'path-pattern', Values: ['/img/*'], PathPatternConfig: { Values: ['/img/*'] } }]);
    assert.equal(legacy.IsDefault, false);
    assert.equal(legacy.Priority, '20');
    assert.match(legacy.RuleArn ?? '', new RegExp(`^${listener.ListenerArn!.replace(':listener/', ':listener-rule/')}/[0-9a-f]{16}$`));
    const host = await create(3, [{ Field: 'host-header', HostHeaderConfig: { Values: ['*.example.com', 'example.com'] } }]);
    assert.deepEqual(host.Conditions, [{ Field: 'host-header', Values: ['*.example.com', 'example.com'], HostHeaderConfig: { Values: ['*.example.com', 'example.com'] } }]);
    const header = await create(10, [
      { Field: 'http-header', HttpHeaderConfig: { HttpHeaderName: 'X-Canary', Values: ['yes', 'true'] } },
      { Field: 'query-string', QueryStringConfig: { Values: [{ Key: 'version', Value: 'v2' }, { Value: 'beta' }] } },
    ]);
    assert.deepEqual(header.Conditions, [
      { Field: 'http-header', HttpHeaderConfig: { HttpHeaderName: 'X-Canary', Values: ['yes', 'true'] } },
      { Field: 'query-string', QueryStringConfig: { Values: [{ Key: 'version', Value: 'v2' }, { Value: 'beta' }] } },
    ]);
    const described = await elb.send(new DescribeRulesCommand({ ListenerArn: listener.ListenerArn }));
    assert.deepEqual(described.Rules?.map((r) => r.Priority), ['3', '10', '20', 'default']);
    const defaultRule = described.Rules![3]!;
    assert.equal(defaultRule.IsDefault, true);
    assert.deepEqual(defaultRule.Conditions, []);
    assert.deepEqual(defaultRule.Actions, listener.DefaultActions);
    const byArn = await elb.send(new DescribeRulesCommand({ RuleArns: [defaultRule.RuleArn!, host.RuleArn!] }));
    assert.deepEqual(byArn.Rules?.map((r) => r.Priority), ['default', '3']);
    const page = await elb.send(new DescribeRulesCommand({ ListenerArn: listener.ListenerArn, PageSize: 3 }));
    assert.equal(page.Rules?.length, 3);
    const rest = await elb.send(new DescribeRulesCommand({ ListenerArn: listener.ListenerArn, PageSize: 3, Marker: page.NextMarker }));
    assert.deepEqual(rest.Rules?.map((r) => r.Priority), ['default']);
    await fails(() => elb.send(new DescribeRulesCommand({ ListenerArn: listener.ListenerArn, Marker: 'nonsense' })), 'ValidationError', /marker/);
  });

  it('condition values that could break the data plane, and what ELB refuses, are refused', async () => {
    const lb = await createLb();
    const listener = await createListener(lb.LoadBalancerArn!);
    const create = (Conditions: RuleCondition[], Priority = 1) => () =>
      elb.send(new CreateRuleCommand({ ListenerArn: listener.ListenerArn, Priority, Conditions, Actions: fixed('200') }));
    await fails(create([{ Field: 'http-header', HttpHeaderConfig: { HttpHeaderName: 'X-A', Values: ['a\nb'] } }]), 'ValidationError', /\\x0a/);
    await fails(create([{ Field: 'http-header', HttpHeaderConfig: { HttpHeaderName: 'X A', Values: ['a'] } }]), 'ValidationError', /HttpHeaderName/);
    await fails(create([{ Field: 'http-header', HttpHeaderConfig: { HttpHeaderName: 'Host', Values: ['a'] } }]), 'ValidationError', /host-header/);
    await fails(create([{ Field: 'host-header', HostHeaderConfig: { Values: ['exa mple.com'] } }]), 'ValidationError', /may only contain/);
    await fails(create([{ Field: 'path-pattern', PathPatternConfig: { Values: ['/a\r\nX: y'] } }]), 'ValidationError', /may only contain/);
    await fails(create([{ Field: 'path-pattern', PathPatternConfig: { Values: ['/a#comment'] } }]), 'ValidationError');
    await fails(create([{ Field: 'path-pattern', PathPatternConfig: { Values: ['/' + 'a'.repeat(128)] } }]), 'ValidationError', /1-128/);
    await fails(create([{ Field: 'query-string', QueryStringConfig: { Values: [{ Key: 'a b', Value: 'c' }] } }]), 'ValidationError', /without spaces/);
    await fails(create([{ Field: 'query-string', QueryStringConfig: { Values: [{ Key: 'a' }] } }]), 'ValidationError', /Value/);
    await fails(create([{ Field: 'path-pattern', PathPatternConfig: { Values: ['/a', '/b', '/c', '/d'] } }]), 'ValidationError', /at most 3/);
    await fails(create([
      { Field: 'path-pattern', PathPatternConfig: { Values: ['/a', '/b', '/c'] } },
      { Field: 'host-header', HostHeaderConfig: { Values: ['a', 'b', 'c'] } },
    ]), 'ValidationError', /at most 5/);
    await fails(create([pathIs('/a')[0]!, pathIs('/b')[0]!]), 'ValidationError', /at most one 'path-pattern'/);
    await fails(create([{ Field: 'path-pattern', Values: ['/a', '/b'] }]), 'ValidationError', /legacy/);
    await fails(create([{ Field: 'path-pattern', Values: ['/a'], PathPatternConfig: { Values: ['/a'] } }]), 'ValidationError', /not both/);
    await fails(create([{ Field: 'path-pattern', HostHeaderConfig: { Values: ['a'] } }]), 'ValidationError', /cannot be given/);
    await fails(create([{ Field: 'source-ip', SourceIpConfig: { Values: ['10.0.0.0/8'] } }]), 'ValidationError', /not supported by Wharf/);
    await fails(create([{ Field: 'path-pattern', PathPatternConfig: { RegexValues: ['^/a$'] } }]), 'ValidationError', /RegexValues/);
    await fails(create([]), 'ValidationError', /at least one condition/);
    await fails(create(pathIs('/a'), 0), 'ValidationError', /at 'priority'/);
    await fails(() => elb.send(new CreateRuleCommand({ ListenerArn: listener.ListenerArn!.replace(/[0-9a-f]{16}$/, 'dddddddddddddddd'), Priority: 1, Conditions: pathIs('/a'), Actions: fixed() })),
      'ListenerNotFoundException');
  });

  it('priorities are unique per listener; SetRulePriorities swaps atomically or changes nothing', async () => {
    const lb = await createLb();
    const listener = await createListener(lb.LoadBalancerArn!);
    const create = async (Priority: number) =>
      (await elb.send(new CreateRuleCommand({ ListenerArn: listener.ListenerArn, Priority, Conditions: pathIs(`/${Priority}`), Actions: fixed('200') }))).Rules![0]!;
    const one = await create(1);
    const two = await create(2);
    await fails(() => create(2), 'PriorityInUseException', /'2'/);
    const swapped = await elb.send(new SetRulePrioritiesCommand({ RulePriorities: [{ RuleArn: one.RuleArn, Priority: 2 }, { RuleArn: two.RuleArn, Priority: 1 }] }));
    assert.deepEqual(swapped.Rules?.map((r) => [r.RuleArn, r.Priority]), [[one.RuleArn, '2'], [two.RuleArn, '1']]);
    await fails(() => elb.send(new SetRulePrioritiesCommand({ RulePriorities: [{ RuleArn: one.RuleArn, Priority: 1 }] })), 'PriorityInUseException');
    const rules = await elb.send(new DescribeRulesCommand({ ListenerArn: listener.ListenerArn }));
    const defaultArn = rules.Rules!.find((r) => r.IsDefault)!.RuleArn!;
    await fails(() => elb.send(new SetRulePrioritiesCommand({ RulePriorities: [{ RuleArn: defaultArn, Priority: 9 }] })), 'OperationNotPermittedException');
    await fails(() => elb.send(new SetRulePrioritiesCommand({ RulePriorities: [] })), 'ValidationError');
    await fails(() => elb.send(new SetRulePrioritiesCommand({ RulePriorities: [{ RuleArn: one.RuleArn, Priority: 8 }, { RuleArn: one.RuleArn, Priority: 9 }] })), 'ValidationError', /more than once/);
    await fails(() => elb.send(new DescribeRulesCommand({ ListenerArn: listener.ListenerArn, RuleArns: [one.RuleArn!] })), 'ValidationError');
    await fails(() => elb.send(new SetRulePrioritiesCommand({ RulePriorities: [{ RuleArn: one.RuleArn, Priority: 7 }, { RuleArn: one.RuleArn!.replace(/[0-9a-f]{16}$/, 'cccccccccccccccc'), Priority: 8 }] })),
      'RuleNotFoundException');
  });

  it('ModifyRule replaces conditions or actions; the default rule changes only its actions; DeleteRule', async () => {
    const lb = await createLb();
    const listener = await createListener(lb.LoadBalancerArn!);
    const rule = (await elb.send(new CreateRuleCommand({ ListenerArn: listener.ListenerArn, Priority: 4, Conditions: pathIs('/old'), Actions: fixed('200') }))).Rules![0]!;
    const modified = await elb.send(new ModifyRuleCommand({ RuleArn: rule.RuleArn, Conditions: pathIs('/new') }));
    assert.deepEqual(modified.Rules?.[0]?.Conditions?.[0]?.Values, ['/new']);
    assert.deepEqual(modified.Rules?.[0]?.Actions, rule.Actions);
    await fails(() => elb.send(new ModifyRuleCommand({ RuleArn: rule.RuleArn, Actions: [{ Type: 'forward', TargetGroupArn: rule.RuleArn!.replace(/listener-rule.*/, 'targetgroup/nope/0000000000000000') }] })),
      'TargetGroupNotFoundException');
    const defaultArn = (await elb.send(new DescribeRulesCommand({ ListenerArn: listener.ListenerArn }))).Rules!.find((r) => r.IsDefault)!.RuleArn!;
    const tg = await putTargetGroup();
    const newDefault = await elb.send(new ModifyRuleCommand({ RuleArn: defaultArn, Actions: [{ Type: 'forward', TargetGroupArn: tg }] }));
    assert.equal(newDefault.Rules?.[0]?.IsDefault, true);
    const listenerNow = await elb.send(new DescribeListenersCommand({ ListenerArns: [listener.ListenerArn!] }));
    assert.equal(listenerNow.Listeners?.[0]?.DefaultActions?.[0]?.TargetGroupArn, tg);
    await fails(() => elb.send(new ModifyRuleCommand({ RuleArn: defaultArn, Conditions: pathIs('/x') })), 'OperationNotPermittedException');
    await fails(() => elb.send(new ModifyRuleCommand({ RuleArn: rule.RuleArn, Transforms: [{ Type: 'url-rewrite', UrlRewriteConfig: { Rewrites: [{ Regex: '^/a', Replace: '/b' }] } }] })),
      'ValidationError', /transforms/);
    await fails(() => elb.send(new DeleteRuleCommand({ RuleArn: defaultArn })), 'OperationNotPermittedException');
    await elb.send(new DeleteRuleCommand({ RuleArn: rule.RuleArn }));
    await fails(() => elb.send(new DeleteRuleCommand({ RuleArn: rule.RuleArn })), 'RuleNotFoundException');
    await fails(() => elb.send(new ModifyRuleCommand({ RuleArn: rule.RuleArn, Conditions: pathIs('/y') })), 'RuleNotFoundException');
  });

  it('a listener holds at most 100 rules besides its default one', async () => {
    const lb = await createLb();
    const listener = await createListener(lb.LoadBalancerArn!);
    for (let priority = 1; priority <= 100; priority++) {
      await elb.send(new CreateRuleCommand({ ListenerArn: listener.ListenerArn, Priority: priority, Conditions: pathIs(`/${priority}`), Actions: fixed('200') }));
    }
    await fails(() => elb.send(new CreateRuleCommand({ ListenerArn: listener.ListenerArn, Priority: 101, Conditions: pathIs('/101'), Actions: fixed('200') })),
      'TooManyRulesException');
  });
});

describe('tags', () => {
  it('AddTags, RemoveTags and DescribeTags on load balancers, listeners, rules, default rules and target groups', async () => {
    const lb = await createLb();
    const listener = await createListener(lb.LoadBalancerArn!);
    const rule = (await elb.send(new CreateRuleCommand({ ListenerArn: listener.ListenerArn, Priority: 1, Conditions: pathIs('/'), Actions: fixed('200') }))).Rules![0]!;
    const defaultArn = (await elb.send(new DescribeRulesCommand({ ListenerArn: listener.ListenerArn }))).Rules!.find((r) => r.IsDefault)!.RuleArn!;
    const tg = await putTargetGroup();
    const arns = [lb.LoadBalancerArn!, listener.ListenerArn!, rule.RuleArn!, defaultArn, tg];
    await elb.send(new AddTagsCommand({ ResourceArns: arns, Tags: [{ Key: 'team', Value: 'web' }, { Key: 'flag' }] }));
    await elb.send(new AddTagsCommand({ ResourceArns: [listener.ListenerArn!], Tags: [{ Key: 'team', Value: 'ops' }] }));
    const described = await elb.send(new DescribeTagsCommand({ ResourceArns: arns }));
    assert.deepEqual(described.TagDescriptions?.map((d) => [d.ResourceArn, d.Tags]), [
      [lb.LoadBalancerArn, [{ Key: 'team', Value: 'web' }, { Key: 'flag' }]],
      [listener.ListenerArn, [{ Key: 'team', Value: 'ops' }, { Key: 'flag' }]],
      [rule.RuleArn, [{ Key: 'team', Value: 'web' }, { Key: 'flag' }]],
      [defaultArn, [{ Key: 'team', Value: 'web' }, { Key: 'flag' }]],
      [tg, [{ Key: 'team', Value: 'web' }, { Key: 'flag' }]],
    ]);
    await elb.send(new RemoveTagsCommand({ ResourceArns: [defaultArn, tg], TagKeys: ['team'] }));
    const after = await elb.send(new DescribeTagsCommand({ ResourceArns: [defaultArn, tg, listener.ListenerArn!] }));
    assert.deepEqual(after.TagDescriptions?.map((d) => d.Tags), [[{ Key: 'flag' }], [{ Key: 'flag' }], [{ Key: 'team', Value: 'ops' }, { Key: 'flag' }]]);
  });

  it('a missing resource, a bad ARN or a tag over the limit changes no resource at all', async () => {
    const lb = await createLb();
    const listener = await createListener(lb.LoadBalancerArn!);
    const gone = lb.LoadBalancerArn!.replace(/[0-9a-f]{16}$/, 'aaaaaaaaaaaaaaaa');
    await fails(() => elb.send(new AddTagsCommand({ ResourceArns: [lb.LoadBalancerArn!, gone], Tags: [{ Key: 'k', Value: 'v' }] })), 'LoadBalancerNotFoundException');
    await fails(() => elb.send(new AddTagsCommand({ ResourceArns: [lb.LoadBalancerArn!, listener.ListenerArn!.replace(/[0-9a-f]{16}$/, 'bbbbbbbbbbbbbbbb')], Tags: [{ Key: 'k' }] })),
      'ListenerNotFoundException');
    await fails(() => elb.send(new AddTagsCommand({ ResourceArns: [lb.LoadBalancerArn!.replace(/loadbalancer\/app\/[^/]+/, 'targetgroup/none')], Tags: [{ Key: 'k' }] })),
      'TargetGroupNotFoundException');
    await fails(() => elb.send(new DescribeTagsCommand({ ResourceArns: [listener.ListenerArn!.replace(':listener/', ':listener-rule/') + '/abababababababab'] })), 'RuleNotFoundException');
    await fails(() => elb.send(new DescribeTagsCommand({ ResourceArns: ['arn:aws:s3:::bucket'] })), 'ValidationError');
    await fails(() => elb.send(new DescribeTagsCommand({ ResourceArns: Array.from({ length: 21 }, () => lb.LoadBalancerArn!) })), 'ValidationError', /20/);
    await elb.send(new AddTagsCommand({ ResourceArns: [listener.ListenerArn!], Tags: Array.from({ length: 50 }, (_, i) => ({ Key: `k${i}` })) }));
    await fails(() => elb.send(new AddTagsCommand({ ResourceArns: [lb.LoadBalancerArn!, listener.ListenerArn!], Tags: [{ Key: 'one-more' }] })), 'TooManyTagsException');
    await fails(() => elb.send(new AddTagsCommand({ ResourceArns: [lb.LoadBalancerArn!], Tags: [{ Key: 'd' }, { Key: 'd' }] })), 'DuplicateTagKeysException');
    const tags = await elb.send(new DescribeTagsCommand({ ResourceArns: [lb.LoadBalancerArn!] }));
    assert.deepEqual(tags.TagDescriptions?.[0]?.Tags, []);
  });
});

it('quotas: 50 load balancers, 50 listeners per load balancer', async () => {
  const fresh = await startInProcessServer();
  const client = new ElasticLoadBalancingV2Client({ endpoint: fresh.url, region: 'us-east-1', credentials: TEST_CREDENTIALS, maxAttempts: 1 });
  try {
    const arns: string[] = [];
    for (let i = 0; i < 50; i++) arns.push((await client.send(new CreateLoadBalancerCommand({ Name: `quota-${i}` }))).LoadBalancers![0]!.LoadBalancerArn!);
    const over = await client.send(new CreateLoadBalancerCommand({ Name: 'quota-50' })).then(() => undefined, (e: unknown) => e);
    assert.ok(over instanceof ElasticLoadBalancingV2ServiceException && over.name === 'TooManyLoadBalancersException', String(over));
    for (let i = 0; i < 50; i++) {
      await client.send(new CreateListenerCommand({ LoadBalancerArn: arns[0], Protocol: 'HTTP', Port: 30_000 + i, DefaultActions: fixed() }));
    }
    const tooMany = await client.send(new CreateListenerCommand({ LoadBalancerArn: arns[0], Protocol: 'HTTP', Port: 30_050, DefaultActions: fixed() }))
      .then(() => undefined, (e: unknown) => e);
    assert.ok(tooMany instanceof ElasticLoadBalancingV2ServiceException && tooMany.name === 'TooManyListenersException', String(tooMany));
    assert.equal(await fresh.store.get(keys.listenerPort(30_050)), undefined);
  } finally {
    client.destroy();
    await fresh.close();
  }
});

it('the ECS API keeps working beside ELBv2 on the same port', async () => {
  const clusters = await server.ecs.send(new (await import('@aws-sdk/client-ecs')).ListClustersCommand({}));
  assert.ok(Array.isArray(clusters.clusterArns));
});
