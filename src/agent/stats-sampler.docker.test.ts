/** Both usage sources against a real container on the Docker Engine: they agree, and a gone container reads as gone. */
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { after, before, it } from 'node:test';
import { ensureTestImage, TEST_IMAGE } from '../testkit/test-image.js';
import { DockerClient } from './docker-client.js';
import { CgroupStatsSource, DockerStatsSource } from './stats-sampler.js';

const docker = new DockerClient();
let dockerUp = false;
let id = '';

before(async () => {
  try {
    await docker.request({ method: 'GET', path: '/_ping', timeoutMs: 3_000 });
    dockerUp = true;
  } catch {
    return;
  }
  await ensureTestImage();
  // A busy loop, so CPU time grows between two readings.
  id = execFileSync('docker', ['run', '-d', '--rm', '--name', `wharf-stats-${randomBytes(4).toString('hex')}`, TEST_IMAGE, 'sh', '-c', 'while :; do :; done'])
    .toString().trim();
});

after(() => {
  if (id) execFileSync('docker', ['rm', '-f', id], { stdio: 'ignore' });
  docker.close();
});

it('cgroup files and Docker\'s one-shot stats read the same container alike', async (t) => {
  if (!dockerUp) return t.skip('no Docker Engine answers (DOCKER_HOST or /var/run/docker.sock)');
  const viaDocker = new DockerStatsSource(docker);
  const viaCgroup = new CgroupStatsSource('/sys/fs/cgroup', undefined);
  const first = await viaCgroup.read(id);
  if (first === undefined) return t.skip('the host cgroupfs does not show this engine\'s containers');
  const fromDocker = await viaDocker.read(id);
  const second = await viaCgroup.read(id);
  assert.ok(fromDocker && second);
  // Docker's reading was taken between the two cgroup readings; CPU time only grows.
  assert.ok(first.cpuNanos <= fromDocker.cpuNanos && fromDocker.cpuNanos <= second.cpuNanos, JSON.stringify({ first, fromDocker, second }));
  assert.ok(fromDocker.memoryBytes > 0 && second.memoryBytes > 0);
  assert.ok(Math.abs(fromDocker.memoryBytes - second.memoryBytes) < 4 * 1048576, 'memory within 4 MiB of each other');
  execFileSync('docker', ['rm', '-f', id], { stdio: 'ignore' });
  assert.equal(await viaDocker.read(id), undefined);
  assert.equal(await viaCgroup.read(id), undefined);
  id = '';
});
