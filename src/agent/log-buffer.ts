/**
 * One container's on-disk log buffer in the agent's data directory: the lines read from Docker and
 * not yet acknowledged by the server, plus the cursor that says where reading resumes.
 *
 *   <dir>/buffer.jsonl   one `[timeKey, message]` JSON array a line, in the order Docker gave them
 *   <dir>/state.json     { target, shippedBytes, baseCursor, baseSame, finished, inFlight } (written atomically)
 *
 * Lines are appended as they are read; `shippedBytes` moves forward as PutLogEvents succeeds; once
 * everything is shipped the file is emptied, the cursor of its last line saved first as the base
 * cursor; the live cursor is the base advanced over the lines the file holds. After a restart reading
 * resumes at the cursor (Docker's `since`, inclusive) and the first `sameAtCursor` lines carrying
 * exactly the cursor's time are skipped as already buffered, so no line is lost or read twice.
 * A batch is recorded as in flight (its end and a digest of its last events) before it is sent, so
 * a shipper that never learnt whether the server took it (a lost connection, a kill) can ask the
 * server instead of sending it twice. Appends are plain writes, not fsynced: an agent crash loses nothing (the data is in the OS), a
 * machine crash may lose the last lines read, which are still in Docker's own log.
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
  shippedBytes: number;
  /** The cursor when the file was last emptied: the time of the newest line read before then... */
  baseCursor?: string;
  /** ...and how many lines carried exactly that time. */
  baseSame: number;
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

const BUFFER_FILE = 'buffer.jsonl';
const STATE_FILE = 'state.json';

export class LogBuffer {
  readonly dir: string;
  #state: BufferState;
  #fd: number;
  #size: number;
  /** The time of the newest line buffered, and how many lines carried exactly that time. */
  #cursor: string | undefined;
  #sameAtCursor = 0;
  /** Lines at the session's start time still to skip in this reading session. */
  #skip = 0;
  #skipTime: string | undefined;

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
      state = { target, shippedBytes: 0, baseSame: 0, finished: false };
    }
    const fd = openSync(path.join(dir, BUFFER_FILE), 'a+', 0o600);
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

  /** True when every buffered line has been shipped. */
  get drained(): boolean {
    return this.#state.shippedBytes >= this.#size;
  }

  /** Where the next reading session starts (Docker's `since`), and arms the skip of lines already held. */
  beginReading(): string | undefined {
    this.#skip = this.#sameAtCursor;
    this.#skipTime = this.#cursor;
    return this.#cursor;
  }

  /** Appends lines read from Docker, dropping those already buffered before this session. */
  append(lines: readonly ContainerLogLine[]): void {
    let text = '';
    let cursor = this.#cursor;
    let sameAtCursor = this.#sameAtCursor;
    for (const l of lines) {
      // Docker resent the lines at the session's start time (`since` is inclusive) that are held already.
      if (l.time === this.#skipTime && this.#skip > 0) { this.#skip--; continue; }
      // The cursor is the newest time: stdout and stderr lines can be a little out of order.
      if (l.time === cursor) sameAtCursor++;
      else if (cursor === undefined || l.time > cursor) { cursor = l.time; sameAtCursor = 1; }
      text += JSON.stringify([l.time, l.message]) + '\n';
    }
    if (text.length === 0) return;
    const bytes = Buffer.from(text, 'utf8');
    writeSync(this.#fd, bytes, 0, bytes.length, this.#size);
    this.#size += bytes.length;
    this.#cursor = cursor;
    this.#sameAtCursor = sameAtCursor;
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

  /** The server has the lines up to byte `end`: persist that, and empty the file once all is shipped. */
  markShipped(end: number): void {
    delete this.#state.inFlight;
    this.#state.shippedBytes = end;
    if (end >= this.#size) {
      // The cursor goes to disk before the lines that carried it disappear.
      this.#state.shippedBytes = 0;
      if (this.#cursor !== undefined) this.#state.baseCursor = this.#cursor;
      this.#state.baseSame = this.#sameAtCursor;
      this.#saveState();
      ftruncateSync(this.#fd, 0);
      this.#size = 0;
      return;
    }
    this.#saveState();
  }

  /** Saves the state (the cursor included) so a restart resumes here. */
  flush(): void {
    this.#saveState();
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

  /** Drops a torn last line and advances the base cursor over the lines the file holds. */
  #recover(): void {
    this.#cursor = this.#state.baseCursor;
    this.#sameAtCursor = this.#state.baseSame;
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
    let at = 0;
    while (at < end) {
      const nl = all.indexOf(10, at);
      const [time] = JSON.parse(all.toString('utf8', at, nl)) as [string];
      if (time === this.#cursor) this.#sameAtCursor++;
      else if (this.#cursor === undefined || time > this.#cursor) { this.#cursor = time; this.#sameAtCursor = 1; }
      at = nl + 1;
    }
  }
}
