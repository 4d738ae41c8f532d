/**
 * A minimal Docker Engine API client over node:http, on a unix socket or TCP. Every call carries a
 * timeout and an AbortSignal. Paths are unversioned so the engine answers with its own API version;
 * every field used here has been stable since API 1.25.
 */
import http from 'node:http';
import { StringDecoder } from 'node:string_decoder';
import { TIMEOUTS, withTimeout } from './timeouts.js';

/** Where the engine listens: DOCKER_HOST syntax (`unix:///path`, `tcp://host:port`, `http://...`). */
export function parseDockerHost(dockerHost: string | undefined): { socketPath: string } | { host: string; port: number } {
  const value = dockerHost && dockerHost.length > 0 ? dockerHost : 'unix:///var/run/docker.sock';
  if (value.startsWith('unix://')) return { socketPath: value.slice('unix://'.length) };
  if (value.startsWith('/')) return { socketPath: value };
  const m = /^(?:tcp|http):\/\/([^:/]+|\[[^\]]+\]):?(\d+)?\/?$/.exec(value);
  if (!m) throw new Error(`unsupported docker host ${value}: use unix:///path or tcp://host:port`);
  return { host: m[1]!.replace(/^\[|\]$/g, ''), port: m[2] ? Number(m[2]) : 2375 };
}

/** An HTTP-level answer from the engine that was not 2xx: the engine decided, so it is definitive. */
export class DockerHttpError extends Error {
  constructor(readonly statusCode: number, message: string) {
    super(message);
    this.name = 'DockerHttpError';
  }
}

export interface DockerRequest {
  method: 'GET' | 'POST' | 'DELETE' | 'HEAD';
  path: string;
  /** Array values repeat the parameter (e.g. `changes` of an image import). */
  query?: Record<string, string | number | boolean | string[] | undefined>;
  body?: unknown;
  /** Raw request body stream (image import); sent as application/x-tar. */
  stream?: NodeJS.ReadableStream;
  /** Extra request headers (X-Registry-Auth on a pull). */
  headers?: Record<string, string>;
  timeoutMs: number;
  signal?: AbortSignal;
}

export interface DockerResponse {
  statusCode: number;
  body: Buffer;
}

/**
 * The transport. Calls reject with DockerHttpError for a non-2xx answer (message = engine's
 * `message`), and with the underlying error (ECONNREFUSED, AbortError, TimeoutError...) when no
 * answer came, which callers treat as ambiguous.
 */
export class DockerClient {
  private readonly target: { socketPath: string } | { host: string; port: number };
  /** Keep-alive: reusing one socket saves a connect per call on the task start path. */
  private readonly agent: http.Agent;

  /**
   * `maxSockets` bounds concurrent calls (32 by default); a client that holds one long-lived
   * stream per container (log following) must not be bounded, or the 33rd container would wait.
   */
  constructor(dockerHost?: string, options: { maxSockets?: number } = {}) {
    this.target = parseDockerHost(dockerHost ?? process.env.DOCKER_HOST);
    this.agent = new http.Agent({ keepAlive: true, maxSockets: options.maxSockets ?? 32 });
  }

  /** JSON request; resolves with the parsed body (undefined when empty). Accepts 304 as success. */
  async json<T>(req: DockerRequest): Promise<T> {
    const res = await this.request(req);
    if (res.body.length === 0) return undefined as T;
    return JSON.parse(res.body.toString('utf8')) as T;
  }

  /** A buffered request. */
  request(req: DockerRequest): Promise<DockerResponse> {
    return new Promise<DockerResponse>((resolve, reject) => {
      const r = this.open(req, (res) => {
        const chunks: Buffer[] = [];
        res.on('data', (c: Buffer) => chunks.push(c));
        res.on('error', reject);
        res.on('end', () => {
          const body = Buffer.concat(chunks);
          const status = res.statusCode ?? 0;
          if (status >= 200 && status < 300) resolve({ statusCode: status, body });
          else if (status === 304) resolve({ statusCode: status, body: Buffer.alloc(0) });
          else reject(new DockerHttpError(status, engineMessage(body) || `HTTP ${status}`));
        });
      }, reject);
      r.end();
    });
  }

  /**
   * A streaming request: `onLine` gets each JSON object of a newline-delimited JSON stream (events,
   * pull progress). Resolves when the stream ends. The timeout covers the whole exchange unless
   * `streamTimeout` is false, when it only covers receiving the response headers.
   */
  stream(req: DockerRequest & { streamTimeout?: boolean }, onLine: (obj: Record<string, unknown>) => void, onOpen?: () => void): Promise<void> {
    const decoder = new StringDecoder('utf8');
    let pending = '';
    const emit = (line: string) => {
      if (line.length === 0) return;
      try {
        onLine(JSON.parse(line) as Record<string, unknown>);
      } catch {
        // A line that is not JSON carries nothing we act on.
      }
    };
    return this.openStream(req, req.streamTimeout === false, (chunk) => {
      pending += decoder.write(chunk);
      let nl: number;
      while ((nl = pending.indexOf('\n')) >= 0) {
        emit(pending.slice(0, nl).trim());
        pending = pending.slice(nl + 1);
      }
    }, onOpen).then(() => emit((pending + decoder.end()).trim()));
  }

  /**
   * A streaming request whose body is raw bytes (container logs): `onData` gets each chunk as it
   * arrives. Only the response headers are bounded by `timeoutMs`; the stream runs until it ends
   * (resolves) or `signal` aborts or the connection fails (rejects).
   */
  rawStream(req: DockerRequest, onData: (chunk: Buffer) => void): Promise<void> {
    return this.openStream(req, true, onData);
  }

  /** A 2xx response's body chunk by chunk; a non-2xx answer rejects with the engine's message. */
  private openStream(req: DockerRequest, headersOnlyTimeout: boolean, onData: (chunk: Buffer) => void, onOpen?: () => void): Promise<void> {
    return new Promise<void>((resolve, reject) => {
      const r = this.open(req, (res) => {
        const status = res.statusCode ?? 0;
        if (status < 200 || status >= 300) {
          const chunks: Buffer[] = [];
          res.on('data', (c: Buffer) => chunks.push(c));
          res.on('error', reject);
          res.on('end', () => reject(new DockerHttpError(status, engineMessage(Buffer.concat(chunks)) || `HTTP ${status}`)));
          return;
        }
        onOpen?.();
        res.on('data', onData);
        res.on('error', reject);
        res.on('aborted', () => reject(new Error('docker stream aborted')));
        res.on('end', () => resolve());
      }, reject, headersOnlyTimeout);
      if (req.stream) req.stream.pipe(r);
      else r.end();
    });
  }

  /** Frees the keep-alive sockets so the process can exit. */
  close(): void {
    this.agent.destroy();
  }

  private open(
    req: DockerRequest,
    onResponse: (res: http.IncomingMessage) => void,
    onError: (err: unknown) => void,
    headersOnlyTimeout = false,
  ): http.ClientRequest {
    const qs = new URLSearchParams();
    for (const [k, v] of Object.entries(req.query ?? {})) {
      if (Array.isArray(v)) for (const item of v) qs.append(k, item);
      else if (v !== undefined) qs.set(k, String(v));
    }
    const path = qs.size > 0 ? `${req.path}?${qs.toString()}` : req.path;
    const payload = req.body === undefined ? undefined : Buffer.from(JSON.stringify(req.body));
    const headers: Record<string, string | number> = { ...req.headers, host: 'docker' };
    if (payload) {
      headers['content-type'] = 'application/json';
      headers['content-length'] = payload.length;
    } else if (req.stream) {
      headers['content-type'] = 'application/x-tar';
    } else if (req.method === 'POST') {
      headers['content-length'] = 0;
    }
    const timeout = AbortSignal.timeout(req.timeoutMs);
    const signal = headersOnlyTimeout ? req.signal : withTimeout(req.timeoutMs, req.signal);
    let settled = false;
    const r = http.request({ ...this.target, method: req.method, path, headers, agent: this.agent, signal }, (res) => {
      settled = true;
      onResponse(res);
    });
    if (headersOnlyTimeout) {
      // Only the response headers are bounded: an event stream legitimately stays open for days.
      const onTimeout = () => { if (!settled) r.destroy(timeout.reason as Error); };
      timeout.addEventListener('abort', onTimeout, { once: true });
    }
    r.on('error', onError);
    if (payload) r.write(payload);
    return r;
  }
}

function engineMessage(body: Buffer): string {
  const text = body.toString('utf8').trim();
  try {
    const parsed = JSON.parse(text) as { message?: unknown };
    if (typeof parsed.message === 'string') return parsed.message;
  } catch {
    // Older engines answer some errors as plain text.
  }
  return text;
}
