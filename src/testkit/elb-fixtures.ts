/** Fixtures for ELBv2 tests: a domain context on an in-memory store with a settable clock, and load balancers forwarding to target groups. */
import assert from 'node:assert/strict';
import { createListener, createLoadBalancer, createRule, type DomainContext } from '../domain/index.js';
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

let listenerPort = 20_000;

/**
 * An application load balancer `name` (made through the domain, as CreateLoadBalancer makes it)
 * with one HTTP listener whose default action forwards to `defaultTg` (a fixed 404 without one),
 * and with `ruleTg`, a rule forwarding to it by weight. Answers the load balancer's ARN.
 */
export async function attachLoadBalancer(ctx: DomainContext, name: string, defaultTg: string | undefined, ruleTg?: string): Promise<string> {
  const lb = (await createLoadBalancer(ctx, { Name: name, Type: 'application' }, { dnsName: '127.0.0.1' })).LoadBalancers![0]!;
  // Every listener of one store needs a port of its own; nothing listens on it in these tests.
  const listener = (await createListener(ctx, {
    LoadBalancerArn: lb.LoadBalancerArn, Protocol: 'HTTP', Port: ++listenerPort,
    DefaultActions: defaultTg ? [{ Type: 'forward', TargetGroupArn: defaultTg }] : [{ Type: 'fixed-response', FixedResponseConfig: { StatusCode: '404' } }],
  })).Listeners![0]!;
  if (ruleTg) {
    await createRule(ctx, {
      ListenerArn: listener.ListenerArn, Priority: 10, Conditions: [{ Field: 'path-pattern', Values: ['/api/*'] }],
      Actions: [{ Type: 'forward', ForwardConfig: { TargetGroups: [{ TargetGroupArn: ruleTg, Weight: 1 }] } }],
    });
  }
  return lb.LoadBalancerArn!;
}

/** Asserts that `promise` rejects with a WharfError of `code` whose message matches. */
export async function rejectsWith(promise: Promise<unknown>, code: string, message?: RegExp): Promise<void> {
  await assert.rejects(promise, (err: Error & { code?: string }) => {
    assert.equal(err.code, code, err.message);
    if (message) assert.match(err.message, message);
    return true;
  });
}
