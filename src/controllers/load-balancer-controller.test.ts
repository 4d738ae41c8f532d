/**
 * The load-balancer controller on a real store and real HAProxy processes, with HTTP targets on
 * loopback: State, target health, draining to deletion, deletion of a load balancer.
 */
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { createServer, get as httpGet, type Server } from 'node:http';
import { createServer as createNetServer, type AddressInfo } from 'node:net';
import { freeLoopbackPort as freePort, pollUntil as until } from '../testkit/polling.js';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { keys, type DomainContext, type ListenerRecord, type LoadBalancerRecord, type TargetGroupRecord, type TargetRecord } from '../domain/index.js';
import { SqliteStore } from '../store/index.js';
import { LoadBalancerController } from './load-balancer-controller.js';

const ARN = 'arn:aws:elasticloadbalancing:us-east-1:123456789012';

function fetchText(port: number): Promise<string> {
  return new Promise((resolve, reject) => {
    httpGet({ host: '127.0.0.1', port, path: '/', agent: false, timeout: 5000 }, (res) => {
      let body = '';
      res.setEncoding('utf8').on('data', (c: string) => { body += c; }).on('end', () => resolve(`${res.statusCode} ${body}`));
    }).on('error', reject).on('timeout', function (this: { destroy(e: Error): void }) { this.destroy(new Error('timeout')); });
  });
}

describe('LoadBalancerController', () => {
  const store = new SqliteStore({ path: ':memory:' });
  const backends: { server: Server; port: number; hits: number }[] = [];
  let dataDir = '';
  let controller: LoadBalancerController;
  const ctx: DomainContext = {
    store, scope: { partition: 'aws', region: 'us-east-1', accountId: '123456789012' }, nowMs: Date.now, principalArn: 'test',
    log: (entry) => { if (process.env['WHARF_TEST_VERBOSE']) process.stderr.write(JSON.stringify(entry) + '\n'); },
  };

  before(async () => {
    dataDir = mkdtempSync(join(tmpdir(), 'wharf-lbc-'));
    for (let i = 0; i < 2; i++) {
      const backend = { server: createServer(), port: 0, hits: 0 };
      backend.server.on('request', (req, res) => {
        if (req.url !== '/health') backend.hits += 1;
        res.writeHead(200).end(`backend-${i}`);
      });
      await new Promise<void>((resolve) => backend.server.listen(0, '127.0.0.1', resolve));
      backend.port = (backend.server.address() as AddressInfo).port;
      backends.push(backend);
    }
    controller = new LoadBalancerController({ ctx, dataDir, bindAddress: '127.0.0.1', threads: 1, healthPollIntervalMs: 200, retryFailedMs: 60_000 });
  });
  after(async () => {
    await controller.close();
    for (const b of backends) b.server.close();
    await store.close();
    rmSync(dataDir, { recursive: true, force: true });
  });

  const loadBalancer = (name: string): LoadBalancerRecord => ({
    LoadBalancerArn: `${ARN}:loadbalancer/app/${name}/1`, LoadBalancerName: name, Type: 'application', State: { Code: 'provisioning' },
    CreatedTime: 0, attributes: {}, tags: [],
  });
  const listener = (lb: string, port: number, targetGroup: string): ListenerRecord => ({
    ListenerArn: `${ARN}:listener/app/${lb}/1/${port}`, LoadBalancerArn: `${ARN}:loadbalancer/app/${lb}/1`, Port: port, Protocol: 'HTTP',
    DefaultActions: [{ Type: 'forward', TargetGroupArn: `${ARN}:targetgroup/${targetGroup}/1` }], tags: [],
  });
  const targetGroup = (name: string): TargetGroupRecord => ({
    TargetGroupArn: `${ARN}:targetgroup/${name}/1`, TargetGroupName: name, TargetType: 'instance', Protocol: 'HTTP', Port: 80,
    HealthCheckProtocol: 'HTTP', HealthCheckPort: 'traffic-port', HealthCheckPath: '/health', HealthCheckIntervalSeconds: 1, HealthCheckTimeoutSeconds: 1,
    HealthyThresholdCount: 2, UnhealthyThresholdCount: 2, Matcher: { HttpCode: '200' }, attributes: { 'deregistration_delay.timeout_seconds': '2' }, tags: [],
  });
  const target = (group: string, port: number): TargetRecord => ({
    TargetGroupArn: `${ARN}:targetgroup/${group}/1`, Id: 'i-0123456789abcdef0', Port: port, address: '127.0.0.1', registeredAt: Date.now() / 1000,
    health: { State: 'initial', Reason: 'Elb.RegistrationInProgress', Description: 'Target registration is in progress' },
  });
  const healthOf = async (group: string, port: number) => (await store.get<TargetRecord>(keys.target(group, 'i-0123456789abcdef0', port)))?.value.health;

  it('serves a load balancer, reports target health, drains deregistered targets and deletes them after the delay', async () => {
    const [b0, b1] = backends as [typeof backends[0], typeof backends[0]];
    const port = await freePort();
    await store.put(keys.targetGroup('web'), targetGroup('web'));
    await store.put(keys.targetGroup('idle'), targetGroup('idle'));
    await store.put(keys.target('web', 'i-0123456789abcdef0', b0.port), target('web', b0.port));
    await store.put(keys.target('web', 'i-0123456789abcdef0', b1.port), target('web', b1.port));
    await store.put(keys.target('idle', 'i-0123456789abcdef0', b0.port), target('idle', b0.port));
    await store.put(keys.loadBalancer('front'), loadBalancer('front'));
    await store.put(keys.listener('front', String(port)), listener('front', port, 'web'));
    controller.start();

    await until('the load balancer active', async () => ((await store.get<LoadBalancerRecord>(keys.loadBalancer('front')))?.value.State.Code === 'active' ? true : undefined));
    await until('both targets healthy', async () => ((await healthOf('web', b0.port))?.State === 'healthy' && (await healthOf('web', b1.port))?.State === 'healthy' ? true : undefined));
    assert.deepEqual(await healthOf('idle', b0.port), { State: 'unused', Reason: 'Target.NotInUse', Description: 'Target group is not configured to receive traffic from the load balancer' });
    const answers = new Set<string>();
    for (let i = 0; i < 4; i++) answers.add(await fetchText(port));
    assert.deepEqual([...answers].sort(), ['200 backend-0', '200 backend-1']);

    // Deregister b1: draining at once, no new requests, deleted once the 2 s delay has passed.
    const entry = (await store.get<TargetRecord>(keys.target('web', 'i-0123456789abcdef0', b1.port)))!;
    await store.put(entry.key, { ...entry.value, deregisteredAt: Date.now() / 1000 });
    await until('b1 draining', async () => ((await healthOf('web', b1.port))?.State === 'draining' ? true : undefined));
    const hits = b1.hits;
    for (let i = 0; i < 4; i++) assert.equal(await fetchText(port), '200 backend-0');
    assert.equal(b1.hits, hits);
    await until('b1 deleted', async () => ((await store.get(entry.key)) === undefined ? true : undefined));

    // Deleting the load balancer stops its HAProxy.
    await store.delete(keys.listener('front', String(port)));
    await store.delete(keys.loadBalancer('front'));
    await until('the listener closed', async () => (await fetchText(port).then(() => undefined, () => true)));
    await until('the target unused', async () => ((await healthOf('web', b0.port))?.State === 'unused' ? true : undefined));
  });

  it('records a load balancer whose HAProxy cannot start as failed, with the reason', async () => {
    const busy = createNetServer();
    await new Promise<void>((resolve) => busy.listen(0, '127.0.0.1', resolve));
    const port = (busy.address() as AddressInfo).port;
    try {
      await store.put(keys.loadBalancer('busy'), loadBalancer('busy'));
      await store.put(keys.listener('busy', String(port)), listener('busy', port, 'web'));
      const state = await until('the load balancer failed', async () => {
        const s = (await store.get<LoadBalancerRecord>(keys.loadBalancer('busy')))?.value.State;
        return s?.Code === 'failed' ? s : undefined;
      });
      assert.match(state.Reason ?? '', /HAProxy did not start: .*(bind|socket)/i);
    } finally {
      busy.close();
      await store.delete(keys.listener('busy', String(port)));
      await store.delete(keys.loadBalancer('busy'));
    }
  });
});
