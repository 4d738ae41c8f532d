/**
 * The awslogs driver, done by the agent: containers whose logConfiguration names `awslogs` run
 * with Docker's json-file driver, and the shipper follows each one's output, buffers it on disk
 * (`log-buffer.ts`) and sends it with PutLogEvents to the stream ECS would name.
 *
 * Per container, two loops share one buffer:
 *
 *   read:  Docker logs (follow, since cursor) ──► buffer.append ──► wake ship
 *            stream ends: container stopped ──► finished        container gone ──► finished
 *            failure ──► backoff, read again from the cursor
 *            buffer over maxBufferedBytes unshipped ──► stop reading until shipping halves it,
 *              then read again from the cursor (the lines wait in Docker's own log meanwhile)
 *   ship:  buffer.unshipped ──► batch (CloudWatch limits) ──► in flight ──► PutLogEvents ──► markShipped
 *            ResourceNotFound ──► CreateLogGroup (awslogs-create-group) / CreateLogStream, retry
 *            server unreachable or failing ──► backoff, retry the same batch (order kept)
 *            InvalidParameter (a batch the server can never take) ──► logged, skipped
 *          a batch still in flight (no answer came: a lost connection, an agent killed) ──►
 *            GetLogEvents of the stream's tail: it ends with the batch ──► markShipped, else resend
 *
 * After an agent restart every buffer on disk resumes shipping and reading (from its saved cursor)
 * at once; a buffer whose container is gone is drained and then removed.
 */
import { createHash } from 'node:crypto';
import path from 'node:path';
import type { AgentContainer, AgentTask, TaskStateReport } from '../model/agent-protocol.js';
import { Backoff, sleep } from './backoff.js';
import { ContainerGoneError, timeKeyMs } from './container-logs.js';
import type { ContainerLogSource } from './container-logs.js';
import type { BufferedLine, InFlightBatch, LogTarget } from './log-buffer.js';
import { LogBuffer } from './log-buffer.js';
import type { Logger } from './log.js';

/** CloudWatch's PutLogEvents limits the shipper keeps to. */
export const SHIP_LIMITS = {
  maxBatchEvents: 10_000,
  maxBatchBytes: 1_048_576,
  eventOverheadBytes: 26,
  maxEventBytes: 262_144,
  maxSpanMs: 24 * 3_600_000,
  /** Buffer bytes read per batch: JSON escaping makes a line in the buffer longer than its message. */
  readBytes: 2 * 1_048_576,
} as const;

/**
 * Unshipped bytes a container's buffer may hold before reading pauses: the agent's disk need not
 * hold a second copy of a long outage's output, which Docker's json-file log keeps anyway.
 */
export const MAX_BUFFERED_BYTES = 64 * 1_048_576;

/** Retried PutLogEvents and log reads: the server may be down for a while, the lines wait on disk. */
export const SHIP_BACKOFF = { initialMs: 500, maxMs: 15_000 } as const;

/** The calls the shipper makes (an EcsClient for the Logs service; a fake in tests). */
export interface LogsApi {
  call<T>(operation: string, input: object, opts?: { signal?: AbortSignal }): Promise<T>;
}

/** The awslogs options of a container, or undefined when it does not use awslogs. */
export function awsLogsTarget(task: Pick<AgentTask, 'taskArn'>, c: AgentContainer, containerId: string, defaultRegion: string): LogTarget | undefined {
  const config = c.logConfiguration;
  if (config?.logDriver !== 'awslogs') return undefined;
  const options = config.options ?? {};
  const group = options['awslogs-group'];
  if (!group) return undefined;
  const prefix = options['awslogs-stream-prefix'];
  const taskId = task.taskArn.slice(task.taskArn.lastIndexOf('/') + 1);
  return {
    logGroupName: group,
    // ECS names the stream prefix/container-name/task-id; without a prefix, Docker's container id.
    logStreamName: prefix ? `${prefix}/${c.name}/${taskId}` : containerId,
    createGroup: options['awslogs-create-group'] === 'true',
    region: options['awslogs-region'] ?? defaultRegion,
  };
}

export interface LogShipperOptions {
  /** `<agent data dir>/logs`: one buffer directory per container id. */
  dir: string;
  source: ContainerLogSource;
  /** The Logs API client for a region. */
  api: (region: string) => LogsApi;
  region: string;
  logger: Logger;
  random?: () => number;
  /** Unshipped bytes per buffer before reading pauses (MAX_BUFFERED_BYTES). */
  maxBufferedBytes?: number;
}

export class LogShipper {
  readonly #o: LogShipperOptions;
  readonly #abort = new AbortController();
  readonly #followers = new Map<string, ContainerFollower>();
  /** awslogs containers of the tasks this agent holds, by task ARN. */
  readonly #tasks = new Map<string, AgentTask>();
  #closed = false;

  constructor(options: LogShipperOptions) {
    this.#o = options;
  }

  /**
   * Resumes every buffer left on disk by a previous run: shipping at once, and reading too, from
   * its cursor (a container that is gone meanwhile ends its buffer once drained).
   */
  start(): void {
    for (const dir of LogBuffer.list(this.#o.dir)) {
      const containerId = path.basename(dir);
      if (this.#followers.has(containerId)) continue;
      try {
        this.#add(containerId, LogBuffer.open(dir), true);
      } catch (err) {
        this.#o.logger.error('log buffer unreadable; left on disk', { dir, error: err });
      }
    }
  }

  /** A task this agent holds; its awslogs containers are followed once they have run. */
  watchTask(task: AgentTask): void {
    if (task.containers.some((c) => c.logConfiguration?.logDriver === 'awslogs')) this.#tasks.set(task.taskArn, task);
  }

  /** A task's latest state: follows each awslogs container that has started (or already stopped). */
  onTaskReport(report: TaskStateReport): void {
    if (this.#closed) return;
    const task = this.#tasks.get(report.taskArn);
    if (!task) return;
    for (const c of report.containers) {
      if (!c.runtimeId || (c.lastStatus !== 'RUNNING' && c.lastStatus !== 'STOPPED')) continue;
      const def = task.containers.find((d) => d.name === c.name);
      if (!def) continue;
      const existing = this.#followers.get(c.runtimeId);
      if (existing) {
        existing.read();
        continue;
      }
      const target = awsLogsTarget(task, def, c.runtimeId, this.#o.region);
      if (!target) {
        this.#o.logger.warn('awslogs container without awslogs-group: its output is not shipped', { taskArn: task.taskArn, container: c.name });
        continue;
      }
      this.#add(c.runtimeId, LogBuffer.open(path.join(this.#o.dir, c.runtimeId), target), false);
    }
    if (report.lastStatus === 'STOPPED') this.#tasks.delete(report.taskArn);
  }

  /** The container was removed: its buffer goes once every line is shipped. */
  forgetContainer(containerId: string): void {
    this.#followers.get(containerId)?.containerRemoved();
  }

  /** True when every followed container's lines have reached the server. */
  get idle(): boolean {
    return [...this.#followers.values()].every((f) => f.drained);
  }

  /** Stops reading and shipping; buffers stay on disk for the next start. */
  async close(): Promise<void> {
    this.#closed = true;
    this.#abort.abort(new Error('log shipper closing'));
    await Promise.all([...this.#followers.values()].map((f) => f.close()));
    this.#followers.clear();
  }

  /** `recheck`: a buffer from a previous run, read once even if finished, to learn whether its container is gone. */
  #add(containerId: string, buffer: LogBuffer, recheck: boolean): void {
    const follower = new ContainerFollower(containerId, buffer, this.#o, this.#abort.signal, () => this.#followers.delete(containerId));
    this.#followers.set(containerId, follower);
    follower.ship();
    follower.read(recheck);
  }
}

/** The read and ship loops of one container. */
class ContainerFollower {
  #reading: Promise<void> | undefined;
  #shipping: Promise<void> | undefined;
  #wake: (() => void) | undefined;
  /** Wakes the read loop waiting for room in the buffer. */
  #roomWake: (() => void) | undefined;
  #removed = false;
  #streamReady = false;
  #lastTimestamp = 0;

  constructor(
    readonly containerId: string,
    readonly buffer: LogBuffer,
    readonly o: LogShipperOptions,
    readonly signal: AbortSignal,
    readonly onDone: () => void,
  ) {
    signal.addEventListener('abort', () => this.#poke(), { once: true });
  }

  get drained(): boolean {
    return this.buffer.drained;
  }

  /**
   * Starts the read loop unless it runs or the container's output was read to its end; `recheck`
   * reads once even then, to learn whether the container still exists.
   */
  read(recheck = false): void {
    if (this.#reading || (this.buffer.finished && !recheck) || this.signal.aborted) return;
    this.#reading = this.#readLoop(recheck).finally(() => { this.#reading = undefined; });
  }

  ship(): void {
    if (this.#shipping || this.signal.aborted) return;
    this.#shipping = this.#shipLoop().finally(() => { this.#shipping = undefined; });
  }

  containerRemoved(): void {
    this.#removed = true;
    this.#poke();
  }

  async close(): Promise<void> {
    this.#poke();
    await Promise.all([this.#reading, this.#shipping]);
    this.buffer.close();
  }

  #poke(): void {
    const wake = this.#wake;
    this.#wake = undefined;
    wake?.();
    const roomWake = this.#roomWake;
    this.#roomWake = undefined;
    roomWake?.();
  }

  get #maxBufferedBytes(): number {
    return this.o.maxBufferedBytes ?? MAX_BUFFERED_BYTES;
  }

  async #readLoop(recheck: boolean): Promise<void> {
    const backoff = new Backoff(SHIP_BACKOFF.initialMs, SHIP_BACKOFF.maxMs, this.o.random);
    const log = this.o.logger;
    let once = recheck;
    while (!this.signal.aborted && (!this.buffer.finished || once)) {
      once = false;
      // A session of its own, so a full buffer can end it without stopping the shipper.
      const session = new AbortController();
      const stop = () => session.abort(this.signal.reason);
      this.signal.addEventListener('abort', stop, { once: true });
      try {
        const stopped = await this.o.source.follow(this.containerId, this.buffer.beginReading(), (lines) => {
          this.buffer.append(lines);
          backoff.reset();
          this.#poke();
          if (this.buffer.unshippedBytes > this.#maxBufferedBytes) session.abort(new Error('log buffer full'));
        }, session.signal);
        if (stopped) {
          this.buffer.finish();
          this.#poke();
        } else {
          await sleep(backoff.next(), this.signal).catch(() => undefined);
        }
      } catch (err) {
        if (this.signal.aborted) break;
        if (session.signal.aborted) {
          log.warn('log buffer full; reading pauses until shipping catches up', { containerId: this.containerId, bytes: this.buffer.unshippedBytes });
          while (!this.signal.aborted && this.buffer.unshippedBytes > this.#maxBufferedBytes / 2) {
            await new Promise<void>((resolve) => { this.#roomWake = resolve; });
          }
          continue;
        }
        if (err instanceof ContainerGoneError) {
          if (!this.buffer.finished) log.warn('container gone before its output was read to the end', { containerId: this.containerId });
          this.buffer.finish();
          this.#removed = true;
          this.#poke();
          break;
        }
        const delayMs = backoff.next();
        log.warn('reading container output failed; retrying', { containerId: this.containerId, error: err, delayMs });
        await sleep(delayMs, this.signal).catch(() => undefined);
      } finally {
        this.signal.removeEventListener('abort', stop);
      }
    }
  }

  async #shipLoop(): Promise<void> {
    const backoff = new Backoff(SHIP_BACKOFF.initialMs, SHIP_BACKOFF.maxMs, this.o.random);
    const log = this.o.logger;
    const target = this.buffer.target;
    const api = this.o.api(target.region);
    while (!this.signal.aborted) {
      const inFlight = this.buffer.inFlight;
      if (inFlight) {
        try {
          if (await this.#taken(api, target, inFlight)) this.#shipped(inFlight.end);
          else this.buffer.notTaken();
        } catch (err) {
          if (this.signal.aborted) break;
          const delayMs = backoff.next();
          log.warn('asking the server for the log batch in flight failed; retrying', { containerId: this.containerId, logGroupName: target.logGroupName, error: err, delayMs });
          await sleep(delayMs, this.signal).catch(() => undefined);
        }
        continue;
      }
      const lines = this.buffer.unshipped(SHIP_LIMITS.readBytes);
      if (lines.length === 0) {
        if (this.buffer.finished && this.#removed) {
          this.buffer.destroy();
          this.onDone();
          return;
        }
        await new Promise<void>((resolve) => { this.#wake = resolve; });
        continue;
      }
      const { events, end } = batchOf(lines, this.#lastTimestamp);
      try {
        if (!this.#streamReady) await this.#ensureStream(api, target);
        if (events.length > 0) {
          this.buffer.sending({ end, ...tailDigest(events) });
          const out = await api.call<{ rejectedLogEventsInfo?: Record<string, number> }>('PutLogEvents',
            { logGroupName: target.logGroupName, logStreamName: target.logStreamName, logEvents: events }, { signal: this.signal });
          // Too old, expired or too far in the future for CloudWatch: dropped, as the service drops them.
          if (out.rejectedLogEventsInfo) log.warn('log events rejected by the server', { containerId: this.containerId, ...target, ...out.rejectedLogEventsInfo });
          this.#lastTimestamp = events[events.length - 1]!.timestamp;
        }
        this.#shipped(end);
        backoff.reset();
      } catch (err) {
        if (this.signal.aborted) break;
        const code = (err as { code?: string }).code;
        // A 4xx answer means the batch was not taken; no answer (or a 5xx) leaves it in flight.
        const status = (err as { statusCode?: number }).statusCode;
        if (status !== undefined && status < 500) this.buffer.notTaken();
        if (code === 'ResourceNotFoundException') {
          this.#streamReady = false;
        } else if (code === 'InvalidParameterException' || code === 'SerializationException') {
          // The server will never take this batch; holding it would stop the container's logs for good.
          log.error('log batch refused; skipped', { containerId: this.containerId, ...target, events: events.length, error: err });
          this.#shipped(end);
          continue;
        }
        const delayMs = backoff.next();
        log.warn('shipping logs failed; retrying', { containerId: this.containerId, logGroupName: target.logGroupName, error: err, delayMs });
        await sleep(delayMs, this.signal).catch(() => undefined);
      }
    }
  }

  /** The lines up to `end` are the server's (or skipped); a read loop paused on a full buffer may go on. */
  #shipped(end: number): void {
    this.buffer.markShipped(end);
    this.#roomWake?.();
  }

  /**
   * Whether the server took the batch in flight: the stream's newest events are its last ones.
   * A missing stream or group took nothing. (A batch whose last lines repeat exactly, to the
   * millisecond, the lines sent before it would be taken as delivered: there is no sequence token
   * left in CloudWatch Logs to tell them apart.)
   */
  async #taken(api: LogsApi, target: LogTarget, batch: InFlightBatch): Promise<boolean> {
    try {
      const out = await api.call<{ events?: { timestamp?: number; message?: string }[] }>('GetLogEvents',
        { logGroupName: target.logGroupName, logStreamName: target.logStreamName, startFromHead: false, limit: batch.count }, { signal: this.signal });
      const events = (out.events ?? []).map((e) => ({ timestamp: e.timestamp ?? 0, message: e.message ?? '' }));
      return events.length === batch.count && tailDigest(events).digest === batch.digest;
    } catch (err) {
      if ((err as { code?: string }).code !== 'ResourceNotFoundException') throw err;
      this.#streamReady = false;
      return false;
    }
  }

  /** CreateLogStream (and CreateLogGroup when awslogs-create-group says so); existing ones are fine. */
  async #ensureStream(api: LogsApi, target: LogTarget): Promise<void> {
    const exists = (err: unknown) => (err as { code?: string }).code === 'ResourceAlreadyExistsException';
    const createStream = () => api.call('CreateLogStream', { logGroupName: target.logGroupName, logStreamName: target.logStreamName }, { signal: this.signal });
    try {
      await createStream();
    } catch (err) {
      if (exists(err)) {
        this.#streamReady = true;
        return;
      }
      if ((err as { code?: string }).code !== 'ResourceNotFoundException' || !target.createGroup) throw err;
      await api.call('CreateLogGroup', { logGroupName: target.logGroupName }, { signal: this.signal }).catch((e: unknown) => { if (!exists(e)) throw e; });
      await createStream().catch((e: unknown) => { if (!exists(e)) throw e; });
    }
    this.#streamReady = true;
  }
}

/**
 * The longest prefix of `lines` that makes one valid PutLogEvents batch, and the buffer offset
 * after it. Timestamps never go back (stdout and stderr can interleave a little out of order),
 * empty lines are dropped (CloudWatch refuses them, as the awslogs driver skips them), and a line
 * over the event limit is cut into several events.
 */
export function batchOf(lines: readonly BufferedLine[], notBefore: number): { events: { timestamp: number; message: string }[]; end: number } {
  const events: { timestamp: number; message: string }[] = [];
  let bytes = 0;
  let end = lines.length > 0 ? lines[0]!.end : 0;
  let last = notBefore;
  let first: number | undefined;
  for (const line of lines) {
    const timestamp = Math.max(timeKeyMs(line.time), last);
    if (first !== undefined && timestamp - first > SHIP_LIMITS.maxSpanMs) break;
    const parts = line.message.length === 0 ? [] : splitMessage(line.message);
    const size = parts.reduce((n, p) => n + Buffer.byteLength(p, 'utf8') + SHIP_LIMITS.eventOverheadBytes, 0);
    if (events.length > 0 && (events.length + parts.length > SHIP_LIMITS.maxBatchEvents || bytes + size > SHIP_LIMITS.maxBatchBytes)) break;
    for (const message of parts) events.push({ timestamp, message });
    bytes += size;
    if (parts.length > 0) { first ??= timestamp; last = timestamp; }
    end = line.end;
  }
  return { events, end };
}

/** How many of a batch's last events identify it when asking the server whether it took it. */
const IN_FLIGHT_TAIL = 10;

/** A digest of the last events of a batch (or of a stream's newest events, to compare). */
function tailDigest(events: readonly { timestamp: number; message: string }[]): { count: number; digest: string } {
  const tail = events.slice(-IN_FLIGHT_TAIL);
  const hash = createHash('sha256');
  for (const e of tail) hash.update(`${e.timestamp} ${Buffer.byteLength(e.message, 'utf8')} `).update(e.message);
  return { count: tail.length, digest: hash.digest('base64') };
}

/** Cuts a message into pieces within the event limit, at UTF-8 character boundaries. */
function splitMessage(message: string): string[] {
  const maxBytes = SHIP_LIMITS.maxEventBytes - SHIP_LIMITS.eventOverheadBytes;
  if (message.length * 3 <= maxBytes) return [message];
  const bytes = Buffer.from(message, 'utf8');
  if (bytes.length <= maxBytes) return [message];
  const parts: string[] = [];
  for (let i = 0; i < bytes.length;) {
    let j = Math.min(i + maxBytes, bytes.length);
    // Back off continuation bytes (10xxxxxx) so no character is cut in two.
    while (j < bytes.length && (bytes[j]! & 0xc0) === 0x80) j--;
    parts.push(bytes.toString('utf8', i, j));
    i = j;
  }
  return parts;
}
