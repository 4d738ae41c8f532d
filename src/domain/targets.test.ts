import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { attachLoadBalancer, elbContext, rejectsWith as rejects } from '../testkit/elb-fixtures.js';
import type { DomainContext } from './context.js';
import { keys } from './keys.js';
import type { ContainerInstanceRecord, TargetRecord } from './records.js';
import { createTargetGroup, modifyTargetGroup, modifyTargetGroupAttributes } from './target-groups.js';
import { deregisterServiceTargets, deregisterTargets, describeTargetHealth, registerServiceTargets, registerTargets } from './targets.js';

const ECS = 'arn:aws:ecs:us-east-1:123456789012';

async function instance(ctx: DomainContext, id: string, ec2InstanceId: string, extra: Partial<ContainerInstanceRecord> = {}): Promise<void> {
  await ctx.store.put(keys.cluster('c1'), { clusterName: 'c1', clusterArn: `${ECS}:cluster/c1`, status: 'ACTIVE' });
  const record: ContainerInstanceRecord = {
    containerInstanceArn: `${ECS}:container-instance/c1/${id}`, ec2InstanceId, status: 'ACTIVE', agentConnected: true, tags: [],
    agentAddress: '10.0.0.7', attributes: [{ name: 'ecs.availability-zone', value: 'zone-a' }], ...extra,
  };
  await ctx.store.put(keys.containerInstance('c1', id), record);
}

const health = async (ctx: DomainContext, arn: string, targets?: { Id: string; Port?: number }[]) =>
  (await describeTargetHealth(ctx, { TargetGroupArn: arn, ...(targets ? { Targets: targets } : {}) })).TargetHealthDescriptions
    .map((d) => [`${d.Target!.Id}:${d.Target!.Port ?? ''}`, d.TargetHealth!.State, d.TargetHealth!.Reason]);

describe('targets', () => {
  it('registers instance targets at their instance\'s address, unused until a load balancer forwards to the group', async () => {
    const ctx = elbContext();
    await instance(ctx, 'a1', 'i-0123456789abcdef0');
    const arn = (await createTargetGroup(ctx, { Name: 'web', Protocol: 'HTTP', Port: 80 })).TargetGroups[0]!.TargetGroupArn!;
    await registerTargets(ctx, { TargetGroupArn: arn, Targets: [{ Id: 'i-0123456789abcdef0' }, { Id: 'i-0123456789abcdef0', Port: 8080 }] });
    const stored = (await ctx.store.get<TargetRecord>(keys.target('web', 'i-0123456789abcdef0', 8080)))!.value;
    assert.deepEqual([stored.address, stored.AvailabilityZone, stored.Port], ['10.0.0.7', undefined, 8080]);
    assert.deepEqual(await health(ctx, arn), [
      ['i-0123456789abcdef0:80', 'unused', 'Target.NotInUse'], ['i-0123456789abcdef0:8080', 'unused', 'Target.NotInUse'],
    ]);
    await attachLoadBalancer(ctx, 'front', arn);
    const described = (await describeTargetHealth(ctx, { TargetGroupArn: arn })).TargetHealthDescriptions[0]!;
    assert.deepEqual(described, {
      Target: { Id: 'i-0123456789abcdef0', Port: 80 }, HealthCheckPort: '80',
      TargetHealth: { State: 'initial', Reason: 'Elb.RegistrationInProgress', Description: 'Target registration is in progress' },
    });
    await modifyTargetGroup(ctx, { TargetGroupArn: arn, HealthCheckPort: '9000' });
    assert.equal((await describeTargetHealth(ctx, { TargetGroupArn: arn })).TargetHealthDescriptions[0]!.HealthCheckPort, '9000');
  });

  it('answers the health the load-balancer controller wrote, and unavailable while checks are disabled', async () => {
    const ctx = elbContext();
    const arn = (await createTargetGroup(ctx, { Name: 'web', Protocol: 'HTTP', Port: 80, TargetType: 'ip' })).TargetGroups[0]!.TargetGroupArn!;
    await attachLoadBalancer(ctx, 'front', arn);
    await registerTargets(ctx, { TargetGroupArn: arn, Targets: [{ Id: '10.0.0.1' }, { Id: '10.0.0.2' }] });
    assert.deepEqual(await health(ctx, arn), [['10.0.0.1:80', 'initial', 'Elb.RegistrationInProgress'], ['10.0.0.2:80', 'initial', 'Elb.RegistrationInProgress']]);
    const key = keys.target('web', '10.0.0.2', 80);
    const entry = (await ctx.store.get<TargetRecord>(key))!;
    await ctx.store.put(key, { ...entry.value, health: { State: 'unhealthy', Reason: 'Target.ResponseCodeMismatch', Description: 'Health checks failed with these codes: [503]' } });
    const [, second] = (await describeTargetHealth(ctx, { TargetGroupArn: arn })).TargetHealthDescriptions;
    assert.deepEqual(second!.TargetHealth, { State: 'unhealthy', Reason: 'Target.ResponseCodeMismatch', Description: 'Health checks failed with these codes: [503]' });
    await modifyTargetGroup(ctx, { TargetGroupArn: arn, HealthCheckEnabled: false });
    assert.deepEqual((await health(ctx, arn))[1], ['10.0.0.2:80', 'unavailable', 'Target.HealthCheckDisabled']);
  });

  it('answers a target asked for but not registered as unused / Target.NotRegistered, and all registrations of an Id without a port', async () => {
    const ctx = elbContext();
    const arn = (await createTargetGroup(ctx, { Name: 'web', Protocol: 'HTTP', Port: 80, TargetType: 'ip' })).TargetGroups[0]!.TargetGroupArn!;
    await registerTargets(ctx, { TargetGroupArn: arn, Targets: [{ Id: '10.0.0.1', Port: 81 }, { Id: '10.0.0.1', Port: 82 }] });
    assert.deepEqual(await health(ctx, arn, [{ Id: '10.0.0.1' }, { Id: '10.0.0.9', Port: 80 }]), [
      ['10.0.0.1:81', 'unused', 'Target.NotInUse'], ['10.0.0.1:82', 'unused', 'Target.NotInUse'], ['10.0.0.9:80', 'unused', 'Target.NotRegistered'],
    ]);
  });

  it('drains a deregistered target for the deregistration delay, then no longer answers it; registering it again brings it back', async () => {
    const ctx = elbContext();
    const arn = (await createTargetGroup(ctx, { Name: 'web', Protocol: 'HTTP', Port: 80, TargetType: 'ip' })).TargetGroups[0]!.TargetGroupArn!;
    await attachLoadBalancer(ctx, 'front', arn);
    await modifyTargetGroupAttributes(ctx, { TargetGroupArn: arn, Attributes: [{ Key: 'deregistration_delay.timeout_seconds', Value: '10' }] });
    await registerTargets(ctx, { TargetGroupArn: arn, Targets: [{ Id: '10.0.0.1' }] });
    await deregisterTargets(ctx, { TargetGroupArn: arn, Targets: [{ Id: '10.0.0.1' }] });
    assert.deepEqual(await health(ctx, arn), [['10.0.0.1:80', 'draining', 'Target.DeregistrationInProgress']]);
    await deregisterTargets(ctx, { TargetGroupArn: arn, Targets: [{ Id: '10.0.0.1', Port: 80 }] }); // again: nothing changes
    ctx.clock.ms += 10_000;
    assert.deepEqual(await health(ctx, arn), []);
    await registerTargets(ctx, { TargetGroupArn: arn, Targets: [{ Id: '10.0.0.1' }] });
    assert.deepEqual(await health(ctx, arn), [['10.0.0.1:80', 'initial', 'Elb.RegistrationInProgress']]);
  });

  it('in a group no load balancer uses, a deregistered target is gone at once', async () => {
    const ctx = elbContext();
    const arn = (await createTargetGroup(ctx, { Name: 'web', Protocol: 'HTTP', Port: 80, TargetType: 'ip' })).TargetGroups[0]!.TargetGroupArn!;
    await registerTargets(ctx, { TargetGroupArn: arn, Targets: [{ Id: '10.0.0.1' }, { Id: '10.0.0.2' }] });
    await deregisterTargets(ctx, { TargetGroupArn: arn, Targets: [{ Id: '10.0.0.1' }] });
    assert.deepEqual(await health(ctx, arn), [['10.0.0.2:80', 'unused', 'Target.NotInUse']]);
    assert.deepEqual(await health(ctx, arn, [{ Id: '10.0.0.1', Port: 80 }]), [['10.0.0.1:80', 'unused', 'Target.NotRegistered']]);
  });

  it('refuses bad targets with InvalidTarget, writing none of the batch', async () => {
    const ctx = elbContext();
    await instance(ctx, 'a1', 'i-0123456789abcdef0');
    await instance(ctx, 'a2', 'i-0000000000000000a', { agentAddress: undefined });
    await instance(ctx, 'a3', 'i-0000000000000000b', { status: 'INACTIVE' });
    const byInstance = (await createTargetGroup(ctx, { Name: 'web', Protocol: 'HTTP', Port: 80 })).TargetGroups[0]!.TargetGroupArn!;
    const byIp = (await createTargetGroup(ctx, { Name: 'ips', Protocol: 'TCP', Port: 80, TargetType: 'ip' })).TargetGroups[0]!.TargetGroupArn!;
    await rejects(registerTargets(ctx, { TargetGroupArn: byInstance, Targets: [{ Id: 'i-0123456789abcdef0' }, { Id: 'i-0000000000000000a' }, { Id: 'i-0000000000000000b' }, { Id: 'nope' }] }),
      'InvalidTarget', /not in a running state and cannot be registered: 'i-0000000000000000a', 'i-0000000000000000b', 'nope'/);
    await rejects(registerTargets(ctx, { TargetGroupArn: byIp, Targets: [{ Id: '10.0.0.1' }, { Id: '10.0.0.256' }] }), 'InvalidTarget', /not a valid IPv4 address/);
    await rejects(registerTargets(ctx, { TargetGroupArn: byInstance, Targets: [{ Id: 'i-0123456789abcdef0', AvailabilityZone: 'all' }] }), 'ValidationError');
    await rejects(registerTargets(ctx, { TargetGroupArn: byInstance, Targets: [] }), 'ValidationError');
    await rejects(registerTargets(ctx, { TargetGroupArn: byInstance.replace('/web/', '/nope/'), Targets: [{ Id: '10.0.0.1' }] }), 'TargetGroupNotFound');
    assert.deepEqual(await health(ctx, byInstance), []);
    assert.deepEqual(await health(ctx, byIp), []);
    await rejects(deregisterTargets(ctx, { TargetGroupArn: byIp, Targets: [{ Id: '10.0.0.5' }] }), 'InvalidTarget', /not registered/);
  });

  it('refuses more than 1,000 targets in one group with TooManyTargets', async () => {
    const ctx = elbContext();
    const arn = (await createTargetGroup(ctx, { Name: 'big', Protocol: 'TCP', Port: 80, TargetType: 'ip' })).TargetGroups[0]!.TargetGroupArn!;
    const batch = (from: number) => Array.from({ length: 500 }, (_, i) => ({ Id: `10.0.${Math.floor((from + i) / 250)}.${(from + i) % 250}` }));
    await registerTargets(ctx, { TargetGroupArn: arn, Targets: batch(0) });
    await registerTargets(ctx, { TargetGroupArn: arn, Targets: batch(500) });
    await rejects(registerTargets(ctx, { TargetGroupArn: arn, Targets: [{ Id: '10.9.9.9' }] }), 'TooManyTargets');
    await registerTargets(ctx, { TargetGroupArn: arn, Targets: [{ Id: '10.0.0.0' }] }); // already registered: not a new one
  });

  it('registers and deregisters service tasks\' targets, taking over a key an earlier task left draining', async () => {
    const ctx = elbContext();
    const arn = (await createTargetGroup(ctx, { Name: 'web', Protocol: 'HTTP', Port: 80 })).TargetGroups[0]!.TargetGroupArn!;
    await attachLoadBalancer(ctx, 'front', arn);
    const target = { TargetGroupArn: arn, Id: 'i-0123456789abcdef0', Port: 49153, address: '10.0.0.7', taskArn: `${ECS}:task/c1/t1` };
    await registerServiceTargets(ctx, [target]);
    await registerServiceTargets(ctx, [target]);
    const key = keys.target('web', target.Id, target.Port);
    const first = (await ctx.store.get<TargetRecord>(key))!;
    assert.equal(first.value.taskArn, target.taskArn);
    assert.equal(first.value.health.State, 'initial');
    await deregisterServiceTargets(ctx, [{ ...target, taskArn: `${ECS}:task/c1/other` }]);
    assert.equal((await ctx.store.get<TargetRecord>(key))!.value.deregisteredAt, undefined, 'another task\'s deregistration leaves it alone');
    await deregisterServiceTargets(ctx, [target]);
    assert.equal((await ctx.store.get<TargetRecord>(key))!.value.deregisteredAt, ctx.clock.ms / 1000);
    await registerServiceTargets(ctx, [{ ...target, taskArn: `${ECS}:task/c1/t2` }]);
    const taken = (await ctx.store.get<TargetRecord>(key))!.value;
    assert.deepEqual([taken.taskArn, taken.deregisteredAt, taken.health.State], [`${ECS}:task/c1/t2`, undefined, 'initial']);
    await registerServiceTargets(ctx, [{ ...target, TargetGroupArn: arn.replace('/web/', '/gone/') }]); // a deleted group is skipped
  });
});
