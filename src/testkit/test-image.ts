/**
 * The test image: `wharf-test/busybox:latest`, FROM scratch with Debian's static busybox, imported
 * through the Engine API. Tests need no outside registry.
 */
import { spawn } from 'node:child_process';
import { copyFile, mkdir, mkdtemp, rm, symlink } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { DockerClient, DockerHttpError } from '../agent/docker-client.js';

export const TEST_IMAGE_REPO = 'wharf-test/busybox';
export const TEST_IMAGE = `${TEST_IMAGE_REPO}:latest`;
/** Debian's busybox-static. */
export const BUSYBOX_PATH = '/usr/bin/busybox';
export const BUSYBOX_APPLETS = ['sh', 'sleep', 'echo', 'cat', 'httpd', 'nc', 'wget', 'env', 'true', 'false', 'ls', 'id', 'pwd', 'kill', 'date'] as const;

const building = new Map<string, Promise<string>>();

/**
 * Builds the image unless it exists already (idempotent, and concurrent callers share one build);
 * resolves with its reference (`<repo>:latest`). `repo` exists for the builder's own test.
 */
export function ensureTestImage(dockerHost?: string, repo: string = TEST_IMAGE_REPO): Promise<string> {
  const key = `${dockerHost ?? ''}|${repo}`;
  let p = building.get(key);
  if (!p) {
    p = build(dockerHost, repo).catch((err: unknown) => {
      building.delete(key);
      throw err;
    });
    building.set(key, p);
  }
  return p;
}

async function build(dockerHost: string | undefined, repo: string): Promise<string> {
  const ref = `${repo}:latest`;
  const docker = new DockerClient(dockerHost);
  try {
    try {
      await docker.request({ method: 'GET', path: `/images/${encodeURIComponent(ref)}/json`, timeoutMs: 15_000 });
      return ref;
    } catch (err) {
      if (!(err instanceof DockerHttpError && err.statusCode === 404)) throw err;
    }
    const dir = await mkdtemp(path.join(os.tmpdir(), 'wharf-test-image-'));
    try {
      await mkdir(path.join(dir, 'bin'));
      await mkdir(path.join(dir, 'tmp'));
      await copyFile(BUSYBOX_PATH, path.join(dir, 'bin', 'busybox'));
      for (const applet of BUSYBOX_APPLETS) await symlink('busybox', path.join(dir, 'bin', applet));
      const tar = spawn('tar', ['-C', dir, '--owner=0', '--group=0', '-c', '.'], { stdio: ['ignore', 'pipe', 'inherit'] });
      const tarDone = new Promise<void>((resolve, reject) => {
        tar.on('error', reject);
        tar.on('close', (code) => (code === 0 ? resolve() : reject(new Error(`tar exited with ${code}`))));
      });
      let failure: string | undefined;
      await docker.stream({
        method: 'POST', path: '/images/create', stream: tar.stdout, timeoutMs: 120_000,
        query: { fromSrc: '-', repo, tag: 'latest', changes: ['ENV PATH=/bin', 'CMD ["/bin/sh"]'] },
      }, (line) => {
        if (typeof line.error === 'string') failure = line.error;
      });
      await tarDone;
      if (failure) throw new Error(`importing ${ref} failed: ${failure}`);
      return ref;
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  } finally {
    docker.close();
  }
}
