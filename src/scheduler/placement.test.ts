import { it } from 'node:test';
import assert from 'node:assert/strict';
import { placeRandom, type InstanceCapacity } from './placement.js';

const instance = (arn: string, over: Partial<InstanceCapacity> = {}): InstanceCapacity => ({
  containerInstanceArn: arn, status: 'ACTIVE', agentConnected: true, cpu: 2048, memory: 1024,
  tcpPortsInUse: new Set([22]), udpPortsInUse: new Set(), ...over,
});
const demand = { cpu: 0, memory: 512, tcpPorts: [] as number[], udpPorts: [] as number[] };

it('places every copy when resources allow, never overcommitting memory', () => {
  const r = placeRandom([instance('a'), instance('b')], demand, 4, () => 0);
  assert.equal(r.placements.length, 4);
  assert.deepEqual(r.failures, []);
  assert.equal(r.placements.filter((p) => p === 'a').length, 2);
});

it('reports ECS failure reasons per instance when a copy does not fit', () => {
  const r = placeRandom(
    [instance('mem', { memory: 100 }), instance('cpu', { cpu: 10 }), instance('off', { agentConnected: false }), instance('ports', { tcpPortsInUse: new Set([80]) })],
    { ...demand, cpu: 100, tcpPorts: [80] }, 1, () => 0.5,
  );
  assert.deepEqual(r.placements, []);
  assert.deepEqual(r.failures.map((f) => [f.arn, f.reason]), [
    ['mem', 'RESOURCE:MEMORY'], ['cpu', 'RESOURCE:CPU'], ['off', 'AGENT'], ['ports', 'RESOURCE:PORTS'],
  ]);
});

it('a static host port is taken once per instance', () => {
  const r = placeRandom([instance('a')], { ...demand, memory: 1, tcpPorts: [8080] }, 2, () => 0);
  assert.deepEqual(r.placements, ['a']);
  assert.deepEqual(r.failures, [{ arn: 'a', reason: 'RESOURCE:PORTS' }]);
});
