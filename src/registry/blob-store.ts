/**
 * The registry's content-addressed blob store, and its upload sessions. A blob is readable only
 * once complete: an upload is written to its own session file, its digest checked, the file
 * fsynced and renamed into place (atomic), and the directory fsynced before the push is
 * acknowledged. Two uploads of the same content both rename onto the same name: same bytes, so
 * either wins. Nothing holds a whole blob in memory.
 *
 * Layout under the root: `blobs/<algorithm>/<first two hex>/<hex>`, and
 * `uploads/<id>/data` + `uploads/<id>/info.json` per session.
 */
import { createHash, randomUUID } from 'node:crypto';
import { createReadStream } from 'node:fs';
import { mkdir, open, readFile, readdir, rename, rm, stat, unlink, utimes, writeFile, type FileHandle } from 'node:fs/promises';
import { join } from 'node:path';
import { Readable, type Writable } from 'node:stream';
import { parseDigest, type DigestAlgorithm } from '../domain/index.js';
import { DigestMismatchError, UploadBusyError, UploadOffsetError, UploadUnknownError } from './errors.js';
import { createRunningSha256, type RunningSha256 } from './running-sha256.js';
import { sendFileRange } from './send-file.js';
import { streamedBody, type UploadBody } from './upload-body.js';

export interface StoredBlob { digest: string; size: number; modifiedAtMs: number }

export interface UploadSession {
  id: string;
  /** The repository the session was opened in; it may only be used there. */
  repositoryName: string;
  /** Bytes received so far. */
  size: number;
  startedAtMs: number;
  /** Last time bytes arrived (or the session was opened). */
  touchedAtMs: number;
}

/** Inclusive byte range. */
export interface ByteRange { start: number; end: number }

export interface BlobStore {
  /** Size of a complete blob, or undefined. */
  stat(digest: string): Promise<StoredBlob | undefined>;
  /**
   * Writes a complete blob (or part of it) to `out`, without ending it; the caller checked the
   * blob exists. Resolves once every byte was handed to `out`; rejects when `out` fails or closes.
   */
  writeTo(digest: string, out: Writable, range?: ByteRange): Promise<void>;
  /** Removes a blob; false when it was not there. */
  delete(digest: string): Promise<boolean>;
  /** Every complete blob. */
  list(): Promise<StoredBlob[]>;
  createUpload(repositoryName: string): Promise<UploadSession>;
  /** The session, or undefined when unknown (never opened, completed, cancelled or expired). */
  getUpload(id: string): Promise<UploadSession | undefined>;
  /**
   * Appends a body (upload-body.ts) or a stream to the session. With `expectedOffset`, the session
   * must be at exactly that size (UploadOffsetError otherwise). A body that fails midway leaves the
   * session as it was before this call. Answers the new size.
   */
  appendToUpload(id: string, data: UploadBody | Readable, expectedOffset?: number): Promise<number>;
  /**
   * Verifies the session's content against `digest` and makes it the blob of that digest (durable
   * when this resolves). A mismatch throws DigestMismatchError and discards the session.
   */
  completeUpload(id: string, digest: string): Promise<StoredBlob>;
  /** Discards a session; false when unknown. */
  cancelUpload(id: string): Promise<boolean>;
  listUploads(): Promise<UploadSession[]>;
}

const STREAM_BUFFER_BYTES = 1024 * 1024;
const UPLOAD_ID = /^[0-9a-f-]{36}$/;

interface SessionInfo { repositoryName: string; startedAtMs: number }

/** The blob store on local disk. */
export class DiskBlobStore implements BlobStore {
  readonly #root: string;
  /** Running sha256 of each session this process has written, valid while `offset` is its size. */
  readonly #hashes = new Map<string, { hash: RunningSha256; offset: number }>();
  /** Sessions with an append or completion in progress: a second concurrent one is refused. */
  readonly #busy = new Set<string>();
  readonly #nowMs: () => number;

  /**
   * `nowMs` stamps sessions and blobs (their files' modification times), so expiry and garbage
   * collection measure age on the same clock as the rest of the server.
   */
  constructor(root: string, nowMs: () => number = Date.now) {
    this.#root = root;
    this.#nowMs = nowMs;
  }

  async #touch(file: string): Promise<void> {
    const now = new Date(this.#nowMs());
    await utimes(file, now, now);
  }

  async init(): Promise<this> {
    await mkdir(join(this.#root, 'blobs'), { recursive: true });
    await mkdir(join(this.#root, 'uploads'), { recursive: true });
    return this;
  }

  #blobPath(digest: string): string {
    const parsed = parseDigest(digest);
    if (!parsed) throw new Error(`not a digest: ${digest}`);
    return join(this.#root, 'blobs', parsed.algorithm, parsed.hex.slice(0, 2), parsed.hex);
  }

  #uploadDir(id: string): string | undefined {
    return UPLOAD_ID.test(id) ? join(this.#root, 'uploads', id) : undefined;
  }

  async stat(digest: string): Promise<StoredBlob | undefined> {
    try {
      const s = await stat(this.#blobPath(digest));
      return { digest, size: s.size, modifiedAtMs: s.mtimeMs };
    } catch (err) {
      if (isNotFound(err)) return undefined;
      throw err;
    }
  }

  /** To an HTTP response through the native addon where it can (see send-file.ts), else by copyRange. */
  async writeTo(digest: string, out: Writable, range?: ByteRange): Promise<void> {
    const file = await open(this.#blobPath(digest), 'r');
    try {
      const start = range?.start ?? 0;
      const end = range ? range.end + 1 : (await file.stat()).size;
      if (!(await sendFileRange(out, file, start, end))) await copyRange(file, out, start, end);
    } finally {
      await file.close();
    }
  }

  async delete(digest: string): Promise<boolean> {
    try {
      await unlink(this.#blobPath(digest));
      return true;
    } catch (err) {
      if (isNotFound(err)) return false;
      throw err;
    }
  }

  async list(): Promise<StoredBlob[]> {
    const out: StoredBlob[] = [];
    for (const algorithm of ['sha256', 'sha512'] as const) {
      const base = join(this.#root, 'blobs', algorithm);
      for (const prefix of await readdirOrEmpty(base)) {
        for (const hex of await readdirOrEmpty(join(base, prefix))) {
          const digest = `${algorithm}:${hex}`;
          if (!parseDigest(digest)) continue;
          const s = await this.stat(digest);
          if (s) out.push(s);
        }
      }
    }
    return out;
  }

  async createUpload(repositoryName: string): Promise<UploadSession> {
    const id = randomUUID();
    const dir = join(this.#root, 'uploads', id);
    await mkdir(dir);
    const info: SessionInfo = { repositoryName, startedAtMs: this.#nowMs() };
    await writeFile(join(dir, 'info.json'), JSON.stringify(info));
    await writeFile(join(dir, 'data'), '');
    await this.#touch(join(dir, 'data'));
    this.#hashes.set(id, { hash: createRunningSha256(), offset: 0 });
    return { id, repositoryName, size: 0, startedAtMs: info.startedAtMs, touchedAtMs: info.startedAtMs };
  }

  async getUpload(id: string): Promise<UploadSession | undefined> {
    const dir = this.#uploadDir(id);
    if (!dir) return undefined;
    try {
      const info = JSON.parse(await readFile(join(dir, 'info.json'), 'utf8')) as SessionInfo;
      const s = await stat(join(dir, 'data'));
      return { id, repositoryName: info.repositoryName, size: s.size, startedAtMs: info.startedAtMs, touchedAtMs: s.mtimeMs };
    } catch (err) {
      // A session directory without its files is one being created or removed: not usable.
      if (isNotFound(err) || err instanceof SyntaxError) return undefined;
      throw err;
    }
  }

  async appendToUpload(id: string, data: UploadBody | Readable, expectedOffset?: number): Promise<number> {
    const body = data instanceof Readable ? streamedBody(data) : data;
    return this.#exclusive(id, async (dir) => {
      const file = join(dir, 'data');
      const handle = await open(file, 'r+');
      try {
        const { size } = await handle.stat();
        if (expectedOffset !== undefined && expectedOffset !== size) throw new UploadOffsetError(size, expectedOffset);
        const known = this.#hashes.get(id);
        // The running hash continues from a copy, so a failed append can leave the original as it was.
        const hash = known?.offset === size ? known.hash.copy() : size === 0 ? createRunningSha256() : undefined;
        let written: number;
        try {
          written = await body.writeTo(handle, size, hash);
        } catch (err) {
          await handle.truncate(size);
          throw err;
        }
        if (hash) this.#hashes.set(id, { hash, offset: size + written });
        else this.#hashes.delete(id);
        await this.#touch(file);
        return size + written;
      } finally {
        await handle.close();
      }
    });
  }

  async completeUpload(id: string, digest: string): Promise<StoredBlob> {
    const parsed = parseDigest(digest);
    if (!parsed) throw new Error(`not a digest: ${digest}`);
    return this.#exclusive(id, async (dir) => {
      const file = join(dir, 'data');
      const { size } = await stat(file);
      const known = this.#hashes.get(id);
      // The running sha256 is there when this process saw every byte; else (a restart, sha512)
      // the file is hashed once more, streaming.
      const actual = parsed.algorithm === 'sha256' && known?.offset === size
        ? known.hash.digest()
        : await hashFile(file, parsed.algorithm);
      if (actual !== digest) {
        await this.#remove(id, dir);
        throw new DigestMismatchError(digest, actual);
      }
      const handle = await open(file, 'r');
      try { await handle.sync(); } finally { await handle.close(); }
      const target = this.#blobPath(digest);
      await mkdir(join(target, '..'), { recursive: true });
      // A blob's age counts from its completion: collection leaves young blobs alone.
      await this.#touch(file);
      await rename(file, target);
      await syncDirectory(join(target, '..'));
      await this.#remove(id, dir);
      const s = await stat(target);
      return { digest, size: s.size, modifiedAtMs: s.mtimeMs };
    });
  }

  async cancelUpload(id: string): Promise<boolean> {
    const dir = this.#uploadDir(id);
    if (!dir || !(await this.getUpload(id))) return false;
    await this.#remove(id, dir);
    return true;
  }

  async listUploads(): Promise<UploadSession[]> {
    const out: UploadSession[] = [];
    for (const id of await readdirOrEmpty(join(this.#root, 'uploads'))) {
      const session = await this.getUpload(id);
      if (session) out.push(session);
      else if (UPLOAD_ID.test(id)) {
        // Left by a crash between mkdir and the first write: it has no data anyone acknowledged.
        const s = await stat(join(this.#root, 'uploads', id)).catch(() => undefined);
        if (s) out.push({ id, repositoryName: '', size: 0, startedAtMs: s.mtimeMs, touchedAtMs: s.mtimeMs });
      }
    }
    return out;
  }

  async #remove(id: string, dir: string): Promise<void> {
    this.#hashes.delete(id);
    await rm(dir, { recursive: true, force: true });
  }

  async #exclusive<T>(id: string, work: (dir: string) => Promise<T>): Promise<T> {
    const dir = this.#uploadDir(id);
    if (!dir || !(await this.getUpload(id))) throw new UploadUnknownError(id);
    if (this.#busy.has(id)) throw new UploadBusyError(id);
    this.#busy.add(id);
    try {
      return await work(dir);
    } catch (err) {
      if (isNotFound(err)) throw new UploadUnknownError(id);
      throw err;
    } finally {
      this.#busy.delete(id);
    }
  }
}

async function hashFile(file: string, algorithm: DigestAlgorithm): Promise<string> {
  const hash = createHash(algorithm);
  for await (const chunk of createReadStream(file, { highWaterMark: STREAM_BUFFER_BYTES })) hash.update(chunk as Buffer);
  return `${algorithm}:${hash.digest('hex')}`;
}

/** Makes a rename durable: the directory entry reaches the disk before the push is acknowledged. */
async function syncDirectory(dir: string): Promise<void> {
  const handle = await open(dir, 'r');
  try { await handle.sync(); } finally { await handle.close(); }
}

async function readdirOrEmpty(dir: string): Promise<string[]> {
  try {
    return await readdir(dir);
  } catch (err) {
    if (isNotFound(err)) return [];
    throw err;
  }
}

function isNotFound(err: unknown): boolean {
  return (err as NodeJS.ErrnoException | undefined)?.code === 'ENOENT';
}

/**
 * Bytes [start, end) of `file` to `out` through two buffers, reused: the next chunk is read from the
 * file while the current one is written. A stream of fresh 1 MiB buffers per chunk measured about 7%
 * slower for one 200 MB blob to a client that hashes what it receives (curl | sha256sum on this
 * 2-core machine): allocation and the collections it forces compete with the client for the CPU.
 */
async function copyRange(file: FileHandle, out: Writable, start: number, end: number): Promise<void> {
  let next = start;
  const readInto = (buffer: Buffer) => {
    const length = Math.max(0, Math.min(buffer.length, end - next));
    const reading = file.read(buffer, 0, length, next);
    next += length;
    return reading;
  };
  let [current, spare] = [Buffer.allocUnsafe(STREAM_BUFFER_BYTES), Buffer.allocUnsafe(STREAM_BUFFER_BYTES)];
  let reading = readInto(current);
  try {
    for (;;) {
      const { bytesRead, buffer } = await reading;
      if (bytesRead === 0) return;
      [current, spare] = [spare, current];
      reading = readInto(current);
      await writeChunk(out, buffer.subarray(0, bytesRead));
    }
  } finally {
    // A read may still be in flight when the client went away; the file closes after it.
    await reading.catch(() => undefined);
  }
}

function writeChunk(out: Writable, chunk: Buffer): Promise<void> {
  return new Promise((resolve, reject) => {
    if (out.destroyed) return reject(new Error('destination closed'));
    const onClose = () => reject(new Error('destination closed'));
    out.once('close', onClose);
    out.write(chunk, (err) => {
      out.off('close', onClose);
      if (err) reject(err); else resolve();
    });
  });
}
