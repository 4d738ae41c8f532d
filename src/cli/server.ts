/** `wharf server`: the API server on a SQLite state store in the data directory. */
import { mkdirSync } from 'node:fs';
import { homedir } from 'node:os';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { loadOrCreateAdminCredentials } from '../api/credentials.js';
import { WharfServer } from '../api/server.js';
import { SqliteStore } from '../store/index.js';

export const DEFAULT_PORT = 8450;
export const DEFAULT_REGION = 'us-east-1';
/** The account id in every ARN unless configured; twelve digits, as AWS account ids are. */
export const DEFAULT_ACCOUNT_ID = '000000000000';

export const serverFlags = {
  'data-dir': { type: 'string', default: join(homedir(), '.wharf') },
  port: { type: 'string', default: String(DEFAULT_PORT) },
  host: { type: 'string', default: '127.0.0.1' },
  /** The host in repository URIs and `docker login`: what other machines reach this server as. */
  'advertise-host': { type: 'string' },
  region: { type: 'string', default: process.env['WHARF_REGION'] ?? DEFAULT_REGION },
  'account-id': { type: 'string', default: process.env['WHARF_ACCOUNT_ID'] ?? DEFAULT_ACCOUNT_ID },
  'stopped-task-retention-seconds': { type: 'string', default: '3600' },
  'instance-loss-grace-seconds': { type: 'string', default: '15' },
  'task-ready-delay-seconds': { type: 'string', default: '40' },
  /** The address load balancers' listeners bind; the listen host unless given. */
  'lb-bind-address': { type: 'string' },
  /** Application Auto Scaling's metric period (CloudWatch's 60 s); shorter periods divide a minute. */
  'autoscaling-period-seconds': { type: 'string', default: '60' },
  /** The agents' sampling interval (their --stats-sample-interval-ms), which ECS metrics are published by. */
  'ecs-metrics-round-seconds': { type: 'string', default: '20' },
  /** Periods above the target before target tracking scales out: 1, or 3 for Application Auto Scaling's timing. */
  'scale-out-datapoints': { type: 'string', default: '1' },
} as const;

type ServerFlagValues = ReturnType<typeof parseArgs<{ options: typeof serverFlags; strict: true }>>['values'];

/**
 * The server flags' values checked and converted; a bad one is a UsageError naming it. `wharf up`
 * checks them too before it starts anything, so a mistake is reported once rather than restarted.
 */
export function checkServerFlags(values: ServerFlagValues) {
  const port = parsePort(values.port);
  if (!/^\d{12}$/.test(values['account-id'])) throw new UsageError('--account-id must be twelve digits.');
  const retentionSeconds = wholeSeconds(values, 'stopped-task-retention-seconds');
  const instanceLossGraceSeconds = wholeSeconds(values, 'instance-loss-grace-seconds');
  const taskReadyDelaySeconds = wholeSeconds(values, 'task-ready-delay-seconds');
  const autoscalingPeriodSeconds = wholeSeconds(values, 'autoscaling-period-seconds');
  if (autoscalingPeriodSeconds === 0 || (autoscalingPeriodSeconds < 60 ? 60 % autoscalingPeriodSeconds : autoscalingPeriodSeconds % 60) !== 0) {
    throw new UsageError('--autoscaling-period-seconds must divide 60 or be a multiple of 60.');
  }
  const ecsMetricsRoundSeconds = wholeSeconds(values, 'ecs-metrics-round-seconds');
  if (ecsMetricsRoundSeconds === 0) throw new UsageError('--ecs-metrics-round-seconds must be at least 1.');
  const scaleOutDatapoints = Number(values['scale-out-datapoints']);
  if (!/^\d+$/.test(values['scale-out-datapoints']) || scaleOutDatapoints < 1 || scaleOutDatapoints > 15) {
    throw new UsageError('--scale-out-datapoints must be a whole number from 1 to 15.');
  }
  return { port, retentionSeconds, instanceLossGraceSeconds, taskReadyDelaySeconds, autoscalingPeriodSeconds, ecsMetricsRoundSeconds, scaleOutDatapoints };
}

export async function runServerCommand(argv: string[]): Promise<void> {
  const { values } = parseArgs({ args: argv, options: serverFlags, strict: true });
  const dataDir = values['data-dir'];
  const {
    port, retentionSeconds, instanceLossGraceSeconds, taskReadyDelaySeconds, autoscalingPeriodSeconds, ecsMetricsRoundSeconds, scaleOutDatapoints,
  } = checkServerFlags(values);
  mkdirSync(dataDir, { recursive: true });
  const credentials = loadOrCreateAdminCredentials(dataDir, values.region);
  const log = (entry: Record<string, unknown>) => process.stderr.write(JSON.stringify({ time: new Date().toISOString(), component: 'server', ...entry }) + '\n');
  const store = new SqliteStore({ path: join(dataDir, 'state.db') });
  const server = new WharfServer({
    store,
    scope: { partition: 'aws', region: values.region, accountId: values['account-id'] },
    credentials,
    host: values.host,
    port,
    registryDir: join(dataDir, 'registry'),
    loadBalancers: { dir: join(dataDir, 'lb'), bindAddress: values['lb-bind-address'] ?? values.host },
    logsPath: join(dataDir, 'logs.db'),
    metricsSnapshotPath: join(dataDir, 'metrics', 'snapshot.json'),
    ...(values['advertise-host'] ? { advertiseHost: values['advertise-host'] } : {}),
    maxBodyBytes: 1024 * 1024,
    heartbeatIntervalMs: 5000,
    log,
    logRequests: process.env['WHARF_LOG_REQUESTS'] === '1',
    stoppedTaskRetentionMs: retentionSeconds * 1000,
    instanceLossGraceMs: instanceLossGraceSeconds * 1000,
    taskReadyDelayMs: taskReadyDelaySeconds * 1000,
    autoscalingPeriodMs: autoscalingPeriodSeconds * 1000,
    ecsMetricsRoundMs: ecsMetricsRoundSeconds * 1000,
    scaleOutDatapoints,
  });
  const url = await server.start();
  process.stdout.write(`wharf server listening on ${url} (credentials: ${credentials.file})\n`);
  const stop = () => {
    void server.close().then(() => store.close()).then(() => process.exit(0));
  };
  process.once('SIGTERM', stop);
  process.once('SIGINT', stop);
}

function wholeSeconds(values: Record<string, string | undefined>, flag: string): number {
  const seconds = Number(values[flag]);
  if (!Number.isInteger(seconds) || seconds < 0) throw new UsageError(`--${flag} must be a whole number of seconds.`);
  return seconds;
}

function parsePort(text: string): number {
  const port = Number(text);
  if (!Number.isInteger(port) || port < 0 || port > 65535) throw new UsageError(`--port must be 0-65535, not '${text}'.`);
  return port;
}

/** A mistake in the command line: printed without a stack, exit code 2. */
export class UsageError extends Error {
  override name = 'UsageError';
}
