/**
 * Races between ELBv2 writes, made deterministic: a store that runs another operation to its end
 * right after the first one has listed a prefix, i.e. between its reads and its write.
 */
import { afterEach, beforeEach, it } from 'node:test';
import assert from 'node:assert/strict';
import { SqliteStore } from '../store/index.js';
import type { ListOptions, Store } from '../store/index.js';
import type { DomainContext } from './context.js';
import { keys } from './keys.js';
import { createListener, deleteListener } from './listeners.js';
import { createRule } from './listener-rules.js';
import { createLoadBalancer, deleteLoadBalancer } from './load-balancers.js';

let real: SqliteStore;
let ctx: DomainContext;
/** Runs once, right after keys under `prefix` are first listed through `racing`'s store. */
let interleave: { prefix: string; run: () => Promise<unknown> } | undefined;
let racing: DomainContext;

beforeEach(() => {
  real = new SqliteStore({ path: ':memory:' });
  const base = { scope: { partition: 'aws', region: 'us-east-1', accountId: '123456789012' }, nowMs: Date.now, principalArn: 'arn:aws:iam::123456789012:root', log: () => {} };
  ctx = { ...base, store: real };
  const store: Store = {
    get: (key) => real.get(key),
    list: async <T>(prefix: string, options?: ListOptions) => {
      const listed = await real.list<T>(prefix, options);
      const pending = interleave;
      if (pending !== undefined && prefix.startsWith(pending.prefix)) {
        interleave = undefined;
        await pending.run();
      }
      return listed;
    },
    put: (key, value, options) => real.put(key, value, options),
    delete: (key, options) => real.delete(key, options),
    txn: (ops) => real.txn(ops),
    watch: (prefix, onEvent) => real.watch(prefix, onEvent),
    close: () => real.close(),
  };
  racing = { ...base, store };
});
afterEach(async () => { await real.close(); });

const view = { dnsName: '127.0.0.1' };
const fixed = [{ Type: 'fixed-response' as const, FixedResponseConfig: { StatusCode: '200' } }];
const rejection = (promise: Promise<unknown>) => promise.then(() => undefined, (e: unknown) => e as Error);

it('a listener created while its load balancer is deleted is not left behind', async () => {
  const lb = (await createLoadBalancer(ctx, { Name: 'doomed' }, view)).LoadBalancers[0]!;
  interleave = { prefix: keys.listenersOf('doomed'), run: () => deleteLoadBalancer(ctx, { LoadBalancerArn: lb.LoadBalancerArn! }) };
  const err = await rejection(createListener(racing, { LoadBalancerArn: lb.LoadBalancerArn, Protocol: 'HTTP', Port: 8080, DefaultActions: fixed }));
  assert.equal(err?.name, 'LoadBalancerNotFound');
  assert.deepEqual(await real.list('elbv2/'), []);
});

it('a rule created while its listener is deleted is not left behind', async () => {
  const lb = (await createLoadBalancer(ctx, { Name: 'web' }, view)).LoadBalancers[0]!;
  const listener = (await createListener(ctx, { LoadBalancerArn: lb.LoadBalancerArn, Protocol: 'HTTP', Port: 8080, DefaultActions: fixed })).Listeners[0]!;
  interleave = { prefix: 'elbv2/rules/', run: () => deleteListener(ctx, { ListenerArn: listener.ListenerArn! }) };
  const err = await rejection(createRule(racing, {
    ListenerArn: listener.ListenerArn, Priority: 1, Conditions: [{ Field: 'path-pattern', Values: ['/a'] }], Actions: fixed,
  }));
  assert.equal(err?.name, 'ListenerNotFound');
  assert.deepEqual((await real.list('elbv2/')).map((e) => e.key), [keys.loadBalancer('web')]);
});

it('two rules racing for one priority: the later one gets PriorityInUse', async () => {
  const lb = (await createLoadBalancer(ctx, { Name: 'web' }, view)).LoadBalancers[0]!;
  const listener = (await createListener(ctx, { LoadBalancerArn: lb.LoadBalancerArn, Protocol: 'HTTP', Port: 8080, DefaultActions: fixed })).Listeners[0]!;
  const rule = (path: string) => ({ ListenerArn: listener.ListenerArn, Priority: 5, Conditions: [{ Field: 'path-pattern', Values: [path] }], Actions: fixed });
  interleave = { prefix: 'elbv2/rules/', run: () => createRule(ctx, rule('/first')) };
  const err = await rejection(createRule(racing, rule('/second')));
  assert.equal(err?.name, 'PriorityInUse');
  const rules = await real.list<{ Conditions: Array<{ Values: string[] }> }>('elbv2/rules/');
  assert.deepEqual(rules.map((r) => r.value.Conditions[0]?.Values), [['/first']]);
});

it('two load balancers racing for one port: the later one is refused', async () => {
  const a = (await createLoadBalancer(ctx, { Name: 'a' }, view)).LoadBalancers[0]!;
  const b = (await createLoadBalancer(ctx, { Name: 'b' }, view)).LoadBalancers[0]!;
  interleave = {
    prefix: keys.listenersOf('b'),
    run: () => createListener(ctx, { LoadBalancerArn: a.LoadBalancerArn, Protocol: 'HTTP', Port: 8080, DefaultActions: fixed }),
  };
  const err = await rejection(createListener(racing, { LoadBalancerArn: b.LoadBalancerArn, Protocol: 'HTTP', Port: 8080, DefaultActions: fixed }));
  assert.equal(err?.name, 'ValidationError');
  assert.match(err?.message ?? '', /already used by a listener of load balancer/);
  assert.deepEqual((await real.list(keys.listeners())).length, 1);
});
