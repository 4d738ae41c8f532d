/**
 * CloudWatch Logs' groups, streams and events in their own SQLite database (better-sqlite3, WAL),
 * apart from the cluster state store: log volume would swamp the state store's revisions and
 * watches, and logs need time-ordered range scans the key-value store does not offer. Every
 * method is synchronous and runs in one transaction, so a failed call changes nothing.
 *
 * Events are kept in insertion order (`id`, AUTOINCREMENT so ids are never reused) and indexed by
 * (stream, timestamp, id) for GetLogEvents and by (group, timestamp, id) for FilterLogEvents.
 */
import Database from 'better-sqlite3';
import type {
  DescribeLogGroupsResponse, DescribeLogStreamsResponse, FilteredLogEvent, GetLogEventsResponse, InputLogEvent, LogGroup, LogStream,
  OutputLogEvent, PutLogEventsResponse,
} from '@aws-sdk/client-cloudwatch-logs';
import { InvalidParameterException, ResourceNotFoundException } from '../model/index.js';
import { ResourceAlreadyExistsException } from './errors.js';
import { compileFilterPattern, FilterPatternError } from './filter-pattern.js';
import type { MessagePredicate } from './filter-pattern.js';
import { checkPutBatch, PUT_LIMITS } from './put-batch.js';

/** The retention periods PutRetentionPolicy accepts, in days (CloudWatch's list). */
export const RETENTION_DAYS = [1, 3, 5, 7, 14, 30, 60, 90, 120, 150, 180, 365, 400, 545, 731, 1096, 1827, 2192, 2557, 2922, 3288, 3653] as const;

/** A page of GetLogEvents or FilterLogEvents holds at most this many events and message bytes. */
export const READ_LIMITS = { maxEvents: 10_000, maxBytes: 1_048_576, describeDefault: 50 } as const;
/** Rows FilterLogEvents examines per call before it answers a partial page with a nextToken. */
const FILTER_SCAN_BUDGET = 200_000;
/** Rows read from SQLite at a time while scanning. */
const SCAN_CHUNK = 2_000;
/** Rows one retention sweep step deletes in a transaction, so a big sweep never blocks the API for long. */
const SWEEP_CHUNK = 20_000;

export interface LogScope { partition: string; region: string; accountId: string }

export interface LogStoreOptions {
  /** Database file, or `:memory:`. */
  path: string;
  scope: LogScope;
  nowMs?: () => number;
}

interface GroupRow { id: number; name: string; created_ms: number; retention_days: number | null; stored_bytes: number }
interface StreamRow {
  id: number; group_id: number; name: string; created_ms: number;
  first_event_ms: number | null; last_event_ms: number | null; last_ingestion_ms: number | null; sequence: number;
}
interface EventRow { id: number; stream_id: number; ts: number; ingestion_ms: number; message: string }

/** A position in (timestamp, id) order; "after" and "before" are strict. */
interface Position { ts: number; id: number }
const HEAD: Position = { ts: -1, id: 0 };

export class LogStore {
  readonly #db: Database.Database;
  readonly #scope: LogScope;
  readonly #now: () => number;
  readonly #s;

  constructor(options: LogStoreOptions) {
    this.#scope = options.scope;
    this.#now = options.nowMs ?? Date.now;
    this.#db = new Database(options.path);
    if (options.path !== ':memory:') this.#db.pragma('journal_mode = WAL');
    // A server crash may lose the last moments of ingest but never corrupts; agents re-send what
    // was not acknowledged, and an acknowledged batch survives a process crash (WAL is in the OS).
    this.#db.pragma('synchronous = NORMAL');
    this.#db.exec(`
      CREATE TABLE IF NOT EXISTS log_groups (
        id INTEGER PRIMARY KEY, name TEXT NOT NULL UNIQUE, created_ms INTEGER NOT NULL,
        retention_days INTEGER, stored_bytes INTEGER NOT NULL DEFAULT 0);
      CREATE TABLE IF NOT EXISTS log_streams (
        id INTEGER PRIMARY KEY, group_id INTEGER NOT NULL, name TEXT NOT NULL, created_ms INTEGER NOT NULL,
        first_event_ms INTEGER, last_event_ms INTEGER, last_ingestion_ms INTEGER, sequence INTEGER NOT NULL DEFAULT 0,
        UNIQUE (group_id, name));
      CREATE TABLE IF NOT EXISTS log_events (
        id INTEGER PRIMARY KEY AUTOINCREMENT, group_id INTEGER NOT NULL, stream_id INTEGER NOT NULL,
        ts INTEGER NOT NULL, ingestion_ms INTEGER NOT NULL, message TEXT NOT NULL);
      CREATE INDEX IF NOT EXISTS log_events_by_stream ON log_events (stream_id, ts, id);
      CREATE INDEX IF NOT EXISTS log_events_by_group ON log_events (group_id, ts, id);
    `);
    const db = this.#db;
    this.#s = {
      group: db.prepare<[string], GroupRow>('SELECT * FROM log_groups WHERE name = ?'),
      insertGroup: db.prepare<[string, number]>('INSERT INTO log_groups (name, created_ms) VALUES (?, ?)'),
      setRetention: db.prepare<[number | null, number]>('UPDATE log_groups SET retention_days = ? WHERE id = ?'),
      addStored: db.prepare<[number, number]>('UPDATE log_groups SET stored_bytes = stored_bytes + ? WHERE id = ?'),
      stream: db.prepare<[number, string], StreamRow>('SELECT * FROM log_streams WHERE group_id = ? AND name = ?'),
      insertStream: db.prepare<[number, string, number]>('INSERT INTO log_streams (group_id, name, created_ms) VALUES (?, ?, ?)'),
      touchStream: db.prepare<[{ first: number; last: number; now: number; id: number }]>(`UPDATE log_streams SET
        first_event_ms = min(coalesce(first_event_ms, @first), @first), last_event_ms = max(coalesce(last_event_ms, @last), @last),
        last_ingestion_ms = @now, sequence = sequence + 1 WHERE id = @id`),
      insertEvent: db.prepare<[number, number, number, number, string]>(
        'INSERT INTO log_events (group_id, stream_id, ts, ingestion_ms, message) VALUES (?, ?, ?, ?, ?)'),
      deleteGroupEvents: db.prepare<[number]>('DELETE FROM log_events WHERE group_id = ?'),
      deleteGroupStreams: db.prepare<[number]>('DELETE FROM log_streams WHERE group_id = ?'),
      deleteGroup: db.prepare<[number]>('DELETE FROM log_groups WHERE id = ?'),
      streamBytes: db.prepare<[number], { bytes: number | null }>('SELECT sum(length(CAST(message AS BLOB))) AS bytes FROM log_events WHERE stream_id = ?'),
      deleteStreamEvents: db.prepare<[number]>('DELETE FROM log_events WHERE stream_id = ?'),
      deleteStream: db.prepare<[number]>('DELETE FROM log_streams WHERE id = ?'),
      retained: db.prepare<[], GroupRow>('SELECT * FROM log_groups WHERE retention_days IS NOT NULL'),
      expiredChunk: db.prepare<[number, number, number], { id: number; bytes: number }>(
        'SELECT id, length(CAST(message AS BLOB)) AS bytes FROM log_events WHERE group_id = ? AND ts < ? ORDER BY ts, id LIMIT ?'),
      deleteEvent: db.prepare<[number]>('DELETE FROM log_events WHERE id = ?'),
      streamAfter: db.prepare<[number, number, number, number, number, number], EventRow>(`SELECT id, stream_id, ts, ingestion_ms, message
        FROM log_events WHERE stream_id = ? AND (ts, id) > (?, ?) AND ts >= ? AND ts < ? ORDER BY ts, id LIMIT ?`),
      streamBefore: db.prepare<[number, number, number, number, number, number], EventRow>(`SELECT id, stream_id, ts, ingestion_ms, message
        FROM log_events WHERE stream_id = ? AND (ts, id) < (?, ?) AND ts >= ? AND ts < ? ORDER BY ts DESC, id DESC LIMIT ?`),
      groupAfter: db.prepare<[number, number, number, number, number, number], EventRow>(`SELECT id, stream_id, ts, ingestion_ms, message
        FROM log_events WHERE group_id = ? AND (ts, id) > (?, ?) AND ts >= ? AND ts <= ? ORDER BY ts, id LIMIT ?`),
    };
  }

  close(): void {
    this.#db.close();
  }

  // ---- groups ---------------------------------------------------------------------------------------

  createLogGroup(name: string): void {
    this.#db.transaction(() => {
      if (this.#s.group.get(name)) throw new ResourceAlreadyExistsException('The specified log group already exists');
      this.#s.insertGroup.run(name, this.#now());
    })();
  }

  /**
   * Groups in name order, `limit` (≤ 50) a page; `nextToken` is the last name of the previous page.
   * `pattern` is a case-sensitive substring, exclusive with `prefix` (CloudWatch's rule).
   */
  describeLogGroups(q: { prefix?: string; pattern?: string; limit?: number; nextToken?: string }): DescribeLogGroupsResponse {
    if (q.prefix !== undefined && q.pattern !== undefined) {
      throw new InvalidParameterException('logGroupNamePattern and logGroupNamePrefix are mutually exclusive. Only one of these parameters can be passed.');
    }
    const after = q.nextToken === undefined ? '' : decodeToken(q.nextToken, 'g');
    const limit = q.limit ?? READ_LIMITS.describeDefault;
    const rows = this.#db.prepare<[{ after: string; prefix: string; pattern: string; limit: number }], GroupRow>(`SELECT * FROM log_groups
      WHERE name > @after AND substr(name, 1, length(@prefix)) = @prefix AND instr(name, @pattern) > 0 ORDER BY name LIMIT @limit`)
      .all({ after, prefix: q.prefix ?? '', pattern: q.pattern ?? '', limit: limit + 1 });
    const page = rows.slice(0, limit);
    const out: DescribeLogGroupsResponse = {
      logGroups: page.map((g) => (q.pattern !== undefined
        // CloudWatch: with a pattern, only arn, creationTime and logGroupName are answered.
        ? { logGroupName: g.name, creationTime: g.created_ms, arn: this.groupArn(g.name, true) }
        : this.presentGroup(g))),
    };
    if (rows.length > limit) out.nextToken = encodeToken('g', page[page.length - 1]!.name);
    return out;
  }

  deleteLogGroup(name: string): void {
    this.#db.transaction(() => {
      const g = this.requireGroup(name);
      this.#s.deleteGroupEvents.run(g.id);
      this.#s.deleteGroupStreams.run(g.id);
      this.#s.deleteGroup.run(g.id);
    })();
  }

  putRetentionPolicy(name: string, days: number): void {
    if (!(RETENTION_DAYS as readonly number[]).includes(days)) {
      throw new InvalidParameterException(`1 validation error detected: Value '${days}' at 'retentionInDays' failed to satisfy constraint: Member must satisfy enum value set: [${RETENTION_DAYS.join(', ')}]`);
    }
    this.#db.transaction(() => this.#s.setRetention.run(days, this.requireGroup(name).id))();
  }

  deleteRetentionPolicy(name: string): void {
    this.#db.transaction(() => this.#s.setRetention.run(null, this.requireGroup(name).id))();
  }

  /** The group's name for a name or an ARN (`arn:...:log-group:NAME[:*]`), as logGroupIdentifier takes. */
  groupNameOf(identifier: string): string {
    const m = /^arn:[^:]+:logs:[^:]*:[^:]*:log-group:([^:]+)(:\*)?$/.exec(identifier);
    return m ? m[1]! : identifier;
  }

  // ---- streams --------------------------------------------------------------------------------------

  createLogStream(groupName: string, streamName: string): void {
    this.#db.transaction(() => {
      const g = this.requireGroup(groupName);
      if (this.#s.stream.get(g.id, streamName)) throw new ResourceAlreadyExistsException('The specified log stream already exists');
      this.#s.insertStream.run(g.id, streamName, this.#now());
    })();
  }

  /**
   * Streams ordered by name, or by lastEventTimestamp (streams without events first, then by name),
   * ascending unless `descending`; `prefix` only with name order (CloudWatch's rule).
   */
  describeLogStreams(q: {
    groupName: string; prefix?: string; orderBy?: 'LogStreamName' | 'LastEventTime'; descending?: boolean; limit?: number; nextToken?: string;
  }): DescribeLogStreamsResponse {
    const byTime = q.orderBy === 'LastEventTime';
    if (byTime && q.prefix !== undefined) throw new InvalidParameterException('Cannot order by LastEventTime with a logStreamNamePrefix.');
    const g = this.requireGroup(q.groupName);
    const limit = q.limit ?? READ_LIMITS.describeDefault;
    const dir = q.descending ? 'DESC' : 'ASC';
    const cmp = q.descending ? '<' : '>';
    // Keyset paging: the token is the sort key of the last stream answered.
    const sortKey = byTime ? 'coalesce(last_event_ms, -1), name' : 'name';
    const afterKey = byTime ? '@afterKey, @afterName' : '@afterName';
    let after: [number, string] | undefined;
    if (q.nextToken !== undefined) {
      const raw = decodeToken(q.nextToken, byTime ? 't' : 'n');
      const sep = raw.indexOf('/');
      after = [Number(raw.slice(0, sep)), raw.slice(sep + 1)];
      if (sep < 0 || !Number.isInteger(after[0])) throw invalidToken();
    }
    const rows = this.#db.prepare<[Record<string, unknown>], StreamRow>(`SELECT * FROM log_streams WHERE group_id = @group
        AND substr(name, 1, length(@prefix)) = @prefix ${after ? `AND (${sortKey}) ${cmp} (${afterKey})` : ''}
        ORDER BY ${byTime ? `coalesce(last_event_ms, -1) ${dir}, ` : ''}name ${dir} LIMIT ${limit + 1}`)
      .all({ group: g.id, prefix: q.prefix ?? '', ...(after ? { afterName: after[1], ...(byTime ? { afterKey: after[0] } : {}) } : {}) });
    const page = rows.slice(0, limit);
    const out: DescribeLogStreamsResponse = { logStreams: page.map((s) => this.presentStream(g.name, s)) };
    const last = page[page.length - 1];
    if (rows.length > limit && last) out.nextToken = encodeToken(byTime ? 't' : 'n', `${byTime ? last.last_event_ms ?? -1 : 0}/${last.name}`);
    return out;
  }

  deleteLogStream(groupName: string, streamName: string): void {
    this.#db.transaction(() => {
      const g = this.requireGroup(groupName);
      const s = this.requireStream(g, streamName);
      const bytes = this.#s.streamBytes.get(s.id)?.bytes ?? 0;
      this.#s.deleteStreamEvents.run(s.id);
      this.#s.deleteStream.run(s.id);
      this.#s.addStored.run(-bytes, g.id);
    })();
  }

  // ---- events ---------------------------------------------------------------------------------------

  /**
   * Stores a batch under CloudWatch's rules (`checkPutBatch`): all of its accepted events, or,
   * when the batch fails, nothing. The sequence token is not needed, as in CloudWatch today.
   */
  putLogEvents(groupName: string, streamName: string, events: readonly InputLogEvent[]): PutLogEventsResponse {
    const now = this.#now();
    return this.#db.transaction(() => {
      const g = this.requireGroup(groupName);
      const s = this.requireStream(g, streamName);
      const checked = checkPutBatch(events, now, g.retention_days ?? undefined);
      let bytes = 0;
      for (let i = checked.first; i < checked.end; i++) {
        const e = events[i]!;
        this.#s.insertEvent.run(g.id, s.id, e.timestamp!, now, e.message!);
        bytes += Buffer.byteLength(e.message!, 'utf8');
      }
      if (checked.end > checked.first) {
        this.#s.touchStream.run({ first: events[checked.first]!.timestamp!, last: events[checked.end - 1]!.timestamp!, now, id: s.id });
        this.#s.addStored.run(bytes, g.id);
      }
      const out: PutLogEventsResponse = { nextSequenceToken: sequenceToken(s.sequence + 1) };
      if (checked.rejected) out.rejectedLogEventsInfo = checked.rejected;
      return out;
    })();
  }

  /**
   * One page of a stream in timestamp order. Without a token: the first page from the head when
   * `startFromHead`, else the last page. `f/` tokens read on after a position, `b/` tokens back
   * before one; at either end the token passed in comes back unchanged.
   */
  getLogEvents(q: {
    groupName: string; streamName: string; startTime?: number; endTime?: number; nextToken?: string; limit?: number; startFromHead?: boolean;
  }): GetLogEventsResponse {
    const g = this.requireGroup(q.groupName);
    const s = this.requireStream(g, q.streamName);
    const limit = q.limit ?? READ_LIMITS.maxEvents;
    const from = q.startTime ?? 0;
    const to = q.endTime ?? Number.MAX_SAFE_INTEGER;
    let forward = q.startFromHead === true;
    let at: Position = forward ? HEAD : { ts: Number.MAX_SAFE_INTEGER, id: Number.MAX_SAFE_INTEGER };
    if (q.nextToken !== undefined) {
      const t = decodePositionToken(q.nextToken);
      if (t.streamId !== s.id) throw invalidToken();
      forward = t.direction === 'f';
      at = t.position;
    }
    const rows = forward
      ? this.#s.streamAfter.all(s.id, at.ts, at.id, from, to, limit)
      : this.#s.streamBefore.all(s.id, at.ts, at.id, from, to, limit).reverse();
    const events = capBytes(rows, forward);
    if (events.length === 0) {
      const p = q.nextToken === undefined ? HEAD : at;
      return { events: [], nextForwardToken: positionToken('f', s.id, p), nextBackwardToken: positionToken('b', s.id, p) };
    }
    return {
      events: events.map((r): OutputLogEvent => ({ timestamp: r.ts, message: r.message, ingestionTime: r.ingestion_ms })),
      nextForwardToken: positionToken('f', s.id, events[events.length - 1]!),
      nextBackwardToken: positionToken('b', s.id, events[0]!),
    };
  }

  /**
   * Events of a group matching `filterPattern`, in (timestamp, ingestion) order, from the streams
   * named or prefixed (not both), `startTime` ≤ timestamp ≤ `endTime`. A page ends at `limit`
   * events, 1 MiB of messages, or after a bounded scan; `nextToken` is then where to go on from.
   */
  filterLogEvents(q: {
    groupName: string; streamNames?: string[]; streamPrefix?: string; startTime?: number; endTime?: number;
    filterPattern?: string; nextToken?: string; limit?: number;
  }): { events: FilteredLogEvent[]; nextToken?: string } {
    if (q.streamNames !== undefined && q.streamPrefix !== undefined) {
      throw new InvalidParameterException('logStreamNames and logStreamNamePrefix cannot both be specified.');
    }
    let matches: MessagePredicate;
    try {
      matches = compileFilterPattern(q.filterPattern);
    } catch (err) {
      if (err instanceof FilterPatternError) throw new InvalidParameterException(err.message);
      throw err;
    }
    const g = this.requireGroup(q.groupName);
    let at = HEAD;
    if (q.nextToken !== undefined) {
      const raw = decodeToken(q.nextToken, 'e');
      const [gid, ts, id] = raw.split('/').map(Number);
      if (gid !== g.id || !Number.isSafeInteger(ts) || !Number.isSafeInteger(id)) throw invalidToken();
      at = { ts: ts!, id: id! };
    }
    const names = this.streamNamesOf(g, q.streamNames, q.streamPrefix);
    if (names.size === 0) return { events: [] };
    const limit = q.limit ?? READ_LIMITS.maxEvents;
    const from = q.startTime ?? 0;
    const to = q.endTime ?? Number.MAX_SAFE_INTEGER;
    const events: FilteredLogEvent[] = [];
    let bytes = 0;
    let scanned = 0;
    for (;;) {
      const rows = this.#s.groupAfter.all(g.id, at.ts, at.id, from, to, SCAN_CHUNK);
      for (const r of rows) {
        scanned++;
        const streamName = names.get(r.stream_id);
        if (streamName !== undefined && matches(r.message)) {
          const size = Buffer.byteLength(r.message, 'utf8');
          if (events.length >= limit || (bytes + size > READ_LIMITS.maxBytes && events.length > 0)) {
            return { events, nextToken: encodeToken('e', `${g.id}/${at.ts}/${at.id}`) };
          }
          bytes += size;
          events.push({ logStreamName: streamName, timestamp: r.ts, message: r.message, ingestionTime: r.ingestion_ms, eventId: String(r.id) });
        }
        at = { ts: r.ts, id: r.id };
        if (scanned >= FILTER_SCAN_BUDGET) return { events, nextToken: encodeToken('e', `${g.id}/${at.ts}/${at.id}`) };
      }
      if (rows.length < SCAN_CHUNK) return { events };
    }
  }

  /**
   * Deletes the events older than their group's retention, a bounded chunk per transaction.
   * Answers how many were deleted.
   */
  sweepRetention(): number {
    const now = this.#now();
    let deleted = 0;
    for (const g of this.#s.retained.all()) {
      const before = now - g.retention_days! * 86_400_000;
      for (;;) {
        const n = this.#db.transaction(() => {
          const rows = this.#s.expiredChunk.all(g.id, before, SWEEP_CHUNK);
          let bytes = 0;
          for (const r of rows) {
            this.#s.deleteEvent.run(r.id);
            bytes += r.bytes;
          }
          this.#s.addStored.run(-bytes, g.id);
          return rows.length;
        })();
        deleted += n;
        if (n < SWEEP_CHUNK) break;
      }
    }
    return deleted;
  }

  // ---- helpers --------------------------------------------------------------------------------------

  private requireGroup(name: string): GroupRow {
    const g = this.#s.group.get(name);
    if (!g) throw new ResourceNotFoundException('The specified log group does not exist.');
    return g;
  }

  private requireStream(g: GroupRow, name: string): StreamRow {
    const s = this.#s.stream.get(g.id, name);
    if (!s) throw new ResourceNotFoundException('The specified log stream does not exist.');
    return s;
  }

  /** Stream id → name for the streams a FilterLogEvents call reads. */
  private streamNamesOf(g: GroupRow, names: string[] | undefined, prefix: string | undefined): Map<number, string> {
    const rows = this.#db.prepare<[{ group: number; prefix: string }], { id: number; name: string }>(
      'SELECT id, name FROM log_streams WHERE group_id = @group AND substr(name, 1, length(@prefix)) = @prefix').all({ group: g.id, prefix: prefix ?? '' });
    const wanted = names === undefined ? undefined : new Set(names);
    return new Map(rows.filter((r) => !wanted || wanted.has(r.name)).map((r) => [r.id, r.name]));
  }

  private groupArn(name: string, star: boolean): string {
    const { partition, region, accountId } = this.#scope;
    return `arn:${partition}:logs:${region}:${accountId}:log-group:${name}${star ? ':*' : ''}`;
  }

  private presentGroup(g: GroupRow): LogGroup {
    return {
      logGroupName: g.name,
      creationTime: g.created_ms,
      ...(g.retention_days !== null ? { retentionInDays: g.retention_days } : {}),
      metricFilterCount: 0,
      arn: this.groupArn(g.name, true),
      storedBytes: g.stored_bytes,
      logGroupClass: 'STANDARD',
      logGroupArn: this.groupArn(g.name, false),
    };
  }

  private presentStream(groupName: string, s: StreamRow): LogStream {
    return {
      logStreamName: s.name,
      creationTime: s.created_ms,
      ...(s.first_event_ms !== null ? { firstEventTimestamp: s.first_event_ms } : {}),
      ...(s.last_event_ms !== null ? { lastEventTimestamp: s.last_event_ms } : {}),
      ...(s.last_ingestion_ms !== null ? { lastIngestionTime: s.last_ingestion_ms } : {}),
      uploadSequenceToken: sequenceToken(s.sequence + 1),
      arn: `${this.groupArn(groupName, false)}:log-stream:${s.name}`,
      // Deprecated by CloudWatch, which always answers 0.
      storedBytes: 0,
    };
  }
}

/** Keeps rows (in answer order) until the page's byte budget; going backwards, the newest are kept. */
function capBytes(rows: EventRow[], forward: boolean): EventRow[] {
  let bytes = 0;
  const ordered = forward ? rows : [...rows].reverse();
  let n = 0;
  for (const r of ordered) {
    bytes += Buffer.byteLength(r.message, 'utf8') + PUT_LIMITS.eventOverheadBytes;
    if (bytes > READ_LIMITS.maxBytes && n > 0) break;
    n++;
  }
  return forward ? rows.slice(0, n) : rows.slice(rows.length - n);
}

/** CloudWatch's sequence tokens are long decimal strings; they are answered but no longer checked. */
function sequenceToken(n: number): string {
  return String(n).padStart(56, '0');
}

function encodeToken(kind: string, value: string): string {
  return `${kind}/${Buffer.from(value, 'utf8').toString('base64url')}`;
}

function decodeToken(token: string, kind: string): string {
  if (!token.startsWith(`${kind}/`)) throw invalidToken();
  return Buffer.from(token.slice(kind.length + 1), 'base64url').toString('utf8');
}

function positionToken(direction: 'f' | 'b', streamId: number, p: Position): string {
  return `${direction}/${String(streamId).padStart(10, '0')}${String(p.ts + 1).padStart(16, '0')}${String(p.id).padStart(20, '0')}`;
}

function decodePositionToken(token: string): { direction: 'f' | 'b'; streamId: number; position: Position } {
  const m = /^([fb])\/(\d{10})(\d{16})(\d{20})$/.exec(token);
  if (!m) throw invalidToken();
  return { direction: m[1] as 'f' | 'b', streamId: Number(m[2]), position: { ts: Number(m[3]) - 1, id: Number(m[4]) } };
}

function invalidToken(): InvalidParameterException {
  return new InvalidParameterException('The specified nextToken is invalid.');
}
