/**
 * Reading a container's output from the Docker Engine: `GET /containers/{id}/logs` with
 * follow, stdout, stderr and timestamps, and the parsing of what comes back.
 *
 * Without a TTY the engine multiplexes stdout and stderr in frames of an 8-byte header (stream
 * byte, three zero bytes, big-endian payload length) and a payload; with a TTY it sends the raw
 * bytes. Each log entry starts with its RFC 3339 timestamp (nanoseconds, trailing zeros trimmed)
 * and a space.
 */
import type { DockerClient } from './docker-client.js';
import { TIMEOUTS } from './timeouts.js';

/** One line of output: `time` is a sortable key `<seconds>.<9-digit nanoseconds>`, Docker's `since` syntax. */
export interface ContainerLogLine {
  time: string;
  message: string;
}

/** Where the agent reads containers' output from (Docker; a fake in tests). */
export interface ContainerLogSource {
  /**
   * Delivers the container's output from `since` (inclusive; everything when absent), in order,
   * following until the stream ends: resolves true when the container has stopped (its output is
   * complete), false when the stream ended while it runs on (the engine restarted: read again).
   * Rejects when `signal` aborts, and with `ContainerGoneError` when the container does not exist.
   */
  follow(containerId: string, since: string | undefined, onLines: (lines: ContainerLogLine[]) => void, signal: AbortSignal): Promise<boolean>;
}

export class ContainerGoneError extends Error {
  override name = 'ContainerGoneError';
}

/** `2026-01-02T03:04:05.12Z` → `1767323045.120000000`; undefined for anything else. */
export function timeKey(rfc3339: string): string | undefined {
  const m = /^(\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d)(?:\.(\d{1,9}))?(Z|[+-]\d\d:\d\d)$/.exec(rfc3339);
  if (!m) return undefined;
  const seconds = Date.parse(`${m[1]}${m[3]}`) / 1000;
  if (!Number.isFinite(seconds)) return undefined;
  return `${String(seconds).padStart(10, '0')}.${(m[2] ?? '').padEnd(9, '0')}`;
}

/** Milliseconds since the epoch of a time key. */
export function timeKeyMs(key: string): number {
  const dot = key.indexOf('.');
  return Number(key.slice(0, dot)) * 1000 + Math.floor(Number(key.slice(dot + 1, dot + 4)));
}

/**
 * Incremental parser of a logs response body. `push` takes chunks as they arrive and answers the
 * complete lines so far; whether the body is multiplexed is decided from its first bytes.
 */
export class LogStreamParser {
  #pending: Buffer = Buffer.alloc(0);
  #multiplexed: boolean | undefined;

  push(chunk: Buffer): ContainerLogLine[] {
    this.#pending = this.#pending.length === 0 ? chunk : Buffer.concat([this.#pending, chunk]);
    if (this.#multiplexed === undefined) {
      if (this.#pending.length < 4) return [];
      const b = this.#pending;
      this.#multiplexed = b[0]! <= 2 && b[1] === 0 && b[2] === 0 && b[3] === 0;
    }
    return this.#multiplexed ? this.#frames() : this.#rawLines();
  }

  #frames(): ContainerLogLine[] {
    const out: ContainerLogLine[] = [];
    const b = this.#pending;
    let at = 0;
    while (b.length - at >= 8) {
      const size = b.readUInt32BE(at + 4);
      if (b.length - at - 8 < size) break;
      const entry = parseEntry(b.toString('utf8', at + 8, at + 8 + size));
      if (entry) out.push(entry);
      at += 8 + size;
    }
    this.#pending = b.subarray(at);
    return out;
  }

  #rawLines(): ContainerLogLine[] {
    const out: ContainerLogLine[] = [];
    const b = this.#pending;
    let at = 0;
    for (let nl = b.indexOf(10, at); nl >= 0; nl = b.indexOf(10, at)) {
      const entry = parseEntry(b.toString('utf8', at, nl + 1));
      if (entry) out.push(entry);
      at = nl + 1;
    }
    this.#pending = b.subarray(at);
    return out;
  }
}

/** `<timestamp> <message>\n` → a line; the trailing newline (and a TTY's `\r`) is not part of the message. */
function parseEntry(text: string): ContainerLogLine | undefined {
  const space = text.indexOf(' ');
  if (space < 0) return undefined;
  const time = timeKey(text.slice(0, space));
  if (time === undefined) return undefined;
  let end = text.length;
  if (text.charCodeAt(end - 1) === 10) end--;
  if (text.charCodeAt(end - 1) === 13) end--;
  return { time, message: text.slice(space + 1, end) };
}

/** ContainerLogSource on the Docker Engine API. */
export class DockerLogSource implements ContainerLogSource {
  constructor(private readonly docker: DockerClient) {}

  async follow(containerId: string, since: string | undefined, onLines: (lines: ContainerLogLine[]) => void, signal: AbortSignal): Promise<boolean> {
    const parser = new LogStreamParser();
    const path = `/containers/${encodeURIComponent(containerId)}`;
    try {
      await this.docker.rawStream({
        method: 'GET',
        path: `${path}/logs`,
        query: { follow: 1, stdout: 1, stderr: 1, timestamps: 1, ...(since !== undefined ? { since } : {}) },
        timeoutMs: TIMEOUTS.dockerQuickMs,
        signal,
      }, (chunk) => {
        const lines = parser.push(chunk);
        if (lines.length > 0) onLines(lines);
      });
      const state = await this.docker.json<{ State?: { Running?: boolean } }>({ method: 'GET', path: `${path}/json`, timeoutMs: TIMEOUTS.dockerQuickMs, signal });
      return state.State?.Running !== true;
    } catch (err) {
      if ((err as { statusCode?: number }).statusCode === 404) throw new ContainerGoneError(`container ${containerId} does not exist`);
      throw err;
    }
  }
}
