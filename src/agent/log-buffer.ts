/**
 * One container's on-disk log buffer in the agent's data directory: the lines read from Docker and
 * not yet acknowledged by the server, plus the cursor that says where reading resumes.
 *
 *   <dir>/buffer.<generation>.jsonl   one `[timeKey, message]` JSON array a line, in the order read
 *   <dir>/state.json     { target, generation, shippedBytes, baseCursor, baseRecent, baseCovers,
 *                          finished, inFlight } (written atomically)
 *
 * Lines are appended as they are read; `shippedBytes` moves forward as PutLogEvents succeeds. Once
 * the shipped part is large and at least as large as the rest, the unshipped lines are copied to the next generation's file and the state switches to it in one
 * atomic write (then the old file goes): the file never grows with a container that logs without
 * pause. That state also saves the newest time read and the recent lines' identities as the base,
 * and how many bytes at the new file's start the base already counts; after a restart the lines of
 * the file after those advance the base.
 *
 * Where reading resumes: Docker writes a container's stdout and stderr lines in the order it handles
 * them, which can differ a little from their timestamps, so a line older than the newest one read may
 * still be written after it. A reading session therefore starts (Docker's `since`, inclusive) at the
 * oldest of the last lines read (RECENT_LINES of them or more), and skips the lines it already
 * holds by identity (time and a hash of the message): no line is read twice, and a late line is
 * still read.
 *
 * A batch is recorded as in flight (its end and a digest of its last events) before it is sent, so
 * a shipper that never learnt whether the server took it (a lost connection, a kill) can ask the
 * server instead of sending it twice. Appends are plain writes, not fsynced: an agent crash loses
 * nothing (the data is in the OS), a machine crash may lose the last lines read, which are still in
 * Docker's own log.
 */
import {
  closeSync, existsSync, fstatSync, ftruncateSync, mkdirSync, openSync, readdirSync, readFileSync, readSync, renameSync, rmSync, writeFileSync, writeSync,
} from 'node:fs';
import path from 'node:path';
import type { ContainerLogLine } from './container-logs.js';

/** Where a container's lines go: the group and stream of its awslogs configuration. */
export interface LogTarget {
  logGroupName: string;
  logStreamName: string;
  /** awslogs-create-group: create the group when it is missing. */
  createGroup: boolean;
  region: string;
}

interface BufferState {
  target: LogTarget;
  /** Which buffer file holds the lines (absent: `buffer.jsonl`, as the first agents named it). */
  generation?: number;
  shippedBytes: number;
  /** When the file was last rewritten: the time of the newest line read before then... */
  baseCursor?: string;
  /** ...the identities of the recent lines then... */
  baseRecent?: string[];
  /** ...and the bytes at the file's start whose lines they already count. */
  baseCovers?: number;
  /**
   * Written by agents before baseRecent: how many lines carried exactly baseCursor's time. Read as
   * that many recent lines of any message at that time.
   */
  baseSame?: number;
  /** The container stopped and every line of it has been read into the buffer. */
  finished: boolean;
  /** A batch sent without an answer yet. */
  inFlight?: InFlightBatch;
}

/** A PutLogEvents batch sent and not yet known to be taken or refused. */
export interface InFlightBatch {
  /** The buffer offset after its last line. */
  end: number;
  /** How many of its last events `digest` covers. */
  count: number;
  digest: string;
}

/** A buffered line and the byte offset just past it in the buffer file. */
export interface BufferedLine extends ContainerLogLine {
  end: number;
}

/**
 * How many of the lines read last (up to twice that) a reading session reads again. The lines
 * Docker writes out of time order are apart by the time its two stream copiers take to hand over a
 * line, far under a millisecond, which 128 lines span at any rate a container writes; and the
 * state that carries them after a rewrite stays a few kilobytes.
 */
const RECENT_LINES = 128;

/** A rewrite once this much is shipped and the rest is no larger, so copying costs less than it frees. */
const REWRITE_AFTER_BYTES = 8 * 1_048_576;

const bufferFile = (generation: number | undefined) => (generation === undefined ? 'buffer.jsonl' : `buffer.${generation}.jsonl`);
const BUFFER_FILE_NAME = /^buffer(\.\d+)?\.jsonl$/;
const STATE_FILE = 'state.json';

export class LogBuffer {
  readonly dir: string;
  #state: BufferState;
  #fd: number;
  #size: number;
  /** The time of the newest line read. */
  #cursor: string | undefined;
  /** Identities of the last lines read (RECENT_LINES to twice that), in the order read. */
  #recent: string[] = [];
  /** Identities this reading session may meet again, with how many times each. */
  #skip = new Map<string, number>();

  private constructor(dir: string, state: BufferState, fd: number, size: number) {
    this.dir = dir;
    this.#state = state;
    this.#fd = fd;
    this.#size = size;
  }

  /** Opens (or creates, for `target`) the buffer in `dir`, repairing a torn last line. */
  static open(dir: string, target?: LogTarget): LogBuffer {
    mkdirSync(dir, { recursive: true, mode: 0o700 });
    const statePath = path.join(dir, STATE_FILE);
    let state: BufferState;
    if (existsSync(statePath)) {
      state = JSON.parse(readFileSync(statePath, 'utf8')) as BufferState;
    } else {
      if (!target) throw new Error(`no log buffer in ${dir}`);
      state = { target, shippedBytes: 0, finished: false };
    }
    // A rewrite the agent did not finish (no state names its file), or the file a finished one replaced.
    const current = bufferFile(state.generation);
    for (const name of readdirSync(dir)) if (BUFFER_FILE_NAME.test(name) && name !== current) rmSync(path.join(dir, name), { force: true });
    const fd = openSync(path.join(dir, current), 'a+', 0o600);
    const buffer = new LogBuffer(dir, state, fd, fstatSync(fd).size);
    buffer.#recover();
    return buffer;
  }

  /** Buffers that exist under `root` (one directory each), for resuming after a restart. */
  static list(root: string): string[] {
    if (!existsSync(root)) return [];
    return readdirSync(root).filter((d) => existsSync(path.join(root, d, STATE_FILE))).map((d) => path.join(root, d));
  }

  get target(): LogTarget {
    return this.#state.target;
  }

  get finished(): boolean {
    return this.#state.finished;
  }

  /** Bytes of the buffer file not yet shipped. */
  get unshippedBytes(): number {
    return this.#size - this.#state.shippedBytes;
  }

  /** True when every buffered line has been shipped. */
  get drained(): boolean {
    return this.#state.shippedBytes >= this.#size;
  }

  /**
   * Where the next reading session starts (Docker's `since`; everything when undefined), and arms
   * the skip of the lines already held from there on.
   */
  beginReading(): string | undefined {
    this.#skip = new Map();
    let since: string | undefined;
    for (const id of this.#recent) {
      this.#skip.set(id, (this.#skip.get(id) ?? 0) + 1);
      const time = timeOf(id);
      if (since === undefined || time < since) since = time;
    }
    return since ?? this.#cursor;
  }

  /** Appends lines read from Docker, dropping those held before this session. */
  append(lines: readonly ContainerLogLine[]): void {
    let text = '';
    let cursor = this.#cursor;
    const read: string[] = [];
    for (const l of lines) {
      const id = lineIdentity(l);
      if (this.#skip.size > 0 && this.#skipped(id, l.time)) continue;
      if (cursor === undefined || l.time > cursor) cursor = l.time;
      read.push(id);
      text += JSON.stringify([l.time, l.message]) + '\n';
    }
    if (text.length === 0) return;
    const bytes = Buffer.from(text, 'utf8');
    writeSync(this.#fd, bytes, 0, bytes.length, this.#size);
    this.#size += bytes.length;
    this.#cursor = cursor;
    this.#remember(read);
  }

  /** Whether a line is one held before this reading session (and counts it as met). */
  #skipped(id: string, time: string): boolean {
    for (const key of [id, `${time} *`]) {
      const n = this.#skip.get(key);
      if (n === undefined) continue;
      if (n > 1) this.#skip.set(key, n - 1);
      else this.#skip.delete(key);
      return true;
    }
    return false;
  }

  /** Adds lines read to the recent ones, forgetting the oldest beyond twice RECENT_LINES. */
  #remember(ids: readonly string[]): void {
    for (const id of ids) this.#recent.push(id);
    // Trimmed in steps, so that a line read costs no copying of the list.
    if (this.#recent.length <= 2 * RECENT_LINES) return;
    // Never between lines of one time: reading again from the oldest time kept, every line at that
    // time must be known, or one held already would be taken for a late one.
    let cut = this.#recent.length - RECENT_LINES;
    const oldest = timeOf(this.#recent[cut]!);
    while (cut > 0 && timeOf(this.#recent[cut - 1]!) === oldest) cut--;
    this.#recent.splice(0, cut);
  }

  /** Every line of the container has been read. */
  finish(): void {
    this.#state.finished = true;
    this.#saveState();
  }

  /** The batch sent last whose fate is unknown, if any. */
  get inFlight(): InFlightBatch | undefined {
    return this.#state.inFlight;
  }

  /** Records (on disk) the batch about to be sent. */
  sending(batch: InFlightBatch): void {
    this.#state.inFlight = batch;
    this.#saveState();
  }

  /** The server answered that it did not take the batch in flight. */
  notTaken(): void {
    if (this.#state.inFlight === undefined) return;
    delete this.#state.inFlight;
    this.#saveState();
  }

  /** Unshipped lines from the oldest, reading at most about `maxBytes` of the file. */
  unshipped(maxBytes: number): BufferedLine[] {
    const start = this.#state.shippedBytes;
    const length = Math.min(this.#size - start, maxBytes);
    if (length <= 0) return [];
    let chunk = Buffer.alloc(length);
    readSync(this.#fd, chunk, 0, length, start);
    let last = chunk.lastIndexOf(10);
    if (last < 0) {
      // One line longer than maxBytes: read just that line.
      const whole = Buffer.alloc(this.#size - start);
      readSync(this.#fd, whole, 0, whole.length, start);
      chunk = whole;
      last = chunk.indexOf(10);
    }
    const out: BufferedLine[] = [];
    let at = 0;
    while (at <= last) {
      const nl = chunk.indexOf(10, at);
      const [time, message] = JSON.parse(chunk.toString('utf8', at, nl)) as [string, string];
      out.push({ time, message, end: start + nl + 1 });
      at = nl + 1;
    }
    return out;
  }

  /**
   * The server has the lines up to byte `end`; the file is rewritten when it is due. The position
   * reaches disk with the next batch's in-flight record (or a rewrite, or close): until then the
   * batch still recorded in flight tells a restarted agent, through the server, that it was taken.
   */
  markShipped(end: number): void {
    delete this.#state.inFlight;
    if (end >= REWRITE_AFTER_BYTES && end >= this.#size - end) {
      this.#rewrite(end);
      return;
    }
    this.#state.shippedBytes = end;
  }

  /**
   * Moves the lines after `end` to the next generation's file, then switches the state to it with
   * the base advanced over everything read: a crash before the switch leaves the old file in use,
   * after it the new one, complete.
   */
  #rewrite(end: number): void {
    const generation = (this.#state.generation ?? 0) + 1;
    const file = path.join(this.dir, bufferFile(generation));
    const fd = openSync(file, 'w+', 0o600);
    let size = 0;
    try {
      const chunk = Buffer.allocUnsafe(Math.min(REWRITE_AFTER_BYTES, Math.max(0, this.#size - end)));
      while (end + size < this.#size) {
        const n = readSync(this.#fd, chunk, 0, Math.min(chunk.length, this.#size - end - size), end + size);
        writeSync(fd, chunk, 0, n, size);
        size += n;
      }
    } catch (err) {
      closeSync(fd);
      rmSync(file, { force: true });
      throw err;
    }
    const old = path.join(this.dir, bufferFile(this.#state.generation));
    this.#state = {
      ...this.#state, generation, shippedBytes: 0, baseRecent: [...this.#recent], baseCovers: size,
      ...(this.#cursor !== undefined ? { baseCursor: this.#cursor } : {}),
    };
    delete this.#state.baseSame;
    this.#saveState();
    closeSync(this.#fd);
    rmSync(old, { force: true });
    this.#fd = fd;
    this.#size = size;
  }

  close(): void {
    this.#saveState();
    closeSync(this.#fd);
  }

  /** Removes the buffer from disk (after its container is gone and every line was shipped). */
  destroy(): void {
    closeSync(this.#fd);
    rmSync(this.dir, { recursive: true, force: true });
  }

  #saveState(): void {
    const file = path.join(this.dir, STATE_FILE);
    writeFileSync(`${file}.tmp`, JSON.stringify(this.#state), { mode: 0o600 });
    renameSync(`${file}.tmp`, file);
  }

  /** Drops a torn last line and advances the base cursor and recent lines over the lines the file holds. */
  #recover(): void {
    const base = this.#state.baseCursor;
    this.#cursor = base;
    this.#recent = this.#state.baseRecent ?? (base === undefined ? [] : Array<string>(this.#state.baseSame ?? 0).fill(`${base} *`));
    if (this.#size === 0) {
      this.#state.shippedBytes = 0;
      return;
    }
    const all = Buffer.alloc(this.#size);
    readSync(this.#fd, all, 0, this.#size, 0);
    const end = all.lastIndexOf(10) + 1;
    if (end < this.#size) {
      ftruncateSync(this.#fd, end);
      this.#size = end;
    }
    if (this.#state.shippedBytes > this.#size) this.#state.shippedBytes = this.#size;
    // A batch whose lines the file no longer holds (a machine crash lost them) cannot be settled.
    if (this.#state.inFlight && this.#state.inFlight.end > this.#size) delete this.#state.inFlight;
    // The lines the base counts already (those a rewrite carried over) are not counted again.
    let at = Math.min(this.#state.baseCovers ?? 0, end);
    while (at < end) {
      const nl = all.indexOf(10, at);
      const [time, message] = JSON.parse(all.toString('utf8', at, nl)) as [string, string];
      if (this.#cursor === undefined || time > this.#cursor) this.#cursor = time;
      this.#remember([lineIdentity({ time, message })]);
      at = nl + 1;
    }
  }
}

/** A line's identity among those read: its time and a 32-bit FNV-1a hash of its message. */
function lineIdentity(line: ContainerLogLine): string {
  let hash = 0x811c9dc5;
  for (let i = 0; i < line.message.length; i++) hash = Math.imul(hash ^ line.message.charCodeAt(i), 0x01000193);
  return `${line.time} ${(hash >>> 0).toString(36)}`;
}

function timeOf(identity: string): string {
  return identity.slice(0, identity.indexOf(' '));
}
