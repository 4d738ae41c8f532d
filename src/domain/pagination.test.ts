import { test } from 'node:test';
import assert from 'node:assert/strict';
import { SqliteStore } from '../store/index.js';
import { pageThrough } from './pagination.js';

test('pageThrough pages by maxResults and refuses a page size below 1 (fuzz regression: maxResults 0 was a 500)', async () => {
  const store = new SqliteStore({ path: ':memory:' });
  try {
    for (const name of ['a', 'b', 'c']) await store.put(`things/${name}`, { name });
    const first = await pageThrough<{ name: string }>(store, 'things/', { maxResults: 2 });
    assert.deepEqual(first.items.map((e) => e.value.name), ['a', 'b']);
    const second = await pageThrough<{ name: string }>(store, 'things/', { maxResults: 2, ...(first.nextToken ? { nextToken: first.nextToken } : {}) });
    assert.deepEqual(second.items.map((e) => e.value.name), ['c']);
    assert.equal(second.nextToken, undefined);
    for (const maxResults of [0, -1]) {
      await assert.rejects(pageThrough(store, 'things/', { maxResults }), { name: 'InvalidParameterException', message: `Invalid maxResults ${maxResults}: it must be at least 1.` });
    }
  } finally {
    await store.close();
  }
});
