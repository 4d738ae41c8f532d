/**
 * Serializes an operation's output as awsJson1_1: `Date`s become epoch seconds with fractional
 * milliseconds (JSON numbers, e.g. 1466801808.595), undefined becomes `{}`.
 */
export function serializeOutput(output: unknown): string {
  if (output === undefined) return '{}';
  return JSON.stringify(output, dateAsEpochSeconds);
}

// JSON.stringify has already replaced a Date by its toJSON() string in `value`; the holder still has the Date.
function dateAsEpochSeconds(this: unknown, key: string, value: unknown): unknown {
  const original = (this as Record<string, unknown>)[key];
  return original instanceof Date ? original.getTime() / 1000 : value;
}
