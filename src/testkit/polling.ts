/** Small helpers for tests that drive real processes: free ports and polling. */
import { createServer, type AddressInfo } from 'node:net';

/** A loopback TCP port that was free a moment ago, for a process that needs a fixed port (HAProxy's `bind`). */
export async function freeLoopbackPort(): Promise<number> {
  const server = createServer();
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  await new Promise<void>((resolve) => server.close(() => resolve()));
  return port;
}

/**
 * A TCP port for a listener that was free a moment ago on every address: drawn from 20000-32767,
 * below both the kernel's ephemeral ports (32768 and up, where port 0 binds would land) and the
 * tasks' dynamic host ports (49153 and up, which listeners may not use).
 */
export async function freeListenerPort(): Promise<number> {
  for (let attempt = 0; attempt < 50; attempt++) {
    const port = 20_000 + Math.floor(Math.random() * 12_768);
    const free = await new Promise<boolean>((resolve) => {
      const probe = createServer();
      probe.once('error', () => resolve(false));
      probe.listen(port, () => probe.close(() => resolve(true)));
    });
    if (free) return port;
  }
  throw new Error('no free listener port in 20000-32767');
}

/**
 * Polls `probe` every 100 ms until it answers something other than undefined; a probe that throws
 * counts as "not yet" (what it polls may still be starting). Rejects naming `what` after `timeoutMs`.
 */
export async function pollUntil<T>(what: string, probe: () => Promise<T | undefined>, timeoutMs = 30_000): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const value = await probe().catch(() => undefined);
    if (value !== undefined) return value;
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 100));
  }
}
