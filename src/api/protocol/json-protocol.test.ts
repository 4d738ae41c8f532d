import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createServer, request } from 'node:http';
import type { IncomingHttpHeaders, IncomingMessage } from 'node:http';
import type { AddressInfo } from 'node:net';
import {
  ClusterNotFoundException as SdkClusterNotFoundException,
  DescribeTaskDefinitionCommand,
  ECSClient,
  ECSServiceException,
  InvalidParameterException as SdkInvalidParameterException,
  ListClustersCommand,
  RegisterTaskDefinitionCommand,
  ServerException as SdkServerException,
  TagResourceCommand,
} from '@aws-sdk/client-ecs';
import { ClusterNotFoundException } from '../../model/index.js';
import { signRequest } from '../../sigv4/index.js';
import type { Credentials } from '../../sigv4/index.js';
import { ecsModel } from '../validation/index.js';
import { createJsonProtocolHandler, isJsonProtocolRequest } from './index.js';
import type { JsonService, OperationHandler, RequestContext } from './index.js';

const credentials: Credentials = { accessKeyId: 'AKIDPROTOCOLTEST', secretAccessKey: 'protocol-secret' };
const PREFIX = 'AmazonEC2ContainerServiceV20141113';
const MAX_BODY_BYTES = 4096;

interface Harness {
  port: number;
  logs: Array<Record<string, unknown>>;
  calls: Array<{ input: unknown; ctx: RequestContext }>;
  close: () => Promise<void>;
}

async function startServer(handlers: Record<string, OperationHandler>): Promise<Harness> {
  const logs: Array<Record<string, unknown>> = [];
  const calls: Harness['calls'] = [];
  const recorded = Object.fromEntries(Object.entries(handlers).map(([name, handler]): [string, OperationHandler] =>
    [name, (input, ctx) => { calls.push({ input, ctx }); return handler(input, ctx); }]));
  const ecs: JsonService = { targetPrefix: PREFIX, signingName: 'ecs', model: ecsModel, handlers: recorded };
  const handle = createJsonProtocolHandler({
    services: [ecs],
    lookupSecret: (id) => (id === credentials.accessKeyId ? credentials.secretAccessKey : undefined),
    maxBodyBytes: MAX_BODY_BYTES,
    logger: (entry) => logs.push(entry),
    logRequests: true,
  });
  const server = createServer((req, res) => {
    if (isJsonProtocolRequest(req)) handle(req, res);
    else res.writeHead(404).end();
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  return {
    port, logs, calls,
    close: () => new Promise((resolve) => { server.closeAllConnections(); server.close(() => resolve()); }),
  };
}

function sdkClient(port: number, creds: Credentials = credentials): ECSClient {
  return new ECSClient({ region: 'eu-west-1', endpoint: `http://127.0.0.1:${port}`, credentials: creds, maxAttempts: 1 });
}

interface RawResponse { status: number; headers: IncomingHttpHeaders; body: string }

/** Sends one request; signs it for `service` unless `unsigned`; `chunks` are streamed without a Content-Length. */
function raw(port: number, init: { target?: string; body?: string; chunks?: string[]; unsigned?: boolean; service?: string }): Promise<RawResponse> {
  const body = init.body ?? '';
  const url = new URL(`http://127.0.0.1:${port}/`);
  const headers: Record<string, string> = { host: url.host, 'content-type': 'application/x-amz-json-1.1' };
  if (init.target !== undefined) headers['x-amz-target'] = init.target;
  if (init.chunks === undefined) headers['content-length'] = String(Buffer.byteLength(body));
  const signed = init.unsigned === true
    ? {}
    : signRequest({ method: 'POST', url, headers, body: init.chunks?.join('') ?? body }, credentials, { region: 'eu-west-1', service: init.service ?? 'ecs' });
  return new Promise((resolve, reject) => {
    const req = request(url, { method: 'POST', headers: { ...headers, ...signed } }, (res: IncomingMessage) => {
      const parts: Buffer[] = [];
      res.on('data', (c: Buffer) => parts.push(c));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, headers: res.headers, body: Buffer.concat(parts).toString('utf8') }));
      res.on('error', reject);
    });
    req.on('error', reject);
    if (init.chunks === undefined) req.end(body);
    else {
      for (const chunk of init.chunks) req.write(chunk);
      req.end();
    }
  });
}

async function withServer(handlers: Record<string, OperationHandler>, run: (h: Harness) => Promise<void>): Promise<void> {
  const harness = await startServer(handlers);
  try {
    await run(harness);
  } finally {
    await harness.close();
  }
}

test('the AWS SDK gets an operation output, with Dates as epoch seconds and the request id', async () => {
  const registeredAt = new Date('2024-05-17T12:34:56.789Z');
  await withServer({
    ListClusters: async () => ({ clusterArns: ['arn:aws:ecs:eu-west-1:000000000000:cluster/default'] }),
    DescribeTaskDefinition: async (input: { taskDefinition: string }) =>
      ({ taskDefinition: { family: input.taskDefinition, revision: 3, registeredAt } }),
  }, async ({ port, calls, logs }) => {
    const client = sdkClient(port);
    const list = await client.send(new ListClustersCommand({}));
    assert.deepEqual(list.clusterArns, ['arn:aws:ecs:eu-west-1:000000000000:cluster/default']);
    const described = await client.send(new DescribeTaskDefinitionCommand({ taskDefinition: 'web' }));
    assert.equal(described.taskDefinition?.family, 'web');
    assert.equal(described.taskDefinition?.registeredAt?.getTime(), registeredAt.getTime());

    const ctx = calls[1]?.ctx;
    assert.equal(ctx?.operation, 'DescribeTaskDefinition');
    assert.equal(ctx?.accessKeyId, credentials.accessKeyId);
    assert.equal(ctx?.region, 'eu-west-1');
    assert.equal(ctx?.requestId, described.$metadata.requestId);
    assert.match(ctx?.requestId ?? '', /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/);
    assert.deepEqual(calls[1]?.input, { taskDefinition: 'web' });
    assert.equal(logs.length, 2);
    assert.deepEqual({ ...logs[1], durationMs: 0 }, {
      msg: 'request', requestId: ctx?.requestId, target: `${PREFIX}.DescribeTaskDefinition`, accessKeyId: credentials.accessKeyId,
      operation: 'DescribeTaskDefinition', status: 200, durationMs: 0,
    });
    client.destroy();
  });
});

test('a WharfError arrives at the AWS SDK as its own exception class with its message', async () => {
  await withServer({
    ListClusters: async () => { throw new ClusterNotFoundException(); },
  }, async ({ port }) => {
    const client = sdkClient(port);
    const err = await client.send(new ListClustersCommand({})).then(() => undefined, (e: unknown) => e);
    assert.ok(err instanceof SdkClusterNotFoundException, String(err));
    assert.equal(err.message, 'Cluster not found.');
    assert.equal(err.$metadata.httpStatusCode, 400);
    assert.ok(err.$metadata.requestId);
    client.destroy();
  });
});

test('model validation failures arrive at the AWS SDK as InvalidParameterException naming the field', async () => {
  await withServer({ RegisterTaskDefinition: async () => ({}) }, async ({ port, calls }) => {
    const client = sdkClient(port);
    const err = await client.send(new RegisterTaskDefinitionCommand({
      family: 'web',
      containerDefinitions: [{ name: 'app', image: 'busybox' }],
      networkMode: 'FOO' as 'bridge',
    })).then(() => undefined, (e: unknown) => e);
    assert.ok(err instanceof SdkInvalidParameterException, String(err));
    assert.equal(err.message, "1 validation error detected: Value 'FOO' at 'networkMode' failed to satisfy constraint: " +
      'Member must satisfy enum value set: [bridge, host, awsvpc, none]');
    assert.equal(calls.length, 0, 'the handler must not run');
    client.destroy();
  });
});

test('an unexpected handler error is logged with the request id and answered 500 ServerException without details', async () => {
  await withServer({
    TagResource: async () => { throw new Error('database password is hunter2'); },
  }, async ({ port, logs }) => {
    const client = sdkClient(port);
    const err = await client.send(new TagResourceCommand({ resourceArn: 'arn', tags: [] })).then(() => undefined, (e: unknown) => e);
    assert.ok(err instanceof SdkServerException, String(err));
    assert.equal(err.message, 'Internal error');
    assert.equal(err.$metadata.httpStatusCode, 500);
    const logged = logs.find((l) => l['msg'] === 'internal error');
    assert.equal(logged?.['requestId'], err.$metadata.requestId);
    assert.equal(logged?.['operation'], 'TagResource');
    assert.match(String(logged?.['error']), /hunter2/);
    client.destroy();
  });
});

test('SigV4 failures reach the AWS SDK with AWS codes and statuses', async () => {
  await withServer({ ListClusters: async () => ({}) }, async ({ port }) => {
    const wrongSecret = sdkClient(port, { ...credentials, secretAccessKey: 'wrong' });
    const bad = await wrongSecret.send(new ListClustersCommand({})).then(() => undefined, (e: unknown) => e);
    assert.ok(bad instanceof ECSServiceException);
    assert.equal(bad.name, 'InvalidSignatureException');
    assert.equal(bad.$metadata.httpStatusCode, 403);
    assert.match(bad.message, /^The request signature we calculated does not match/);
    wrongSecret.destroy();

    const unknownKey = sdkClient(port, { accessKeyId: 'AKIDNOBODY', secretAccessKey: 'x' });
    const unknown = await unknownKey.send(new ListClustersCommand({})).then(() => undefined, (e: unknown) => e);
    assert.ok(unknown instanceof ECSServiceException);
    assert.equal(unknown.name, 'UnrecognizedClientException');
    assert.equal(unknown.message, 'The security token included in the request is invalid.');
    unknownKey.destroy();
  });
});

test('an unsigned request is MissingAuthenticationTokenException 403', async () => {
  await withServer({ ListClusters: async () => ({}) }, async ({ port }) => {
    const res = await raw(port, { target: `${PREFIX}.ListClusters`, body: '{}', unsigned: true });
    assert.equal(res.status, 403);
    assert.equal(res.headers['x-amzn-errortype'], 'MissingAuthenticationTokenException');
    assert.deepEqual(JSON.parse(res.body), { __type: 'MissingAuthenticationTokenException', message: 'Missing Authentication Token' });
  });
});

test('a credential scoped to another service is refused', async () => {
  await withServer({ ListClusters: async () => ({}) }, async ({ port }) => {
    const res = await raw(port, { target: `${PREFIX}.ListClusters`, body: '{}', service: 'ecr' });
    assert.equal(res.status, 403);
    assert.deepEqual(JSON.parse(res.body), { __type: 'InvalidSignatureException', message: "Credential should be scoped to correct service: 'ecs'. " });
  });
});

test('a body over maxBodyBytes is answered 413 whether declared or streamed', async () => {
  await withServer({ ListClusters: async () => ({}) }, async ({ port, calls }) => {
    const big = JSON.stringify({ padding: 'x'.repeat(MAX_BODY_BYTES) });
    const declared = await raw(port, { target: `${PREFIX}.ListClusters`, body: big });
    assert.equal(declared.status, 413);
    assert.equal(declared.headers['content-type'], 'application/x-amz-json-1.1');
    assert.deepEqual(JSON.parse(declared.body),
      { __type: 'RequestEntityTooLargeException', message: `Request body exceeds the maximum of ${MAX_BODY_BYTES} bytes.` });
    const streamed = await raw(port, { target: `${PREFIX}.ListClusters`, chunks: [big.slice(0, 3000), big.slice(3000)] });
    assert.equal(streamed.status, 413);
    assert.equal(calls.length, 0);
  });
});

test('malformed or non-object JSON is SerializationException; an empty body is {}', async () => {
  await withServer({ ListClusters: async () => undefined }, async ({ port, calls }) => {
    const malformed = await raw(port, { target: `${PREFIX}.ListClusters`, body: '{"maxResults":' });
    assert.equal(malformed.status, 400);
    const error = JSON.parse(malformed.body) as { __type: string; message: string };
    assert.equal(error.__type, 'SerializationException');
    assert.match(error.message, /^The request body is not valid UTF-8 JSON: /);
    const array = await raw(port, { target: `${PREFIX}.ListClusters`, body: '[1]' });
    assert.deepEqual(JSON.parse(array.body), { __type: 'SerializationException', message: 'The request body must be a JSON object, got an array.' });
    const empty = await raw(port, { target: `${PREFIX}.ListClusters` });
    assert.equal(empty.status, 200);
    assert.equal(empty.body, '{}');
    assert.deepEqual(calls[0]?.input, {});
  });
});

test('an unknown operation or target prefix is UnknownOperationException with no message', async () => {
  await withServer({ ListClusters: async () => ({}) }, async ({ port }) => {
    for (const target of [`${PREFIX}.LaunchRocket`, `${PREFIX}.toString`, `${PREFIX}.DeleteCluster`, 'Logs_20140328.ListClusters', 'ListClusters']) {
      const res = await raw(port, { target, body: '{}' });
      assert.equal(res.status, 400, target);
      assert.equal(res.body, '{"__type":"UnknownOperationException"}', target);
      assert.equal(res.headers['x-amzn-errortype'], 'UnknownOperationException');
      assert.ok(res.headers['x-amzn-requestid']);
    }
  });
});

test('Date outputs are epoch seconds with fractional milliseconds on the wire', async () => {
  await withServer({
    DescribeTaskDefinition: async () => ({ taskDefinition: { registeredAt: new Date(1466801808595) } }),
  }, async ({ port }) => {
    const res = await raw(port, { target: `${PREFIX}.DescribeTaskDefinition`, body: '{"taskDefinition":"web"}' });
    assert.equal(res.status, 200);
    assert.equal(res.body, '{"taskDefinition":{"registeredAt":1466801808.595}}');
  });
});
