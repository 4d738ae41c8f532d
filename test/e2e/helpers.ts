/** Waiting helpers for end-to-end tests: poll until a condition holds, with a deadline. */
import { DescribeContainerInstancesCommand, DescribeTasksCommand, ListContainerInstancesCommand, type ECSClient, type Task } from '@aws-sdk/client-ecs';
import { existsSync } from 'node:fs';

/** The Debian AWS CLI when installed (what the README uses), else whatever `aws` is on PATH. */
export const AWS_CLI = existsSync('/usr/bin/aws') ? '/usr/bin/aws' : 'aws';

export async function waitFor<T>(what: string, probe: () => Promise<T | undefined>, timeoutMs = 30_000, intervalMs = 100): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    // A probe that throws has seen a final failure (a task STOPPED early, say): no point waiting on.
    const value = await probe();
    if (value !== undefined) return value;
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, intervalMs));
  }
}

export function waitForTask(ecs: ECSClient, cluster: string, taskArn: string, test: (t: Task) => boolean, timeoutMs = 30_000): Promise<Task> {
  return waitFor(`task ${taskArn}`, async () => {
    const t = (await ecs.send(new DescribeTasksCommand({ cluster, tasks: [taskArn] }))).tasks?.[0];
    return t && test(t) ? t : undefined;
  }, timeoutMs);
}

/** Waits until `count` container instances of the cluster have a live agent session; answers their ARNs. */
export function waitForConnectedInstances(ecs: ECSClient, cluster: string, count = 1, timeoutMs = 30_000): Promise<string[]> {
  return waitFor(`${count} connected instance(s)`, async () => {
    const arns = (await ecs.send(new ListContainerInstancesCommand({ cluster }))).containerInstanceArns ?? [];
    if (arns.length < count) return undefined;
    const d = await ecs.send(new DescribeContainerInstancesCommand({ cluster, containerInstances: arns }));
    const connected = (d.containerInstances ?? []).filter((i) => i.agentConnected).map((i) => i.containerInstanceArn!);
    return connected.length >= count ? connected : undefined;
  }, timeoutMs);
}
