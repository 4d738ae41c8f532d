/**
 * Model-driven input generation for fuzzing the API: from an operation's input shape in a vendored
 * service model, well-typed values biased to the edges (lengths at and over the model's limits,
 * unicode and control characters, foreign ARNs, path-like names, numbers at and past their range,
 * timestamps far away, enum values outside the enum, empty and huge lists, missing required
 * members), and their encodings on each wire Wharf speaks (awsJson, awsQuery form, RPC v2 CBOR).
 * Everything is drawn from the given `rng`, so a seed replays an input exactly.
 */
import { compilePattern, type MemberRef, type ServiceModel, type ShapeModel } from '../api/validation/index.js';

export type Wire = 'json' | 'query' | 'cbor';

/** A timestamp in a generated input, in epoch seconds (possibly far outside what a Date holds). */
export class FuzzTimestamp {
  constructor(readonly seconds: number) {}
}

/**
 * Arrays nested `levels` deep in place of a value: the one ill-typed probe, written out only by the
 * encoders (`jsonText`, `toCborValue`), since rendering it recursively would overflow the stack.
 */
export class DeepNesting {
  constructor(readonly levels: number) {}
}

/** CBOR carries at most this much nesting; the rest is the JSON wire's to probe. */
const CBOR_DEEP_LEVELS = 1001;
const DEEP_MARK = '\u0000deep:';

/** awsQuery text that is no value of its type at all (`NaN` for an integer): the query wire only. */
export class RawQueryText {
  constructor(readonly text: string) {}
}

export interface FuzzOptions {
  rng: () => number;
  wire: Wire;
  /**
   * Identifiers of real resources, by lower-cased member name (`clustername`, `cluster`): string
   * members with a matching name often take one, so handlers get past "not found".
   */
  known: ReadonlyMap<string, readonly string[]>;
  /**
   * Mostly valid: every required member sent, values mostly within the model's constraints, so
   * the input reaches the handler with one or two odd values. Otherwise values are wild.
   */
  tame?: boolean;
}

/** Longest string generated; a longer model maximum is exercised up to here only (bodies are bounded anyway). */
const MAX_STRING_CHARS = 70_000;
/** Nodes generated per input at most: beyond it, only required members are filled and lists stay short. */
const NODE_BUDGET = 4_000;
const MAX_DEPTH = 7;

const FOREIGN_ARNS = [
  'arn:aws:ecs:us-east-1:123456789012:cluster/default',
  'arn:aws:ecs:eu-west-3:999999999999:cluster/default',
  'arn:aws:s3:::bucket/key',
  'arn:aws:iam::123456789012:role/x',
  'arn:aws-cn:ecs:cn-north-1:123456789012:service/a/b',
  'arn:aws:elasticloadbalancing:us-east-1:123456789012:targetgroup/tg/0123456789abcdef',
  'arn:aws:elasticloadbalancing:us-east-1:000000000000:loadbalancer/app/lb/0123456789abcdef',
  'arn:aws:logs:us-east-1:123456789012:log-group:g:*',
  'arn:aws:ecr:us-east-1:123456789012:repository/r',
  'arn:aws:ecs:us-east-1:123456789012:task-definition/fam:0',
  'arn:aws:ecs:us-east-1:123456789012:task/c/0123',
  'arn:aws:cloudwatch:us-east-1:123456789012:alarm:a',
  'arn:', 'arn:::::', 'arn:aws:ecs:us-east-1:123456789012:', 'arn:aws:ecs:us-east-1:123456789012:cluster/',
];

const ODD_STRINGS = [
  '', ' ', 'a', 'A', '0', '-1', 'é', '名前', '🐳', 'a\u0301', '\u202eevil', '\u0000', 'a\u0000b', '\n', '\r\n\t', '\u0007',
  '\uffff', '\ud800', '\udfff', '/', 'a/b', '/a/', '..', '../..', '../../etc/passwd', '.', '%', '%2F', '%00', 'a%2Fb', '%zz',
  'a:b', 'name:1', 'name:0', 'name:-1', 'name:99999999999999999999', 'name:', ':1', '*', '?', '**', '[', '\\', '"', "'",
  '<a>&amp;</a>', '${x}', 'null', 'undefined', 'true', 'NaN', '__proto__', 'constructor', 'toString', 'hasOwnProperty',
  'latest', 'sha256:', 'sha256:' + '0'.repeat(64), 'default', 'DEFAULT', 'a'.repeat(256), 'a'.repeat(1025),
  '2026-01-01T00:00:00Z', '-', '_', 'a b', 'a\tb', 'x'.repeat(10) + '/' + '..' + '/y',
];

const ODD_QUERY_NUMBERS = ['NaN', 'Infinity', '-Infinity', '1e400', '-1e400', '0x10', ' 5', '5 ', '', '+5', '1_000', '٣', '1e3', '0.0', '-0', '9'.repeat(40)];
const ODD_QUERY_BOOLEANS = ['TRUE', 'False', '1', '0', '', 'yes'];
const ODD_QUERY_TIMESTAMPS = ['yesterday', '2026-13-45T99:99:99Z', '0000-00-00T00:00:00Z', '+275760-09-13T00:00:00.000Z', '1e20', '-1e20', '99999999999999999999', ''];

class Generator {
  #nodes = 0;
  readonly #patterns = new Map<string, RegExp | undefined>();

  constructor(readonly model: ServiceModel, readonly o: FuzzOptions) {}

  chance(p: number): boolean {
    return this.o.rng() < p;
  }

  int(n: number): number {
    return Math.floor(this.o.rng() * n);
  }

  pick<T>(items: readonly T[]): T {
    return items[this.int(items.length)]!;
  }

  value(ref: MemberRef, memberName: string, depth: number): unknown {
    this.#nodes++;
    // Now and then, on the wires that carry nesting, a value nested deeper than any shape: the one
    // ill-typed probe, for parsers and messages that recurse.
    if (this.o.tame !== true && this.o.wire !== 'query' && this.chance(0.002)) return new DeepNesting(this.pick([100, 1001, 100_000]));
    const shape = this.model.shapes[ref.shape];
    if (shape === undefined) throw new Error(`model ${this.model.metadata.serviceId} has no shape ${ref.shape}`);
    switch (shape.type) {
      case 'structure': return this.structure(shape, depth);
      case 'list': return this.list(shape, memberName, depth);
      case 'map': return this.map(shape, memberName, depth);
      case 'string': return this.string(ref.shape, shape, memberName);
      case 'blob': return this.blob(shape);
      case 'boolean':
        return this.o.wire === 'query' && this.chance(0.1) ? new RawQueryText(this.pick(ODD_QUERY_BOOLEANS)) : this.chance(0.5);
      case 'integer':
      case 'long':
      case 'double':
      case 'float': return this.number(shape);
      case 'timestamp': return this.timestamp();
      default: throw new Error(`unsupported shape type ${String(shape.type)}`);
    }
  }

  get overBudget(): boolean {
    return this.#nodes > NODE_BUDGET;
  }

  structure(shape: ShapeModel, depth: number): unknown {
    if (shape.document === true) return this.pick([{}, { a: 1 }, { nested: { list: [1, 'x', null] } }, []]);
    const members = Object.entries(shape.members ?? {});
    const out: Record<string, unknown> = {};
    if (shape.union === true) {
      // Exactly one member, now and then none or two.
      const count = this.chance(0.1) ? this.pick([0, 2]) : 1;
      for (let i = 0; i < count && members.length > 0; i++) {
        const [name, ref] = this.pick(members);
        out[name] = this.value(ref, name, depth + 1);
      }
      return out;
    }
    const optional = depth >= MAX_DEPTH || this.overBudget ? 0 : depth === 0 ? 0.6 : 0.35;
    for (const [name, ref] of members) {
      const required = shape.required?.includes(name) === true;
      if (required ? this.o.tame !== true && this.chance(0.03) : !this.chance(this.o.tame === true ? optional / 2 : optional)) continue;
      out[name] = this.value(ref, name, depth + 1);
    }
    return out;
  }

  length(shape: ShapeModel, leaf: boolean): number {
    const { min = 0, max } = shape;
    const r = this.o.rng();
    if (this.overBudget) return Math.min(min, 1);
    if (this.o.tame === true) return Math.max(min, Math.min(max ?? 3, 1 + this.int(3)));
    if (r < 0.1) return 0;
    if (r < 0.45) return 1;
    if (r < 0.75) return 2 + this.int(3);
    if (r < 0.85) return min;
    if (r < 0.93 && max !== undefined) return Math.min(max + this.int(2), leaf ? 2000 : 60);
    return leaf ? 1000 + this.int(1000) : 40;
  }

  isLeaf(ref: MemberRef | undefined): boolean {
    const type = ref === undefined ? undefined : this.model.shapes[ref.shape]?.type;
    return type !== 'structure' && type !== 'list' && type !== 'map';
  }

  list(shape: ShapeModel, memberName: string, depth: number): unknown[] {
    const member = shape.member!;
    const n = this.length(shape, this.isLeaf(member));
    const out: unknown[] = [];
    for (let i = 0; i < n; i++) out.push(this.value(member, singular(memberName), depth + 1));
    return out;
  }

  map(shape: ShapeModel, memberName: string, depth: number): Record<string, unknown> {
    const n = this.length(shape, this.isLeaf(shape.value));
    const out: Record<string, unknown> = {};
    for (let i = 0; i < n; i++) {
      const key = this.value(shape.key!, `${memberName}Key`, depth + 1);
      // An own property even for `__proto__`, as JSON.parse makes it on the server.
      Object.defineProperty(out, typeof key === 'string' ? key : String(i), {
        value: this.value(shape.value!, `${memberName}Value`, depth + 1), enumerable: true, writable: true, configurable: true,
      });
    }
    return out;
  }

  /** Candidates that satisfy the shape's length and pattern are preferred, so many inputs reach the handler. */
  string(shapeName: string, shape: ShapeModel, memberName: string): string {
    if (shape.enum !== undefined && shape.enum.length > 0) {
      if (this.chance(this.o.tame === true ? 0.97 : 0.8)) return this.pick(shape.enum);
      return this.pick(['', 'NOT_IN_ENUM', shape.enum[0]!.toLowerCase(), shape.enum[0]!.toUpperCase() + 'X', ` ${shape.enum[0]!}`]);
    }
    const known = knownFor(this.o.known, memberName);
    if (known.length > 0 && this.chance(0.45)) {
      const id = this.pick(known);
      // A real identifier, sometimes bent: other case, a suffix, a trailing slash.
      if (this.chance(0.8)) return id;
      return this.pick([id.toUpperCase(), `${id}x`, `${id}/`, `${id}:1`, id.slice(0, -1), ` ${id}`]);
    }
    const { min = 0, max } = shape;
    const cap = Math.min(max ?? 300, MAX_STRING_CHARS);
    const candidates = [
      ...ODD_STRINGS, ...FOREIGN_ARNS,
      this.word(1, Math.min(cap, 24)), this.word(1, Math.min(cap, 24)), this.word(1, Math.min(cap, 24)),
      'x'.repeat(cap), 'x'.repeat(Math.max(min - 1, 0)),
      ...(max !== undefined && max + 1 <= MAX_STRING_CHARS ? ['x'.repeat(max + 1), '\u00e9'.repeat(max + 1)] : []),
      this.controlString(Math.min(cap, 40)),
    ];
    if (this.chance(this.o.tame === true ? 0.95 : 0.5)) {
      const pattern = this.pattern(shapeName, shape);
      const fitting = candidates.filter((c) => c.length >= min && (max === undefined || c.length <= max) && (pattern?.test(c) ?? true));
      if (fitting.length > 0) return this.pick(fitting);
    }
    return this.pick(candidates);
  }

  /** `text` cut, doubled, repeated, or with an odd character put in, taken out or swapped. */
  bend(text: string): string {
    const at = this.int(text.length + 1);
    const odd = this.pick(['(', ')', ',', ' ', '.', '*', '/', '-', '0', '9', '"', '{', '}', '[', ']', ':', '\u0000', '\n', '%', '\\', '\ud83d\udc33', 'e', 'NaN']);
    switch (this.int(7)) {
      case 0: return text.slice(0, at);
      case 1: return text.slice(at);
      case 2: return text + text;
      case 3: return text.repeat(200 + this.int(300));
      case 4: return text.slice(0, at) + odd + text.slice(at);
      case 5: return text.slice(0, at) + text.slice(at + 1);
      default: return text.slice(0, at) + odd + text.slice(at + 1);
    }
  }

  pattern(shapeName: string, shape: ShapeModel): RegExp | undefined {
    if (shape.pattern === undefined) return undefined;
    if (!this.#patterns.has(shapeName)) this.#patterns.set(shapeName, compilePattern(shape.pattern));
    return this.#patterns.get(shapeName);
  }

  word(minLength: number, maxLength: number): string {
    const alphabet = 'abcdefghijklmnopqrstuvwxyz0123456789-_';
    const n = Math.max(minLength, 1 + this.int(Math.max(maxLength, 1)));
    let out = 'fz';
    while (out.length < n) out += alphabet[this.int(alphabet.length)];
    return out.slice(0, Math.max(n, 1));
  }

  controlString(n: number): string {
    let out = '';
    for (let i = 0; i < n; i++) out += String.fromCharCode(this.chance(0.5) ? this.int(32) : 0x7f + this.int(0x90));
    return out;
  }

  blob(shape: ShapeModel): Uint8Array {
    const n = this.pick([0, 1, 16, shape.max ?? 64, Math.min((shape.max ?? 64) + 1, MAX_STRING_CHARS)]);
    const bytes = new Uint8Array(n);
    for (let i = 0; i < n; i++) bytes[i] = this.int(256);
    return bytes;
  }

  number(shape: ShapeModel): number | RawQueryText {
    if (this.o.wire === 'query' && this.chance(0.1)) return new RawQueryText(this.pick(ODD_QUERY_NUMBERS));
    if (this.o.wire === 'cbor' && this.chance(0.05)) return this.pick([Number.NaN, Number.POSITIVE_INFINITY, Number.NEGATIVE_INFINITY]);
    const integral = shape.type === 'integer' || shape.type === 'long';
    const { min, max } = shape;
    const inRange = [0, 1, 2, 5, 10, 60, 100, 300, 1000, 86400].filter((n) => (min === undefined || n >= min) && (max === undefined || n <= max));
    const edges = [
      ...(min !== undefined ? [min, min - 1] : []), ...(max !== undefined ? [max, max + 1] : []),
      0, -1, 1, 2 ** 31 - 1, 2 ** 31, -(2 ** 31) - 1, 2 ** 53 - 1, -(2 ** 53), 1e20, -1e20,
      ...(integral ? [] : [0.5, -0.5, 1e-300, 1e308, -1e308, 5e-324]),
    ];
    if (inRange.length > 0 && this.chance(this.o.tame === true ? 0.85 : 0.4)) return this.pick(inRange);
    return this.pick(edges);
  }

  timestamp(): FuzzTimestamp | RawQueryText {
    if (this.o.wire === 'query' && this.chance(0.1)) return new RawQueryText(this.pick(ODD_QUERY_TIMESTAMPS));
    const now = Math.floor(Date.now() / 1000);
    return new FuzzTimestamp(this.pick([
      now, now - 60, now + 60, now - 3600, now + 3600, now - 86400 * 15, now + 86400 * 15, now - 86400 * 400, 0, -1,
      -62_135_596_800, 253_402_300_799, 253_402_300_800, 8.64e12, -8.64e12, 1e20, -1e20, now + 0.123, 2 ** 53,
    ]));
  }
}

/** A generated input for `operation` (`{}` for operations without input). */
export function generateInput(model: ServiceModel, operation: string, options: FuzzOptions): Record<string, unknown> {
  const input = model.operations[operation]?.input;
  if (input === undefined) return {};
  return new Generator(model, options).value({ shape: input }, '', 0) as Record<string, unknown>;
}

/** Lower-cased keys a member's values are known under: its name, without a plural `s` and without an `Arn`/`Name`/`Id` suffix. */
export function identifierKeys(name: string): string[] {
  const lower = name.toLowerCase();
  const keys = new Set([lower]);
  const singularName = singular(lower);
  keys.add(singularName);
  for (const k of [lower, singularName]) {
    const base = k.replace(/(arn|name|id|identifier|uri)$/, '');
    if (base.length > 0) keys.add(base);
  }
  return [...keys];
}

function singular(name: string): string {
  return name.endsWith('ies') ? `${name.slice(0, -3)}y` : name.endsWith('s') && !name.endsWith('ss') ? name.slice(0, -1) : name;
}

function knownFor(known: ReadonlyMap<string, readonly string[]>, memberName: string): readonly string[] {
  for (const key of identifierKeys(memberName)) {
    const values = known.get(key);
    if (values !== undefined && values.length > 0) return values;
  }
  return [];
}

/**
 * Collects identifiers from an answer into `known`: every string found under a member name whose
 * name says it identifies something (`...Arn`, `...Name`, `...Id`, `family`, `cluster`, ...).
 */
export function harvestIdentifiers(value: unknown, known: Map<string, string[]>, key = ''): void {
  if (Array.isArray(value)) {
    for (const v of value) harvestIdentifiers(v, known, key);
    return;
  }
  if (value !== null && typeof value === 'object') {
    for (const [k, v] of Object.entries(value)) harvestIdentifiers(v, known, k);
    return;
  }
  if (typeof value !== 'string' || value.length === 0 || value.length > 2048) return;
  if (!/(arn|name|id|identifier|uri|family|cluster|service|taskdefinition|token|digest|tag)$/i.test(key)) return;
  // Tagging and policy operations name any resource by its ARN.
  const keys = /arn$/i.test(key) && !/^resourcearn$/i.test(key) ? [...identifierKeys(key), ...identifierKeys('resourceArn')] : identifierKeys(key);
  for (const k of keys) {
    const values = known.get(k) ?? [];
    if (!values.includes(value)) {
      values.push(value);
      if (values.length > 40) values.shift();
    }
    known.set(k, values);
  }
}

/** The input as an awsJson body. */
export function jsonText(input: Record<string, unknown>): string {
  return JSON.stringify(toJsonValue(input)).replace(/"\\u0000deep:(\d+)"/g, (_, n: string) => '['.repeat(Number(n)) + ']'.repeat(Number(n)));
}

/** The input as an awsJson body value: timestamps as epoch seconds, blobs base64, deep nesting as a mark `jsonText` expands. */
export function toJsonValue(value: unknown): unknown {
  if (value instanceof DeepNesting) return `${DEEP_MARK}${value.levels}`;
  if (value instanceof FuzzTimestamp) return value.seconds;
  if (value instanceof RawQueryText) return value.text;
  if (value instanceof Uint8Array) return Buffer.from(value).toString('base64');
  if (Array.isArray(value)) return value.map(toJsonValue);
  if (value !== null && typeof value === 'object') return Object.fromEntries(Object.entries(value).map(([k, v]) => [k, toJsonValue(v)]));
  return value;
}

/** The input as an RPC v2 CBOR value: timestamps as tag 1 when a Date holds them, else bare numbers. */
export function toCborValue(value: unknown): unknown {
  if (value instanceof DeepNesting) {
    let nested: unknown[] = [];
    for (let i = 1; i < Math.min(value.levels, CBOR_DEEP_LEVELS); i++) nested = [nested];
    return nested;
  }
  if (value instanceof FuzzTimestamp) {
    const date = new Date(value.seconds * 1000);
    return Number.isNaN(date.getTime()) ? value.seconds : date;
  }
  if (value instanceof RawQueryText) return value.text;
  if (value instanceof Uint8Array) return value;
  if (Array.isArray(value)) return value.map(toCborValue);
  if (value !== null && typeof value === 'object') return Object.fromEntries(Object.entries(value).map(([k, v]) => [k, toCborValue(v)]));
  return value;
}

/** The input as awsQuery parameters (after Action and Version), the way botocore flattens them. */
export function toQueryParams(model: ServiceModel, operation: string, input: Record<string, unknown>): [string, string][] {
  const out: [string, string][] = [['Action', operation], ['Version', model.metadata.apiVersion]];
  const inputShape = model.operations[operation]?.input;
  if (inputShape !== undefined) flatten(model, { shape: inputShape }, input, '', out);
  return out;
}

function flatten(model: ServiceModel, ref: MemberRef, value: unknown, prefix: string, out: [string, string][]): void {
  const shape = model.shapes[ref.shape]!;
  const at = (name: string) => (prefix === '' ? name : `${prefix}.${name}`);
  if (value instanceof RawQueryText) {
    out.push([prefix, value.text]);
    return;
  }
  switch (shape.type) {
    case 'structure': {
      if (shape.document === true || value === null || typeof value !== 'object') {
        out.push([prefix, JSON.stringify(value)]);
        return;
      }
      for (const [name, member] of Object.entries(shape.members ?? {})) {
        const v = (value as Record<string, unknown>)[name];
        if (v !== undefined) flatten(model, member, v, at(member.locationName ?? name), out);
      }
      return;
    }
    case 'list': {
      const items = value as unknown[];
      if (items.length === 0) {
        out.push([prefix, '']);
        return;
      }
      const member = shape.member!;
      const flattened = shape.flattened === true || ref.flattened === true;
      items.forEach((item, i) => flatten(model, member, item, flattened ? at(String(i + 1)) : at(`${member.locationName ?? 'member'}.${i + 1}`), out));
      return;
    }
    case 'map': {
      const entries = Object.entries(value as Record<string, unknown>);
      if (entries.length === 0) {
        out.push([prefix, '']);
        return;
      }
      const flattened = shape.flattened === true || ref.flattened === true;
      entries.forEach(([k, v], i) => {
        const entry = flattened ? at(String(i + 1)) : at(`entry.${i + 1}`);
        out.push([`${entry}.${shape.key!.locationName ?? 'key'}`, k]);
        flatten(model, shape.value!, v, `${entry}.${shape.value!.locationName ?? 'value'}`, out);
      });
      return;
    }
    case 'timestamp': {
      const seconds = (value as FuzzTimestamp).seconds;
      const date = new Date(seconds * 1000);
      const iso = Number.isNaN(date.getTime()) ? undefined : date.toISOString();
      out.push([prefix, iso !== undefined && /^\d{4}-/.test(iso) ? iso : String(seconds)]);
      return;
    }
    case 'blob':
      out.push([prefix, Buffer.from(value as Uint8Array).toString('base64')]);
      return;
    default:
      out.push([prefix, String(value)]);
  }
}

interface Slot { parent: Record<string, unknown> | unknown[]; key: string | number; ref: MemberRef; name: string; present: boolean }

/**
 * A valid input bent in one or two places: a member replaced by a generated (wild) value, removed,
 * or added. Starting from an input a client would send, it reaches deeper into handlers than a
 * generated input, which the handler mostly refuses early.
 */
export function mutateInput(model: ServiceModel, operation: string, input: Record<string, unknown>, options: FuzzOptions): Record<string, unknown> {
  const inputShape = model.operations[operation]?.input;
  const copy = structuredClone(input);
  if (inputShape === undefined) return copy;
  const slots: Slot[] = [];
  collectSlots(model, { shape: inputShape }, copy, slots);
  const g = new Generator(model, { ...options, tame: false });
  for (let n = 1 + g.int(2); n > 0 && slots.length > 0; n--) {
    const slot = g.pick(slots);
    const { parent, key } = slot;
    const current = (parent as Record<string | number, unknown>)[key];
    if (slot.present && !Array.isArray(parent) && g.chance(0.15)) delete parent[key as string];
    // A text the handler parses (a metric math expression, a policy document) is bent rather than replaced.
    else if (typeof current === 'string' && g.chance(0.5)) (parent as Record<string | number, unknown>)[key] = g.bend(current);
    else if (Array.isArray(parent)) parent[key as number] = g.value(slot.ref, slot.name, 1);
    else parent[key as string] = g.value(slot.ref, slot.name, 1);
  }
  return copy;
}

function collectSlots(model: ServiceModel, ref: MemberRef, value: unknown, out: Slot[]): void {
  const shape = model.shapes[ref.shape];
  if (shape === undefined || value === null || typeof value !== 'object') return;
  if (shape.type === 'structure' && shape.document !== true && !Array.isArray(value)) {
    const record = value as Record<string, unknown>;
    for (const [name, member] of Object.entries(shape.members ?? {})) {
      const present = record[name] !== undefined;
      out.push({ parent: record, key: name, ref: member, name, present });
      if (present) collectSlots(model, member, record[name], out);
    }
  } else if (shape.type === 'list' && Array.isArray(value)) {
    value.forEach((item, i) => {
      out.push({ parent: value, key: i, ref: shape.member!, name: 'member', present: true });
      collectSlots(model, shape.member!, item, out);
    });
  } else if (shape.type === 'map' && !Array.isArray(value)) {
    const record = value as Record<string, unknown>;
    for (const key of Object.keys(record)) {
      out.push({ parent: record, key, ref: shape.value!, name: key, present: true });
      collectSlots(model, shape.value!, record[key], out);
    }
  }
}
