import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { evaluateExpression, MetricMathError, referencedIds, type Series } from './metric-math.js';

const a: Series = new Map([[1, 10], [2, 20], [3, 30]]);
const b: Series = new Map([[2, 4], [3, 0], [4, 8]]);
const lookup = (id: string) => {
  if (id === 'a') return a;
  if (id === 'b') return b;
  throw new MetricMathError(`Unknown id ${id}.`);
};
const run = (e: string) => evaluateExpression(e, lookup);

describe('metric math', () => {
  it('does arithmetic with precedence, parentheses and unary minus', () => {
    assert.equal(run('1 + 2 * 3'), 7);
    assert.equal(run('(1 + 2) * 3'), 9);
    assert.equal(run('-2 * -3'), 6);
    assert.equal(run('10 / 4'), 2.5);
  });

  it('pairs series on equal timestamps, drops division by zero, applies scalars to every value', () => {
    assert.deepEqual(run('a + b'), new Map([[2, 24], [3, 30]]));
    assert.deepEqual(run('a / b'), new Map([[2, 5]]));
    assert.deepEqual(run('a * 2 - 1'), new Map([[1, 19], [2, 39], [3, 59]]));
    assert.deepEqual(run('100 / a'), new Map([[1, 10], [2, 5], [3, 100 / 30]]));
  });

  it('reduces one series to a scalar and several to a series', () => {
    assert.equal(run('SUM(a)'), 60);
    assert.equal(run('AVG(a)'), 20);
    assert.equal(run('MAX(b)'), 8);
    assert.deepEqual(run('SUM([a, b])'), new Map([[1, 10], [2, 24], [3, 30], [4, 8]]));
    assert.deepEqual(run('MIN(a, b)'), new Map([[1, 10], [2, 4], [3, 0], [4, 8]]));
    assert.deepEqual(run('ABS(b - a)'), new Map([[2, 16], [3, 30]]));
  });

  it('names the ids an expression reads, not its functions', () => {
    assert.deepEqual(referencedIds('SUM([m1, m2]) / total'), ['m1', 'm2', 'total']);
  });

  it('refuses what it cannot read', () => {
    for (const bad of ['a +', '(a', 'a b', 'ANOMALY_DETECTION_BAND(a)', 'a $ b', 'x * 2', 'SUM()', '']) {
      assert.throws(() => run(bad), MetricMathError, bad);
    }
  });
});
