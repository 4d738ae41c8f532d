/**
 * ECS's cluster query language: the expressions of ListContainerInstances `filter` and of
 * `memberOf` placement constraints, e.g.
 *   attribute:ecs.availability-zone in [us-east-1a, us-east-1b] and not(task:group == database)
 * Pure: `parseClusterQuery` turns text into a tree (or a ClusterQueryError naming the position
 * where it fails); `matches` evaluates a tree against one instance's facts.
 *
 * Grammar (words and symbols are interchangeable, case-insensitive: and/&&, or/||, not/!):
 *   expr       := and ( ('||' | 'or') and )*
 *   and        := unary ( ('&&' | 'and') unary )*
 *   unary      := ('!' | 'not') unary | '(' expr ')' | comparison
 *   comparison := subject ( 'exists' | '!exists' | 'not_exists'
 *                 | ('in' | '!in' | 'not_in') '[' value (',' value)* ']'
 *                 | op value )
 *   op         := == equals != not_equals > greater_than >= greater_than_equal < less_than
 *                 <= less_than_equal =~ matches !~ not_matches
 *   subject    := agentConnected | agentVersion | ec2InstanceId | registeredAt | runningTasksCount
 *                 | task:group | attribute:<name>
 *   value      := a bare word (no spaces or commas; brackets and parentheses only in pairs it
 *                 opens) or a '…' / "…" string
 */

/** What a query can ask of one container instance. */
export interface InstanceFacts {
  attributes: ReadonlyMap<string, string | undefined>;
  agentConnected: boolean;
  agentVersion?: string;
  ec2InstanceId?: string;
  /** Epoch milliseconds. */
  registeredAtMs?: number;
  runningTasksCount: number;
  /** The groups of the tasks on the instance (`service:web`, `family:batch`, ...). */
  taskGroups: ReadonlySet<string>;
}

export type Comparison = '==' | '!=' | '>' | '>=' | '<' | '<=' | '=~' | '!~';

export type ClusterQuery =
  | { kind: 'and' | 'or'; left: ClusterQuery; right: ClusterQuery }
  | { kind: 'not'; operand: ClusterQuery }
  | { kind: 'exists'; subject: string; negated: boolean }
  | { kind: 'in'; subject: string; values: string[]; negated: boolean }
  | { kind: 'compare'; subject: string; op: Comparison; value: string };

/** A query that does not parse; `position` is the 0-based offset where it fails. */
export class ClusterQueryError extends Error {
  constructor(readonly position: number, readonly reason: string) {
    super(`${reason} at position ${position}`);
  }
}

const OPERATOR_WORDS: Record<string, Comparison> = {
  '==': '==', equals: '==', '!=': '!=', not_equals: '!=', '>': '>', greater_than: '>', '>=': '>=', greater_than_equal: '>=',
  '<': '<', less_than: '<', '<=': '<=', less_than_equal: '<=', '=~': '=~', matches: '=~', '!~': '!~', not_matches: '!~',
};
const SUBJECTS = new Set(['agentconnected', 'agentversion', 'ec2instanceid', 'registeredat', 'runningtaskscount', 'task:group']);
const MAX_LENGTH = 2000;

interface Token { text: string; at: number; quoted: boolean }

function tokenize(text: string): Token[] {
  const tokens: Token[] = [];
  let i = 0;
  while (i < text.length) {
    const c = text[i]!;
    if (/\s/.test(c)) { i++; continue; }
    if ('()[],'.includes(c)) { tokens.push({ text: c, at: i, quoted: false }); i++; continue; }
    if (c === "'" || c === '"') {
      const end = text.indexOf(c, i + 1);
      if (end < 0) throw new ClusterQueryError(i, 'unterminated string');
      tokens.push({ text: text.slice(i + 1, end), at: i, quoted: true });
      i = end + 1;
      continue;
    }
    const two = text.slice(i, i + 2);
    if (['&&', '||', '==', '!=', '>=', '<=', '=~', '!~'].includes(two)) {
      // `!exists` / `!in` are one word; `!~`/`!=` are operators.
      tokens.push({ text: two, at: i, quoted: false });
      i += 2;
      continue;
    }
    if (c === '>' || c === '<') { tokens.push({ text: c, at: i, quoted: false }); i++; continue; }
    if (c === '!' && !/^!(exists|in)\b/i.test(text.slice(i))) { tokens.push({ text: '!', at: i, quoted: false }); i++; continue; }
    // A word may hold brackets and parentheses it opens itself (a regex like g[23].*); a closing
    // one it did not open ends it, as in `in [a, b]` or `not(task:group == x)`.
    let j = i;
    let depth = 0;
    while (j < text.length) {
      const ch = text[j]!;
      if (/[\s,'"]/.test(ch) || ['&&', '||'].includes(text.slice(j, j + 2))) break;
      if (ch === '(' && /^not$/i.test(text.slice(i, j))) break; // `not(...)`: the keyword, then a group
      if (ch === '[' || ch === '(') depth++;
      else if (ch === ']' || ch === ')') { if (depth === 0) break; depth--; }
      j++;
    }
    tokens.push({ text: text.slice(i, j), at: i, quoted: false });
    i = j;
  }
  return tokens;
}

/** Parses a cluster query, or throws ClusterQueryError naming where and why it fails. */
export function parseClusterQuery(text: string): ClusterQuery {
  if (text.length > MAX_LENGTH) throw new ClusterQueryError(MAX_LENGTH, `expression longer than ${MAX_LENGTH} characters`);
  const tokens = tokenize(text);
  let pos = 0;
  const peek = () => tokens[pos];
  const word = (t: Token | undefined) => (t && !t.quoted ? t.text.toLowerCase() : undefined);
  const fail = (reason: string): never => { throw new ClusterQueryError(peek()?.at ?? text.length, reason); };
  const expect = (s: string) => { if (word(peek()) !== s) fail(`expected '${s}'`); pos++; };

  const value = (): string => {
    const t = peek();
    if (!t || (!t.quoted && '()[],'.includes(t.text))) return fail('expected a value');
    pos++;
    return t.text;
  };
  const comparison = (): ClusterQuery => {
    const t = peek();
    if (!t || t.quoted) return fail('expected a subject');
    const lower = t.text.toLowerCase();
    if (!SUBJECTS.has(lower) && !(lower.startsWith('attribute:') && t.text.length > 'attribute:'.length)) {
      return fail(`unknown subject '${t.text}'`);
    }
    const subject = lower.startsWith('attribute:') ? `attribute:${t.text.slice('attribute:'.length)}` : lower;
    pos++;
    const op = word(peek());
    if (op === 'exists' || op === '!exists' || op === 'not_exists') {
      pos++;
      return { kind: 'exists', subject, negated: op !== 'exists' };
    }
    if (op === 'in' || op === '!in' || op === 'not_in') {
      pos++;
      expect('[');
      const values = [value()];
      while (word(peek()) === ',') { pos++; values.push(value()); }
      expect(']');
      return { kind: 'in', subject, values, negated: op !== 'in' };
    }
    const comparisonOp = op === undefined ? undefined : OPERATOR_WORDS[op];
    if (!comparisonOp) return fail('expected an operator');
    pos++;
    const v = value();
    if (comparisonOp === '=~' || comparisonOp === '!~') {
      try { new RegExp(v); } catch { throw new ClusterQueryError(tokens[pos - 1]!.at, `invalid regular expression '${v}'`); }
    }
    return { kind: 'compare', subject, op: comparisonOp, value: v };
  };
  const unary = (): ClusterQuery => {
    const w = word(peek());
    if (w === '!' || w === 'not') { pos++; return { kind: 'not', operand: unary() }; }
    if (w === '(') {
      pos++;
      const inner = or();
      expect(')');
      return inner;
    }
    return comparison();
  };
  const and = (): ClusterQuery => {
    let left = unary();
    while (word(peek()) === '&&' || word(peek()) === 'and') { pos++; left = { kind: 'and', left, right: unary() }; }
    return left;
  };
  const or = (): ClusterQuery => {
    let left = and();
    while (word(peek()) === '||' || word(peek()) === 'or') { pos++; left = { kind: 'or', left, right: and() }; }
    return left;
  };

  if (tokens.length === 0) fail('empty expression');
  const query = or();
  if (pos < tokens.length) fail(`unexpected '${tokens[pos]!.text}'`);
  return query;
}

/** A query turned into a predicate: regular expressions and dates are parsed once, not per instance. */
export type CompiledClusterQuery = (instance: InstanceFacts) => boolean;

const compiled = new WeakMap<ClusterQuery, CompiledClusterQuery>();

/** Whether `instance` satisfies `query`. */
export function matches(query: ClusterQuery, instance: InstanceFacts): boolean {
  let predicate = compiled.get(query);
  if (!predicate) { predicate = compileClusterQuery(query); compiled.set(query, predicate); }
  return predicate(instance);
}

/**
 * `query` as a predicate over one instance's facts; the same answers as `matches`, for callers that
 * evaluate one query against many instances (placement).
 */
export function compileClusterQuery(query: ClusterQuery): CompiledClusterQuery {
  switch (query.kind) {
    case 'and': { const l = compileClusterQuery(query.left); const r = compileClusterQuery(query.right); return (i) => l(i) && r(i); }
    case 'or': { const l = compileClusterQuery(query.left); const r = compileClusterQuery(query.right); return (i) => l(i) || r(i); }
    case 'not': { const o = compileClusterQuery(query.operand); return (i) => !o(i); }
    case 'exists': {
      const { negated } = query;
      if (query.subject === 'task:group') return (i) => (i.taskGroups.size > 0) !== negated;
      const value = valueOf(query.subject);
      return (i) => (value(i) !== undefined) !== negated;
    }
    case 'in': {
      const { negated } = query;
      const wanted = new Set(query.values);
      if (query.subject === 'task:group') {
        return (i) => { for (const g of i.taskGroups) if (wanted.has(g)) return !negated; return negated; };
      }
      const value = valueOf(query.subject);
      return (i) => { const v = value(i); return (v !== undefined && wanted.has(v)) !== negated; };
    }
    case 'compare': {
      // `!=` and `!~` hold when the subject has a value and the positive comparison fails: for
      // task:group (a set) that means no task has the group.
      const negative = query.op === '!=' || query.op === '!~';
      const test = comparator(query.subject, negative ? (query.op === '!=' ? '==' : '=~') : query.op, query.value);
      if (query.subject === 'task:group') {
        const any = query.op === '==' || query.op === '!='
          ? (i: InstanceFacts) => i.taskGroups.has(query.value)
          : (i: InstanceFacts) => { for (const g of i.taskGroups) if (test(g)) return true; return false; };
        return negative ? (i) => i.taskGroups.size > 0 && !any(i) : any;
      }
      const value = valueOf(query.subject);
      return negative
        ? (i) => { const v = value(i); return v !== undefined && !test(v); }
        : (i) => { const v = value(i); return v !== undefined && test(v); };
    }
  }
}

/** The one value a (non task:group) subject has on an instance, or undefined when it has none. */
function valueOf(subject: string): (i: InstanceFacts) => string | undefined {
  switch (subject) {
    case 'agentconnected': return (i) => String(i.agentConnected);
    case 'agentversion': return (i) => i.agentVersion;
    case 'ec2instanceid': return (i) => i.ec2InstanceId;
    case 'registeredat': return (i) => (i.registeredAtMs === undefined ? undefined : String(i.registeredAtMs));
    case 'runningtaskscount': return (i) => String(i.runningTasksCount);
    default: {
      // An attribute registered without a value exists, with the empty string as its value.
      const name = subject.slice('attribute:'.length);
      return (i) => { const v = i.attributes.get(name); return v !== undefined ? v : i.attributes.has(name) ? '' : undefined; };
    }
  }
}

/** `actual <op> expected` for values of `subject`, with `expected` parsed once. */
function comparator(subject: string, op: Comparison, expected: string): (actual: string) => boolean {
  if (op === '=~') { const re = new RegExp(`^(?:${expected})$`); return (actual) => re.test(actual); }
  let order: (actual: string) => number;
  if (subject === 'registeredat') { const at = parseDate(expected); order = (a) => Math.sign(Number(a) - at); }
  else if (subject === 'agentversion') order = (a) => compareVersions(a, expected);
  else if (isNumber(expected)) { const n = Number(expected); order = (a) => (isNumber(a) ? Math.sign(Number(a) - n) : compareStrings(a, expected)); }
  else order = (a) => compareStrings(a, expected);
  switch (op) {
    case '==': return subject === 'registeredat' || subject === 'agentversion' || isNumber(expected) ? (a) => order(a) === 0 : (a) => a === expected;
    case '>': return (a) => order(a) > 0;
    case '>=': return (a) => order(a) >= 0;
    case '<': return (a) => order(a) < 0;
    case '<=': return (a) => order(a) <= 0;
    default: return () => false;
  }
}

const compareStrings = (a: string, b: string) => (a === b ? 0 : a < b ? -1 : 1);

const isNumber = (s: string) => /^-?\d+(\.\d+)?$/.test(s);

/** `2018-06-18`, `2018-06-18T22:28:28`, with `Z` or `+00:00`; no zone means UTC. */
function parseDate(text: string): number {
  const withZone = /[zZ]|[+-]\d\d:\d\d$/.test(text) || !text.includes('T') ? text : `${text}Z`;
  return Date.parse(/^\d{4}-\d\d-\d\d$/.test(text) ? `${text}T00:00:00Z` : withZone);
}

function compareVersions(a: string, b: string): number {
  const pa = a.split('.').map((x) => Number.parseInt(x, 10) || 0);
  const pb = b.split('.').map((x) => Number.parseInt(x, 10) || 0);
  for (let k = 0; k < Math.max(pa.length, pb.length); k++) {
    const d = (pa[k] ?? 0) - (pb[k] ?? 0);
    if (d !== 0) return Math.sign(d);
  }
  return 0;
}
