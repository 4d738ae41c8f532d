/**
 * The targets of the load-balancer benchmark, in their own process: `count` HTTP servers on
 * loopback answering every request with a small 200 (`/health` too), keep-alive held longer than
 * HAProxy keeps idle server connections, so neither side sees a server close a reused connection.
 *
 * Input: argv[2] is the number of servers. Output: one JSON line `{ "ports": [...] }` on stdout.
 */
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';

const count = Number(process.argv[2] ?? 4);
const body = Buffer.from('ok\n');
const ports: number[] = [];
for (let i = 0; i < count; i++) {
  const server = createServer({ keepAliveTimeout: 120_000 }, (_req, res) => {
    res.writeHead(200, { 'content-type': 'text/plain', 'content-length': body.length }).end(body);
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  ports.push((server.address() as AddressInfo).port);
}
process.stdout.write(JSON.stringify({ ports }) + '\n');
