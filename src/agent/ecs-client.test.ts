import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { FakeEcsServer, TEST_CREDENTIALS } from '../testkit/fake-ecs-server.js';
import { EcsApiError, EcsClient } from './ecs-client.js';

describe('EcsClient', () => {
  const server = new FakeEcsServer();
  before(() => server.start());
  after(() => server.close());

  it('sends a SigV4-signed awsJson1_1 POST with the operation target and parses the answer', async () => {
    const ecs = new EcsClient({ serverUrl: server.url, region: 'us-east-1', credentials: TEST_CREDENTIALS });
    const out = await ecs.call<{ a: number }>('Echo', { a: 1 });
    assert.deepEqual(out, { a: 1 });
    const req = server.requests.at(-1)!;
    assert.equal(req.target, 'AmazonEC2ContainerServiceV20141113.Echo');
    assert.equal(req.contentType, 'application/x-amz-json-1.1');
    assert.equal(req.signedOk, true);
    const reg = await ecs.registerContainerInstance({ cluster: 'c1' });
    assert.match(reg.containerInstance?.containerInstanceArn ?? '', /container-instance\/c1\//);
  });

  it('maps error bodies to codes, retryable for 5xx and throttling only', async () => {
    const ecs = new EcsClient({ serverUrl: server.url, region: 'us-east-1', credentials: TEST_CREDENTIALS });
    const cases = [
      { status: 400, type: 'com.amazonaws.ecs#ClusterNotFoundException', code: 'ClusterNotFoundException', retryable: false },
      { status: 400, type: 'ThrottlingException', code: 'ThrottlingException', retryable: true },
      { status: 500, type: 'ServerException', code: 'ServerException', retryable: true },
    ];
    for (const c of cases) {
      await assert.rejects(ecs.call('Fail', c), (err: unknown) =>
        err instanceof EcsApiError && err.code === c.code && err.retryable === c.retryable && err.statusCode === c.status);
    }
  });

  it('rejects a request the server cannot verify with the server error code', async () => {
    const ecs = new EcsClient({ serverUrl: server.url, region: 'us-east-1', credentials: { ...TEST_CREDENTIALS, secretAccessKey: 'wrong' } });
    await assert.rejects(ecs.call('Echo', {}), (err: unknown) => err instanceof EcsApiError && err.code === 'InvalidSignatureException');
  });

  it('reports an unreachable server as a retryable NetworkingError', async () => {
    const ecs = new EcsClient({ serverUrl: 'http://127.0.0.1:1', region: 'us-east-1', credentials: TEST_CREDENTIALS });
    await assert.rejects(ecs.call('Echo', {}), (err: unknown) => err instanceof EcsApiError && err.code === 'NetworkingError' && err.retryable);
  });
});
