import { it } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtemp, readdir, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Readable } from 'node:stream';
import { digestOf } from '../domain/index.js';
import { DiskBlobStore } from './blob-store.js';
import { blobStoreContract } from './blob-store.contract.js';

async function makeDisk() {
  const dir = await mkdtemp(join(tmpdir(), 'wharf-blobs-'));
  return { dir, store: await new DiskBlobStore(dir).init(), dispose: () => rm(dir, { recursive: true, force: true }) };
}

blobStoreContract('disk', makeDisk);

it('a session outlives the process that started it: another store on the same directory completes it, re-hashing from disk', async () => {
  const { dir, store, dispose } = await makeDisk();
  try {
    const data = Buffer.from('written before a restart');
    const session = await store.createUpload('repo');
    await store.appendToUpload(session.id, Readable.from([data]));
    const restarted = await new DiskBlobStore(dir).init();
    assert.equal((await restarted.getUpload(session.id))?.size, data.length);
    await restarted.completeUpload(session.id, digestOf(data));
    assert.equal((await restarted.stat(digestOf(data)))?.size, data.length);
  } finally {
    await dispose();
  }
});

it('lays blobs out by algorithm and digest prefix, and leaves no session files behind', async () => {
  const { dir, store, dispose } = await makeDisk();
  try {
    const digest = digestOf('layout');
    const session = await store.createUpload('repo');
    await store.appendToUpload(session.id, Readable.from([Buffer.from('layout')]));
    await store.completeUpload(session.id, digest);
    const hex = digest.slice('sha256:'.length);
    assert.deepEqual(await readdir(join(dir, 'blobs', 'sha256', hex.slice(0, 2))), [hex]);
    assert.deepEqual(await readdir(join(dir, 'uploads')), []);
  } finally {
    await dispose();
  }
});
