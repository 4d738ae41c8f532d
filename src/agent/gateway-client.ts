/**
 * The agent's side of the gateway WebSocket (src/model/agent-protocol.ts): dials with a SigV4-signed
 * upgrade, hands TaskManifests to the agent, sends TaskStateReports, exchanges Heartbeats, and
 * redials with capped exponential backoff. Losing the socket never touches the tasks.
 */
import { createRequire } from 'node:module';
import path from 'node:path';
import type WebSocketType from 'ws';
import type { GatewayMessage, TaskManifest, TaskStateReport, TelemetryReport } from '../model/agent-protocol.js';
import { AGENT_GATEWAY_PATH } from '../model/agent-protocol.js';
import type { Credentials } from '../sigv4/index.js';
import { signRequest } from '../sigv4/index.js';
import { Backoff } from './backoff.js';
import type { Logger } from './log.js';
import { silentLogger } from './log.js';
import { BACKOFF, TIMEOUTS } from './timeouts.js';

/**
 * Only ws's client class: the package index also loads its server, stream wrapper and extension
 * parsers, several MB of idle RSS the agent (target <= 60 MB) does not need. The package's exports
 * map hides lib/, so the file is resolved next to the package entry.
 */
const require = createRequire(import.meta.url);
const WebSocket = require(path.join(path.dirname(require.resolve('ws')), 'lib', 'websocket.js')) as typeof WebSocketType;
type WebSocket = WebSocketType;

/** A side that hears nothing for this many heartbeat intervals closes the socket (protocol rule). */
export const MISSED_HEARTBEATS_BEFORE_CLOSE = 3;

export interface GatewayClientOptions {
  serverUrl: string;
  clusterArn: string;
  containerInstanceArn: string;
  credentials: Credentials;
  region: string;
  heartbeatIntervalMs: number;
  onManifest(manifest: TaskManifest): void;
  /** After each successful (re)connect: the agent re-sends every task's latest report here. */
  onConnected(): void;
  logger?: Logger;
  redialInitialMs?: number;
  redialMaxMs?: number;
}

/** The gateway URL (http/https scheme) with its query, as signed. */
export function gatewayUrl(serverUrl: string, clusterArn: string, containerInstanceArn: string): URL {
  const url = new URL(AGENT_GATEWAY_PATH, serverUrl);
  url.searchParams.set('cluster', clusterArn);
  url.searchParams.set('containerInstance', containerInstanceArn);
  return url;
}

export class GatewayClient {
  private ws: WebSocket | undefined;
  private isOpen = false;
  private closed = false;
  private readonly backoff: Backoff;
  private redialTimer: NodeJS.Timeout | undefined;
  private heartbeatTimer: NodeJS.Timeout | undefined;
  private lastHeardMs = 0;
  private readonly log: Logger;

  constructor(private readonly o: GatewayClientOptions) {
    this.backoff = new Backoff(o.redialInitialMs ?? BACKOFF.gatewayInitialMs, o.redialMaxMs ?? BACKOFF.gatewayMaxMs);
    this.log = o.logger ?? silentLogger;
  }

  /** Dials now and keeps redialing until close(). */
  start(): void {
    this.dial();
  }

  get connected(): boolean {
    return this.isOpen;
  }

  /** Sends one report; false when not connected (the agent re-sends every report on reconnect). */
  sendReport(report: TaskStateReport): boolean {
    return this.send({ type: 'TaskStateReport', message: report });
  }

  /** Sends sampled resource use; false when not connected (the caller keeps it for later). */
  sendTelemetry(report: TelemetryReport): boolean {
    return this.send({ type: 'TelemetryReport', message: report });
  }

  /** Closes the socket normally and stops redialing. */
  async close(): Promise<void> {
    this.closed = true;
    this.stopTimers();
    const ws = this.ws;
    if (!ws || ws.readyState === WebSocket.CLOSED) return;
    await new Promise<void>((resolve) => {
      const t = setTimeout(() => { ws.terminate(); resolve(); }, 2_000);
      ws.once('close', () => { clearTimeout(t); resolve(); });
      if (ws.readyState === WebSocket.CONNECTING) ws.terminate();
      else ws.close(1000, 'agent closing');
    });
  }

  /** Drops the socket at once and stops redialing. */
  destroy(): void {
    this.closed = true;
    this.stopTimers();
    this.ws?.terminate();
  }

  private send(msg: GatewayMessage): boolean {
    if (!this.isOpen || !this.ws) return false;
    this.ws.send(JSON.stringify(msg));
    return true;
  }

  private stopTimers(): void {
    clearTimeout(this.redialTimer);
    clearInterval(this.heartbeatTimer);
    this.redialTimer = undefined;
    this.heartbeatTimer = undefined;
  }

  private dial(): void {
    if (this.closed) return;
    const url = gatewayUrl(this.o.serverUrl, this.o.clusterArn, this.o.containerInstanceArn);
    const headers: Record<string, string> = { host: url.host };
    Object.assign(headers, signRequest({ method: 'GET', url, headers, body: '' }, this.o.credentials, { region: this.o.region, service: 'ecs' }));
    const wsUrl = new URL(url);
    wsUrl.protocol = url.protocol === 'https:' ? 'wss:' : 'ws:';
    // No permessage-deflate: frames are small and zlib contexts cost memory on a small agent.
    const ws = new WebSocket(wsUrl, { headers, handshakeTimeout: TIMEOUTS.gatewayHandshakeMs, perMessageDeflate: false });
    this.ws = ws;

    ws.on('open', () => {
      this.isOpen = true;
      this.backoff.reset();
      this.lastHeardMs = Date.now();
      this.log.info('gateway connected', { containerInstanceArn: this.o.containerInstanceArn });
      this.heartbeatTimer = setInterval(() => this.heartbeat(ws), this.o.heartbeatIntervalMs);
      this.o.onConnected();
    });
    ws.on('message', (data, isBinary) => {
      this.lastHeardMs = Date.now();
      if (isBinary) return;
      let msg: GatewayMessage;
      try {
        msg = JSON.parse(String(data)) as GatewayMessage;
      } catch {
        this.log.warn('gateway sent a frame that is not JSON');
        return;
      }
      if (msg.type === 'TaskManifest' && msg.message && Array.isArray(msg.message.tasks) && typeof msg.message.seqNum === 'number') {
        this.o.onManifest(msg.message);
      }
    });
    ws.on('error', (err) => {
      this.log.warn('gateway connection error', { error: err, containerInstanceArn: this.o.containerInstanceArn });
    });
    ws.on('close', (code) => {
      if (this.ws === ws) this.ws = undefined;
      const wasOpen = this.isOpen;
      this.isOpen = false;
      clearInterval(this.heartbeatTimer);
      this.heartbeatTimer = undefined;
      if (this.closed) return;
      const delay = this.backoff.next();
      this.log.info('gateway disconnected; redialing', { code, wasOpen, delayMs: delay });
      this.redialTimer = setTimeout(() => this.dial(), delay);
    });
  }

  private heartbeat(ws: WebSocket): void {
    if (Date.now() - this.lastHeardMs > MISSED_HEARTBEATS_BEFORE_CLOSE * this.o.heartbeatIntervalMs) {
      this.log.warn('gateway silent for 3 heartbeat intervals; reconnecting');
      ws.terminate();
      return;
    }
    this.send({ type: 'Heartbeat', message: { sentAt: new Date().toISOString(), intervalMs: this.o.heartbeatIntervalMs } });
  }
}
