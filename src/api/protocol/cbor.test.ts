import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { CborError, decodeCbor, encodeCbor, MAX_CBOR_NESTING } from './cbor.js';

const hex = (s: string) => Uint8Array.from(Buffer.from(s.replace(/\s+/g, ''), 'hex'));

describe('CBOR', () => {
  it('decodes RFC 8949 appendix A examples', () => {
    const cases: [string, unknown][] = [
      ['00', 0], ['17', 23], ['1818', 24], ['1903e8', 1000], ['1a000f4240', 1000000], ['1b000000e8d4a51000', 1000000000000],
      ['20', -1], ['3903e7', -1000], ['f90000', 0], ['f93c00', 1], ['f97bff', 65504], ['fa47c35000', 100000], ['fb3ff199999999999a', 1.1],
      ['f90001', 5.960464477539063e-8], ['f9c400', -4], ['f97c00', Infinity], ['f4', false], ['f5', true], ['f6', null],
      ['60', ''], ['6161', 'a'], ['64f0908591', '\u{10151}'], ['80', []], ['83010203', [1, 2, 3]],
      ['a26161016162820203', { a: 1, b: [2, 3] }], ['7f657374726561646d696e67ff', 'streaming'], ['9f018202039f0405ffff', [1, [2, 3], [4, 5]]],
      ['bf61610161629f0203ffff', { a: 1, b: [2, 3] }], ['c11a514b67b0', 1363896240], ['c1fb41d452d9ec200000', 1363896240.5],
      ['4401020304', Uint8Array.from([1, 2, 3, 4])],
    ];
    for (const [bytes, value] of cases) assert.deepEqual(decodeCbor(hex(bytes)), value, bytes);
  });

  it('encodes the shortest heads, doubles for fractions, Dates as tag 1, and round-trips', () => {
    assert.deepEqual(Buffer.from(encodeCbor(1000)).toString('hex'), '1903e8');
    assert.deepEqual(Buffer.from(encodeCbor(-1000)).toString('hex'), '3903e7');
    assert.deepEqual(Buffer.from(encodeCbor(4294967296)).toString('hex'), '1b0000000100000000');
    assert.deepEqual(Buffer.from(encodeCbor(1.1)).toString('hex'), 'fb3ff199999999999a');
    assert.deepEqual(Buffer.from(encodeCbor(new Date(1363896240000))).toString('hex'), 'c11a514b67b0');
    assert.deepEqual(Buffer.from(encodeCbor(new Date(1363896240500))).toString('hex'), 'c1fb41d452d9ec200000');
    assert.deepEqual(Buffer.from(encodeCbor({ a: 1, skip: undefined, b: 'é' })).toString('hex'), 'a2616101616262c3a9');
    const value = { Label: 'x', Datapoints: [{ Sum: 2.5, N: -7, ok: true, none: null, raw: Uint8Array.from([9]) }], big: 2 ** 40 };
    assert.deepEqual(decodeCbor(encodeCbor(value)), value);
  });

  it('refuses malformed input with a CborError', () => {
    for (const bad of ['', '18', '62 61', 'a1 01 02', 'ff', '83 01 02', '00 00', '1c', '62 c3 28', '5f 61 61 ff', 'c1 61 61']) {
      assert.throws(() => decodeCbor(hex(bad)), CborError, bad);
    }
  });

  it('refuses data nested deeper than MAX_CBOR_NESTING with a CborError, not a stack overflow (fuzz regression)', () => {
    const nested = (levels: number) => Uint8Array.from([...Array<number>(levels).fill(0x81), 0x01]);
    assert.deepEqual(decodeCbor(nested(3)), [[[1]]]);
    assert.doesNotThrow(() => decodeCbor(nested(MAX_CBOR_NESTING)));
    assert.throws(() => decodeCbor(nested(MAX_CBOR_NESTING + 1)), { name: 'CborError', message: `CBOR data nested deeper than ${MAX_CBOR_NESTING} levels.` });
    assert.throws(() => decodeCbor(nested(200_000)), CborError);
    // Tags count as levels too.
    assert.throws(() => decodeCbor(Uint8Array.from([...Array<number>(MAX_CBOR_NESTING + 1).fill(0xc1), 0x01])), CborError);
  });

  it('keeps a __proto__ key as data', () => {
    const out = decodeCbor(hex('a1 69 5f5f70726f746f5f5f 01')) as Record<string, unknown>;
    assert.equal(Object.getPrototypeOf(out), Object.prototype);
    assert.deepEqual(Object.keys(out), ['__proto__']);
  });
});
