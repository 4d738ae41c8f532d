import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { attachLoadBalancer, elbContext, ELB_ARN_PREFIX as ELB, rejectsWith as rejects } from '../testkit/elb-fixtures.js';
import { keys } from './keys.js';
import {
  createTargetGroup, deleteTargetGroup, describeTargetGroupAttributes, describeTargetGroups, modifyTargetGroup, modifyTargetGroupAttributes,
  parseMatcher,
} from './target-groups.js';
import { registerTargets } from './targets.js';


describe('target groups', () => {
  it('fills in ELB\'s defaults for an HTTP target group', async () => {
    const ctx = elbContext();
    const { TargetGroups: [tg] } = await createTargetGroup(ctx, { Name: 'web', Protocol: 'HTTP', Port: 80, VpcId: 'vpc-1' });
    assert.match(tg!.TargetGroupArn!, /^arn:aws:elasticloadbalancing:us-east-1:123456789012:targetgroup\/web\/[0-9a-f]{16}$/);
    assert.deepEqual({ ...tg, TargetGroupArn: undefined }, {
      TargetGroupArn: undefined, TargetGroupName: 'web', Protocol: 'HTTP', Port: 80, VpcId: 'vpc-1', TargetType: 'instance', IpAddressType: 'ipv4',
      ProtocolVersion: 'HTTP1', HealthCheckProtocol: 'HTTP', HealthCheckPort: 'traffic-port', HealthCheckEnabled: true, HealthCheckIntervalSeconds: 30,
      HealthCheckTimeoutSeconds: 5, HealthyThresholdCount: 5, UnhealthyThresholdCount: 2, HealthCheckPath: '/', Matcher: { HttpCode: '200' },
      LoadBalancerArns: [],
    });
    const { Attributes } = await describeTargetGroupAttributes(ctx, { TargetGroupArn: tg!.TargetGroupArn });
    assert.deepEqual(Object.fromEntries(Attributes.map((a) => [a.Key, a.Value])), {
      'deregistration_delay.timeout_seconds': '300', 'stickiness.enabled': 'false', 'stickiness.type': 'lb_cookie',
      'stickiness.lb_cookie.duration_seconds': '86400', 'slow_start.duration_seconds': '0', 'load_balancing.algorithm.type': 'round_robin',
    });
  });

  it('fills in ELB\'s defaults for a TCP target group, with TCP or HTTP checks', async () => {
    const ctx = elbContext();
    const { TargetGroups: [tcp] } = await createTargetGroup(ctx, { Name: 'db', Protocol: 'TCP', Port: 5432, TargetType: 'ip' });
    assert.equal(tcp!.HealthCheckProtocol, 'TCP');
    assert.equal(tcp!.HealthCheckTimeoutSeconds, 10);
    assert.equal(tcp!.HealthCheckPath, undefined);
    assert.equal(tcp!.Matcher, undefined);
    assert.equal(tcp!.TargetType, 'ip');
    const { TargetGroups: [checked] } = await createTargetGroup(ctx, { Name: 'db-http', Protocol: 'TCP', Port: 5432, HealthCheckProtocol: 'HTTP' });
    assert.equal(checked!.HealthCheckTimeoutSeconds, 6);
    assert.deepEqual(checked!.Matcher, { HttpCode: '200-399' });
    const { Attributes } = await describeTargetGroupAttributes(ctx, { TargetGroupArn: tcp!.TargetGroupArn });
    assert.deepEqual(Object.fromEntries(Attributes.map((a) => [a.Key, a.Value])),
      { 'deregistration_delay.timeout_seconds': '300', 'stickiness.enabled': 'false', 'stickiness.type': 'source_ip' });
  });

  it('refuses what ELB refuses, naming the fault', async () => {
    const ctx = elbContext();
    const base = { Name: 'ok', Protocol: 'HTTP' as const, Port: 80 };
    await rejects(createTargetGroup(ctx, { ...base, Name: 'a'.repeat(33) }), 'ValidationError', /32 characters/);
    await rejects(createTargetGroup(ctx, { ...base, Name: 'bad_name' }), 'ValidationError', /alphanumeric/);
    await rejects(createTargetGroup(ctx, { ...base, Name: '-edge' }), 'ValidationError', /begin or end/);
    await rejects(createTargetGroup(ctx, { ...base, Name: 'internal-x' }), 'ValidationError', /internal-/);
    await rejects(createTargetGroup(ctx, { Name: 'x', Port: 80 }), 'ValidationError', /protocol must be specified/);
    await rejects(createTargetGroup(ctx, { Name: 'x', Protocol: 'HTTP' }), 'ValidationError', /port must be specified/);
    await rejects(createTargetGroup(ctx, { ...base, Protocol: 'UDP' }), 'ValidationError', /Protocol 'UDP'/);
    await rejects(createTargetGroup(ctx, { ...base, TargetType: 'lambda' }), 'ValidationError', /Target type 'lambda'/);
    await rejects(createTargetGroup(ctx, { ...base, HealthCheckIntervalSeconds: 5, HealthCheckTimeoutSeconds: 5 }), 'ValidationError',
      /interval must be greater than the timeout/);
    await rejects(createTargetGroup(ctx, { ...base, HealthCheckTimeoutSeconds: 1 }), 'ValidationError', /HealthCheckTimeoutSeconds must be between 2 and 120/);
    await rejects(createTargetGroup(ctx, { ...base, HealthyThresholdCount: 11 }), 'ValidationError', /HealthyThresholdCount/);
    await rejects(createTargetGroup(ctx, { ...base, HealthCheckPort: '70000' }), 'ValidationError', /traffic-port/);
    await rejects(createTargetGroup(ctx, { ...base, HealthCheckPort: 'eighty' }), 'ValidationError', /traffic-port/);
    await rejects(createTargetGroup(ctx, { ...base, HealthCheckPath: 'health' }), 'ValidationError', /must begin with a '\/'/);
    await rejects(createTargetGroup(ctx, { ...base, HealthCheckProtocol: 'TCP' }), 'ValidationError', /not supported for target groups with the HTTP protocol/);
    await rejects(createTargetGroup(ctx, { ...base, Protocol: 'TCP', HealthCheckPath: '/x' }), 'ValidationError', /path is only supported/);
    await rejects(createTargetGroup(ctx, { ...base, Matcher: { HttpCode: '500' } }), 'ValidationError', /between 200 and 499/);
    await rejects(createTargetGroup(ctx, { ...base, Matcher: { HttpCode: '299-200' } }), 'ValidationError', /matcher/);
    await rejects(createTargetGroup(ctx, { ...base, Tags: [{ Key: 'a' }, { Key: 'a' }] }), 'DuplicateTagKeys');
    await rejects(createTargetGroup(ctx, { ...base, Tags: [{ Key: 'aws:x' }] }), 'ValidationError', /reserved/);
    assert.deepEqual((await describeTargetGroups(ctx, {})).TargetGroups, [], 'nothing was written');
  });

  it('parses matchers: codes, lists and ranges, within the protocol\'s bounds', () => {
    assert.deepEqual(parseMatcher('200'), [{ from: 200, to: 200 }]);
    assert.deepEqual(parseMatcher('200,202'), [{ from: 200, to: 200 }, { from: 202, to: 202 }]);
    assert.deepEqual(parseMatcher('200-299,301'), [{ from: 200, to: 299 }, { from: 301, to: 301 }]);
    assert.deepEqual(parseMatcher('200-599', 599), [{ from: 200, to: 599 }]);
    assert.throws(() => parseMatcher('200-599'), /between 200 and 499/);
    assert.throws(() => parseMatcher('199'), /matcher/);
    assert.throws(() => parseMatcher('2xx'), /matcher/);
    assert.throws(() => parseMatcher(''), /matcher/);
  });

  it('answers a repeated create with the same settings, and refuses a different one with DuplicateTargetGroupName', async () => {
    const ctx = elbContext();
    const first = await createTargetGroup(ctx, { Name: 'web', Protocol: 'HTTP', Port: 80 });
    const again = await createTargetGroup(ctx, { Name: 'web', Protocol: 'HTTP', Port: 80 });
    assert.equal(again.TargetGroups[0]!.TargetGroupArn, first.TargetGroups[0]!.TargetGroupArn);
    await rejects(createTargetGroup(ctx, { Name: 'web', Protocol: 'HTTP', Port: 8080 }), 'DuplicateTargetGroupName',
      /A target group with the same name 'web' exists, but with different settings/);
  });

  it('describes by names, ARNs or load balancer, pages with Marker, and derives LoadBalancerArns from listeners and rules', async () => {
    const ctx = elbContext();
    const arns: string[] = [];
    for (const n of ['a', 'b', 'c', 'd', 'e']) arns.push((await createTargetGroup(ctx, { Name: n, Protocol: 'HTTP', Port: 80 })).TargetGroups[0]!.TargetGroupArn!);
    const lbArn = await attachLoadBalancer(ctx, 'front', arns[1], arns[3]);

    const byName = await describeTargetGroups(ctx, { Names: ['d', 'b'] });
    assert.deepEqual(byName.TargetGroups.map((t) => [t.TargetGroupName, t.LoadBalancerArns]), [['d', [lbArn]], ['b', [lbArn]]]);
    const byArn = await describeTargetGroups(ctx, { TargetGroupArns: [arns[0]!] });
    assert.deepEqual(byArn.TargetGroups.map((t) => [t.TargetGroupName, t.LoadBalancerArns]), [['a', []]]);
    const byLb = await describeTargetGroups(ctx, { LoadBalancerArn: lbArn });
    assert.deepEqual(byLb.TargetGroups.map((t) => t.TargetGroupName), ['b', 'd']);

    const seen: string[] = [];
    let marker: string | undefined;
    do {
      const page = await describeTargetGroups(ctx, { PageSize: 2, ...(marker ? { Marker: marker } : {}) });
      assert.ok(page.TargetGroups.length <= 2);
      seen.push(...page.TargetGroups.map((t) => t.TargetGroupName!));
      marker = page.NextMarker;
    } while (marker);
    assert.deepEqual(seen, ['a', 'b', 'c', 'd', 'e']);

    await rejects(describeTargetGroups(ctx, { Names: ['a', 'nope'] }), 'TargetGroupNotFound');
    // The same name with another id: a target group of that name made earlier and deleted.
    const otherId = `${arns[0]!.slice(0, -1)}${arns[0]!.endsWith('0') ? '1' : '0'}`;
    await rejects(describeTargetGroups(ctx, { TargetGroupArns: [otherId] }), 'TargetGroupNotFound');
    await rejects(describeTargetGroups(ctx, { LoadBalancerArn: `${ELB}:loadbalancer/app/nope/0123456789abcdef` }), 'LoadBalancerNotFound');
    await rejects(describeTargetGroups(ctx, { Names: ['a'], LoadBalancerArn: lbArn }), 'ValidationError', /Only one of/);
    await rejects(describeTargetGroups(ctx, { Marker: 'garbage' }), 'ValidationError', /marker/);
  });

  it('modifies health checks with the same rules, switching a TCP group\'s checks to HTTP with HTTP\'s defaults', async () => {
    const ctx = elbContext();
    const arn = (await createTargetGroup(ctx, { Name: 'web', Protocol: 'HTTP', Port: 80 })).TargetGroups[0]!.TargetGroupArn!;
    const out = await modifyTargetGroup(ctx, {
      TargetGroupArn: arn, HealthCheckPath: '/health', HealthCheckIntervalSeconds: 5, HealthCheckTimeoutSeconds: 2,
      HealthyThresholdCount: 2, Matcher: { HttpCode: '200-299' }, HealthCheckPort: '8081',
    });
    const tg = out.TargetGroups[0]!;
    assert.deepEqual([tg.HealthCheckPath, tg.HealthCheckIntervalSeconds, tg.HealthCheckTimeoutSeconds, tg.HealthyThresholdCount, tg.Matcher, tg.HealthCheckPort],
      ['/health', 5, 2, 2, { HttpCode: '200-299' }, '8081']);
    await rejects(modifyTargetGroup(ctx, { TargetGroupArn: arn, HealthCheckTimeoutSeconds: 5 }), 'ValidationError', /interval must be greater/);
    assert.equal((await describeTargetGroups(ctx, { Names: ['web'] })).TargetGroups[0]!.HealthCheckTimeoutSeconds, 2, 'a refused modify changes nothing');
    await rejects(modifyTargetGroup(ctx, { TargetGroupArn: `${ELB}:targetgroup/nope/0123456789abcdef` }), 'TargetGroupNotFound');

    const tcp = (await createTargetGroup(ctx, { Name: 'tcp', Protocol: 'TCP', Port: 9000 })).TargetGroups[0]!.TargetGroupArn!;
    const http = (await modifyTargetGroup(ctx, { TargetGroupArn: tcp, HealthCheckProtocol: 'HTTP', HealthCheckPath: '/ok' })).TargetGroups[0]!;
    assert.deepEqual([http.HealthCheckProtocol, http.HealthCheckPath, http.Matcher, http.HealthCheckTimeoutSeconds], ['HTTP', '/ok', { HttpCode: '200-399' }, 6]);
    const back = (await modifyTargetGroup(ctx, { TargetGroupArn: tcp, HealthCheckProtocol: 'TCP' })).TargetGroups[0]!;
    assert.deepEqual([back.HealthCheckProtocol, back.HealthCheckPath, back.Matcher], ['TCP', undefined, undefined]);
  });

  it('modifies attributes within ELB\'s bounds, all or none', async () => {
    const ctx = elbContext();
    const arn = (await createTargetGroup(ctx, { Name: 'web', Protocol: 'HTTP', Port: 80 })).TargetGroups[0]!.TargetGroupArn!;
    const set = (Attributes: { Key: string; Value: string }[]) => modifyTargetGroupAttributes(ctx, { TargetGroupArn: arn, Attributes });
    const out = await set([
      { Key: 'deregistration_delay.timeout_seconds', Value: '5' }, { Key: 'stickiness.enabled', Value: 'true' },
      { Key: 'stickiness.lb_cookie.duration_seconds', Value: '60' }, { Key: 'load_balancing.algorithm.type', Value: 'least_outstanding_requests' },
    ]);
    const attrs = Object.fromEntries(out.Attributes.map((a) => [a.Key, a.Value]));
    assert.equal(attrs['deregistration_delay.timeout_seconds'], '5');
    assert.equal(attrs['load_balancing.algorithm.type'], 'least_outstanding_requests');
    assert.equal(Object.keys(attrs).length, 6, 'every attribute is answered');

    await rejects(set([{ Key: 'deregistration_delay.timeout_seconds', Value: '3601' }]), 'ValidationError', /between 0 and 3600/);
    await rejects(set([{ Key: 'deregistration_delay.timeout_seconds', Value: '-1' }]), 'ValidationError', /between 0 and 3600/);
    await rejects(set([{ Key: 'slow_start.duration_seconds', Value: '10' }]), 'ValidationError', /between 30 and 900/);
    await rejects(set([{ Key: 'slow_start.duration_seconds', Value: '60' }]), 'InvalidConfigurationRequest', /least outstanding requests/);
    await rejects(set([{ Key: 'load_balancing.algorithm.type', Value: 'random' }]), 'ValidationError', /round_robin/);
    await rejects(set([{ Key: 'stickiness.type', Value: 'app_cookie' }]), 'ValidationError', /lb_cookie/);
    await rejects(set([{ Key: 'stickiness.enabled', Value: 'yes' }]), 'ValidationError', /'true' or 'false'/);
    await rejects(set([{ Key: 'constructor', Value: 'x' }]), 'ValidationError', /not recognized/);
    await rejects(set([{ Key: 'deregistration_delay.timeout_seconds', Value: '7' }, { Key: 'bogus', Value: '1' }]), 'ValidationError', /not recognized/);
    await rejects(set([]), 'ValidationError');
    const after = Object.fromEntries((await describeTargetGroupAttributes(ctx, { TargetGroupArn: arn })).Attributes.map((a) => [a.Key, a.Value]));
    assert.equal(after['deregistration_delay.timeout_seconds'], '5', 'a refused modify writes nothing');

    await set([{ Key: 'load_balancing.algorithm.type', Value: 'round_robin' }, { Key: 'slow_start.duration_seconds', Value: '30' }]);
    const tcp = (await createTargetGroup(ctx, { Name: 'tcp', Protocol: 'TCP', Port: 9000 })).TargetGroups[0]!.TargetGroupArn!;
    await rejects(modifyTargetGroupAttributes(ctx, { TargetGroupArn: tcp, Attributes: [{ Key: 'slow_start.duration_seconds', Value: '30' }] }),
      'ValidationError', /not recognized/);
  });

  it('refuses to delete a target group a listener or rule forwards to, and deletes one with its registrations otherwise', async () => {
    const ctx = elbContext();
    const used = (await createTargetGroup(ctx, { Name: 'used', Protocol: 'HTTP', Port: 80 })).TargetGroups[0]!.TargetGroupArn!;
    const byRule = (await createTargetGroup(ctx, { Name: 'by-rule', Protocol: 'HTTP', Port: 80 })).TargetGroups[0]!.TargetGroupArn!;
    const free = (await createTargetGroup(ctx, { Name: 'free', Protocol: 'HTTP', Port: 80, TargetType: 'ip' })).TargetGroups[0]!.TargetGroupArn!;
    await attachLoadBalancer(ctx, 'front', used, byRule);
    await rejects(deleteTargetGroup(ctx, { TargetGroupArn: used }), 'ResourceInUse', /currently in use by a listener or a rule/);
    await rejects(deleteTargetGroup(ctx, { TargetGroupArn: byRule }), 'ResourceInUse');
    await registerTargets(ctx, { TargetGroupArn: free, Targets: [{ Id: '10.0.0.1' }] });
    assert.equal((await ctx.store.list(keys.targetsOf('free'))).length, 1);
    await deleteTargetGroup(ctx, { TargetGroupArn: free });
    assert.equal((await ctx.store.list(keys.targetsOf('free'))).length, 0);
    await rejects(describeTargetGroups(ctx, { TargetGroupArns: [free] }), 'TargetGroupNotFound');
    assert.deepEqual(await deleteTargetGroup(ctx, { TargetGroupArn: free }), {}, 'deleting again succeeds');
    await rejects(deleteTargetGroup(ctx, { TargetGroupArn: 'not-an-arn' }), 'ValidationError');
  });
});
