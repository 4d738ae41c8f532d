/**
 * Blob bytes from a file straight to an HTTP response's socket, through the small native addon in
 * `native/blob-transfer.c` (native-addon.ts): a thread per transfer reads the file and
 * writes the socket, so the bytes never pass through JavaScript and the event loop stays free. Pulls
 * measured 1.08-1.10x the reference registry's this way, against about 1.0x through Node's streams
 * (native/README.md). Where the addon is not built, or the response is not a plain TCP socket's,
 * callers copy through Node instead.
 */
import { ServerResponse } from 'node:http';
import type { Socket } from 'node:net';
import type { FileHandle } from 'node:fs/promises';
import { blobTransferAddon as addon, plainSocketFd } from './native-addon.js';

/**
 * A client that takes no byte for this long is given up (the connection is closed). Docker and
 * skopeo read layers as fast as they can write them; two minutes covers a stalled disk on their side.
 */
const SEND_IDLE_TIMEOUT_MS = 120_000;

/** Whether blob bytes can go out through the addon here (it is built and was not turned off). */
export const sendFileAvailable = addon !== undefined;

/** Resolves once the socket has written everything queued; rejects if it closes first. */
function drained(socket: Socket): Promise<void> {
  return new Promise((resolve, reject) => {
    const onDrain = () => { socket.off('close', onClose); resolve(); };
    const onClose = () => { socket.off('drain', onDrain); reject(Object.assign(new Error('the connection closed before the headers were sent'), { code: 'ECONNRESET' })); };
    socket.once('drain', onDrain);
    socket.once('close', onClose);
  });
}

/**
 * Sends bytes [start, end) of `file` as `out`'s body through the addon, when `out` is an HTTP
 * response on a plain TCP socket and the addon is built; answers false without writing anything
 * otherwise. The response's headers (with its Content-Length) must be set; they are flushed first.
 * The caller ends the response afterwards, as after any body: Node then writes nothing more, so the
 * connection stays usable for the next request. Rejects when the client goes away or stalls, with
 * the socket destroyed.
 */
export async function sendFileRange(out: unknown, file: FileHandle, start: number, end: number): Promise<boolean> {
  if (!addon || !(out instanceof ServerResponse) || plainSocketFd(out.socket) === undefined) return false;
  const socket = out.socket!;
  out.flushHeaders();
  // The headers must be in the kernel before the body follows them there.
  if (socket.writableLength > 0) await drained(socket);
  const fd = plainSocketFd(out.socket);
  if (fd === undefined) throw Object.assign(new Error('the connection closed before the body was sent'), { code: 'ECONNRESET' });
  const transfer = addon.sendFile(fd, file.fd, start, end - start, SEND_IDLE_TIMEOUT_MS);
  const abort = () => transfer.abort();
  socket.once('close', abort);
  try {
    await transfer;
  } catch (err) {
    socket.destroy();
    throw err;
  } finally {
    socket.off('close', abort);
  }
  return true;
}
