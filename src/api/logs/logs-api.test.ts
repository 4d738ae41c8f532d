/**
 * The CloudWatch Logs API through @aws-sdk/client-cloudwatch-logs against an in-process server:
 * every operation Wharf serves, paging in both directions, filter patterns, retention on a fake
 * clock, and every fault a caller can cause (with nothing half-applied).
 */
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import {
  CloudWatchLogsClient, CreateLogGroupCommand, CreateLogStreamCommand, DeleteLogGroupCommand, DeleteLogStreamCommand,
  DeleteRetentionPolicyCommand, DescribeLogGroupsCommand, DescribeLogStreamsCommand, FilterLogEventsCommand, GetLogEventsCommand,
  PutLogEventsCommand, PutRetentionPolicyCommand, type InputLogEvent,
} from '@aws-sdk/client-cloudwatch-logs';
import { startInProcessServer, TEST_CREDENTIALS, TEST_SCOPE, type InProcessServer } from '../../testkit/in-process-server.js';

const HOUR_MS = 3_600_000;
const DAY_MS = 24 * HOUR_MS;
let nowMs = Date.UTC(2026, 0, 15, 12);
let server: InProcessServer;
let logs: CloudWatchLogsClient;

before(async () => {
  server = await startInProcessServer({ nowMs: () => nowMs });
  logs = new CloudWatchLogsClient({ endpoint: server.url, region: 'us-east-1', credentials: TEST_CREDENTIALS, maxAttempts: 1 });
});
after(async () => {
  logs?.destroy();
  await server?.close();
});

async function rejectsWith(p: Promise<unknown>, name: string, message?: RegExp): Promise<void> {
  await assert.rejects(p, (err: Error) => {
    assert.equal(err.name, name, err.message);
    if (message) assert.match(err.message, message);
    return true;
  });
}

async function stream(group: string, name: string): Promise<void> {
  await logs.send(new CreateLogGroupCommand({ logGroupName: group })).catch((err: Error) => {
    if (err.name !== 'ResourceAlreadyExistsException') throw err;
  });
  await logs.send(new CreateLogStreamCommand({ logGroupName: group, logStreamName: name }));
}

const put = (group: string, name: string, logEvents: InputLogEvent[]) =>
  logs.send(new PutLogEventsCommand({ logGroupName: group, logStreamName: name, logEvents }));

describe('log groups', () => {
  it('creates, describes with ARNs, pages, and deletes', async () => {
    for (const n of ['/ecs/a', '/ecs/b', '/ecs/c', 'other']) await logs.send(new CreateLogGroupCommand({ logGroupName: n }));
    await rejectsWith(logs.send(new CreateLogGroupCommand({ logGroupName: '/ecs/a' })), 'ResourceAlreadyExistsException');
    const first = await logs.send(new DescribeLogGroupsCommand({ logGroupNamePrefix: '/ecs/', limit: 2 }));
    assert.deepEqual(first.logGroups!.map((g) => g.logGroupName), ['/ecs/a', '/ecs/b']);
    const g = first.logGroups![0]!;
    assert.equal(g.arn, `arn:aws:logs:us-east-1:${TEST_SCOPE.accountId}:log-group:/ecs/a:*`);
    assert.equal(g.logGroupArn, `arn:aws:logs:us-east-1:${TEST_SCOPE.accountId}:log-group:/ecs/a`);
    assert.equal(g.creationTime, nowMs);
    assert.equal(g.storedBytes, 0);
    const second = await logs.send(new DescribeLogGroupsCommand({ logGroupNamePrefix: '/ecs/', limit: 2, nextToken: first.nextToken! }));
    assert.deepEqual(second.logGroups!.map((x) => x.logGroupName), ['/ecs/c']);
    assert.equal(second.nextToken, undefined);
    const byPattern = await logs.send(new DescribeLogGroupsCommand({ logGroupNamePattern: 'ecs/b' }));
    assert.deepEqual(byPattern.logGroups!.map((x) => x.logGroupName), ['/ecs/b']);
    await rejectsWith(logs.send(new DescribeLogGroupsCommand({ logGroupNamePattern: 'b', logGroupNamePrefix: '/' })), 'InvalidParameterException', /mutually exclusive/);
    await rejectsWith(logs.send(new DescribeLogGroupsCommand({ nextToken: 'garbage' })), 'InvalidParameterException', /nextToken/);
    await logs.send(new DeleteLogGroupCommand({ logGroupName: 'other' }));
    await rejectsWith(logs.send(new DeleteLogGroupCommand({ logGroupName: 'other' })), 'ResourceNotFoundException', /log group does not exist/);
  });

  it('refuses invalid names and classes it does not keep', async () => {
    await rejectsWith(logs.send(new CreateLogGroupCommand({ logGroupName: 'bad name!' })), 'InvalidParameterException', /logGroupName/);
    await rejectsWith(logs.send(new CreateLogGroupCommand({ logGroupName: 'x', logGroupClass: 'INFREQUENT_ACCESS' })), 'InvalidParameterException');
    await rejectsWith(logs.send(new CreateLogStreamCommand({ logGroupName: '/ecs/a', logStreamName: 'a:b' })), 'InvalidParameterException', /logStreamName/);
  });

  it('sets and removes retention, refusing periods CloudWatch does not offer', async () => {
    await logs.send(new PutRetentionPolicyCommand({ logGroupName: '/ecs/a', retentionInDays: 7 }));
    let g = (await logs.send(new DescribeLogGroupsCommand({ logGroupNamePrefix: '/ecs/a' }))).logGroups![0]!;
    assert.equal(g.retentionInDays, 7);
    await rejectsWith(logs.send(new PutRetentionPolicyCommand({ logGroupName: '/ecs/a', retentionInDays: 2 })), 'InvalidParameterException', /retentionInDays/);
    await rejectsWith(logs.send(new PutRetentionPolicyCommand({ logGroupName: 'nope', retentionInDays: 1 })), 'ResourceNotFoundException');
    await logs.send(new DeleteRetentionPolicyCommand({ logGroupName: '/ecs/a' }));
    g = (await logs.send(new DescribeLogGroupsCommand({ logGroupNamePrefix: '/ecs/a' }))).logGroups![0]!;
    assert.equal(g.retentionInDays, undefined);
  });
});

describe('log streams', () => {
  it('creates, orders by name or last event time, pages, and deletes', async () => {
    for (const n of ['s1', 's2', 's3']) await stream('/streams', n);
    await rejectsWith(logs.send(new CreateLogStreamCommand({ logGroupName: '/streams', logStreamName: 's1' })), 'ResourceAlreadyExistsException');
    await rejectsWith(logs.send(new CreateLogStreamCommand({ logGroupName: '/none', logStreamName: 's1' })), 'ResourceNotFoundException');
    await put('/streams', 's3', [{ timestamp: nowMs - 3000, message: 'old' }]);
    await put('/streams', 's1', [{ timestamp: nowMs - 1000, message: 'new' }]);
    const byName = await logs.send(new DescribeLogStreamsCommand({ logGroupName: '/streams', limit: 2 }));
    assert.deepEqual(byName.logStreams!.map((s) => s.logStreamName), ['s1', 's2']);
    const rest = await logs.send(new DescribeLogStreamsCommand({ logGroupName: '/streams', limit: 2, nextToken: byName.nextToken! }));
    assert.deepEqual(rest.logStreams!.map((s) => s.logStreamName), ['s3']);
    const recent = await logs.send(new DescribeLogStreamsCommand({ logGroupName: '/streams', orderBy: 'LastEventTime', descending: true, limit: 1 }));
    assert.deepEqual(recent.logStreams!.map((s) => s.logStreamName), ['s1']);
    const recent2 = await logs.send(new DescribeLogStreamsCommand({
      logGroupIdentifier: `arn:aws:logs:us-east-1:${TEST_SCOPE.accountId}:log-group:/streams`, orderBy: 'LastEventTime', descending: true, nextToken: recent.nextToken!,
    }));
    assert.deepEqual(recent2.logStreams!.map((s) => s.logStreamName), ['s3', 's2']);
    const s1 = byName.logStreams![0]!;
    assert.equal(s1.lastEventTimestamp, nowMs - 1000);
    assert.equal(s1.firstEventTimestamp, nowMs - 1000);
    assert.equal(s1.lastIngestionTime, nowMs);
    assert.equal(s1.arn, `arn:aws:logs:us-east-1:${TEST_SCOPE.accountId}:log-group:/streams:log-stream:s1`);
    await rejectsWith(logs.send(new DescribeLogStreamsCommand({ logGroupName: '/streams', orderBy: 'LastEventTime', logStreamNamePrefix: 's' })),
      'InvalidParameterException', /LastEventTime/);
    await rejectsWith(logs.send(new DescribeLogStreamsCommand({})), 'InvalidParameterException', /logGroupName/);
    await rejectsWith(logs.send(new DescribeLogStreamsCommand({ logGroupName: '/streams', orderBy: 'Size' as 'LogStreamName' })), 'InvalidParameterException', /orderBy/);
    await logs.send(new DeleteLogStreamCommand({ logGroupName: '/streams', logStreamName: 's1' }));
    await rejectsWith(logs.send(new DeleteLogStreamCommand({ logGroupName: '/streams', logStreamName: 's1' })), 'ResourceNotFoundException', /log stream does not exist/);
    await rejectsWith(logs.send(new GetLogEventsCommand({ logGroupName: '/streams', logStreamName: 's1' })), 'ResourceNotFoundException');
  });
});

describe('PutLogEvents', () => {
  it('stores a batch, ignores sequence tokens, and counts stored bytes', async () => {
    await stream('/put', 'a');
    const r1 = await put('/put', 'a', [{ timestamp: nowMs - 10, message: 'héllo' }, { timestamp: nowMs - 5, message: 'world' }]);
    assert.match(r1.nextSequenceToken!, /^\d+$/);
    assert.equal(r1.rejectedLogEventsInfo, undefined);
    await logs.send(new PutLogEventsCommand({ logGroupName: '/put', logStreamName: 'a', sequenceToken: 'stale', logEvents: [{ timestamp: nowMs, message: '!' }] }));
    const events = (await logs.send(new GetLogEventsCommand({ logGroupName: '/put', logStreamName: 'a', startFromHead: true }))).events!;
    assert.deepEqual(events.map((e) => e.message), ['héllo', 'world', '!']);
    assert.equal(events[0]!.ingestionTime, nowMs);
    const g = (await logs.send(new DescribeLogGroupsCommand({ logGroupNamePrefix: '/put' }))).logGroups![0]!;
    assert.equal(g.storedBytes, 6 + 5 + 1);
  });

  it('rejects too old, expired and too new events into rejectedLogEventsInfo, keeping the rest', async () => {
    await stream('/put-window', 'a');
    await logs.send(new PutRetentionPolicyCommand({ logGroupName: '/put-window', retentionInDays: 1 }));
    const r = await put('/put-window', 'a', [
      { timestamp: nowMs - 15 * DAY_MS, message: 'too old' },
      { timestamp: nowMs - 2 * DAY_MS, message: 'expired' },
      { timestamp: nowMs - HOUR_MS, message: 'kept' },
      { timestamp: nowMs + 3 * HOUR_MS, message: 'too new' },
    ]);
    assert.deepEqual(r.rejectedLogEventsInfo, { tooOldLogEventEndIndex: 0, expiredLogEventEndIndex: 1, tooNewLogEventStartIndex: 3 });
    const events = (await logs.send(new GetLogEventsCommand({ logGroupName: '/put-window', logStreamName: 'a' }))).events!;
    assert.deepEqual(events.map((e) => e.message), ['kept']);
  });

  it('fails a whole batch over the limits, storing none of it', async () => {
    await stream('/put-limits', 'a');
    const big = 'x'.repeat(262_144 - 26 + 1);
    await rejectsWith(put('/put-limits', 'a', [{ timestamp: nowMs, message: 'fine' }, { timestamp: nowMs, message: big }]),
      'InvalidParameterException', /Log event too large: logEvents\[1\]/);
    const quarter = 'y'.repeat(262_144 - 26);
    await rejectsWith(put('/put-limits', 'a', Array.from({ length: 5 }, () => ({ timestamp: nowMs, message: quarter }))),
      'InvalidParameterException', /Upload too large: 1310720 bytes exceeds limit of 1048576/);
    await rejectsWith(put('/put-limits', 'a', Array.from({ length: 10_001 }, () => ({ timestamp: nowMs, message: 'm' }))),
      'InvalidParameterException', /logEvents/);
    await rejectsWith(put('/put-limits', 'a', [{ timestamp: nowMs, message: 'b' }, { timestamp: nowMs - 1, message: 'a' }]),
      'InvalidParameterException', /chronological order/);
    await rejectsWith(put('/put-limits', 'a', [{ timestamp: nowMs - 25 * HOUR_MS, message: 'a' }, { timestamp: nowMs, message: 'b' }]),
      'InvalidParameterException', /24 hours/);
    await rejectsWith(put('/put-limits', 'a', [{ timestamp: nowMs, message: '' }]), 'InvalidParameterException', /message/);
    await rejectsWith(put('/put-limits', 'a', []), 'InvalidParameterException', /logEvents/);
    await rejectsWith(put('/put-limits', 'missing', [{ timestamp: nowMs, message: 'a' }]), 'ResourceNotFoundException', /log stream/);
    await rejectsWith(put('/put-missing', 'a', [{ timestamp: nowMs, message: 'a' }]), 'ResourceNotFoundException', /log group/);
    const events = (await logs.send(new GetLogEventsCommand({ logGroupName: '/put-limits', logStreamName: 'a' }))).events!;
    assert.deepEqual(events, []);
  });

  it('refuses a request body over the Logs limit before reading it', async () => {
    const huge = 'h'.repeat(1024 * 1024);
    await rejectsWith(put('/put-limits', 'a', Array.from({ length: 8 }, () => ({ timestamp: nowMs, message: huge }))), 'RequestEntityTooLargeException');
  });

  it('takes a full 1 MiB batch of 10,000 events, whose JSON is larger than the server\'s 1 MiB ECS limit', async () => {
    await stream('/put-full', 'a');
    const msg = 'z'.repeat(Math.floor(1_048_576 / 10_000) - 26);
    const r = await put('/put-full', 'a', Array.from({ length: 10_000 }, (_, i) => ({ timestamp: nowMs - 10_000 + i, message: msg })));
    assert.equal(r.rejectedLogEventsInfo, undefined);
  });
});

describe('GetLogEvents', () => {
  before(async () => {
    await stream('/get', 'a');
    await put('/get', 'a', Array.from({ length: 25 }, (_, i) => ({ timestamp: nowMs - 1000 + Math.floor(i / 2), message: `line ${i}` })));
  });
  const get = (o: Partial<{ nextToken: string; startFromHead: boolean; limit: number; startTime: number; endTime: number }>) =>
    logs.send(new GetLogEventsCommand({ logGroupName: '/get', logStreamName: 'a', ...o }));
  const msgs = (r: { events?: { message?: string }[] }) => r.events!.map((e) => e.message);

  it('reads forward from the head, and the token stays put at the end', async () => {
    const p1 = await get({ startFromHead: true, limit: 10 });
    assert.deepEqual(msgs(p1), Array.from({ length: 10 }, (_, i) => `line ${i}`));
    assert.match(p1.nextForwardToken!, /^f\//);
    assert.match(p1.nextBackwardToken!, /^b\//);
    const p2 = await get({ nextToken: p1.nextForwardToken!, limit: 10 });
    assert.deepEqual(msgs(p2), Array.from({ length: 10 }, (_, i) => `line ${i + 10}`));
    const p3 = await get({ nextToken: p2.nextForwardToken!, limit: 10 });
    assert.deepEqual(msgs(p3), Array.from({ length: 5 }, (_, i) => `line ${i + 20}`));
    const end = await get({ nextToken: p3.nextForwardToken!, limit: 10 });
    assert.deepEqual(end.events, []);
    assert.equal(end.nextForwardToken, p3.nextForwardToken);
    const back = await get({ nextToken: p3.nextBackwardToken!, limit: 10 });
    assert.deepEqual(msgs(back), Array.from({ length: 10 }, (_, i) => `line ${i + 10}`));
  });

  it('starts from the tail by default and reads backward to the head', async () => {
    const last = await get({ limit: 10 });
    assert.deepEqual(msgs(last), Array.from({ length: 10 }, (_, i) => `line ${i + 15}`));
    const before1 = await get({ nextToken: last.nextBackwardToken!, limit: 10 });
    assert.deepEqual(msgs(before1), Array.from({ length: 10 }, (_, i) => `line ${i + 5}`));
    const before2 = await get({ nextToken: before1.nextBackwardToken!, limit: 10 });
    assert.deepEqual(msgs(before2), Array.from({ length: 5 }, (_, i) => `line ${i}`));
    const head = await get({ nextToken: before2.nextBackwardToken!, limit: 10 });
    assert.deepEqual(head.events, []);
    assert.equal(head.nextBackwardToken, before2.nextBackwardToken);
  });

  it('keeps to startTime (inclusive) and endTime (exclusive)', async () => {
    const r = await get({ startFromHead: true, startTime: nowMs - 1000 + 2, endTime: nowMs - 1000 + 4 });
    assert.deepEqual(msgs(r), ['line 4', 'line 5', 'line 6', 'line 7']);
  });

  it('refuses tokens it did not give for this stream', async () => {
    await stream('/get', 'b');
    const other = await logs.send(new GetLogEventsCommand({ logGroupName: '/get', logStreamName: 'b' }));
    await rejectsWith(get({ nextToken: other.nextForwardToken! }), 'InvalidParameterException', /nextToken/);
    await rejectsWith(get({ nextToken: 'f/nonsense' }), 'InvalidParameterException', /nextToken/);
    await rejectsWith(logs.send(new GetLogEventsCommand({ logGroupName: '/get', logGroupIdentifier: '/get', logStreamName: 'a' })),
      'InvalidParameterException', /Exactly one of logGroupName and logGroupIdentifier/);
    await rejectsWith(get({ limit: 10_001 }), 'InvalidParameterException', /limit/);
  });
});

describe('FilterLogEvents', () => {
  before(async () => {
    await stream('/filter', 'app/web/1');
    await stream('/filter', 'app/web/2');
    await stream('/filter', 'db/1');
    await put('/filter', 'app/web/1', [
      { timestamp: nowMs - 50, message: 'ERROR disk full' },
      { timestamp: nowMs - 30, message: '{"level":"error","latency":300}' },
    ]);
    await put('/filter', 'app/web/2', [
      { timestamp: nowMs - 40, message: 'INFO started' },
      { timestamp: nowMs - 20, message: '{"level":"info","latency":3}' },
    ]);
    await put('/filter', 'db/1', [{ timestamp: nowMs - 45, message: 'ERROR db down' }]);
  });
  const filter = (o: Record<string, unknown>) => logs.send(new FilterLogEventsCommand({ logGroupName: '/filter', ...o }));
  const msgs = (r: { events?: { message?: string }[] }) => r.events!.map((e) => e.message);

  it('interleaves the streams of a group in timestamp order with stream names and event ids', async () => {
    const r = await filter({});
    assert.deepEqual(msgs(r), ['ERROR disk full', 'ERROR db down', 'INFO started', '{"level":"error","latency":300}', '{"level":"info","latency":3}']);
    assert.deepEqual(r.events!.map((e) => e.logStreamName), ['app/web/1', 'db/1', 'app/web/2', 'app/web/1', 'app/web/2']);
    assert.equal(new Set(r.events!.map((e) => e.eventId)).size, 5);
    assert.equal(r.nextToken, undefined);
  });

  it('filters by pattern, streams, prefix and time', async () => {
    assert.deepEqual(msgs(await filter({ filterPattern: 'ERROR' })), ['ERROR disk full', 'ERROR db down']);
    assert.deepEqual(msgs(await filter({ filterPattern: '{ $.level = "error" }' })), ['{"level":"error","latency":300}']);
    assert.deepEqual(msgs(await filter({ filterPattern: '{ $.latency < 10 }' })), ['{"level":"info","latency":3}']);
    assert.deepEqual(msgs(await filter({ filterPattern: 'ERROR', logStreamNamePrefix: 'db/' })), ['ERROR db down']);
    assert.deepEqual(msgs(await filter({ logStreamNames: ['app/web/2'] })), ['INFO started', '{"level":"info","latency":3}']);
    assert.deepEqual(msgs(await filter({ startTime: nowMs - 40, endTime: nowMs - 30 })), ['INFO started', '{"level":"error","latency":300}']);
  });

  it('pages with nextToken', async () => {
    const seen: string[] = [];
    let token: string | undefined;
    do {
      const r = await filter({ limit: 2, ...(token ? { nextToken: token } : {}) });
      assert.ok(r.events!.length <= 2);
      seen.push(...msgs(r) as string[]);
      token = r.nextToken;
    } while (token);
    assert.equal(seen.length, 5);
    assert.deepEqual(seen, msgs(await filter({})));
  });

  it('refuses invalid patterns and conflicting parameters', async () => {
    await rejectsWith(filter({ filterPattern: '{ $.level = ' }), 'InvalidParameterException', /filter pattern/);
    await rejectsWith(filter({ filterPattern: '"open' }), 'InvalidParameterException', /unterminated quoted string/);
    await rejectsWith(filter({ logStreamNames: ['a'], logStreamNamePrefix: 'a' }), 'InvalidParameterException', /logStreamNames/);
    await rejectsWith(filter({ nextToken: 'e/bad' }), 'InvalidParameterException', /nextToken/);
    await rejectsWith(logs.send(new FilterLogEventsCommand({ logGroupName: '/nothing' })), 'ResourceNotFoundException');
  });
});

describe('retention', () => {
  it('the sweep deletes events older than the group keeps, and only those', async () => {
    await stream('/retained', 'a');
    await stream('/forever', 'a');
    const start = nowMs;
    for (const g of ['/retained', '/forever']) {
      await put(g, 'a', [{ timestamp: start - 2 * HOUR_MS, message: 'early' }, { timestamp: start, message: 'late' }]);
    }
    await logs.send(new PutRetentionPolicyCommand({ logGroupName: '/retained', retentionInDays: 1 }));
    nowMs = start + DAY_MS - HOUR_MS;
    assert.equal(server.server.sweepLogRetention(), 1);
    assert.deepEqual((await logs.send(new GetLogEventsCommand({ logGroupName: '/retained', logStreamName: 'a' }))).events!.map((e) => e.message), ['late']);
    assert.deepEqual((await logs.send(new GetLogEventsCommand({ logGroupName: '/forever', logStreamName: 'a' }))).events!.map((e) => e.message), ['early', 'late']);
    const g = (await logs.send(new DescribeLogGroupsCommand({ logGroupNamePrefix: '/retained' }))).logGroups![0]!;
    assert.equal(g.storedBytes, 4);
    nowMs = start;
  });

  it('deleting a group removes its streams and events', async () => {
    await logs.send(new DeleteLogGroupCommand({ logGroupName: '/retained' }));
    await stream('/retained', 'a');
    assert.deepEqual((await logs.send(new GetLogEventsCommand({ logGroupName: '/retained', logStreamName: 'a' }))).events, []);
  });
});
