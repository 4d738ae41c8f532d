/** Pure mapping of a task's container definition to what the runtime creates. No I/O. */
import { randomBytes } from 'node:crypto';
import type { AgentContainer, AgentTask } from '../model/agent-protocol.js';
import { LABELS } from '../model/agent-protocol.js';
import type { ContainerSpec, HealthCheckSpec } from './container-runtime.js';

/** ECS health check defaults (seconds), applied where the definition leaves a field out. */
export const HEALTH_CHECK_DEFAULTS = { intervalSeconds: 30, timeoutSeconds: 5, retries: 3, startPeriodSeconds: 0 } as const;

/** The ECS agent sends 2 CPU shares for a null/0/1 cpu: Docker treats 0 as "default 1024", 1 is invalid. */
export const MIN_CPU_SHARES = 2;

/** Docker container names allow [a-zA-Z0-9][a-zA-Z0-9_.-]*. */
const sanitize = (s: string) => s.replace(/[^a-zA-Z0-9_.-]/g, '-');

/** `ecs-<family>-<revision>-<container>-<random hex>`, as the ECS agent names containers. */
export function containerRuntimeName(task: Pick<AgentTask, 'family' | 'revision'>, containerName: string, random = randomBytes(10).toString('hex')): string {
  return `ecs-${sanitize(task.family)}-${task.revision}-${sanitize(containerName)}-${random}`;
}

/** The ownership labels of one container: re-adoption after a restart keys on them. */
export function ownershipLabels(task: AgentTask, container: AgentContainer, containerInstanceArn: string): Record<string, string> {
  return {
    [LABELS.taskArn]: task.taskArn,
    [LABELS.containerName]: container.name,
    [LABELS.containerArn]: container.containerArn,
    [LABELS.clusterArn]: task.clusterArn,
    [LABELS.containerInstanceArn]: containerInstanceArn,
    [LABELS.taskDefinitionArn]: task.taskDefinitionArn,
  };
}

export function healthCheckSpec(c: AgentContainer): HealthCheckSpec | undefined {
  const hc = c.healthCheck;
  if (!hc?.command || hc.command.length === 0) return undefined;
  return {
    test: hc.command,
    intervalMs: (hc.interval ?? HEALTH_CHECK_DEFAULTS.intervalSeconds) * 1000,
    timeoutMs: (hc.timeout ?? HEALTH_CHECK_DEFAULTS.timeoutSeconds) * 1000,
    retries: hc.retries ?? HEALTH_CHECK_DEFAULTS.retries,
    startPeriodMs: (hc.startPeriod ?? HEALTH_CHECK_DEFAULTS.startPeriodSeconds) * 1000,
  };
}

export interface ContainerSpecOptions {
  containerInstanceArn: string;
  /** Runtime name of this container (stable across retries, so an ambiguous create can be found). */
  name: string;
  /** Used when the definition sets no stopTimeout. */
  defaultStopTimeoutSeconds: number;
  /** Runtime names of the task's other containers, for `links`. */
  runtimeNames: ReadonlyMap<string, string>;
}

/** The effective stopTimeout of a container in seconds. */
export function stopTimeoutSeconds(c: AgentContainer, defaultSeconds: number): number {
  return c.stopTimeout ?? defaultSeconds;
}

/** Builds the runtime spec; ownership labels override any dockerLabels of the same key. */
export function containerSpec(task: AgentTask, c: AgentContainer, o: ContainerSpecOptions): ContainerSpec {
  const spec: ContainerSpec = {
    name: o.name,
    image: c.image,
    labels: { ...(c.dockerLabels ?? {}), ...ownershipLabels(task, c, o.containerInstanceArn) },
    env: (c.environment ?? []).filter((kv) => kv.name !== undefined).map((kv) => `${kv.name}=${kv.value ?? ''}`),
    cpuShares: Math.max(c.cpu ?? 0, MIN_CPU_SHARES),
    networkMode: task.networkMode,
    portMappings: task.networkMode === 'none'
      ? []
      : (c.portMappings ?? []).filter((p) => p.containerPort !== undefined).map((p) => ({
        containerPort: p.containerPort!,
        ...(task.networkMode === 'host'
          ? { hostPort: p.containerPort! }
          : p.hostPort ? { hostPort: p.hostPort } : {}),
        protocol: p.protocol === 'udp' ? 'udp' as const : 'tcp' as const,
      })),
    ulimits: (c.ulimits ?? []).filter((u) => u.name !== undefined).map((u) => ({ name: u.name!, soft: u.softLimit ?? 0, hard: u.hardLimit ?? 0 })),
    stopTimeoutSeconds: stopTimeoutSeconds(c, o.defaultStopTimeoutSeconds),
  };
  if (c.entryPoint?.length) spec.entryPoint = c.entryPoint;
  if (c.command?.length) spec.command = c.command;
  if (c.workingDirectory) spec.workingDirectory = c.workingDirectory;
  if (c.user) spec.user = c.user;
  if (c.hostname && task.networkMode === 'bridge') spec.hostname = c.hostname;
  if (c.memory) spec.memoryBytes = c.memory * 1024 * 1024;
  if (c.memoryReservation) spec.memoryReservationBytes = c.memoryReservation * 1024 * 1024;
  const hc = healthCheckSpec(c);
  if (hc) spec.healthCheck = hc;
  if (c.readonlyRootFilesystem) spec.readonlyRootFilesystem = true;
  if (c.privileged) spec.privileged = true;
  if (c.linuxParameters?.initProcessEnabled) spec.init = true;
  if (c.interactive) spec.interactive = true;
  if (c.pseudoTerminal) spec.pseudoTerminal = true;
  if (c.extraHosts?.length) spec.extraHosts = c.extraHosts.filter((h) => h.hostname && h.ipAddress).map((h) => `${h.hostname}:${h.ipAddress}`);
  if (c.dnsServers?.length) spec.dnsServers = c.dnsServers;
  if (c.dnsSearchDomains?.length) spec.dnsSearchDomains = c.dnsSearchDomains;
  // The agent ships awslogs output itself from Docker's local json-file log, so `docker logs`
  // keeps working and nothing depends on the engine reaching the server.
  if (c.logConfiguration?.logDriver === 'awslogs') spec.logDriver = 'json-file';
  if (c.links?.length && task.networkMode === 'bridge') {
    spec.links = c.links.flatMap((l) => {
      const [target, alias] = l.split(':');
      const runtimeName = target ? o.runtimeNames.get(target) : undefined;
      return runtimeName ? [`${runtimeName}:${alias ?? target}`] : [];
    });
  }
  return spec;
}
