/** The server runs the load balancers' data plane: a load balancer in the store is served, and close() stops its HAProxy. */
import { it } from 'node:test';
import assert from 'node:assert/strict';
import { createServer, get, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { keys, type ListenerRecord, type LoadBalancerRecord, type TargetGroupRecord, type TargetRecord } from '../domain/index.js';
import { startInProcessServer } from '../testkit/in-process-server.js';
import { freeLoopbackPort, pollUntil } from '../testkit/polling.js';

const ARN = 'arn:aws:elasticloadbalancing:us-east-1:123456789012';

const fetchBody = (port: number) => new Promise<string>((resolve, reject) => {
  get({ host: '127.0.0.1', port, path: '/', agent: false }, (res) => {
    let body = '';
    res.setEncoding('utf8').on('data', (c: string) => { body += c; }).on('end', () => resolve(body));
  }).on('error', reject);
});

it('serves the load balancers in its store, and stops their HAProxies on close', async () => {
  const target: Server = createServer((_req, res) => res.end('from the target'));
  await new Promise<void>((resolve) => target.listen(0, '127.0.0.1', resolve));
  const targetPort = (target.address() as AddressInfo).port;
  const port = await freeLoopbackPort();
  const wharf = await startInProcessServer({ loadBalancers: true });
  let closed = false;
  try {
    const tg: TargetGroupRecord = {
      TargetGroupArn: `${ARN}:targetgroup/web/1`, TargetGroupName: 'web', TargetType: 'ip', Protocol: 'HTTP', Port: 80,
      HealthCheckProtocol: 'HTTP', HealthCheckPort: 'traffic-port', HealthCheckPath: '/', HealthCheckIntervalSeconds: 1, HealthCheckTimeoutSeconds: 1,
      HealthyThresholdCount: 2, UnhealthyThresholdCount: 2, Matcher: { HttpCode: '200' }, attributes: {}, tags: [],
    };
    const registration: TargetRecord = {
      TargetGroupArn: tg.TargetGroupArn, Id: '127.0.0.1', Port: targetPort, address: '127.0.0.1', registeredAt: Date.now() / 1000,
      health: { State: 'initial', Reason: 'Elb.RegistrationInProgress', Description: 'Target registration is in progress' },
    };
    const lb: LoadBalancerRecord = { LoadBalancerArn: `${ARN}:loadbalancer/app/front/1`, LoadBalancerName: 'front', Type: 'application', State: { Code: 'provisioning' }, CreatedTime: 0, attributes: {}, tags: [] };
    const listener: ListenerRecord = { ListenerArn: `${ARN}:listener/app/front/1/l`, LoadBalancerArn: lb.LoadBalancerArn, Port: port, Protocol: 'HTTP', DefaultActions: [{ Type: 'forward', TargetGroupArn: tg.TargetGroupArn }], tags: [] };
    await wharf.store.put(keys.targetGroup('web'), tg);
    await wharf.store.put(keys.target('web', '127.0.0.1', targetPort), registration);
    await wharf.store.put(keys.listener('front', 'l'), listener);
    await wharf.store.put(keys.loadBalancer('front'), lb);
    await pollUntil('the target healthy', async () => ((await wharf.store.get<TargetRecord>(keys.target('web', '127.0.0.1', targetPort)))?.value.health.State === 'healthy' ? true : undefined));
    assert.equal((await wharf.store.get<LoadBalancerRecord>(keys.loadBalancer('front')))?.value.State.Code, 'active');
    assert.equal(await fetchBody(port), 'from the target');
    await wharf.close();
    closed = true;
    await assert.rejects(fetchBody(port), /ECONNREFUSED/);
  } finally {
    if (!closed) await wharf.close();
    target.close();
  }
});
