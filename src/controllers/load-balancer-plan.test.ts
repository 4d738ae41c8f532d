import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import type { ListenerRecord, LoadBalancerRecord, LoadBalancingSnapshot, RuleRecord, TargetGroupRecord, TargetRecord } from '../domain/index.js';
import { buildLoadBalancerConfig, planTargets } from './load-balancer-plan.js';

const LB = 'arn:aws:elasticloadbalancing:us-east-1:123456789012:loadbalancer/app/web/1';
const LISTENER = 'arn:aws:elasticloadbalancing:us-east-1:123456789012:listener/app/web/1/l1';
const TLS_LISTENER = 'arn:aws:elasticloadbalancing:us-east-1:123456789012:listener/app/web/1/l2';
const TG = (name: string) => `arn:aws:elasticloadbalancing:us-east-1:123456789012:targetgroup/${name}/1`;

const loadBalancer = (): LoadBalancerRecord => ({
  LoadBalancerArn: LB, LoadBalancerName: 'web', Type: 'application', State: { Code: 'provisioning' }, CreatedTime: 0,
  attributes: { 'idle_timeout.timeout_seconds': '30' }, tags: [],
});

const targetGroup = (name: string, attributes: Record<string, string> = {}): TargetGroupRecord => ({
  TargetGroupArn: TG(name), TargetGroupName: name, TargetType: 'instance', Protocol: 'HTTP', Port: 80,
  HealthCheckProtocol: 'HTTP', HealthCheckPort: 'traffic-port', HealthCheckEnabled: true, HealthCheckIntervalSeconds: 10,
  HealthCheckTimeoutSeconds: 4, HealthyThresholdCount: 3, UnhealthyThresholdCount: 2, HealthCheckPath: '/ping', Matcher: { HttpCode: '200-299' },
  attributes: { 'deregistration_delay.timeout_seconds': '300', ...attributes }, tags: [],
});

const target = (group: string, id: string, port: number, extra: Partial<TargetRecord> = {}): TargetRecord => ({
  TargetGroupArn: TG(group), Id: id, Port: port, address: '10.0.0.1', registeredAt: 1000, health: { State: 'initial', Reason: 'Elb.RegistrationInProgress', Description: 'Target registration is in progress' }, ...extra,
});

const entry = <T>(key: string, value: T, modRevision = 1) => ({ key, value, createRevision: 1, modRevision });

function snapshot(): LoadBalancingSnapshot {
  const listener: ListenerRecord = { ListenerArn: LISTENER, LoadBalancerArn: LB, Port: 80, Protocol: 'HTTP', DefaultActions: [{ Type: 'forward', TargetGroupArn: TG('blue') }], tags: [] };
  const tls: ListenerRecord = { ListenerArn: TLS_LISTENER, LoadBalancerArn: LB, Port: 443, Protocol: 'HTTPS', DefaultActions: [{ Type: 'forward', TargetGroupArn: TG('blue') }], tags: [] };
  const rules: RuleRecord[] = [
    { RuleArn: 'r10', ListenerArn: LISTENER, Priority: '10', Conditions: [{ Field: 'path-pattern', Values: ['/old/*'] }], Actions: [{ Type: 'redirect', RedirectConfig: { StatusCode: 'HTTP_302', Path: '/new/#{path}' } }], tags: [] },
    { RuleArn: 'r2', ListenerArn: LISTENER, Priority: '2', Conditions: [{ Field: 'host-header', HostHeaderConfig: { Values: ['api.example.com'] } }, { Field: 'http-header', HttpHeaderConfig: { HttpHeaderName: 'X-Canary', Values: ['1'] } }],
      Actions: [{ Type: 'forward', ForwardConfig: { TargetGroups: [{ TargetGroupArn: TG('blue'), Weight: 90 }, { TargetGroupArn: TG('green'), Weight: 10 }, { TargetGroupArn: TG('deleted'), Weight: 5 }] } }], tags: [] },
    { RuleArn: 'r3', ListenerArn: LISTENER, Priority: '3', Conditions: [{ Field: 'path-pattern', Values: ['/admin'] }],
      Actions: [{ Type: 'authenticate-oidc', Order: 1 }, { Type: 'fixed-response', Order: 2, FixedResponseConfig: { StatusCode: '200' } }], tags: [] },
    { RuleArn: 'r4', ListenerArn: LISTENER, Priority: '4', Conditions: [{ Field: 'source-ip', SourceIpConfig: { Values: ['10.0.0.0/8'] } }], Actions: [{ Type: 'fixed-response', FixedResponseConfig: { StatusCode: '403' } }], tags: [] },
    { RuleArn: 'r5', ListenerArn: LISTENER, Priority: '5', Conditions: [{ Field: 'query-string', QueryStringConfig: { Values: [{ Key: 'v', Value: '2' }, { Value: 'beta' }] } }], Actions: [{ Type: 'fixed-response', FixedResponseConfig: { StatusCode: '404', ContentType: 'text/plain', MessageBody: 'no' } }], tags: [] },
  ];
  return {
    loadBalancers: [entry('elbv2/load-balancers/web', loadBalancer())],
    listeners: [listener, tls], rules,
    targetGroups: [
      targetGroup('blue', { 'load_balancing.algorithm.type': 'least_outstanding_requests', 'slow_start.duration_seconds': '30', 'stickiness.enabled': 'true', 'stickiness.type': 'lb_cookie', 'stickiness.lb_cookie.duration_seconds': '600' }),
      targetGroup('green'), targetGroup('idle'),
    ],
    targets: [
      entry('elbv2/targets/blue/i-1:80', target('blue', 'i-1', 80)),
      entry('elbv2/targets/blue/i-2:80', target('blue', 'i-2', 80, { deregisteredAt: 2000 })),
      entry('elbv2/targets/idle/i-3:80', target('idle', 'i-3', 80)),
    ],
  };
}

describe('buildLoadBalancerConfig', () => {
  it('builds listeners, rules by priority, and the target groups they forward to', () => {
    const { config, unsupported } = buildLoadBalancerConfig(snapshot(), loadBalancer());
    assert.equal(config.idleTimeoutSeconds, 30);
    assert.equal(config.listeners.length, 1);
    const [listener] = config.listeners;
    assert.deepEqual(listener!.defaultAction, { type: 'forward', targetGroups: [{ targetGroupId: TG('blue'), weight: 1 }] });
    assert.deepEqual(listener!.rules.map((r) => r.priority), [2, 5, 10]);
    assert.deepEqual(listener!.rules[0]!.conditions, [{ field: 'host-header', values: ['api.example.com'] }, { field: 'http-header', headerName: 'X-Canary', values: ['1'] }]);
    assert.deepEqual(listener!.rules[0]!.action, { type: 'forward', targetGroups: [{ targetGroupId: TG('blue'), weight: 90 }, { targetGroupId: TG('green'), weight: 10 }] });
    assert.deepEqual(listener!.rules[1]!.conditions, [{ field: 'query-string', values: [{ key: 'v', value: '2' }, { value: 'beta' }] }]);
    assert.deepEqual(listener!.rules[1]!.action, { type: 'fixed-response', statusCode: 404, contentType: 'text/plain', messageBody: 'no' });
    assert.deepEqual(listener!.rules[2]!.action, { type: 'redirect', statusCode: 302, protocol: '#{protocol}', host: '#{host}', port: '#{port}', path: '/new/#{path}', query: '#{query}' });
    assert.deepEqual(unsupported.map((u) => u.split(':').at(-1)!.trim()), ['action authenticate-oidc', 'condition source-ip', 'protocol HTTPS']);
    assert.deepEqual(config.targetGroups.map((g) => g.targetGroupId), [TG('blue'), TG('green')]);
    const blue = config.targetGroups[0]!;
    assert.equal(blue.algorithm, 'least_outstanding_requests');
    assert.equal(blue.slowStartSeconds, 30);
    assert.equal(blue.stickinessSeconds, 600);
    assert.deepEqual(blue.healthCheck, { protocol: 'HTTP', port: 'traffic-port', path: '/ping', intervalSeconds: 10, timeoutSeconds: 4, healthyThreshold: 3, unhealthyThreshold: 2, matcher: '200-299' });
    assert.deepEqual(blue.targets, [
      { targetId: 'i-1:80', address: '10.0.0.1', port: 80, draining: false },
      { targetId: 'i-2:80', address: '10.0.0.1', port: 80, draining: true },
    ]);
    assert.equal(config.targetGroups[1]!.stickinessSeconds, undefined);
  });
});

describe('planTargets', () => {
  const base = snapshot();
  const inUse = new Set([TG('blue'), TG('green')]);

  it('writes health from the data plane only when it changed, and unused for groups no listener uses', () => {
    const health = new Map([[TG('blue'), new Map([['i-1:80', { State: 'healthy' as const }]])]]);
    const plan = planTargets({ targets: base.targets, targetGroups: base.targetGroups, health, inUse, failed: new Set(), nowMs: 2100_000 });
    assert.deepEqual(plan.healthWrites.map((w) => [w.entry.value.Id, w.health.State, w.health.Reason]), [
      ['i-1', 'healthy', undefined], ['i-2', 'draining', 'Target.DeregistrationInProgress'], ['i-3', 'unused', 'Target.NotInUse'],
    ]);
    assert.deepEqual(plan.deletions, []);
    assert.equal(plan.wakeAfterMs, 200_000);
    const settled = base.targets.map((e, i) => ({ ...e, value: { ...e.value, health: plan.healthWrites[i]!.health } }));
    assert.deepEqual(planTargets({ targets: settled, targetGroups: base.targetGroups, health, inUse, failed: new Set(), nowMs: 2100_000 }).healthWrites, []);
  });

  it('deletes a deregistered target once the deregistration delay has passed', () => {
    const plan = planTargets({ targets: base.targets, targetGroups: base.targetGroups, health: new Map(), inUse, failed: new Set(), nowMs: 2300_000 });
    assert.deepEqual(plan.deletions.map((e) => e.value.Id), ['i-2']);
    assert.equal(plan.wakeAfterMs, undefined);
    const shortDelay = base.targetGroups.map((g) => ({ ...g, attributes: { ...g.attributes, 'deregistration_delay.timeout_seconds': '0' } }));
    assert.deepEqual(planTargets({ targets: base.targets, targetGroups: shortDelay, health: new Map(), inUse, failed: new Set(), nowMs: 2000_000 }).deletions.map((e) => e.value.Id), ['i-2']);
  });

  it('deletes a deregistered target at once when no load balancer uses its group', () => {
    const plan = planTargets({ targets: base.targets, targetGroups: base.targetGroups, health: new Map(), inUse: new Set(), failed: new Set(), nowMs: 2000_000 });
    assert.deepEqual(plan.deletions.map((e) => e.value.Id), ['i-2']);
  });

  it('reports registration in progress before the data plane answers, and an internal error when it failed', () => {
    const pending = planTargets({ targets: base.targets.slice(0, 1), targetGroups: base.targetGroups, health: new Map(), inUse, failed: new Set(), nowMs: 2000_000 });
    assert.deepEqual(pending.healthWrites, []);
    const failed = planTargets({ targets: base.targets.slice(0, 1), targetGroups: base.targetGroups, health: new Map(), inUse, failed: new Set([TG('blue')]), nowMs: 2000_000 });
    assert.deepEqual(failed.healthWrites.map((w) => w.health), [{ State: 'unhealthy', Reason: 'Elb.InternalError', Description: 'Health checks failed due to an internal error' }]);
  });
});
