/** An HTTP server on a free loopback port for tests that drive one handler over real connections. */
import { once } from 'node:events';
import { createServer, type RequestListener } from 'node:http';
import type { AddressInfo } from 'node:net';

export interface LoopbackHttpServer {
  port: number;
  /** Connections accepted so far: a test tells keep-alive reuse from new connections by it. */
  connections(): number;
  /** Cuts every connection and stops listening. */
  close(): void;
}

export async function listenOnLoopback(handler: RequestListener): Promise<LoopbackHttpServer> {
  const server = createServer(handler);
  let connections = 0;
  server.on('connection', () => { connections += 1; });
  server.listen(0, '127.0.0.1');
  await once(server, 'listening');
  return {
    port: (server.address() as AddressInfo).port,
    connections: () => connections,
    close: () => { server.closeAllConnections(); server.close(); },
  };
}
