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
import { validatePlacement, type PlacementConstraint, type PlacementRules, type PlacementStrategy } from './placement-rules.js';

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
 * undefined when it can. Checked in ECS's order. StartTask uses it for the instances it is given.
 */
export function refusal(instance: InstanceCapacity, demand: TaskDemand): PlacementFailureReason | undefined {
  if (instance.status !== 'ACTIVE') return 'INACTIVE';
  if (!instance.agentConnected) return 'AGENT';
  if (instance.cpu < demand.cpu) return 'RESOURCE:CPU';
  if (instance.memory < demand.memory) return 'RESOURCE:MEMORY';
  if (staticPortTaken(instance, demand)) return 'RESOURCE:PORTS';
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

/**
 * Places `count` copies of a task with the random strategy and no constraints: each copy goes to
 * an instance drawn uniformly from those that can still take it. `rng` returns a float in [0, 1).
 */
export function placeRandom(
  instances: readonly InstanceCapacity[], demand: TaskDemand, count: number, rng: () => number,
): PlacementResult {
  const noFacts: InstanceFacts = { attributes: new Map(), agentConnected: true, runningTasksCount: 0, taskGroups: new Set() };
  const outcome = place(
    instances.map((i) => ({ ...i, facts: { ...noFacts, agentConnected: i.agentConnected }, tasksByGroup: new Map<string, number>() })),
    { demand, group: '', strategy: [{ type: 'random' }], constraints: [] }, count, rng,
  );
  return { placements: outcome.placements.map((p) => p.containerInstanceArn), failures: outcome.failures };
}

const rulesCache = new Map<string, PlacementRules>();
const RULES_CACHE_ENTRIES = 256;

/** validatePlacement, memoized on the rules' text (a service places with the same rules again and again). */
function rulesOf(strategy: readonly PlacementStrategy[], constraints: readonly PlacementConstraint[]): PlacementRules {
  const key = JSON.stringify([strategy, constraints]);
  let rules = rulesCache.get(key);
  if (!rules) {
    rules = validatePlacement(strategy, constraints);
    if (rulesCache.size >= RULES_CACHE_ENTRIES) rulesCache.clear();
    rulesCache.set(key, rules);
  }
  return rules;
}

/**
 * Places `count` copies of the task of `request` on `instances` (a snapshot: nothing is
 * modified), one after the other, each seeing what the earlier ones took. Stops at the first copy
 * that fits nowhere and reports, for each instance, why it refused that copy. Random choices come
 * from `rng` only (a float in [0, 1)), so a seeded rng makes the result reproducible.
 *
 * Throws InvalidParameterException for invalid strategy or constraints (see validatePlacement);
 * call validatePlacement first to refuse a request before anything is written.
 */
export function place(instances: readonly PlacementInstance[], request: PlacementRequest, count: number, rng: () => number): PlacementOutcome {
  const rules = rulesOf(request.strategy, request.constraints);
  return new Placer(instances, request, rules).run(count, rng);
}

// Strategy rules as numbers, for the inner loop.
const SPREAD_INSTANCE = 0, SPREAD_ATTRIBUTE = 1, BINPACK_CPU = 2, BINPACK_MEMORY = 3;

/**
 * The working state of one `place` call. Everything that does not change between the copies of
 * one request is computed once (status, agent, static ports, memberOf, attribute values); what
 * placing a copy changes (CPU, memory, group counts) is updated incrementally in typed arrays, so
 * choosing an instance allocates nothing.
 */
class Placer {
  private readonly n: number;
  private readonly cpu: Float64Array;
  private readonly memory: Float64Array;
  /** Tasks of the request's group per instance, counting the copies placed by this call. */
  private readonly groupCount: Int32Array;
  private readonly placedHere: Int32Array;
  /** 1 once an instance can take no further copy for a reason other than CPU/memory/dynamic ports. */
  private readonly blocked: Uint8Array;
  /** Instances not excluded from the start by state, static ports or memberOf, in input order. */
  private readonly candidates: Int32Array;
  private readonly candidateCount: number;
  private readonly ruleKind: Int32Array;
  /** Per spread-attribute rule: the bucket (attribute value) of each instance, and tasks per bucket. */
  private readonly bucketOf: (Int32Array | undefined)[] = [];
  private readonly bucketTasks: (Float64Array | undefined)[] = [];
  private readonly best: Float64Array;
  private readonly ties: Int32Array;
  private readonly hasStaticPorts: boolean;
  private readonly dynamicTcp: number;
  private readonly dynamicUdp: number;
  /** Dynamic host ports handed out by this call, per instance index. */
  private readonly givenPorts = new Map<number, { tcp: Set<number>; udp: Set<number> }>();

  constructor(
    private readonly instances: readonly PlacementInstance[],
    private readonly request: PlacementRequest,
    private readonly rules: PlacementRules,
  ) {
    const n = instances.length;
    this.n = n;
    const { demand, group } = request;
    this.cpu = new Float64Array(n);
    this.memory = new Float64Array(n);
    this.groupCount = new Int32Array(n);
    this.placedHere = new Int32Array(n);
    this.blocked = new Uint8Array(n);
    this.ties = new Int32Array(n);
    this.hasStaticPorts = demand.tcpPorts.length + demand.udpPorts.length > 0;
    this.dynamicTcp = demand.dynamicTcpPorts ?? 0;
    this.dynamicUdp = demand.dynamicUdpPorts ?? 0;

    const strategy = rules.strategy.filter((r) => r.kind !== 'random');
    this.ruleKind = new Int32Array(strategy.length);
    this.best = new Float64Array(strategy.length);
    const bucketIndex: Map<string | undefined, number>[] = [];
    strategy.forEach((r, k) => {
      this.ruleKind[k] = r.kind === 'spread-instance' ? SPREAD_INSTANCE : r.kind === 'spread-attribute' ? SPREAD_ATTRIBUTE
        : r.kind === 'binpack' && r.resource === 'cpu' ? BINPACK_CPU : BINPACK_MEMORY;
      if (r.kind === 'spread-attribute') { this.bucketOf[k] = new Int32Array(n); bucketIndex[k] = new Map(); }
    });
    const bucketTaskCounts: number[][] = strategy.map(() => []);

    const candidates = new Int32Array(n);
    let c = 0;
    for (let i = 0; i < n; i++) {
      const inst = instances[i]!;
      this.cpu[i] = inst.cpu;
      this.memory[i] = inst.memory;
      const tasks = inst.tasksByGroup.get(group) ?? 0;
      this.groupCount[i] = tasks;
      // Spread counts the group's tasks on every instance, full or not: it balances where the
      // group runs, not where there is room.
      for (let k = 0; k < strategy.length; k++) {
        const buckets = this.bucketOf[k];
        if (!buckets) continue;
        const value = inst.facts.attributes.get((strategy[k] as { attribute: string }).attribute);
        let b = bucketIndex[k]!.get(value);
        if (b === undefined) { b = bucketIndex[k]!.size; bucketIndex[k]!.set(value, b); bucketTaskCounts[k]!.push(0); }
        buckets[i] = b;
        bucketTaskCounts[k]![b]! += tasks;
      }
      if (inst.status !== 'ACTIVE' || !inst.agentConnected) continue;
      if (this.hasStaticPorts && staticPortTaken(inst, demand)) continue;
      if (rules.distinctInstance && tasks > 0) continue;
      if (!this.isMember(inst.facts)) continue;
      candidates[c++] = i;
    }
    this.candidates = candidates;
    this.candidateCount = c;
    for (let k = 0; k < strategy.length; k++) {
      if (this.bucketOf[k]) this.bucketTasks[k] = Float64Array.from(bucketTaskCounts[k]!);
    }
  }

  run(count: number, rng: () => number): PlacementOutcome {
    const placements: Placement[] = [];
    for (let copy = 0; copy < count; copy++) {
      const i = this.choose(rng);
      if (i < 0) return { placements, failures: this.failures() };
      placements.push(this.commit(i));
    }
    return { placements, failures: [] };
  }

  /** The index of the instance the next copy goes to, or -1 when it fits nowhere. */
  private choose(rng: () => number): number {
    const { cpu, memory, blocked, candidates, ties, best, ruleKind } = this;
    const needCpu = this.request.demand.cpu;
    const needMemory = this.request.demand.memory;
    const checkPorts = this.dynamicTcp + this.dynamicUdp > 0;
    const rules = ruleKind.length;
    let tieCount = 0;
    for (let j = 0; j < this.candidateCount; j++) {
      const i = candidates[j]!;
      if (blocked[i] === 1 || cpu[i]! < needCpu || memory[i]! < needMemory) continue;
      if (checkPorts && !this.dynamicPortsFit(i)) continue;
      // Lexicographic comparison with the best so far: the first rule that differs decides.
      let k = 0;
      let order = 0;
      if (tieCount > 0) {
        for (; k < rules; k++) {
          const score = this.score(k, i);
          if (score !== best[k]) { order = score < best[k]! ? -1 : 1; break; }
        }
        if (order > 0) continue;
      }
      if (order < 0 || tieCount === 0) {
        for (; k < rules; k++) best[k] = this.score(k, i);
        tieCount = 0;
      }
      ties[tieCount++] = i;
    }
    if (tieCount === 0) return -1;
    // The last tie-break is random, as in ECS (and the whole choice, under the random strategy).
    return tieCount === 1 ? ties[0]! : ties[Math.min(tieCount - 1, Math.floor(rng() * tieCount))]!;
  }

  /** Rule `k`'s score of instance `i`: lower is better. */
  private score(k: number, i: number): number {
    switch (this.ruleKind[k]) {
      case SPREAD_INSTANCE: return this.groupCount[i]!;
      case SPREAD_ATTRIBUTE: return this.bucketTasks[k]![this.bucketOf[k]![i]!]!;
      // Binpack: the least of the resource left once the task is placed wins.
      case BINPACK_CPU: return this.cpu[i]!;
      default: return this.memory[i]!;
    }
  }

  /** Takes one copy's resources on instance `i` and hands out its dynamic host ports. */
  private commit(i: number): Placement {
    const { demand } = this.request;
    this.cpu[i] = this.cpu[i]! - demand.cpu;
    this.memory[i] = this.memory[i]! - demand.memory;
    this.groupCount[i] = this.groupCount[i]! + 1;
    this.placedHere[i] = this.placedHere[i]! + 1;
    for (let k = 0; k < this.ruleKind.length; k++) {
      const buckets = this.bucketOf[k];
      if (buckets) this.bucketTasks[k]![buckets[i]!]! += 1;
    }
    const inst = this.instances[i]!;
    if (this.rules.distinctInstance || this.hasStaticPorts) this.blocked[i] = 1;
    else if (this.rules.memberOfChangesWithPlacements && !this.isMember(this.factsNow(i))) this.blocked[i] = 1;
    const placement: Placement = { containerInstanceArn: inst.containerInstanceArn, tcpHostPorts: [], udpHostPorts: [] };
    if (this.dynamicTcp + this.dynamicUdp > 0) {
      let given = this.givenPorts.get(i);
      if (!given) { given = { tcp: new Set(demand.tcpPorts), udp: new Set(demand.udpPorts) }; this.givenPorts.set(i, given); }
      const range = inst.dynamicPortRange ?? DEFAULT_DYNAMIC_PORT_RANGE;
      pickPorts(range, inst.tcpPortsInUse, given.tcp, this.dynamicTcp, placement.tcpHostPorts);
      pickPorts(range, inst.udpPortsInUse, given.udp, this.dynamicUdp, placement.udpHostPorts);
    }
    return placement;
  }

  private isMember(facts: InstanceFacts): boolean {
    for (const m of this.rules.memberOf) if (!m.matches(facts)) return false;
    return true;
  }

  /** Instance `i`'s facts with the copies this call placed on it. */
  private factsNow(i: number): InstanceFacts {
    const { facts } = this.instances[i]!;
    const placed = this.placedHere[i]!;
    if (placed === 0) return facts;
    return { ...facts, runningTasksCount: facts.runningTasksCount + placed, taskGroups: new Set([...facts.taskGroups, this.request.group]) };
  }

  /** Whether instance `i` still has a dynamic host port for each hostPort-0 mapping of one more copy. */
  private dynamicPortsFit(i: number): boolean {
    const inst = this.instances[i]!;
    const given = this.givenPorts.get(i);
    const range = inst.dynamicPortRange ?? DEFAULT_DYNAMIC_PORT_RANGE;
    const size = range.last - range.first + 1;
    const fits = (inUse: ReadonlySet<number>, extra: ReadonlySet<number> | undefined, staticPorts: readonly number[], need: number) => {
      if (need === 0) return true;
      // Cheap bound first: even if every port taken were in the range, there would be room.
      const takenBound = inUse.size + (extra?.size ?? staticPorts.length);
      if (takenBound + need <= size) return true;
      let taken = 0;
      for (const p of inUse) if (p >= range.first && p <= range.last) taken++;
      for (const p of extra ?? staticPorts) if (p >= range.first && p <= range.last && !inUse.has(p)) taken++;
      return size - taken >= need;
    };
    const { demand } = this.request;
    return fits(inst.tcpPortsInUse, given?.tcp, demand.tcpPorts, this.dynamicTcp) && fits(inst.udpPortsInUse, given?.udp, demand.udpPorts, this.dynamicUdp);
  }

  /** Why each instance refuses the next copy, in ECS's order of checks. */
  private failures(): PlacementFailure[] {
    const { demand } = this.request;
    const failures: PlacementFailure[] = [];
    for (let i = 0; i < this.n; i++) {
      const inst = this.instances[i]!;
      let reason: PlacementFailureReason | undefined;
      if (inst.status !== 'ACTIVE') reason = 'INACTIVE';
      else if (!inst.agentConnected) reason = 'AGENT';
      else if (this.cpu[i]! < demand.cpu) reason = 'RESOURCE:CPU';
      else if (this.memory[i]! < demand.memory) reason = 'RESOURCE:MEMORY';
      else if ((this.hasStaticPorts && (this.placedHere[i]! > 0 || staticPortTaken(inst, demand))) || !this.dynamicPortsFit(i)) reason = 'RESOURCE:PORTS';
      else if (!this.isMember(this.factsNow(i))) reason = MEMBER_OF_UNSATISFIED;
      else if (this.rules.distinctInstance && this.groupCount[i]! > 0) reason = DISTINCT_INSTANCE_UNSATISFIED;
      if (reason) failures.push({ arn: inst.containerInstanceArn, reason });
    }
    return failures;
  }
}

function staticPortTaken(instance: InstanceCapacity, demand: TaskDemand): boolean {
  for (const p of demand.tcpPorts) if (instance.tcpPortsInUse.has(p)) return true;
  for (const p of demand.udpPorts) if (instance.udpPortsInUse.has(p)) return true;
  return false;
}

/** Ports of `range` neither in use nor about to be taken by `staticPorts`. */
function freeInRange(inUse: ReadonlySet<number>, staticPorts: readonly number[], range: PortRange): number {
  let taken = 0;
  for (const p of inUse) if (p >= range.first && p <= range.last) taken++;
  for (const p of new Set(staticPorts)) if (p >= range.first && p <= range.last && !inUse.has(p)) taken++;
  return range.last - range.first + 1 - taken;
}

/** Appends to `out` the `count` lowest ports of `range` in neither `inUse` nor `given`, and adds them to `given`. */
function pickPorts(range: PortRange, inUse: ReadonlySet<number>, given: Set<number>, count: number, out: number[]): void {
  for (let p = range.first; out.length < count && p <= range.last; p++) {
    if (!inUse.has(p) && !given.has(p)) { given.add(p); out.push(p); }
  }
}
