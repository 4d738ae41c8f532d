/**
 * An agent that speaks the real gateway protocol but runs nothing: it registers a container
 * instance, holds a session, records the manifests it gets and sends whatever reports a test
 * asks for. For tests of the server side without Docker.
 */
import { ECSClient, RegisterContainerInstanceCommand } from '@aws-sdk/client-ecs';
import WebSocket from 'ws';
import { AGENT_GATEWAY_PATH, type AgentTask, type GatewayMessage, type TaskManifest, type TaskStateReport, type TelemetryReport } from '../model/index.js';
import { signRequest, type Credentials } from '../sigv4/index.js';

export interface FakeAgent {
  containerInstanceArn: string;
  manifests: TaskManifest[];
  /** Resolves with the first manifest (received from now on, or already) that passes `test`. */
  waitForManifest(test: (m: TaskManifest) => boolean, timeoutMs?: number): Promise<TaskManifest>;
  report(report: TaskStateReport): void;
  /** Sends sampled task usage, as the agent's stats sampler does. */
  telemetry(report: TelemetryReport): void;
  close(): void;
}

export interface FakeAgentOptions {
  cluster?: string;
  cpu?: number;
  memoryMiB?: number;
  attributes?: { name: string; value?: string }[];
  /**
   * Play a runtime that always succeeds: every task in a manifest is reported RUNNING, and
   * STOPPED once the manifest wants it stopped or drops it. `fail` picks tasks whose start fails
   * instead (reported STOPPED with TaskFailedToStart); `healthStatus` is reported for every
   * container when given; `onReport` sees every report the simulated runtime sends, as it is sent.
   */
  simulate?: { fail?: (task: AgentTask) => boolean; healthStatus?: 'HEALTHY' | 'UNHEALTHY'; onReport?: (report: TaskStateReport) => void };
}

export async function startFakeAgent(url: string, credentials: Credentials, options: FakeAgentOptions = {}): Promise<FakeAgent> {
  const ecs = new ECSClient({ endpoint: url, region: 'us-east-1', credentials, maxAttempts: 1 });
  const { containerInstance } = await ecs.send(new RegisterContainerInstanceCommand({
    cluster: options.cluster ?? 'default',
    totalResources: [
      { name: 'CPU', type: 'INTEGER', integerValue: options.cpu ?? 2048 },
      { name: 'MEMORY', type: 'INTEGER', integerValue: options.memoryMiB ?? 4096 },
      { name: 'PORTS', type: 'STRINGSET', stringSetValue: ['22'] },
      { name: 'PORTS_UDP', type: 'STRINGSET', stringSetValue: [] },
    ],
    versionInfo: { agentVersion: 'fake', agentHash: 'fake', dockerVersion: 'none' },
    attributes: options.attributes ?? [{ name: 'ecs.availability-zone', value: 'local-1a' }],
  }));
  ecs.destroy();
  const arn = containerInstance!.containerInstanceArn!;
  const target = new URL(`${AGENT_GATEWAY_PATH}?cluster=${encodeURIComponent(options.cluster ?? 'default')}&containerInstance=${encodeURIComponent(arn)}`, url);
  const headers: Record<string, string> = { host: target.host };
  Object.assign(headers, signRequest({ method: 'GET', url: target, headers, body: '' }, credentials, { region: 'us-east-1', service: 'ecs' }));
  const ws = new WebSocket(target.toString().replace(/^http/, 'ws'), { headers });
  const manifests: TaskManifest[] = [];
  const waiters = new Set<{ test: (m: TaskManifest) => boolean; resolve: (m: TaskManifest) => void }>();
  ws.on('message', (data) => {
    const frame = JSON.parse(data.toString()) as GatewayMessage;
    if (frame.type === 'Heartbeat') ws.send(JSON.stringify({ type: 'Heartbeat', message: { sentAt: new Date().toISOString() } }));
    if (frame.type !== 'TaskManifest') return;
    manifests.push(frame.message);
    if (options.simulate) simulate(frame.message, options.simulate);
    for (const w of [...waiters]) if (w.test(frame.message)) { waiters.delete(w); w.resolve(frame.message); }
  });
  // What the simulated runtime has reported per task, so each status is sent once.
  const reported = new Map<string, 'RUNNING' | 'STOPPED'>();
  const sendReport = (report: TaskStateReport) => ws.send(JSON.stringify({ type: 'TaskStateReport', message: report }));
  function simulate(manifest: TaskManifest, how: NonNullable<FakeAgentOptions['simulate']>): void {
    const now = new Date().toISOString();
    const send = (report: TaskStateReport) => {
      sendReport(report);
      how.onReport?.(report);
    };
    const listed = new Set(manifest.tasks.map((t) => t.taskArn));
    for (const task of manifest.tasks) {
      const names = task.containers.map((c) => c.name);
      if (task.desiredStatus === 'STOPPED' || (reported.get(task.taskArn) === undefined && how.fail?.(task))) {
        if (reported.get(task.taskArn) === 'STOPPED') continue;
        const failed = reported.get(task.taskArn) === undefined && task.desiredStatus !== 'STOPPED';
        reported.set(task.taskArn, 'STOPPED');
        send({
          taskArn: task.taskArn, lastStatus: 'STOPPED', executionStoppedAt: now,
          ...(failed ? { stopCode: 'TaskFailedToStart' as const, stoppedReason: 'CannotPullContainerError: simulated failure' } : {}),
          containers: names.map((name) => ({ name, lastStatus: 'STOPPED' as const, exitCode: failed ? undefined : 143 })),
        });
        continue;
      }
      if (reported.has(task.taskArn)) continue;
      reported.set(task.taskArn, 'RUNNING');
      send({
        taskArn: task.taskArn, lastStatus: 'RUNNING', pullStartedAt: now, pullStoppedAt: now, startedAt: now,
        containers: names.map((name) => ({ name, lastStatus: 'RUNNING' as const, runtimeId: `sim-${name}`,
          ...(how.healthStatus ? { healthStatus: how.healthStatus } : {}) })),
      });
    }
    for (const arn of reported.keys()) if (!listed.has(arn)) reported.delete(arn);
  }
  await new Promise<void>((resolve, reject) => { ws.once('open', () => resolve()); ws.once('error', reject); });
  return {
    containerInstanceArn: arn,
    manifests,
    waitForManifest: (test, timeoutMs = 5000) => {
      const seen = manifests.find(test);
      if (seen) return Promise.resolve(seen);
      return new Promise((resolve, reject) => {
        const waiter = { test, resolve: (m: TaskManifest) => { clearTimeout(timer); resolve(m); } };
        const timer = setTimeout(() => { waiters.delete(waiter); reject(new Error('no matching manifest')); }, timeoutMs);
        waiters.add(waiter);
      });
    },
    report: sendReport,
    telemetry: (report) => ws.send(JSON.stringify({ type: 'TelemetryReport', message: report })),
    close: () => ws.terminate(),
  };
}
