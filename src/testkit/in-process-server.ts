/**
 * A Wharf server in this process on a loopback port, on an in-memory store, for API tests that need
 * no Docker. `close()` releases everything.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { ECSClient } from '@aws-sdk/client-ecs';
import { WharfServer } from '../api/server.js';
import { SqliteStore } from '../store/index.js';
import type { MetricSource } from '../controllers/index.js';

export const TEST_CREDENTIALS = { accessKeyId: 'AKIATESTTESTTESTTEST', secretAccessKey: 'test-secret-key-0123456789abcdefghijklmn' };
export const TEST_SCOPE = { partition: 'aws', region: 'us-east-1', accountId: '123456789012' };

export interface InProcessServer {
  url: string;
  server: WharfServer;
  /** The registry's directory (removed at close). */
  registryDir: string;
  store: SqliteStore;
  ecs: ECSClient;
  close(): Promise<void>;
}

export async function startInProcessServer(
  options: {
    nowMs?: () => number; taskReadyDelayMs?: number; instanceLossGraceMs?: number; heartbeatIntervalMs?: number;
    autoscalingPeriodMs?: number; autoscalingSettleMs?: number; metricSource?: MetricSource;
    /** Run the load balancers' data plane (HAProxy files in a temp dir, listeners on 127.0.0.1). */
    loadBalancers?: boolean;
    ecsMetricsRoundMs?: number;
    /** Where the server's log entries go; dropped when not given. */
    log?: (entry: Record<string, unknown>) => void;
  } = {},
): Promise<InProcessServer> {
  const store = new SqliteStore({ path: ':memory:' });
  const registryDir = mkdtempSync(join(tmpdir(), 'wharf-registry-'));
  // Inside the registry's temp dir, so it goes with it; kept short for HAProxy's socket paths.
  const loadBalancers = options.loadBalancers ? { dir: join(registryDir, 'lb'), bindAddress: '127.0.0.1', threads: 1 } : undefined;
  const server = new WharfServer({
    registryDir,
    store,
    scope: TEST_SCOPE,
    credentials: TEST_CREDENTIALS,
    host: '127.0.0.1',
    port: 0,
    maxBodyBytes: 1024 * 1024,
    heartbeatIntervalMs: options.heartbeatIntervalMs ?? 1000,
    log: options.log ?? (() => undefined),
    ...(loadBalancers ? { loadBalancers } : {}),
    ...(options.nowMs ? { nowMs: options.nowMs } : {}),
    ...(options.taskReadyDelayMs !== undefined ? { taskReadyDelayMs: options.taskReadyDelayMs } : {}),
    ...(options.instanceLossGraceMs !== undefined ? { instanceLossGraceMs: options.instanceLossGraceMs } : {}),
    ...(options.autoscalingPeriodMs !== undefined ? { autoscalingPeriodMs: options.autoscalingPeriodMs } : {}),
    ...(options.autoscalingSettleMs !== undefined ? { autoscalingSettleMs: options.autoscalingSettleMs } : {}),
    ...(options.metricSource ? { metricSource: options.metricSource } : {}),
    ...(options.ecsMetricsRoundMs !== undefined ? { ecsMetricsRoundMs: options.ecsMetricsRoundMs } : {}),
  });
  const url = await server.start().catch(async (err: unknown) => {
    await store.close();
    rmSync(registryDir, { recursive: true, force: true });
    throw err;
  });
  const ecs = new ECSClient({ endpoint: url, region: 'us-east-1', credentials: TEST_CREDENTIALS, maxAttempts: 1 });
  return {
    url, store, ecs, server, registryDir,
    close: async () => {
      ecs.destroy();
      await server.close();
      await store.close();
      rmSync(registryDir, { recursive: true, force: true });
    },
  };
}
