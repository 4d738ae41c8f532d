/**
 * The contract every Store implementation passes. Run it from each implementation's test file with
 * a factory that returns a fresh, empty store.
 */
import { describe, it, beforeEach, afterEach } from 'node:test';
import assert from 'node:assert/strict';
import { ConflictError } from '../model/index.js';
import type { Store, WatchEvent } from './store.js';

export function storeContract(name: string, makeStore: () => Promise<Store>): void {
  describe(`Store contract: ${name}`, () => {
    let store: Store;
    beforeEach(async () => { store = await makeStore(); });
    afterEach(async () => { await store.close(); });

    it('returns undefined for a missing key', async () => {
      assert.equal(await store.get('nope'), undefined);
    });

    it('puts and gets JSON values with revisions that grow', async () => {
      const r1 = await store.put('a', { x: 1 });
      const r2 = await store.put('b', [1, 'two']);
      assert.ok(r2 > r1);
      const a = await store.get('a');
      assert.deepEqual(a?.value, { x: 1 });
      assert.equal(a?.createRevision, r1);
      assert.equal(a?.modRevision, r1);
      const r3 = await store.put('a', { x: 2 });
      const a2 = await store.get('a');
      assert.equal(a2?.createRevision, r1);
      assert.equal(a2?.modRevision, r3);
    });

    it('compare-and-swap: 0 means must not exist', async () => {
      await store.put('k', 1, { expectedModRevision: 0 });
      await assert.rejects(store.put('k', 2, { expectedModRevision: 0 }), ConflictError);
      assert.equal((await store.get('k'))?.value, 1);
    });

    it('compare-and-swap on the read revision; a stale writer loses', async () => {
      const rev = await store.put('k', 'v1');
      await store.put('k', 'v2', { expectedModRevision: rev });
      await assert.rejects(store.put('k', 'v3', { expectedModRevision: rev }), ConflictError);
      assert.equal((await store.get('k'))?.value, 'v2');
    });

    it('lists by prefix in key order, with pagination', async () => {
      for (const k of ['t/c', 't/a', 'u/a', 't/b', 's/z']) await store.put(k, k);
      assert.deepEqual((await store.list('t/')).map((e) => e.key), ['t/a', 't/b', 't/c']);
      assert.deepEqual((await store.list('t/', { limit: 2 })).map((e) => e.key), ['t/a', 't/b']);
      assert.deepEqual((await store.list('t/', { startAfter: 't/b' })).map((e) => e.key), ['t/c']);
      assert.deepEqual(await store.list('none/'), []);
    });

    it('deletes, with and without an expected revision', async () => {
      const rev = await store.put('d', 1);
      await assert.rejects(store.delete('d', { expectedModRevision: rev + 100 }), ConflictError);
      await store.delete('d', { expectedModRevision: rev });
      assert.equal(await store.get('d'), undefined);
      await store.delete('d');
    });

    it('txn applies all ops or none', async () => {
      const rev = await store.put('x', 1);
      await assert.rejects(
        store.txn([
          { op: 'put', key: 'y', value: 2 },
          { op: 'put', key: 'x', value: 3, expectedModRevision: rev + 1 },
        ]),
        ConflictError,
      );
      assert.equal(await store.get('y'), undefined);
      assert.equal((await store.get('x'))?.value, 1);
      await store.txn([
        { op: 'check', key: 'x', expectedModRevision: rev },
        { op: 'put', key: 'y', value: 2, expectedModRevision: 0 },
        { op: 'delete', key: 'x' },
      ]);
      assert.equal((await store.get('y'))?.value, 2);
      assert.equal(await store.get('x'), undefined);
    });

    it('watch sees committed changes under its prefix only, and stops after unsubscribe', async () => {
      const seen: WatchEvent[] = [];
      const stop = store.watch('w/', (e) => seen.push(e));
      await store.put('w/1', 'a');
      await store.put('other', 'b');
      await store.delete('w/1');
      await assert.rejects(store.put('w/2', 'c', { expectedModRevision: 5000 }));
      stop();
      await store.put('w/3', 'd');
      assert.deepEqual(seen.map((e) => [e.type, e.key]), [['put', 'w/1'], ['delete', 'w/1']]);
    });
  });
}
