/**
 * `place` and the cluster view it works on. A PlacementCluster holds one cluster's instances in
 * columns (typed arrays: remaining CPU and memory, ports in use, tasks per group), so placing a
 * task reads a few numbers per instance instead of walking instance objects and their maps. What
 * does not change when tasks are placed (attribute values, memberOf results that ask only about
 * attributes and the agent, which instance holds a given static port) is computed on first use and
 * kept. `place` only reads the view; `apply` is the separate step that records what a commit took,
 * for a caller (a service scheduler, the benchmark) that keeps the view between placements.
 */
import type { InstanceFacts } from './cluster-query.js';
import { validatePlacement, type PlacementConstraint, type PlacementRules, type PlacementStrategy } from './placement-rules.js';
import {
  DEFAULT_DYNAMIC_PORT_RANGE, DISTINCT_INSTANCE_UNSATISFIED, MEMBER_OF_UNSATISFIED, freeInRange, pickPorts, staticPortTaken,
  type InstanceCapacity, type Placement, type PlacementFailure, type PlacementFailureReason, type PlacementInstance,
  type PlacementOutcome, type PlacementRequest, type PlacementResult, type TaskDemand,
} from './placement.js';

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
  return new PlacementCluster(instances).place(request, count, rng);
}

/**
 * Places `count` copies of a task with the random strategy and no constraints: each copy goes to
 * an instance drawn uniformly from those that can still take it. `rng` returns a float in [0, 1).
 */
export function placeRandom(
  instances: readonly InstanceCapacity[], demand: TaskDemand, count: number, rng: () => number,
): PlacementResult {
  const outcome = place(
    instances.map((i) => ({
      ...i, facts: { attributes: new Map(), agentConnected: i.agentConnected, runningTasksCount: 0, taskGroups: new Set<string>() },
      tasksByGroup: new Map<string, number>(),
    })),
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
 * One cluster's instances as placement sees them. `place` reads it and changes nothing; `apply`
 * records the tasks a commit placed (the caller's own bookkeeping, when it keeps the view between
 * placements instead of building a new one from a fresh snapshot). The view learns only the
 * commits it is told about: when another writer changed an instance (the commit's
 * compare-and-swap says so), build a new view from a fresh snapshot.
 */
export class PlacementCluster {
  private readonly instanceList: PlacementInstance[];
  /** ARN → index, built by the first `apply` (a one-off `place` never needs it). */
  private indexOf: Map<string, number> | undefined;
  private readonly cpu: Float64Array;
  private readonly memory: Float64Array;
  /** 1 when the instance is ACTIVE with its agent connected. */
  private readonly usable: Uint8Array;
  private readonly tcpPortsInUse: Int32Array;
  private readonly udpPortsInUse: Int32Array;
  private readonly dynamicRangeSize: Int32Array;
  /**
   * Task group → instance index → live tasks of the group there: every group once the view is
   * kept (first `apply`), else only the groups asked about so far.
   */
  private readonly groups = new Map<string, Map<number, number>>();
  private allGroupsIndexed = false;
  private readonly attributeColumns = new Map<string, { bucketOf: Int32Array; buckets: number }>();
  private readonly memberOfColumns = new Map<string, Uint8Array>();
  private readonly portColumns = new Map<string, Uint8Array>();
  /** @internal Working arrays of one `place` call, zero between calls. */
  readonly scratch: { placedHere: Int32Array; blocked: Uint8Array; groupCount: Int32Array; candidates: Int32Array; ties: Int32Array };

  constructor(instances: readonly PlacementInstance[]) {
    const n = instances.length;
    this.instanceList = [...instances];
    this.cpu = new Float64Array(n);
    this.memory = new Float64Array(n);
    this.usable = new Uint8Array(n);
    this.tcpPortsInUse = new Int32Array(n);
    this.udpPortsInUse = new Int32Array(n);
    this.dynamicRangeSize = new Int32Array(n);
    for (let i = 0; i < n; i++) {
      const inst = instances[i]!;
      this.cpu[i] = inst.cpu;
      this.memory[i] = inst.memory;
      this.usable[i] = inst.status === 'ACTIVE' && inst.agentConnected ? 1 : 0;
      this.tcpPortsInUse[i] = inst.tcpPortsInUse.size;
      this.udpPortsInUse[i] = inst.udpPortsInUse.size;
      const range = inst.dynamicPortRange ?? DEFAULT_DYNAMIC_PORT_RANGE;
      this.dynamicRangeSize[i] = range.last - range.first + 1;
    }
    this.scratch = {
      placedHere: new Int32Array(n), blocked: new Uint8Array(n), groupCount: new Int32Array(n), candidates: new Int32Array(n), ties: new Int32Array(n),
    };
  }

  /** The instances as they are now (with what `apply` recorded), in their original order. */
  get instances(): readonly PlacementInstance[] { return this.instanceList; }

  /** See `place`: the same, on this view. Changes nothing. */
  place(request: PlacementRequest, count: number, rng: () => number): PlacementOutcome {
    const rules = rulesOf(request.strategy, request.constraints);
    const round = new Round(this, request, rules);
    try {
      return round.run(count, rng);
    } finally {
      round.reset();
    }
  }

  /**
   * Records that `placements` of `request` were committed: their instances lose the CPU, memory
   * and host ports, and count one more task of the group. Placements on instances this view does
   * not hold are ignored.
   */
  apply(request: PlacementRequest, placements: readonly Placement[]): void {
    const { demand, group } = request;
    this.indexAllGroups();
    this.indexOf ??= new Map(this.instanceList.map((inst, i) => [inst.containerInstanceArn, i]));
    for (const p of placements) {
      const i = this.indexOf.get(p.containerInstanceArn);
      if (i === undefined) continue;
      const before = this.instanceList[i]!;
      this.cpu[i] = this.cpu[i]! - demand.cpu;
      this.memory[i] = this.memory[i]! - demand.memory;
      const tcp = new Set(before.tcpPortsInUse);
      const udp = new Set(before.udpPortsInUse);
      for (const port of [...demand.tcpPorts, ...p.tcpHostPorts]) { tcp.add(port); this.portColumns.get(`tcp/${port}`)?.fill(1, i, i + 1); }
      for (const port of [...demand.udpPorts, ...p.udpHostPorts]) { udp.add(port); this.portColumns.get(`udp/${port}`)?.fill(1, i, i + 1); }
      this.tcpPortsInUse[i] = tcp.size;
      this.udpPortsInUse[i] = udp.size;
      let on = this.groups.get(group);
      if (!on) { on = new Map(); this.groups.set(group, on); }
      on.set(i, (on.get(i) ?? 0) + 1);
      const tasksByGroup = new Map(before.tasksByGroup);
      tasksByGroup.set(group, (tasksByGroup.get(group) ?? 0) + 1);
      this.instanceList[i] = {
        ...before, cpu: this.cpu[i]!, memory: this.memory[i]!, tcpPortsInUse: tcp, udpPortsInUse: udp, tasksByGroup,
        facts: { ...before.facts, runningTasksCount: before.facts.runningTasksCount + 1, taskGroups: new Set([...before.facts.taskGroups, group]) },
      };
    }
  }

  // Read by Round: the columns and the facts computed on first use.

  /** @internal */ get size(): number { return this.instanceList.length; }
  /** @internal */ cpuLeft(): Float64Array { return this.cpu; }
  /** @internal */ memoryLeft(): Float64Array { return this.memory; }
  /** @internal */ usableColumn(): Uint8Array { return this.usable; }
  /** @internal */ portsInUse(protocol: 'tcp' | 'udp'): Int32Array { return protocol === 'tcp' ? this.tcpPortsInUse : this.udpPortsInUse; }
  /** @internal */ rangeSizes(): Int32Array { return this.dynamicRangeSize; }
  /** @internal The live tasks of `group` per instance index. */
  tasksOf(group: string): ReadonlyMap<number, number> {
    let on = this.groups.get(group);
    if (!on) {
      on = new Map();
      if (!this.allGroupsIndexed) {
        this.instanceList.forEach((inst, i) => { const tasks = inst.tasksByGroup.get(group) ?? 0; if (tasks > 0) on!.set(i, tasks); });
      }
      this.groups.set(group, on);
    }
    return on;
  }

  /** Indexes every group at once: a kept view then finds any group without walking the instances. */
  private indexAllGroups(): void {
    if (this.allGroupsIndexed) return;
    this.groups.clear();
    this.instanceList.forEach((inst, i) => {
      for (const [group, tasks] of inst.tasksByGroup) {
        if (tasks <= 0) continue;
        let on = this.groups.get(group);
        if (!on) { on = new Map(); this.groups.set(group, on); }
        on.set(i, tasks);
      }
    });
    this.allGroupsIndexed = true;
  }

  /** @internal Each instance's bucket (distinct value, a missing attribute being one more) for `attribute`. */
  attributeColumn(attribute: string): { bucketOf: Int32Array; buckets: number } {
    let column = this.attributeColumns.get(attribute);
    if (!column) {
      const index = new Map<string | undefined, number>();
      const bucketOf = new Int32Array(this.instanceList.length);
      this.instanceList.forEach((inst, i) => {
        const value = inst.facts.attributes.get(attribute);
        let b = index.get(value);
        if (b === undefined) { b = index.size; index.set(value, b); }
        bucketOf[i] = b;
      });
      column = { bucketOf, buckets: index.size };
      this.attributeColumns.set(attribute, column);
    }
    return column;
  }

  /** @internal Whether each instance satisfies a memberOf that placing tasks cannot change. */
  memberOfColumn(expression: string, matches: (facts: InstanceFacts) => boolean): Uint8Array {
    let column = this.memberOfColumns.get(expression);
    if (!column) {
      column = Uint8Array.from(this.instanceList, (inst) => (matches(inst.facts) ? 1 : 0));
      this.memberOfColumns.set(expression, column);
    }
    return column;
  }

  /** @internal Whether each instance already has `port` taken. */
  portColumn(protocol: 'tcp' | 'udp', port: number): Uint8Array {
    const key = `${protocol}/${port}`;
    let column = this.portColumns.get(key);
    if (!column) {
      column = Uint8Array.from(this.instanceList, (inst) => ((protocol === 'tcp' ? inst.tcpPortsInUse : inst.udpPortsInUse).has(port) ? 1 : 0));
      this.portColumns.set(key, column);
    }
    return column;
  }
}

// Strategy rules as numbers, for the inner loop.
const SPREAD_INSTANCE = 0, SPREAD_ATTRIBUTE = 1, BINPACK_CPU = 2, BINPACK_MEMORY = 3;
const NO_BUCKETS = new Int32Array(0);
const NO_BUCKET_TASKS = new Float64Array(0);

/**
 * One `place` call. Copies of one request all take the same amounts, so what is left on instance
 * i is its column value less placedHere[i] copies; choosing an instance allocates nothing.
 */
class Round {
  private readonly n: number;
  private readonly cpu: Float64Array;
  private readonly memory: Float64Array;
  private readonly placedHere: Int32Array;
  private readonly blocked: Uint8Array;
  private readonly groupCount: Int32Array;
  private readonly candidates: Int32Array;
  private readonly ties: Int32Array;
  private candidateCount = 0;
  /** Indices whose scratch entries this round set, to zero them again. */
  private readonly touched: number[] = [];
  private readonly ruleKind: Int32Array;
  private readonly best: Float64Array;
  /** Per rule: for spread-attribute rules, each instance's bucket and the group's tasks per bucket; empty for the others. */
  private readonly bucketOf: Int32Array[] = [];
  private readonly bucketTasks: Float64Array[] = [];
  private readonly hasStaticPorts: boolean;
  private readonly dynamicTcp: number;
  private readonly dynamicUdp: number;
  private readonly staticTcp: number;
  private readonly staticUdp: number;
  /** memberOf expressions that ask about placed tasks, evaluated on facts. */
  private readonly changingMemberOf: ((facts: InstanceFacts) => boolean)[] = [];
  private readonly givenPorts = new Map<number, { tcp: Set<number>; udp: Set<number> }>();

  constructor(private readonly cluster: PlacementCluster, private readonly request: PlacementRequest, private readonly rules: PlacementRules) {
    const n = cluster.size;
    this.n = n;
    const { demand, group } = request;
    this.cpu = cluster.cpuLeft();
    this.memory = cluster.memoryLeft();
    ({ placedHere: this.placedHere, blocked: this.blocked, groupCount: this.groupCount, candidates: this.candidates, ties: this.ties } = cluster.scratch);
    this.hasStaticPorts = demand.tcpPorts.length + demand.udpPorts.length > 0;
    this.dynamicTcp = demand.dynamicTcpPorts ?? 0;
    this.dynamicUdp = demand.dynamicUdpPorts ?? 0;
    this.staticTcp = demand.tcpPorts.length;
    this.staticUdp = demand.udpPorts.length;

    // The group's tasks, spread over the instances (zeroed again by reset()).
    const tasks = cluster.tasksOf(group);
    for (const [i, count] of tasks) { this.groupCount[i] = count; this.touched.push(i); }

    const strategy = rules.strategy.filter((r) => r.kind !== 'random');
    this.ruleKind = new Int32Array(strategy.length);
    this.best = new Float64Array(strategy.length);
    strategy.forEach((r, k) => {
      if (r.kind === 'spread-attribute') {
        this.ruleKind[k] = SPREAD_ATTRIBUTE;
        // Spread counts the group's tasks on every instance, full or not: it balances where the
        // group runs, not where there is room.
        const column = cluster.attributeColumn(r.attribute);
        const perBucket = new Float64Array(column.buckets);
        for (const [i, count] of tasks) { const b = column.bucketOf[i]!; perBucket[b] = perBucket[b]! + count; }
        this.bucketOf[k] = column.bucketOf;
        this.bucketTasks[k] = perBucket;
      } else {
        this.ruleKind[k] = r.kind === 'spread-instance' ? SPREAD_INSTANCE : r.kind === 'binpack' && r.resource === 'cpu' ? BINPACK_CPU : BINPACK_MEMORY;
        this.bucketOf[k] = NO_BUCKETS;
        this.bucketTasks[k] = NO_BUCKET_TASKS;
      }
    });

    const staticMemberOf: Uint8Array[] = [];
    for (const m of rules.memberOf) {
      if (m.changesWithPlacements) this.changingMemberOf.push(m.matches);
      else staticMemberOf.push(cluster.memberOfColumn(m.expression, m.matches));
    }
    const portTaken = [
      ...demand.tcpPorts.map((p) => cluster.portColumn('tcp', p)), ...demand.udpPorts.map((p) => cluster.portColumn('udp', p)),
    ];
    const usable = cluster.usableColumn();
    const instances = cluster.instances;
    let c = 0;
    next: for (let i = 0; i < n; i++) {
      if (usable[i] === 0) continue;
      for (const column of staticMemberOf) if (column[i] === 0) continue next;
      for (const column of portTaken) if (column[i] === 1) continue next;
      if (rules.distinctInstance && this.groupCount[i]! > 0) continue;
      if (this.changingMemberOf.length > 0 && !this.isChangingMember(instances[i]!.facts)) continue;
      this.candidates[c++] = i;
    }
    this.candidateCount = c;
  }

  run(count: number, rng: () => number): PlacementOutcome {
    const placements: Placement[] = [];
    for (let copy = 0; copy < count; copy++) {
      const i = this.choose(rng);
      if (i < 0) return { placements, failures: this.failures() };
      placements.push(this.commit(i, rng));
    }
    return { placements, failures: [] };
  }

  /** Zeroes the scratch entries this round set, for the next round. */
  reset(): void {
    for (const i of this.touched) { this.placedHere[i] = 0; this.blocked[i] = 0; this.groupCount[i] = 0; }
  }

  /** The index of the instance the next copy goes to, or -1 when it fits nowhere. */
  private choose(rng: () => number): number {
    const { cpu, memory, placedHere, blocked, candidates, ties, best } = this;
    const needCpu = this.request.demand.cpu;
    const needMemory = this.request.demand.memory;
    const checkPorts = this.dynamicTcp + this.dynamicUdp > 0;
    const rules = this.ruleKind.length;
    // The first rule is scored for every candidate: read its columns from locals.
    const first = rules > 0 ? this.ruleKind[0]! : -1;
    const firstBuckets = this.bucketOf[0] ?? NO_BUCKETS;
    const firstBucketTasks = this.bucketTasks[0] ?? NO_BUCKET_TASKS;
    const groupCount = this.groupCount;
    let tieCount = 0;
    for (let j = 0; j < this.candidateCount; j++) {
      const i = candidates[j]!;
      const placed = placedHere[i]!;
      if (placed > 0 && (blocked[i] === 1 || cpu[i]! - placed * needCpu < needCpu || memory[i]! - placed * needMemory < needMemory)) continue;
      if (placed === 0 && (cpu[i]! < needCpu || memory[i]! < needMemory)) continue;
      // Lexicographic comparison with the best so far: the first rule that differs decides.
      let k = 0;
      let order = 0;
      if (tieCount > 0) {
        if (rules > 0) {
          const score = first === SPREAD_ATTRIBUTE ? firstBucketTasks[firstBuckets[i]!]!
            : first === BINPACK_MEMORY ? memory[i]! - placed * needMemory
              : first === BINPACK_CPU ? cpu[i]! - placed * needCpu : groupCount[i]!;
          if (score !== best[0]) order = score < best[0]! ? -1 : 1;
          else for (k = 1; k < rules; k++) {
            const next = this.score(k, i);
            if (next !== best[k]) { order = next < best[k]! ? -1 : 1; break; }
          }
        }
        if (order > 0) continue;
      }
      // Ports last: only for an instance that would be kept.
      if (checkPorts && !this.dynamicPortsFit(i)) continue;
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
      case BINPACK_CPU: return this.cpu[i]! - this.placedHere[i]! * this.request.demand.cpu;
      default: return this.memory[i]! - this.placedHere[i]! * this.request.demand.memory;
    }
  }

  /** Takes one copy on instance `i` and hands out its dynamic host ports, from a random port of the range on. */
  private commit(i: number, rng: () => number): Placement {
    const { demand } = this.request;
    if (this.placedHere[i] === 0) this.touched.push(i);
    this.placedHere[i] = this.placedHere[i]! + 1;
    this.groupCount[i] = this.groupCount[i]! + 1;
    for (let k = 0; k < this.ruleKind.length; k++) {
      if (this.ruleKind[k] === SPREAD_ATTRIBUTE) this.bucketTasks[k]![this.bucketOf[k]![i]!]! += 1;
    }
    const inst = this.cluster.instances[i]!;
    if (this.rules.distinctInstance || this.hasStaticPorts) this.blocked[i] = 1;
    else if (this.changingMemberOf.length > 0 && !this.isChangingMember(this.factsNow(i))) this.blocked[i] = 1;
    const placement: Placement = { containerInstanceArn: inst.containerInstanceArn, tcpHostPorts: [], udpHostPorts: [] };
    if (this.dynamicTcp + this.dynamicUdp > 0) {
      let given = this.givenPorts.get(i);
      if (!given) { given = { tcp: new Set(demand.tcpPorts), udp: new Set(demand.udpPorts) }; this.givenPorts.set(i, given); }
      const range = inst.dynamicPortRange ?? DEFAULT_DYNAMIC_PORT_RANGE;
      const start = range.first + Math.floor(rng() * (range.last - range.first + 1));
      pickPorts(range, inst.tcpPortsInUse, given.tcp, this.dynamicTcp, placement.tcpHostPorts, start);
      pickPorts(range, inst.udpPortsInUse, given.udp, this.dynamicUdp, placement.udpHostPorts, start);
    }
    return placement;
  }

  private isChangingMember(facts: InstanceFacts): boolean {
    for (const matches of this.changingMemberOf) if (!matches(facts)) return false;
    return true;
  }

  /** Instance `i`'s facts with the copies this round placed on it. */
  private factsNow(i: number): InstanceFacts {
    const { facts } = this.cluster.instances[i]!;
    const placed = this.placedHere[i]!;
    if (placed === 0) return facts;
    return { ...facts, runningTasksCount: facts.runningTasksCount + placed, taskGroups: new Set([...facts.taskGroups, this.request.group]) };
  }

  /** Whether instance `i` still has a dynamic host port for each hostPort-0 mapping of one more copy. */
  private dynamicPortsFit(i: number): boolean {
    const placed = this.placedHere[i]!;
    const size = this.cluster.rangeSizes()[i]!;
    // Cheap bound first: even if every port taken were in the range, there would be room.
    const tcpBound = this.cluster.portsInUse('tcp')[i]! + (placed + 1) * (this.staticTcp + this.dynamicTcp);
    const udpBound = this.cluster.portsInUse('udp')[i]! + (placed + 1) * (this.staticUdp + this.dynamicUdp);
    if ((this.dynamicTcp === 0 || tcpBound <= size) && (this.dynamicUdp === 0 || udpBound <= size)) return true;
    const inst = this.cluster.instances[i]!;
    const range = inst.dynamicPortRange ?? DEFAULT_DYNAMIC_PORT_RANGE;
    const given = this.givenPorts.get(i);
    const { demand } = this.request;
    return freeInRange(inst.tcpPortsInUse, [...(given?.tcp ?? []), ...demand.tcpPorts], range) >= this.dynamicTcp
      && freeInRange(inst.udpPortsInUse, [...(given?.udp ?? []), ...demand.udpPorts], range) >= this.dynamicUdp;
  }

  /** Why each instance refuses the next copy, in ECS's order of checks. */
  private failures(): PlacementFailure[] {
    const { demand } = this.request;
    const failures: PlacementFailure[] = [];
    const instances = this.cluster.instances;
    for (let i = 0; i < this.n; i++) {
      const inst = instances[i]!;
      const placed = this.placedHere[i]!;
      let reason: PlacementFailureReason | undefined;
      if (inst.status !== 'ACTIVE') reason = 'INACTIVE';
      else if (!inst.agentConnected) reason = 'AGENT';
      else if (this.cpu[i]! - placed * demand.cpu < demand.cpu) reason = 'RESOURCE:CPU';
      else if (this.memory[i]! - placed * demand.memory < demand.memory) reason = 'RESOURCE:MEMORY';
      else if ((this.hasStaticPorts && (placed > 0 || staticPortTaken(inst, demand))) || !this.dynamicPortsFit(i)) reason = 'RESOURCE:PORTS';
      else if (!this.rules.memberOf.every((m) => m.matches(this.factsNow(i)))) reason = MEMBER_OF_UNSATISFIED;
      else if (this.rules.distinctInstance && this.groupCount[i]! > 0) reason = DISTINCT_INSTANCE_UNSATISFIED;
      if (reason) failures.push({ arn: inst.containerInstanceArn, reason });
    }
    return failures;
  }
}
