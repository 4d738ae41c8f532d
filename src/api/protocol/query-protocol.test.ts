import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createServer, request } from 'node:http';
import type { IncomingHttpHeaders, IncomingMessage } from 'node:http';
import type { AddressInfo } from 'node:net';
import {
  CreateLoadBalancerCommand,
  CreateRuleCommand,
  DeleteLoadBalancerCommand,
  DescribeLoadBalancersCommand,
  DescribeTagsCommand,
  ElasticLoadBalancingV2Client,
  ElasticLoadBalancingV2ServiceException,
  LoadBalancerNotFoundException,
  ModifyTargetGroupCommand,
  PriorRequestNotCompleteException,
} from '@aws-sdk/client-elastic-load-balancing-v2';
import { WharfError } from '../../model/index.js';
import { signRequest } from '../../sigv4/index.js';
import type { Credentials } from '../../sigv4/index.js';
import { elbv2Model } from '../validation/index.js';
import type { ServiceModel } from '../validation/index.js';
import { createQueryProtocolHandler, isQueryProtocolRequest } from './index.js';
import type { QueryOperationHandler, QueryRequestContext } from './index.js';
import { queryInput } from './query-input.js';
import { escapeXml, queryErrorXml, queryResponseXml } from './query-xml.js';

const credentials: Credentials = { accessKeyId: 'AKIDQUERYTEST', secretAccessKey: 'query-secret' };
const MAX_BODY_BYTES = 4096;
const NS = 'http://elasticloadbalancing.amazonaws.com/doc/2015-12-01/';

interface Harness {
  port: number;
  logs: Array<Record<string, unknown>>;
  calls: Array<{ input: unknown; ctx: QueryRequestContext }>;
  close: () => Promise<void>;
}

async function withServer(handlers: Record<string, QueryOperationHandler>, run: (h: Harness) => Promise<void>, model: ServiceModel = elbv2Model): Promise<void> {
  const logs: Harness['logs'] = [];
  const calls: Harness['calls'] = [];
  const recorded = Object.fromEntries(Object.entries(handlers).map(([name, handler]): [string, QueryOperationHandler] =>
    [name, (input, ctx) => { calls.push({ input, ctx }); return handler(input, ctx); }]));
  const handle = createQueryProtocolHandler({
    services: [{ signingName: 'elasticloadbalancing', model, handlers: recorded }],
    lookupSecret: (id) => (id === credentials.accessKeyId ? credentials.secretAccessKey : undefined),
    maxBodyBytes: MAX_BODY_BYTES,
    logger: (entry) => logs.push(entry),
    logRequests: true,
  });
  const server = createServer((req, res) => {
    if (isQueryProtocolRequest(req)) handle(req, res);
    else res.writeHead(404).end();
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  try {
    await run({ port, logs, calls, close: async () => {} });
  } finally {
    server.closeAllConnections();
    await new Promise<void>((resolve) => server.close(() => resolve()));
  }
}

function sdkClient(port: number, creds: Credentials = credentials): ElasticLoadBalancingV2Client {
  return new ElasticLoadBalancingV2Client({ region: 'eu-west-1', endpoint: `http://127.0.0.1:${port}`, credentials: creds, maxAttempts: 1 });
}

interface RawResponse { status: number; headers: IncomingHttpHeaders; body: string }

/** One request: a form POST (or a GET with `query`), signed for `service` unless `unsigned`. */
function raw(port: number, init: { body?: string | Buffer; query?: string; method?: string; unsigned?: boolean; service?: string; contentType?: string }): Promise<RawResponse> {
  const method = init.method ?? 'POST';
  const body = init.body ?? '';
  const url = new URL(`http://127.0.0.1:${port}/${init.query === undefined ? '' : `?${init.query}`}`);
  const headers: Record<string, string> = { host: url.host };
  if (method === 'POST') {
    headers['content-type'] = init.contentType ?? 'application/x-www-form-urlencoded; charset=utf-8';
    headers['content-length'] = String(Buffer.byteLength(body));
  }
  const signed = init.unsigned === true
    ? {}
    : signRequest({ method, url, headers, body }, credentials, { region: 'eu-west-1', service: init.service ?? 'elasticloadbalancing' });
  return new Promise((resolve, reject) => {
    const req = request(url, { method, headers: { ...headers, ...signed } }, (res: IncomingMessage) => {
      const parts: Buffer[] = [];
      res.on('data', (c: Buffer) => parts.push(c));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, headers: res.headers, body: Buffer.concat(parts).toString('utf8') }));
      res.on('error', reject);
    });
    req.on('error', reject);
    req.end(method === 'POST' ? body : undefined);
  });
}

const rejection = (promise: Promise<unknown>): Promise<unknown> => promise.then(() => undefined, (e: unknown) => e);

test('the ELBv2 SDK round trip: lists, nested structures, booleans, integers and maps parsed; XML output read back', async () => {
  const createdTime = new Date('2024-05-17T12:34:56.789Z');
  await withServer({
    CreateLoadBalancer: async (input: { Name: string }) => ({
      LoadBalancers: [{
        LoadBalancerArn: 'arn:aws:elasticloadbalancing:eu-west-1:000000000000:loadbalancer/app/web/0123456789abcdef',
        LoadBalancerName: input.Name,
        CreatedTime: createdTime.getTime() / 1000,
        State: { Code: 'provisioning' },
        AvailabilityZones: [{ ZoneName: 'zone-a', SubnetId: 'subnet-1', LoadBalancerAddresses: [] }],
        SecurityGroups: [],
        Type: 'application',
        DNSName: 'a&b<c>.example',
        extraNotInTheShape: 'never written',
      }],
    }),
    CreateRule: async () => ({}),
    ModifyTargetGroup: async () => ({ TargetGroups: [{ TargetGroupName: 'tg', HealthCheckEnabled: false, Port: 8080, Matcher: { HttpCode: '200-299' } }] }),
  }, async ({ port, calls, logs }) => {
    const client = sdkClient(port);
    const created = await client.send(new CreateLoadBalancerCommand({
      Name: 'web', Subnets: ['subnet-1', 'subnet-2'], SecurityGroups: [],
      Tags: [{ Key: 'env', Value: 'prod' }, { Key: 'team' }], Scheme: 'internet-facing',
    }));
    assert.deepEqual(calls[0]?.input, {
      Name: 'web', Subnets: ['subnet-1', 'subnet-2'], SecurityGroups: [],
      Tags: [{ Key: 'env', Value: 'prod' }, { Key: 'team' }], Scheme: 'internet-facing',
    });
    const lb = created.LoadBalancers?.[0];
    assert.equal(lb?.LoadBalancerName, 'web');
    assert.equal(lb?.CreatedTime?.getTime(), createdTime.getTime());
    assert.equal(lb?.State?.Code, 'provisioning');
    assert.equal(lb?.DNSName, 'a&b<c>.example');
    assert.deepEqual(lb?.AvailabilityZones, [{ ZoneName: 'zone-a', SubnetId: 'subnet-1', LoadBalancerAddresses: [] }]);
    assert.equal(created.$metadata.requestId, calls[0]?.ctx.requestId);
    assert.equal(calls[0]?.ctx.operation, 'CreateLoadBalancer');
    assert.equal(calls[0]?.ctx.region, 'eu-west-1');
    assert.equal(calls[0]?.ctx.accessKeyId, credentials.accessKeyId);

    const rule = {
      ListenerArn: 'arn:l', Priority: 7,
      Conditions: [{ Field: 'path-pattern', PathPatternConfig: { Values: ['/a/*', '/b'] } }],
      Actions: [{
        Type: 'authenticate-cognito' as const, Order: 1,
        AuthenticateCognitoConfig: {
          UserPoolArn: 'arn:pool', UserPoolClientId: 'client', UserPoolDomain: 'domain',
          AuthenticationRequestExtraParams: { display: 'page', prompt: 'login' },
        },
      }],
    };
    await client.send(new CreateRuleCommand(rule));
    assert.deepEqual(calls[1]?.input, rule);

    const modified = await client.send(new ModifyTargetGroupCommand({ TargetGroupArn: 'arn:tg', HealthCheckEnabled: false, HealthCheckIntervalSeconds: 10 }));
    assert.deepEqual(calls[2]?.input, { TargetGroupArn: 'arn:tg', HealthCheckEnabled: false, HealthCheckIntervalSeconds: 10 });
    assert.equal(modified.TargetGroups?.[0]?.HealthCheckEnabled, false);
    assert.equal(modified.TargetGroups?.[0]?.Port, 8080);
    assert.equal(modified.TargetGroups?.[0]?.Matcher?.HttpCode, '200-299');
    assert.deepEqual({ ...logs[0], durationMs: 0 }, {
      msg: 'request', requestId: calls[0]?.ctx.requestId, protocol: 'query', accessKeyId: credentials.accessKeyId,
      operation: 'CreateLoadBalancer', status: 200, durationMs: 0,
    });
    client.destroy();
  });
});

test('the response document is awsQuery XML with the namespace, the Result wrapper and the request id', async () => {
  await withServer({
    DescribeTags: async () => ({ TagDescriptions: [{ ResourceArn: 'arn:x', Tags: [{ Key: 'k', Value: 'v' }] }] }),
    DeleteLoadBalancer: async () => undefined,
  }, async ({ port }) => {
    const res = await raw(port, { body: 'Action=DescribeTags&Version=2015-12-01&ResourceArns.member.1=arn%3Ax' });
    assert.equal(res.status, 200);
    assert.equal(res.headers['content-type'], 'text/xml');
    const id = String(res.headers['x-amzn-requestid']);
    assert.equal(res.body, `<?xml version="1.0" encoding="UTF-8"?>\n<DescribeTagsResponse xmlns="${NS}"><DescribeTagsResult>` +
      '<TagDescriptions><member><ResourceArn>arn:x</ResourceArn><Tags><member><Key>k</Key><Value>v</Value></member></Tags></member></TagDescriptions>' +
      `</DescribeTagsResult><ResponseMetadata><RequestId>${id}</RequestId></ResponseMetadata></DescribeTagsResponse>`);
    const deleted = await raw(port, { body: 'Action=DeleteLoadBalancer&Version=2015-12-01&LoadBalancerArn=arn%3Alb' });
    assert.match(deleted.body, /<DeleteLoadBalancerResponse xmlns="[^"]+"><DeleteLoadBalancerResult><\/DeleteLoadBalancerResult><ResponseMetadata>/);
  });
});

test('a GET with the parameters in its query string works as a POST does', async () => {
  await withServer({ DescribeLoadBalancers: async () => ({ LoadBalancers: [], NextMarker: 'm' }) }, async ({ port, calls }) => {
    const res = await raw(port, { method: 'GET', query: 'Action=DescribeLoadBalancers&Version=2015-12-01&Names.member.1=a&Names.member.2=b&PageSize=5' });
    assert.equal(res.status, 200, res.body);
    assert.match(res.body, /<DescribeLoadBalancersResult><LoadBalancers><\/LoadBalancers><NextMarker>m<\/NextMarker><\/DescribeLoadBalancersResult>/);
    assert.deepEqual(calls[0]?.input, { Names: ['a', 'b'], PageSize: 5 });
  });
});

test('a WharfError reaches the SDK as the model exception of its code, with the model status', async () => {
  await withServer({
    DeleteLoadBalancer: async () => { throw new WharfError('LoadBalancerNotFound', 'One or more load balancers not found'); },
    DescribeTags: async () => { throw new WharfError('PriorRequestNotComplete', 'busy'); },
  }, async ({ port }) => {
    const client = sdkClient(port);
    const err = await rejection(client.send(new DeleteLoadBalancerCommand({ LoadBalancerArn: 'arn:lb' })));
    assert.ok(err instanceof LoadBalancerNotFoundException, String(err));
    assert.equal(err.message, 'One or more load balancers not found');
    assert.equal(err.$metadata.httpStatusCode, 400);
    assert.ok(err.$metadata.requestId);
    const busy = await rejection(client.send(new DescribeTagsCommand({ ResourceArns: ['arn:lb'] })));
    assert.ok(busy instanceof PriorRequestNotCompleteException, String(busy));
    assert.equal(busy.$metadata.httpStatusCode, 429);
    const raw429 = await raw(port, { body: 'Action=DescribeTags&Version=2015-12-01&ResourceArns.member.1=x' });
    assert.equal(raw429.body, `<?xml version="1.0" encoding="UTF-8"?>\n<ErrorResponse xmlns="${NS}"><Error><Type>Sender</Type>` +
      `<Code>PriorRequestNotComplete</Code><Message>busy</Message></Error><RequestId>${String(raw429.headers['x-amzn-requestid'])}</RequestId></ErrorResponse>`);
    client.destroy();
  });
});

test('input the model refuses is ValidationError naming each field the query way; the handler never runs', async () => {
  await withServer({ CreateLoadBalancer: async () => ({}), ModifyTargetGroup: async () => ({}) }, async ({ port, calls }) => {
    const client = sdkClient(port);
    const err = await rejection(client.send(new CreateLoadBalancerCommand({ Name: 'web', Tags: [{ Key: '', Value: 'v' }], Type: 'classic' as 'application' })));
    assert.ok(err instanceof ElasticLoadBalancingV2ServiceException, String(err));
    assert.equal(err.name, 'ValidationError');
    assert.equal(err.$metadata.httpStatusCode, 400);
    assert.equal(err.message, "2 validation errors detected: Value '' at 'tags.1.member.key' failed to satisfy constraint: " +
      "Member must have length greater than or equal to 1; Value 'classic' at 'type' failed to satisfy constraint: " +
      'Member must satisfy enum value set: [application, network, gateway]');
    const missing = await raw(port, { body: 'Action=CreateLoadBalancer&Version=2015-12-01' });
    assert.equal(missing.status, 400);
    assert.match(missing.body, /<Code>ValidationError<\/Code><Message>1 validation error detected: Value null at 'name' failed to satisfy constraint: Member must not be null<\/Message>/);
    const badInteger = await raw(port, { body: 'Action=ModifyTargetGroup&Version=2015-12-01&TargetGroupArn=a&HealthCheckIntervalSeconds=ten&HealthCheckEnabled=yes' });
    assert.match(badInteger.body, /Value 'yes' at 'healthCheckEnabled' failed to satisfy constraint: Member must be of type boolean/);
    assert.match(badInteger.body, /Value 'ten' at 'healthCheckIntervalSeconds' failed to satisfy constraint: Member must be of type integer/);
    assert.equal(calls.length, 0);
    client.destroy();
  });
});

test('a model that also speaks JSON is validated the query way when served over the query protocol', async () => {
  const jsonToo: ServiceModel = { ...elbv2Model, metadata: { ...elbv2Model.metadata, protocol: 'json' } };
  await withServer({ DescribeLoadBalancers: async () => ({}) }, async ({ port }) => {
    const res = await raw(port, { body: 'Action=DescribeLoadBalancers&Version=2015-12-01&PageSize=0&Names.member.1=' });
    assert.equal(res.status, 400);
    assert.match(res.body, /<Code>ValidationError<\/Code><Message>1 validation error detected: Value '0' at 'pageSize' failed to satisfy constraint: /);
  }, jsonToo);
});

test('an unexpected handler error is InternalFailure 500 (Receiver) without details, logged with the request id', async () => {
  await withServer({ DescribeLoadBalancers: async () => { throw new Error('database password is hunter2'); } }, async ({ port, logs }) => {
    const res = await raw(port, { body: 'Action=DescribeLoadBalancers&Version=2015-12-01' });
    assert.equal(res.status, 500);
    assert.match(res.body, /<Error><Type>Receiver<\/Type><Code>InternalFailure<\/Code><Message>An internal error occurred.<\/Message><\/Error>/);
    assert.doesNotMatch(res.body, /hunter2/);
    const logged = logs.find((l) => l['msg'] === 'internal error');
    assert.equal(logged?.['requestId'], res.headers['x-amzn-requestid']);
    assert.match(String(logged?.['error']), /hunter2/);
  });
});

test('SigV4 failures answer the query services\' codes and statuses', async () => {
  await withServer({ DescribeLoadBalancers: async () => ({}) }, async ({ port, calls }) => {
    const wrongSecret = sdkClient(port, { ...credentials, secretAccessKey: 'wrong' });
    const bad = await rejection(wrongSecret.send(new DescribeLoadBalancersCommand({})));
    assert.ok(bad instanceof ElasticLoadBalancingV2ServiceException);
    assert.equal(bad.name, 'SignatureDoesNotMatch');
    assert.equal(bad.$metadata.httpStatusCode, 403);
    wrongSecret.destroy();
    const nobody = sdkClient(port, { accessKeyId: 'AKIDNOBODY', secretAccessKey: 'x' });
    const unknown = await rejection(nobody.send(new DescribeLoadBalancersCommand({})));
    assert.ok(unknown instanceof ElasticLoadBalancingV2ServiceException);
    assert.equal(unknown.name, 'InvalidClientTokenId');
    assert.equal(unknown.message, 'The security token included in the request is invalid.');
    nobody.destroy();
    const unsigned = await raw(port, { body: 'Action=DescribeLoadBalancers&Version=2015-12-01', unsigned: true });
    assert.equal(unsigned.status, 403);
    assert.match(unsigned.body, /^<\?xml[^>]*>\n<ErrorResponse><Error><Type>Sender<\/Type><Code>MissingAuthenticationToken<\/Code>/);
    const otherService = await raw(port, { body: 'Action=DescribeLoadBalancers&Version=2015-12-01', service: 'monitoring' });
    assert.equal(otherService.status, 403);
    assert.match(otherService.body, /<Code>SignatureDoesNotMatch<\/Code><Message>Credential should be scoped to correct service: one of 'elasticloadbalancing'. <\/Message>/);
    assert.equal(calls.length, 0);
  });
});

test('a missing or unknown Action, a missing or wrong Version, and a non-UTF-8 body are refused', async () => {
  await withServer({ DescribeLoadBalancers: async () => ({}) }, async ({ port, calls }) => {
    const cases: Array<[string, string, string]> = [
      ['Version=2015-12-01', 'MissingAction', 'The request must contain the parameter Action.'],
      ['Action=DescribeLoadBalancers', 'MissingParameter', 'The request must contain the parameter Version.'],
      ['Action=LaunchRocket&Version=2015-12-01', 'InvalidAction', 'Could not find operation LaunchRocket for version 2015-12-01'],
      ['Action=toString&Version=2015-12-01', 'InvalidAction', 'Could not find operation toString for version 2015-12-01'],
      ['Action=DescribeTags&Version=2015-12-01', 'InvalidAction', 'Could not find operation DescribeTags for version 2015-12-01'],
      ['Action=DescribeLoadBalancers&Version=2012-06-01', 'InvalidAction', 'Could not find operation DescribeLoadBalancers for version 2012-06-01'],
    ];
    for (const [body, code, message] of cases) {
      const res = await raw(port, { body });
      assert.equal(res.status, 400, body);
      assert.match(res.body, new RegExp(`<Code>${code}</Code><Message>${message.replace(/\./g, '\\.')}</Message>`), body);
    }
    const latin1 = await raw(port, { body: Buffer.from([0x41, 0x3d, 0xe9]) });
    assert.equal(latin1.status, 400);
    assert.match(latin1.body, /<Code>MalformedQueryString<\/Code>/);
    assert.equal(calls.length, 0);
  });
});

test('a body over maxBodyBytes is RequestEntityTooLarge 413, and only form POSTs and Action GETs to / are query requests', async () => {
  await withServer({ DescribeLoadBalancers: async () => ({}) }, async ({ port, calls }) => {
    const big = `Action=DescribeLoadBalancers&Version=2015-12-01&Names.member.1=${'x'.repeat(MAX_BODY_BYTES)}`;
    const res = await raw(port, { body: big });
    assert.equal(res.status, 413);
    assert.match(res.body, /<ErrorResponse xmlns="[^"]+"><Error><Type>Sender<\/Type><Code>RequestEntityTooLarge<\/Code>/);
    const json = await raw(port, { body: '{}', contentType: 'application/x-amz-json-1.1' });
    assert.equal(json.status, 404);
    const getWithoutAction = await raw(port, { method: 'GET', query: 'Version=2015-12-01' });
    assert.equal(getWithoutAction.status, 404);
    assert.equal(calls.length, 0);
  });
});

const miniModel: ServiceModel = {
  botocoreVersion: 'test',
  metadata: { protocol: 'query', signingName: 'test', endpointPrefix: 'test', apiVersion: '2020-01-01', serviceId: 'Test', xmlNamespace: 'urn:test' },
  operations: { Op: { input: 'In', output: 'Out', outputWrapper: 'OpResult', errors: [] }, NoOutput: { input: 'In', errors: [] } },
  shapes: {
    In: { type: 'structure', members: {
      Flat: { shape: 'FlatList' }, Named: { shape: 'NamedList', locationName: 'Item' }, Dims: { shape: 'Map' }, FlatDims: { shape: 'FlatMap' },
      At: { shape: 'Time' }, Ratio: { shape: 'Double' }, Count: { shape: 'Int' }, Empty: { shape: 'NamedList' }, Nested: { shape: 'In' },
      RefFlat: { shape: 'PlainList', flattened: true },
    } },
    Out: { type: 'structure', members: {
      Flat: { shape: 'FlatList' }, Named: { shape: 'NamedList' }, Dims: { shape: 'Map' }, At: { shape: 'Time' }, Data: { shape: 'Blob' },
      Text: { shape: 'Str', locationName: 'Label' },
    } },
    FlatList: { type: 'list', member: { shape: 'Str' }, flattened: true },
    PlainList: { type: 'list', member: { shape: 'Str' } },
    NamedList: { type: 'list', member: { shape: 'Str', locationName: 'item' } },
    Map: { type: 'map', key: { shape: 'Str' }, value: { shape: 'Int' } },
    FlatMap: { type: 'map', key: { shape: 'Str', locationName: 'Name' }, value: { shape: 'Str', locationName: 'Val' }, flattened: true },
    Time: { type: 'timestamp' },
    Double: { type: 'double' },
    Int: { type: 'integer' },
    Blob: { type: 'blob' },
    Str: { type: 'string' },
  },
};

test('query parameters: flattened and renamed lists, maps, positions in numeric order, timestamps, empty lists, recursion', () => {
  const input = queryInput(miniModel, 'Op', [
    ['Action', 'Op'], ['Version', '2020-01-01'], ['X-Amz-Date', '20240101T000000Z'],
    ['Flat.2', 'b'], ['Flat.10', 'c'], ['Flat.1', 'a'], ['Flat.x', 'ignored'],
    ['Item.item.1', 'n1'],
    ['Dims.entry.1.key', 'cpu'], ['Dims.entry.1.value', '5'], ['Dims.entry.2.key', 'mem'], ['Dims.entry.2.value', 'x'],
    ['FlatDims.1.Name', 'k'], ['FlatDims.1.Val', 'v'],
    ['At', '2024-05-17T12:34:56.5Z'], ['Ratio', '0.25'], ['Count', '-3'], ['Empty', ''],
    ['Nested.Count', '1'], ['Nested.At', 'yesterday'], ['Unknown', 'u'], ['RefFlat.1', 'r1'], ['RefFlat.member.2', 'not flattened'],
  ]);
  assert.deepEqual(input, {
    Flat: ['a', 'b', 'c'], Named: ['n1'], Dims: { cpu: 5, mem: 'x' }, FlatDims: { k: 'v' },
    At: Date.parse('2024-05-17T12:34:56.5Z') / 1000, Ratio: 0.25, Count: -3, Empty: [],
    Nested: { Count: 1, At: 'yesterday' }, RefFlat: ['r1'],
  });
  assert.deepEqual(queryInput(miniModel, 'Op', [['Count', '1.5'], ['Ratio', 'NaN'], ['At', '1700000000']]), { Count: '1.5', Ratio: 'NaN', At: 1700000000 });
  assert.deepEqual(queryInput(miniModel, 'Unknown', [['Count', '1']]), {});
});

test('XML output: renamed and flattened elements, maps, timestamps from Dates or epoch seconds, blobs, escaping; no Result without an output', () => {
  const xml = queryResponseXml(miniModel, 'Op', {
    Flat: ['a', 'b'], Named: ['n'], Dims: { cpu: 1 }, At: 1715949296.5, Data: new Uint8Array([1, 2]), Text: '<"\'&\r\t\u0001>',
  }, 'rid');
  assert.equal(xml, '<?xml version="1.0" encoding="UTF-8"?>\n<OpResponse xmlns="urn:test"><OpResult><Flat>a</Flat><Flat>b</Flat>' +
    '<Named><item>n</item></Named><Dims><entry><key>cpu</key><value>1</value></entry></Dims><At>2024-05-17T12:34:56.500Z</At>' +
    '<Data>AQI=</Data><Label>&lt;"\'&amp;&#13;&#9;\ufffd&gt;</Label></OpResult>' +
    '<ResponseMetadata><RequestId>rid</RequestId></ResponseMetadata></OpResponse>');
  assert.match(queryResponseXml(miniModel, 'Op', { At: new Date(0) }, 'r'), /<At>1970-01-01T00:00:00.000Z<\/At>/);
  assert.equal(queryResponseXml(miniModel, 'NoOutput', undefined, 'r'),
    '<?xml version="1.0" encoding="UTF-8"?>\n<NoOutputResponse xmlns="urn:test"><ResponseMetadata><RequestId>r</RequestId></ResponseMetadata></NoOutputResponse>');
  assert.equal(queryErrorXml(undefined, { code: 'Throttling', message: undefined, httpStatus: 400 }, 'r'),
    '<?xml version="1.0" encoding="UTF-8"?>\n<ErrorResponse><Error><Type>Sender</Type><Code>Throttling</Code></Error><RequestId>r</RequestId></ErrorResponse>');
  assert.equal(escapeXml('plain text'), 'plain text');
});
