/**
 * The contract every BlobStore passes. Run it from each implementation's test file with a factory
 * that answers a fresh, empty store and a way to dispose of it.
 */
import { describe, it, beforeEach, afterEach } from 'node:test';
import assert from 'node:assert/strict';
import { Readable, Writable } from 'node:stream';
import { digestOf } from '../domain/index.js';
import type { BlobStore } from './blob-store.js';
import { DigestMismatchError, UploadBusyError, UploadOffsetError, UploadUnknownError } from './errors.js';

/** What `writeTo` hands a destination, collected. */
async function readAll(store: BlobStore, digest: string, range?: { start: number; end: number }): Promise<Buffer> {
  const chunks: Buffer[] = [];
  // writeTo reuses its buffers once a write is done, so the destination must copy what it keeps.
  const out = new Writable({ write(chunk: Buffer, _enc, done) { chunks.push(Buffer.from(chunk)); done(); } });
  await store.writeTo(digest, out, range);
  return Buffer.concat(chunks);
}

/** A stream that yields `good` and then fails, as a client connection cut midway does. */
function breakingStream(good: Buffer): Readable {
  let sent = false;
  return new Readable({
    read() {
      if (!sent) { sent = true; this.push(good); return; }
      this.destroy(new Error('connection reset'));
    },
  });
}

export function blobStoreContract(name: string, make: () => Promise<{ store: BlobStore; dispose: () => Promise<void> }>): void {
  describe(`BlobStore contract: ${name}`, () => {
    let store: BlobStore;
    let dispose: () => Promise<void>;
    beforeEach(async () => { ({ store, dispose } = await make()); });
    afterEach(async () => { await dispose(); });

    it('an upload in chunks becomes a blob readable whole and by range', async () => {
      const data = Buffer.from('hello, content-addressed world');
      const digest = digestOf(data);
      const session = await store.createUpload('repo');
      assert.equal(session.size, 0);
      assert.equal(await store.appendToUpload(session.id, Readable.from([data.subarray(0, 10)]), 0), 10);
      assert.equal(await store.appendToUpload(session.id, Readable.from([data.subarray(10)]), 10), data.length);
      assert.equal((await store.getUpload(session.id))?.size, data.length);
      assert.equal(await store.stat(digest), undefined, 'not visible before completion');
      const blob = await store.completeUpload(session.id, digest);
      assert.equal(blob.size, data.length);
      assert.equal(await store.getUpload(session.id), undefined);
      assert.deepEqual(await readAll(store, digest), data);
      assert.deepEqual(await readAll(store, digest, { start: 7, end: 11 }), data.subarray(7, 12));
      assert.deepEqual((await store.list()).map((b) => b.digest), [digest]);
    });

    it('writes a blob of several buffers whole and by a range across them, and stops when the destination closes', async () => {
      const data = Buffer.alloc(3 * 1024 * 1024 + 123);
      for (let i = 0; i < data.length; i++) data[i] = (i * 7919) % 251;
      const session = await store.createUpload('repo');
      await store.appendToUpload(session.id, Readable.from([data]));
      const digest = digestOf(data);
      await store.completeUpload(session.id, digest);
      assert.deepEqual(await readAll(store, digest), data);
      const range = { start: 1024 * 1024 - 5, end: 2 * 1024 * 1024 + 9 };
      assert.deepEqual(await readAll(store, digest, range), data.subarray(range.start, range.end + 1));
      const closing = new Writable({ write(_chunk, _enc, done) { this.destroy(); done(); } });
      await assert.rejects(store.writeTo(digest, closing));
    });

    it('verifies sha512 digests too', async () => {
      const data = Buffer.from('sha512 content');
      const session = await store.createUpload('repo');
      await store.appendToUpload(session.id, Readable.from([data]));
      const digest = digestOf(data, 'sha512');
      await store.completeUpload(session.id, digest);
      assert.equal((await store.stat(digest))?.size, data.length);
    });

    it('a wrong digest is refused, the session discarded, and no blob appears', async () => {
      const session = await store.createUpload('repo');
      await store.appendToUpload(session.id, Readable.from([Buffer.from('abc')]));
      const wrong = digestOf('something else');
      await assert.rejects(store.completeUpload(session.id, wrong), DigestMismatchError);
      assert.equal(await store.stat(wrong), undefined);
      assert.equal(await store.stat(digestOf('abc')), undefined);
      assert.equal(await store.getUpload(session.id), undefined);
    });

    it('an append at the wrong offset is refused with the real offset', async () => {
      const session = await store.createUpload('repo');
      await store.appendToUpload(session.id, Readable.from([Buffer.from('12345')]));
      await assert.rejects(store.appendToUpload(session.id, Readable.from([Buffer.from('x')]), 3),
        (err: unknown) => err instanceof UploadOffsetError && err.currentSize === 5);
      assert.equal((await store.getUpload(session.id))?.size, 5);
    });

    it('an append whose stream breaks leaves the session as before, and the upload can go on', async () => {
      const data = Buffer.from('0123456789abcdef');
      const session = await store.createUpload('repo');
      await store.appendToUpload(session.id, Readable.from([data.subarray(0, 4)]));
      await assert.rejects(store.appendToUpload(session.id, breakingStream(data.subarray(4, 8))));
      assert.equal((await store.getUpload(session.id))?.size, 4);
      await store.appendToUpload(session.id, Readable.from([data.subarray(4)]), 4);
      await store.completeUpload(session.id, digestOf(data));
      assert.deepEqual(await readAll(store, digestOf(data)), data);
    });

    it('two uploads of the same content both complete, into one blob', async () => {
      const data = Buffer.alloc(256 * 1024, 7);
      const digest = digestOf(data);
      const a = await store.createUpload('one');
      const b = await store.createUpload('two');
      await Promise.all([
        store.appendToUpload(a.id, Readable.from([data])).then(() => store.completeUpload(a.id, digest)),
        store.appendToUpload(b.id, Readable.from([data])).then(() => store.completeUpload(b.id, digest)),
      ]);
      assert.deepEqual(await readAll(store, digest), data);
      assert.equal((await store.list()).length, 1);
    });

    it('refuses a second append to a session while one is in progress', async () => {
      const session = await store.createUpload('repo');
      const slow = new Readable({ read() { /* pushed below */ } });
      const first = store.appendToUpload(session.id, slow);
      await new Promise((r) => setTimeout(r, 20));
      await assert.rejects(store.appendToUpload(session.id, Readable.from([Buffer.from('x')])), UploadBusyError);
      slow.push(Buffer.from('first'));
      slow.push(null);
      assert.equal(await first, 5);
    });

    it('unknown, cancelled and completed sessions are unknown', async () => {
      await assert.rejects(store.appendToUpload('00000000-0000-0000-0000-000000000000', Readable.from([Buffer.from('x')])), UploadUnknownError);
      await assert.rejects(store.appendToUpload('../../etc', Readable.from([Buffer.from('x')])), UploadUnknownError);
      const session = await store.createUpload('repo');
      assert.deepEqual((await store.listUploads()).map((u) => u.id), [session.id]);
      assert.equal(await store.cancelUpload(session.id), true);
      assert.equal(await store.cancelUpload(session.id), false);
      await assert.rejects(store.completeUpload(session.id, digestOf('')), UploadUnknownError);
      assert.deepEqual(await store.listUploads(), []);
    });

    it('deletes blobs', async () => {
      const session = await store.createUpload('repo');
      await store.completeUpload(session.id, digestOf(''));
      assert.equal((await store.stat(digestOf('')))?.size, 0);
      assert.equal(await store.delete(digestOf('')), true);
      assert.equal(await store.delete(digestOf('')), false);
      assert.equal(await store.stat(digestOf('')), undefined);
    });
  });
}
