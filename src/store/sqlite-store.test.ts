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
