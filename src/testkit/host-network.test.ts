import { it } from 'node:test';
import assert from 'node:assert/strict';
import { pickSubnet } from './host-network.js';

/** An rng that answers `values` in turn (then repeats the last). */
const sequence = (...values: number[]) => () => values.length > 1 ? values.shift()! : values[0]!;
/** The draw that makes pickSubnet choose 10.a.b. */
const draw = (a: number, b: number) => [(a - 64 + 0.5) / 64, (b + 0.5) / 256];

const ROUTES = [
  'default via 192.0.2.1 dev eth0',
  '172.17.0.0/16 dev docker0 proto kernel scope link src 172.17.0.1',
  '10.70.5.0/24 dev whbabcdef proto kernel scope link src 10.70.5.1',
  'local 10.70.5.1 dev whbabcdef table local proto kernel scope host src 10.70.5.1',
  'broadcast 10.70.5.255 dev whbabcdef table local proto kernel scope link src 10.70.5.1',
].join('\n');

it('picks a /24 in 10.64.0.0/10, skipping one another bridge already routes', () => {
  assert.equal(pickSubnet(ROUTES, sequence(...draw(70, 5), ...draw(70, 6))), '10.70.6');
  assert.equal(pickSubnet('', sequence(...draw(64, 0))), '10.64.0');
  assert.equal(pickSubnet('', sequence(...draw(127, 255))), '10.127.255');
});

it('treats a wider route (10.0.0.0/8) and a single local address as taken', () => {
  assert.throws(() => pickSubnet('10.0.0.0/8 dev vpn0', Math.random), /no free \/24/);
  assert.equal(pickSubnet('local 10.80.1.7 dev lo table local', sequence(...draw(80, 1), ...draw(80, 2))), '10.80.2');
});

it('ignores routes outside 10/8 and the default route', () => {
  assert.equal(pickSubnet('default via 10.99.0.1 dev eth0\n192.168.0.0/16 dev wlan0', sequence(...draw(99, 0))), '10.99.0');
});
