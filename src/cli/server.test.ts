import assert from 'node:assert/strict';
import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { it } from 'node:test';
import { runServerCommand, UsageError } from './server.js';
import { runUpCommand } from './up.js';

it('server and up refuse bad timing flags with a usage error naming the flag, before touching the data directory', async () => {
  const root = mkdtempSync(join(tmpdir(), 'wharf-server-flags-'));
  const dataDir = join(root, 'data');
  try {
    const usage = (flags: string[], re: RegExp) =>
      assert.rejects(runServerCommand(['--data-dir', dataDir, ...flags]), (e: unknown) => e instanceof UsageError && re.test(e.message));
    await usage(['--scale-out-datapoints', '0'], /--scale-out-datapoints/);
    await usage(['--scale-out-datapoints', '16'], /--scale-out-datapoints/);
    await usage(['--scale-out-datapoints', '2.5'], /--scale-out-datapoints/);
    await usage(['--autoscaling-period-seconds', '7'], /--autoscaling-period-seconds/);
    await usage(['--ecs-metrics-round-seconds', '0'], /--ecs-metrics-round-seconds/);
    // wharf up checks the same flags before it starts anything, rather than restarting a server that refuses them.
    await assert.rejects(runUpCommand(['--data-dir', dataDir, '--scale-out-datapoints', '0']), (e: unknown) => e instanceof UsageError && /--scale-out-datapoints/.test(e.message));
    assert.equal(existsSync(dataDir), false);
  } finally {
    rmSync(root, { recursive: true, force: true });
  }
});
