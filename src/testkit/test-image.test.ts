import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { after, it } from 'node:test';
import { DockerRuntime } from '../agent/docker-runtime.js';
import { BUSYBOX_APPLETS, ensureTestImage } from './test-image.js';

const repo = `wharf-test/busybox-build-${randomBytes(4).toString('hex')}`;
const labels = { 'com.wharf.test.run': randomBytes(6).toString('hex') };
const rt = new DockerRuntime();

after(async () => {
  for (const c of await rt.list(labels).catch(() => [])) await rt.remove(c.id).catch(() => undefined);
  await rt.docker.request({ method: 'DELETE', path: `/images/${encodeURIComponent(`${repo}:latest`)}`, query: { force: true }, timeoutMs: 30_000 }).catch(() => undefined);
  rt.close();
});

it('builds a FROM-scratch busybox image with PATH=/bin and every applet, idempotently', async (t) => {
  try {
    await rt.info({ signal: AbortSignal.timeout(3_000) });
  } catch {
    return t.skip('no Docker Engine answers (DOCKER_HOST or /var/run/docker.sock)');
  }
  const ref = await ensureTestImage(undefined, repo);
  assert.equal(ref, `${repo}:latest`);
  assert.equal(await ensureTestImage(undefined, repo), ref);
  const id = await rt.create({
    name: `wharf-image-test-${labels['com.wharf.test.run']}`, image: ref, labels, env: [], cpuShares: 2, networkMode: 'none',
    portMappings: [], ulimits: [], stopTimeoutSeconds: 1,
    command: ['sh', '-c', `for a in ${BUSYBOX_APPLETS.join(' ')}; do test -x /bin/$a || exit 7; done; echo "$PATH" | grep -qx /bin || exit 8; true`],
  });
  await rt.start(id);
  let s = await rt.inspect(id);
  for (let i = 0; i < 100 && s?.running; i++) {
    await new Promise((r) => setTimeout(r, 50));
    s = await rt.inspect(id);
  }
  assert.equal(s?.exitCode, 0);
});
