/**
 * Target groups and targets through the real ELBv2 SDK (awsQuery, XML) against an in-process
 * server: every operation's answer parses into the SDK's shapes, and each fault arrives as the
 * SDK's own exception class. Load balancers come from the testkit's fixture (the domain's own
 * CreateLoadBalancer and CreateListener).
 */
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import {
  CreateTargetGroupCommand, DeleteTargetGroupCommand, DeregisterTargetsCommand, DescribeTargetGroupAttributesCommand, DescribeTargetGroupsCommand,
  DescribeTargetHealthCommand, DuplicateTargetGroupNameException, ElasticLoadBalancingV2Client, InvalidTargetException, ModifyTargetGroupAttributesCommand,
  ModifyTargetGroupCommand, RegisterTargetsCommand, ResourceInUseException, TargetGroupNotFoundException,
} from '@aws-sdk/client-elastic-load-balancing-v2';
import type { DomainContext } from '../../domain/index.js';
import { attachLoadBalancer } from '../../testkit/elb-fixtures.js';
import { startInProcessServer, TEST_CREDENTIALS, TEST_SCOPE, type InProcessServer } from '../../testkit/in-process-server.js';

describe('ELBv2 target groups through the SDK', () => {
  let s: InProcessServer;
  let elb: ElasticLoadBalancingV2Client;
  let ctx: DomainContext;

  before(async () => {
    s = await startInProcessServer();
    elb = new ElasticLoadBalancingV2Client({ endpoint: s.url, region: 'us-east-1', credentials: TEST_CREDENTIALS, maxAttempts: 1 });
    ctx = { store: s.store, scope: TEST_SCOPE, nowMs: Date.now, principalArn: `arn:aws:iam::${TEST_SCOPE.accountId}:root`, log: () => undefined };
  });
  after(async () => { elb.destroy(); await s.close(); });

  it('creates, describes, modifies and deletes a target group', async () => {
    const created = await elb.send(new CreateTargetGroupCommand({
      Name: 'sdk-web', Protocol: 'HTTP', Port: 8080, VpcId: 'vpc-1', HealthCheckPath: '/health', Matcher: { HttpCode: '200-299' },
      HealthCheckIntervalSeconds: 5, HealthCheckTimeoutSeconds: 2, HealthyThresholdCount: 2, Tags: [{ Key: 'team', Value: 'web' }],
    }));
    const tg = created.TargetGroups![0]!;
    assert.match(tg.TargetGroupArn!, /^arn:aws:elasticloadbalancing:us-east-1:123456789012:targetgroup\/sdk-web\/[0-9a-f]{16}$/);
    assert.deepEqual([tg.Protocol, tg.Port, tg.TargetType, tg.HealthCheckPath, tg.Matcher?.HttpCode, tg.HealthCheckIntervalSeconds, tg.HealthCheckEnabled, tg.LoadBalancerArns],
      ['HTTP', 8080, 'instance', '/health', '200-299', 5, true, []]);

    const lbArn = await attachLoadBalancer(ctx, 'sdk-front', tg.TargetGroupArn);
    const described = await elb.send(new DescribeTargetGroupsCommand({ Names: ['sdk-web'] }));
    assert.deepEqual(described.TargetGroups![0]!.LoadBalancerArns, [lbArn]);
    const byLb = await elb.send(new DescribeTargetGroupsCommand({ LoadBalancerArn: lbArn }));
    assert.deepEqual(byLb.TargetGroups!.map((t) => t.TargetGroupName), ['sdk-web']);

    const modified = await elb.send(new ModifyTargetGroupCommand({ TargetGroupArn: tg.TargetGroupArn, HealthCheckPort: '9000', UnhealthyThresholdCount: 3 }));
    assert.deepEqual([modified.TargetGroups![0]!.HealthCheckPort, modified.TargetGroups![0]!.UnhealthyThresholdCount], ['9000', 3]);

    const attrs = await elb.send(new ModifyTargetGroupAttributesCommand({
      TargetGroupArn: tg.TargetGroupArn, Attributes: [{ Key: 'deregistration_delay.timeout_seconds', Value: '10' }, { Key: 'stickiness.enabled', Value: 'true' }],
    }));
    const map = Object.fromEntries(attrs.Attributes!.map((a) => [a.Key, a.Value]));
    assert.equal(map['deregistration_delay.timeout_seconds'], '10');
    assert.equal(map['stickiness.enabled'], 'true');
    const again = await elb.send(new DescribeTargetGroupAttributesCommand({ TargetGroupArn: tg.TargetGroupArn }));
    assert.deepEqual(again.Attributes, attrs.Attributes);

    await assert.rejects(elb.send(new DeleteTargetGroupCommand({ TargetGroupArn: tg.TargetGroupArn })), ResourceInUseException);
  });

  it('pages DescribeTargetGroups with PageSize and Marker', async () => {
    for (const n of ['page-a', 'page-b', 'page-c']) await elb.send(new CreateTargetGroupCommand({ Name: n, Protocol: 'TCP', Port: 80 }));
    const names: string[] = [];
    let Marker: string | undefined;
    do {
      const page = await elb.send(new DescribeTargetGroupsCommand({ PageSize: 2, ...(Marker ? { Marker } : {}) }));
      assert.ok(page.TargetGroups!.length <= 2);
      names.push(...page.TargetGroups!.map((t) => t.TargetGroupName!));
      Marker = page.NextMarker;
    } while (Marker);
    assert.deepEqual(names.filter((n) => n.startsWith('page-')), ['page-a', 'page-b', 'page-c']);
  });

  it('registers, describes the health of and deregisters ip targets', async () => {
    const tg = (await elb.send(new CreateTargetGroupCommand({ Name: 'sdk-ips', Protocol: 'HTTP', Port: 80, TargetType: 'ip' }))).TargetGroups![0]!;
    await attachLoadBalancer(ctx, 'sdk-ips-front', tg.TargetGroupArn);
    await elb.send(new RegisterTargetsCommand({ TargetGroupArn: tg.TargetGroupArn, Targets: [{ Id: '10.1.0.1' }, { Id: '10.1.0.2', Port: 81 }] }));
    const health = await elb.send(new DescribeTargetHealthCommand({ TargetGroupArn: tg.TargetGroupArn }));
    assert.deepEqual(health.TargetHealthDescriptions!.map((d) => [d.Target?.Id, d.Target?.Port, d.HealthCheckPort, d.TargetHealth?.State, d.TargetHealth?.Reason]), [
      ['10.1.0.1', 80, '80', 'initial', 'Elb.RegistrationInProgress'], ['10.1.0.2', 81, '81', 'initial', 'Elb.RegistrationInProgress'],
    ]);
    await elb.send(new DeregisterTargetsCommand({ TargetGroupArn: tg.TargetGroupArn, Targets: [{ Id: '10.1.0.1' }] }));
    const asked = await elb.send(new DescribeTargetHealthCommand({ TargetGroupArn: tg.TargetGroupArn, Targets: [{ Id: '10.1.0.1' }, { Id: '10.1.0.9', Port: 80 }] }));
    assert.deepEqual(asked.TargetHealthDescriptions!.map((d) => [d.Target?.Id, d.TargetHealth?.State, d.TargetHealth?.Reason]), [
      ['10.1.0.1', 'draining', 'Target.DeregistrationInProgress'], ['10.1.0.9', 'unused', 'Target.NotRegistered'],
    ]);
  });

  it('answers each fault as the SDK\'s exception', async () => {
    const missing = 'arn:aws:elasticloadbalancing:us-east-1:123456789012:targetgroup/nope/0123456789abcdef';
    await assert.rejects(elb.send(new DescribeTargetGroupsCommand({ TargetGroupArns: [missing] })), TargetGroupNotFoundException);
    await assert.rejects(elb.send(new RegisterTargetsCommand({ TargetGroupArn: missing, Targets: [{ Id: '10.0.0.1' }] })), TargetGroupNotFoundException);
    await elb.send(new CreateTargetGroupCommand({ Name: 'dup', Protocol: 'HTTP', Port: 80 }));
    await assert.rejects(elb.send(new CreateTargetGroupCommand({ Name: 'dup', Protocol: 'HTTP', Port: 81 })), DuplicateTargetGroupNameException);
    await assert.rejects(elb.send(new CreateTargetGroupCommand({ Name: 'slow', Protocol: 'HTTP', Port: 80, HealthCheckIntervalSeconds: 5, HealthCheckTimeoutSeconds: 6 })),
      (err: Error & { $metadata?: { httpStatusCode?: number } }) => {
        assert.equal(err.name, 'ValidationError');
        assert.equal(err.message, 'Health check interval must be greater than the timeout.');
        assert.equal(err.$metadata?.httpStatusCode, 400);
        return true;
      });
    const ips = (await elb.send(new CreateTargetGroupCommand({ Name: 'bad-ips', Protocol: 'TCP', Port: 80, TargetType: 'ip' }))).TargetGroups![0]!;
    await assert.rejects(elb.send(new RegisterTargetsCommand({ TargetGroupArn: ips.TargetGroupArn, Targets: [{ Id: 'not-an-ip' }] })), InvalidTargetException);
  });
});
