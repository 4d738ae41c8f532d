import { it } from 'node:test';
import assert from 'node:assert/strict';
import { DISTINCT_INSTANCE_UNSATISFIED, MEMBER_OF_UNSATISFIED, type PlacementFailure } from './placement.js';
import { describeUnplaceable } from './unplaceable.js';

const arn = (id: string) => `arn:aws:ecs:us-east-1:000000000000:container-instance/default/${id}`;
const HEAD = '(service web) was unable to place a task because no container instance met all of its requirements.';
const TAIL = 'For more information, see the Troubleshooting section of the Amazon ECS Developer Guide.';

it('names the closest matching instance and what it lacked, in ECS\'s words', () => {
  const cases: [PlacementFailure['reason'], string][] = [
    ['RESOURCE:CPU', 'has insufficient CPU units available.'],
    ['RESOURCE:MEMORY', 'has insufficient memory available.'],
    ['RESOURCE:PORTS', 'is already using a port required by your task.'],
    ['AGENT', 'encountered error "AGENT".'],
    ['INACTIVE', 'encountered error "INACTIVE".'],
    [MEMBER_OF_UNSATISFIED, 'encountered error "MemberOf placement constraint unsatisfied.".'],
    [DISTINCT_INSTANCE_UNSATISFIED, 'encountered error "DistinctInstance placement constraint unsatisfied.".'],
  ];
  for (const [reason, what] of cases) {
    assert.equal(describeUnplaceable('web', [{ arn: arn('5ed586c73a7748a8aa66067ee6ea4017'), reason }]),
      `${HEAD} The closest matching container-instance 5ed586c73a7748a8aa66067ee6ea4017 ${what} ${TAIL}`);
  }
});

it('the closest instance is the one that passed the most checks; the first among equals', () => {
  const failures: PlacementFailure[] = [
    { arn: arn('agent'), reason: 'AGENT' }, { arn: arn('mem1'), reason: 'RESOURCE:MEMORY' },
    { arn: arn('cpu'), reason: 'RESOURCE:CPU' }, { arn: arn('mem2'), reason: 'RESOURCE:MEMORY' },
  ];
  assert.match(describeUnplaceable('web', failures), /container-instance mem1 has insufficient memory/);
  assert.match(describeUnplaceable('web', [...failures, { arn: arn('member'), reason: MEMBER_OF_UNSATISFIED }]), /container-instance member encountered/);
});

it('with no instance at all, only the first sentence', () => {
  assert.equal(describeUnplaceable('web', []), HEAD);
});
