/**
 * The registry's native addon, `native/blob-transfer.c` (built by `scripts/setup.sh` into
 * `native/build/`): blob bytes between files and sockets on threads of its own, so they never pass
 * through JavaScript, and the running SHA-256 a receiving thread feeds. Undefined where it is not
 * built, or turned off with `WHARF_NO_NATIVE=1`; callers then copy and hash through Node.
 */
import { createRequire } from 'node:module';
import type { Socket } from 'node:net';

/** A transfer running on its thread: resolves with the bytes moved. */
export interface NativeTransfer extends Promise<number> {
  /** Stops the transfer; it then rejects with code ECANCELED within about a second. */
  abort(): void;
}

/** A running SHA-256 inside the addon (an opaque handle). */
export type NativeSha256 = { readonly __brand: 'NativeSha256' };

export interface BlobTransferAddon {
  sendFile(socketFd: number, fileFd: number, offset: number, length: number, idleTimeoutMs: number): NativeTransfer;
  /** The socket's next `length` bytes to the file from `position` on, fed to `sha256` when given. */
  receiveFile(socketFd: number, fileFd: number, position: number, length: number, sha256: NativeSha256 | null, idleTimeoutMs: number): NativeTransfer;
  sha256Create(): NativeSha256;
  sha256Copy(sha256: NativeSha256): NativeSha256;
  sha256Update(sha256: NativeSha256, data: Buffer): void;
  /** The digest in hex; the state is spent. */
  sha256Digest(sha256: NativeSha256): string;
}

const ADDON_PATH = new URL('../../../native/build/blob-transfer.node', import.meta.url);

function load(): BlobTransferAddon | undefined {
  if (process.env['WHARF_NO_NATIVE'] === '1') return undefined;
  try {
    return createRequire(import.meta.url)(ADDON_PATH.pathname) as BlobTransferAddon;
  } catch {
    return undefined;
  }
}

export const blobTransferAddon = load();

/**
 * The descriptor of an open plain TCP socket, for the addon to read or write; undefined for a TLS
 * socket (its bytes on the wire are not the body) or one closed. Read it again after any wait: a
 * closed socket's number may be given to another file.
 */
export function plainSocketFd(socket: Socket | null | undefined): number | undefined {
  const internals = socket as (Socket & { encrypted?: boolean; _handle?: { fd?: number } | null }) | null | undefined;
  if (!internals || internals.encrypted || internals.destroyed) return undefined;
  const fd = internals._handle?.fd;
  return typeof fd === 'number' && fd >= 0 ? fd : undefined;
}
