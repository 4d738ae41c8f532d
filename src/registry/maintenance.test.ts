/**
 * Garbage collection's safety rules on a real store and blob store with a fake clock: what a
 * manifest needs stays, a blob another repository still links stays, anything young stays (a push
 * in progress), and only the rest goes.
 */
import { after, before, it } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Readable } from 'node:stream';
import { createRepository, digestOf, getLayer, linkLayer, MEDIA_TYPES, parseManifest, putImage, touchLayer, type DomainContext } from '../domain/index.js';
import { SqliteStore } from '../store/index.js';
import { imageManifest } from '../testkit/registry-client.js';
import { DiskBlobStore } from './blob-store.js';
import { RegistryMaintenance } from './maintenance.js';

const HOUR = 60 * 60 * 1000;
let now = Date.parse('2026-03-01T00:00:00Z');
let dir: string;
let store: SqliteStore;
let blobs: DiskBlobStore;
let ctx: DomainContext;
let maintenance: RegistryMaintenance;

before(async () => {
  dir = await mkdtemp(join(tmpdir(), 'wharf-gc-'));
  store = new SqliteStore({ path: ':memory:' });
  blobs = await new DiskBlobStore(dir, () => now).init();
  ctx = { store, scope: { partition: 'aws', region: 'us-east-1', accountId: '123456789012' }, nowMs: () => now, principalArn: 'arn:aws:iam::123456789012:root', log: () => {} };
  maintenance = new RegistryMaintenance({ ctx, blobs, uploadIdleTimeoutMs: HOUR, graceMs: HOUR, sweepIntervalMs: HOUR });
});
after(async () => {
  await maintenance.close();
  await store.close();
  await rm(dir, { recursive: true, force: true });
});

async function pushBlob(repo: string, data: Buffer): Promise<string> {
  const session = await blobs.createUpload(repo);
  await blobs.appendToUpload(session.id, Readable.from([data]));
  const digest = digestOf(data);
  await blobs.completeUpload(session.id, digest);
  await linkLayer(ctx, repo, digest, data.length);
  return digest;
}

it('collects only unreferenced, old layer links and blobs', async () => {
  await createRepository(ctx, { repositoryName: 'kept' });
  await createRepository(ctx, { repositoryName: 'shared' });
  const config = Buffer.from('{"os":"linux"}');
  const used = Buffer.from('layer in a manifest');
  const stray = Buffer.from('layer no manifest names');
  const sharedLayer = Buffer.from('layer mounted elsewhere');
  await pushBlob('kept', config);
  await pushBlob('kept', used);
  await pushBlob('kept', stray);
  await pushBlob('kept', sharedLayer);
  await linkLayer(ctx, 'shared', digestOf(sharedLayer), sharedLayer.length);
  const manifest = Buffer.from(imageManifest(MEDIA_TYPES.dockerManifest, config, [used]));
  const parsed = parseManifest(manifest);
  assert.ok(parsed.ok);
  await putImage(ctx, { repositoryName: 'kept', manifest, parsed: parsed.manifest, tag: 'v1', refuseNoChange: false });
  const inFlight = await blobs.createUpload('kept');

  // Young: nothing goes, not even what nobody references yet.
  assert.deepEqual(await maintenance.sweep(), { expiredUploads: 0, expiredImages: 0, unlinkedLayers: 0, deletedBlobs: 0 });

  now += 2 * HOUR;
  // The shared repository's link is refreshed (a new mount), so it is young there.
  await linkLayer(ctx, 'shared', digestOf(sharedLayer), sharedLayer.length);
  const result = await maintenance.sweep();
  assert.deepEqual(result, { expiredUploads: 1, expiredImages: 0, unlinkedLayers: 2, deletedBlobs: 1 });
  assert.equal(await blobs.getUpload(inFlight.id), undefined);
  assert.ok(await getLayer(ctx, 'kept', digestOf(used)));
  assert.ok(await getLayer(ctx, 'kept', digestOf(config)));
  assert.equal(await getLayer(ctx, 'kept', digestOf(stray)), undefined);
  assert.equal(await getLayer(ctx, 'kept', digestOf(sharedLayer)), undefined);
  assert.ok(await blobs.stat(digestOf(used)));
  assert.ok(await blobs.stat(digestOf(sharedLayer)), 'still linked in the other repository');
  assert.equal(await blobs.stat(digestOf(stray)), undefined);

  // Running it again changes nothing.
  assert.deepEqual(await maintenance.sweep(), { expiredUploads: 0, expiredImages: 0, unlinkedLayers: 0, deletedBlobs: 0 });
});

it('a link refreshed by touchLayer (a push saw the blob with HEAD) gets a fresh grace period', async () => {
  await createRepository(ctx, { repositoryName: 'touched' });
  const layer = Buffer.from('an old layer a new push reuses');
  await pushBlob('touched', layer);
  now += 2 * HOUR;
  await touchLayer(ctx, 'touched', digestOf(layer));
  await maintenance.sweep();
  assert.ok(await getLayer(ctx, 'touched', digestOf(layer)));
  assert.ok(await blobs.stat(digestOf(layer)));
});
