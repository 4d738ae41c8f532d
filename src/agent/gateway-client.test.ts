import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import type { TaskManifest } from '../model/agent-protocol.js';
import { TEST_CLUSTER_ARN, TEST_INSTANCE_ARN } from '../testkit/agent-tasks.js';
import { FakeEcsServer, TEST_CREDENTIALS } from '../testkit/fake-ecs-server.js';
import { GatewayClient } from './gateway-client.js';

describe('GatewayClient', () => {
  const server = new FakeEcsServer();
  before(() => server.start());
  after(() => server.close());

  const client = (o: { onManifest?: (m: TaskManifest) => void; onConnected?: () => void; heartbeatIntervalMs?: number } = {}) => new GatewayClient({
    serverUrl: server.url, clusterArn: TEST_CLUSTER_ARN, containerInstanceArn: TEST_INSTANCE_ARN, credentials: TEST_CREDENTIALS,
    region: 'us-east-1', heartbeatIntervalMs: o.heartbeatIntervalMs ?? 60_000, redialInitialMs: 10, redialMaxMs: 50,
    onManifest: o.onManifest ?? (() => {}), onConnected: o.onConnected ?? (() => {}),
  });

  it('dials with a signed handshake, receives manifests, sends reports, and redials after a drop', async () => {
    const manifests: TaskManifest[] = [];
    let connects = 0;
    const before = server.connections.length;
    const gw = client({ onManifest: (m) => manifests.push(m), onConnected: () => connects++ });
    try {
      assert.equal(gw.sendReport({ taskArn: 't', lastStatus: 'PENDING', containers: [] }), false);
      gw.start();
      await server.waitUntil(() => server.connections.length === before + 1 && connects === 1, 'connection');
      const conn = server.connections.at(-1)!;
      assert.equal(conn.query.get('cluster'), TEST_CLUSTER_ARN);
      assert.equal(conn.query.get('containerInstance'), TEST_INSTANCE_ARN);
      assert.match(String(conn.headers.authorization), /^AWS4-HMAC-SHA256 Credential=AKIDWHARFAGENTTEST\/\d{8}\/us-east-1\/ecs\/aws4_request/);
      server.sendManifest({ seqNum: 1, containerInstanceArn: TEST_INSTANCE_ARN, tasks: [] });
      assert.equal(gw.sendReport({ taskArn: 't1', lastStatus: 'RUNNING', containers: [] }), true);
      await server.waitUntil(() => server.reports.some((r) => r.taskArn === 't1'), 'report');
      for (let i = 0; i < 100 && manifests.length === 0; i++) await new Promise((r) => setTimeout(r, 10));
      assert.equal(manifests[0]?.seqNum, 1);
      server.dropConnections();
      await server.waitUntil(() => server.openConnections === 1 && connects === 2, 'redial');
    } finally {
      await gw.close();
    }
  });

  it('sends heartbeats and redials when the server falls silent for 3 intervals', async () => {
    let connects = 0;
    server.answerHeartbeats = false;
    const gw = client({ heartbeatIntervalMs: 30, onConnected: () => connects++ });
    try {
      const hb = server.heartbeats.length;
      gw.start();
      await server.waitUntil(() => server.heartbeats.length > hb, 'a heartbeat');
      await server.waitUntil(() => connects >= 2, 'redial after silence');
    } finally {
      server.answerHeartbeats = true;
      await gw.close();
    }
  });

  it('close() stops redialing', async () => {
    const gw = client();
    gw.start();
    await server.waitUntil(() => gw.connected, 'connected');
    const count = server.connections.length;
    await gw.close();
    await new Promise((r) => setTimeout(r, 100));
    assert.equal(server.connections.length, count);
    assert.equal(gw.connected, false);
  });
});
