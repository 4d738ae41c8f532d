/**
 * The contract every ContainerRuntime passes: run by docker-runtime.test.ts (real Docker) and
 * testkit/fake-runtime.test.ts (in memory), so the fake the task runner is tested on behaves as
 * the engine does in everything the runner relies on.
 */
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { after, before, describe, it } from 'node:test';
import type { ContainerRuntime, ContainerSpec, ContainerState, RuntimeEvent } from './container-runtime.js';
import { RuntimeError } from './container-runtime.js';

export interface ContractHarness {
  runtime: ContainerRuntime;
  /** A locally present image with busybox's sh, sleep and true. */
  image: string;
  /** Called once after all cases (frees sockets). */
  close?(): Promise<void> | void;
}

/**
 * Registers the contract cases. `setup` resolves undefined when the runtime is not available here;
 * the cases are then skipped with `skipReason`.
 */
export function containerRuntimeContract(name: string, setup: () => Promise<ContractHarness | undefined>, skipReason = 'runtime not available'): void {
  describe(`ContainerRuntime contract: ${name}`, () => {
    let h: ContractHarness | undefined;
    const runId = randomBytes(6).toString('hex');
    const labels = { 'com.wharf.test.run': runId };
    const created = new Set<string>();

    before(async () => { h = await setup(); });
    after(async () => {
      if (!h) return;
      // Remove everything this run created, even when a case failed.
      const left = await h.runtime.list(labels).catch(() => [] as ContainerState[]);
      for (const c of left) await h.runtime.remove(c.id).catch(() => undefined);
      for (const id of created) await h.runtime.remove(id).catch(() => undefined);
      await h.close?.();
    });

    const spec = (over: Partial<ContainerSpec> = {}): ContainerSpec => ({
      name: `wharf-contract-${runId}-${randomBytes(4).toString('hex')}`,
      image: h!.image,
      labels: { ...labels },
      command: ['sleep', '300'],
      env: ['A=1'],
      cpuShares: 2,
      networkMode: 'bridge',
      portMappings: [],
      ulimits: [],
      stopTimeoutSeconds: 1,
      ...over,
    });
    const createTracked = async (s: ContainerSpec) => {
      const id = await h!.runtime.create(s);
      created.add(id);
      return id;
    };
    const waitForState = async (id: string, pred: (s: ContainerState) => boolean, what: string) => {
      for (let i = 0; i < 300; i++) {
        const s = await h!.runtime.inspect(id);
        if (s && pred(s)) return s;
        await new Promise((r) => setTimeout(r, 50));
      }
      throw new Error(`container never reached: ${what}`);
    };
    const test = (title: string, fn: () => Promise<void>): void => {
      it(title, async (t) => {
        if (!h) return t.skip(skipReason);
        await fn();
      });
    };

    test('info reports CPUs, memory and a version', async () => {
      const info = await h!.runtime.info();
      assert.ok(info.ncpu > 0);
      assert.ok(info.memTotalBytes > 0);
      assert.ok(info.serverVersion.length > 0);
    });

    test('prefer-cached uses a present image without pulling', async () => {
      const img = await h!.runtime.ensureImage(h!.image, 'prefer-cached');
      assert.equal(img.pulled, false);
      assert.ok(img.imageId);
    });

    test('a missing image fails with CannotPullContainerError under every behavior', async () => {
      const missing = `wharf-test/does-not-exist-${runId}:1`;
      for (const b of ['default', 'always', 'once', 'prefer-cached'] as const) {
        await assert.rejects(h!.runtime.ensureImage(missing, b), (err: unknown) => err instanceof RuntimeError && err.code === 'CannotPullContainerError');
      }
    });

    test('create, start, inspect, list, stop, remove', async () => {
      const s = spec({ portMappings: [{ containerPort: 8080, protocol: 'tcp' }], labels: { ...labels, 'com.example.app': 'x' } });
      const id = await createTracked(s);
      const createdState = await h!.runtime.inspect(id);
      assert.equal(createdState?.state, 'created');
      assert.equal(createdState?.running, false);
      assert.equal(createdState?.startedAt, undefined);
      await h!.runtime.start(id);
      await h!.runtime.start(id); // starting a running container is a no-op
      const running = await h!.runtime.inspect(id);
      assert.ok(running);
      assert.equal(running.running, true);
      assert.equal(running.name, s.name);
      assert.equal(running.labels['com.example.app'], 'x');
      assert.ok(running.startedAt);
      assert.equal(running.health, undefined);
      const b = running.networkBindings.find((x) => x.containerPort === 8080);
      assert.ok(b && (b.hostPort ?? 0) > 0 && b.protocol === 'tcp');
      assert.equal((await h!.runtime.inspect(s.name))?.id, id);
      const listed = await h!.runtime.list({ ...labels, 'com.example.app': undefined });
      assert.ok(listed.some((c) => c.id === id));
      await h!.runtime.stop(id, 1);
      const stopped = await h!.runtime.inspect(id);
      assert.equal(stopped?.running, false);
      assert.equal(typeof stopped?.exitCode, 'number');
      assert.ok(stopped?.finishedAt);
      await h!.runtime.stop(id, 1); // stopping a stopped container is a no-op
      await h!.runtime.remove(id);
      assert.equal(await h!.runtime.inspect(id), undefined);
      await h!.runtime.remove(id); // removing a missing container is a no-op
    });

    test('reports the exit code of a container that exits on its own, with start and die events', async () => {
      const events: RuntimeEvent[] = [];
      let resynced!: () => void;
      const ready = new Promise<void>((r) => { resynced = r; });
      const sub = h!.runtime.subscribe(labels, (ev) => { events.push(ev); if (ev.type === 'resync') resynced(); });
      try {
        await ready;
        const id = await createTracked(spec({ command: ['sh', '-c', 'exit 3'] }));
        await h!.runtime.start(id);
        const exited = await waitForState(id, (s) => !s.running && s.exitCode !== undefined, 'exited');
        assert.equal(exited.exitCode, 3);
        for (let i = 0; i < 200 && !events.some((e) => e.type === 'container' && e.kind === 'die' && e.containerId === id); i++) {
          await new Promise((r) => setTimeout(r, 25));
        }
        const die = events.find((e) => e.type === 'container' && e.kind === 'die' && e.containerId === id);
        assert.ok(die && die.type === 'container' && die.labels['com.wharf.test.run'] === runId, 'die event with labels');
        assert.ok(events.some((e) => e.type === 'container' && e.kind === 'start' && e.containerId === id));
      } finally {
        sub.close();
      }
    });

    test('runs the health check: healthy for CMD true', async () => {
      const id = await createTracked(spec({ healthCheck: { test: ['CMD', 'true'], intervalMs: 1000, timeoutMs: 2000, retries: 3, startPeriodMs: 0 } }));
      await h!.runtime.start(id);
      const s = await waitForState(id, (x) => x.health === 'healthy', 'healthy');
      assert.equal(s.running, true);
    });

    test('create fails with CannotCreateContainerError for an image that is not present', async () => {
      await assert.rejects(h!.runtime.create(spec({ image: `wharf-test/absent-${runId}:1` })),
        (err: unknown) => err instanceof RuntimeError && err.code === 'CannotCreateContainerError' && !err.ambiguous);
    });

    test('create fails with ContainerNameConflict for a name in use', async () => {
      const s = spec();
      await createTracked(s);
      await assert.rejects(createTracked(s), (err: unknown) => err instanceof RuntimeError && err.code === 'ContainerNameConflict');
    });

    test('start fails with CannotStartContainerError when the executable does not exist', async () => {
      const id = await createTracked(spec({ entryPoint: ['/nonexistent-binary'], command: [] }));
      await assert.rejects(h!.runtime.start(id), (err: unknown) => err instanceof RuntimeError && err.code === 'CannotStartContainerError');
      const s = await h!.runtime.inspect(id);
      assert.equal(s?.running, false);
      assert.equal(s?.startedAt, undefined);
    });

    test('inspect of an unknown container is undefined; stop of one is a no-op', async () => {
      assert.equal(await h!.runtime.inspect(`wharf-absent-${runId}`), undefined);
      await h!.runtime.stop(`wharf-absent-${runId}`, 1);
    });
  });
}
