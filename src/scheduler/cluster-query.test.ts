import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { ClusterQueryError, matches, parseClusterQuery, type InstanceFacts } from './cluster-query.js';

const instance = (over: Partial<InstanceFacts> & { attrs?: Record<string, string> } = {}): InstanceFacts => ({
  attributes: new Map(Object.entries(over.attrs ?? { 'ecs.instance-type': 't2.small', 'ecs.availability-zone': 'us-east-1a' })),
  agentConnected: true,
  agentVersion: '1.14.2',
  ec2InstanceId: 'i-abcd1234',
  registeredAtMs: Date.parse('2018-06-18T22:28:28Z'),
  runningTasksCount: 3,
  taskGroups: new Set(['service:production']),
  ...over,
});
const check = (q: string, i = instance()) => matches(parseClusterQuery(q), i);

describe('cluster query language', () => {
  it('evaluates the examples of the ECS documentation', () => {
    assert.equal(check('attribute:ecs.instance-type == t2.small'), true);
    assert.equal(check('attribute:ecs.availability-zone in [us-east-1a, us-east-1b]'), true);
    assert.equal(check('attribute:ecs.instance-type =~ g2.* and attribute:ecs.availability-zone != us-east-1d'), false);
    assert.equal(check('attribute:ecs.instance-type =~ t2.* and attribute:ecs.availability-zone != us-east-1d'), true);
    assert.equal(check('task:group == service:production'), true);
    assert.equal(check('not(task:group == database)'), true);
    assert.equal(check('agentVersion < 1.14.5'), true);
    assert.equal(check("ec2InstanceId in ['i-abcd1234', 'i-wxyx7890']"), true);
    assert.equal(check('registeredAt < 2018-07-01'), true);
    assert.equal(check('registeredAt >= 2018-06-18T22:28:28+00:00'), true);
    assert.equal(check('runningTasksCount > 2 && agentConnected == true'), true);
  });

  it('knows words and symbols alike, precedence and parentheses', () => {
    assert.equal(check('runningTasksCount greater_than 10 or attribute:ecs.instance-type equals t2.small'), true);
    assert.equal(check('runningTasksCount > 10 || runningTasksCount < 1 && agentConnected == true'), false);
    assert.equal(check('(runningTasksCount > 10 || runningTasksCount > 1) && agentConnected == true'), true);
    assert.equal(check('! agentConnected == true'), false);
    assert.equal(check('attribute:stack exists'), false);
    assert.equal(check('attribute:stack !exists'), true);
    assert.equal(check('attribute:ecs.instance-type not_in [m5.large]'), true);
    assert.equal(check('attribute:stack == prod', instance({ attrs: { stack: 'prod' } })), true);
    assert.equal(check('attribute:ecs.instance-type !~ t2\\..*'), false);
    assert.equal(check('attribute:ecs.instance-type =~ t[23].(small|large)'), true);
  });

  it('names where a malformed expression fails', () => {
    const failsAt = (q: string, position: number, reason: RegExp) =>
      assert.throws(() => parseClusterQuery(q), (e: unknown) => e instanceof ClusterQueryError && e.position === position && reason.test(e.reason));
    failsAt('attribute:x ==', 14, /expected a value/);
    failsAt('attribute:x == a and', 20, /expected a subject/);
    failsAt('colour == red', 0, /unknown subject 'colour'/);
    failsAt('attribute:x is red', 12, /expected an operator/);
    failsAt('(attribute:x == a', 17, /expected '\)'/);
    failsAt('attribute:x in [a, b', 20, /expected '\]'/);
    failsAt('attribute:x == a b', 17, /unexpected 'b'/);
    failsAt("attribute:x == 'open", 15, /unterminated string/);
    failsAt('attribute:x =~ (', 15, /expected a value/);
    failsAt('attribute:x =~ a[', 15, /invalid regular expression/);
    failsAt('attribute:x =~ g[23', 15, /invalid regular expression/);
    failsAt('', 0, /empty expression/);
  });
});
