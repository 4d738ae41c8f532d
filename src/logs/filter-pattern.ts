/**
 * CloudWatch Logs filter patterns, compiled once into a predicate over an event's message. Pure.
 *
 * Three syntaxes, chosen by the pattern's first character:
 * - terms (anything else): `ERROR`, `"quoted phrase"`, `?OR ?terms`, `-exclusions`. Terms are
 *   case-sensitive substrings. An event matches when it holds every plain term, none of the `-`
 *   terms, and, if there are `?` terms, at least one of them. The empty pattern matches everything.
 * - JSON (`{ ... }`): `{ $.level = "error" }`, `!=`, numeric `< > <= >= = !=`, `IS NULL`,
 *   `IS TRUE`/`IS FALSE`, `EXISTS`, `NOT EXISTS`, `*` wildcards in string values, `&&`, `||` and
 *   parentheses. Selectors are `$.a.b`, `$.a[0]`. Only messages that are JSON objects can match.
 * - space-delimited (`[ ... ]`): `[ip, user, ..., status = 404, size > 1000]`: the message is cut
 *   into fields at spaces (a `"quoted"` or `[bracketed]` run is one field); each named field may
 *   carry one condition (`=`, `!=` with strings and wildcards, numeric comparisons, joined by `&&`
 *   or `||`); `...` stands for any number of fields.
 *
 * A pattern CloudWatch would refuse throws FilterPatternError naming the problem and its position.
 */

/** Whether one event's message matches. */
export type MessagePredicate = (message: string) => boolean;

export class FilterPatternError extends Error {
  override name = 'FilterPatternError';
}

/** Compiles `pattern`; throws FilterPatternError for a malformed one. */
export function compileFilterPattern(pattern: string | undefined): MessagePredicate {
  const text = (pattern ?? '').trim();
  if (text.length === 0) return () => true;
  if (text.startsWith('{')) return compileJsonPattern(text);
  if (text.startsWith('[')) return compileSpaceDelimitedPattern(text);
  return compileTermPattern(text);
}

// ---- terms -------------------------------------------------------------------------------------

function compileTermPattern(text: string): MessagePredicate {
  const required: string[] = [];
  const anyOf: string[] = [];
  const excluded: string[] = [];
  let i = 0;
  while (i < text.length) {
    if (/\s/.test(text[i]!)) { i++; continue; }
    const start = i;
    let kind: 'required' | 'any' | 'excluded' = 'required';
    if (text[i] === '?') { kind = 'any'; i++; } else if (text[i] === '-') { kind = 'excluded'; i++; }
    let term: string;
    if (text[i] === '"') {
      const q = readQuoted(text, i);
      term = q.value;
      i = q.end;
      if (i < text.length && !/\s/.test(text[i]!)) throw new FilterPatternError(`Invalid filter pattern: a space must follow the quoted term at position ${start + 1}.`);
    } else {
      const end = text.slice(i).search(/\s/);
      term = end < 0 ? text.slice(i) : text.slice(i, i + end);
      i = end < 0 ? text.length : i + end;
      if (term.includes('"')) throw new FilterPatternError(`Invalid filter pattern: unexpected '"' in term '${term}' at position ${start + 1}.`);
    }
    if (term.length === 0) throw new FilterPatternError(`Invalid filter pattern: empty term at position ${start + 1}.`);
    (kind === 'required' ? required : kind === 'any' ? anyOf : excluded).push(term);
  }
  return (message) =>
    required.every((t) => message.includes(t))
    && !excluded.some((t) => message.includes(t))
    && (anyOf.length === 0 || anyOf.some((t) => message.includes(t)));
}

/** A double-quoted string starting at `text[start]`; `\"` and `\\` are escapes. */
function readQuoted(text: string, start: number): { value: string; end: number } {
  let value = '';
  for (let i = start + 1; i < text.length; i++) {
    const c = text[i]!;
    if (c === '\\' && i + 1 < text.length) { value += text[++i]; continue; }
    if (c === '"') return { value, end: i + 1 };
    value += c;
  }
  throw new FilterPatternError(`Invalid filter pattern: unterminated quoted string starting at position ${start + 1}.`);
}

// ---- shared comparison pieces ----------------------------------------------------------------------

type Operator = '=' | '!=' | '<' | '>' | '<=' | '>=';
type Literal = { kind: 'string'; value: string; quoted: boolean } | { kind: 'number'; value: number };

/** Compares one value found in the event against a literal; absent values never match. */
function comparator(op: Operator, literal: Literal, where: string): (value: unknown) => boolean {
  if (literal.kind === 'string') {
    if (op !== '=' && op !== '!=') throw new FilterPatternError(`Invalid filter pattern: '${op}' needs a number, not the string '${literal.value}' ${where}.`);
    const matches = wildcardMatcher(literal.value);
    return op === '=' ? (v) => typeof v === 'string' && matches(v) : (v) => typeof v === 'string' && !matches(v);
  }
  const n = literal.value;
  const num = (v: unknown): number | undefined => (typeof v === 'number' ? v : typeof v === 'string' && NUMBER.test(v) ? Number(v) : undefined);
  const test: Record<Operator, (x: number) => boolean> = {
    '=': (x) => x === n, '!=': (x) => x !== n, '<': (x) => x < n, '>': (x) => x > n, '<=': (x) => x <= n, '>=': (x) => x >= n,
  };
  const t = test[op];
  return (v) => { const x = num(v); return x !== undefined && t(x); };
}

const NUMBER = /^-?(\d+\.?\d*|\.\d+)([eE][-+]?\d+)?$/;

/** `*` matches any run of characters; everything else literally. */
function wildcardMatcher(value: string): (s: string) => boolean {
  if (!value.includes('*')) return (s) => s === value;
  const re = new RegExp(`^${value.split('*').map((p) => p.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')).join('[\\s\\S]*')}$`);
  return (s) => re.test(s);
}

/** A small tokenizer over the inside of `{ }` and `[ ]` patterns. */
class Lexer {
  pos = 0;
  constructor(readonly text: string, readonly offset: number) {}

  skipSpace(): void {
    while (this.pos < this.text.length && /\s/.test(this.text[this.pos]!)) this.pos++;
  }

  get done(): boolean {
    this.skipSpace();
    return this.pos >= this.text.length;
  }

  /** Consumes `s` when it comes next. */
  eat(s: string): boolean {
    this.skipSpace();
    if (this.text.startsWith(s, this.pos)) { this.pos += s.length; return true; }
    return false;
  }

  /** Consumes a keyword (whole word, case-insensitive) when it comes next. */
  eatWord(word: string): boolean {
    this.skipSpace();
    const m = /^[A-Za-z]+/.exec(this.text.slice(this.pos));
    if (m && m[0].toUpperCase() === word) { this.pos += m[0].length; return true; }
    return false;
  }

  operator(): Operator | undefined {
    for (const op of ['!=', '<=', '>=', '=', '<', '>'] as const) if (this.eat(op)) return op;
    return undefined;
  }

  /** A quoted string, a number, or a bare word (which may hold `*`). */
  literal(stops: RegExp): Literal {
    this.skipSpace();
    if (this.text[this.pos] === '"') {
      const q = readQuoted(this.text, this.pos);
      this.pos = q.end;
      return { kind: 'string', value: q.value, quoted: true };
    }
    const rest = this.text.slice(this.pos);
    const end = rest.search(stops);
    const word = end < 0 ? rest : rest.slice(0, end);
    if (word.length === 0) throw this.error('a value');
    this.pos += word.length;
    return NUMBER.test(word) ? { kind: 'number', value: Number(word) } : { kind: 'string', value: word, quoted: false };
  }

  error(expected: string): FilterPatternError {
    this.skipSpace();
    const found = this.pos >= this.text.length ? 'the end of the pattern' : `'${this.text.slice(this.pos, this.pos + 12)}'`;
    return new FilterPatternError(`Invalid filter pattern: expected ${expected} at position ${this.offset + this.pos + 1}, found ${found}.`);
  }
}

type Node<T> = (subject: T) => boolean;

/** `a && b || c`, with parentheses; `&&` binds tighter. `leaf` parses one condition. */
function parseBoolean<T>(lx: Lexer, leaf: () => Node<T>): Node<T> {
  const primary = (): Node<T> => {
    if (lx.eat('(')) {
      const inner = or();
      if (!lx.eat(')')) throw lx.error("')'");
      return inner;
    }
    return leaf();
  };
  const and = (): Node<T> => {
    const parts = [primary()];
    while (lx.eat('&&')) parts.push(primary());
    return parts.length === 1 ? parts[0]! : (s) => parts.every((p) => p(s));
  };
  const or = (): Node<T> => {
    const parts = [and()];
    while (lx.eat('||')) parts.push(and());
    return parts.length === 1 ? parts[0]! : (s) => parts.some((p) => p(s));
  };
  return or();
}

// ---- JSON -------------------------------------------------------------------------------------------

type Step = { key: string } | { index: number };

function compileJsonPattern(text: string): MessagePredicate {
  if (!text.endsWith('}')) throw new FilterPatternError("Invalid filter pattern: a JSON pattern must end with '}'.");
  const lx = new Lexer(text.slice(1, -1), 1);
  if (lx.done) throw new FilterPatternError('Invalid filter pattern: the JSON pattern is empty.');
  const root = parseBoolean<Record<string, unknown>>(lx, () => jsonCondition(lx));
  if (!lx.done) throw lx.error("'&&', '||' or '}'");
  return (message) => {
    // Cheap refusal first: most non-JSON lines fail here without a parse.
    if (message.length === 0 || message.trimStart()[0] !== '{') return false;
    let doc: unknown;
    try { doc = JSON.parse(message); } catch { return false; }
    return typeof doc === 'object' && doc !== null && !Array.isArray(doc) && root(doc as Record<string, unknown>);
  };
}

function jsonCondition(lx: Lexer): Node<Record<string, unknown>> {
  const path = selector(lx);
  const where = `for ${lx.text.slice(0, lx.pos).trim().split(/\s+/).pop()}`;
  const get = (doc: unknown): { found: boolean; value?: unknown } => {
    let cur: unknown = doc;
    for (const step of path) {
      if ('key' in step) {
        if (typeof cur !== 'object' || cur === null || Array.isArray(cur) || !Object.hasOwn(cur, step.key)) return { found: false };
        cur = (cur as Record<string, unknown>)[step.key];
      } else {
        if (!Array.isArray(cur) || step.index >= cur.length) return { found: false };
        cur = cur[step.index];
      }
    }
    return { found: true, value: cur };
  };
  if (lx.eatWord('IS')) {
    const not = lx.eatWord('NOT');
    let expect: unknown;
    if (lx.eatWord('NULL')) expect = null;
    else if (lx.eatWord('TRUE')) expect = true;
    else if (lx.eatWord('FALSE')) expect = false;
    else throw lx.error('NULL, TRUE or FALSE after IS');
    return (doc) => { const r = get(doc); return r.found && (r.value === expect) !== not; };
  }
  if (lx.eatWord('NOT')) {
    if (!lx.eatWord('EXISTS')) throw lx.error('EXISTS after NOT');
    return (doc) => !get(doc).found;
  }
  if (lx.eatWord('EXISTS')) return (doc) => get(doc).found;
  const op = lx.operator();
  if (!op) throw lx.error('an operator (=, !=, <, >, <=, >=), IS, EXISTS or NOT EXISTS');
  const literal = lx.literal(/[\s)&|]/);
  const compare = comparator(op, literal, where);
  return (doc) => { const r = get(doc); return r.found && compare(r.value); };
}

/** `$.a.b[0].c`; keys are letters, digits, `_`, `-`, `@` or quoted with `["..."]`. */
function selector(lx: Lexer): Step[] {
  if (!lx.eat('$')) throw lx.error("a selector starting with '$'");
  const steps: Step[] = [];
  for (;;) {
    if (lx.text[lx.pos] === '.') {
      lx.pos++;
      const m = /^[A-Za-z0-9_\-@:]+/.exec(lx.text.slice(lx.pos));
      if (!m) throw lx.error("a field name after '.'");
      steps.push({ key: m[0] });
      lx.pos += m[0].length;
    } else if (lx.text[lx.pos] === '[') {
      const m = /^\[(\d+)\]/.exec(lx.text.slice(lx.pos));
      if (!m) throw lx.error('an array index such as [0]');
      steps.push({ index: Number(m[1]) });
      lx.pos += m[0].length;
    } else {
      break;
    }
  }
  if (steps.length === 0) throw lx.error("a field after '$' such as $.level");
  return steps;
}

// ---- space-delimited --------------------------------------------------------------------------------

type Field = { kind: 'ellipsis' } | { kind: 'field'; name: string; test?: Node<string> };

function compileSpaceDelimitedPattern(text: string): MessagePredicate {
  if (!text.endsWith(']')) throw new FilterPatternError("Invalid filter pattern: a space-delimited pattern must end with ']'.");
  const lx = new Lexer(text.slice(1, -1), 1);
  const fields: Field[] = [];
  const names = new Set<string>();
  do {
    if (lx.eat('...')) { fields.push({ kind: 'ellipsis' }); continue; }
    lx.skipSpace();
    const m = /^[A-Za-z_][A-Za-z0-9_]*/.exec(lx.text.slice(lx.pos));
    if (!m) throw lx.error("a field name or '...'");
    lx.pos += m[0].length;
    if (names.has(m[0])) throw new FilterPatternError(`Invalid filter pattern: field '${m[0]}' is named twice.`);
    names.add(m[0]);
    const field: Field = { kind: 'field', name: m[0] };
    lx.skipSpace();
    if (!lx.done && lx.text[lx.pos] !== ',') {
      const name = m[0];
      field.test = parseBoolean<string>(lx, () => {
        // Each alternative repeats the field name: `status = 4* || status = 5*`; the first may omit it.
        lx.skipSpace();
        if (lx.text.startsWith(name, lx.pos)) lx.pos += name.length;
        const op = lx.operator();
        if (!op) throw lx.error(`an operator after '${name}'`);
        const compare = comparator(op, lx.literal(/[\s,&|)]/), `for ${name}`);
        return (value) => compare(value);
      });
    }
    fields.push(field);
  } while (lx.eat(','));
  if (!lx.done) throw lx.error("',' or ']'");
  if (fields.length === 0) throw new FilterPatternError('Invalid filter pattern: the space-delimited pattern is empty.');
  return (message) => matchFields(fields, 0, splitFields(message), 0);
}

/** Splits at runs of spaces; `"..."` and `[...]` are single fields, without their delimiters. */
export function splitFields(message: string): string[] {
  const out: string[] = [];
  let i = 0;
  while (i < message.length) {
    while (i < message.length && message[i] === ' ') i++;
    if (i >= message.length) break;
    const close = message[i] === '"' ? '"' : message[i] === '[' ? ']' : undefined;
    if (close) {
      const end = message.indexOf(close, i + 1);
      if (end >= 0) { out.push(message.slice(i + 1, end)); i = end + 1; continue; }
    }
    let end = message.indexOf(' ', i);
    if (end < 0) end = message.length;
    out.push(message.slice(i, end));
    i = end;
  }
  return out;
}

function matchFields(pattern: Field[], p: number, values: string[], v: number): boolean {
  if (p === pattern.length) return v === values.length;
  const f = pattern[p]!;
  if (f.kind === 'ellipsis') {
    for (let k = v; k <= values.length; k++) if (matchFields(pattern, p + 1, values, k)) return true;
    return false;
  }
  if (v >= values.length) return false;
  if (f.test && !f.test(values[v]!)) return false;
  return matchFields(pattern, p + 1, values, v + 1);
}
