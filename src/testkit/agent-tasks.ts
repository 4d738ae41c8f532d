/** Builders of valid agent-protocol objects for tests. */
import type { AgentContainer, AgentTask } from '../model/agent-protocol.js';

export const TEST_ACCOUNT = '000000000000';
export const TEST_REGION = 'us-east-1';
export const TEST_CLUSTER_ARN = `arn:aws:ecs:${TEST_REGION}:${TEST_ACCOUNT}:cluster/default`;
export const TEST_INSTANCE_ARN = `arn:aws:ecs:${TEST_REGION}:${TEST_ACCOUNT}:container-instance/default/0123456789abcdef0123456789abcdef`;

let counter = 0;

/** A container definition with valid defaults; `name` and `image` default too. */
export function agentContainer(taskId: string, c: Partial<AgentContainer> & { name: string }): AgentContainer {
  return {
    image: 'wharf-test/busybox:latest',
    command: ['sleep', '3600'],
    containerArn: `arn:aws:ecs:${TEST_REGION}:${TEST_ACCOUNT}:container/default/${taskId}/${crypto.randomUUID()}`,
    ...c,
  };
}

/** A task with valid defaults; one container `app` unless containers are given. */
export function agentTask(o: Partial<Omit<AgentTask, 'containers'>> & { containers?: (Partial<AgentContainer> & { name: string })[] } = {}): AgentTask {
  const taskId = `${Date.now().toString(16)}${(counter++).toString(16).padStart(4, '0')}${Math.random().toString(16).slice(2, 10)}`.slice(0, 32);
  const { containers, ...rest } = o;
  return {
    taskArn: `arn:aws:ecs:${TEST_REGION}:${TEST_ACCOUNT}:task/default/${taskId}`,
    clusterArn: TEST_CLUSTER_ARN,
    taskDefinitionArn: `arn:aws:ecs:${TEST_REGION}:${TEST_ACCOUNT}:task-definition/test:1`,
    family: 'test',
    revision: 1,
    desiredStatus: 'RUNNING',
    networkMode: 'bridge',
    ...rest,
    containers: (containers ?? [{ name: 'app' }]).map((c) => agentContainer(taskId, c)),
  };
}
