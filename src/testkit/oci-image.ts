/**
 * A valid OCI image layout (the `oci:` transport of skopeo) of random, incompressible content, for
 * the registry benchmarks and tests. Each layer is a real tar (made by the `tar` command) of files of random
 * bytes, gzipped at level 0 (stored deflate blocks): the layer is as big as its content, costs no
 * CPU to "compress", and skopeo, seeing an already compressed layer, sends it as it is instead of
 * gzipping it itself on the way to a registry (which would make the client, not the registry, the
 * bottleneck). Everything is written by streaming; no layer is ever held in memory.
 */
import { spawn } from 'node:child_process';
import { createHash, randomFillSync, type Hash } from 'node:crypto';
import { createWriteStream, statSync } from 'node:fs';
import { mkdir, rename, rm, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { Readable, Transform, type TransformCallback } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { createGzip } from 'node:zlib';

const MEDIA_TYPES = {
  manifest: 'application/vnd.oci.image.manifest.v1+json',
  index: 'application/vnd.oci.image.index.v1+json',
  config: 'application/vnd.oci.image.config.v1+json',
  layer: 'application/vnd.oci.image.layer.v1.tar+gzip',
} as const;

/** Random files inside a layer are at most this big, so a layer holds several files. */
const MAX_FILE_BYTES = 64 * 1024 * 1024;
const RANDOM_CHUNK_BYTES = 1024 * 1024;

export interface OciImage {
  /** The layout directory; `oci:<dir>:<tag>` names the image for skopeo. */
  dir: string;
  tag: string;
  /** The layer blobs (gzipped tars), in manifest order. */
  layers: { digest: string; size: number }[];
  /** What a copy transfers: every layer, the config and the manifest. */
  totalBytes: number;
}

interface Descriptor {
  mediaType: string;
  digest: string;
  size: number;
}

/**
 * Writes an OCI image layout in `dir` (created; must not exist) with one layer per entry of
 * `layerContentBytes` (the random bytes in that layer's files; the tar and gzip framing add a few
 * KB), tagged `tag`.
 */
export async function writeOciImage(dir: string, tag: string, layerContentBytes: readonly number[]): Promise<OciImage> {
  const blobs = join(dir, 'blobs', 'sha256');
  await mkdir(blobs, { recursive: true });
  const layers: Descriptor[] = [];
  const diffIds: string[] = [];
  for (const [i, bytes] of layerContentBytes.entries()) {
    const { descriptor, diffId } = await writeLayer(dir, blobs, `layer-${i}`, bytes);
    layers.push(descriptor);
    diffIds.push(diffId);
  }
  const config = await writeJsonBlob(blobs, MEDIA_TYPES.config, {
    architecture: 'amd64',
    os: 'linux',
    config: {},
    rootfs: { type: 'layers', diff_ids: diffIds },
  });
  const manifest = await writeJsonBlob(blobs, MEDIA_TYPES.manifest, {
    schemaVersion: 2,
    mediaType: MEDIA_TYPES.manifest,
    config,
    layers,
  });
  await writeFile(join(dir, 'oci-layout'), JSON.stringify({ imageLayoutVersion: '1.0.0' }));
  await writeFile(join(dir, 'index.json'), JSON.stringify({
    schemaVersion: 2,
    mediaType: MEDIA_TYPES.index,
    manifests: [{ ...manifest, annotations: { 'org.opencontainers.image.ref.name': tag } }],
  }));
  const layerBytes = layers.reduce((sum, l) => sum + l.size, 0);
  return { dir, tag, layers: layers.map(({ digest, size }) => ({ digest, size })), totalBytes: layerBytes + config.size + manifest.size };
}

/**
 * Throws unless `destination`, where skopeo copied the image to with the `dir:` transport (one file
 * per blob, named by its hex digest), holds every layer of `image` whole.
 */
export function checkPulledLayers(image: OciImage, destination: string): void {
  for (const layer of image.layers) {
    const path = join(destination, layer.digest.slice('sha256:'.length));
    const size = statSync(path, { throwIfNoEntry: false })?.size;
    if (size !== layer.size) throw new Error(`the pull left ${path} with ${size ?? 'no'} bytes, not ${layer.size}`);
  }
}

/**
 * Fills a scratch directory with random files, tars it (`tar` writing to a pipe), and streams the
 * tar through a sha256 (the diff ID), gzip level 0 and a second sha256 (the blob digest) into the
 * blob store. The scratch files are removed afterwards.
 */
async function writeLayer(dir: string, blobs: string, name: string, contentBytes: number): Promise<{ descriptor: Descriptor; diffId: string }> {
  const scratch = join(dir, `${name}.files`);
  await mkdir(scratch);
  try {
    for (let offset = 0, n = 0; offset < contentBytes; offset += MAX_FILE_BYTES, n++) {
      await writeRandomFile(join(scratch, `random-${String(n).padStart(3, '0')}.bin`), Math.min(MAX_FILE_BYTES, contentBytes - offset));
    }
    const tar = spawn('tar', ['--sort=name', '--owner=0', '--group=0', '--numeric-owner', '--mtime=@0', '-cf', '-', '-C', scratch, '.'], {
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let tarErrors = '';
    tar.stderr.on('data', (d: Buffer) => { tarErrors += d.toString(); });
    const tarExit = new Promise<void>((resolve, reject) => {
      tar.once('error', reject);
      tar.once('close', (code) => (code === 0 ? resolve() : reject(new Error(`tar exited ${code}: ${tarErrors.trim()}`))));
    });
    const uncompressed = new Digester();
    const compressed = new Digester();
    const partial = join(blobs, `${name}.partial`);
    await Promise.all([pipeline(tar.stdout, uncompressed, createGzip({ level: 0 }), compressed, createWriteStream(partial)), tarExit]);
    const digest = compressed.digest();
    await rename(partial, join(blobs, digest.slice('sha256:'.length)));
    return { descriptor: { mediaType: MEDIA_TYPES.layer, digest, size: compressed.bytes }, diffId: uncompressed.digest() };
  } finally {
    await rm(scratch, { recursive: true, force: true });
  }
}

function writeRandomFile(path: string, bytes: number): Promise<void> {
  async function* random() {
    for (let left = bytes; left > 0; left -= RANDOM_CHUNK_BYTES) yield randomFillSync(Buffer.allocUnsafe(Math.min(RANDOM_CHUNK_BYTES, left)));
  }
  return pipeline(Readable.from(random()), createWriteStream(path));
}

async function writeJsonBlob(blobs: string, mediaType: string, value: unknown): Promise<Descriptor> {
  const bytes = Buffer.from(JSON.stringify(value));
  const hex = createHash('sha256').update(bytes).digest('hex');
  await writeFile(join(blobs, hex), bytes);
  return { mediaType, digest: `sha256:${hex}`, size: bytes.length };
}

/** A pass-through stream that hashes and counts what flows through it. */
class Digester extends Transform {
  readonly #hash: Hash = createHash('sha256');
  bytes = 0;

  override _transform(chunk: Buffer, _encoding: BufferEncoding, callback: TransformCallback): void {
    this.#hash.update(chunk);
    this.bytes += chunk.length;
    callback(null, chunk);
  }

  /** `sha256:<hex>` of everything that passed; call once the stream has finished. */
  digest(): string {
    return `sha256:${this.#hash.digest('hex')}`;
  }
}
