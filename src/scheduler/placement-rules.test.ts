import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { ClientException, InvalidParameterException } from '../model/index.js';
import { defaultPlacementStrategy, validatePlacement, validateTaskDefinitionConstraints } from './placement-rules.js';

const refused = (fn: () => unknown, message: RegExp, type: new (m: string) => Error = InvalidParameterException) =>
  assert.throws(fn, (e: unknown) => e instanceof type && message.test((e as Error).message));

describe('validatePlacement', () => {
  it('compiles each strategy type and field', () => {
    const rules = validatePlacement(
      [{ type: 'spread', field: 'attribute:ecs.availability-zone' }, { type: 'spread', field: 'instanceId' }, { type: 'spread', field: 'host' },
        { type: 'binpack', field: 'cpu' }, { type: 'binpack', field: 'memory' }],
      [],
    );
    assert.deepEqual(rules.strategy, [
      { kind: 'spread-attribute', attribute: 'ecs.availability-zone' }, { kind: 'spread-instance' }, { kind: 'spread-instance' },
      { kind: 'binpack', resource: 'cpu' }, { kind: 'binpack', resource: 'memory' },
    ]);
  });

  it('drops the rules after random: random picks, so nothing is left to break a tie', () => {
    assert.deepEqual(validatePlacement([{ type: 'random' }, { type: 'binpack', field: 'memory' }], []).strategy, [{ kind: 'random' }]);
    // ... but still checks them.
    refused(() => validatePlacement([{ type: 'random' }, { type: 'binpack', field: 'disk' }], []), /Invalid field 'disk' for the binpack/);
  });

  it('refuses more than 5 strategy rules and more than 10 constraints', () => {
    refused(() => validatePlacement(Array.from({ length: 6 }, () => ({ type: 'random' })), []), /placement strategies must be less than or equal to 5/);
    const memberOf = { type: 'memberOf', expression: 'attribute:stack == prod' };
    assert.equal(validatePlacement([], Array.from({ length: 10 }, () => memberOf)).memberOf.length, 10);
    refused(() => validatePlacement([], Array.from({ length: 11 }, () => memberOf)), /placement constraints, including those of the task definition, must be less than or equal to 10/);
  });

  it('refuses a strategy type or field that does not exist', () => {
    refused(() => validatePlacement([{ type: 'pack' }], []), /Invalid placement strategy type 'pack'\. Valid values are random, spread and binpack\./);
    refused(() => validatePlacement([{}], []), /Invalid placement strategy type 'undefined'/);
    refused(() => validatePlacement([{ type: 'random', field: 'cpu' }], []), /random placement strategy does not take a field/);
    refused(() => validatePlacement([{ type: 'spread' }], []), /spread placement strategy requires a field/);
    refused(() => validatePlacement([{ type: 'spread', field: '' }], []), /spread placement strategy requires a field/);
    refused(() => validatePlacement([{ type: 'spread', field: 'ecs.availability-zone' }], []), /Invalid field 'ecs.availability-zone' for the spread/);
    refused(() => validatePlacement([{ type: 'spread', field: 'attribute:' }], []), /Invalid field 'attribute:' for the spread/);
    refused(() => validatePlacement([{ type: 'binpack' }], []), /Invalid field 'undefined' for the binpack placement strategy\. Valid values are cpu and memory\./);
    refused(() => validatePlacement([{ type: 'binpack', field: 'memory ' }], []), /Invalid field 'memory ' for the binpack/);
    assert.deepEqual(validatePlacement([{ type: 'binpack', field: 'MEMORY' }, { type: 'binpack', field: 'Cpu' }], []).strategy,
      [{ kind: 'binpack', resource: 'memory' }, { kind: 'binpack', resource: 'cpu' }]);
  });

  it('refuses a constraint type that does not exist, and distinctInstance with an expression', () => {
    refused(() => validatePlacement([], [{ type: 'sameInstance' }]), /Invalid placement constraint type 'sameInstance'/);
    refused(() => validatePlacement([], [{ type: 'distinctInstance', expression: '' }]), /^distinctInstance expression should not be specified\.$/);
    assert.equal(validatePlacement([], [{ type: 'distinctInstance' }]).distinctInstance, true);
    assert.equal(validatePlacement([], [{ type: 'distinctInstance', expression: null }]).distinctInstance, true);
  });

  it('refuses a memberOf without an expression, too long, or malformed, naming where it fails', () => {
    refused(() => validatePlacement([], [{ type: 'memberOf' }]), /memberOf placement constraint requires an expression/);
    refused(() => validatePlacement([], [{ type: 'memberOf', expression: '  ' }]), /requires an expression/);
    refused(() => validatePlacement([], [{ type: 'memberOf', expression: `attribute:x == ${'a'.repeat(2000)}` }]), /at most 2000 characters/);
    refused(() => validatePlacement([], [{ type: 'memberOf', expression: 'attribute:stack == prod and (' }]),
      /^Invalid memberOf expression 'attribute:stack == prod and \(': expected a subject at position 29\.$/);
    refused(() => validatePlacement([], [{ type: 'memberOf', expression: 'colour == red' }]), /unknown subject 'colour' at position 0/);
  });

  it('knows which memberOf expressions change as tasks are placed', () => {
    const rules = validatePlacement([], [
      { type: 'memberOf', expression: 'attribute:stack == prod' },
      { type: 'memberOf', expression: 'not(task:group == service:web)' },
      { type: 'memberOf', expression: 'agentConnected == true and runningTasksCount < 5' },
    ]);
    assert.deepEqual(rules.memberOf.map((m) => m.changesWithPlacements), [false, true, true]);
  });
});

describe('validateTaskDefinitionConstraints', () => {
  it('takes memberOf only, as RegisterTaskDefinition does', () => {
    validateTaskDefinitionConstraints([{ type: 'memberOf', expression: 'attribute:ecs.os-type == linux' }]);
    refused(() => validateTaskDefinitionConstraints([{ type: 'distinctInstance' }]), /^constraint.type 'distinctInstance' is not supported\.$/, ClientException);
    refused(() => validateTaskDefinitionConstraints([{ type: 'memberOf', expression: 'attribute:x ==' }]), /expected a value at position 14/);
  });
});

describe('defaultPlacementStrategy', () => {
  it('is random for RunTask, spread over zones then instances for a service', () => {
    assert.deepEqual(defaultPlacementStrategy('RunTask'), [{ type: 'random' }]);
    assert.deepEqual(defaultPlacementStrategy('service'), [
      { type: 'spread', field: 'attribute:ecs.availability-zone' }, { type: 'spread', field: 'instanceId' },
    ]);
  });
});
