/**
 * Crash safety of the registry: the server is killed with SIGKILL in the middle of a push and
 * started again on the same data directory. Every blob acknowledged before the kill is there and
 * intact, the blob being pushed is not visible (not even partly), no blob on disk is corrupt, and
 * the interrupted upload session resumes from the offset it reports. Tokens issued before the
 * crash still work after it (the signing secret lives in the data directory).
 */
import { after, it } from 'node:test';
import assert from 'node:assert/strict';
import { spawn, type ChildProcess } from 'node:child_process';
import { createHash, randomBytes } from 'node:crypto';
import { mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { request } from 'node:http';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { CreateRepositoryCommand, ECRClient, GetAuthorizationTokenCommand } from '@aws-sdk/client-ecr';
import { readSharedCredentials } from '../../src/api/credentials.js';
import { digestOf } from '../../src/domain/index.js';
import { TestRegistryClient } from '../../src/testkit/registry-client.js';

const WHARF_JS = fileURLToPath(new URL('../../src/bin/wharf.js', import.meta.url));
const dataDir = mkdtempSync(join(tmpdir(), 'wharf-registry-crash-'));
const children: ChildProcess[] = [];

after(() => {
  for (const c of children) c.kill('SIGKILL');
  rmSync(dataDir, { recursive: true, force: true });
});

async function startServer(): Promise<{ child: ChildProcess; url: string }> {
  const child = spawn(process.execPath, [WHARF_JS, 'server', '--data-dir', dataDir, '--port', '0'], { stdio: ['ignore', 'pipe', 'pipe'] });
  children.push(child);
  let log = '';
  child.stderr!.on('data', (d: Buffer) => { log = (log + d.toString()).slice(-4096); });
  const url = await new Promise<string>((resolve, reject) => {
    let out = '';
    const timer = setTimeout(() => reject(new Error(`server did not start: ${log}`)), 15_000);
    child.stdout!.on('data', (d: Buffer) => {
      out += d.toString();
      const m = /listening on (http:\/\/\S+)/.exec(out);
      if (m) { clearTimeout(timer); resolve(m[1]!); }
    });
    child.once('exit', (code) => { clearTimeout(timer); reject(new Error(`server exited ${code}: ${log}`)); });
  });
  return { child, url };
}

function killHard(child: ChildProcess): Promise<void> {
  return new Promise((resolve) => {
    child.once('exit', () => resolve());
    child.kill('SIGKILL');
  });
}

it('a kill -9 mid-push loses no acknowledged blob and leaves none partial or corrupt', async () => {
  const first = await startServer();
  const credentials = readSharedCredentials(join(dataDir, 'credentials'))!;
  const ecr = new ECRClient({ endpoint: first.url, region: 'us-east-1', credentials, maxAttempts: 1 });
  await ecr.send(new CreateRepositoryCommand({ repositoryName: 'crash' }));
  const token = (await ecr.send(new GetAuthorizationTokenCommand({}))).authorizationData![0]!.authorizationToken!;
  ecr.destroy();
  let registry = new TestRegistryClient(first.url, token);

  const acknowledged = randomBytes(4 * 1024 * 1024);
  await registry.pushBlob('crash', acknowledged);

  const interrupted = randomBytes(8 * 1024 * 1024);
  const firstChunk = 2 * 1024 * 1024;
  const location = (await registry.call('POST', '/v2/crash/blobs/uploads/')).headers.get('location')!;
  const chunk = await registry.call('PATCH', location, { body: interrupted.subarray(0, firstChunk), headers: { 'content-range': `0-${firstChunk - 1}` } });
  assert.equal(chunk.status, 202);

  // The closing PUT streams the rest; the server dies while it arrives.
  const url = new URL(`${first.url}${location}?digest=${digestOf(interrupted)}`);
  const put = request({
    host: url.hostname, port: url.port, path: url.pathname + url.search, method: 'PUT',
    headers: { authorization: `Basic ${token}`, 'content-length': String(interrupted.length - firstChunk) },
  });
  const putOutcome = new Promise<string>((resolve) => {
    put.on('response', (res) => resolve(`answered ${res.statusCode}`));
    put.on('error', () => resolve('cut'));
  });
  put.write(interrupted.subarray(firstChunk, firstChunk + 1024 * 1024));
  await new Promise((r) => setTimeout(r, 300));
  await killHard(first.child);
  assert.equal(await putOutcome, 'cut');

  const second = await startServer();
  registry = new TestRegistryClient(second.url, token);
  const back = await registry.call('GET', `/v2/crash/blobs/${digestOf(acknowledged)}`);
  assert.equal(back.status, 200, 'a token from before the crash works after it');
  assert.equal(digestOf(back.body), digestOf(acknowledged));
  assert.equal((await registry.call('HEAD', `/v2/crash/blobs/${digestOf(interrupted)}`)).status, 404);

  // No file under blobs/ is anything but complete content of its own digest.
  const root = join(dataDir, 'registry', 'blobs', 'sha256');
  const files = readdirSync(root).flatMap((p) => readdirSync(join(root, p)).map((h) => join(root, p, h)));
  assert.ok(files.length >= 1);
  for (const file of files) {
    assert.equal(createHash('sha256').update(readFileSync(file)).digest('hex'), file.slice(file.lastIndexOf('/') + 1), file);
  }
  assert.ok(!files.some((f) => f.endsWith(digestOf(interrupted).slice('sha256:'.length))));

  // The session kept at least its acknowledged chunk (and whatever of the PUT reached the disk, a
  // prefix of the same content); the push resumes from the offset the status reports.
  const status = await registry.call('GET', location);
  assert.equal(status.status, 204);
  const offset = Number(/^0-(\d+)$/.exec(status.headers.get('range') ?? '')?.[1]) + 1;
  assert.ok(offset >= firstChunk && offset <= interrupted.length, `session at ${offset}`);
  const rest = await registry.call('PATCH', location, { body: interrupted.subarray(offset), headers: { 'content-range': `${offset}-${interrupted.length - 1}` } });
  assert.equal(rest.status, 202);
  assert.equal((await registry.call('PUT', `${location}?digest=${digestOf(interrupted)}`)).status, 201);
  assert.equal(digestOf((await registry.call('GET', `/v2/crash/blobs/${digestOf(interrupted)}`)).body), digestOf(interrupted));
  await killHard(second.child);
});
