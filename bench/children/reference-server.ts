/**
 * The reference of the API benchmark: a bare node:http server that answers every request with one
 * fixed response and does no other work. Runs as its own process (its own event loop).
 *
 * Input: argv[2] is a JSON CannedResponse. Output: one line `listening <port>` on stdout.
 * Stops on SIGTERM.
 */
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import type { CannedResponse } from './protocol.js';

const canned = JSON.parse(process.argv[2] ?? '') as CannedResponse;
const body = Buffer.from(canned.bodyBase64, 'base64');
const headers = { ...canned.headers, 'content-length': String(body.length) };

// Same keep-alive timeout as the Wharf server, so both treat idle connections alike.
const server = createServer({ keepAliveTimeout: 65_000 }, (req, res) => {
  // Answer once the request body is in, as any real server must; the body itself is discarded.
  req.resume();
  req.on('end', () => {
    res.writeHead(canned.status, headers).end(body);
  });
});
server.listen(0, '127.0.0.1', () => {
  process.stdout.write(`listening ${(server.address() as AddressInfo).port}\n`);
});
process.once('SIGTERM', () => {
  server.closeAllConnections();
  server.close(() => process.exit(0));
});
