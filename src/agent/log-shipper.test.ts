/**
 * The awslogs shipper on a fake log source and a fake Logs API: stream naming, group creation,
 * batching within CloudWatch's limits, and no line lost, reordered or repeated while the server is
 * unreachable or across a restart of the shipper on the same buffer directory.
 */
import { afterEach, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { appendFileSync, existsSync, mkdtempSync, readdirSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { TaskStateReport } from '../model/agent-protocol.js';
import { agentTask } from '../testkit/agent-tasks.js';
import type { ContainerLogLine, ContainerLogSource } from './container-logs.js';
import { ContainerGoneError, LogStreamParser, timeKey, timeKeyMs } from './container-logs.js';
import { LogBuffer } from './log-buffer.js';
import { batchOf, LogShipper, SHIP_LIMITS } from './log-shipper.js';
import type { LogsApi } from './log-shipper.js';
import { silentLogger } from './log.js';

const dirs: string[] = [];
afterEach(() => { for (const d of dirs.splice(0)) rmSync(d, { recursive: true, force: true }); });
const tempDir = () => { const d = mkdtempSync(join(tmpdir(), 'wharf-logship-')); dirs.push(d); return d; };

/** A container's output: lines pushed over time; `stop()` ends following. */
class FakeSource implements ContainerLogSource {
  readonly lines: ContainerLogLine[] = [];
  stopped = false;
  follows: (string | undefined)[] = [];
  #wake: (() => void) | undefined;

  push(...messages: string[]): void {
    const base = Date.UTC(2026, 0, 1) / 1000;
    for (const m of messages) {
      // Two lines per nanosecond tick, so lines sharing a time cross restarts too.
      const n = this.lines.length;
      this.lines.push({ time: `${base + Math.floor(n / 2000)}.${String(Math.floor(n / 2) % 1000).padStart(9, '0')}`, message: m });
    }
    this.#wake?.();
  }

  stop(): void { this.stopped = true; this.#wake?.(); }

  async follow(_id: string, since: string | undefined, onLines: (l: ContainerLogLine[]) => void, signal: AbortSignal): Promise<boolean> {
    this.follows.push(since);
    let at = since === undefined ? 0 : this.lines.findIndex((l) => l.time >= since);
    if (at < 0) at = this.lines.length;
    for (;;) {
      if (signal.aborted) throw signal.reason;
      if (at < this.lines.length) {
        // Delivered in small pieces, as a stream would.
        const piece = this.lines.slice(at, at + 7);
        at += piece.length;
        onLines(piece);
        await new Promise((r) => setImmediate(r));
        continue;
      }
      if (this.stopped) return true;
      await new Promise<void>((r) => { this.#wake = r; signal.addEventListener('abort', () => r(), { once: true }); });
    }
  }
}

/** Records PutLogEvents per stream; `down` makes every call fail as if the server were gone. */
class FakeLogs implements LogsApi {
  groups = new Map<string, Map<string, { timestamp: number; message: string }[]>>();
  down = false;
  /** PutLogEvents calls still to take and then fail, as if the answer were lost on the way back. */
  loseAnswers = 0;
  calls: string[] = [];

  async call<T>(operation: string, input: Record<string, unknown>): Promise<T> {
    await new Promise((r) => setImmediate(r));
    this.calls.push(operation);
    if (this.down) throw Object.assign(new Error('connect ECONNREFUSED'), { code: 'NetworkingError' });
    const fail = (code: string) => { throw Object.assign(new Error(code), { code }); };
    const group = this.groups.get(input['logGroupName'] as string);
    switch (operation) {
      case 'CreateLogGroup':
        if (group) fail('ResourceAlreadyExistsException');
        this.groups.set(input['logGroupName'] as string, new Map());
        break;
      case 'CreateLogStream':
        if (!group) fail('ResourceNotFoundException');
        if (group!.has(input['logStreamName'] as string)) fail('ResourceAlreadyExistsException');
        group!.set(input['logStreamName'] as string, []);
        break;
      case 'PutLogEvents': {
        const stream = group?.get(input['logStreamName'] as string);
        if (!stream) fail('ResourceNotFoundException');
        const events = input['logEvents'] as { timestamp: number; message: string }[];
        assert.ok(events.length <= SHIP_LIMITS.maxBatchEvents);
        for (let i = 1; i < events.length; i++) assert.ok(events[i]!.timestamp >= events[i - 1]!.timestamp, 'chronological');
        stream!.push(...events);
        if (this.loseAnswers > 0) {
          this.loseAnswers--;
          throw Object.assign(new Error('socket hang up'), { code: 'NetworkingError' });
        }
        break;
      }
      case 'GetLogEvents': {
        const stream = group?.get(input['logStreamName'] as string);
        if (!stream) fail('ResourceNotFoundException');
        assert.equal(input['startFromHead'], false);
        return { events: stream!.slice(-(input['limit'] as number)) } as T;
      }
    }
    return {} as T;
  }

  messages(group: string, stream: string): string[] {
    return (this.groups.get(group)?.get(stream) ?? []).map((e) => e.message);
  }
}

function awslogsTask(options: Record<string, string>) {
  return agentTask({ containers: [{ name: 'web', logConfiguration: { logDriver: 'awslogs', options } }] });
}

function report(task: ReturnType<typeof awslogsTask>, lastStatus: 'RUNNING' | 'STOPPED', runtimeId = 'c0ffee'): TaskStateReport {
  return { taskArn: task.taskArn, lastStatus, containers: [{ name: 'web', lastStatus, runtimeId }] };
}

async function until(cond: () => boolean, what: string, timeoutMs = 20_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!cond()) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 5));
  }
}

/** A buffer directory's unshipped bytes as its files say: the current file's size less what is shipped. */
function unshippedOnDisk(bufferDir: string): number {
  // No state written yet: nothing shipped, the first file.
  const state = existsSync(join(bufferDir, 'state.json'))
    ? JSON.parse(readFileSync(join(bufferDir, 'state.json'), 'utf8')) as { generation?: number; shippedBytes: number }
    : { shippedBytes: 0 };
  const file = join(bufferDir, state.generation === undefined ? 'buffer.jsonl' : `buffer.${state.generation}.jsonl`);
  return existsSync(file) ? statSync(file).size - state.shippedBytes : 0;
}

const shipper = (dir: string, source: ContainerLogSource, api: FakeLogs) =>
  new LogShipper({ dir, source, api: () => api, region: 'us-east-1', logger: silentLogger, random: () => 0 });

/** A shipper following one running awslogs container (group g, prefix p), with its log source and Logs API. */
function following(dir = tempDir(), options: { maxBufferedBytes?: number } = {}) {
  const source = new FakeSource();
  const api = new FakeLogs();
  const s = new LogShipper({ dir, source, api: () => api, region: 'us-east-1', logger: silentLogger, random: () => 0, ...options });
  const task = awslogsTask({ 'awslogs-group': 'g', 'awslogs-stream-prefix': 'p', 'awslogs-create-group': 'true' });
  s.watchTask(task);
  s.onTaskReport(report(task, 'RUNNING'));
  return { source, api, s, task, stream: `p/web/${task.taskArn.split('/').pop()}` };
}

describe('LogShipper', () => {
  it('ships to prefix/container-name/task-id, creating the group when awslogs-create-group is true', async () => {
    const source = new FakeSource();
    const api = new FakeLogs();
    const s = shipper(tempDir(), source, api);
    const task = awslogsTask({ 'awslogs-group': '/ecs/web', 'awslogs-stream-prefix': 'app', 'awslogs-create-group': 'true' });
    s.watchTask(task);
    source.push('one', '', 'two', 'three');
    s.onTaskReport(report(task, 'RUNNING'));
    const taskId = task.taskArn.split('/').pop()!;
    await until(() => api.messages('/ecs/web', `app/web/${taskId}`).length === 3, 'three lines');
    assert.deepEqual(api.messages('/ecs/web', `app/web/${taskId}`), ['one', 'two', 'three']);
    source.stop();
    await s.close();
  });

  it('names the stream after the container id without a prefix, and waits for a group it may not create', async () => {
    const source = new FakeSource();
    const api = new FakeLogs();
    const s = shipper(tempDir(), source, api);
    const task = awslogsTask({ 'awslogs-group': 'later' });
    s.watchTask(task);
    source.push('kept while the group is missing');
    s.onTaskReport(report(task, 'RUNNING', 'abc123'));
    await until(() => api.calls.filter((c) => c === 'CreateLogStream').length >= 2, 'retries');
    assert.ok(!api.calls.includes('CreateLogGroup'));
    api.groups.set('later', new Map());
    await until(() => api.messages('later', 'abc123').length === 1, 'the line after the group exists');
    source.stop();
    await s.close();
  });

  it('buffers while the server is down and delivers everything in order once it is back', async () => {
    const { source, api, s, stream } = following();
    source.push(...Array.from({ length: 100 }, (_, i) => `before ${i}`));
    await until(() => api.messages('g', stream).length === 100, 'the first lines');
    api.down = true;
    source.push(...Array.from({ length: 25_000 }, (_, i) => `during ${i}`));
    await until(() => api.calls.length > 10, 'failed attempts');
    api.down = false;
    source.push('after');
    source.stop();
    await until(() => api.messages('g', stream).length === 25_101, 'every line');
    const expected = [...Array.from({ length: 100 }, (_, i) => `before ${i}`), ...Array.from({ length: 25_000 }, (_, i) => `during ${i}`), 'after'];
    assert.deepEqual(api.messages('g', stream), expected);
    await s.close();
  });

  it('resumes after a restart from its cursor and buffer: nothing lost, nothing repeated', async () => {
    const dir = tempDir();
    const source = new FakeSource();
    const api = new FakeLogs();
    const task = awslogsTask({ 'awslogs-group': 'g', 'awslogs-stream-prefix': 'p', 'awslogs-create-group': 'true' });
    const stream = `p/web/${task.taskArn.split('/').pop()}`;
    const total = 30_000;
    source.push(...Array.from({ length: total / 2 }, (_, i) => `line ${i}`));
    const first = shipper(dir, source, api);
    first.watchTask(task);
    api.down = true;
    first.onTaskReport(report(task, 'RUNNING'));
    // Stop the first shipper with lines read but not shipped (the server was down).
    await until(() => source.follows.length === 1 && api.calls.length > 2, 'reading under way');
    await first.close();
    source.push(...Array.from({ length: total / 2 }, (_, i) => `line ${i + total / 2}`));
    source.stop();
    api.down = false;
    const second = shipper(dir, source, api);
    second.start();
    second.watchTask(task);
    second.onTaskReport(report(task, 'RUNNING'));
    await until(() => api.messages('g', stream).length >= total, 'every line');
    assert.notEqual(source.follows[1], undefined, 'the second run resumed from a cursor');
    assert.deepEqual(api.messages('g', stream), Array.from({ length: total }, (_, i) => `line ${i}`));
    await until(() => second.idle, 'idle');
    await second.close();
  });

  it('asks the server about a batch whose answer was lost, in the same run and after a restart, and sends nothing twice', async () => {
    const dir = tempDir();
    const { source, api, s: first, stream } = following(dir);
    api.loseAnswers = 1;
    source.push(...Array.from({ length: 50 }, (_, i) => `line ${i}`));
    await until(() => api.messages('g', stream).length >= 50 && first.idle, 'the first lines');
    assert.ok(api.calls.includes('GetLogEvents'), 'the server was asked');
    // The answer to the next batch is lost and the shipper stops before it learns more (a kill).
    api.loseAnswers = 1;
    source.push(...Array.from({ length: 50 }, (_, i) => `line ${i + 50}`));
    await until(() => api.messages('g', stream).length >= 100, 'the second lines taken');
    await first.close();
    source.stop();
    const second = shipper(dir, source, api);
    second.start();
    await until(() => second.idle, 'idle after the restart');
    assert.deepEqual(api.messages('g', stream), Array.from({ length: 100 }, (_, i) => `line ${i}`));
    await second.close();
  });

  it('resends a batch in flight that the server never took', async () => {
    const { source, api, s, stream } = following();
    source.push('one');
    await until(() => api.messages('g', stream).length === 1 && s.idle, 'the first line');
    api.down = true;
    source.push('two', 'three');
    await until(() => api.calls.filter((c) => c === 'PutLogEvents').length >= 2, 'a failed send');
    api.down = false;
    await until(() => api.messages('g', stream).length === 3 && s.idle, 'every line');
    assert.deepEqual(api.messages('g', stream), ['one', 'two', 'three']);
    source.stop();
    await s.close();
  });

  it('pauses reading while its buffer is full, then reads on from where it was: nothing lost or repeated', async () => {
    const dir = tempDir();
    const maxBufferedBytes = 20_000;
    const { source, api, s, stream } = following(dir, { maxBufferedBytes });
    api.down = true;
    const total = 5_000;
    source.push(...Array.from({ length: total }, (_, i) => `line ${i}`));
    let largest = 0;
    const watchSize = () => { largest = Math.max(largest, unshippedOnDisk(join(dir, 'c0ffee'))); };
    try {
      await until(() => { watchSize(); return largest > maxBufferedBytes; }, 'the buffer to fill');
      const callsThen = api.calls.length;
      await until(() => { watchSize(); return api.calls.length > callsThen + 3; }, 'more failed sends');
      api.down = false;
      source.stop();
      await until(() => { watchSize(); return api.messages('g', stream).length >= total && s.idle; }, 'every line');
    } finally {
      source.stop();
      await s.close();
    }
    assert.deepEqual(api.messages('g', stream), Array.from({ length: total }, (_, i) => `line ${i}`));
    // One delivery of the source (7 lines) may land past the limit before reading stops.
    assert.ok(largest < maxBufferedBytes + 7 * 64, `the buffer stayed near its limit (${largest} bytes unshipped)`);
    assert.ok(source.follows.length >= 2, 'reading resumed after the pause');
  });

  it('after a restart, drains and removes the buffer of a container that is gone meanwhile', async () => {
    const dir = tempDir();
    const source = new FakeSource();
    const api = new FakeLogs();
    const task = awslogsTask({ 'awslogs-group': 'g', 'awslogs-create-group': 'true' });
    const first = shipper(dir, source, api);
    first.watchTask(task);
    api.down = true;
    source.push('a', 'b');
    first.onTaskReport(report(task, 'RUNNING', 'vanished'));
    await until(() => api.calls.length > 1, 'a failed attempt');
    await first.close();
    api.down = false;
    const gone: ContainerLogSource = { follow: () => Promise.reject(new ContainerGoneError('no such container')) };
    const second = shipper(dir, gone, api);
    second.start();
    await until(() => LogBuffer.list(dir).length === 0, 'the buffer removed');
    assert.deepEqual(api.messages('g', 'vanished'), ['a', 'b']);
    await second.close();
  });

  it('removes a drained buffer once its container is removed', async () => {
    const dir = tempDir();
    const source = new FakeSource();
    const api = new FakeLogs();
    const s = shipper(dir, source, api);
    const task = awslogsTask({ 'awslogs-group': 'g', 'awslogs-create-group': 'true' });
    s.watchTask(task);
    source.push('x');
    source.stop();
    s.onTaskReport(report(task, 'STOPPED', 'gone1'));
    await until(() => api.messages('g', 'gone1').length === 1, 'the line');
    s.forgetContainer('gone1');
    await until(() => LogBuffer.list(dir).length === 0, 'the buffer removed');
    await s.close();
  });
});

describe('batchOf', () => {
  const line = (ms: number, message: string, end: number) => ({ time: `${Math.floor(ms / 1000)}.${String(ms % 1000).padStart(3, '0')}000000`, message, end });

  it('keeps timestamps from going back, drops empty lines, and stops at 24 hours of span', () => {
    const b = batchOf([line(5000, 'a', 10), line(4000, 'b', 20), line(6000, '', 30), line(6000 + 25 * 3_600_000, 'late', 40)], 0);
    assert.deepEqual(b.events, [{ timestamp: 5000, message: 'a' }, { timestamp: 5000, message: 'b' }]);
    assert.equal(b.end, 30);
  });

  it('stops at the batch byte limit and cuts an oversized line into events within the limit', () => {
    const big = 'x'.repeat(300_000);
    const b = batchOf([line(1, big, 10)], 0);
    assert.equal(b.events.length, 2);
    assert.equal(b.events.map((e) => e.message).join(''), big);
    for (const e of b.events) assert.ok(Buffer.byteLength(e.message) + 26 <= SHIP_LIMITS.maxEventBytes);
    const many = Array.from({ length: 10 }, (_, i) => line(1, 'y'.repeat(200_000), (i + 1) * 10));
    const capped = batchOf(many, 0);
    assert.equal(capped.events.length, 5);
    assert.equal(capped.end, 50);
  });
});

describe('container log parsing', () => {
  it('turns RFC 3339 nanosecond times into sortable keys', () => {
    assert.equal(timeKey('2026-01-02T03:04:05.12Z'), '1767323045.120000000');
    assert.equal(timeKey('2026-01-02T03:04:05Z'), '1767323045.000000000');
    assert.equal(timeKey('garbage'), undefined);
    assert.equal(timeKeyMs('1767323045.120000000'), 1767323045120);
  });

  it('demultiplexes frames split anywhere across chunks', () => {
    const frame = (stream: number, text: string) => {
      const payload = Buffer.from(text);
      const header = Buffer.alloc(8);
      header[0] = stream;
      header.writeUInt32BE(payload.length, 4);
      return Buffer.concat([header, payload]);
    };
    const body = Buffer.concat([frame(1, '2026-01-02T03:04:05.1Z out line\n'), frame(2, '2026-01-02T03:04:05.2Z err línea\n')]);
    for (let cut = 1; cut < body.length; cut += 5) {
      const p = new LogStreamParser();
      const lines = [...p.push(body.subarray(0, cut)), ...p.push(body.subarray(cut))];
      assert.deepEqual(lines.map((l) => l.message), ['out line', 'err línea'], `cut at ${cut}`);
    }
  });

  it('reads a TTY container raw stream line by line', () => {
    const p = new LogStreamParser();
    const lines = [...p.push(Buffer.from('2026-01-02T03:04:05.1Z hello\r\n2026-01-02T03:04:05.2Z wor')), ...p.push(Buffer.from('ld\r\n'))];
    assert.deepEqual(lines.map((l) => l.message), ['hello', 'world']);
  });
});

describe('LogBuffer', () => {
  const target = { logGroupName: 'g', logStreamName: 's', createGroup: false, region: 'r' };
  const messages = (b: LogBuffer) => b.unshipped(1 << 20).map((l) => l.message);

  it('drops a torn last line on open, and reading resumes over the whole lines without repeating them', () => {
    const dir = tempDir();
    const b = LogBuffer.open(join(dir, 'c1'), target);
    b.append([{ time: '1.000000001', message: 'a' }, { time: '1.000000002', message: 'b' }]);
    b.close();
    appendFileSync(join(dir, 'c1', 'buffer.jsonl'), '["1.000000003","c');
    const again = LogBuffer.open(join(dir, 'c1'));
    assert.deepEqual(messages(again), ['a', 'b']);
    assert.equal(again.beginReading(), '1.000000001');
    again.append([{ time: '1.000000001', message: 'a' }, { time: '1.000000002', message: 'b' }, { time: '1.000000003', message: 'c' }]);
    assert.deepEqual(messages(again), ['a', 'b', 'c']);
    again.close();
  });

  it('after a restart, reads a line Docker wrote late (older than the newest read), once, also once every line was shipped', () => {
    const dir = join(tempDir(), 'c1');
    const b = LogBuffer.open(dir, target);
    // stdout's 'c' was read; stderr's older 'b' was not yet in Docker's log when the agent stopped.
    b.append([{ time: '5.000000001', message: 'a' }, { time: '5.000000003', message: 'c' }, { time: '5.000000003', message: 'c' }]);
    b.markShipped(b.unshipped(1 << 20).at(-1)!.end);
    b.close();
    const again = LogBuffer.open(dir);
    assert.deepEqual(messages(again), []);
    // Docker's log as it is now, from `since` on, in its own order.
    assert.equal(again.beginReading(), '5.000000001');
    again.append([{ time: '5.000000001', message: 'a' }, { time: '5.000000003', message: 'c' }, { time: '5.000000002', message: 'b' },
      { time: '5.000000003', message: 'c' }, { time: '5.000000003', message: 'c' }, { time: '6.000000000', message: 'd' }]);
    assert.deepEqual(messages(again), ['b', 'c', 'd']);
    again.close();
  });

  it('moves the unshipped lines to a new file once much is shipped, and resumes from it after a restart as before', () => {
    const dir = join(tempDir(), 'c1');
    const b = LogBuffer.open(dir, target);
    const line = (i: number) => ({ time: `0000000100.${String(i).padStart(9, '0')}`, message: `${i} ${'x'.repeat(1000)}` });
    b.append(Array.from({ length: 9000 }, (_, i) => line(i)));
    const lines = b.unshipped(64 << 20);
    b.markShipped(lines[8499]!.end);
    // The shipped 8.5 MB are gone from disk; the last 500 lines are in the next file.
    assert.deepEqual(readdirSync(dir).filter((f) => f.startsWith('buffer')), ['buffer.1.jsonl']);
    assert.ok(statSync(join(dir, 'buffer.1.jsonl')).size < 600_000);
    assert.deepEqual(b.unshipped(64 << 20).map((l) => l.message), lines.slice(8500).map((l) => l.message));
    b.append([line(9000)]);
    b.close();
    const again = LogBuffer.open(dir);
    assert.deepEqual(again.unshipped(64 << 20).map((l) => l.message.split(' ')[0]), Array.from({ length: 501 }, (_, i) => String(8500 + i)));
    // Reading again from the oldest line remembered (at least 128 back) resends lines all held already.
    const first = Number(again.beginReading()!.split('.')[1]);
    assert.ok(first <= 9000 - 127, `reads again from line ${first}`);
    again.append(Array.from({ length: 9001 - first }, (_, i) => line(first + i)));
    again.append([line(9001)]);
    assert.equal(again.unshipped(64 << 20).length, 502);
    again.close();
  });

  it('a rewrite the agent did not finish leaves the old file in use, and its new file is removed', () => {
    const dir = join(tempDir(), 'c1');
    const b = LogBuffer.open(dir, target);
    b.append([{ time: '1.000000001', message: 'a' }, { time: '1.000000002', message: 'b' }]);
    b.close();
    writeFileSync(join(dir, 'buffer.1.jsonl'), '["1.000000002","b"]\n');
    const again = LogBuffer.open(dir);
    assert.deepEqual(messages(again), ['a', 'b']);
    assert.deepEqual(readdirSync(dir).filter((f) => f.startsWith('buffer')), ['buffer.jsonl']);
    again.close();
  });

  it('remembers the last 128 to 256 lines read, and keeps a state written before identities were kept', () => {
    const dir = join(tempDir(), 'c1');
    const b = LogBuffer.open(dir, target);
    const at = (i: number) => `0000000005.${String(i).padStart(9, '0')}`;
    b.append(Array.from({ length: 1000 }, (_, i) => ({ time: at(i), message: `${i}` })));
    assert.equal(b.beginReading(), at(1000 - 128));
    b.append(Array.from({ length: 100 }, (_, i) => ({ time: at(1000 + i), message: `${1000 + i}` })));
    assert.equal(b.beginReading(), at(1000 - 128));
    b.close();
    // An agent of before: the cursor and how many lines carried its time.
    writeFileSync(join(dir, 'state.json'), JSON.stringify({ target, shippedBytes: 0, baseCursor: '0000000009.000000000', baseSame: 2, finished: false }));
    writeFileSync(join(dir, 'buffer.jsonl'), '');
    const legacy = LogBuffer.open(dir);
    assert.equal(legacy.beginReading(), '0000000009.000000000');
    legacy.append([{ time: '0000000009.000000000', message: 'x' }, { time: '0000000009.000000000', message: 'y' }, { time: '0000000009.000000000', message: 'z' }]);
    assert.deepEqual(messages(legacy), ['z']);
    legacy.close();
  });
});
