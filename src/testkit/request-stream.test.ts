import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { startRequestStream } from './request-stream.js';

describe('startRequestStream', () => {
  let server: http.Server;
  let base = '';
  let answer500 = false;
  before(async () => {
    server = http.createServer((req, res) => {
      if (answer500 && req.url === '/flaky') { res.statusCode = 500; res.end('no'); return; }
      res.end(req.url === '/flaky' ? 'flaky ok' : 'hello\n');
    });
    await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
    base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  });
  after(() => { server.closeAllConnections(); server.close(); });

  it('counts 2xx answers and their bodies, with every request accounted for', async () => {
    const stream = startRequestStream({ url: `${base}/`, concurrency: 4 });
    await new Promise((r) => setTimeout(r, 200));
    const s = await stream.stop();
    assert.ok(s.ok > 0);
    assert.equal(s.requests, s.ok + s.non2xx + s.failed);
    assert.equal(s.non2xx + s.failed, 0);
    assert.deepEqual([...s.bodies.keys()], ['hello']);
  });

  it('records non-2xx answers and connection failures with their time', async () => {
    answer500 = true;
    const flaky = startRequestStream({ url: `${base}/flaky`, concurrency: 2 });
    await new Promise((r) => setTimeout(r, 100));
    const a = await flaky.stop();
    answer500 = false;
    assert.ok(a.non2xx > 0 && a.failures.every((f) => f.status === 500));

    const closed = http.createServer();
    await new Promise<void>((r) => closed.listen(0, '127.0.0.1', r));
    const port = (closed.address() as AddressInfo).port;
    await new Promise((r) => closed.close(r));
    const refused = startRequestStream({ url: `http://127.0.0.1:${port}/`, concurrency: 1, ratePerSecond: 50 });
    await new Promise((r) => setTimeout(r, 100));
    const b = await refused.stop();
    assert.ok(b.failed > 0);
    assert.equal(b.failures[0]?.error, 'ECONNREFUSED');
    assert.ok(b.failures[0]!.atMs >= 0);
  });
});
