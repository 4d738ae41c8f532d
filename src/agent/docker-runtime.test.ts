import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { ensureTestImage } from '../testkit/test-image.js';
import { containerRuntimeContract } from './container-runtime.contract.js';
import { containerStateOf, dockerCreateBody, DockerRuntime, splitImageReference } from './docker-runtime.js';
import { parseDockerHost } from './docker-client.js';

async function dockerAvailable(): Promise<DockerRuntime | undefined> {
  const rt = new DockerRuntime();
  try {
    await rt.info({ signal: AbortSignal.timeout(3_000) });
    return rt;
  } catch {
    rt.close();
    return undefined;
  }
}

containerRuntimeContract('DockerRuntime', async () => {
  const rt = await dockerAvailable();
  if (!rt) {
    process.stderr.write('# docker-runtime.test: no Docker Engine answers at $DOCKER_HOST or /var/run/docker.sock; contract cases skipped\n');
    return undefined;
  }
  return { runtime: rt, image: await ensureTestImage(), close: () => rt.close() };
}, 'no Docker Engine answers (DOCKER_HOST or /var/run/docker.sock)');

describe('DockerRuntime pure helpers', () => {
  it('splits image references for the pull API', () => {
    assert.deepEqual(splitImageReference('busybox'), { repo: 'busybox', tag: 'latest' });
    assert.deepEqual(splitImageReference('localhost:5000/a/b:1.2'), { repo: 'localhost:5000/a/b', tag: '1.2' });
    assert.deepEqual(splitImageReference('localhost:5000/a/b'), { repo: 'localhost:5000/a/b', tag: 'latest' });
    assert.deepEqual(splitImageReference('a/b@sha256:abc'), { repo: 'a/b', tag: 'sha256:abc' });
  });

  it('parses DOCKER_HOST forms', () => {
    assert.deepEqual(parseDockerHost(undefined), { socketPath: '/var/run/docker.sock' });
    assert.deepEqual(parseDockerHost('unix:///run/d.sock'), { socketPath: '/run/d.sock' });
    assert.deepEqual(parseDockerHost('tcp://10.0.0.1:2376'), { host: '10.0.0.1', port: 2376 });
    assert.throws(() => parseDockerHost('ssh://x'));
  });

  it('builds the create body: dynamic and fixed ports, limits, health check, image health check disabled', () => {
    const base = { name: 'n', image: 'i', labels: { a: 'b' }, env: ['X=1'], cpuShares: 2, ulimits: [{ name: 'nofile', soft: 1, hard: 2 }], stopTimeoutSeconds: 7 };
    const bridge = dockerCreateBody({
      ...base, networkMode: 'bridge', memoryBytes: 64 << 20, memoryReservationBytes: 32 << 20,
      portMappings: [{ containerPort: 80, protocol: 'tcp' }, { containerPort: 53, hostPort: 5353, protocol: 'udp' }],
      healthCheck: { test: ['CMD-SHELL', 'true'], intervalMs: 30_000, timeoutMs: 5_000, retries: 3, startPeriodMs: 0 },
    }) as { HostConfig: Record<string, unknown>; Healthcheck: Record<string, unknown>; ExposedPorts: object; StopTimeout: number };
    assert.deepEqual(bridge.HostConfig.PortBindings, { '80/tcp': [{ HostIp: '', HostPort: '' }], '53/udp': [{ HostIp: '', HostPort: '5353' }] });
    assert.deepEqual(Object.keys(bridge.ExposedPorts), ['80/tcp', '53/udp']);
    assert.equal(bridge.HostConfig.Memory, 64 << 20);
    assert.equal(bridge.HostConfig.MemoryReservation, 32 << 20);
    assert.equal(bridge.HostConfig.CpuShares, 2);
    assert.deepEqual(bridge.HostConfig.Ulimits, [{ Name: 'nofile', Soft: 1, Hard: 2 }]);
    assert.deepEqual(bridge.Healthcheck, { Test: ['CMD-SHELL', 'true'], Interval: 30e9, Timeout: 5e9, Retries: 3, StartPeriod: 0 });
    assert.equal(bridge.StopTimeout, 7);
    const host = dockerCreateBody({ ...base, networkMode: 'host', portMappings: [{ containerPort: 80, hostPort: 80, protocol: 'tcp' }] }) as
      { HostConfig: Record<string, unknown>; Healthcheck: unknown };
    assert.equal(host.HostConfig.NetworkMode, 'host');
    assert.deepEqual(host.HostConfig.PortBindings, {});
    assert.deepEqual(host.Healthcheck, { Test: ['NONE'] });
  });

  it('maps inspect output: bindings, never-started times, health', () => {
    const s = containerStateOf({
      Id: 'x', Name: '/n', Image: 'sha256:i', Config: { Labels: { a: 'b' } },
      State: { Status: 'running', Running: true, ExitCode: 0, StartedAt: '2024-01-01T00:00:00Z', FinishedAt: '0001-01-01T00:00:00Z', Health: { Status: 'starting' } },
      NetworkSettings: { Ports: { '80/tcp': [{ HostIp: '0.0.0.0', HostPort: '49153' }, { HostIp: '::', HostPort: '49153' }], '81/tcp': null } },
    });
    assert.equal(s.name, 'n');
    assert.equal(s.exitCode, undefined);
    assert.equal(s.finishedAt, undefined);
    assert.equal(s.health, 'starting');
    assert.deepEqual(s.networkBindings, [
      { bindIP: '0.0.0.0', containerPort: 80, hostPort: 49153, protocol: 'tcp' },
      { bindIP: '::', containerPort: 80, hostPort: 49153, protocol: 'tcp' },
    ]);
  });
});
