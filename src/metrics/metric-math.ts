/**
 * The subset of CloudWatch metric math Wharf evaluates in GetMetricData expressions:
 * numbers, other queries' ids, `+ - * /` (with precedence, parentheses and unary minus), and the
 * functions ABS(x), SUM, AVG, MIN, MAX. Arithmetic between two time series pairs their values at
 * equal timestamps (a timestamp missing from one is left out); between a series and a scalar it
 * applies to every value. SUM/AVG/MIN/MAX of one series give a scalar (over all its values); of
 * several series (`SUM([a, b])` or `SUM(a, b)`) a series (per timestamp, over the series having a
 * value there). Division by zero leaves the value out, as CloudWatch does.
 */

/** Timestamp (epoch ms) → value. */
export type Series = Map<number, number>;
export type MathValue = number | Series;

export class MetricMathError extends Error {
  override name = 'MetricMathError';
}

type Token = { kind: 'num'; value: number } | { kind: 'id'; name: string } | { kind: 'op'; op: string };

function tokenize(text: string): Token[] {
  const tokens: Token[] = [];
  const re = /\s*(?:(\d+(?:\.\d*)?(?:[eE][+-]?\d+)?|\.\d+)|([A-Za-z_][A-Za-z0-9_]*)|([-+*/(),[\]]))/y;
  let pos = 0;
  while (pos < text.length) {
    if (/^\s*$/.test(text.slice(pos))) break;
    re.lastIndex = pos;
    const m = re.exec(text);
    if (m === null) throw new MetricMathError(`Unrecognized token at position ${pos + 1} in "${text}".`);
    pos = re.lastIndex;
    if (m[1] !== undefined) tokens.push({ kind: 'num', value: Number(m[1]) });
    else if (m[2] !== undefined) tokens.push({ kind: 'id', name: m[2] });
    else tokens.push({ kind: 'op', op: m[3]! });
  }
  return tokens;
}

const FUNCTIONS = new Set(['ABS', 'SUM', 'AVG', 'MIN', 'MAX']);

/** The ids an expression reads (to order evaluation and to report unknown ones). */
export function referencedIds(expression: string): string[] {
  const tokens = tokenize(expression);
  return tokens.flatMap((t, i) => (t.kind === 'id' && !(FUNCTIONS.has(t.name) && tokens[i + 1]?.kind === 'op' && (tokens[i + 1] as { op: string }).op === '(') ? [t.name] : []));
}

/** Evaluates `expression`, reading ids through `lookup` (which throws for an unknown id). */
export function evaluateExpression(expression: string, lookup: (id: string) => MathValue): MathValue {
  const tokens = tokenize(expression);
  let i = 0;
  const peek = () => tokens[i];
  const isOp = (op: string) => { const t = peek(); return t?.kind === 'op' && t.op === op; };
  const expect = (op: string) => {
    if (!isOp(op)) throw new MetricMathError(`Expected "${op}" in "${expression}".`);
    i++;
  };
  const sum = (): MathValue => {
    let left = product();
    while (isOp('+') || isOp('-')) {
      const op = (tokens[i++] as { op: string }).op;
      left = combine(left, product(), op === '+' ? (a, b) => a + b : (a, b) => a - b);
    }
    return left;
  };
  const product = (): MathValue => {
    let left = unary();
    while (isOp('*') || isOp('/')) {
      const op = (tokens[i++] as { op: string }).op;
      left = combine(left, unary(), op === '*' ? (a, b) => a * b : (a, b) => (b === 0 ? undefined : a / b));
    }
    return left;
  };
  const unary = (): MathValue => {
    if (isOp('-')) { i++; return combine(0, unary(), (a, b) => a - b); }
    if (isOp('+')) { i++; return unary(); }
    return primary();
  };
  const args = (): MathValue[] => {
    expect('(');
    const out: MathValue[] = [];
    if (isOp('[')) {
      i++;
      while (!isOp(']')) {
        out.push(sum());
        if (!isOp(']')) expect(',');
      }
      i++;
    } else {
      while (!isOp(')')) {
        out.push(sum());
        if (!isOp(')')) expect(',');
      }
    }
    expect(')');
    return out;
  };
  const primary = (): MathValue => {
    const t = tokens[i++];
    if (t === undefined) throw new MetricMathError(`Unexpected end of expression "${expression}".`);
    if (t.kind === 'num') return t.value;
    if (t.kind === 'op') {
      if (t.op !== '(') throw new MetricMathError(`Unexpected "${t.op}" in "${expression}".`);
      const v = sum();
      expect(')');
      return v;
    }
    if (isOp('(')) {
      if (!FUNCTIONS.has(t.name)) throw new MetricMathError(`Unsupported function ${t.name} in "${expression}"; Wharf supports ${[...FUNCTIONS].join(', ')}.`);
      return call(t.name, args());
    }
    return lookup(t.name);
  };
  const value = sum();
  if (i < tokens.length) throw new MetricMathError(`Unexpected token after the end of "${expression}".`);
  return value;
}

function combine(a: MathValue, b: MathValue, f: (x: number, y: number) => number | undefined): MathValue {
  if (typeof a === 'number' && typeof b === 'number') return f(a, b) ?? NaN;
  const out: Series = new Map();
  if (typeof a === 'number') { for (const [t, y] of b as Series) set(out, t, f(a, y)); return out; }
  if (typeof b === 'number') { for (const [t, x] of a) set(out, t, f(x, b)); return out; }
  for (const [t, x] of a) if (b.has(t)) set(out, t, f(x, b.get(t)!));
  return out;
}

function set(out: Series, t: number, v: number | undefined): void {
  if (v !== undefined && Number.isFinite(v)) out.set(t, v);
}

const REDUCERS: Record<string, (values: number[]) => number> = {
  SUM: (v) => v.reduce((a, b) => a + b, 0),
  AVG: (v) => v.reduce((a, b) => a + b, 0) / v.length,
  MIN: (v) => Math.min(...v),
  MAX: (v) => Math.max(...v),
};

function call(name: string, args: MathValue[]): MathValue {
  if (name === 'ABS') {
    if (args.length !== 1) throw new MetricMathError('ABS takes one argument.');
    return combine(args[0]!, 0, (x) => Math.abs(x));
  }
  const reduce = REDUCERS[name]!;
  if (args.length === 0) throw new MetricMathError(`${name} needs at least one argument.`);
  if (args.length === 1) {
    const only = args[0]!;
    if (typeof only === 'number') return only;
    return only.size === 0 ? NaN : reduce([...only.values()]);
  }
  const byTime = new Map<number, number[]>();
  for (const a of args) {
    if (typeof a === 'number') throw new MetricMathError(`${name} of several arguments takes time series only.`);
    for (const [t, v] of a) byTime.set(t, [...(byTime.get(t) ?? []), v]);
  }
  const out: Series = new Map();
  for (const [t, values] of byTime) out.set(t, reduce(values));
  return out;
}
