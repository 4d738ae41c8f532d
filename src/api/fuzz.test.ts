/**
 * Model-driven fuzzing of every operation of every model Wharf serves, over each wire it serves the
 * model on: inputs generated from the operation's input shape (src/testkit/model-fuzz.ts), signed,
 * sent to an in-process server. Each answer must be below 500, an error must be in the protocol's
 * own format with a code, and the server must still answer afterwards. Most inputs draw identifiers
 * from resources created first (and from every successful answer since), so handlers get past
 * "not found". A second test checks that mutating operations which fail write nothing.
 *
 * Replay: the seed is printed; `WHARF_FUZZ_SEED=<seed>` repeats the run, `WHARF_FUZZ_ONLY=<regex>`
 * keeps the operations whose `<target>.<Operation>` matches, `WHARF_FUZZ_INPUTS=<n>` sets the
 * inputs per served operation (default 64; raise it for a deeper local run).
 */
import { after, before, it } from 'node:test';
import assert from 'node:assert/strict';
import { Agent, request } from 'node:http';
import { decodeCbor, encodeCbor } from './protocol/cbor.js';
import {
  applicationAutoscalingModel, cloudwatchModel, ecrModel, ecsModel, elbv2Model, logsModel, type ServiceModel,
} from './validation/index.js';
import { signRequest } from '../sigv4/index.js';
import { startInProcessServer, TEST_CREDENTIALS, type InProcessServer } from '../testkit/in-process-server.js';
import { seededRng } from '../testkit/seeded-rng.js';
import {
  generateInput, harvestIdentifiers, toCborValue, toJsonValue, toQueryParams, type Wire,
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
  console.log(`fuzz seed ${SEED} (replay: WHARF_FUZZ_SEED=${SEED}), ${INPUTS} inputs per served operation`);
});
after(async () => {
  agent.destroy();
  await h.close();
});

function send(target: Target, operation: string, input: Record<string, unknown>): Promise<Answer> {
  let path = '/';
  let body: Buffer;
  const headers: Record<string, string> = {};
  if (target.wire === 'json') {
    body = Buffer.from(JSON.stringify(toJsonValue(input)));
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
    const req = request(url, { method: 'POST', headers, agent, timeout: REQUEST_TIMEOUT_MS }, (res) => {
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

/** Real resources for the fuzzed operations to find: fixtures sent as any client would. */
async function createResources(): Promise<void> {
  const ok = async (targetName: string, operation: string, input: Record<string, unknown>) => {
    const target = targetNamed(targetName);
    const answer = await send(target, operation, input);
    assert.ok(answer.status < 300, `fixture ${targetName}.${operation}: ${answer.status} ${answer.body.toString('utf8').slice(0, 500)}`);
    harvest(target, answer);
    return answer;
  };
  await ok('ecs', 'CreateCluster', { clusterName: 'fuzz-cluster' });
  await ok('ecs', 'RegisterTaskDefinition', {
    family: 'fuzz-family', containerDefinitions: [{ name: 'web', image: 'wharf-test/busybox:latest', memory: 64, portMappings: [{ containerPort: 80 }] }],
  });
  await ok('ecs', 'CreateService', { cluster: 'fuzz-cluster', serviceName: 'fuzz-service', taskDefinition: 'fuzz-family', desiredCount: 0 });
  await ok('ecr', 'CreateRepository', { repositoryName: 'fuzz/repo' });
  await ok('logs', 'CreateLogGroup', { logGroupName: '/fuzz/group' });
  await ok('logs', 'CreateLogStream', { logGroupName: '/fuzz/group', logStreamName: 'fuzz-stream' });
  await ok('logs', 'PutLogEvents', { logGroupName: '/fuzz/group', logStreamName: 'fuzz-stream', logEvents: [{ timestamp: Date.now(), message: 'hello' }] });
  await ok('elbv2', 'CreateTargetGroup', { Name: 'fuzz-tg', Protocol: 'HTTP', Port: 80, VpcId: 'vpc-1', TargetType: 'ip' });
  await ok('elbv2', 'CreateLoadBalancer', { Name: 'fuzz-lb', Type: 'application' });
  const tg = known.get('targetgrouparn')?.[0];
  const lb = known.get('loadbalancerarn')?.[0];
  assert.ok(tg !== undefined && lb !== undefined, 'the fixture load balancer and target group are known');
  await ok('elbv2', 'CreateListener', { LoadBalancerArn: lb, Protocol: 'HTTP', Port: 18080, DefaultActions: [{ Type: 'forward', TargetGroupArn: tg }] });
  await ok('cloudwatch-json', 'PutMetricData', { Namespace: 'Fuzz/App', MetricData: [{ MetricName: 'Load', Value: 1, Dimensions: [{ Name: 'Host', Value: 'a' }] }] });
  await ok('cloudwatch-json', 'PutMetricAlarm', {
    AlarmName: 'fuzz-alarm', Namespace: 'Fuzz/App', MetricName: 'Load', Statistic: 'Average', Period: 60, EvaluationPeriods: 1,
    Threshold: 1, ComparisonOperator: 'GreaterThanThreshold',
  });
  await ok('autoscaling', 'RegisterScalableTarget', {
    ServiceNamespace: 'ecs', ResourceId: 'service/fuzz-cluster/fuzz-service', ScalableDimension: 'ecs:service:DesiredCount', MinCapacity: 0, MaxCapacity: 2,
  });
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

it('every operation of every served model answers generated inputs below 500, in its protocol\'s format', { timeout: 600_000 }, async () => {
  await createResources();
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
        const input = i === 0 ? {} : generateInput(target.model, operation, { rng, wire: target.wire, known: i % 3 === 0 ? new Map() : known, tame: i % 2 === 0 });
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
        if (process.env['WHARF_FUZZ_STATS'] !== undefined && i % 2 === 0) stats.set(`${id} ${code ?? 'OK'}`, answer.body.toString('utf8').slice(0, 300));
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
