/**
 * What an upload session appends: a request's body, or any stream (tests, tools).
 *
 * A large request body with a Content-Length on a plain TCP connection is taken from the socket by
 * the addon (`native/blob-transfer.c`): a thread reads the socket, feeds the session's running
 * SHA-256 and writes the file, so the layer's bytes never pass through JavaScript. Through Node,
 * every 64 KiB read is copied once more into a fresh Buffer for the request stream, hashed by a call
 * from JavaScript and written by a thread-pool round trip; on this 2-core machine the server then
 * spent about 1.7 s of CPU per 500 MB push, CPU the pushing client needs (bench:registry).
 *
 * The price: Node's HTTP parser never sees the bytes the thread read and still waits for them, so
 * the connection answers this request with `Connection: close` and serves no other. A client opens
 * a new connection for its next request, which costs a loopback or LAN handshake per layer.
 * Bodies without a Content-Length (chunked, as Docker sends them), small ones, those on TLS
 * sockets, and all of them without the addon, stream through Node.
 */
import type { FileHandle } from 'node:fs/promises';
import type { IncomingMessage, ServerResponse } from 'node:http';
import type { Socket } from 'node:net';
import { Transform, Writable, type Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { setImmediate as nextTurn } from 'node:timers/promises';
import { blobTransferAddon as addon, plainSocketFd } from './native-addon.js';
import type { RunningSha256 } from './running-sha256.js';

export interface UploadBody {
  /**
   * Writes every byte of the body to `file` from `position` on, feeding `hash` when given, and
   * resolves with how many. Rejects when the body breaks off; undoing what was written is the
   * caller's.
   */
  writeTo(file: FileHandle, position: number, hash: RunningSha256 | undefined): Promise<number>;
}

/** Buffers between a streamed body and its file. */
const STREAM_BUFFER_BYTES = 1024 * 1024;
/**
 * Bodies from this size on are taken from the socket. Below it, a thread and a closed connection
 * cost more than the copy they save; manifests and configs are far smaller, layers mostly larger.
 */
export const MIN_SOCKET_BODY_BYTES = 1024 * 1024;
/** A client that sends no byte for this long is given up, as a stalled download is (send-file.ts). */
const RECEIVE_IDLE_TIMEOUT_MS = 120_000;

/** A stream's bytes, through Node. */
export function streamedBody(stream: Readable): UploadBody {
  return { writeTo: (file, position, hash) => writeStream(stream, file, position, hash) };
}

/** A request's body: from its socket through the addon when it can be (see above), else streamed. */
export function requestBody(req: IncomingMessage, res: ServerResponse): UploadBody {
  return {
    writeTo: (file, position, hash) => {
      const socket = takeableSocket(req, hash);
      return socket ? receiveFromSocket(req, res, socket, file, position, hash) : writeStream(req, file, position, hash);
    },
  };
}

async function writeStream(stream: Readable, file: FileHandle, position: number, hash: RunningSha256 | undefined): Promise<number> {
  let written = 0;
  const counter = new Transform({
    highWaterMark: STREAM_BUFFER_BYTES,
    transform(chunk: Buffer, _encoding, callback) {
      hash?.update(chunk);
      written += chunk.length;
      callback(null, chunk);
    },
  });
  const sink = new FileSink(file, position);
  try {
    await pipeline(stream, counter, sink);
  } catch (err) {
    // A write still in flight would land after the caller undid what was written.
    await sink.settled();
    throw err;
  }
  return written;
}

/**
 * A stream's chunks to a file from `position` on, in order, without ever closing the file (it is
 * the caller's): fs.WriteStream closes its descriptor when destroyed, as a failed pipeline does.
 * Chunks that arrive while a write is in flight go out together in one writev.
 */
class FileSink extends Writable {
  readonly #file: FileHandle;
  #position: number;
  #writing: Promise<unknown> = Promise.resolve();

  constructor(file: FileHandle, position: number) {
    super({ highWaterMark: STREAM_BUFFER_BYTES });
    this.#file = file;
    this.#position = position;
  }

  override _write(chunk: Buffer, _encoding: BufferEncoding, callback: (error?: Error | null) => void): void {
    this.#append([chunk], callback);
  }

  override _writev(chunks: Array<{ chunk: Buffer }>, callback: (error?: Error | null) => void): void {
    this.#append(chunks.map((c) => c.chunk), callback);
  }

  /** Resolves once no write is in flight. */
  settled(): Promise<void> {
    return this.#writing.then(() => undefined, () => undefined);
  }

  #append(buffers: Buffer[], callback: (error?: Error | null) => void): void {
    const position = this.#position;
    this.#position += buffers.reduce((sum, b) => sum + b.length, 0);
    this.#writing = writeChunks(this.#file, buffers, position).then(() => callback(), callback);
  }
}

async function writeChunks(file: FileHandle, buffers: Buffer[], position: number): Promise<void> {
  const { bytesWritten } = await file.writev(buffers, position);
  // A short write (a full disk, a signal) goes on chunk by chunk from where it stopped.
  let offset = 0;
  for (const buffer of buffers) {
    const end = offset + buffer.length;
    if (bytesWritten < end) {
      const from = Math.max(bytesWritten, offset);
      await writeAll(file, buffer.subarray(from - offset), position + from);
    }
    offset = end;
  }
}

/** The HTTP server's socket, with the one internal that taking its body relies on (Node 20's `_http_server`). */
interface ServerSocket extends Socket {
  /**
   * The server's flag for a connection it holds still (it sets it between pipelined requests):
   * while set, the server's 'resume' handler pauses the socket again and reading the request's
   * buffered body never restarts it.
   */
  _paused?: boolean;
}

/** The request's socket when the addon can take its body (see the module's comment), else undefined. */
function takeableSocket(req: IncomingMessage, hash: RunningSha256 | undefined): ServerSocket | undefined {
  if (!addon || (hash && !hash.native)) return undefined;
  const length = req.headers['content-length'];
  if (length === undefined || !/^\d+$/.test(length) || Number(length) < MIN_SOCKET_BODY_BYTES) return undefined;
  // Nothing may have read the body yet; a body already complete sits in memory and is streamed.
  if (req.headers['transfer-encoding'] !== undefined || req.complete || req.readableFlowing !== null || req.readableDidRead) return undefined;
  const socket = req.socket as ServerSocket;
  return plainSocketFd(socket) !== undefined ? socket : undefined;
}

async function receiveFromSocket(
  req: IncomingMessage, res: ServerResponse, socket: ServerSocket, file: FileHandle, position: number, hash: RunningSha256 | undefined,
): Promise<number> {
  const length = Number(req.headers['content-length']);
  // From here on Node reads nothing more from this connection: the thread reads the rest of the body.
  socket._paused = true;
  socket.pause();
  // Node's parser waits for body bytes it will never see: the connection can serve no other request.
  res.setHeader('Connection', 'close');
  // What Node read before the pause waits in the request's buffer: the parser handed all of its
  // last read to the request before this turn of the event loop ended.
  await nextTurn();
  let received = 0;
  for (let chunk = req.read() as Buffer | null; chunk !== null; chunk = req.read() as Buffer | null) {
    hash?.update(chunk);
    await writeAll(file, chunk, position + received);
    received += chunk.length;
  }
  if (received === length) return received;
  const fd = plainSocketFd(socket);
  if (fd === undefined) throw Object.assign(new Error('the connection closed before the whole body arrived'), { code: 'ECONNRESET' });
  const transfer = addon!.receiveFile(fd, file.fd, position + received, length - received, hash?.native ?? null, RECEIVE_IDLE_TIMEOUT_MS);
  const abort = () => transfer.abort();
  socket.once('close', abort);
  try {
    return received + await transfer;
  } catch (err) {
    socket.destroy();
    throw err;
  } finally {
    socket.off('close', abort);
  }
}

async function writeAll(file: FileHandle, data: Buffer, position: number): Promise<void> {
  for (let done = 0; done < data.length;) {
    const { bytesWritten } = await file.write(data, done, data.length - done, position + done);
    done += bytesWritten;
  }
}
