/**
 * Keeps the dependency direction of ../shared/DESIGN.md: `model` at the bottom, `scheduler` on
 * `model` alone, the API on the domain (never the store, beyond naming its type), the agent on the
 * protocol and signing only — it talks to the server over HTTP, as a user would. Reads the
 * TypeScript sources, resolves every relative import to the top-level folder it lands in, and
 * checks it against the table. Tests and the testkit may import anything.
 */
import { it } from 'node:test';
import assert from 'node:assert/strict';
import { readdirSync, readFileSync } from 'node:fs';
import { dirname, join, relative, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

const SRC = resolve(dirname(fileURLToPath(import.meta.url)), '../../src');

/** Folder → folders it may import at run time. */
const ALLOWED: Record<string, readonly string[]> = {
  model: [],
  sigv4: ['model'],
  scheduler: ['model'],
  store: ['model'],
  metrics: ['model'],
  domain: ['model', 'store', 'scheduler'],
  controllers: ['model', 'domain', 'scheduler', 'metrics'],
  registry: ['model', 'domain'],
  api: ['model', 'domain', 'sigv4', 'controllers', 'registry', 'metrics'],
  agent: ['model', 'sigv4'],
  cli: ['model', 'api', 'store', 'agent', 'sigv4', 'metrics'],
  bin: ['cli'],
};
/** Folder → folders it may name types from (`import type`), erased at run time. */
const TYPES_ALSO: Record<string, readonly string[]> = {
  api: ['store'],
};

function sources(dir: string): string[] {
  return readdirSync(dir, { withFileTypes: true }).flatMap((e) =>
    e.isDirectory() ? sources(join(dir, e.name)) : e.name.endsWith('.ts') && !/\.(test|contract)\.ts$/.test(e.name) ? [join(dir, e.name)] : []);
}

it('every import follows the dependency direction', () => {
  const violations: string[] = [];
  for (const file of sources(SRC)) {
    const from = relative(SRC, file).split('/')[0]!;
    if (from === 'testkit' || !from.length || from.endsWith('.ts')) continue;
    const allowed = ALLOWED[from];
    assert.ok(allowed, `no rule for folder src/${from}: add it to the table`);
    const text = readFileSync(file, 'utf8');
    for (const m of text.matchAll(/^\s*(import|export)\s+(type\s+)?[^'";]*?from\s+'(\.{1,2}\/[^']+)'/gm)) {
      const to = relative(SRC, resolve(dirname(file), m[3]!)).split('/')[0]!;
      if (to === from) continue;
      const typeOnly = m[2] !== undefined;
      if (allowed.includes(to) || (typeOnly && TYPES_ALSO[from]?.includes(to))) continue;
      violations.push(`${relative(SRC, file)} imports ${m[3]} (${from} -> ${to})`);
    }
  }
  assert.deepEqual(violations, []);
});
