/**
 * Blobs to HTTP responses through the native blob-transfer addon: the bytes, ranges and keep-alive of
 * a real connection, and what happens when the client goes away or stops reading.
 */
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { once } from 'node:events';
import { readdirSync } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import { Agent, get, type ServerResponse } from 'node:http';
import { connect } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Readable } from 'node:stream';
import { digestOf } from '../domain/index.js';
import { listenOnLoopback, type LoopbackHttpServer } from '../testkit/loopback-http.js';
import { pollUntil } from '../testkit/polling.js';
import { DiskBlobStore, type ByteRange } from './blob-store.js';
import { sendFileAvailable } from './send-file.js';

const openDescriptors = () => readdirSync('/proc/self/fd').length;

describe('blobs sent by the native send-file addon', { skip: process.env['WHARF_NO_NATIVE'] === '1' && 'WHARF_NO_NATIVE=1' }, () => {
  // Larger than a socket's buffers, so transfers wait for the client to read.
  const blob = randomBytes(24 * 1024 * 1024);
  const digest = digestOf(blob);
  let dir = '';
  let store: DiskBlobStore;
  let server: LoopbackHttpServer;
  let port = 0;
  /** Writes made through the response object: none when the body went through the addon. */
  let responseWrites = 0;
  /** How each request's writeTo ended, by request path. */
  const outcomes = new Map<string, string>();
  let onResponse: (res: ServerResponse) => void = () => undefined;

  before(async () => {
    dir = await mkdtemp(join(tmpdir(), 'wharf-send-file-'));
    store = await new DiskBlobStore(dir).init();
    const session = await store.createUpload('repo');
    await store.appendToUpload(session.id, Readable.from([blob]));
    await store.completeUpload(session.id, digest);
    server = await listenOnLoopback((req, res) => {
      const match = /^bytes=(\d+)-(\d+)$/.exec(req.headers.range ?? '');
      const range: ByteRange | undefined = match ? { start: Number(match[1]), end: Number(match[2]) } : undefined;
      res.writeHead(range ? 206 : 200, { 'Content-Length': range ? range.end - range.start + 1 : blob.length });
      const write = res.write.bind(res);
      res.write = ((...args: Parameters<ServerResponse['write']>) => { responseWrites += 1; return write(...args); }) as ServerResponse['write'];
      onResponse(res);
      store.writeTo(digest, res, range).then(
        () => { outcomes.set(req.url!, 'sent'); res.end(); },
        (err: NodeJS.ErrnoException) => { outcomes.set(req.url!, `failed: ${err.code ?? err.message}`); },
      );
    });
    port = server.port;
  });
  after(async () => {
    server.close();
    await rm(dir, { recursive: true, force: true });
  });

  const fetch = (agent: Agent, headers: Record<string, string> = {}) => new Promise<Buffer>((resolve, reject) => {
    get({ host: '127.0.0.1', port, path: '/', agent, headers }, (res) => {
      const chunks: Buffer[] = [];
      res.on('data', (c: Buffer) => chunks.push(c)).on('end', () => resolve(Buffer.concat(chunks))).on('error', reject);
    }).on('error', reject);
  });

  it('is built here (scripts/setup.sh compiles native/blob-transfer.c)', () => {
    assert.equal(sendFileAvailable, true);
  });

  it('sends a whole blob and then a range on one keep-alive connection, writing nothing through the response', async () => {
    const agent = new Agent({ keepAlive: true, maxSockets: 1 });
    const [connectionsBefore, writesBefore] = [server.connections(), responseWrites];
    try {
      assert.ok((await fetch(agent)).equals(blob));
      assert.ok((await fetch(agent, { range: 'bytes=1000000-3999999' })).equals(blob.subarray(1_000_000, 4_000_000)));
      assert.ok((await fetch(agent, { range: 'bytes=7-7' })).equals(blob.subarray(7, 8)));
    } finally {
      agent.destroy();
    }
    assert.equal(server.connections() - connectionsBefore, 1);
    assert.equal(responseWrites - writesBefore, 0);
  });

  it('fails the transfer of a client that goes away mid-blob, and keeps no descriptor of it', async () => {
    const descriptorsBefore = openDescriptors();
    const socket = connect(port, '127.0.0.1');
    socket.write('GET /gone HTTP/1.1\r\nHost: x\r\n\r\n');
    await once(socket, 'data');
    socket.destroy();
    assert.match(await pollUntil('the transfer ended', async () => outcomes.get('/gone'), 10_000), /^failed: (EPIPE|ECONNRESET|ECANCELED)$/);
    await pollUntil('descriptors released', async () => openDescriptors() <= descriptorsBefore || undefined, 10_000);
  });

  it('stops the transfer when the server destroys the connection of a client that stopped reading', async () => {
    const descriptorsBefore = openDescriptors();
    let served: ServerResponse | undefined;
    onResponse = (res) => { served = res; };
    const socket = connect(port, '127.0.0.1');
    try {
      socket.write('GET /stalled HTTP/1.1\r\nHost: x\r\n\r\n');
      await once(socket, 'data');
      socket.pause();
      await pollUntil('the response started', async () => served, 10_000);
      served!.socket!.destroy();
      // Aborted (the socket closed under it), or refused by the kernel first: either way it stops.
      assert.match(await pollUntil('the transfer ended', async () => outcomes.get('/stalled'), 10_000), /^failed: (ECANCELED|EPIPE)$/);
    } finally {
      onResponse = () => undefined;
      socket.destroy();
    }
    await pollUntil('descriptors released', async () => openDescriptors() <= descriptorsBefore || undefined, 10_000);
  });
});
