/** The Wharf-side setup the benchmarks share: a connected agent and a task definition to run. */
import {
  DescribeContainerInstancesCommand,
  DescribeTasksCommand,
  ListContainerInstancesCommand,
  RegisterTaskDefinitionCommand,
  type ECSClient,
} from '@aws-sdk/client-ecs';
import { TEST_IMAGE } from '../../src/testkit/test-image.js';
import { waitFor } from './wait.js';

/** What both the benchmark's tasks and its `docker run` reference execute. */
export const SLEEP_COMMAND = ['sleep', '3600'];

/** Waits until a container instance of `cluster` shows agentConnected=true. */
export async function waitForConnectedAgent(ecs: ECSClient, cluster: string, timeoutMs = 30_000): Promise<void> {
  await waitFor('the agent to connect', async () => {
    const arns = (await ecs.send(new ListContainerInstancesCommand({ cluster }))).containerInstanceArns ?? [];
    if (arns.length === 0) return false;
    const described = await ecs.send(new DescribeContainerInstancesCommand({ cluster, containerInstances: arns }));
    return (described.containerInstances ?? []).some((i) => i.agentConnected === true);
  }, timeoutMs, 100);
}

/**
 * Registers a one-container task definition running `sleep 3600` in the test image with 16 MiB;
 * resolves with its ARN. busybox `sleep` as PID 1 ignores SIGTERM, so `stopTimeoutSeconds` is how
 * long every StopTask waits before SIGKILL.
 */
export async function registerSleepTaskDefinition(ecs: ECSClient, family: string, stopTimeoutSeconds: number): Promise<string> {
  const out = await ecs.send(new RegisterTaskDefinitionCommand({
    family,
    containerDefinitions: [{
      name: 'main', image: TEST_IMAGE, command: SLEEP_COMMAND, memory: 16, essential: true, stopTimeout: stopTimeoutSeconds,
    }],
  }));
  return out.taskDefinition!.taskDefinitionArn!;
}

/** Polls DescribeTasks until the task's lastStatus is `status`. */
export async function waitForTaskStatus(ecs: ECSClient, cluster: string, taskArn: string, status: string, timeoutMs: number, intervalMs = 50): Promise<void> {
  await waitFor(`task ${taskArn} to be ${status}`, async () => {
    const t = (await ecs.send(new DescribeTasksCommand({ cluster, tasks: [taskArn] }))).tasks?.[0];
    return t?.lastStatus === status;
  }, timeoutMs, intervalMs);
}
