/**
 * CloudWatch through a real in-process server: the JS SDK (awsJson 1.0, query compatible), signed
 * awsQuery form POSTs (what the Debian CLI sends) and RPC v2 CBOR (what botocore 1.43 sends), the
 * ECS metrics computed from an agent's TelemetryReport, alarms evaluated on demand, /metrics.
 */
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { request, type IncomingHttpHeaders } from 'node:http';
import { gzipSync } from 'node:zlib';
import {
  CloudWatchClient, DeleteAlarmsCommand, DescribeAlarmHistoryCommand, DescribeAlarmsCommand, GetMetricDataCommand,
  GetMetricStatisticsCommand, ListMetricsCommand, PutMetricAlarmCommand, PutMetricDataCommand, SetAlarmStateCommand,
} from '@aws-sdk/client-cloudwatch';
import { CreateClusterCommand, CreateServiceCommand, RegisterTaskDefinitionCommand } from '@aws-sdk/client-ecs';
import { decodeCbor, encodeCbor } from '../protocol/cbor.js';
import { signRequest } from '../../sigv4/index.js';
import { startFakeAgent, type FakeAgent } from '../../testkit/fake-agent.js';
import { startInProcessServer, TEST_CREDENTIALS, type InProcessServer } from '../../testkit/in-process-server.js';

let h: InProcessServer;
let cw: CloudWatchClient;
const minute = (ms: number) => Math.floor(ms / 60_000) * 60_000;

before(async () => {
  h = await startInProcessServer();
  cw = new CloudWatchClient({ endpoint: h.url, region: 'us-east-1', credentials: TEST_CREDENTIALS, maxAttempts: 1 });
});
after(async () => {
  cw.destroy();
  await h.close();
});

const rejection = (p: Promise<unknown>) => p.then(() => undefined, (e: unknown) => e as { name: string; message: string; Code?: string; $metadata?: { httpStatusCode?: number } });

interface Raw { status: number; headers: IncomingHttpHeaders; body: Buffer }

function raw(path: string, body: Buffer | string, headers: Record<string, string>): Promise<Raw> {
  const url = new URL(path, h.url);
  const all: Record<string, string> = { host: url.host, 'content-length': String(Buffer.byteLength(body)), ...headers };
  Object.assign(all, signRequest({ method: 'POST', url, headers: all, body }, TEST_CREDENTIALS, { region: 'us-east-1', service: 'monitoring' }));
  return new Promise((resolve, reject) => {
    const req = request(url, { method: 'POST', headers: all }, (res) => {
      const parts: Buffer[] = [];
      res.on('data', (c: Buffer) => parts.push(c));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, headers: res.headers, body: Buffer.concat(parts) }));
      res.on('error', reject);
    });
    req.on('error', reject);
    req.end(body);
  });
}

const query = (params: Record<string, string>) =>
  raw('/', new URLSearchParams({ Version: '2010-08-01', ...params }).toString(), { 'content-type': 'application/x-www-form-urlencoded; charset=utf-8' });
const cbor = (operation: string, input: unknown) =>
  raw(`/service/GraniteServiceVersion20100801/operation/${operation}`, Buffer.from(encodeCbor(input)),
    { 'content-type': 'application/cbor', accept: 'application/cbor', 'smithy-protocol': 'rpc-v2-cbor' });

describe('CloudWatch metrics API', () => {
  const now = Date.now();
  const t0 = minute(now) - 5 * 60_000;

  before(async () => {
    await cw.send(new PutMetricDataCommand({
      Namespace: 'App/Jobs',
      MetricData: [
        { MetricName: 'Done', Dimensions: [{ Name: 'Queue', Value: 'q1' }], Timestamp: new Date(t0), Value: 10, Unit: 'Count' },
        { MetricName: 'Done', Dimensions: [{ Name: 'Queue', Value: 'q1' }], Timestamp: new Date(t0 + 20_000), Value: 30, Unit: 'Count' },
        { MetricName: 'Done', Dimensions: [{ Name: 'Queue', Value: 'q1' }], Timestamp: new Date(t0 + 60_000), StatisticValues: { SampleCount: 2, Sum: 8, Minimum: 3, Maximum: 5 }, Unit: 'Count' },
        { MetricName: 'Done', Dimensions: [{ Name: 'Queue', Value: 'q2' }], Timestamp: new Date(t0 + 60_000), Values: [1, 2], Counts: [3, 1], Unit: 'Count' },
      ],
    }));
  });

  it('GetMetricStatistics answers the requested statistics per period (SDK, awsJson 1.0)', async () => {
    const out = await cw.send(new GetMetricStatisticsCommand({
      Namespace: 'App/Jobs', MetricName: 'Done', Dimensions: [{ Name: 'Queue', Value: 'q1' }],
      StartTime: new Date(t0), EndTime: new Date(t0 + 180_000), Period: 60, Statistics: ['Sum', 'Average', 'SampleCount', 'Maximum'],
    }));
    assert.equal(out.Label, 'Done');
    const points = (out.Datapoints ?? []).sort((a, b) => a.Timestamp!.getTime() - b.Timestamp!.getTime());
    assert.deepEqual(points.map((p) => [p.Timestamp!.getTime() - t0, p.Sum, p.Average, p.SampleCount, p.Maximum, p.Minimum, p.Unit]), [
      [0, 40, 20, 2, 30, undefined, 'Count'],
      [60_000, 8, 4, 2, 5, undefined, 'Count'],
    ]);
  });

  it('an unknown metric answers no datapoints, as CloudWatch does', async () => {
    const out = await cw.send(new GetMetricStatisticsCommand({
      Namespace: 'App/Jobs', MetricName: 'Nope', StartTime: new Date(t0), EndTime: new Date(now), Period: 60, Statistics: ['Sum'],
    }));
    assert.deepEqual(out.Datapoints, []);
  });

  it('bad input answers CloudWatch errors naming the problem', async () => {
    const base = { Namespace: 'App/Jobs', MetricName: 'Done', StartTime: new Date(t0), EndTime: new Date(now), Period: 60, Statistics: ['Sum' as const] };
    let e = await rejection(cw.send(new GetMetricStatisticsCommand({ ...base, Period: 45 })));
    assert.equal(e?.name, 'InvalidParameterValueException');
    assert.match(e!.message, /Period must be 1, 5, 10, 30, or a multiple of 60/);
    assert.equal(e?.$metadata?.httpStatusCode, 400);
    e = await rejection(cw.send(new GetMetricStatisticsCommand({ ...base, StartTime: new Date(now), EndTime: new Date(t0) })));
    assert.equal(e?.name, 'InvalidParameterValueException');
    e = await rejection(cw.send(new GetMetricStatisticsCommand({ ...base, Statistics: undefined })));
    assert.equal(e?.name, 'MissingRequiredParameterException');
    e = await rejection(cw.send(new GetMetricStatisticsCommand({ ...base, StartTime: new Date(now - 2 * 86_400_000) })));
    assert.equal(e?.name, 'InvalidParameterCombinationException');
    assert.match(e!.message, /exceeds the limit of 1,440/);
    e = await rejection(cw.send(new GetMetricStatisticsCommand({ ...base, Dimensions: [{ Name: 'Queue', Value: 'a' }, { Name: 'Queue', Value: 'b' }] })));
    assert.equal(e?.name, 'InvalidParameterValueException');
    assert.match(e!.message, /duplicate dimension names: Queue/);
    e = await rejection(cw.send(new GetMetricStatisticsCommand({ ...base, Statistics: ['Median' as 'Sum'] })));
    assert.ok(e, 'an unknown statistic is refused');
    assert.match(e!.message, /Statistics/);
  });

  it('PutMetricData refuses bad data and writes nothing of a request with one bad datum', async () => {
    const put = (input: ConstructorParameters<typeof PutMetricDataCommand>[0]) => () => cw.send(new PutMetricDataCommand(input));
    const cases: [() => Promise<unknown>, string, RegExp][] = [
      [put({ Namespace: 'AWS/ECS', MetricData: [{ MetricName: 'X', Value: 1 }] }), 'InvalidParameterValueException', /AWS\/ prefix and ECS\/ContainerInsights are reserved/],
      [put({ Namespace: 'App/Bad', MetricData: [{ MetricName: 'X', Value: 1 }, { MetricName: 'Y', Value: 1, StatisticValues: { SampleCount: 1, Sum: 1, Minimum: 1, Maximum: 1 } }] }),
        'InvalidParameterCombinationException', /mutually exclusive/],
      [put({ Namespace: 'App/Bad', MetricData: [{ MetricName: 'X', Value: 1 }, { MetricName: 'Y', Timestamp: new Date(now - 20 * 86_400_000), Value: 1 }] }),
        'InvalidParameterValueException', /MetricData.member.2.Timestamp/],
      [put({ Namespace: 'App/Bad', MetricData: [{ MetricName: 'X' }] }), 'MissingRequiredParameterException', /MetricData.member.1.Value/],
      [put({ Namespace: 'App/Bad', MetricData: [{ MetricName: 'X', Values: [1, 2], Counts: [1] }] }), 'InvalidParameterValueException', /same number of members/],
    ];
    for (const [send, name, message] of cases) {
      const e = await rejection(send());
      assert.equal(e?.name, name, message.source);
      assert.match(e!.message, message);
    }
    const listed = await cw.send(new ListMetricsCommand({ Namespace: 'App/Bad' }));
    assert.deepEqual(listed.Metrics, []);
  });

  it('PutMetricData refuses to create metrics beyond the store\'s limit, writing none of the request (large requests come gzipped)', async () => {
    const room = h.server.metrics.maxSeries - h.server.metrics.userSeries;
    for (let start = 0; start < room - 1; start += 1000) {
      const n = Math.min(1000, room - 1 - start);
      await cw.send(new PutMetricDataCommand({ Namespace: 'App/Many', MetricData: Array.from({ length: n }, (_, i) => ({ MetricName: `m${start + i}`, Value: 1 })) }));
    }
    const e = await rejection(cw.send(new PutMetricDataCommand({ Namespace: 'App/Many', MetricData: [{ MetricName: 'last', Value: 1 }, { MetricName: 'one-too-many', Value: 1 }] })));
    assert.equal(e?.name, 'LimitExceededFault');
    assert.equal(h.server.metrics.userSeries, h.server.metrics.maxSeries - 1);
    // Existing metrics still take data.
    await cw.send(new PutMetricDataCommand({ Namespace: 'App/Many', MetricData: [{ MetricName: 'm0', Value: 2 }] }));
  });

  it('ListMetrics filters by namespace, name and dimensions', async () => {
    const all = await cw.send(new ListMetricsCommand({ Namespace: 'App/Jobs' }));
    assert.deepEqual(all.Metrics?.map((m) => m.Dimensions?.[0]?.Value), ['q1', 'q2']);
    const q2 = await cw.send(new ListMetricsCommand({ Dimensions: [{ Name: 'Queue', Value: 'q2' }] }));
    assert.deepEqual(q2.Metrics, [{ Namespace: 'App/Jobs', MetricName: 'Done', Dimensions: [{ Name: 'Queue', Value: 'q2' }] }]);
    const recent = await cw.send(new ListMetricsCommand({ Namespace: 'App/Jobs', RecentlyActive: 'PT3H' }));
    assert.equal(recent.Metrics?.length, 2);
    const e = await rejection(cw.send(new ListMetricsCommand({ NextToken: 'not-a-token!' })));
    assert.equal(e?.name, 'InvalidNextToken');
  });

  it('GetMetricData answers MetricStat queries and expressions over them', async () => {
    const stat = (id: string, queue: string, returnData = false) => ({
      Id: id, ReturnData: returnData,
      MetricStat: { Metric: { Namespace: 'App/Jobs', MetricName: 'Done', Dimensions: [{ Name: 'Queue', Value: queue }] }, Period: 60, Stat: 'Sum' },
    });
    const out = await cw.send(new GetMetricDataCommand({
      StartTime: new Date(t0), EndTime: new Date(t0 + 180_000), ScanBy: 'TimestampAscending',
      MetricDataQueries: [stat('a', 'q1', true), stat('b', 'q2'), { Id: 'total', Expression: '(a + b) * 2', Label: 'twice' }, { Id: 'peak', Expression: 'MAX(a)' }],
    }));
    const byId = Object.fromEntries((out.MetricDataResults ?? []).map((r) => [r.Id, r]));
    assert.deepEqual(byId['a']?.Values, [40, 8]);
    assert.deepEqual(byId['a']?.Timestamps?.map((t: Date) => t.getTime() - t0), [0, 60_000]);
    assert.equal(byId['a']?.StatusCode, 'Complete');
    // b has data only in the second minute: the sum pairs equal timestamps.
    assert.deepEqual(byId['total']?.Values, [2 * (8 + 5)]);
    assert.equal(byId['total']?.Label, 'twice');
    assert.deepEqual(byId['peak']?.Values, [40, 40]);
    assert.equal(byId['b'], undefined, 'ReturnData false is not answered');
    const e = await rejection(cw.send(new GetMetricDataCommand({
      StartTime: new Date(t0), EndTime: new Date(now), MetricDataQueries: [{ Id: 'x', Expression: 'nope * 2' }],
    })));
    assert.match(e!.message, /Unknown id nope/);
    const p99 = await rejection(cw.send(new GetMetricDataCommand({
      StartTime: new Date(t0), EndTime: new Date(now),
      MetricDataQueries: [{ Id: 'p', MetricStat: { Metric: { Namespace: 'App/Jobs', MetricName: 'Done' }, Period: 60, Stat: 'p99' } }],
    })));
    assert.match(p99!.message, /p99 .*not supported/);
    const dup = await rejection(cw.send(new GetMetricDataCommand({
      StartTime: new Date(t0), EndTime: new Date(now), MetricDataQueries: [stat('a', 'q1', true), stat('a', 'q2', true)],
    })));
    assert.match(dup!.message, /used more than once/);
  });

  it('answers awsQuery form POSTs (the Debian AWS CLI) with XML, errors as ErrorResponse', async () => {
    const ok = await query({
      Action: 'GetMetricStatistics', Namespace: 'App/Jobs', MetricName: 'Done', 'Dimensions.member.1.Name': 'Queue', 'Dimensions.member.1.Value': 'q1',
      StartTime: new Date(t0).toISOString(), EndTime: new Date(t0 + 60_000).toISOString(), Period: '60', 'Statistics.member.1': 'Sum',
    });
    assert.equal(ok.status, 200, ok.body.toString());
    const xml = ok.body.toString();
    assert.match(xml, /<GetMetricStatisticsResponse xmlns="http:\/\/monitoring.amazonaws.com\/doc\/2010-08-01\/">/);
    assert.match(xml, /<Sum>40<\/Sum>/);
    assert.match(xml, new RegExp(`<Timestamp>${new Date(t0).toISOString().replace('.000', '(\\.000)?')}</Timestamp>`));
    const bad = await query({
      Action: 'GetMetricStatistics', Namespace: 'App/Jobs', MetricName: 'Done', StartTime: new Date(t0).toISOString(),
      EndTime: new Date(now).toISOString(), Period: '7', 'Statistics.member.1': 'Sum',
    });
    assert.equal(bad.status, 400);
    assert.match(bad.body.toString(), /<Code>InvalidParameterValue<\/Code>/);
  });

  it('answers RPC v2 CBOR (botocore) with CBOR, timestamps as tag 1, errors with x-amzn-query-error', async () => {
    const ok = await cbor('GetMetricStatistics', {
      Namespace: 'App/Jobs', MetricName: 'Done', Dimensions: [{ Name: 'Queue', Value: 'q1' }],
      StartTime: new Date(t0), EndTime: new Date(t0 + 60_000), Period: 60, Statistics: ['Sum'],
    });
    assert.equal(ok.status, 200);
    assert.equal(ok.headers['smithy-protocol'], 'rpc-v2-cbor');
    assert.equal(ok.headers['content-type'], 'application/cbor');
    // Tag 1 (0xc1) precedes the timestamp.
    assert.ok(ok.body.includes(Buffer.from([0xc1])));
    assert.deepEqual(decodeCbor(ok.body), { Label: 'Done', Datapoints: [{ Timestamp: t0 / 1000, Sum: 40, Unit: 'Count' }] });
    const bad = await cbor('GetMetricStatistics', { Namespace: 'App/Jobs', MetricName: 'Done', StartTime: new Date(t0), EndTime: new Date(now), Period: 7, Statistics: ['Sum'] });
    assert.equal(bad.status, 400);
    assert.equal(bad.headers['x-amzn-query-error'], 'InvalidParameterValue;Sender');
    assert.deepEqual(Object.keys(decodeCbor(bad.body) as object), ['__type', 'message']);
    assert.equal((decodeCbor(bad.body) as { __type: string }).__type, 'com.amazonaws.monitoring#InvalidParameterValueException');
    const garbage = await raw('/service/GraniteServiceVersion20100801/operation/ListMetrics', Buffer.from([0xbf, 0x61]),
      { 'content-type': 'application/cbor', 'smithy-protocol': 'rpc-v2-cbor' });
    assert.equal(garbage.status, 400);
    assert.match((decodeCbor(garbage.body) as { message: string }).message, /not valid CBOR/);
    const unknown = await cbor('FlyToTheMoon', {});
    assert.equal(unknown.status, 404);
    const unsigned = await new Promise<number>((resolve, reject) => {
      const req = request(new URL('/service/GraniteServiceVersion20100801/operation/ListMetrics', h.url),
        { method: 'POST', headers: { 'smithy-protocol': 'rpc-v2-cbor', 'content-type': 'application/cbor' } }, (res) => { res.resume(); resolve(res.statusCode ?? 0); });
      req.on('error', reject);
      req.end(Buffer.from(encodeCbor({})));
    });
    assert.equal(unsigned, 403);
    const gzipped = await raw('/service/GraniteServiceVersion20100801/operation/ListMetrics', gzipSync(Buffer.from(encodeCbor({ Namespace: 'App/Jobs' }))),
      { 'content-type': 'application/cbor', 'smithy-protocol': 'rpc-v2-cbor', 'content-encoding': 'gzip' });
    assert.equal((decodeCbor(gzipped.body) as { Metrics: unknown[] }).Metrics.length, 2);
    const brotli = await raw('/service/GraniteServiceVersion20100801/operation/ListMetrics', Buffer.from(encodeCbor({})),
      { 'content-type': 'application/cbor', 'smithy-protocol': 'rpc-v2-cbor', 'content-encoding': 'br' });
    assert.equal(brotli.status, 400);
    assert.match((decodeCbor(brotli.body) as { message: string }).message, /Content-Encoding br is not supported/);
  });
});

describe('CloudWatch alarms', () => {
  const alarm = {
    AlarmName: 'jobs-high', Namespace: 'App/Alarms', MetricName: 'Depth', Statistic: 'Maximum' as const, Period: 60, EvaluationPeriods: 2,
    DatapointsToAlarm: 2, Threshold: 10, ComparisonOperator: 'GreaterThanThreshold' as const,
    AlarmActions: ['arn:aws:autoscaling:us-east-1:123456789012:scalingPolicy:x:resource/ecs/service/c/s:policyName/up'],
  };

  it('is created INSUFFICIENT_DATA, goes to ALARM when enough periods breach, and keeps history', async () => {
    await cw.send(new PutMetricAlarmCommand(alarm));
    let [a] = (await cw.send(new DescribeAlarmsCommand({ AlarmNames: ['jobs-high'] }))).MetricAlarms ?? [];
    assert.equal(a?.StateValue, 'INSUFFICIENT_DATA');
    assert.equal(a?.AlarmArn, 'arn:aws:cloudwatch:us-east-1:123456789012:alarm:jobs-high');
    assert.deepEqual(a?.AlarmActions, alarm.AlarmActions);
    const now = Date.now();
    await cw.send(new PutMetricDataCommand({ Namespace: 'App/Alarms', MetricData: [
      { MetricName: 'Depth', Timestamp: new Date(minute(now) - 60_000), Value: 12 },
      { MetricName: 'Depth', Timestamp: new Date(minute(now)), Value: 15 },
    ] }));
    await h.server.evaluateAlarms();
    [a] = (await cw.send(new DescribeAlarmsCommand({ AlarmNamePrefix: 'jobs-' }))).MetricAlarms ?? [];
    assert.equal(a?.StateValue, 'ALARM');
    assert.match(a!.StateReason!, /^Threshold Crossed: 2 out of the last 2 datapoints \[15 .*, 12 .*\] were greater than the threshold \(10\)/);
    assert.ok(a!.StateTransitionedTimestamp!.getTime() >= a!.AlarmConfigurationUpdatedTimestamp!.getTime());
    assert.equal(JSON.parse(a!.StateReasonData!).recentDatapoints.length, 2);
    // Nothing new: a second pass writes nothing.
    const before = await h.store.get('cloudwatch/alarms/jobs-high');
    await h.server.evaluateAlarms();
    assert.equal((await h.store.get('cloudwatch/alarms/jobs-high'))?.modRevision, before?.modRevision);
    const history = await cw.send(new DescribeAlarmHistoryCommand({ AlarmName: 'jobs-high' }));
    assert.deepEqual(history.AlarmHistoryItems?.map((i) => i.HistorySummary), ['Alarm updated from INSUFFICIENT_DATA to ALARM', 'Alarm "jobs-high" created']);
    const inAlarm = await cw.send(new DescribeAlarmsCommand({ StateValue: 'ALARM', ActionPrefix: 'arn:aws:autoscaling' }));
    assert.equal(inAlarm.MetricAlarms?.length, 1);
    const both = await rejection(cw.send(new DescribeAlarmsCommand({ AlarmNames: ['jobs-high'], AlarmNamePrefix: 'jobs' })));
    assert.equal(both?.name, 'InvalidParameterCombinationException');
  });

  it('SetAlarmState sets the state until the next evaluation; bad reason data and unknown alarms are refused', async () => {
    await cw.send(new SetAlarmStateCommand({ AlarmName: 'jobs-high', StateValue: 'OK', StateReason: 'testing' }));
    let [a] = (await cw.send(new DescribeAlarmsCommand({ AlarmNames: ['jobs-high'] }))).MetricAlarms ?? [];
    assert.deepEqual([a?.StateValue, a?.StateReason], ['OK', 'testing']);
    await h.server.evaluateAlarms();
    [a] = (await cw.send(new DescribeAlarmsCommand({ AlarmNames: ['jobs-high'] }))).MetricAlarms ?? [];
    assert.equal(a?.StateValue, 'ALARM');
    let e = await rejection(cw.send(new SetAlarmStateCommand({ AlarmName: 'jobs-high', StateValue: 'OK', StateReason: 'x', StateReasonData: '{nope' })));
    assert.equal(e?.name, 'InvalidFormatFault');
    e = await rejection(cw.send(new SetAlarmStateCommand({ AlarmName: 'nobody', StateValue: 'OK', StateReason: 'x' })));
    assert.equal(e?.name, 'ResourceNotFound');
    assert.equal(e?.$metadata?.httpStatusCode, 404);
  });

  it('PutMetricAlarm refuses what CloudWatch refuses', async () => {
    const cases: [Partial<typeof alarm> & Record<string, unknown>, string, RegExp][] = [
      [{ Period: 45 }, 'InvalidParameterValueException', /Period/],
      [{ Period: 3600, EvaluationPeriods: 25, DatapointsToAlarm: 1 }, 'InvalidParameterValueException', /one day/],
      [{ DatapointsToAlarm: 3 }, 'InvalidParameterValueException', /DatapointsToAlarm/],
      [{ Threshold: undefined }, 'MissingRequiredParameterException', /Threshold/],
      [{ TreatMissingData: 'sometimes' }, 'InvalidParameterValueException', /TreatMissingData/],
      [{ AlarmActions: ['not-an-arn'] }, 'InvalidParameterValueException', /arn/],
    ];
    for (const [change, name, message] of cases) {
      const e = await rejection(cw.send(new PutMetricAlarmCommand({ ...alarm, AlarmName: 'bad', ...change } as typeof alarm)));
      assert.equal(e?.name, name, JSON.stringify(change));
      assert.match(e!.message, message);
    }
    assert.deepEqual((await cw.send(new DescribeAlarmsCommand({ AlarmNames: ['bad'] }))).MetricAlarms, []);
  });

  it('DeleteAlarms deletes all named alarms, or none when one does not exist', async () => {
    await cw.send(new PutMetricAlarmCommand({ ...alarm, AlarmName: 'second' }));
    const e = await rejection(cw.send(new DeleteAlarmsCommand({ AlarmNames: ['second', 'ghost'] })));
    assert.equal(e?.name, 'ResourceNotFound');
    assert.match(e!.message, /ghost/);
    assert.equal((await cw.send(new DescribeAlarmsCommand({ AlarmNames: ['second'] }))).MetricAlarms?.length, 1);
    await cw.send(new DeleteAlarmsCommand({ AlarmNames: ['second', 'jobs-high'] }));
    assert.deepEqual((await cw.send(new DescribeAlarmsCommand({}))).MetricAlarms, []);
    assert.deepEqual((await cw.send(new DescribeAlarmHistoryCommand({ AlarmName: 'jobs-high' }))).AlarmHistoryItems, []);
  });
});

describe('ECS metrics from agent samples', () => {
  let agent: FakeAgent;
  after(() => agent?.close());

  it('service CPU and memory utilization, cluster reservation and task counts appear in CloudWatch and /metrics', async () => {
    await h.ecs.send(new CreateClusterCommand({ clusterName: 'default' }));
    agent = await startFakeAgent(h.url, TEST_CREDENTIALS, { simulate: {} });
    await h.ecs.send(new RegisterTaskDefinitionCommand({
      family: 'burn', cpu: '512', memory: '256', containerDefinitions: [{ name: 'c', image: 'wharf-test/busybox:latest' }],
    }));
    await h.ecs.send(new CreateServiceCommand({ serviceName: 'burn', taskDefinition: 'burn', desiredCount: 2 }));
    const manifest = await agent.waitForManifest((m) => m.tasks.length === 2, 15_000);
    const [t1, t2] = manifest.tasks.map((t) => t.taskArn);
    // Samples of a round that has ended (the controller publishes a round once it is over).
    const at = Date.now() - 25_000;
    // Wait until both tasks are RUNNING in the store (the fake agent reports them).
    for (let i = 0; i < 100; i++) {
      const tasks = await h.store.list<{ lastStatus: string }>('ecs/tasks/default/');
      if (tasks.filter((t) => t.value.lastStatus === 'RUNNING').length === 2) break;
      await new Promise((r) => setTimeout(r, 50));
    }
    agent.telemetry({ samples: [
      { taskArn: t1!, timestampMs: at, cpuUnits: 256, memoryMiB: 64 },
      { taskArn: t2!, timestampMs: at, cpuUnits: 0, memoryMiB: 128 },
      { taskArn: 'arn:aws:ecs:us-east-1:123456789012:task/default/not-mine', timestampMs: at, cpuUnits: 999, memoryMiB: 999 },
    ] });
    let cpu: { Average?: number; Minimum?: number; Maximum?: number; SampleCount?: number } | undefined;
    for (let i = 0; i < 100 && cpu === undefined; i++) {
      await new Promise((r) => setTimeout(r, 50));
      await h.server.publishEcsMetrics();
      const out = await cw.send(new GetMetricStatisticsCommand({
        Namespace: 'AWS/ECS', MetricName: 'CPUUtilization', Dimensions: [{ Name: 'ClusterName', Value: 'default' }, { Name: 'ServiceName', Value: 'burn' }],
        StartTime: new Date(at - 120_000), EndTime: new Date(Date.now() + 60_000), Period: 300, Statistics: ['Average', 'Minimum', 'Maximum', 'SampleCount'],
      }));
      cpu = out.Datapoints?.[0];
    }
    // 256 units used of 2 x 512 reserved: 25 %; per task 50 % and 0 %.
    assert.deepEqual(cpu, { Timestamp: cpu?.['Timestamp' as keyof typeof cpu], Average: 25, Minimum: 0, Maximum: 50, SampleCount: 2, Unit: 'Percent' });
    const mem = await cw.send(new GetMetricStatisticsCommand({
      Namespace: 'AWS/ECS', MetricName: 'MemoryUtilization', Dimensions: [{ Name: 'ServiceName', Value: 'burn' }, { Name: 'ClusterName', Value: 'default' }],
      StartTime: new Date(at - 120_000), EndTime: new Date(Date.now() + 60_000), Period: 300, Statistics: ['Average'],
    }));
    assert.equal(mem.Datapoints?.[0]?.Average, 37.5);
    const reservation = await cw.send(new GetMetricStatisticsCommand({
      Namespace: 'AWS/ECS', MetricName: 'CPUReservation', Dimensions: [{ Name: 'ClusterName', Value: 'default' }],
      StartTime: new Date(Date.now() - 120_000), EndTime: new Date(Date.now() + 60_000), Period: 60, Statistics: ['Maximum'],
    }));
    assert.equal(reservation.Datapoints?.[0]?.Maximum, 50); // 1024 of the fake agent's 2048
    const running = await cw.send(new GetMetricStatisticsCommand({
      Namespace: 'ECS/ContainerInsights', MetricName: 'RunningTaskCount', Dimensions: [{ Name: 'ClusterName', Value: 'default' }, { Name: 'ServiceName', Value: 'burn' }],
      StartTime: new Date(Date.now() - 120_000), EndTime: new Date(Date.now() + 60_000), Period: 60, Statistics: ['Maximum'],
    }));
    assert.equal(running.Datapoints?.[0]?.Maximum, 2);

    const res = await fetch(`${h.url}/metrics`);
    assert.equal(res.status, 200);
    assert.match(res.headers.get('content-type') ?? '', /^text\/plain; version=0.0.4/);
    const text = await res.text();
    assert.match(text, /^# TYPE cloudwatch_aws_ecs_cpu_reservation_maximum gauge$/m);
    assert.match(text, /^cloudwatch_aws_ecs_cpu_reservation_maximum\{cluster_name="default"\} 50$/m);
    assert.match(text, /^cloudwatch_ecs_container_insights_running_task_count_maximum\{cluster_name="default",service_name="burn"\} 2$/m);
  });
});
