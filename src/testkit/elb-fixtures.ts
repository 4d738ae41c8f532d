/** Fixtures for ELBv2 domain tests: a domain context on an in-memory store with a settable clock, and load balancers written straight into the store. */
import assert from 'node:assert/strict';
import type { DomainContext, ListenerRecord, LoadBalancerRecord, RuleRecord } from '../domain/index.js';
import { keys } from '../domain/index.js';
import { SqliteStore } from '../store/index.js';

const SCOPE = { partition: 'aws', region: 'us-east-1', accountId: '123456789012' };
export const ELB_ARN_PREFIX = 'arn:aws:elasticloadbalancing:us-east-1:123456789012';

/** A context whose clock only moves when a test sets `clock.ms`. */
export function elbContext(): DomainContext & { clock: { ms: number } } {
  const clock = { ms: 1_800_000_000_000 };
  return {
    store: new SqliteStore({ path: ':memory:' }), scope: SCOPE, nowMs: () => clock.ms,
    principalArn: `arn:aws:iam::${SCOPE.accountId}:root`, log: () => undefined, clock,
  };
}

/** A load balancer with one listener forwarding to `defaultTg` and one rule forwarding (weighted) to `ruleTg`. */
export async function attachLoadBalancer(ctx: DomainContext, name: string, defaultTg: string | undefined, ruleTg?: string): Promise<string> {
  const lbArn = `${ELB_ARN_PREFIX}:loadbalancer/app/${name}/0123456789abcdef`;
  // Ids from the name, so several load balancers in one store keep their listeners and rules apart.
  const listenerId = Buffer.from(name).toString('hex').padEnd(16, '0').slice(0, 16);
  const lb: LoadBalancerRecord = {
    LoadBalancerArn: lbArn, LoadBalancerName: name, Type: 'application', State: { Code: 'active' }, CreatedTime: 0, attributes: {}, tags: [],
  };
  await ctx.store.put(keys.loadBalancer(name), lb);
  const listenerArn = `${ELB_ARN_PREFIX}:listener/app/${name}/0123456789abcdef/${listenerId}`;
  const listener: ListenerRecord = {
    ListenerArn: listenerArn, LoadBalancerArn: lbArn, Port: 80, Protocol: 'HTTP', tags: [],
    DefaultActions: defaultTg ? [{ Type: 'forward', TargetGroupArn: defaultTg }] : [{ Type: 'fixed-response', FixedResponseConfig: { StatusCode: '404' } }],
  };
  await ctx.store.put(keys.listener(name, listenerId), listener);
  if (ruleTg) {
    const rule: RuleRecord = {
      RuleArn: `${ELB_ARN_PREFIX}:listener-rule/app/${name}/0123456789abcdef/${listenerId}/1111111111111111`, ListenerArn: listenerArn, Priority: '10', tags: [],
      Conditions: [{ Field: 'path-pattern', Values: ['/api/*'] }],
      Actions: [{ Type: 'forward', ForwardConfig: { TargetGroups: [{ TargetGroupArn: ruleTg, Weight: 1 }] } }],
    };
    await ctx.store.put(keys.rule(listenerId, '1111111111111111'), rule);
  }
  return lbArn;
}

/** Asserts that `promise` rejects with a WharfError of `code` whose message matches. */
export async function rejectsWith(promise: Promise<unknown>, code: string, message?: RegExp): Promise<void> {
  await assert.rejects(promise, (err: Error & { code?: string }) => {
    assert.equal(err.code, code, err.message);
    if (message) assert.match(err.message, message);
    return true;
  });
}
