import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import type { EcsClient } from './ecs-client.js';
import { RegistryAuth, registryHostOf } from './registry-auth.js';

const HOUR = 60 * 60 * 1000;

/** Answers GetAuthorizationToken as ECR does, counting calls; tokens live 12 hours from `now`. */
function fakeEcr(now: () => number) {
  const calls: string[] = [];
  const client = {
    call: (operation: string) => {
      calls.push(operation);
      return Promise.resolve({
        authorizationData: [{ authorizationToken: Buffer.from(`AWS:password-${calls.length}`).toString('base64'), expiresAt: (now() + 12 * HOUR) / 1000, proxyEndpoint: 'http://registry.lan:8450' }],
      });
    },
  } as unknown as EcsClient;
  return { client, calls };
}

describe('registry auth for pulls', () => {
  it('finds the registry host of an image reference as docker does', () => {
    assert.equal(registryHostOf('127.0.0.1:8450/team/app:v1'), '127.0.0.1:8450');
    assert.equal(registryHostOf('registry.example.com/app@sha256:abc'), 'registry.example.com');
    assert.equal(registryHostOf('localhost/app'), 'localhost');
    assert.equal(registryHostOf('wharf-test/busybox:latest'), undefined);
    assert.equal(registryHostOf('busybox'), undefined);
  });

  it('gives Docker the ECR token for images on the server, nothing for others', async () => {
    let now = 1_000_000;
    const ecr = fakeEcr(() => now);
    const auth = new RegistryAuth(ecr.client, '127.0.0.1:8450', () => now);
    assert.equal(await auth.headerFor('wharf-test/busybox:latest'), undefined);
    assert.equal(ecr.calls.length, 0, 'Docker Hub names need no token');
    const header = await auth.headerFor('127.0.0.1:8450/app:v1');
    assert.ok(header && !/[+/]/.test(header), 'URL-safe base64');
    assert.deepEqual(JSON.parse(Buffer.from(header, 'base64').toString()), { username: 'AWS', password: 'password-1', serveraddress: '127.0.0.1:8450' });
    // The advertised name (proxyEndpoint) is Wharf's registry too; other hosts are not.
    const advertised = await auth.headerFor('registry.lan:8450/app:v1');
    assert.equal(JSON.parse(Buffer.from(advertised!, 'base64').toString()).serveraddress, 'registry.lan:8450');
    assert.equal(await auth.headerFor('10.0.0.1:8450/app:v1'), undefined);
    assert.equal(await auth.headerFor('registry.example.com/app:v1'), undefined);
    assert.deepEqual(ecr.calls, ['GetAuthorizationToken']);
  });

  it('reuses a token until shortly before it expires', async () => {
    let now = 1_000_000;
    const ecr = fakeEcr(() => now);
    const auth = new RegistryAuth(ecr.client, '127.0.0.1:8450', () => now);
    const first = await auth.headerFor('127.0.0.1:8450/app:v1');
    now += 11 * HOUR;
    assert.equal(await auth.headerFor('127.0.0.1:8450/other:v2'), first);
    assert.equal(ecr.calls.length, 1);
    now += 50 * 60 * 1000;
    assert.notEqual(await auth.headerFor('127.0.0.1:8450/app:v1'), first);
    assert.equal(ecr.calls.length, 2);
  });
});
