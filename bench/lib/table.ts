/** Plain-text output of the benchmarks: one small aligned table per figure set. */

export type Cell = string | number;

/**
 * Prints `rows` under `headers` as an aligned table to stdout. The first column (the row's name)
 * is left-aligned, the others right-aligned; numbers are shown with `digits` decimals (default 1).
 */
export function printTable(title: string, headers: readonly string[], rows: readonly (readonly Cell[])[], digits = 1): void {
  const text = rows.map((row) => row.map((c) => (typeof c === 'number' ? formatNumber(c, digits) : c)));
  const widths = headers.map((h, i) => Math.max(h.length, ...text.map((r) => (r[i] ?? '').length)));
  const line = (cells: readonly string[]) =>
    cells.map((c, i) => (i > 0 ? c.padStart(widths[i]!) : c.padEnd(widths[i]!))).join('  ').trimEnd();
  const out = [
    '',
    title,
    line(headers),
    widths.map((w) => '-'.repeat(w)).join('  '),
    ...text.map(line),
    '',
  ];
  process.stdout.write(out.join('\n') + '\n');
}

export function formatNumber(n: number, digits = 1): string {
  if (!Number.isFinite(n)) return 'n/a';
  return n.toFixed(digits);
}

/** "1.23x" — a ratio as printed in the tables. */
export function formatRatio(r: number): string {
  return Number.isFinite(r) ? `${r.toFixed(2)}x` : 'n/a';
}

/** One progress line on stderr, so stdout holds only the figures. */
export function progress(message: string): void {
  process.stderr.write(`[bench] ${message}\n`);
}
