/**
 * CBOR (RFC 8949) as Smithy RPC v2 uses it: maps with text keys, arrays, text and byte strings,
 * integers, floats, booleans, null, and timestamps as tag 1 (epoch seconds). Decoding accepts
 * definite and indefinite lengths; encoding always writes definite lengths and the shortest
 * integer heads.
 */

/** A body that is not well-formed CBOR, or CBOR this decoder does not take (a non-text map key). */
export class CborError extends Error {
  override name = 'CborError';
}

const TAG_EPOCH_SECONDS = 1;
/**
 * Deepest nesting of arrays, maps and tags decoded: a few bytes per level could otherwise exhaust
 * the stack (no AWS input shape nests anywhere near this deep).
 */
export const MAX_CBOR_NESTING = 1000;
const BREAK = Symbol('break');
const utf8 = new TextDecoder('utf-8', { fatal: true });

/**
 * Decodes one CBOR data item filling all of `bytes`. Tag 1 (epoch time) becomes a number of epoch
 * seconds, the form awsJson input has, so one validator and one handler serve every protocol;
 * other tags are decoded as their content.
 */
export function decodeCbor(bytes: Uint8Array): unknown {
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  let pos = 0;
  const need = (n: number) => {
    if (pos + n > bytes.length) throw new CborError('CBOR body ends inside a data item.');
  };
  const argument = (info: number): number | undefined => {
    if (info < 24) return info;
    if (info === 24) { need(1); return bytes[pos++]!; }
    if (info === 25) { need(2); const v = view.getUint16(pos); pos += 2; return v; }
    if (info === 26) { need(4); const v = view.getUint32(pos); pos += 4; return v; }
    if (info === 27) {
      need(8);
      const v = view.getBigUint64(pos);
      pos += 8;
      if (v > BigInt(Number.MAX_SAFE_INTEGER)) throw new CborError('CBOR integer beyond 2^53 is not supported.');
      return Number(v);
    }
    if (info === 31) return undefined;
    throw new CborError(`Reserved CBOR additional information ${info}.`);
  };
  const chunks = (major: number, info: number): Uint8Array => {
    const length = argument(info);
    if (length !== undefined) {
      need(length);
      const out = bytes.subarray(pos, pos + length);
      pos += length;
      return out;
    }
    const parts: Uint8Array[] = [];
    for (;;) {
      need(1);
      if (bytes[pos] === 0xff) { pos++; break; }
      const head = bytes[pos++]!;
      if (head >> 5 !== major || (head & 31) === 31) throw new CborError('Malformed indefinite-length CBOR string.');
      parts.push(chunks(major, head & 31));
    }
    return Buffer.concat(parts);
  };
  const item = (depth: number): unknown => {
    if (depth > MAX_CBOR_NESTING) throw new CborError(`CBOR data nested deeper than ${MAX_CBOR_NESTING} levels.`);
    need(1);
    const head = bytes[pos++]!;
    const major = head >> 5;
    const info = head & 31;
    switch (major) {
      case 0: return requireDefinite(argument(info));
      case 1: return -1 - requireDefinite(argument(info));
      case 2: return new Uint8Array(chunks(2, info));
      case 3:
        try {
          return utf8.decode(chunks(3, info));
        } catch (err) {
          if (err instanceof CborError) throw err;
          throw new CborError('CBOR text string is not valid UTF-8.');
        }
      case 4: {
        const length = argument(info);
        const out: unknown[] = [];
        for (let i = 0; length === undefined || i < length; i++) {
          const v = item(depth + 1);
          if (v === BREAK) { if (length === undefined) break; throw new CborError('Unexpected CBOR break.'); }
          out.push(v);
        }
        return out;
      }
      case 5: {
        const length = argument(info);
        const out: Record<string, unknown> = {};
        for (let i = 0; length === undefined || i < length; i++) {
          const key = item(depth + 1);
          if (key === BREAK) { if (length === undefined) break; throw new CborError('Unexpected CBOR break.'); }
          if (typeof key !== 'string') throw new CborError('CBOR map keys must be text strings.');
          const value = item(depth + 1);
          if (value === BREAK) throw new CborError('Unexpected CBOR break.');
          // defineProperty: a key named __proto__ must be data, not the prototype.
          Object.defineProperty(out, key, { value, enumerable: true, writable: true, configurable: true });
        }
        return out;
      }
      case 6: {
        const tag = requireDefinite(argument(info));
        const content = item(depth + 1);
        if (tag === TAG_EPOCH_SECONDS && typeof content !== 'number') throw new CborError('CBOR tag 1 must hold a number.');
        return content;
      }
      default: {
        if (info === 20) return false;
        if (info === 21) return true;
        if (info === 22 || info === 23) return null;
        if (info === 25) { need(2); const v = halfToNumber(view.getUint16(pos)); pos += 2; return v; }
        if (info === 26) { need(4); const v = view.getFloat32(pos); pos += 4; return v; }
        if (info === 27) { need(8); const v = view.getFloat64(pos); pos += 8; return v; }
        if (info === 31) return BREAK;
        if (info === 24) { need(1); pos++; return null; }
        if (info < 20) return null;
        throw new CborError(`Reserved CBOR simple value ${info}.`);
      }
    }
  };
  const value = item(0);
  if (value === BREAK) throw new CborError('Unexpected CBOR break.');
  if (pos !== bytes.length) throw new CborError('Bytes after the CBOR data item.');
  return value;
}

function requireDefinite(n: number | undefined): number {
  if (n === undefined) throw new CborError('Indefinite length where a number was expected.');
  return n;
}

function halfToNumber(h: number): number {
  const sign = h & 0x8000 ? -1 : 1;
  const exp = (h >> 10) & 0x1f;
  const frac = h & 0x3ff;
  if (exp === 0) return sign * 2 ** -14 * (frac / 1024);
  if (exp === 31) return frac ? NaN : sign * Infinity;
  return sign * 2 ** (exp - 15) * (1 + frac / 1024);
}

/**
 * Encodes a value: objects as maps (undefined members left out), arrays, strings, Uint8Arrays as
 * byte strings, safe integers as integers, other numbers as doubles, booleans, null, and Dates as
 * tag 1 with epoch seconds (an integer when whole, else a double).
 */
export function encodeCbor(value: unknown): Uint8Array {
  const out: number[] = [];
  const head = (major: number, n: number) => {
    if (n < 24) out.push((major << 5) | n);
    else if (n < 0x100) out.push((major << 5) | 24, n);
    else if (n < 0x10000) out.push((major << 5) | 25, n >> 8, n & 0xff);
    else if (n < 0x100000000) out.push((major << 5) | 26, (n >>> 24) & 0xff, (n >>> 16) & 0xff, (n >>> 8) & 0xff, n & 0xff);
    else {
      const big = BigInt(n);
      out.push((major << 5) | 27);
      for (let shift = 56n; shift >= 0n; shift -= 8n) out.push(Number((big >> shift) & 0xffn));
    }
  };
  const number = (n: number) => {
    if (Number.isSafeInteger(n)) return n >= 0 ? head(0, n) : head(1, -1 - n);
    const b = new DataView(new ArrayBuffer(8));
    b.setFloat64(0, n);
    out.push(0xfb, ...new Uint8Array(b.buffer));
  };
  const write = (v: unknown): void => {
    if (v === null || v === undefined) { out.push(0xf6); return; }
    if (typeof v === 'boolean') { out.push(v ? 0xf5 : 0xf4); return; }
    if (typeof v === 'number') { number(v); return; }
    if (typeof v === 'string') {
      const b = Buffer.from(v, 'utf8');
      head(3, b.length);
      for (const x of b) out.push(x);
      return;
    }
    if (v instanceof Date) {
      head(6, TAG_EPOCH_SECONDS);
      number(v.getTime() / 1000);
      return;
    }
    if (v instanceof Uint8Array) {
      head(2, v.length);
      for (const x of v) out.push(x);
      return;
    }
    if (Array.isArray(v)) {
      head(4, v.length);
      for (const x of v) write(x);
      return;
    }
    if (typeof v === 'object') {
      const entries = Object.entries(v).filter(([, x]) => x !== undefined);
      head(5, entries.length);
      for (const [k, x] of entries) { write(k); write(x); }
      return;
    }
    throw new TypeError(`cannot encode a ${typeof v} as CBOR`);
  };
  write(value);
  return Uint8Array.from(out);
}
