/**
 * `wharf agent`: runs an instance agent until SIGTERM/SIGINT. Stopping the agent leaves every task
 * container running; the next agent started with the same --data-dir re-adopts them.
 */
import { parseArgs } from 'node:util';
import { Agent, AGENT_DEFAULTS } from '../agent/agent.js';
import type { AgentOptions } from '../agent/agent.js';
import { IMAGE_PULL_BEHAVIORS } from '../agent/container-runtime.js';
import { STATS_SOURCE_KINDS } from '../agent/stats-sampler.js';
import type { StatsSourceKind } from '../agent/stats-sampler.js';
import type { ImagePullBehavior } from '../agent/container-runtime.js';
import { loadCredentials } from '../agent/credentials.js';
import { jsonLogger } from '../agent/log.js';
import type { LogLevel } from '../agent/log.js';

export const AGENT_USAGE = `usage: wharf agent --server URL [flags]
  --server URL                 the Wharf server (required)
  --cluster NAME               cluster to join (default ${AGENT_DEFAULTS.cluster})
  --data-dir DIR               agent state (default ~/.wharf/agent)
  --docker-host HOST           unix:///var/run/docker.sock | tcp://host:port (default $DOCKER_HOST)
  --attribute name=value       custom attribute (repeatable)
  --availability-zone AZ       ecs.availability-zone (default ${AGENT_DEFAULTS.availabilityZone})
  --region REGION              SigV4 region (default ${AGENT_DEFAULTS.region})
  --image-pull-behavior B      default | always | once | prefer-cached (default default)
  --heartbeat-interval-ms N    (default ${AGENT_DEFAULTS.heartbeatIntervalMs})
  --stop-timeout-seconds N     default container stopTimeout (default ${AGENT_DEFAULTS.stopTimeoutSeconds})
  --task-cleanup-wait-ms N     remove stopped task containers after N ms (default 3 h)
  --stats-sample-interval-ms N sample task CPU and memory every N ms, 0 = off (default ${AGENT_DEFAULTS.statsSampleIntervalMs})
  --stats-source S             auto | cgroup | docker (default auto: cgroup files, Docker's stats call when absent)
  --credentials-file FILE      AWS shared-credentials file (else AWS_ACCESS_KEY_ID / AWS_SECRET_ACCESS_KEY)
  --profile NAME               profile in the credentials file (default default)
  --log-level L                debug | info | warn | error (default info)
`;

/** A flag value is wrong; the code makes src/bin/wharf.ts answer it as a usage error (exit 2). */
function usageError(message: string): Error {
  return Object.assign(new Error(`${message}\n${AGENT_USAGE}`), { code: 'ERR_PARSE_ARGS_INVALID_OPTION_VALUE' });
}

export interface ParsedAgentArgs {
  options: Omit<AgentOptions, 'credentials'>;
  credentialsFile?: string;
  profile?: string;
  logLevel: LogLevel;
  help: boolean;
}

function positiveInt(name: string, v: string | undefined): number | undefined {
  if (v === undefined) return undefined;
  const n = Number(v);
  if (!Number.isInteger(n) || n < 0) throw usageError(`--${name} must be a non-negative integer, got ${v}`);
  return n;
}

/** Parses the flags (pure; throws a usage error naming the flag). */
export function parseAgentArgs(argv: string[]): ParsedAgentArgs {
  const { values } = parseArgs({
    args: argv,
    strict: true,
    allowPositionals: false,
    options: {
      server: { type: 'string' },
      cluster: { type: 'string' },
      'data-dir': { type: 'string' },
      'docker-host': { type: 'string' },
      attribute: { type: 'string', multiple: true },
      'availability-zone': { type: 'string' },
      region: { type: 'string' },
      'image-pull-behavior': { type: 'string' },
      'heartbeat-interval-ms': { type: 'string' },
      'stop-timeout-seconds': { type: 'string' },
      'task-cleanup-wait-ms': { type: 'string' },
      'stats-sample-interval-ms': { type: 'string' },
      'stats-source': { type: 'string' },
      'credentials-file': { type: 'string' },
      profile: { type: 'string' },
      'log-level': { type: 'string' },
      help: { type: 'boolean', short: 'h' },
    },
  });
  if (values.help) return { options: { serverUrl: '' }, logLevel: 'info', help: true };
  if (!values.server) throw usageError('--server is required');
  try {
    new URL(values.server);
  } catch {
    throw usageError(`--server must be a URL, got ${values.server}`);
  }
  const attributes: Record<string, string> = {};
  for (const a of values.attribute ?? []) {
    const eq = a.indexOf('=');
    if (eq <= 0) throw usageError(`--attribute must be name=value, got ${a}`);
    attributes[a.slice(0, eq)] = a.slice(eq + 1);
  }
  const pull = values['image-pull-behavior'];
  if (pull !== undefined && !(IMAGE_PULL_BEHAVIORS as readonly string[]).includes(pull)) {
    throw usageError(`--image-pull-behavior must be one of ${IMAGE_PULL_BEHAVIORS.join(', ')}, got ${pull}`);
  }
  const logLevel = values['log-level'] ?? 'info';
  if (!['debug', 'info', 'warn', 'error'].includes(logLevel)) throw usageError(`--log-level must be debug, info, warn or error`);
  const heartbeatIntervalMs = positiveInt('heartbeat-interval-ms', values['heartbeat-interval-ms']);
  const stopTimeoutSeconds = positiveInt('stop-timeout-seconds', values['stop-timeout-seconds']);
  const taskCleanupWaitMs = positiveInt('task-cleanup-wait-ms', values['task-cleanup-wait-ms']);
  const statsSampleIntervalMs = positiveInt('stats-sample-interval-ms', values['stats-sample-interval-ms']);
  const statsSource = values['stats-source'];
  if (statsSource !== undefined && !(STATS_SOURCE_KINDS as readonly string[]).includes(statsSource)) {
    throw usageError(`--stats-source must be one of ${STATS_SOURCE_KINDS.join(', ')}, got ${statsSource}`);
  }
  const options: Omit<AgentOptions, 'credentials'> = {
    serverUrl: values.server,
    ...(values.cluster ? { cluster: values.cluster } : {}),
    ...(values['data-dir'] ? { dataDir: values['data-dir'] } : {}),
    ...(values['docker-host'] ? { dockerHost: values['docker-host'] } : {}),
    attributes,
    ...(values['availability-zone'] ? { availabilityZone: values['availability-zone'] } : {}),
    ...(values.region ? { region: values.region } : {}),
    ...(pull ? { imagePullBehavior: pull as ImagePullBehavior } : {}),
    ...(heartbeatIntervalMs !== undefined ? { heartbeatIntervalMs } : {}),
    ...(stopTimeoutSeconds !== undefined ? { stopTimeoutSeconds } : {}),
    ...(taskCleanupWaitMs !== undefined ? { taskCleanupWaitMs } : {}),
    ...(statsSampleIntervalMs !== undefined ? { statsSampleIntervalMs } : {}),
    ...(statsSource !== undefined ? { statsSource: statsSource as StatsSourceKind } : {}),
  };
  return {
    options, logLevel: logLevel as LogLevel, help: false,
    ...(values['credentials-file'] ? { credentialsFile: values['credentials-file'] } : {}),
    ...(values.profile ? { profile: values.profile } : {}),
  };
}

/**
 * Runs the agent until SIGTERM or SIGINT, then drains it (close()) and resolves. A second signal
 * aborts at once. Task containers are never stopped by this.
 */
export async function runAgentCommand(argv: string[]): Promise<void> {
  const parsed = parseAgentArgs(argv);
  if (parsed.help) {
    process.stdout.write(AGENT_USAGE);
    return;
  }
  const credentials = await loadCredentials({
    ...(parsed.credentialsFile ? { credentialsFile: parsed.credentialsFile } : {}),
    ...(parsed.profile ? { profile: parsed.profile } : {}),
  });
  const logger = jsonLogger(parsed.logLevel);
  const agent = new Agent({ ...parsed.options, credentials, logger });
  let stopping: Promise<void> | undefined;
  const stopped = new Promise<void>((resolve) => {
    const onSignal = (signal: NodeJS.Signals) => {
      if (stopping) {
        logger.warn('second signal: aborting', { signal });
        agent.destroy(new Error(`aborted by ${signal}`));
        resolve();
        return;
      }
      logger.info('stopping agent; task containers keep running', { signal });
      stopping = agent.close().finally(resolve);
    };
    process.on('SIGTERM', onSignal);
    process.on('SIGINT', onSignal);
  });
  try {
    await agent.start();
  } catch (err) {
    // A signal during registration aborts start(); that is a clean stop, not a failure.
    if (stopping) {
      await stopped;
      return;
    }
    agent.destroy(err instanceof Error ? err : new Error(String(err)));
    throw err;
  }
  await stopped;
}
