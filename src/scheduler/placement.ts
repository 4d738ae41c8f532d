/**
 * Task placement: a pure function of a cluster snapshot, a request and an rng. It only decides;
 * the caller commits the result with a compare-and-swap on every chosen instance, so two
 * placements that raced on the same snapshot can never both take the same resources.
 *
 * How ECS places (Developer Guide, task-placement and task-placement-strategies): it keeps the
 * instances with enough CPU, memory and ports, then those that satisfy every constraint, then
 * applies the strategies in order — each keeps only the best-scoring instances and the next
 * breaks their ties — and finally picks one of the remaining ties at random. Strategies are best
 * effort, constraints are binding. This is done once per task, so every task of a request sees
 * what the earlier ones took.
 */
import type { InstanceFacts } from './cluster-query.js';
import type { PlacementConstraint, PlacementStrategy } from './placement-rules.js';

/** A range of host ports, both ends included. */
export interface PortRange { first: number; last: number }

/** Where ECS takes host ports for `hostPort: 0` mappings (bridge) unless the instance says otherwise. */
export const DEFAULT_DYNAMIC_PORT_RANGE: PortRange = { first: 49153, last: 65535 };

export interface InstanceCapacity {
  containerInstanceArn: string;
  status: string;
  agentConnected: boolean;
  /** What is left: CPU units, MiB, and the host ports already taken (static and dynamic alike). */
  cpu: number;
  memory: number;
  tcpPortsInUse: ReadonlySet<number>;
  udpPortsInUse: ReadonlySet<number>;
  /** Where dynamic host ports come from on this instance; DEFAULT_DYNAMIC_PORT_RANGE when absent. */
  dynamicPortRange?: PortRange;
}

/**
 * What one task takes: CPU units, MiB (the caller counts memoryReservation where a container sets
 * it, else memory), static host ports, and how many dynamic host ports (hostPort 0) per protocol.
 */
export interface TaskDemand {
  cpu: number;
  memory: number;
  tcpPorts: readonly number[];
  udpPorts: readonly number[];
  dynamicTcpPorts?: number;
  dynamicUdpPorts?: number;
}

/** What RunTask/StartTask report in `failures[].reason` when an instance cannot take the task. */
export const MEMBER_OF_UNSATISFIED = 'MemberOf placement constraint unsatisfied.';
export const DISTINCT_INSTANCE_UNSATISFIED = 'DistinctInstance placement constraint unsatisfied.';

/** ECS's RunTask/StartTask failure reasons, in the order an instance is checked. */
export type PlacementFailureReason =
  | 'INACTIVE' | 'AGENT' | 'RESOURCE:CPU' | 'RESOURCE:MEMORY' | 'RESOURCE:PORTS'
  | typeof MEMBER_OF_UNSATISFIED | typeof DISTINCT_INSTANCE_UNSATISFIED;

/** Earlier reasons mean the instance was further from taking the task (see describeUnplaceable). */
export const FAILURE_REASON_ORDER: readonly PlacementFailureReason[] = [
  'INACTIVE', 'AGENT', 'RESOURCE:CPU', 'RESOURCE:MEMORY', 'RESOURCE:PORTS', MEMBER_OF_UNSATISFIED, DISTINCT_INSTANCE_UNSATISFIED,
];

export interface PlacementFailure { arn: string; reason: PlacementFailureReason }

export interface PlacementResult {
  /** One instance ARN per placed task, in order. */
  placements: string[];
  /** When fewer than `count` tasks could be placed: why each instance refused, as ECS reports it. */
  failures: PlacementFailure[];
}

/** An instance as `place` sees it: what is left on it, what a memberOf can ask of it, what runs there. */
export interface PlacementInstance extends InstanceCapacity {
  /** Attributes (ecs.availability-zone, ecs.instance-type, ecs.os-type, custom ones), task groups, ... */
  facts: InstanceFacts;
  /** Live tasks on the instance per task group (`service:web`, `family:batch`, RunTask's group). */
  tasksByGroup: ReadonlyMap<string, number>;
}

export interface PlacementRequest {
  demand: TaskDemand;
  /** The task group: `service:<name>` for a service's tasks, RunTask's `group` or `family:<family>`. */
  group: string;
  /** In order, at most 5; an empty list places at random (see defaultPlacementStrategy). */
  strategy: readonly PlacementStrategy[];
  /** The task definition's and the request's together, at most 10. */
  constraints: readonly PlacementConstraint[];
}

/** One placed task: its instance and the dynamic host ports it was given there, in demand order. */
export interface Placement { containerInstanceArn: string; tcpHostPorts: number[]; udpHostPorts: number[] }

export interface PlacementOutcome {
  /** One per placed task, in order; fewer than asked when the rest did not fit. */
  placements: Placement[];
  /** When fewer than `count` tasks were placed: why each instance refused the next one. */
  failures: PlacementFailure[];
}

/**
 * Why `instance` cannot take `demand` now (resources and state only, no constraints), or
 * undefined when it can. Checked in ECS's order. StartTask uses it for the instances it is given;
 * a commit re-checks with it on the instance as it is then, passing the `placement` decided on an
 * older snapshot so that the very dynamic host ports it was given are checked to be still free.
 */
export function refusal(
  instance: InstanceCapacity, demand: TaskDemand, placement?: Pick<Placement, 'tcpHostPorts' | 'udpHostPorts'>,
): PlacementFailureReason | undefined {
  if (instance.status !== 'ACTIVE') return 'INACTIVE';
  if (!instance.agentConnected) return 'AGENT';
  if (instance.cpu < demand.cpu) return 'RESOURCE:CPU';
  if (instance.memory < demand.memory) return 'RESOURCE:MEMORY';
  if (staticPortTaken(instance, demand)) return 'RESOURCE:PORTS';
  if (placement) {
    if (placement.tcpHostPorts.some((p) => instance.tcpPortsInUse.has(p)) || placement.udpHostPorts.some((p) => instance.udpPortsInUse.has(p))) {
      return 'RESOURCE:PORTS';
    }
    return undefined;
  }
  const range = instance.dynamicPortRange ?? DEFAULT_DYNAMIC_PORT_RANGE;
  if (freeInRange(instance.tcpPortsInUse, demand.tcpPorts, range) < (demand.dynamicTcpPorts ?? 0)) return 'RESOURCE:PORTS';
  if (freeInRange(instance.udpPortsInUse, demand.udpPorts, range) < (demand.dynamicUdpPorts ?? 0)) return 'RESOURCE:PORTS';
  return undefined;
}

/**
 * What is left of `instance` once it takes `demand`, with the dynamic host ports `placement`
 * gave the task (none when absent).
 */
export function take(instance: InstanceCapacity, demand: TaskDemand, placement?: Pick<Placement, 'tcpHostPorts' | 'udpHostPorts'>): InstanceCapacity {
  return {
    ...instance,
    cpu: instance.cpu - demand.cpu,
    memory: instance.memory - demand.memory,
    tcpPortsInUse: new Set([...instance.tcpPortsInUse, ...demand.tcpPorts, ...(placement?.tcpHostPorts ?? [])]),
    udpPortsInUse: new Set([...instance.udpPortsInUse, ...demand.udpPorts, ...(placement?.udpHostPorts ?? [])]),
  };
}

/** Whether a static host port of `demand` is taken on `instance`. */
export function staticPortTaken(instance: InstanceCapacity, demand: TaskDemand): boolean {
  for (const p of demand.tcpPorts) if (instance.tcpPortsInUse.has(p)) return true;
  for (const p of demand.udpPorts) if (instance.udpPortsInUse.has(p)) return true;
  return false;
}

/** Ports of `range` neither in use nor about to be taken by `staticPorts`. */
export function freeInRange(inUse: ReadonlySet<number>, staticPorts: readonly number[], range: PortRange): number {
  let taken = 0;
  for (const p of inUse) if (p >= range.first && p <= range.last) taken++;
  for (const p of new Set(staticPorts)) if (p >= range.first && p <= range.last && !inUse.has(p)) taken++;
  return range.last - range.first + 1 - taken;
}

/**
 * Appends to `out` `count` ports of `range` in neither `inUse` nor `given`, and adds them to
 * `given`: the first free ones from `start` on, wrapping around at the end of the range. Placement
 * starts at a random port, so tasks spread over the range: a port that something outside Wharf
 * holds on the host (another engine's container, a process) fails one start, and the replacement
 * task gets other ports, where always taking the lowest free port would fail every retry.
 */
export function pickPorts(range: PortRange, inUse: ReadonlySet<number>, given: Set<number>, count: number, out: number[], start = range.first): void {
  const size = range.last - range.first + 1;
  for (let k = 0; out.length < count && k < size; k++) {
    const p = range.first + ((start - range.first + k) % size);
    if (!inUse.has(p) && !given.has(p)) { given.add(p); out.push(p); }
  }
}
