/**
 * The registry's native addon, `native/blob-transfer.c` (built by `scripts/setup.sh` into
 * `native/build/`): blob bytes between files and sockets on threads of its own, so they never pass
 * through JavaScript. Undefined where it is not built, or turned off with `WHARF_NO_NATIVE=1`;
 * callers then copy through Node.
 */
import { createRequire } from 'node:module';

/** A transfer running on its thread: resolves with the bytes moved. */
export interface NativeTransfer extends Promise<number> {
  /** Stops the transfer; it then rejects with code ECANCELED within about a second. */
  abort(): void;
}

export interface BlobTransferAddon {
  sendFile(socketFd: number, fileFd: number, offset: number, length: number, idleTimeoutMs: number): NativeTransfer;
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
