/**
 * Model-driven fuzzing of every operation of every model Wharf serves, over each wire it serves the
 * model on: inputs generated from the operation's input shape (src/testkit/model-fuzz.ts), signed,
 * sent to an in-process server. Each answer must be below 500, an error must be in the protocol's
 * own format with a code, and the server must still answer afterwards. Most inputs draw identifiers
 * from resources created first (and from every successful answer since), so handlers get past
 * "not found". Two more tests check that mutating operations which fail write nothing, and that
 * copies of each mutating fixture raced against each other answer as one at a time would.
 *
 * Replay: the seed is printed; `WHARF_FUZZ_SEED=<seed>` repeats the run, `WHARF_FUZZ_ONLY=<regex>`
 * keeps the operations whose `<target>.<Operation>` matches, `WHARF_FUZZ_INPUTS=<n>` sets the
 * inputs per served operation (default 64; raise it for a deeper local run), `WHARF_FUZZ_STATS=1` prints
 * one answer per operation and answer code (where generated inputs stop).
 */
import { after, before, it } from 'node:test';
import assert from 'node:assert/strict';
import { Agent, request } from 'node:http';
import { decodeCbor, encodeCbor } from './protocol/cbor.js';
import {
  applicationAutoscalingModel, cloudwatchModel, ecrModel, ecsModel, elbv2Model, logsModel, type ServiceModel,
} from './validation/index.js';
import { signRequest } from '../sigv4/index.js';
import { isReservedNamespace } from '../metrics/index.js';
import { startInProcessServer, TEST_CREDENTIALS, type InProcessServer } from '../testkit/in-process-server.js';
import { seededRng } from '../testkit/seeded-rng.js';
import { TestRegistryClient } from '../testkit/registry-client.js';
import {
  generateInput, harvestIdentifiers, jsonText, mutateInput, toCborValue, toJsonValue, toQueryParams, type Wire,
} from '../testkit/model-fuzz.js';

const SEED = process.env['WHARF_FUZZ_SEED'] !== undefined ? Number(process.env['WHARF_FUZZ_SEED']) : Math.floor(Math.random() * 2 ** 32);
const INPUTS = Number(process.env['WHARF_FUZZ_INPUTS'] ?? 64);
const ONLY = process.env['WHARF_FUZZ_ONLY'] !== undefined ? new RegExp(process.env['WHARF_FUZZ_ONLY']) : undefined;
/** An answer slower than this counts as a hang. */
const REQUEST_TIMEOUT_MS = 20_000;

/** One model on one wire. */
interface Target {
  name: string;
  model: ServiceModel;
  wire: Wire;
  signingName: string;
  /** awsJson: X-Amz-Target prefix and JSON version; CBOR: the service in the path. */
  targetPrefix?: string;
  jsonVersion?: '1.0' | '1.1';
}

const TARGETS: Target[] = [
  { name: 'ecs', model: ecsModel, wire: 'json', signingName: 'ecs', targetPrefix: 'AmazonEC2ContainerServiceV20141113', jsonVersion: '1.1' },
  { name: 'ecr', model: ecrModel, wire: 'json', signingName: 'ecr', targetPrefix: 'AmazonEC2ContainerRegistry_V20150921', jsonVersion: '1.1' },
  {
    name: 'autoscaling', model: applicationAutoscalingModel, wire: 'json', signingName: 'application-autoscaling',
    targetPrefix: 'AnyScaleFrontendService', jsonVersion: '1.1',
  },
  { name: 'logs', model: logsModel, wire: 'json', signingName: 'logs', targetPrefix: 'Logs_20140328', jsonVersion: '1.1' },
  { name: 'elbv2', model: elbv2Model, wire: 'query', signingName: 'elasticloadbalancing' },
  { name: 'cloudwatch-json', model: cloudwatchModel, wire: 'json', signingName: 'monitoring', targetPrefix: 'GraniteServiceVersion20100801', jsonVersion: '1.0' },
  { name: 'cloudwatch-query', model: cloudwatchModel, wire: 'query', signingName: 'monitoring' },
  { name: 'cloudwatch-cbor', model: cloudwatchModel, wire: 'cbor', signingName: 'monitoring', targetPrefix: 'GraniteServiceVersion20100801' },
];

interface Answer { status: number; contentType: string; body: Buffer }

let h: InProcessServer;
const agent = new Agent({ keepAlive: true, maxSockets: 1 });
/** Identifiers of real resources, by lower-cased member name (see model-fuzz.ts). */
const known = new Map<string, string[]>();

before(async () => {
  h = await startInProcessServer();
  await createResources();
  console.log(`fuzz seed ${SEED} (replay: WHARF_FUZZ_SEED=${SEED}), ${INPUTS} inputs per served operation`);
});
after(async () => {
  agent.destroy();
  await h.close();
});

function send(target: Target, operation: string, input: Record<string, unknown>, through: Agent = agent): Promise<Answer> {
  let path = '/';
  let body: Buffer;
  const headers: Record<string, string> = {};
  if (target.wire === 'json') {
    body = Buffer.from(jsonText(input));
    headers['content-type'] = `application/x-amz-json-${target.jsonVersion ?? '1.1'}`;
    headers['x-amz-target'] = `${target.targetPrefix ?? ''}.${operation}`;
  } else if (target.wire === 'cbor') {
    path = `/service/${target.targetPrefix ?? ''}/operation/${operation}`;
    body = Buffer.from(encodeCbor(toCborValue(input)));
    Object.assign(headers, { 'content-type': 'application/cbor', accept: 'application/cbor', 'smithy-protocol': 'rpc-v2-cbor' });
  } else {
    body = Buffer.from(new URLSearchParams(toQueryParams(target.model, operation, input)).toString());
    headers['content-type'] = 'application/x-www-form-urlencoded; charset=utf-8';
  }
  const url = new URL(path, h.url);
  Object.assign(headers, { host: url.host, 'content-length': String(body.length) });
  Object.assign(headers, signRequest({ method: 'POST', url, headers, body }, TEST_CREDENTIALS, { region: 'us-east-1', service: target.signingName }));
  return new Promise((resolve, reject) => {
    const req = request(url, { method: 'POST', headers, agent: through, timeout: REQUEST_TIMEOUT_MS }, (res) => {
      const parts: Buffer[] = [];
      res.on('data', (c: Buffer) => parts.push(c));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, contentType: String(res.headers['content-type'] ?? ''), body: Buffer.concat(parts) }));
      res.on('error', reject);
    });
    req.on('timeout', () => req.destroy(new Error(`no answer within ${REQUEST_TIMEOUT_MS} ms (hang)`)));
    req.on('error', reject);
    req.end(body);
  });
}

/** The error code of an answer, checking the protocol's error format; undefined for a success. Throws on a malformed answer. */
function errorCodeOf(target: Target, answer: Answer): string | undefined {
  if (target.wire === 'query') {
    const text = answer.body.toString('utf8');
    assert.match(answer.contentType, /^text\/xml/, 'awsQuery answers are XML');
    if (answer.status < 300) {
      assert.match(text, /^<\?xml [^>]*\?>\s*<\w+Response[ >]/, 'an awsQuery success is an <OperationResponse> document');
      return undefined;
    }
    assert.match(text, /<ErrorResponse[ >][\s\S]*<Error>[\s\S]*<Code>[^<]+<\/Code>[\s\S]*<\/ErrorResponse>/, 'an awsQuery error is an <ErrorResponse> with a <Code>');
    return /<Code>([^<]+)<\/Code>/.exec(text)?.[1];
  }
  if (target.wire === 'cbor') {
    assert.match(answer.contentType, /^application\/cbor/, 'RPC v2 CBOR answers are CBOR');
    const value = decodeCbor(answer.body) as Record<string, unknown>;
    assert.ok(value !== null && typeof value === 'object' && !Array.isArray(value), 'a CBOR answer is a map');
    if (answer.status < 300) return undefined;
    assert.equal(typeof value['__type'], 'string', 'a CBOR error has a __type');
    return value['__type'] as string;
  }
  assert.equal(answer.contentType, `application/x-amz-json-${target.jsonVersion ?? '1.1'}`);
  const value = JSON.parse(answer.body.toString('utf8')) as Record<string, unknown>;
  assert.ok(value !== null && typeof value === 'object' && !Array.isArray(value), 'a JSON answer is an object');
  if (answer.status < 300) return undefined;
  assert.equal(typeof value['__type'], 'string', 'a JSON error has a __type');
  assert.notEqual(value['__type'], '', 'a JSON error has a __type');
  return value['__type'] as string;
}

/** The successful answer's identifiers, into `known`. */
function harvest(target: Target, answer: Answer): void {
  if (answer.status >= 300) return;
  if (target.wire === 'json') harvestIdentifiers(JSON.parse(answer.body.toString('utf8')), known);
  else if (target.wire === 'cbor') harvestIdentifiers(decodeCbor(answer.body), known);
  else {
    for (const m of answer.body.toString('utf8').matchAll(/<(\w+)>([^<]{1,2048})<\/\1>/g)) harvestIdentifiers({ [m[1]!]: m[2]! }, known);
  }
}

const targetNamed = (name: string) => TARGETS.find((t) => t.name === name)!;

/** Real resources for the fuzzed operations to find, as any client would create them; each is also a seed to mutate. */
const FIXTURES: { target: string; operation: string; input: (known: Map<string, string[]>) => Record<string, unknown>; mayFail?: boolean }[] = [
  { target: 'ecs', operation: 'CreateCluster', input: () => ({ clusterName: 'fuzz-cluster' }) },
  {
    target: 'ecs', operation: 'RegisterTaskDefinition', input: () => ({
      family: 'fuzz-family', networkMode: 'bridge', cpu: '256', memory: '512',
      containerDefinitions: [{
        name: 'web', image: 'wharf-test/busybox:latest', memory: 64, cpu: 128, essential: true, command: ['sh', '-c', 'httpd -f'],
        environment: [{ name: 'MODE', value: 'x' }], portMappings: [{ containerPort: 80, hostPort: 0, protocol: 'tcp' }],
        healthCheck: { command: ['CMD-SHELL', 'true'], interval: 30, retries: 3 },
        logConfiguration: { logDriver: 'awslogs', options: { 'awslogs-group': '/fuzz/group', 'awslogs-stream-prefix': 'web' } },
      }],
      tags: [{ key: 'env', value: 'fuzz' }],
    }),
  },
  {
    target: 'ecs', operation: 'CreateService', input: () => ({
      cluster: 'fuzz-cluster', serviceName: 'fuzz-service', taskDefinition: 'fuzz-family', desiredCount: 0,
      deploymentConfiguration: { maximumPercent: 200, minimumHealthyPercent: 50 }, placementStrategy: [{ type: 'spread', field: 'instanceId' }],
    }),
  },
  { target: 'ecr', operation: 'CreateRepository', input: () => ({ repositoryName: 'fuzz/repo', imageTagMutability: 'MUTABLE', tags: [{ Key: 'a', Value: 'b' }] }) },
  { target: 'logs', operation: 'CreateLogGroup', input: () => ({ logGroupName: '/fuzz/group' }) },
  { target: 'logs', operation: 'CreateLogStream', input: () => ({ logGroupName: '/fuzz/group', logStreamName: 'fuzz-stream' }) },
  {
    target: 'logs', operation: 'PutLogEvents',
    input: () => ({ logGroupName: '/fuzz/group', logStreamName: 'fuzz-stream', logEvents: [{ timestamp: Date.now(), message: 'hello' }, { timestamp: Date.now(), message: 'two' }] }),
  },
  { target: 'elbv2', operation: 'CreateTargetGroup', input: () => ({ Name: 'fuzz-tg', Protocol: 'HTTP', Port: 80, VpcId: 'vpc-1', TargetType: 'ip', HealthCheckPath: '/' }) },
  { target: 'elbv2', operation: 'CreateLoadBalancer', input: () => ({ Name: 'fuzz-lb', Type: 'application', Tags: [{ Key: 'a', Value: 'b' }] }) },
  {
    target: 'elbv2', operation: 'CreateListener', input: (k) => ({
      LoadBalancerArn: k.get('loadbalancerarn')?.[0], Protocol: 'HTTP', Port: 18080,
      DefaultActions: [{ Type: 'forward', TargetGroupArn: k.get('targetgrouparn')?.[0] }],
    }),
  },
  {
    target: 'elbv2', operation: 'CreateRule', input: (k) => ({
      ListenerArn: k.get('listenerarn')?.[0], Priority: 10, Conditions: [{ Field: 'path-pattern', Values: ['/api/*'] }],
      Actions: [{ Type: 'forward', ForwardConfig: { TargetGroups: [{ TargetGroupArn: k.get('targetgrouparn')?.[0], Weight: 1 }] } }],
    }),
  },
  { target: 'elbv2', operation: 'RegisterTargets', input: (k) => ({ TargetGroupArn: k.get('targetgrouparn')?.[0], Targets: [{ Id: '10.0.0.1', Port: 8080 }] }) },
  {
    target: 'cloudwatch-json', operation: 'PutMetricData',
    input: () => ({ Namespace: 'Fuzz/App', MetricData: [{ MetricName: 'Load', Value: 1, Unit: 'Count', Dimensions: [{ Name: 'Host', Value: 'a' }] }] }),
  },
  {
    target: 'cloudwatch-json', operation: 'PutMetricAlarm', input: () => ({
      AlarmName: 'fuzz-alarm', Namespace: 'Fuzz/App', MetricName: 'Load', Statistic: 'Average', Period: 60, EvaluationPeriods: 1,
      Threshold: 1, ComparisonOperator: 'GreaterThanThreshold', Dimensions: [{ Name: 'Host', Value: 'a' }],
    }),
  },
  {
    target: 'cloudwatch-json', operation: 'GetMetricStatistics', input: () => ({
      Namespace: 'Fuzz/App', MetricName: 'Load', StartTime: Math.floor(Date.now() / 1000) - 3600, EndTime: Math.floor(Date.now() / 1000),
      Period: 60, Statistics: ['Average'], Dimensions: [{ Name: 'Host', Value: 'a' }],
    }),
  },
  {
    target: 'autoscaling', operation: 'RegisterScalableTarget', input: () => ({
      ServiceNamespace: 'ecs', ResourceId: 'service/fuzz-cluster/fuzz-service', ScalableDimension: 'ecs:service:DesiredCount', MinCapacity: 0, MaxCapacity: 2,
    }),
  },
  {
    target: 'autoscaling', operation: 'PutScalingPolicy', input: () => ({
      PolicyName: 'fuzz-policy', ServiceNamespace: 'ecs', ResourceId: 'service/fuzz-cluster/fuzz-service', ScalableDimension: 'ecs:service:DesiredCount',
      PolicyType: 'TargetTrackingScaling',
      TargetTrackingScalingPolicyConfiguration: { TargetValue: 50, PredefinedMetricSpecification: { PredefinedMetricType: 'ECSServiceAverageCPUUtilization' } },
    }),
  },
  {
    target: 'autoscaling', operation: 'PutScheduledAction', input: () => ({
      ScheduledActionName: 'fuzz-schedule', ServiceNamespace: 'ecs', ResourceId: 'service/fuzz-cluster/fuzz-service',
      ScalableDimension: 'ecs:service:DesiredCount', Schedule: 'cron(0 12 * * ? *)', ScalableTargetAction: { MinCapacity: 0, MaxCapacity: 1 },
    }),
  },
  {
    target: 'autoscaling', operation: 'PutScalingPolicy', input: () => ({
      PolicyName: 'fuzz-steps', ServiceNamespace: 'ecs', ResourceId: 'service/fuzz-cluster/fuzz-service', ScalableDimension: 'ecs:service:DesiredCount',
      PolicyType: 'StepScaling', StepScalingPolicyConfiguration: {
        AdjustmentType: 'ChangeInCapacity', Cooldown: 60, MetricAggregationType: 'Average',
        StepAdjustments: [{ MetricIntervalLowerBound: 0, MetricIntervalUpperBound: 10, ScalingAdjustment: 1 }, { MetricIntervalLowerBound: 10, ScalingAdjustment: 2 }],
      },
    }),
  },
  { target: 'ecs', operation: 'UpdateService', input: () => ({ cluster: 'fuzz-cluster', service: 'fuzz-service', desiredCount: 0, taskDefinition: 'fuzz-family:1' }) },
  { target: 'ecs', operation: 'PutAttributes', input: () => ({ cluster: 'fuzz-cluster', attributes: [{ name: 'stack', value: 'prod', targetType: 'container-instance' }] }), mayFail: true },
  { target: 'ecs', operation: 'TagResource', input: (k) => ({ resourceArn: k.get('clusterarn')?.[0], tags: [{ key: 'k', value: 'v' }] }) },
  { target: 'ecs', operation: 'UpdateCluster', input: () => ({ cluster: 'fuzz-cluster', settings: [{ name: 'containerInsights', value: 'enabled' }] }) },
  {
    target: 'ecs', operation: 'ListTasks',
    input: () => ({ cluster: 'fuzz-cluster', serviceName: 'fuzz-service', desiredStatus: 'RUNNING', maxResults: 10 }),
  },
  {
    target: 'ecr', operation: 'PutLifecyclePolicy', input: () => ({
      repositoryName: 'fuzz/repo', lifecyclePolicyText: JSON.stringify({
        rules: [{ rulePriority: 1, selection: { tagStatus: 'untagged', countType: 'sinceImagePushed', countUnit: 'days', countNumber: 1 }, action: { type: 'expire' } }],
      }),
    }),
  },
  // The image pushed through the registry first (createResources), tagged once more.
  { target: 'ecr', operation: 'PutImage', input: () => ({ repositoryName: 'fuzz/repo', imageTag: 'v1', imageManifest: pushedManifest }) },
  { target: 'logs', operation: 'PutRetentionPolicy', input: () => ({ logGroupName: '/fuzz/group', retentionInDays: 7 }) },
  {
    target: 'logs', operation: 'FilterLogEvents',
    input: () => ({ logGroupName: '/fuzz/group', filterPattern: '"hello" -bye', startTime: Date.now() - 3_600_000, limit: 10 }),
  },
  { target: 'logs', operation: 'GetLogEvents', input: () => ({ logGroupName: '/fuzz/group', logStreamName: 'fuzz-stream', startFromHead: true, limit: 5 }) },
  {
    target: 'elbv2', operation: 'ModifyTargetGroupAttributes',
    input: (k) => ({ TargetGroupArn: k.get('targetgrouparn')?.[0], Attributes: [{ Key: 'deregistration_delay.timeout_seconds', Value: '5' }] }),
  },
  {
    target: 'elbv2', operation: 'ModifyLoadBalancerAttributes',
    input: (k) => ({ LoadBalancerArn: k.get('loadbalancerarn')?.[0], Attributes: [{ Key: 'idle_timeout.timeout_seconds', Value: '30' }] }),
  },
  {
    target: 'elbv2', operation: 'ModifyTargetGroup',
    input: (k) => ({ TargetGroupArn: k.get('targetgrouparn')?.[0], HealthCheckPath: '/health', HealthCheckIntervalSeconds: 10, Matcher: { HttpCode: '200-299' } }),
  },
  { target: 'elbv2', operation: 'AddTags', input: (k) => ({ ResourceArns: [k.get('loadbalancerarn')?.[0]], Tags: [{ Key: 'team', Value: 'fuzz' }] }) },
  {
    target: 'elbv2', operation: 'ModifyListener',
    input: (k) => ({ ListenerArn: k.get('listenerarn')?.[0], Port: 18081, DefaultActions: [{ Type: 'fixed-response', FixedResponseConfig: { StatusCode: '503', ContentType: 'text/plain', MessageBody: 'down' } }] }),
  },
  {
    target: 'cloudwatch-json', operation: 'GetMetricData', input: () => ({
      StartTime: Math.floor(Date.now() / 1000) - 3600, EndTime: Math.floor(Date.now() / 1000), MetricDataQueries: [
        { Id: 'm1', MetricStat: { Metric: { Namespace: 'Fuzz/App', MetricName: 'Load', Dimensions: [{ Name: 'Host', Value: 'a' }] }, Period: 60, Stat: 'Sum' }, ReturnData: false },
        { Id: 'e1', Expression: 'm1 * 100 / (m1 + 1)', Label: 'ratio' },
        { Id: 'e2', Expression: 'SUM([m1, e1]) + AVG(m1, e1) - MIN(m1) / MAX(m1) + ABS(-m1) * 2.5e1' },
      ],
    }),
  },
  { target: 'cloudwatch-json', operation: 'SetAlarmState', input: () => ({ AlarmName: 'fuzz-alarm', StateValue: 'ALARM', StateReason: 'fuzz' }) },
  {
    target: 'cloudwatch-json', operation: 'DescribeAlarmHistory',
    input: () => ({ AlarmName: 'fuzz-alarm', HistoryItemType: 'StateUpdate', StartDate: 0, EndDate: Math.floor(Date.now() / 1000) + 60, MaxRecords: 5 }),
  },
  {
    target: 'ecs', operation: 'RunTask',
    input: () => ({ cluster: 'fuzz-cluster', taskDefinition: 'fuzz-family', count: 1, overrides: { containerOverrides: [{ name: 'web', command: ['true'] }] } }),
    mayFail: true,
  },
];

/** Each fixture's input as sent, by model and operation: the seeds mutated inputs start from. */
const seeds = new Map<string, Record<string, unknown>>();
const seedKey = (model: ServiceModel, operation: string) => `${model.metadata.serviceId}.${operation}`;

/** An image manifest pushed to `fuzz/repo` through the registry, so ECR's image operations find an image. */
let pushedManifest = '';

async function createResources(): Promise<void> {
  for (const fixture of FIXTURES) {
    if (fixture.operation === 'PutImage') {
      const auth = await send(targetNamed('ecr'), 'GetAuthorizationToken', {});
      const token = (JSON.parse(auth.body.toString('utf8')) as { authorizationData: { authorizationToken: string }[] }).authorizationData[0]!.authorizationToken;
      pushedManifest = (await new TestRegistryClient(h.url, token).pushImage('fuzz/repo', 'v0', 'fuzz')).manifest;
    }
    const target = targetNamed(fixture.target);
    const input = fixture.input(known);
    const answer = await send(target, fixture.operation, input);
    // A fixture that cannot succeed here (RunTask without container instances) still seeds mutations.
    assert.ok(answer.status < (fixture.mayFail === true ? 500 : 300), `fixture ${fixture.target}.${fixture.operation}: ${answer.status} ${answer.body.toString('utf8').slice(0, 500)}`);
    harvest(target, answer);
    seeds.set(seedKey(target.model, fixture.operation), input);
  }
}

/** Deleting operations go last, so the other operations still find the resources. */
function operationOrder(model: ServiceModel): string[] {
  const destroys = (op: string) => /^(Delete|Deregister|Deactivate|Disassociate|Remove|Stop|Cancel)/.test(op);
  const names = Object.keys(model.operations).sort();
  return [...names.filter((op) => !destroys(op)), ...names.filter(destroys)];
}

const UNSERVED = new Set(['UnknownOperationException', 'InvalidAction']);
const show = (value: unknown) => {
  const text = JSON.stringify(toJsonValue(value));
  return text.length > 1500 ? `${text.slice(0, 1500)}... (${text.length} chars)` : text;
};

/** Everything a failed request must leave as it was: the state store, and the log groups, streams and metrics listed. */
async function snapshot(): Promise<Map<string, string>> {
  const state = new Map((await h.store.list('')).map((e) => [e.key, `revision ${e.modRevision}`]));
  const listed = await Promise.all([
    send(targetNamed('logs'), 'DescribeLogGroups', {}),
    send(targetNamed('logs'), 'DescribeLogStreams', { logGroupName: '/fuzz/group' }),
    send(targetNamed('cloudwatch-json'), 'ListMetrics', {}),
  ]);
  listed.forEach((a, i) => state.set(`(listed ${['log groups', 'log streams', 'metrics'][i]!})`, a.body.toString('utf8')));
  // Wharf publishes ECS and load balancer metrics in the background, in namespaces no client may write.
  const metrics = (JSON.parse(listed[2]!.body.toString('utf8')) as { Metrics: { Namespace: string }[] }).Metrics;
  state.set('(listed metrics)', JSON.stringify(metrics.filter((m) => !isReservedNamespace(m.Namespace))));
  return state;
}

/** What differs between two snapshots, key by key. */
function changes(before: Map<string, string>, after: Map<string, string>): string[] {
  return [...new Set([...before.keys(), ...after.keys()])]
    .filter((key) => before.get(key) !== after.get(key))
    .map((key) => `${key}: ${before.get(key)?.slice(0, 300) ?? '(none)'} -> ${after.get(key)?.slice(0, 300) ?? '(none)'}`);
}

const MUTATING = /^(Create|Register|Put|Update|Modify|Delete|Deregister|Tag|Untag|Set|Add|Remove|Start|Stop|Run|Submit|Associate|Disassociate)/;

it('mutating operations that fail leave nothing half-written', { timeout: 600_000 }, async () => {
  const failures: string[] = [];
  let checked = 0;
  for (const target of TARGETS.filter((t) => t.wire !== 'cbor')) {
    for (const operation of operationOrder(target.model).filter((op) => MUTATING.test(op))) {
      const id = `${target.name}.${operation}`;
      if (ONLY !== undefined && !ONLY.test(id)) continue;
      for (let i = 0; i < Math.max(2, Math.ceil(INPUTS / 8)); i++) {
        const rng = seededRng(hashSeed(`${SEED}:unchanged:${id}:${i}`));
        const options = { rng, wire: target.wire, known, tame: true };
        const seed = seeds.get(seedKey(target.model, operation));
        const input = seed !== undefined && i % 2 === 0 ? mutateInput(target.model, operation, seed, options) : generateInput(target.model, operation, options);
        const before = await snapshot();
        const answer = await send(target, operation, input);
        const code = answer.status >= 400 ? errorCodeOf(target, answer) : undefined;
        if (code !== undefined && UNSERVED.has(code)) break;
        if (answer.status < 400) continue;
        checked++;
        let changed = changes(before, await snapshot());
        if (changed.length > 0) {
          // Controllers write too (alarm states, service events): a change counts only if sending the input again repeats it.
          const again = await snapshot();
          await send(target, operation, input);
          const keyOf = (change: string) => change.slice(0, change.indexOf(': '));
          changed = changes(again, await snapshot()).filter((change) => changed.some((first) => keyOf(first) === keyOf(change)));
        }
        if (changed.length > 0) failures.push(`${id} #${i} failed with ${code ?? answer.status} but changed ${changed.join('; ')}\n  input: ${show(input)}`);
      }
    }
  }
  console.log(`checked ${checked} failed mutating requests for half-written state; seed ${SEED}`);
  assert.ok(checked > 0);
  assert.deepEqual(failures, [], `seed ${SEED}: ${failures.length} failed requests changed the state`);
});

it('concurrent writes to the same resources answer below 500, in the protocol\'s format, with the service\'s codes', { timeout: 600_000 }, async () => {
  const parallel = new Agent({ keepAlive: true, maxSockets: 8 });
  const failures: string[] = [];
  try {
    // Every mutating fixture, then its undoing where the model has one, raced against copies of itself.
    for (const fixture of FIXTURES.filter((f) => MUTATING.test(f.operation))) {
      const target = targetNamed(fixture.target);
      const id = `${target.name}.${fixture.operation}`;
      if (ONLY !== undefined && !ONLY.test(id)) continue;
      for (let round = 0; round < Math.max(1, Math.ceil(INPUTS / 32)); round++) {
        const inputs = Array.from({ length: 8 }, (_, i) => {
          const rng = seededRng(hashSeed(`${SEED}:race:${id}:${round}:${i}`));
          // Half the racers send the fixture as is (the same name: a create-create race), half bend it.
          const seed = seeds.get(seedKey(target.model, fixture.operation)) ?? fixture.input(known);
          return i % 2 === 0 ? seed : mutateInput(target.model, fixture.operation, seed, { rng, wire: target.wire, known, tame: true });
        });
        const answers = await Promise.all(inputs.map((input) => send(target, fixture.operation, input, parallel).catch((err: unknown) => err as Error)));
        answers.forEach((answer, i) => {
          if (answer instanceof Error) {
            failures.push(`${id} race ${round}.${i}: ${answer.message}\n  input: ${show(inputs[i])}`);
            return;
          }
          try {
            assert.ok(answer.status < 500, `HTTP ${answer.status}`);
            const code = errorCodeOf(target, answer);
            // The store's compare-and-swap conflict is Wharf's own: a handler retries it or answers the service's code.
            assert.notEqual(code, 'ConflictError', 'a store conflict leaked to the client');
          } catch (err) {
            failures.push(`${id} race ${round}.${i}: ${(err as Error).message}\n  answer: ${answer.status} ${answer.body.toString('utf8').slice(0, 300)}\n  input: ${show(inputs[i])}`);
          }
        });
      }
    }
  } finally {
    parallel.destroy();
  }
  assert.deepEqual(failures, [], `seed ${SEED}: ${failures.length} failing racers`);
});

it('every operation of every served model answers generated inputs below 500, in its protocol\'s format', { timeout: 600_000 }, async () => {
  const failures: string[] = [];
  const counts = { operations: 0, served: 0, requests: 0, ok: 0 };
  const startedMs = Date.now();
  const stats = new Map<string, string>();
  for (const target of TARGETS) {
    for (const operation of operationOrder(target.model)) {
      const id = `${target.name}.${operation}`;
      if (ONLY !== undefined && !ONLY.test(id)) continue;
      counts.operations++;
      let served = true;
      for (let i = 0; i < (served ? INPUTS : 2); i++) {
        // One PRNG per input, so a single input replays from (seed, target, operation, index).
        const rng = seededRng(hashSeed(`${SEED}:${id}:${i}`));
        // Input 0 is empty, which also tells whether the operation is served. Then a third of the inputs
        // know nothing of the resources created while the rest often name them, and half are tame.
        // Operations with a fixture mutate it in every other input.
        const options = { rng, wire: target.wire, known: i % 3 === 0 ? new Map<string, string[]>() : known, tame: i % 2 === 0 };
        const seed = seeds.get(seedKey(target.model, operation));
        const input = i === 0 ? {} : seed !== undefined && i % 2 === 1 ? mutateInput(target.model, operation, seed, options) : generateInput(target.model, operation, options);
        let answer: Answer;
        counts.requests++;
        try {
          answer = await send(target, operation, input);
        } catch (err) {
          failures.push(`${id} #${i}: ${(err as Error).message}\n  input: ${show(input)}`);
          continue;
        }
        let code: string | undefined;
        try {
          assert.ok(answer.status < 500, `HTTP ${answer.status}`);
          code = errorCodeOf(target, answer);
        } catch (err) {
          failures.push(`${id} #${i}: ${(err as Error).message}\n  answer: ${answer.status} ${answer.body.toString('utf8').slice(0, 500)}\n  input: ${show(input)}`);
          continue;
        }
        if (i === 0 && code !== undefined && UNSERVED.has(code)) served = false;
        if (code === undefined) counts.ok++;
        if (process.env['WHARF_FUZZ_STATS'] !== undefined) stats.set(`${id} ${code ?? 'OK'}`, answer.body.toString('utf8').slice(0, 300));
        harvest(target, answer);
      }
      if (served) counts.served++;
      const health = await fetch(new URL('/health', h.url));
      if (health.status !== 200) failures.push(`${id}: the server stopped answering /health (${health.status})`);
    }
  }
  // Every wire still serves a real request.
  for (const [name, operation] of [['ecs', 'ListClusters'], ['ecr', 'DescribeRepositories'], ['logs', 'DescribeLogGroups'],
    ['elbv2', 'DescribeTargetGroups'], ['cloudwatch-json', 'ListMetrics'], ['cloudwatch-query', 'ListMetrics'], ['cloudwatch-cbor', 'ListMetrics'],
    ['autoscaling', 'DescribeScalableTargets']] as const) {
    const input = name === 'autoscaling' ? { ServiceNamespace: 'ecs' } : {};
    const answer = await send(targetNamed(name), operation, input);
    if (answer.status !== 200) failures.push(`after fuzzing, ${name}.${operation} answers ${answer.status} ${answer.body.toString('utf8').slice(0, 300)}`);
  }
  if (stats.size > 0) console.log([...stats].map(([k, n]) => `${k} ${n}`).join('\n'));
  console.log(`fuzzed ${counts.operations} operations (${counts.served} served), ${counts.requests} requests, ${counts.ok} succeeded, ` +
    `${((Date.now() - startedMs) / 1000).toFixed(1)} s; seed ${SEED}`);
  assert.deepEqual(failures, [], `seed ${SEED}: ${failures.length} failing inputs (replay: WHARF_FUZZ_SEED=${SEED} WHARF_FUZZ_ONLY='^<target>\\.<Operation>$')`);
});

/** FNV-1a: a 32-bit seed per input from its name. */
function hashSeed(text: string): number {
  let hash = 0x811c9dc5;
  for (let i = 0; i < text.length; i++) hash = Math.imul(hash ^ text.charCodeAt(i), 0x01000193);
  return hash >>> 0;
}
