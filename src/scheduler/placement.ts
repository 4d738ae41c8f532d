/**
 * Task placement: a pure function of a cluster snapshot, a request and an rng. It only decides;
 * the caller commits the result with a compare-and-swap on every chosen instance, so two
 * placements that raced on the same snapshot can never both take the same resources.
 */

export interface InstanceCapacity {
  containerInstanceArn: string;
  status: string;
  agentConnected: boolean;
  /** What is left: CPU units, MiB, and the host ports already taken. */
  cpu: number;
  memory: number;
  tcpPortsInUse: ReadonlySet<number>;
  udpPortsInUse: ReadonlySet<number>;
}

export interface TaskDemand { cpu: number; memory: number; tcpPorts: readonly number[]; udpPorts: readonly number[] }

/** ECS's RunTask/StartTask failure reasons. */
export type PlacementFailureReason = 'RESOURCE:CPU' | 'RESOURCE:MEMORY' | 'RESOURCE:PORTS' | 'AGENT' | 'INACTIVE';

export interface PlacementResult {
  /** One instance ARN per placed task, in order. */
  placements: string[];
  /** When fewer than `count` tasks could be placed: why each instance refused, as ECS reports it. */
  failures: { arn: string; reason: PlacementFailureReason }[];
}

/** Why `instance` cannot take `demand` now, or undefined when it can. Checked in ECS's order. */
export function refusal(instance: InstanceCapacity, demand: TaskDemand): PlacementFailureReason | undefined {
  if (instance.status !== 'ACTIVE') return 'INACTIVE';
  if (!instance.agentConnected) return 'AGENT';
  if (instance.cpu < demand.cpu) return 'RESOURCE:CPU';
  if (instance.memory < demand.memory) return 'RESOURCE:MEMORY';
  if (demand.tcpPorts.some((p) => instance.tcpPortsInUse.has(p)) || demand.udpPorts.some((p) => instance.udpPortsInUse.has(p))) {
    return 'RESOURCE:PORTS';
  }
  return undefined;
}

/** What is left of `instance` once it takes `demand`. */
export function take(instance: InstanceCapacity, demand: TaskDemand): InstanceCapacity {
  return {
    ...instance,
    cpu: instance.cpu - demand.cpu,
    memory: instance.memory - demand.memory,
    tcpPortsInUse: new Set([...instance.tcpPortsInUse, ...demand.tcpPorts]),
    udpPortsInUse: new Set([...instance.udpPortsInUse, ...demand.udpPorts]),
  };
}

/**
 * Places `count` copies of a task with the random strategy: each copy goes to an instance drawn
 * uniformly from those that can still take it. `rng` returns a float in [0, 1).
 */
export function placeRandom(
  instances: readonly InstanceCapacity[], demand: TaskDemand, count: number, rng: () => number,
): PlacementResult {
  const pool = instances.map((i) => ({ ...i }));
  const placements: string[] = [];
  for (let n = 0; n < count; n++) {
    const fitting: number[] = [];
    pool.forEach((inst, idx) => { if (refusal(inst, demand) === undefined) fitting.push(idx); });
    if (fitting.length === 0) {
      return { placements, failures: pool.map((i) => ({ arn: i.containerInstanceArn, reason: refusal(i, demand)! })) };
    }
    const idx = fitting[Math.min(fitting.length - 1, Math.floor(rng() * fitting.length))]!;
    placements.push(pool[idx]!.containerInstanceArn);
    pool[idx] = take(pool[idx]!, demand);
  }
  return { placements, failures: [] };
}
