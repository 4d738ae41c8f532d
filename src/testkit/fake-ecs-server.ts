/**
 * Plays the Wharf server for agent tests: RegisterContainerInstance over awsJson1_1 and the agent
 * gateway WebSocket, both SigV4-verified. It only records and answers; tests drive it.
 */
import { randomBytes } from 'node:crypto';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { WebSocketServer, type WebSocket } from 'ws';
import type { RegisterContainerInstanceRequest } from '@aws-sdk/client-ecs';
import type { GatewayMessage, TaskManifest, TaskStateReport } from '../model/agent-protocol.js';
import { AGENT_GATEWAY_PATH } from '../model/agent-protocol.js';
import { verifyRequest } from '../sigv4/index.js';

export const TEST_CREDENTIALS = { accessKeyId: 'AKIDWHARFAGENTTEST', secretAccessKey: 'wharf-agent-test-secret' } as const;

export interface GatewayConnection {
  socket: WebSocket;
  query: URLSearchParams;
  headers: http.IncomingHttpHeaders;
}

export class FakeEcsServer {
  url = '';
  readonly registrations: RegisterContainerInstanceRequest[] = [];
  readonly requests: { target: string | undefined; contentType: string | undefined; signedOk: boolean }[] = [];
  readonly reports: TaskStateReport[] = [];
  readonly heartbeats: number[] = [];
  readonly connections: GatewayConnection[] = [];
  /** Fail this many RegisterContainerInstance calls with a 500 first. */
  failRegistrations = 0;
  /** Answer agent heartbeats (a silent server makes the agent redial). */
  answerHeartbeats = true;
  /** Sent on every new gateway connection, as the real server does. */
  manifestOnConnect: (() => TaskManifest | undefined) | undefined;
  private readonly server = http.createServer((req, res) => void this.onRequest(req, res));
  private readonly wss = new WebSocketServer({ noServer: true });
  private readonly listeners = new Set<() => void>();

  async start(): Promise<void> {
    this.server.on('upgrade', (req, socket, head) => {
      const url = new URL(req.url ?? '/', 'http://x');
      const verdict = verifyRequest({ method: 'GET', path: url.pathname, query: url.search.slice(1), headers: req.headers, body: new Uint8Array() },
        (id) => (id === TEST_CREDENTIALS.accessKeyId ? TEST_CREDENTIALS.secretAccessKey : undefined), {});
      if (url.pathname !== AGENT_GATEWAY_PATH || !verdict.ok) {
        socket.end(`HTTP/1.1 ${verdict.ok ? 404 : 403} Forbidden\r\nContent-Length: 0\r\n\r\n`);
        return;
      }
      this.wss.handleUpgrade(req, socket, head, (ws) => this.onConnection({ socket: ws, query: url.searchParams, headers: req.headers }));
    });
    await new Promise<void>((r) => this.server.listen(0, '127.0.0.1', r));
    this.url = `http://127.0.0.1:${(this.server.address() as AddressInfo).port}`;
  }

  /** Sends a manifest on every open connection. */
  sendManifest(m: TaskManifest): void {
    for (const c of this.connections) if (c.socket.readyState === c.socket.OPEN) c.socket.send(JSON.stringify({ type: 'TaskManifest', message: m }));
  }

  /** Drops every gateway connection abruptly. */
  dropConnections(): void {
    for (const c of this.connections) c.socket.terminate();
  }

  get openConnections(): number {
    return this.connections.filter((c) => c.socket.readyState === c.socket.OPEN).length;
  }

  /**
   * Resolves once `pred` holds, or rejects after timeoutMs. Checked after every message the server
   * receives and every 10 ms, since `pred` may also read the client's side.
   */
  waitUntil(pred: () => boolean, what: string, timeoutMs = 5_000): Promise<void> {
    if (pred()) return Promise.resolve();
    return new Promise((resolve, reject) => {
      const check = () => {
        if (!pred()) return;
        this.listeners.delete(check);
        clearTimeout(t);
        clearInterval(poll);
        resolve();
      };
      const poll = setInterval(check, 10);
      const t = setTimeout(() => {
        this.listeners.delete(check);
        clearInterval(poll);
        reject(new Error(`timed out waiting for ${what}`));
      }, timeoutMs);
      this.listeners.add(check);
    });
  }

  /** The newest report of a task. */
  latest(taskArn: string): TaskStateReport | undefined {
    return this.reports.filter((r) => r.taskArn === taskArn).at(-1);
  }

  async close(): Promise<void> {
    for (const c of this.connections) c.socket.terminate();
    this.wss.close();
    this.server.closeAllConnections();
    await new Promise<void>((r) => this.server.close(() => r()));
  }

  private notify(): void {
    for (const l of [...this.listeners]) l();
  }

  private onConnection(c: GatewayConnection): void {
    this.connections.push(c);
    c.socket.on('message', (data) => {
      const msg = JSON.parse(String(data)) as GatewayMessage;
      if (msg.type === 'TaskStateReport') this.reports.push(msg.message);
      if (msg.type === 'Heartbeat') {
        this.heartbeats.push(Date.now());
        if (this.answerHeartbeats) c.socket.send(JSON.stringify({ type: 'Heartbeat', message: { sentAt: new Date().toISOString() } }));
      }
      this.notify();
    });
    const m = this.manifestOnConnect?.();
    if (m) c.socket.send(JSON.stringify({ type: 'TaskManifest', message: m }));
    this.notify();
  }

  private async onRequest(req: http.IncomingMessage, res: http.ServerResponse): Promise<void> {
    const chunks: Buffer[] = [];
    for await (const c of req) chunks.push(c as Buffer);
    const body = Buffer.concat(chunks);
    const url = new URL(req.url ?? '/', 'http://x');
    const verdict = verifyRequest({ method: req.method ?? 'GET', path: url.pathname, query: url.search.slice(1), headers: req.headers, body },
      (id) => (id === TEST_CREDENTIALS.accessKeyId ? TEST_CREDENTIALS.secretAccessKey : undefined), {});
    const target = req.headers['x-amz-target'] as string | undefined;
    this.requests.push({ target, contentType: req.headers['content-type'], signedOk: verdict.ok });
    const answer = (status: number, obj: unknown) => {
      res.writeHead(status, { 'content-type': 'application/x-amz-json-1.1' });
      res.end(JSON.stringify(obj));
      this.notify();
    };
    if (!verdict.ok) return answer(verdict.httpStatus, { __type: verdict.code, message: verdict.message });
    if (target === 'AmazonEC2ContainerServiceV20141113.Echo') return answer(200, JSON.parse(body.toString() || '{}'));
    if (target === 'AmazonEC2ContainerServiceV20141113.Fail') {
      const { status, type } = JSON.parse(body.toString()) as { status: number; type: string };
      return answer(status, { __type: type, message: 'failed on purpose' });
    }
    if (target !== 'AmazonEC2ContainerServiceV20141113.RegisterContainerInstance') return answer(400, { __type: 'UnknownOperationException' });
    if (this.failRegistrations > 0) {
      this.failRegistrations--;
      return answer(500, { __type: 'ServerException', message: 'try again' });
    }
    const input = JSON.parse(body.toString()) as RegisterContainerInstanceRequest;
    this.registrations.push(input);
    const arn = input.containerInstanceArn ?? `arn:aws:ecs:us-east-1:000000000000:container-instance/${input.cluster ?? 'default'}/${randomBytes(16).toString('hex')}`;
    answer(200, { containerInstance: { containerInstanceArn: arn, status: 'ACTIVE', agentConnected: false } });
  }
}
