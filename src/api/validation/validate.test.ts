import { test } from 'node:test';
import assert from 'node:assert/strict';
import { WharfError } from '../../model/index.js';
import { ecsModel, validateInput } from './index.js';
import type { ServiceModel } from './index.js';

const registerTaskDefinition = {
  family: 'web',
  networkMode: 'bridge',
  requiresCompatibilities: ['EC2'],
  cpu: '256',
  memory: '512',
  containerDefinitions: [{
    name: 'app',
    image: 'registry.local/web:1',
    memory: 256,
    cpu: 128,
    essential: true,
    command: ['sh', '-c', 'httpd -f'],
    environment: [{ name: 'MODE', value: 'prod' }],
    portMappings: [{ containerPort: 80, hostPort: 0, protocol: 'tcp' }],
    healthCheck: { command: ['CMD-SHELL', 'true'], interval: 30, retries: 3 },
    dockerLabels: { team: 'platform' },
    logConfiguration: { logDriver: 'awslogs', options: { 'awslogs-group': 'web' } },
  }],
  volumes: [{ name: 'data', host: { sourcePath: '/srv/data' } }],
  tags: [{ key: 'env', value: 'prod' }],
  someFutureMember: { anything: true },
};

const runTask = {
  cluster: 'default',
  taskDefinition: 'web:1',
  count: 2,
  launchType: 'EC2',
  startedBy: 'ci',
  overrides: { containerOverrides: [{ name: 'app', environment: [{ name: 'A', value: 'b' }], memory: 64 }] },
  placementConstraints: [{ type: 'distinctInstance' }],
  placementStrategy: [{ type: 'spread', field: 'attribute:ecs.availability-zone' }],
  tags: [{ key: 'k', value: 'v' }],
};

function rejects(operation: string, input: unknown, code: string, message: string | RegExp, model: ServiceModel = ecsModel): void {
  assert.throws(() => validateInput(model, operation, input), (err: unknown) => {
    assert.ok(err instanceof WharfError);
    assert.equal(err.code, code);
    if (typeof message === 'string') assert.equal(err.message, message);
    else assert.match(err.message, message);
    return true;
  });
}

const clone = <T>(value: T): T => structuredClone(value);

test('valid RegisterTaskDefinition and RunTask inputs pass; unknown members are ignored', () => {
  validateInput(ecsModel, 'RegisterTaskDefinition', registerTaskDefinition);
  validateInput(ecsModel, 'RunTask', runTask);
  validateInput(ecsModel, 'ListClusters', {});
  validateInput(ecsModel, 'ListTasks', { cluster: 'default', desiredStatus: 'RUNNING', maxResults: 100 });
});

test('an enum violation is InvalidParameterException naming the member and the allowed values', () => {
  rejects('RegisterTaskDefinition', { ...registerTaskDefinition, networkMode: 'FOO' }, 'InvalidParameterException',
    "1 validation error detected: Value 'FOO' at 'networkMode' failed to satisfy constraint: " +
    'Member must satisfy enum value set: [bridge, host, awsvpc, none]');
});

test('a wrong type deep in a list names the indexed path', () => {
  const input = clone(registerTaskDefinition);
  (input.containerDefinitions[0] as Record<string, unknown>)['memory'] = '512';
  rejects('RegisterTaskDefinition', input, 'InvalidParameterException',
    "1 validation error detected: Value '512' at 'containerDefinitions[0].memory' failed to satisfy constraint: Member must be of type integer");
  rejects('RunTask', { ...runTask, count: 1.5 }, 'InvalidParameterException', /Value '1.5' at 'count' failed to satisfy constraint: Member must be of type integer/);
  rejects('RunTask', { ...runTask, overrides: [] }, 'InvalidParameterException', /Value '\[\]' at 'overrides' failed to satisfy constraint: Member must be of type structure/);
  rejects('RunTask', { ...runTask, tags: { key: 'k' } }, 'InvalidParameterException', /at 'tags' failed to satisfy constraint: Member must be of type list/);
  rejects('RunTask', { ...runTask, enableECSManagedTags: 'yes' }, 'InvalidParameterException', /at 'enableECSManagedTags' failed to satisfy constraint: Member must be of type boolean/);
});

test('a missing required member is ClientException', () => {
  rejects('RunTask', { cluster: 'default' }, 'ClientException',
    "1 validation error detected: Value null at 'taskDefinition' failed to satisfy constraint: Member must not be null");
  rejects('TagResource', { resourceArn: 'arn' }, 'ClientException', /Value null at 'tags' failed to satisfy constraint: Member must not be null/);
});

test('several violations are all listed in model order; any non-missing one makes it InvalidParameterException', () => {
  rejects('RunTask', { taskDefinition: 5, launchType: 'MOON' }, 'InvalidParameterException',
    "2 validation errors detected: Value 'MOON' at 'launchType' failed to satisfy constraint: Member must satisfy enum value set: " +
    "[EC2, FARGATE, EXTERNAL, MANAGED_INSTANCES]; Value '5' at 'taskDefinition' failed to satisfy constraint: Member must be of type string");
  rejects('RunTask', { launchType: 'MOON' }, 'InvalidParameterException', /^2 validation errors detected: .*Member must not be null$/);
});

test('numeric ranges, string and list lengths, and patterns are enforced', () => {
  const port = clone(registerTaskDefinition);
  port.containerDefinitions[0]!.healthCheck = { command: ['CMD'], interval: 30, retries: 3 };
  validateInput(ecsModel, 'RegisterTaskDefinition', port);
  rejects('CreateCapacityProvider', {
    name: 'cp',
    autoScalingGroupProvider: { autoScalingGroupArn: 'arn', managedScaling: { targetCapacity: 101 } },
  }, 'InvalidParameterException',
  /Value '101' at 'autoScalingGroupProvider.managedScaling.targetCapacity' failed to satisfy constraint: Member must have value less than or equal to 100/);
  rejects('TagResource', { resourceArn: 'arn', tags: [{ key: '', value: 'v' }] }, 'InvalidParameterException',
    "1 validation error detected: Value '' at 'tags[0].key' failed to satisfy constraint: Member must have length greater than or equal to 1");
  rejects('TagResource', { resourceArn: 'arn', tags: Array.from({ length: 51 }, (_, i) => ({ key: `k${i}`, value: 'v' })) },
    'InvalidParameterException', /at 'tags' failed to satisfy constraint: Member must have length less than or equal to 50/);
  rejects('TagResource', { resourceArn: 'arn', tags: [{ key: 'bad{key}', value: 'v' }] }, 'InvalidParameterException',
    "1 validation error detected: Value 'bad{key}' at 'tags[0].key' failed to satisfy constraint: " +
    'Member must satisfy regular expression pattern: ([\\p{L}\\p{Z}\\p{N}_.:/=+\\-@]*)');
  validateInput(ecsModel, 'TagResource', { resourceArn: 'arn', tags: [{ key: 'équipe:web', value: 'ünïcode ok' }] });
});

test("Java's POSIX classes are translated: \\p{Print} accepts printable ASCII, not the letter p alone (regression)", () => {
  const model = {
    metadata: { serviceId: 'test' },
    operations: { Put: { input: 'PutInput', errors: [] } },
    shapes: {
      PutInput: { type: 'structure', members: { PolicyName: { shape: 'PolicyName' } } },
      PolicyName: { type: 'string', pattern: '\\p{Print}+' },
    },
  } as unknown as ServiceModel;
  validateInput(model, 'Put', { PolicyName: 'cpu50 target/tracking' });
  assert.throws(() => validateInput(model, 'Put', { PolicyName: 'tab\there' }),
    /Value 'tab\there' at 'PolicyName' failed to satisfy constraint: Member must satisfy regular expression pattern: \\p\{Print\}\+/);
});

test('a string or map key holding a lone surrogate is refused; paired surrogates are fine (fuzz regression)', () => {
  rejects('TagResource', { resourceArn: 'arn', tags: [{ key: 'k\ud800', value: 'v' }] }, 'InvalidParameterException',
    /at 'tags\[0\].key' failed to satisfy constraint: Member must be a string of Unicode characters \(no lone surrogates\)/);
  const input = clone(registerTaskDefinition);
  input.containerDefinitions[0]!.dockerLabels = { ['\udc00']: 'x' } as never;
  rejects('RegisterTaskDefinition', input, 'InvalidParameterException', /no lone surrogates/);
  input.containerDefinitions[0]!.dockerLabels = { ['whale\ud83d\udc33']: 'whale\ud83d\udc33' } as never;
  validateInput(ecsModel, 'RegisterTaskDefinition', input);
});

test('a value nested thousands of levels deep is shown cut, not rendered whole (fuzz regression: stack overflow, 500)', () => {
  let deep: unknown = [];
  for (let i = 0; i < 100_000; i++) deep = [deep];
  rejects('RegisterTaskDefinition', { family: 'web', containerDefinitions: [deep] }, 'InvalidParameterException',
    `1 validation error detected: Value '${'['.repeat(32)}...${']'.repeat(32)}' at 'containerDefinitions[0]' failed to satisfy constraint: Member must be of type structure`);
  // Shallow values read as JSON.stringify writes them; long ones are cut after 256 characters.
  rejects('RegisterTaskDefinition', { family: 'web', containerDefinitions: [[{ a: 1, b: undefined, c: ['x', null] }]] }, 'InvalidParameterException',
    /Value '\[\{"a":1,"c":\["x",null\]\}\]' at 'containerDefinitions\[0\]'/);
  rejects('RegisterTaskDefinition', { family: 'web', containerDefinitions: [Array.from({ length: 10_000 }, (_, i) => i)] }, 'InvalidParameterException',
    new RegExp(`Value '\\[0,1,2,[0-9,]{240,260}\\.\\.\\.' at 'containerDefinitions\\[0\\]'`));
});

test('map values are checked under their key', () => {
  const input = clone(registerTaskDefinition);
  input.containerDefinitions[0]!.dockerLabels = { team: 5 as never };
  rejects('RegisterTaskDefinition', input, 'InvalidParameterException',
    /Value '5' at 'containerDefinitions\[0\].dockerLabels.team' failed to satisfy constraint: Member must be of type string/);
});

test('timestamps accept epoch seconds only', () => {
  validateInput(ecsModel, 'SubmitTaskStateChange', { status: 'RUNNING', pullStartedAt: 1700000000.123 });
  rejects('SubmitTaskStateChange', { pullStartedAt: 'yesterday' }, 'InvalidParameterException',
    /Value 'yesterday' at 'pullStartedAt' failed to satisfy constraint: Member must be a timestamp in epoch seconds/);
});

test('sensitive values are redacted from messages', () => {
  const model: ServiceModel = {
    ...ecsModel,
    operations: { Op: { input: 'In', errors: [] } },
    shapes: {
      In: { type: 'structure', members: { secret: { shape: 'Secret' } } },
      Secret: { type: 'string', max: 3, sensitive: true },
    },
  };
  rejects('Op', { secret: 'hunter2' }, 'InvalidParameterException',
    "1 validation error detected: Value '*** Sensitive Data Redacted ***' at 'secret' failed to satisfy constraint: Member must have length less than or equal to 3", model);
});

test('recursive shapes, unions, documents and blobs', () => {
  const model: ServiceModel = {
    ...ecsModel,
    operations: { Op: { input: 'Node', errors: [] } },
    shapes: {
      Node: { type: 'structure', members: { child: { shape: 'Node' }, choice: { shape: 'Choice' }, doc: { shape: 'Doc' }, data: { shape: 'Data' } } },
      Choice: { type: 'structure', union: true, members: { a: { shape: 'Str' }, b: { shape: 'Str' } } },
      Doc: { type: 'structure', document: true },
      Data: { type: 'blob', max: 3 },
      Str: { type: 'string' },
    },
  };
  validateInput(model, 'Op', { child: { child: { choice: { a: 'x' } } }, doc: [1, { any: 'thing' }], data: 'AAEC' });
  rejects('Op', { child: { child: { choice: { a: 'x', b: 'y' } } } }, 'InvalidParameterException',
    /at 'child.child.choice' failed to satisfy constraint: Member must have exactly one member set/, model);
  rejects('Op', { data: 'AAECAw==' }, 'InvalidParameterException', /at 'data' failed to satisfy constraint: Member must have length less than or equal to 3/, model);
  rejects('Op', { data: 'not base64!' }, 'InvalidParameterException', /at 'data' failed to satisfy constraint: Member must be base64-encoded binary data/, model);
});

test('an unknown operation is UnknownOperationException', () => {
  rejects('LaunchRocket', {}, 'UnknownOperationException', 'Unknown operation LaunchRocket');
});
