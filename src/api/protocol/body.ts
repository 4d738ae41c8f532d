import type { IncomingMessage } from 'node:http';
import { gunzipSync } from 'node:zlib';

export type BodyResult = { ok: true; body: Uint8Array } | { ok: false; tooLarge: true };

/**
 * Reads a request body, buffering at most `maxBodyBytes`: a declared Content-Length over the limit
 * is refused before reading, and a streamed body stops being read as soon as it passes the limit.
 * Rejects when the request fails or is aborted.
 */
export function readBody(req: IncomingMessage, maxBodyBytes: number): Promise<BodyResult> {
  const declared = Number(req.headers['content-length']);
  if (Number.isFinite(declared) && declared > maxBodyBytes) return Promise.resolve({ ok: false, tooLarge: true });
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    let length = 0;
    const cleanup = (): void => {
      req.off('data', onData);
      req.off('end', onEnd);
      req.off('error', onError);
      req.off('aborted', onAborted);
    };
    const onData = (chunk: Buffer): void => {
      length += chunk.length;
      if (length > maxBodyBytes) {
        cleanup();
        req.pause();
        resolve({ ok: false, tooLarge: true });
        return;
      }
      chunks.push(chunk);
    };
    const onEnd = (): void => {
      cleanup();
      resolve({ ok: true, body: chunks.length === 1 && chunks[0] !== undefined ? chunks[0] : Buffer.concat(chunks, length) });
    };
    const onError = (err: Error): void => {
      cleanup();
      reject(err);
    };
    const onAborted = (): void => onError(new Error('request aborted'));
    req.on('data', onData);
    req.on('end', onEnd);
    req.on('error', onError);
    req.on('aborted', onAborted);
  });
}

/** A request URL as `[path, query]`, the query without its `?` (both raw, as SigV4 needs them). */
export function splitUrl(url: string): [string, string] {
  const q = url.indexOf('?');
  return q < 0 ? [url, ''] : [url.slice(0, q), url.slice(q + 1)];
}

/** A body whose Content-Encoding this server cannot undo, or that does not decompress. */
export class ContentEncodingError extends Error {
  override name = 'ContentEncodingError';
}

/**
 * The body as the operation reads it: gunzipped when the request says `Content-Encoding: gzip`
 * (AWS SDKs compress PutMetricData bodies over 10 KiB), at most `maxBodyBytes` once decompressed.
 * SigV4 signs the bytes as sent, so this runs after verification.
 */
export function decodedBody(req: IncomingMessage, body: Uint8Array, maxBodyBytes: number): Uint8Array {
  const encodings = String(req.headers['content-encoding'] ?? '').split(',').map((e) => e.trim().toLowerCase()).filter((e) => e && e !== 'identity');
  let out = body;
  for (const encoding of encodings.reverse()) {
    if (encoding !== 'gzip') throw new ContentEncodingError(`Content-Encoding ${encoding} is not supported; send gzip or none.`);
    try {
      out = gunzipSync(out, { maxOutputLength: maxBodyBytes });
    } catch (err) {
      const tooLarge = (err as { code?: string }).code === 'ERR_BUFFER_TOO_LARGE';
      throw new ContentEncodingError(tooLarge
        ? `The decompressed request body exceeds the maximum of ${maxBodyBytes} bytes.`
        : `The request body is not valid gzip: ${err instanceof Error ? err.message : String(err)}`);
    }
  }
  return out;
}
