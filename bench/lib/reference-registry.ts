/**
 * The reference of the registry benchmarks: the CNCF distribution registry (Debian package
 * `docker-registry`) on a free loopback port, plain http, no auth, filesystem storage in a
 * directory the caller chooses (on the same disk as Wharf's data directory).
 */
import { spawn, type ChildProcess } from 'node:child_process';
import http from 'node:http';
import { writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { terminate } from './child.js';
import { freeLoopbackPort as freePort } from '../../src/testkit/polling.js';
import { waitFor } from './wait.js';

export const REFERENCE_REGISTRY_BINARY = 'docker-registry';
const START_TIMEOUT_MS = 15_000;

export interface ReferenceRegistry {
  /** `127.0.0.1:<port>`, as it goes in a `docker://` reference. */
  host: string;
  process: ChildProcess;
  stop(): Promise<void>;
}

/**
 * Starts the registry with its config file written to `configDir` and its blobs under
 * `storageDir`; resolves once `GET /v2/` answers 200. The settings are the Debian package's
 * defaults (in-memory blob descriptor cache, deletes enabled) minus auth and the per-request
 * access log, which Wharf does not write by default either.
 */
export async function startReferenceRegistry(configDir: string, storageDir: string): Promise<ReferenceRegistry> {
  const port = await freePort();
  const host = `127.0.0.1:${port}`;
  const configFile = join(configDir, 'registry.yml');
  await writeFile(configFile, [
    'version: 0.1',
    'log:',
    '  level: warn',
    '  accesslog:',
    '    disabled: true',
    'storage:',
    '  cache:',
    '    blobdescriptor: inmemory',
    '  filesystem:',
    `    rootdirectory: ${storageDir}`,
    '  delete:',
    '    enabled: true',
    'http:',
    `  addr: ${host}`,
    '',
  ].join('\n'));
  const child = spawn(REFERENCE_REGISTRY_BINARY, ['serve', configFile], { stdio: ['ignore', 'ignore', 'pipe'] });
  let log = '';
  child.stderr!.on('data', (d: Buffer) => { log = (log + d.toString()).slice(-8192); });
  const stop = () => terminate(child);
  try {
    const exited = new Promise<never>((_, reject) => {
      child.once('error', reject);
      child.once('exit', (code, signal) => reject(new Error(`${REFERENCE_REGISTRY_BINARY} exited (${signal ?? code}): ${log.trim()}`)));
    });
    exited.catch(() => undefined);
    await Promise.race([waitFor(`${REFERENCE_REGISTRY_BINARY} on ${host}`, () => answers200(`http://${host}/v2/`), START_TIMEOUT_MS), exited]);
  } catch (err) {
    await stop();
    throw err;
  }
  return { host, process: child, stop };
}

function answers200(url: string): Promise<boolean> {
  return new Promise((resolve) => {
    const req = http.get(url, { timeout: 1_000 }, (res) => {
      res.resume();
      resolve(res.statusCode === 200);
    });
    req.on('timeout', () => req.destroy());
    req.on('error', () => resolve(false));
  });
}
