/**
 * The agent gateway protocol: what travels on the WebSocket an agent dials to the server.
 *
 * Flow (the agent always dials; nothing dials an agent):
 *   1. The agent calls the ECS API RegisterContainerInstance (passing its saved containerInstanceArn
 *      when it has one, so a restarted agent keeps its identity).
 *   2. It opens `GET <server>/agent/v1/connect?cluster=<clusterArn>&containerInstance=<arn>` as a
 *      WebSocket upgrade, SigV4-signed for service `ecs` like any API call.
 *   3. The server sends a `TaskManifest` at once and again whenever the set of tasks for this
 *      instance or any of their desired statuses changes: the FULL list of tasks the instance should
 *      hold, with a seqNum that only grows. The agent converges Docker to the newest list; a lost or
 *      repeated manifest can therefore never leave a task behind.
 *   4. The agent sends a `TaskStateReport` whenever a task's observed state changes, and every
 *      task's latest report again after each (re)connect. Reports are whole snapshots of one task,
 *      so re-sending is always safe; the server applies them forward-only.
 *   5. The agent samples the resource use of its RUNNING tasks every sampling interval (20 s by
 *      default, as ECS collects) and sends one `TelemetryReport` per round holding every task, plus
 *      any rounds it kept while disconnected. Samples are facts at a time; the server folds them
 *      into the ECS metrics and never sends anything back for them.
 *   6. Both sides send `Heartbeat` every heartbeatIntervalMs, and the server answers each agent
 *      Heartbeat with a `HeartbeatAck` at once, so the agent hears from the server at its own pace
 *      whatever the server's interval. The agent's Heartbeat declares its interval; the server
 *      closes a session silent for 3 of the longer of the two intervals, and the agent redials
 *      (with backoff) when it hears nothing for 3 of its own.
 *
 * Frames are JSON text: `{"type": <message type>, "message": {...}}`, as ECS's agent channel does.
 */
import type { ContainerDefinition, NetworkBinding } from '@aws-sdk/client-ecs';
import type { ContainerStatus, DesiredStatus, HealthStatus, TaskStatus, TaskStopCode } from './statuses.js';

export const AGENT_GATEWAY_PATH = '/agent/v1/connect';

/** One container of a task as the agent must run it: the definition with overrides applied. */
export interface AgentContainer extends ContainerDefinition {
  name: string;
  image: string;
  containerArn: string;
}

/** One task the agent should hold, fully resolved so the agent needs nothing else to run it. */
export interface AgentTask {
  taskArn: string;
  clusterArn: string;
  taskDefinitionArn: string;
  family: string;
  revision: number;
  desiredStatus: DesiredStatus;
  /** bridge (default), host or none. */
  networkMode: 'bridge' | 'host' | 'none';
  /** Task-level limits, when the task definition sets them (CPU units, MiB). */
  cpu?: number;
  memory?: number;
  containers: AgentContainer[];
}

export interface TaskManifest {
  seqNum: number;
  containerInstanceArn: string;
  tasks: AgentTask[];
}

export interface ContainerStateReport {
  name: string;
  lastStatus: ContainerStatus;
  /** Docker container id. */
  runtimeId?: string;
  imageDigest?: string;
  exitCode?: number;
  /** Why the container stopped or failed, e.g. `CannotPullContainerError: ...`. */
  reason?: string;
  networkBindings?: NetworkBinding[];
  healthStatus?: HealthStatus;
}

/** A whole snapshot of one task's observed state, as the agent sees it now. */
export interface TaskStateReport {
  taskArn: string;
  lastStatus: TaskStatus;
  /** Set when the agent decides the task stops (essential exit, start failure). */
  stopCode?: TaskStopCode;
  stoppedReason?: string;
  /** ISO-8601 times of what has happened so far. */
  pullStartedAt?: string;
  pullStoppedAt?: string;
  startedAt?: string;
  executionStoppedAt?: string;
  containers: ContainerStateReport[];
}

/** The summed resource use of one task's running containers at one sampling instant. */
export interface TaskUsageSample {
  taskArn: string;
  /** Epoch milliseconds of the sample. */
  timestampMs: number;
  /** CPU used since the previous sample, in ECS CPU units (1024 = one core fully busy). */
  cpuUnits: number;
  /** Memory in use in MiB, reclaimable page cache excluded (as `docker stats` shows it). */
  memoryMiB: number;
}

/** One or more sampling rounds of an instance's tasks, oldest first. */
export interface TelemetryReport {
  samples: TaskUsageSample[];
}

export interface Heartbeat {
  sentAt: string;
  /** The sender's heartbeat interval (agents send it, so the server can size its silence limit). */
  intervalMs?: number;
}

export type GatewayMessage =
  | { type: 'TaskManifest'; message: TaskManifest }
  | { type: 'TaskStateReport'; message: TaskStateReport }
  | { type: 'TelemetryReport'; message: TelemetryReport }
  | { type: 'Heartbeat'; message: Heartbeat }
  | { type: 'HeartbeatAck'; message: Heartbeat };

/** Ownership labels on every container the agent creates; re-adoption after a restart keys on them. */
export const LABELS = {
  taskArn: 'com.wharf.ecs.task-arn',
  containerName: 'com.wharf.ecs.container-name',
  containerArn: 'com.wharf.ecs.container-arn',
  clusterArn: 'com.wharf.ecs.cluster',
  containerInstanceArn: 'com.wharf.ecs.container-instance-arn',
  taskDefinitionArn: 'com.wharf.ecs.task-definition-arn',
} as const;
