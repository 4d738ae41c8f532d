/**
 * The OCI Distribution API (v1.1) under /v2/, as the Docker CLI, skopeo and containerd use it:
 * pull (manifests by tag or digest, HEAD, blobs with Range), push (monolithic POST or PUT,
 * chunked PATCH with Content-Range, upload status, cross-repository mount), tags list and catalog
 * with `n`/`last` pagination and Link headers, referrers, and deletion of manifests, tags and blobs.
 * Every request needs an ECR token (HTTP Basic, user AWS); anonymous ones get 401 with a Basic
 * challenge, which is what makes `docker login` send credentials.
 *
 * Metadata (repositories, manifests, tags, which blobs a repository holds) goes through the
 * domain; bytes go to the blob store, streaming both ways.
 */
import type { IncomingMessage, ServerResponse } from 'node:http';
import {
  IMAGE_TAG, MAX_MANIFEST_BYTES, MEDIA_TYPES, deleteImage, deleteImageTag, getLayer, isValidRepositoryName, linkLayer, listImageTags,
  listReferrers, listRepositoryNames, parseDigest, parseManifest, putImage, requireRepository, resolveImage, touchLayer, unlinkLayer,
  type DomainContext,
} from '../domain/index.js';
import type { BlobStore, ByteRange } from './blob-store.js';
import type { RegistryTokens } from './auth-token.js';
import { RegistryError, toRegistryError } from './errors.js';
import { requestBody } from './upload-body.js';

export interface RegistryHandlerOptions {
  ctx: DomainContext;
  blobs: BlobStore;
  tokens: RegistryTokens;
  /** The realm named in the Basic challenge. */
  realm?: string;
}

/** True for requests the registry serves: everything under /v2. */
export function isRegistryRequest(req: IncomingMessage): boolean {
  const url = req.url ?? '';
  return url === '/v2' || url.startsWith('/v2/') || url.startsWith('/v2?');
}

const API_VERSION_HEADER = { 'Docker-Distribution-API-Version': 'registry/2.0' };
const DEFAULT_PAGE = 100;
/** A HEAD refreshes a blob's link once it is this old: well inside the collection grace (an hour). */
const LINK_REFRESH_AFTER_MS = 10 * 60_000;
const MAX_PAGE = 1000;

type Route =
  | { kind: 'base' }
  | { kind: 'catalog' }
  | { kind: 'tags'; name: string }
  | { kind: 'manifest'; name: string; reference: string }
  | { kind: 'blob'; name: string; digest: string }
  | { kind: 'uploads'; name: string; id: string }
  | { kind: 'referrers'; name: string; digest: string };

function route(path: string): Route | undefined {
  if (path === '/v2/' || path === '/v2') return { kind: 'base' };
  if (path === '/v2/_catalog') return { kind: 'catalog' };
  let m = /^\/v2\/(.+)\/tags\/list$/.exec(path);
  if (m) return { kind: 'tags', name: m[1]! };
  m = /^\/v2\/(.+)\/manifests\/([^/]+)$/.exec(path);
  if (m) return { kind: 'manifest', name: m[1]!, reference: m[2]! };
  m = /^\/v2\/(.+)\/blobs\/uploads\/([^/]*)$/.exec(path);
  if (m) return { kind: 'uploads', name: m[1]!, id: m[2]! };
  m = /^\/v2\/(.+)\/blobs\/([^/]+)$/.exec(path);
  if (m) return { kind: 'blob', name: m[1]!, digest: m[2]! };
  m = /^\/v2\/(.+)\/referrers\/([^/]+)$/.exec(path);
  if (m) return { kind: 'referrers', name: m[1]!, digest: m[2]! };
  return undefined;
}

/** The handler for /v2 requests. It never throws; failures answer the spec's error document. */
export function createRegistryHandler(options: RegistryHandlerOptions): (req: IncomingMessage, res: ServerResponse) => void {
  const { ctx, blobs, tokens } = options;
  const realm = options.realm ?? 'Wharf Registry';

  async function handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const url = new URL(req.url ?? '/', 'http://registry');
    const method = req.method ?? 'GET';
    if (!tokens.verifyBasic(req.headers.authorization)) {
      res.setHeader('WWW-Authenticate', `Basic realm="${realm}"`);
      throw new RegistryError('UNAUTHORIZED', 'authentication required');
    }
    const r = route(url.pathname);
    if (!r) throw new RegistryError('UNSUPPORTED', `no registry operation at ${url.pathname}`, undefined, 404);
    if ('name' in r && !isValidRepositoryName(r.name)) throw new RegistryError('NAME_INVALID', `invalid repository name '${r.name}'`);
    const q = url.searchParams;
    switch (r.kind) {
      case 'base':
        if (method !== 'GET' && method !== 'HEAD') break;
        return json(res, 200, {});
      case 'catalog': {
        if (method !== 'GET') break;
        const n = pageSize(q);
        const names = n === 0 ? [] : await listRepositoryNames(ctx, { ...(q.has('last') ? { last: q.get('last')! } : {}), limit: n + 1 });
        const page = names.slice(0, n);
        if (names.length > n) res.setHeader('Link', `</v2/_catalog?last=${encodeURIComponent(page[page.length - 1]!)}&n=${n}>; rel="next"`);
        return json(res, 200, { repositories: page });
      }
      case 'tags': {
        if (method !== 'GET') break;
        await requireRepository(ctx, r.name);
        const n = pageSize(q);
        const tags = n === 0 ? [] : await listImageTags(ctx, r.name, { ...(q.has('last') ? { last: q.get('last')! } : {}), limit: n + 1 });
        const page = tags.slice(0, n);
        if (tags.length > n) res.setHeader('Link', `</v2/${r.name}/tags/list?last=${encodeURIComponent(page[page.length - 1]!)}&n=${n}>; rel="next"`);
        return json(res, 200, { name: r.name, tags: page });
      }
      case 'manifest':
        if (method === 'GET' || method === 'HEAD') return getManifest(res, r.name, r.reference, method === 'HEAD');
        if (method === 'PUT') return putManifest(req, res, r.name, r.reference);
        if (method === 'DELETE') return deleteManifest(res, r.name, r.reference);
        break;
      case 'blob':
        if (method === 'GET' || method === 'HEAD') return getBlob(req, res, r.name, r.digest, method === 'HEAD');
        if (method === 'DELETE') return deleteBlob(res, r.name, r.digest);
        break;
      case 'uploads':
        if (r.id === '') {
          if (method === 'POST') return startUpload(req, res, r.name, q);
          break;
        }
        if (method === 'GET') return uploadStatus(res, r.name, r.id);
        if (method === 'PATCH') return patchUpload(req, res, r.name, r.id);
        if (method === 'PUT') return putUpload(req, res, r.name, r.id, q.get('digest'));
        if (method === 'DELETE') return cancelUpload(res, r.name, r.id);
        break;
      case 'referrers':
        if (method !== 'GET') break;
        return referrers(res, r.name, r.digest, q.get('artifactType'));
    }
    throw new RegistryError('UNSUPPORTED', `${method} is not supported here`, undefined, 405);
  }

  // ---- manifests ----

  /** A reference as a tag or a digest; malformed ones are the client's fault. */
  function parseReference(reference: string): { tag: string } | { digest: string } {
    if (reference.includes(':')) {
      if (!parseDigest(reference)) throw new RegistryError('DIGEST_INVALID', `invalid digest '${reference}'`);
      return { digest: reference };
    }
    if (!IMAGE_TAG.test(reference)) throw new RegistryError('TAG_INVALID', `invalid tag '${reference}'`);
    return { tag: reference };
  }

  async function getManifest(res: ServerResponse, name: string, reference: string, headOnly: boolean): Promise<void> {
    const ref = parseReference(reference);
    await requireRepository(ctx, name);
    const image = await resolveImage(ctx, name, ref);
    if (!image) throw new RegistryError('MANIFEST_UNKNOWN', `manifest unknown: ${name}:${reference}`);
    const body = Buffer.from(image.imageManifest, 'utf8');
    res.writeHead(200, {
      ...API_VERSION_HEADER,
      'Content-Type': image.imageManifestMediaType,
      'Content-Length': body.length,
      'Docker-Content-Digest': image.imageDigest,
      ETag: `"${image.imageDigest}"`,
    });
    res.end(headOnly ? undefined : body);
  }

  async function putManifest(req: IncomingMessage, res: ServerResponse, name: string, reference: string): Promise<void> {
    const ref = parseReference(reference);
    await requireRepository(ctx, name);
    const body = await readBounded(req, MAX_MANIFEST_BYTES);
    const parsed = parseManifest(body, req.headers['content-type']);
    if (!parsed.ok) throw new RegistryError('MANIFEST_INVALID', `manifest invalid: ${parsed.reason}`);
    const image = await putImage(ctx, {
      repositoryName: name, manifest: body, parsed: parsed.manifest, refuseNoChange: false,
      ...('tag' in ref ? { tag: ref.tag } : { digest: ref.digest }),
    });
    res.writeHead(201, {
      ...API_VERSION_HEADER,
      Location: `/v2/${name}/manifests/${image.imageDigest}`,
      'Docker-Content-Digest': image.imageDigest,
      'Content-Length': 0,
      ...(parsed.manifest.subject ? { 'OCI-Subject': parsed.manifest.subject.digest } : {}),
    });
    res.end();
  }

  async function deleteManifest(res: ServerResponse, name: string, reference: string): Promise<void> {
    const ref = parseReference(reference);
    await requireRepository(ctx, name);
    if ('tag' in ref) {
      if (!(await deleteImageTag(ctx, name, ref.tag))) throw new RegistryError('MANIFEST_UNKNOWN', `tag unknown: ${name}:${ref.tag}`);
    } else {
      const result = await deleteImage(ctx, name, ref.digest);
      if (result === 'not-found') throw new RegistryError('MANIFEST_UNKNOWN', `manifest unknown: ${name}@${ref.digest}`);
      if (result === 'referenced') throw new RegistryError('DENIED', `manifest ${ref.digest} is named by an index in ${name}; delete the index first`, undefined, 409);
    }
    empty(res, 202);
  }

  async function referrers(res: ServerResponse, name: string, digest: string, artifactType: string | null): Promise<void> {
    if (!parseDigest(digest)) throw new RegistryError('DIGEST_INVALID', `invalid digest '${digest}'`);
    await requireRepository(ctx, name);
    const found = (await listReferrers(ctx, name, digest)).filter((i) => artifactType === null || i.artifactType === artifactType);
    if (artifactType !== null) res.setHeader('OCI-Filters-Applied', 'artifactType');
    json(res, 200, {
      schemaVersion: 2,
      mediaType: MEDIA_TYPES.ociIndex,
      manifests: found.map((i) => ({
        mediaType: i.imageManifestMediaType,
        digest: i.imageDigest,
        size: Buffer.byteLength(i.imageManifest, 'utf8'),
        ...(i.artifactType !== undefined ? { artifactType: i.artifactType } : {}),
        ...(i.annotations !== undefined ? { annotations: i.annotations } : {}),
      })),
    }, MEDIA_TYPES.ociIndex);
  }

  // ---- blobs ----

  /** The blob's size when the repository holds it, else BLOB_UNKNOWN. */
  async function requireBlob(name: string, digest: string, headOnly: boolean): Promise<number> {
    if (!parseDigest(digest)) throw new RegistryError('DIGEST_INVALID', `invalid digest '${digest}'`);
    await requireRepository(ctx, name);
    const link = await getLayer(ctx, name, digest);
    const stored = link ? await blobs.stat(digest) : undefined;
    if (!link || !stored) throw new RegistryError('BLOB_UNKNOWN', `blob unknown to registry: ${digest}`, { digest });
    // A push asks HEAD before each layer and skips the ones that exist: keep those from collection.
    if (headOnly && ctx.nowMs() - link.linkedAtMs > LINK_REFRESH_AFTER_MS) await touchLayer(ctx, name, digest);
    return stored.size;
  }

  async function getBlob(req: IncomingMessage, res: ServerResponse, name: string, digest: string, headOnly: boolean): Promise<void> {
    const size = await requireBlob(name, digest, headOnly);
    const headers = {
      ...API_VERSION_HEADER,
      'Content-Type': 'application/octet-stream',
      'Docker-Content-Digest': digest,
      'Accept-Ranges': 'bytes',
      ETag: `"${digest}"`,
      'Cache-Control': 'max-age=31536000',
    };
    const range = req.headers.range === undefined ? undefined : parseRange(req.headers.range, size);
    if (range === null) {
      res.writeHead(416, { ...headers, 'Content-Range': `bytes */${size}`, 'Content-Length': 0 });
      res.end();
      return;
    }
    if (range) {
      res.writeHead(206, { ...headers, 'Content-Range': `bytes ${range.start}-${range.end}/${size}`, 'Content-Length': range.end - range.start + 1 });
    } else {
      res.writeHead(200, { ...headers, 'Content-Length': size });
    }
    if (headOnly || size === 0) {
      res.end();
      return;
    }
    await blobs.writeTo(digest, res, range);
    res.end();
  }

  async function deleteBlob(res: ServerResponse, name: string, digest: string): Promise<void> {
    if (!parseDigest(digest)) throw new RegistryError('DIGEST_INVALID', `invalid digest '${digest}'`);
    await requireRepository(ctx, name);
    if (!(await unlinkLayer(ctx, name, digest))) throw new RegistryError('BLOB_UNKNOWN', `blob unknown to registry: ${digest}`, { digest });
    empty(res, 202);
  }

  // ---- uploads ----

  function uploadHeaders(name: string, id: string, size: number): Record<string, string | number> {
    return {
      ...API_VERSION_HEADER,
      Location: `/v2/${name}/blobs/uploads/${id}`,
      // As the CNCF registry: the last byte received, `0-0` before any.
      Range: `0-${size > 0 ? size - 1 : 0}`,
      'Docker-Upload-UUID': id,
      'Content-Length': 0,
    };
  }

  async function completed(res: ServerResponse, name: string, digest: string, size: number): Promise<void> {
    await linkLayer(ctx, name, digest, size);
    res.writeHead(201, { ...API_VERSION_HEADER, Location: `/v2/${name}/blobs/${digest}`, 'Docker-Content-Digest': digest, 'Content-Length': 0 });
    res.end();
  }

  async function startUpload(req: IncomingMessage, res: ServerResponse, name: string, q: URLSearchParams): Promise<void> {
    await requireRepository(ctx, name);
    const mount = q.get('mount');
    const from = q.get('from');
    if (mount !== null) {
      if (!parseDigest(mount)) throw new RegistryError('DIGEST_INVALID', `invalid digest '${mount}'`);
      // The spec lets a registry answer a mount it cannot do with a fresh upload instead.
      const source = from !== null && isValidRepositoryName(from) ? await getLayer(ctx, from, mount) : undefined;
      const stored = source ? await blobs.stat(mount) : undefined;
      if (stored) return completed(res, name, mount, stored.size);
    }
    const digest = q.get('digest');
    if (digest !== null && !parseDigest(digest)) throw new RegistryError('DIGEST_INVALID', `invalid digest '${digest}'`);
    const session = await blobs.createUpload(name);
    if (digest !== null) {
      // A monolithic upload in one POST.
      await appendBody(req, res, session.id, undefined);
      const blob = await blobs.completeUpload(session.id, digest);
      return completed(res, name, digest, blob.size);
    }
    res.writeHead(202, uploadHeaders(name, session.id, 0));
    res.end();
  }

  async function requireSession(name: string, id: string) {
    const session = await blobs.getUpload(id);
    if (!session || session.repositoryName !== name) throw new RegistryError('BLOB_UPLOAD_UNKNOWN', `blob upload unknown: ${id}`);
    return session;
  }

  async function uploadStatus(res: ServerResponse, name: string, id: string): Promise<void> {
    await requireRepository(ctx, name);
    const session = await requireSession(name, id);
    res.writeHead(204, uploadHeaders(name, id, session.size));
    res.end();
  }

  /** Appends the request body, when it has one, at `offset` (undefined: wherever the upload is). */
  async function appendBody(req: IncomingMessage, res: ServerResponse, id: string, offset: number | undefined): Promise<number | undefined> {
    const length = req.headers['content-length'];
    if (length === '0' || (length === undefined && req.headers['transfer-encoding'] === undefined)) return undefined;
    return blobs.appendToUpload(id, requestBody(req, res), offset);
  }

  async function patchUpload(req: IncomingMessage, res: ServerResponse, name: string, id: string): Promise<void> {
    await requireRepository(ctx, name);
    const session = await requireSession(name, id);
    const contentRange = req.headers['content-range'];
    let offset: number | undefined;
    if (contentRange !== undefined) {
      const m = /^(?:bytes[ =])?(\d+)-(\d+)$/.exec(contentRange.trim());
      if (!m) throw new RegistryError('BLOB_UPLOAD_INVALID', `malformed Content-Range '${contentRange}'`, undefined, 416);
      const start = Number(m[1]);
      const end = Number(m[2]);
      const length = req.headers['content-length'];
      if (end < start || (length !== undefined && Number(length) !== end - start + 1)) {
        throw new RegistryError('SIZE_INVALID', `Content-Range ${contentRange} does not match Content-Length ${length ?? '(none)'}`, undefined, 416);
      }
      if (start !== session.size) {
        res.setHeader('Range', `0-${session.size > 0 ? session.size - 1 : 0}`);
        res.setHeader('Location', `/v2/${name}/blobs/uploads/${id}`);
        throw new RegistryError('BLOB_UPLOAD_INVALID', `the upload is at offset ${session.size}, not ${start}`, undefined, 416);
      }
      offset = start;
    }
    const size = (await appendBody(req, res, id, offset)) ?? session.size;
    res.writeHead(202, uploadHeaders(name, id, size));
    res.end();
  }

  async function putUpload(req: IncomingMessage, res: ServerResponse, name: string, id: string, digest: string | null): Promise<void> {
    await requireRepository(ctx, name);
    await requireSession(name, id);
    if (digest === null || !parseDigest(digest)) throw new RegistryError('DIGEST_INVALID', `a valid digest query parameter is required, not '${digest ?? ''}'`);
    await appendBody(req, res, id, undefined);
    const blob = await blobs.completeUpload(id, digest);
    await completed(res, name, digest, blob.size);
  }

  async function cancelUpload(res: ServerResponse, name: string, id: string): Promise<void> {
    await requireRepository(ctx, name);
    await requireSession(name, id);
    await blobs.cancelUpload(id);
    empty(res, 204);
  }

  return (req, res) => {
    handle(req, res).catch((err: unknown) => {
      if (res.headersSent || isConnectionLoss(err)) {
        // An answer broke midway, or the client left (or stalled) while sending a body: there is no
        // one to answer, and a client going away is nothing the server did wrong.
        res.destroy();
        return;
      }
      const known = toRegistryError(err);
      if (!known) ctx.log({ msg: 'registry internal error', method: req.method, url: req.url, error: err instanceof Error ? err.stack ?? err.message : String(err) });
      const error = known ?? new RegistryError('UNKNOWN', 'internal error');
      // A body the client is still sending would otherwise be read to its end before the answer counts.
      if (!req.complete) res.setHeader('Connection', 'close');
      json(res, error.httpStatus, { errors: [{ code: error.code, message: error.message, detail: error.detail ?? null }] });
      if (!req.complete) res.once('finish', () => req.destroy());
    });
  };
}

/**
 * Errors of a connection the client dropped, or stopped using, while a body was on its way: Node's
 * request stream ('aborted', a premature close) and the addon's transfers (upload-body.ts).
 */
const CONNECTION_LOSS_CODES = new Set(['ECONNRESET', 'EPIPE', 'ECANCELED', 'ETIMEDOUT', 'ERR_STREAM_PREMATURE_CLOSE']);

function isConnectionLoss(err: unknown): boolean {
  return CONNECTION_LOSS_CODES.has((err as NodeJS.ErrnoException | undefined)?.code ?? '');
}

function pageSize(q: URLSearchParams): number {
  const n = q.get('n');
  if (n === null) return DEFAULT_PAGE;
  if (!/^\d+$/.test(n)) throw new RegistryError('PAGINATION_NUMBER_INVALID', `n must be a non-negative integer, not '${n}'`);
  return Math.min(Number(n), MAX_PAGE);
}

/**
 * A single `bytes=` range within `size`: undefined when the header is not one we honor (answer the
 * whole blob, as RFC 9110 allows), null when unsatisfiable.
 */
function parseRange(header: string, size: number): ByteRange | undefined | null {
  const m = /^bytes=(\d*)-(\d*)$/.exec(header.trim());
  if (!m || (m[1] === '' && m[2] === '')) return undefined;
  if (m[1] === '') {
    const suffix = Number(m[2]);
    if (suffix === 0 || size === 0) return null;
    return { start: Math.max(0, size - suffix), end: size - 1 };
  }
  const start = Number(m[1]);
  const end = m[2] === '' ? size - 1 : Math.min(Number(m[2]), size - 1);
  if (start >= size || end < start) return null;
  return { start, end };
}

async function readBounded(req: IncomingMessage, maxBytes: number): Promise<Buffer> {
  const chunks: Buffer[] = [];
  let total = 0;
  for await (const chunk of req) {
    total += (chunk as Buffer).length;
    if (total > maxBytes) throw new RegistryError('SIZE_INVALID', `manifest exceeds ${maxBytes} bytes`, undefined, 413);
    chunks.push(chunk as Buffer);
  }
  return Buffer.concat(chunks);
}

function json(res: ServerResponse, status: number, body: unknown, contentType = 'application/json'): void {
  const text = JSON.stringify(body);
  res.writeHead(status, { ...API_VERSION_HEADER, 'Content-Type': contentType, 'Content-Length': Buffer.byteLength(text) });
  res.end(text);
}

function empty(res: ServerResponse, status: number): void {
  res.writeHead(status, { ...API_VERSION_HEADER, 'Content-Length': 0 });
  res.end();
}
