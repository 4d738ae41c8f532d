/**
 * Upload bodies from real connections: large ones with a Content-Length taken from the socket by
 * the native addon, the others streamed through Node; what a client going away, a stalled client
 * and a server closing its connections do to the session.
 */
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { once } from 'node:events';
import { readdirSync } from 'node:fs';
import { mkdtemp, open, rm } from 'node:fs/promises';
import { Agent, createServer, request, type IncomingMessage } from 'node:http';
import { connect, type AddressInfo, type Socket } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { digestOf } from '../domain/index.js';
import { listenOnLoopback, type LoopbackHttpServer } from '../testkit/loopback-http.js';
import { pollUntil } from '../testkit/polling.js';
import { DiskBlobStore } from './blob-store.js';
import { blobTransferAddon } from './native-addon.js';
import { MIN_SOCKET_BODY_BYTES, requestBody } from './upload-body.js';

const openDescriptors = () => readdirSync('/proc/self/fd').length;

describe('upload bodies', { timeout: 60_000, skip: process.env['WHARF_NO_NATIVE'] === '1' && 'WHARF_NO_NATIVE=1' }, () => {
  let dir = '';
  let store: DiskBlobStore;
  let server: LoopbackHttpServer;
  let port = 0;
  /** How each request's append ended, by request path: `size <n>` or `failed: <code>`. */
  const outcomes = new Map<string, string>();
  /** The request being served, by path: a test can destroy its connection. */
  const serving = new Map<string, IncomingMessage>();

  before(async () => {
    dir = await mkdtemp(join(tmpdir(), 'wharf-upload-body-'));
    store = await new DiskBlobStore(dir).init();
    // PATCH /<session id>/<label>: appends the body to that session and answers its new size.
    server = await listenOnLoopback((req, res) => {
      const [, id = '', label = ''] = req.url!.split('/');
      serving.set(label, req);
      store.appendToUpload(id, requestBody(req, res)).then(
        (size) => { outcomes.set(label, `size ${size}`); res.writeHead(202, { 'Content-Length': 0, 'Upload-Size': size }); res.end(); },
        (err: NodeJS.ErrnoException) => {
          outcomes.set(label, `failed: ${err.code ?? err.message}`);
          if (!res.headersSent) { res.writeHead(400, { Connection: 'close', 'Content-Length': 0 }); res.end(); }
        },
      );
    });
    port = server.port;
  });
  after(async () => {
    server.close();
    await rm(dir, { recursive: true, force: true });
  });

  /**
   * Sends a PATCH by hand: the headers and `first` in one write, then `rest` in pieces with pauses.
   * HTTP/1.1's default is to keep the connection; `close` asks for it to be closed after the answer.
   */
  async function rawPatch(path: string, length: number, first: Buffer, rest: Buffer[] = [], close = false): Promise<Socket> {
    const socket = connect(port, '127.0.0.1');
    await once(socket, 'connect');
    const head = `PATCH ${path} HTTP/1.1\r\nHost: x\r\nContent-Length: ${length}\r\n${close ? 'Connection: close\r\n' : ''}\r\n`;
    socket.write(Buffer.concat([Buffer.from(head), first]));
    for (const piece of rest) {
      await sleep(30);
      if (!socket.write(piece)) await once(socket, 'drain');
    }
    return socket;
  }

  /** The whole answer to a request made with rawPatch, once the server closes the connection. */
  async function answerOf(socket: Socket): Promise<string> {
    const chunks: Buffer[] = [];
    socket.on('data', (c: Buffer) => chunks.push(c));
    await once(socket, 'close');
    return Buffer.concat(chunks).toString();
  }

  const sessionFile = (id: string) => join(dir, 'uploads', id, 'data');

  it('is built here (scripts/setup.sh compiles native/blob-transfer.c)', () => {
    assert.ok(blobTransferAddon);
  });

  it('takes a large body from the socket, bytes that came with the headers first, and closes the connection after answering', async () => {
    const body = randomBytes(6 * 1024 * 1024 + 123);
    const session = await store.createUpload('repo');
    // Part of the body arrives with the headers, so Node has read it before the socket is taken.
    const pieces = [body.subarray(100_000, 3_000_000), body.subarray(3_000_000)];
    const socket = await rawPatch(`/${session.id}/large`, body.length, body.subarray(0, 100_000), pieces);
    const answer = await answerOf(socket);
    assert.match(answer, /^HTTP\/1\.1 202 /);
    assert.match(answer, /\r\nConnection: close\r\n/i, 'the socket path answers with Connection: close');
    assert.match(answer, new RegExp(`\r\nUpload-Size: ${body.length}\r\n`, 'i'));
    const handle = await open(sessionFile(session.id), 'r');
    try { assert.ok((await handle.readFile()).equals(body)); } finally { await handle.close(); }
    const blob = await store.completeUpload(session.id, digestOf(body));
    assert.equal(blob.size, body.length);
  });

  it('continues the running digest across bodies taken from the socket and streamed ones', async () => {
    const parts = [randomBytes(MIN_SOCKET_BODY_BYTES + 5), randomBytes(1000), randomBytes(2 * MIN_SOCKET_BODY_BYTES)];
    const session = await store.createUpload('repo');
    let offset = 0;
    for (const [i, part] of parts.entries()) {
      const socket = await rawPatch(`/${session.id}/part-${i}`, part.length, part, [], true);
      assert.match(await answerOf(socket), /^HTTP\/1\.1 202 /);
      offset += part.length;
      assert.equal(outcomes.get(`part-${i}`), `size ${offset}`);
    }
    assert.equal((await store.completeUpload(session.id, digestOf(Buffer.concat(parts)))).size, offset);
  });

  it('streams small and chunked bodies through Node, keeping the connection for the next request', async () => {
    const session = await store.createUpload('repo');
    const agent = new Agent({ keepAlive: true, maxSockets: 1 });
    const small = randomBytes(1000);
    const chunked = randomBytes(2 * MIN_SOCKET_BODY_BYTES);
    const send = (label: string, body: Buffer, headers: Record<string, string>) => new Promise<number>((resolve, reject) => {
      const req = request({ host: '127.0.0.1', port, path: `/${session.id}/${label}`, method: 'PATCH', agent, headers }, (res) => {
        res.resume();
        res.on('end', () => resolve(res.statusCode!));
      });
      req.on('error', reject);
      req.end(body);
    });
    const connectionsBefore = server.connections();
    try {
      assert.equal(await send('small', small, { 'Content-Length': String(small.length) }), 202);
      assert.equal(await send('chunked', chunked, { 'Transfer-Encoding': 'chunked' }), 202);
    } finally {
      agent.destroy();
    }
    assert.equal(server.connections() - connectionsBefore, 1);
    assert.equal((await store.completeUpload(session.id, digestOf(Buffer.concat([small, chunked])))).size, small.length + chunked.length);
  });

  it('a client that goes away mid-body leaves the session as it was, and no descriptor behind', async () => {
    const session = await store.createUpload('repo');
    const descriptorsBefore = openDescriptors();
    const socket = await rawPatch(`/${session.id}/gone`, 8 * 1024 * 1024, randomBytes(64 * 1024), [randomBytes(2 * 1024 * 1024)]);
    await pollUntil('the body is being taken', async () => (await store.getUpload(session.id))!.size > 64 * 1024 || undefined, 10_000);
    socket.destroy();
    assert.equal(await pollUntil('the append ended', async () => outcomes.get('gone'), 10_000), 'failed: ECONNRESET');
    assert.equal((await store.getUpload(session.id))!.size, 0);
    await pollUntil('descriptors released', async () => openDescriptors() <= descriptorsBefore || undefined, 10_000);
  });

  it('stops taking the body of a stalled client when the server closes its connection', async () => {
    const session = await store.createUpload('repo');
    const descriptorsBefore = openDescriptors();
    const socket = await rawPatch(`/${session.id}/stalled`, 8 * 1024 * 1024, randomBytes(2 * 1024 * 1024));
    try {
      await pollUntil('the body is being taken', async () => (await store.getUpload(session.id))!.size > 0 || undefined, 10_000);
      serving.get('stalled')!.socket.destroy();
      assert.equal(await pollUntil('the append ended', async () => outcomes.get('stalled'), 10_000), 'failed: ECANCELED');
    } finally {
      socket.destroy();
    }
    assert.equal((await store.getUpload(session.id))!.size, 0);
    await pollUntil('descriptors released', async () => openDescriptors() <= descriptorsBefore || undefined, 10_000);
  });

  it('gives up a client that sends nothing for the idle timeout, and keeps the digest it feeds from other use meanwhile', async () => {
    const addon = blobTransferAddon!;
    const peer = createServer();
    peer.listen(0, '127.0.0.1');
    await once(peer, 'listening');
    const client = connect((peer.address() as AddressInfo).port, '127.0.0.1');
    const [accepted] = (await once(peer, 'connection')) as [Socket];
    const file = await open(join(dir, 'idle'), 'w');
    try {
      const hash = addon.sha256Create();
      const fd = (accepted as Socket & { _handle: { fd: number } })._handle.fd;
      accepted.pause();
      const transfer = addon.receiveFile(fd, file.fd, 0, 10, hash, 1000);
      assert.throws(() => addon.sha256Update(hash, Buffer.from('x')), { code: 'EBUSY' });
      client.write('12345');
      await assert.rejects(transfer, { code: 'ETIMEDOUT' });
      // Released, with the five bytes that came fed to it.
      assert.equal(addon.sha256Digest(hash), digestOf(Buffer.from('12345')).slice('sha256:'.length));
    } finally {
      await file.close();
      client.destroy();
      peer.close();
    }
  });
});
