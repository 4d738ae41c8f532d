/**
 * The server end of the agent channel (protocol in src/model/agent-protocol.ts). One session per
 * container instance: it tells the agent the full list of tasks it should hold whenever that list
 * changes, applies the agent's task state reports in order, and keeps `agentConnected` true only
 * while the socket is alive.
 */
import type { IncomingMessage } from 'node:http';
import type { Duplex } from 'node:stream';
import { WebSocketServer, type WebSocket } from 'ws';
import {
  activeInstanceByArn, agentTaskOf, applyTaskStateReport, setAgentConnected, tasksForInstance,
  type DomainContext, type TaskDefinitionRecord,
} from '../../domain/index.js';
import { AGENT_GATEWAY_PATH, clusterNameOf, type GatewayMessage, type TaskStateReport, type TelemetryReport } from '../../model/index.js';
import { verifyRequest } from '../../sigv4/index.js';

export interface AgentGatewayOptions {
  ctx: DomainContext;
  lookupSecret: (accessKeyId: string) => string | undefined;
  /** How often each side sends a Heartbeat; a session silent for 3 intervals is closed. */
  heartbeatIntervalMs: number;
  /** Receives each agent's sampled task usage (TelemetryReport frames); without it they are dropped. */
  onTelemetry?: (containerInstanceArn: string, report: TelemetryReport) => void;
}

export class AgentGateway {
  readonly #options: AgentGatewayOptions;
  readonly #wss = new WebSocketServer({ noServer: true, maxPayload: 4 * 1024 * 1024 });
  readonly #sessions = new Map<string, AgentSession>();
  /** Task definitions are immutable in what the agent needs, so one cache serves every session. */
  readonly #definitions = new Map<string, TaskDefinitionRecord>();
  readonly #unwatch: (() => void)[];

  constructor(options: AgentGatewayOptions) {
    this.#options = options;
    // One watch for every session: a task or instance write names its instance, so it goes to that
    // one session instead of each session testing every write of its cluster (500 agents made each
    // task write 500 calls).
    const { store } = options.ctx;
    this.#unwatch = [
      store.watch('ecs/tasks/', (event) => {
        if (event.type === 'put') {
          this.#sessions.get((event.value as { containerInstanceArn?: string }).containerInstanceArn ?? '')?.queueManifest();
          return;
        }
        // A deleted task names no instance; its cluster's sessions rebuild (a manifest that did not change is not resent).
        const clusterName = event.key.split('/')[2];
        for (const session of this.#sessions.values()) if (session.clusterName === clusterName) session.queueManifest();
      }),
      store.watch('ecs/instances/', (event) => {
        if (event.type !== 'put') return;
        const instance = event.value as { containerInstanceArn?: string; status?: string };
        if (instance.status === 'INACTIVE') this.#sessions.get(instance.containerInstanceArn ?? '')?.close('container instance deregistered');
      }),
    ];
  }

  /** True when an HTTP upgrade request is for the agent channel. */
  static matches(req: IncomingMessage): boolean {
    return (req.url ?? '').split('?')[0] === AGENT_GATEWAY_PATH;
  }

  /** Authenticates an upgrade request (SigV4, service ecs) and opens a session for its instance. */
  handleUpgrade(req: IncomingMessage, socket: Duplex, head: Buffer): void {
    void this.#accept(req, socket, head).catch((err: unknown) => {
      this.#options.ctx.log({ msg: 'agent gateway upgrade failed', error: String(err) });
      refuse(socket, 500, 'Internal error');
    });
  }

  async #accept(req: IncomingMessage, socket: Duplex, head: Buffer): Promise<void> {
    const [path = '', query = ''] = (req.url ?? '').split('?', 2);
    const verified = verifyRequest(
      { method: req.method ?? 'GET', path, query, headers: req.headers, body: new Uint8Array() },
      this.#options.lookupSecret,
      {},
    );
    if (!verified.ok) return refuse(socket, verified.httpStatus, verified.message);
    const params = new URLSearchParams(query);
    const instanceArn = params.get('containerInstance') ?? '';
    const instance = await activeInstanceByArn(this.#options.ctx, instanceArn);
    const clusterName = clusterNameOf(params.get('cluster') ?? '');
    if (!instance || !instanceArn.includes(`:container-instance/${clusterName}/`)) {
      return refuse(socket, 404, 'Unknown or inactive container instance.');
    }
    this.#wss.handleUpgrade(req, socket, head, (ws) => {
      this.#sessions.get(instanceArn)?.close('replaced by a newer session');
      const session = new AgentSession(ws, instanceArn, clusterName, this.#options, this.#definitions, () => {
        if (this.#sessions.get(instanceArn) === session) this.#sessions.delete(instanceArn);
      });
      this.#sessions.set(instanceArn, session);
      session.start();
    });
  }

  /** Closes every session; agents redial and keep their tasks running meanwhile. */
  close(): void {
    for (const u of this.#unwatch) u();
    for (const s of this.#sessions.values()) s.close('server shutting down');
    this.#wss.close();
  }
}

class AgentSession {
  #lastManifest = '';
  #seqNum = 0;
  #lastHeardAt = Date.now();
  /** The agent's declared heartbeat interval; silence is judged against the longer of the two. */
  #agentIntervalMs = 0;
  #rebuildQueued = false;
  #builds: Promise<void> = Promise.resolve();
  #reports: Promise<unknown> = Promise.resolve();
  #timer: NodeJS.Timeout | undefined;
  #closed = false;

  constructor(
    private readonly ws: WebSocket,
    private readonly instanceArn: string,
    readonly clusterName: string,
    private readonly options: AgentGatewayOptions,
    private readonly definitions: Map<string, TaskDefinitionRecord>,
    private readonly onClosed: () => void,
  ) {}

  start(): void {
    const { ctx, heartbeatIntervalMs } = this.options;
    ctx.log({ msg: 'agent connected', containerInstanceArn: this.instanceArn });
    this.ws.on('message', (data) => this.#onMessage(data.toString()));
    this.ws.on('close', () => this.#teardown());
    this.ws.on('error', () => this.#teardown());
    this.#timer = setInterval(() => {
      if (Date.now() - this.#lastHeardAt > 3 * Math.max(heartbeatIntervalMs, this.#agentIntervalMs)) return this.close('agent heartbeat missed');
      this.#send({ type: 'Heartbeat', message: { sentAt: new Date().toISOString() } });
    }, heartbeatIntervalMs);
    this.#timer.unref();
    void setAgentConnected(ctx, this.instanceArn, true)
      .then(() => this.queueManifest())
      .catch((err: unknown) => ctx.log({ msg: 'agent connect bookkeeping failed', containerInstanceArn: this.instanceArn, error: String(err) }));
  }

  close(reason: string): void {
    if (this.#closed) return;
    this.options.ctx.log({ msg: 'agent session closing', containerInstanceArn: this.instanceArn, reason });
    this.ws.close(1000, reason.slice(0, 120));
    this.#teardown();
  }

  #teardown(): void {
    if (this.#closed) return;
    this.#closed = true;
    clearInterval(this.#timer);
    this.onClosed();
    this.ws.terminate();
    void setAgentConnected(this.options.ctx, this.instanceArn, false).catch(() => undefined);
  }

  #onMessage(text: string): void {
    this.#lastHeardAt = Date.now();
    let frame: GatewayMessage;
    try {
      frame = JSON.parse(text) as GatewayMessage;
    } catch {
      return this.close('malformed frame');
    }
    if (frame.type === 'Heartbeat') {
      if (typeof frame.message?.intervalMs === 'number') this.#agentIntervalMs = frame.message.intervalMs;
      return this.#send({ type: 'HeartbeatAck', message: { sentAt: new Date().toISOString() } });
    }
    if (frame.type === 'TelemetryReport') return this.options.onTelemetry?.(this.instanceArn, frame.message);
    if (frame.type !== 'TaskStateReport') return;
    const report = frame.message as TaskStateReport;
    // Reports are applied one at a time, in the order the agent sent them.
    this.#reports = this.#reports.then(() => applyTaskStateReport(this.options.ctx, this.instanceArn, report)).catch((err: unknown) => {
      this.options.ctx.log({ msg: 'task state report failed', containerInstanceArn: this.instanceArn, taskArn: report.taskArn, error: String(err) });
    });
  }

  /**
   * Sends the manifest again soon, if it changed; the gateway calls it for every write to one of
   * this instance's tasks. A burst of writes coalesces into one build.
   */
  queueManifest(): void {
    if (this.#rebuildQueued || this.#closed) return;
    this.#rebuildQueued = true;
    // Builds run one after another: two overlapping builds could finish out of order and send the
    // older list last, and the agent would stop a task that list does not name yet.
    this.#builds = this.#builds
      .then(() => new Promise<void>((resolve) => setImmediate(resolve)))
      .then(() => {
        this.#rebuildQueued = false;
        return this.#sendManifest();
      })
      .catch((err: unknown) => {
        this.options.ctx.log({ msg: 'manifest build failed', containerInstanceArn: this.instanceArn, error: String(err) });
      });
  }

  async #sendManifest(): Promise<void> {
    const { ctx } = this.options;
    const tasks = await tasksForInstance(ctx, this.clusterName, this.instanceArn);
    const agentTasks = await Promise.all(tasks.map((t) => agentTaskOf(ctx, t, this.definitions)));
    const body = JSON.stringify(agentTasks);
    // Observed-state writes (the agent's own reports) do not change the manifest; skip resending.
    if (body === this.#lastManifest || this.#closed) return;
    this.#lastManifest = body;
    // seqNum only grows, across server restarts too, since it starts from the clock.
    this.#seqNum = Math.max(this.#seqNum + 1, Date.now() * 1000);
    this.#send({ type: 'TaskManifest', message: { seqNum: this.#seqNum, containerInstanceArn: this.instanceArn, tasks: agentTasks } });
  }

  #send(frame: GatewayMessage): void {
    if (this.ws.readyState === this.ws.OPEN) this.ws.send(JSON.stringify(frame));
  }
}

function refuse(socket: Duplex, status: number, message: string): void {
  const body = JSON.stringify({ message });
  socket.end(`HTTP/1.1 ${status} ${status === 404 ? 'Not Found' : status === 403 ? 'Forbidden' : status === 400 ? 'Bad Request' : 'Error'}\r\n` +
    `Content-Type: application/json\r\nContent-Length: ${Buffer.byteLength(body)}\r\nConnection: close\r\n\r\n${body}`);
}
