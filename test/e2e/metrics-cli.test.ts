/**
 * Metrics of a real task, end to end: an agent samples a CPU-burning service task on Docker Engine,
 * the server publishes the ECS metrics, and the Debian AWS CLI (awsQuery) reads them with
 * `get-metric-statistics`; botocore, made to speak RPC v2 CBOR, reads the same series; `/metrics`
 * shows it to Prometheus.
 */
import { after, before, it } from 'node:test';
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { existsSync } from 'node:fs';
import { promisify } from 'node:util';
import { CreateServiceCommand, RegisterTaskDefinitionCommand } from '@aws-sdk/client-ecs';
import { ensureTestImage, TEST_IMAGE } from '../../src/testkit/test-image.js';
import { startWharf, type WharfProcesses } from '../../src/testkit/wharf-processes.js';
import { AWS_CLI, waitFor, waitForConnectedInstances } from './helpers.js';

const run = promisify(execFile);
let w: WharfProcesses;
const PYTHON_WITH_BOTOCORE = '/root/.pyenv/shims/python3';

before(async () => {
  await ensureTestImage();
  w = await startWharf();
  // Sampling every 2 s (ECS: 20 s) so the first round of samples is in within one server round.
  await w.startAgent({ extraArgs: ['--stats-sample-interval-ms', '2000'] });
  await waitForConnectedInstances(w.ecs, w.cluster);
});
after(async () => { await w?.stop(); });

async function cloudwatch(...args: string[]): Promise<any> {
  const { stdout } = await run(AWS_CLI, ['cloudwatch', ...args, '--endpoint-url', w.url, '--region', 'us-east-1', '--output', 'json'], { env: w.cliEnv() });
  return stdout.trim() === '' ? {} : JSON.parse(stdout);
}

const iso = (ms: number) => new Date(ms).toISOString().replace(/\.\d+Z$/, 'Z');

it('a CPU-burning service task shows in AWS/ECS CPUUtilization through the Debian CLI', async () => {
  await w.ecs.send(new RegisterTaskDefinitionCommand({
    family: 'burner', cpu: '256', memory: '64',
    containerDefinitions: [{ name: 'burn', image: TEST_IMAGE, command: ['sh', '-c', 'while :; do :; done'], stopTimeout: 1 }],
  }));
  await w.ecs.send(new CreateServiceCommand({ cluster: w.cluster, serviceName: 'burner', taskDefinition: 'burner', desiredCount: 1 }));
  const dims = ['--dimensions', `Name=ClusterName,Value=${w.cluster}`, 'Name=ServiceName,Value=burner'];
  const stats = (metric: string, namespace = 'AWS/ECS', dimensions = dims) => cloudwatch('get-metric-statistics',
    '--namespace', namespace, '--metric-name', metric, ...dimensions, '--period', '60', '--statistics', 'Average', 'Maximum', 'SampleCount',
    '--start-time', iso(Date.now() - 10 * 60_000), '--end-time', iso(Date.now() + 60_000));
  const cpu = await waitFor('CPUUtilization datapoints', async () => {
    const out = await stats('CPUUtilization');
    return out.Datapoints?.length ? out : undefined;
  }, 120_000, 2000);
  assert.equal(cpu.Label, 'CPUUtilization');
  const point = cpu.Datapoints[0];
  assert.equal(point.Unit, 'Percent');
  // The loop keeps a core busy against 256 reserved units: far above zero, whatever the machine's load.
  assert.ok(point.Average > 10, `CPUUtilization ${point.Average}`);
  assert.ok(point.SampleCount >= 1);
  const memory = await stats('MemoryUtilization');
  assert.ok(memory.Datapoints.length > 0);
  assert.ok(memory.Datapoints[0].Average >= 0 && memory.Datapoints[0].Average < 100);
  const running = await waitFor('RunningTaskCount', async () => {
    const out = await stats('RunningTaskCount', 'ECS/ContainerInsights');
    return out.Datapoints?.some((p: { Maximum: number }) => p.Maximum === 1) ? out : undefined;
  }, 90_000, 2000);
  assert.ok(running.Datapoints.length > 0);
  const listed = await cloudwatch('list-metrics', '--namespace', 'AWS/ECS', '--dimensions', `Name=ServiceName,Value=burner`);
  assert.deepEqual(listed.Metrics.map((m: { MetricName: string }) => m.MetricName).sort(), ['CPUUtilization', 'MemoryUtilization']);

  const prometheus = await (await fetch(`${w.url}/metrics`)).text();
  assert.match(prometheus, new RegExp(`^cloudwatch_aws_ecs_cpu_utilization_average\\{cluster_name="${w.cluster}",service_name="burner"\\} \\d`, 'm'));
});

it('botocore speaking RPC v2 CBOR reads the same series', { skip: !existsSync(PYTHON_WITH_BOTOCORE) && 'no Python with botocore' }, async () => {
  // botocore prefers awsJson for CloudWatch; putting CBOR first in its protocol order makes it send CBOR.
  const script = `
import sys, json, datetime, botocore.model, botocore.session
botocore.model.PRIORITY_ORDERED_SUPPORTED_PROTOCOLS = ('smithy-rpc-v2-cbor', 'json', 'query')
c = botocore.session.get_session().create_client('cloudwatch', endpoint_url=sys.argv[1], region_name='us-east-1')
assert c.meta.service_model.resolved_protocol == 'smithy-rpc-v2-cbor', c.meta.service_model.resolved_protocol
now = datetime.datetime.now(datetime.timezone.utc)
r = c.get_metric_statistics(Namespace='AWS/ECS', MetricName='CPUUtilization',
    Dimensions=[{'Name': 'ClusterName', 'Value': sys.argv[2]}, {'Name': 'ServiceName', 'Value': 'burner'}],
    StartTime=now - datetime.timedelta(minutes=10), EndTime=now + datetime.timedelta(minutes=1), Period=60, Statistics=['Average'])
try:
    c.set_alarm_state(AlarmName='none-such', StateValue='OK', StateReason='x')
    code = None
except c.exceptions.ResourceNotFound as e:
    code = e.response['Error']['Code']
print(json.dumps({'points': [{'t': p['Timestamp'].isoformat(), 'avg': p['Average']} for p in r['Datapoints']], 'code': code}))
`;
  const { stdout } = await run(PYTHON_WITH_BOTOCORE, ['-c', script, w.url, w.cluster], { env: w.cliEnv() });
  const out = JSON.parse(stdout) as { points: { t: string; avg: number }[]; code: string };
  assert.ok(out.points.length > 0);
  assert.ok(out.points.every((p) => /^\d{4}-\d\d-\d\dT\d\d:\d\d:00\+00:00$/.test(p.t) && p.avg > 0));
  assert.equal(out.code, 'ResourceNotFound');
});
