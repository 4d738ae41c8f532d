import assert from 'node:assert/strict';
import { it } from 'node:test';
import { LABELS } from '../model/agent-protocol.js';
import { agentTask, TEST_INSTANCE_ARN } from '../testkit/agent-tasks.js';
import { containerRuntimeName, containerSpec } from './container-spec.js';

const opts = { containerInstanceArn: TEST_INSTANCE_ARN, name: 'n', defaultStopTimeoutSeconds: 30, runtimeNames: new Map([['db', 'ecs-x-1-db-aa']]) };

it('maps a container definition with ECS defaults', () => {
  const task = agentTask({
    containers: [{
      name: 'web', cpu: 0, memory: 128, memoryReservation: 64, environment: [{ name: 'A', value: '1' }],
      dockerLabels: { [LABELS.taskArn]: 'spoofed', team: 'x' }, portMappings: [{ containerPort: 80 }, { containerPort: 53, hostPort: 5353, protocol: 'udp' }],
      healthCheck: { command: ['CMD-SHELL', 'wget -q -O- localhost'] }, ulimits: [{ name: 'nofile', softLimit: 10, hardLimit: 20 }], links: ['db:database'],
    }],
  });
  const s = containerSpec(task, task.containers[0]!, opts);
  assert.equal(s.cpuShares, 2);
  assert.equal(s.memoryBytes, 128 * 1024 * 1024);
  assert.equal(s.memoryReservationBytes, 64 * 1024 * 1024);
  assert.deepEqual(s.env, ['A=1']);
  assert.equal(s.labels[LABELS.taskArn], task.taskArn);
  assert.equal(s.labels[LABELS.containerInstanceArn], TEST_INSTANCE_ARN);
  assert.equal(s.labels.team, 'x');
  assert.deepEqual(s.portMappings, [{ containerPort: 80, protocol: 'tcp' }, { containerPort: 53, hostPort: 5353, protocol: 'udp' }]);
  assert.deepEqual(s.healthCheck, { test: ['CMD-SHELL', 'wget -q -O- localhost'], intervalMs: 30_000, timeoutMs: 5_000, retries: 3, startPeriodMs: 0 });
  assert.deepEqual(s.ulimits, [{ name: 'nofile', soft: 10, hard: 20 }]);
  assert.equal(s.stopTimeoutSeconds, 30);
  assert.deepEqual(s.links, ['ecs-x-1-db-aa:database']);
});

it('host mode publishes containerPort as hostPort; none mode publishes nothing', () => {
  const host = agentTask({ networkMode: 'host', containers: [{ name: 'a', portMappings: [{ containerPort: 8080 }], stopTimeout: 5 }] });
  const h = containerSpec(host, host.containers[0]!, opts);
  assert.deepEqual(h.portMappings, [{ containerPort: 8080, hostPort: 8080, protocol: 'tcp' }]);
  assert.equal(h.stopTimeoutSeconds, 5);
  const none = agentTask({ networkMode: 'none', containers: [{ name: 'a', portMappings: [{ containerPort: 8080 }] }] });
  assert.deepEqual(containerSpec(none, none.containers[0]!, opts).portMappings, []);
});

it('names containers ecs-<family>-<revision>-<container>-<hex>', () => {
  assert.equal(containerRuntimeName({ family: 'my app', revision: 3 }, 'web', 'ab12'), 'ecs-my-app-3-web-ab12');
  assert.match(containerRuntimeName({ family: 'f', revision: 1 }, 'c'), /^ecs-f-1-c-[0-9a-f]{20}$/);
});

it('runs awslogs containers on Docker\'s json-file driver, which the agent ships from', () => {
  const task = agentTask({
    containers: [{ name: 'a', logConfiguration: { logDriver: 'awslogs', options: { 'awslogs-group': 'g' } } }, { name: 'b' }],
  });
  assert.equal(containerSpec(task, task.containers[0]!, opts).logDriver, 'json-file');
  assert.equal(containerSpec(task, task.containers[1]!, opts).logDriver, undefined);
});
