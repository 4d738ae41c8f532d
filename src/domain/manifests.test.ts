import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { digestOf } from './digests.js';
import { MEDIA_TYPES, parseManifest } from './manifests.js';

const d = (s: string) => digestOf(s);
const bytes = (v: unknown) => Buffer.from(JSON.stringify(v));

describe('manifest parsing', () => {
  it('finds config and layers of an image manifest, skipping foreign layers, and sums layer sizes', () => {
    const r = parseManifest(bytes({
      schemaVersion: 2, mediaType: MEDIA_TYPES.dockerManifest,
      config: { mediaType: 'application/vnd.docker.container.image.v1+json', digest: d('c'), size: 10 },
      layers: [
        { mediaType: 'application/vnd.docker.image.rootfs.diff.tar.gzip', digest: d('l1'), size: 100 },
        { mediaType: 'application/vnd.docker.image.rootfs.foreign.diff.tar.gzip', digest: d('win'), size: 1000, urls: ['https://example.com/l'] },
      ],
    }));
    assert.ok(r.ok);
    assert.deepEqual(r.manifest.blobs.map((b) => b.digest), [d('c'), d('l1')]);
    assert.equal(r.manifest.layersSizeInBytes, 1100);
  });

  it('infers the media type from the Content-Type, or from the shape when neither says', () => {
    const image = { schemaVersion: 2, config: { mediaType: 'application/vnd.oci.image.config.v1+json', digest: d('c'), size: 1 }, layers: [] };
    const typed = parseManifest(bytes(image), `${MEDIA_TYPES.ociManifest}; charset=utf-8`);
    assert.ok(typed.ok && typed.manifest.mediaType === MEDIA_TYPES.ociManifest);
    const index = parseManifest(bytes({ schemaVersion: 2, manifests: [] }));
    assert.ok(index.ok && index.manifest.mediaType === MEDIA_TYPES.ociIndex);
  });

  it('types an OCI artifact by artifactType, else by its config media type', () => {
    const artifact = parseManifest(bytes({
      schemaVersion: 2, mediaType: MEDIA_TYPES.ociManifest,
      config: { mediaType: 'application/vnd.example.config+json', digest: d('c'), size: 1 }, layers: [],
      subject: { mediaType: MEDIA_TYPES.ociManifest, digest: d('s'), size: 3 },
    }));
    assert.ok(artifact.ok);
    assert.equal(artifact.manifest.artifactType, 'application/vnd.example.config+json');
    assert.equal(artifact.manifest.subject?.digest, d('s'));
  });

  it('gives a reason for what it refuses', () => {
    const cases: [unknown, string | undefined, RegExp][] = [
      ['[1]', undefined, /JSON object/],
      [{ schemaVersion: 2, mediaType: 'application/vnd.example+json' }, undefined, /unsupported manifest media type/],
      [{ schemaVersion: 2, mediaType: MEDIA_TYPES.ociIndex }, undefined, /manifests array/],
      [{ schemaVersion: 2, mediaType: MEDIA_TYPES.ociManifest, config: { mediaType: 'x', digest: d('c'), size: 1 } }, undefined, /layers array/],
      [{ schemaVersion: 2, mediaType: MEDIA_TYPES.ociManifest, config: { mediaType: 'x', digest: d('c'), size: 1 }, layers: [], annotations: { a: 1 } }, undefined, /annotations/],
      [{ schemaVersion: 2, mediaType: MEDIA_TYPES.ociIndex, manifests: [] }, MEDIA_TYPES.dockerManifestList, /does not match/],
    ];
    for (const [doc, type, reason] of cases) {
      const r = parseManifest(typeof doc === 'string' ? Buffer.from(doc) : bytes(doc), type);
      assert.ok(!r.ok, JSON.stringify(doc));
      assert.match(r.reason, reason);
    }
    const r = parseManifest(Buffer.from([0xff, 0xfe]));
    assert.ok(!r.ok && /invalid JSON/.test(r.reason));
  });
});
