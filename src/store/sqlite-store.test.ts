import { it } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { SqliteStore } from './sqlite-store.js';
import { storeContract } from './store.contract.js';

storeContract('SQLite in memory', async () => new SqliteStore({ path: ':memory:' }));

it('SQLite store keeps data and revisions across reopen', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'wharf-store-'));
  try {
    const path = join(dir, 'state.db');
    const a = new SqliteStore({ path });
    const rev = await a.put('k', { v: 1 });
    await a.close();
    const b = new SqliteStore({ path });
    assert.equal((await b.get('k'))?.modRevision, rev);
    assert.ok((await b.put('k2', 1)) > rev);
    await b.close();
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

it('SQLite store answers shared, frozen values that follow every write', async () => {
  const store = new SqliteStore({ path: ':memory:', cacheEntries: 2 });
  try {
    await store.put('a', { n: 1, nested: { list: [1] } });
    const first = await store.get<{ n: number; nested: { list: number[] } }>('a');
    assert.ok(Object.isFrozen(first!.value) && Object.isFrozen(first!.value.nested.list));
    assert.throws(() => { (first!.value as { n: number }).n = 2; }, TypeError);
    await store.put('a', { n: 2 });
    assert.deepEqual((await store.get('a'))?.value, { n: 2 });
    // More keys than the cache holds: evicted entries are read again, correctly.
    for (const k of ['b', 'c', 'd']) await store.put(k, k);
    assert.deepEqual((await store.list('')).map((e) => e.value), [{ n: 2 }, 'b', 'c', 'd']);
    await store.delete('a');
    assert.equal(await store.get('a'), undefined);
  } finally {
    await store.close();
  }
});

it('SQLite store: the last put of a key in one txn wins, in reads and in the cache', async () => {
  const store = new SqliteStore({ path: ':memory:' });
  try {
    await store.txn([{ op: 'put', key: 'k', value: 1 }, { op: 'put', key: 'k', value: 2 }]);
    assert.equal((await store.get('k'))?.value, 2);
  } finally {
    await store.close();
  }
});

it('SQLite store refuses a second process on the same file', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'wharf-store-'));
  const path = join(dir, 'state.db');
  const first = new SqliteStore({ path });
  try {
    await first.put('k', 1);
    // A second connection stands in for a second server process on the same data directory.
    assert.throws(() => new SqliteStore({ path }), /in use by another process/);
  } finally {
    await first.close();
    rmSync(dir, { recursive: true, force: true });
  }
});
