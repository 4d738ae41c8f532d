/**
 * The Wharf server's HTTP front: every AWS-compatible API on one port (by X-Amz-Target), the agent
 * gateway (WebSocket upgrade), and an unauthenticated /health probe. It owns no state of its own:
 * the store it is given holds everything.
 */
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import type { DomainContext } from '../domain/index.js';
import { STOPPED_TASK_RETENTION_MS, markAllAgentsDisconnected } from '../domain/index.js';
import { ServiceController, TaskRetentionController } from '../controllers/index.js';
import type { AccountScope } from '../model/index.js';
import type { Store } from '../store/index.js';
import type { Credentials } from '../sigv4/index.js';
import { AgentGateway } from './agent-gateway/index.js';
import { ecsHandlers } from './ecs/handlers.js';
import { createJsonProtocolHandler, isJsonProtocolRequest } from './protocol/index.js';
import { ecsModel } from './validation/index.js';

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

export interface WharfServerOptions {
  store: Store;
  scope: AccountScope;
  credentials: Credentials;
  host: string;
  /** 0 picks a free port. */
  port: number;
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
  nowMs?: () => number;
}

export class WharfServer {
  readonly #options: WharfServerOptions;
  readonly #http: Server;
  readonly #gateway: AgentGateway;
  readonly #ctx: DomainContext;
  readonly #taskRetention: TaskRetentionController;
  readonly #services: ServiceController;

  constructor(options: WharfServerOptions) {
    this.#options = options;
    const { store, scope, credentials, log } = options;
    this.#ctx = {
      store, scope, log,
      nowMs: options.nowMs ?? Date.now,
      principalArn: `arn:${scope.partition}:iam::${scope.accountId}:root`,
    };
    const lookupSecret = (accessKeyId: string) => (accessKeyId === credentials.accessKeyId ? credentials.secretAccessKey : undefined);
    const json = createJsonProtocolHandler({
      services: [{
        targetPrefix: 'AmazonEC2ContainerServiceV20141113',
        signingName: 'ecs',
        model: ecsModel,
        handlers: ecsHandlers(this.#ctx),
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
    this.#gateway = new AgentGateway({ ctx: this.#ctx, lookupSecret, heartbeatIntervalMs: options.heartbeatIntervalMs });
    this.#http = createServer({ keepAliveTimeout: 65_000 }, (req, res) => {
      if (isJsonProtocolRequest(req)) return json(req, res);
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
    this.#taskRetention.start();
    this.#services.start();
    await new Promise<void>((resolve, reject) => {
      this.#http.once('error', reject);
      this.#http.listen(this.#options.port, this.#options.host, () => resolve());
    });
    const { port } = this.#http.address() as AddressInfo;
    const host = this.#options.host === '0.0.0.0' ? '127.0.0.1' : this.#options.host;
    this.#options.log({ msg: 'server listening', host: this.#options.host, port });
    return `http://${host}:${port}`;
  }

  /** Stops accepting, closes agent sessions and idle connections. */
  async close(): Promise<void> {
    this.#gateway.close();
    await this.#taskRetention.close();
    await this.#services.close();
    this.#http.closeIdleConnections();
    await new Promise<void>((resolve) => this.#http.close(() => resolve()));
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
