/**
 * The Wharf server's HTTP front: every AWS-compatible API on one port (awsJson by X-Amz-Target,
 * awsQuery by the SigV4 credential scope of a form POST), the image
 * registry under /v2/, the agent gateway (WebSocket upgrade), and an unauthenticated /health
 * probe. Its state is the store it is given, plus the registry's blobs on disk.
 */
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import type { DomainContext } from '../domain/index.js';
import { STOPPED_TASK_RETENTION_MS, markAllAgentsDisconnected, restoreTaskIndexes } from '../domain/index.js';
import {
  AlarmController, AutoscalingController, EcsMetricsController, LoadBalancerController, ServiceController, TaskRetentionController, metricStoreSource,
  type MetricSource,
} from '../controllers/index.js';
import type { AccountScope } from '../model/index.js';
import type { Store } from '../store/index.js';
import type { Credentials } from '../sigv4/index.js';
import { join } from 'node:path';
import { InvalidParameterException, ValidationException, WharfError } from '../model/index.js';
import { DiskBlobStore, RegistryMaintenance, RegistryTokens, createRegistryHandler, isRegistryRequest } from '../registry/index.js';
import { DEFAULT_RETENTION_TIERS, MetricStore } from '../metrics/index.js';
import { AgentGateway } from './agent-gateway/index.js';
import { autoscalingHandlers } from './autoscaling/handlers.js';
import { cloudWatchHandlers } from './cloudwatch/handlers.js';
import { ecrHandlers } from './ecr/handlers.js';
import { ecsHandlers } from './ecs/handlers.js';
import { elbv2Handlers } from './elbv2/index.js';
import { logsHandlers } from './logs/handlers.js';
import { LogStore, RetentionSweeper } from '../logs/index.js';
import {
  createJsonProtocolHandler, createQueryProtocolHandler, createRpcV2CborHandler, isJsonProtocolRequest, isQueryProtocolRequest, isRpcV2CborRequest,
  type JsonService,
} from './protocol/index.js';
import { prometheusText } from './prometheus.js';
import { applicationAutoscalingModel, cloudwatchModel, ecrModel, ecsModel, elbv2Model, logsModel } from './validation/index.js';

/** A stopped task goes at most this long after its retention ends; a sweep is a cheap scan. */
const TASK_RETENTION_SWEEP_MS = 60_000;
/** ECS counts a service task without health checks as healthy 40 s after it reaches RUNNING. */
export const TASK_READY_DELAY_MS = 40_000;
/** How long an instance's agent may be gone before its service tasks are replaced elsewhere. */
export const INSTANCE_LOSS_GRACE_MS = 15_000;
/** Services are synced on every relevant change; this periodic pass only catches what slipped. */
const SERVICE_RESYNC_MS = 30_000;
/** Services synced at once; placements of different services race only through compare-and-swap. */
const SERVICE_SYNC_CONCURRENCY = 4;
/** Target health is read from the load balancers' HAProxies this often (ELB's fastest check interval is 5 s). */
const LOAD_BALANCER_HEALTH_POLL_MS = 1000;
/** A load balancer whose HAProxy refused to start or to reload is tried again after this. */
const LOAD_BALANCER_RETRY_MS = 10_000;
/** CloudWatch's period for ECS metrics; Application Auto Scaling evaluates its alarms once per period. */
export const AUTOSCALING_PERIOD_MS = 60_000;
/** Slack after a period's samples are due in the metric store before autoscaling reads it. */
const AUTOSCALING_SETTLE_MARGIN_MS = 500;
/** Agents sample every 20 s (ECS's collection interval); their samples are published per such round. */
export const ECS_METRICS_ROUND_MS = 20_000;
/** A round is published this long after it ends, so every agent's sample of it is in. */
const ECS_METRICS_ROUND_GRACE_MS = 2_000;
const ECS_METRICS_PASS_MS = 5_000;
/** 100 agents x 100 tasks x 45 rounds: what 15 minutes of failing passes may hold. */
const ECS_METRICS_MAX_BUFFERED = 450_000;
/** Every alarm is evaluated this often; CloudWatch evaluates each minute, 10 s serves high-resolution periods too. */
const ALARM_EVALUATION_MS = 10_000;
/** Registry housekeeping: abandoned uploads, lifecycle policies, garbage. ECR evaluates policies within 24 h. */
const REGISTRY_SWEEP_MS = 10 * 60_000;
/** An upload session with no bytes for this long is abandoned (docker retries a push from scratch). */
const UPLOAD_IDLE_TIMEOUT_MS = 60 * 60_000;
/** Blobs and layer links younger than this are never collected: a push may still be writing its manifest. */
const REGISTRY_GC_GRACE_MS = 60 * 60_000;
/** Log retention is enforced within this long of an event's expiry (CloudWatch deletes within days). */
const LOG_RETENTION_SWEEP_MS = 10 * 60_000;
/**
 * PutLogEvents carries up to 1 MiB of messages, counted before JSON escaping: a batch of control
 * characters escapes to six bytes each, plus about 45 bytes of JSON per event.
 */
const LOGS_MAX_BODY_BYTES = 7 * 1024 * 1024;
/** Longest a single request may take to arrive: a multi-gigabyte layer in one PATCH over a slow link. */
const REGISTRY_REQUEST_TIMEOUT_MS = 60 * 60_000;

export interface WharfServerOptions {
  store: Store;
  scope: AccountScope;
  credentials: Credentials;
  host: string;
  /** 0 picks a free port. */
  port: number;
  /** The registry's directory (blobs, upload sessions, token secret); `<dataDir>/registry`. */
  registryDir: string;
  /**
   * The host docker uses to reach this server's registry (repositoryUri, proxyEndpoint). Default:
   * the listen host, or 127.0.0.1 when listening on every address.
   */
  advertiseHost?: string;
  /** CloudWatch Logs' database file (`<dataDir>/logs.db`); in memory when absent. */
  logsPath?: string;
  /** How often the log retention sweep runs; the default above unless a test shortens it. */
  logRetentionSweepMs?: number;
  /** Registry housekeeping timings; the defaults above unless a test shortens them. */
  registryTimings?: { sweepIntervalMs?: number; uploadIdleTimeoutMs?: number; graceMs?: number };
  /**
   * The load balancers' data plane: HAProxy files go under `dir` (`<dataDir>/lb`), listeners bind
   * `bindAddress`. Without it no load balancer is served.
   */
  loadBalancers?: { dir: string; bindAddress: string; threads?: number };
  /** Largest request body accepted; ECS's own limit on a task definition is 64 KiB. */
  maxBodyBytes: number;
  heartbeatIntervalMs: number;
  log: (entry: Record<string, unknown>) => void;
  /** One log line per API request. */
  logRequests?: boolean;
  /** How long STOPPED tasks stay describable (ECS: at least 1 hour). */
  stoppedTaskRetentionMs?: number;
  /** A running service task without health checks counts as healthy after this (ECS: 40 s). */
  taskReadyDelayMs?: number;
  /** How long an agent may be gone before its instance's service tasks are replaced. */
  instanceLossGraceMs?: number;
  /** Where the metric store snapshots its series (`<dataDir>/metrics/snapshot.json`); none keeps them in memory only. */
  metricsSnapshotPath?: string;
  /** The agents' sampling interval, which ECS metric rounds follow (default 20 s, as the agent's default). */
  ecsMetricsRoundMs?: number;
  nowMs?: () => number;
  /**
   * The metric period Application Auto Scaling evaluates on (CloudWatch: 60 s); a test or a small
   * installation may shorten it.
   */
  autoscalingPeriodMs?: number;
  /** How long after a period closes autoscaling reads it; by default once the ECS metrics of that period are published. */
  autoscalingSettleMs?: number;
  /** Periods above the target before target tracking scales out (Wharf's default 1; Application Auto Scaling's 3). */
  scaleOutDatapoints?: number;
  /** Metric values for target tracking and step scaling; the server's own metric store unless a test gives another. */
  metricSource?: MetricSource;
}

export class WharfServer {
  readonly #options: WharfServerOptions;
  readonly #http: Server;
  readonly #gateway: AgentGateway;
  readonly #ctx: DomainContext;
  readonly #taskRetention: TaskRetentionController;
  readonly #services: ServiceController;
  readonly #loadBalancers: LoadBalancerController | undefined;
  readonly #autoscaling: AutoscalingController;
  readonly #blobs: DiskBlobStore;
  readonly #registryMaintenance: RegistryMaintenance;
  readonly #logs: LogStore;
  readonly #logRetention: RetentionSweeper;
  readonly #metrics: MetricStore;
  readonly #ecsMetrics: EcsMetricsController;
  readonly #alarms: AlarmController;
  #registryAddress = '';
  #advertiseHost = '';

  constructor(options: WharfServerOptions) {
    this.#options = options;
    const { store, scope, credentials, log } = options;
    this.#ctx = {
      store, scope, log,
      nowMs: options.nowMs ?? Date.now,
      principalArn: `arn:${scope.partition}:iam::${scope.accountId}:root`,
    };
    const autoscalingPeriodMs = options.autoscalingPeriodMs ?? AUTOSCALING_PERIOD_MS;
    this.#metrics = new MetricStore({
      nowMs: this.#ctx.nowMs,
      // Autoscaling reads one datapoint per period: a period under a minute needs a tier that fine.
      ...(autoscalingPeriodMs < 60_000
        ? { tiers: [{ resolutionSeconds: autoscalingPeriodMs / 1000, retentionSeconds: 6 * 3600 }, ...DEFAULT_RETENTION_TIERS] }
        : {}),
      ...(options.metricsSnapshotPath !== undefined ? { snapshotPath: options.metricsSnapshotPath } : {}),
    });
    const lookupSecret = (accessKeyId: string) => (accessKeyId === credentials.accessKeyId ? credentials.secretAccessKey : undefined);
    this.#blobs = new DiskBlobStore(options.registryDir, this.#ctx.nowMs);
    const tokens = new RegistryTokens(RegistryTokens.loadOrCreateSecret(join(options.registryDir, 'token-secret')), this.#ctx.nowMs);
    const registry = createRegistryHandler({ ctx: this.#ctx, blobs: this.#blobs, tokens });
    const timings = options.registryTimings ?? {};
    this.#registryMaintenance = new RegistryMaintenance({
      ctx: this.#ctx, blobs: this.#blobs,
      sweepIntervalMs: timings.sweepIntervalMs ?? REGISTRY_SWEEP_MS,
      uploadIdleTimeoutMs: timings.uploadIdleTimeoutMs ?? UPLOAD_IDLE_TIMEOUT_MS,
      graceMs: timings.graceMs ?? REGISTRY_GC_GRACE_MS,
    });
    this.#logs = new LogStore({ path: options.logsPath ?? ':memory:', scope, nowMs: this.#ctx.nowMs });
    this.#logRetention = new RetentionSweeper({ store: this.#logs, intervalMs: options.logRetentionSweepMs ?? LOG_RETENTION_SWEEP_MS, log });
    // CloudWatch speaks three protocols (awsQuery, awsJson 1.0, RPC v2 CBOR) over one handler map.
    const cloudWatchOperations = cloudWatchHandlers({ ctx: this.#ctx, metrics: this.#metrics });
    const cloudWatch: JsonService = {
      targetPrefix: 'GraniteServiceVersion20100801',
      signingName: 'monitoring',
      model: cloudwatchModel,
      handlers: cloudWatchOperations,
      jsonVersion: '1.0',
      awsQueryCompatible: true,
      missingMembersError: (message) => new WharfError('MissingParameter', message),
      invalidInputError: (message) => new WharfError('ValidationError', message),
    };
    const cbor = createRpcV2CborHandler({
      services: [cloudWatch], lookupSecret, maxBodyBytes: options.maxBodyBytes, logger: log, logRequests: options.logRequests ?? false,
    });
    const json = createJsonProtocolHandler({
      services: [cloudWatch, {
        targetPrefix: 'AmazonEC2ContainerServiceV20141113',
        signingName: 'ecs',
        model: ecsModel,
        handlers: ecsHandlers(this.#ctx),
      }, {
        targetPrefix: 'AmazonEC2ContainerRegistry_V20150921',
        signingName: 'ecr',
        model: ecrModel,
        handlers: ecrHandlers({ ctx: this.#ctx, tokens, registryAddress: () => this.#registryAddress }),
        missingMembersError: (message) => new InvalidParameterException(message),
      }, {
        targetPrefix: 'Logs_20140328',
        signingName: 'logs',
        model: logsModel,
        handlers: logsHandlers(this.#logs),
        missingMembersError: (message) => new InvalidParameterException(message),
        maxBodyBytes: LOGS_MAX_BODY_BYTES,
      }, {
        targetPrefix: 'AnyScaleFrontendService',
        signingName: 'application-autoscaling',
        model: applicationAutoscalingModel,
        handlers: autoscalingHandlers(this.#ctx),
        missingMembersError: (message) => new ValidationException(message),
        invalidInputError: (message) => new ValidationException(message),
      }],
      lookupSecret,
      maxBodyBytes: options.maxBodyBytes,
      logger: log,
      logRequests: options.logRequests ?? false,
    });
    // awsQuery services are told apart by the service in the request's SigV4 credential scope.
    const query = createQueryProtocolHandler({
      services: [{
        signingName: 'elasticloadbalancing',
        model: elbv2Model,
        handlers: elbv2Handlers({ ctx: this.#ctx, advertiseHost: () => this.#advertiseHost }),
      }, {
        signingName: 'monitoring',
        model: cloudwatchModel,
        handlers: cloudWatchOperations,
      }],
      lookupSecret,
      maxBodyBytes: options.maxBodyBytes,
      logger: log,
      logRequests: options.logRequests ?? false,
    });
    this.#taskRetention = new TaskRetentionController({
      ctx: this.#ctx,
      retentionMs: options.stoppedTaskRetentionMs ?? STOPPED_TASK_RETENTION_MS,
      sweepIntervalMs: TASK_RETENTION_SWEEP_MS,
    });
    this.#services = new ServiceController({
      ctx: this.#ctx,
      taskReadyDelayMs: options.taskReadyDelayMs ?? TASK_READY_DELAY_MS,
      instanceLossGraceMs: options.instanceLossGraceMs ?? INSTANCE_LOSS_GRACE_MS,
      resyncIntervalMs: SERVICE_RESYNC_MS,
      concurrency: SERVICE_SYNC_CONCURRENCY,
    });
    if (options.loadBalancers) {
      this.#loadBalancers = new LoadBalancerController({
        ctx: this.#ctx, dataDir: options.loadBalancers.dir, bindAddress: options.loadBalancers.bindAddress,
        ...(options.loadBalancers.threads ? { threads: options.loadBalancers.threads } : {}),
        healthPollIntervalMs: LOAD_BALANCER_HEALTH_POLL_MS, retryFailedMs: LOAD_BALANCER_RETRY_MS,
        // Request metrics per ECS metrics round, so autoscaling finds them settled when it finds the ECS ones.
        metrics: { store: this.#metrics, roundMs: options.ecsMetricsRoundMs ?? ECS_METRICS_ROUND_MS },
      });
    }
    this.#autoscaling = new AutoscalingController({
      ctx: this.#ctx,
      periodMs: autoscalingPeriodMs,
      // A period's last sampling round is in the store once its grace and the next metrics pass are over.
      settleMs: options.autoscalingSettleMs ??
        ECS_METRICS_ROUND_GRACE_MS + Math.min(ECS_METRICS_PASS_MS, options.ecsMetricsRoundMs ?? ECS_METRICS_ROUND_MS) + AUTOSCALING_SETTLE_MARGIN_MS,
      metrics: options.metricSource ?? metricStoreSource(this.#metrics),
      ...(options.scaleOutDatapoints !== undefined ? { scaleOutDatapoints: options.scaleOutDatapoints } : {}),
    });
    this.#ecsMetrics = new EcsMetricsController({
      ctx: this.#ctx, metrics: this.#metrics,
      roundMs: options.ecsMetricsRoundMs ?? ECS_METRICS_ROUND_MS, roundGraceMs: ECS_METRICS_ROUND_GRACE_MS,
      passIntervalMs: Math.min(ECS_METRICS_PASS_MS, options.ecsMetricsRoundMs ?? ECS_METRICS_ROUND_MS), maxBufferedSamples: ECS_METRICS_MAX_BUFFERED,
    });
    this.#alarms = new AlarmController({ ctx: this.#ctx, metrics: this.#metrics, evaluationIntervalMs: ALARM_EVALUATION_MS });
    this.#gateway = new AgentGateway({
      ctx: this.#ctx, lookupSecret, heartbeatIntervalMs: options.heartbeatIntervalMs,
      onTelemetry: (instanceArn, report) => this.#ecsMetrics.receive(instanceArn, report),
    });
    // Node's default requestTimeout (5 minutes for a whole request) would cut a large layer's push
    // on a slow link. headersTimeout still bounds a client that never finishes its headers.
    this.#http = createServer({ keepAliveTimeout: 65_000, requestTimeout: REGISTRY_REQUEST_TIMEOUT_MS }, (req, res) => {
      if (isJsonProtocolRequest(req)) return json(req, res);
      if (isQueryProtocolRequest(req)) return query(req, res);
      if (isRpcV2CborRequest(req)) return cbor(req, res);
      if (req.method === 'GET' && (req.url === '/metrics' || req.url?.startsWith('/metrics?'))) {
        res.writeHead(200, { 'Content-Type': 'text/plain; version=0.0.4; charset=utf-8' }).end(prometheusText(this.#metrics, this.#ctx.nowMs()));
        return;
      }
      if (isRegistryRequest(req)) return registry(req, res);
      route(req, res);
    });
    this.#http.on('upgrade', (req, socket, head) => {
      if (AgentGateway.matches(req)) return this.#gateway.handleUpgrade(req, socket, head);
      socket.end('HTTP/1.1 404 Not Found\r\nConnection: close\r\n\r\n');
    });
    this.#http.on('clientError', (_err, socket) => {
      if (socket.writable) socket.end('HTTP/1.1 400 Bad Request\r\nConnection: close\r\n\r\n');
    });
  }

  /** Listens; answers the base URL. No agent has a session yet, so every instance starts disconnected. */
  async start(): Promise<string> {
    await markAllAgentsDisconnected(this.#ctx);
    await restoreTaskIndexes(this.#ctx);
    await this.#blobs.init();
    this.#metrics.start();
    this.#ecsMetrics.start();
    this.#alarms.start();
    this.#taskRetention.start();
    this.#services.start();
    this.#loadBalancers?.start();
    this.#autoscaling.start();
    this.#registryMaintenance.start();
    this.#logRetention.start();
    await new Promise<void>((resolve, reject) => {
      this.#http.once('error', reject);
      this.#http.listen(this.#options.port, this.#options.host, () => resolve());
    });
    const { port } = this.#http.address() as AddressInfo;
    const host = this.#options.host === '0.0.0.0' ? '127.0.0.1' : this.#options.host;
    this.#advertiseHost = this.#options.advertiseHost ?? host;
    this.#registryAddress = `${this.#advertiseHost}:${port}`;
    this.#options.log({ msg: 'server listening', host: this.#options.host, port, registry: this.#registryAddress });
    return `http://${host}:${port}`;
  }

  /** One autoscaling pass over every scalable target now (what its period timer runs). */
  evaluateAutoscaling(): Promise<void> {
    return this.#autoscaling.evaluateAll();
  }

  /** The metric store CloudWatch, alarms, scaling and /metrics read. */
  get metrics(): MetricStore {
    return this.#metrics;
  }

  /** One alarm evaluation pass now (what its timer runs). */
  evaluateAlarms() {
    return this.#alarms.pass();
  }

  /** One ECS metrics pass now (what its timer runs). */
  publishEcsMetrics() {
    return this.#ecsMetrics.pass();
  }

  /** One registry housekeeping sweep now (what its timer runs). */
  sweepRegistry() {
    return this.#registryMaintenance.sweep();
  }

  /** One log retention sweep now (what its timer runs); answers the number of events deleted. */
  sweepLogRetention(): number {
    return this.#logRetention.sweep();
  }

  /** Stops accepting, closes agent sessions and idle connections, and stops the load balancers' HAProxies. */
  async close(): Promise<void> {
    this.#gateway.close();
    await this.#taskRetention.close();
    await this.#services.close();
    await this.#loadBalancers?.close();
    await this.#autoscaling.close();
    await this.#registryMaintenance.close();
    await this.#ecsMetrics.close();
    await this.#alarms.close();
    this.#metrics.close();
    this.#http.closeIdleConnections();
    await new Promise<void>((resolve) => this.#http.close(() => resolve()));
    this.#logRetention.close();
    this.#logs.close();
  }
}

function route(req: IncomingMessage, res: ServerResponse): void {
  if (req.method === 'GET' && req.url === '/health') {
    res.writeHead(200, { 'Content-Type': 'application/json' }).end('{"status":"ok"}');
    return;
  }
  const body = JSON.stringify({ __type: 'UnknownOperationException', message: `No operation at ${req.method} ${req.url}.` });
  res.writeHead(404, { 'Content-Type': 'application/x-amz-json-1.1', 'x-amzn-ErrorType': 'UnknownOperationException' }).end(body);
}
