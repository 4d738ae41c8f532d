/**
 * The load balancer's request metrics end to end in one process: a Wharf server serving a real
 * HAProxy load balancer, made through the ELBv2 SDK, with two HTTP targets on loopback; requests
 * through it, across a reload; the AWS/ApplicationELB metrics read back through the CloudWatch SDK.
 */
import { after, before, it } from 'node:test';
import assert from 'node:assert/strict';
import { createServer, request, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { CloudWatchClient, GetMetricStatisticsCommand, type Dimension } from '@aws-sdk/client-cloudwatch';
import {
  CreateListenerCommand, CreateLoadBalancerCommand, CreateTargetGroupCommand, DeleteLoadBalancerCommand, DescribeTargetHealthCommand,
  ElasticLoadBalancingV2Client, RegisterTargetsCommand,
} from '@aws-sdk/client-elastic-load-balancing-v2';
import { startInProcessServer, TEST_CREDENTIALS, type InProcessServer } from '../../testkit/in-process-server.js';
import { freeLoopbackPort, pollUntil } from '../../testkit/polling.js';

/** Rounds this short make the test quick; the server's are 20 s. */
const ROUND_MS = 1000;

let w: InProcessServer;
let elb: ElasticLoadBalancingV2Client;
let cloudWatch: CloudWatchClient;
const targets: Server[] = [];

before(async () => {
  w = await startInProcessServer({ loadBalancers: true, ecsMetricsRoundMs: ROUND_MS });
  const config = { endpoint: w.url, region: 'us-east-1', credentials: TEST_CREDENTIALS, maxAttempts: 1 };
  elb = new ElasticLoadBalancingV2Client(config);
  cloudWatch = new CloudWatchClient(config);
  for (let i = 0; i < 2; i++) {
    // `/missing` answers 404; everything else 200 (the health check included).
    const server = createServer((req, res) => res.writeHead(req.url === '/missing' ? 404 : 200).end('ok'));
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    targets.push(server);
  }
});
after(async () => {
  elb?.destroy();
  cloudWatch?.destroy();
  await w?.close();
  for (const t of targets) t.close();
});

function get(port: number, path: string): Promise<number> {
  return new Promise((resolve, reject) => {
    request({ host: '127.0.0.1', port, path, agent: false, timeout: 10_000 }, (res) => {
      res.resume().on('end', () => resolve(res.statusCode ?? 0));
    }).on('error', reject).on('timeout', function (this: { destroy(e: Error): void }) { this.destroy(new Error('timeout')); }).end();
  });
}

it('publishes RequestCount, HTTP code counts, RequestCountPerTarget and TargetResponseTime of the requests sent through the load balancer', async () => {
  const lb = (await elb.send(new CreateLoadBalancerCommand({ Name: 'metrics-lb', Type: 'application' }))).LoadBalancers![0]!;
  const tg = (await elb.send(new CreateTargetGroupCommand({
    Name: 'metrics-tg', Protocol: 'HTTP', Port: 80, TargetType: 'ip', HealthCheckPath: '/health', HealthCheckIntervalSeconds: 5, HealthCheckTimeoutSeconds: 2, HealthyThresholdCount: 2,
  }))).TargetGroups![0]!;
  await elb.send(new RegisterTargetsCommand({
    TargetGroupArn: tg.TargetGroupArn, Targets: targets.map((t) => ({ Id: '127.0.0.1', Port: (t.address() as AddressInfo).port })),
  }));
  const port = await freeLoopbackPort();
  await elb.send(new CreateListenerCommand({ LoadBalancerArn: lb.LoadBalancerArn, Protocol: 'HTTP', Port: port, DefaultActions: [{ Type: 'forward', TargetGroupArn: tg.TargetGroupArn }] }));
  try {
    await pollUntil('both targets healthy', async () => {
      const health = (await elb.send(new DescribeTargetHealthCommand({ TargetGroupArn: tg.TargetGroupArn }))).TargetHealthDescriptions ?? [];
      return health.length === 2 && health.every((h) => h.TargetHealth?.State === 'healthy') ? true : undefined;
    }, 60_000);

    const start = new Date();
    for (let i = 0; i < 12; i++) assert.equal(await get(port, '/'), 200);
    // A second listener reloads HAProxy: the replaced worker's counts are kept, not lost with it.
    const second = await freeLoopbackPort();
    await elb.send(new CreateListenerCommand({ LoadBalancerArn: lb.LoadBalancerArn, Protocol: 'HTTP', Port: second, DefaultActions: [{ Type: 'forward', TargetGroupArn: tg.TargetGroupArn }] }));
    await pollUntil('the second listener served', async () => (await get(second, '/').catch(() => undefined)) === 200 ? true : undefined);
    for (let i = 0; i < 3; i++) assert.equal(await get(port, '/missing'), 404);

    const loadBalancer = lb.LoadBalancerArn!.split(':loadbalancer/')[1]!;
    const targetGroup = tg.TargetGroupArn!.split(':').pop()!;
    assert.match(loadBalancer, /^app\/metrics-lb\/[0-9a-f]{16}$/);
    assert.match(targetGroup, /^targetgroup\/metrics-tg\/[0-9a-f]{16}$/);
    const both: Dimension[] = [{ Name: 'LoadBalancer', Value: loadBalancer }, { Name: 'TargetGroup', Value: targetGroup }];
    const total = async (metricName: string, dimensions: Dimension[], statistic: 'Sum' | 'Average' = 'Sum') => {
      const out = await cloudWatch.send(new GetMetricStatisticsCommand({
        Namespace: 'AWS/ApplicationELB', MetricName: metricName, Dimensions: dimensions, Statistics: [statistic],
        StartTime: new Date(start.getTime() - 120_000), EndTime: new Date(Date.now() + 120_000), Period: 3600,
      }));
      return out.Datapoints?.[0]?.[statistic];
    };
    // Every request is in once the rounds holding them have closed.
    await pollUntil('all 16 requests counted', async () => ((await total('RequestCount', both)) === 16 ? true : undefined), 30_000);
    assert.equal(await total('RequestCount', [{ Name: 'LoadBalancer', Value: loadBalancer }]), 16);
    assert.equal(await total('HTTPCode_Target_2XX_Count', both), 13);
    assert.equal(await total('HTTPCode_Target_4XX_Count', both), 3);
    assert.equal(await total('HTTPCode_Target_5XX_Count', both), undefined);
    // Two healthy targets: half the requests each, as target tracking's ALBRequestCountPerTarget reads it.
    assert.equal(await total('RequestCountPerTarget', [{ Name: 'TargetGroup', Value: targetGroup }]), 8);
    const responseTime = await total('TargetResponseTime', both, 'Average');
    assert.ok(responseTime !== undefined && responseTime >= 0 && responseTime < 5, `TargetResponseTime ${responseTime}`);
  } finally {
    await elb.send(new DeleteLoadBalancerCommand({ LoadBalancerArn: lb.LoadBalancerArn }));
  }
});
