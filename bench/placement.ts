/**
 * Placement alone, on a simulated cluster: no server, no store, no Docker — the scheduler's `place`
 * and the bookkeeping a commit does between two requests (copy the changed instances, then write).
 *
 *   node dist/bench/placement.js        (BENCH_SIZES=1000x10000,5000x50000 and BENCH_MODES=view,snapshot
 *                                        to change the sizes and the modes)
 *
 * Each size: instances over 3 Availability Zones with varied types and a custom `stack` attribute;
 * tasks come as services of 10, each placed with spread(attribute:ecs.availability-zone) then
 * binpack(memory) and a memberOf constraint (services alternate between `attribute:ecs.instance-type
 * =~ t3.*` and `attribute:stack == prod`), one dynamic host port per task. Targets: >= 20,000
 * placements/s at 1,000 instances / 10,000 tasks, >= 10,000/s at 5,000 / 50,000. The reference
 * figures are quoted, not measured here (neither scheduler runs on this machine): kube-scheduler's
 * benchmark floor of 270 pods/s at 5,000 nodes, and Nomad's 3,750 containers/s in its 1M-container
 * run. After each size the result is checked: every task placed, no instance over-committed, no
 * host port given twice, every memberOf held, each service spread evenly over the zones.
 */
import { performance } from 'node:perf_hooks';
import {
  compileClusterQuery, parseClusterQuery, place, PlacementCluster, type InstanceFacts, type Placement, type PlacementInstance,
  type PlacementRequest,
} from '../src/scheduler/index.js';
import { seededRng } from '../src/testkit/seeded-rng.js';
import { formatRatio, printTable, progress, runBenchmark } from './lib/index.js';
import type { Cell } from './lib/index.js';

const SIZES = (process.env['BENCH_SIZES'] ?? '1000x10000,5000x50000').split(',').map((s) => {
  const [instances, tasks] = s.split('x').map(Number);
  return { instances: instances!, tasks: tasks! };
});
const MODES = (process.env['BENCH_MODES'] ?? 'view,snapshot').split(',') as Mode[];
const TARGETS: Record<number, number> = { 1000: 20_000, 5000: 10_000 };
const SERVICE_SIZE = 10;
const ZONES = ['us-east-1a', 'us-east-1b', 'us-east-1c'];
/** [type, CPU units, MiB]: MiB as an agent registers them (host memory less what the OS keeps). */
const TYPES: [string, number, number][] = [
  ['t3.medium', 2048, 3_800], ['t3.large', 2048, 7_700], ['t3.xlarge', 4096, 15_600], ['t3.2xlarge', 8192, 31_500],
  ['m5.large', 2048, 7_700], ['m5.xlarge', 4096, 15_600], ['c5.2xlarge', 8192, 15_600], ['r5.large', 2048, 15_600],
];
const CONSTRAINTS = ['attribute:ecs.instance-type =~ t3.*', 'attribute:stack == prod'];
const REFERENCES = [
  { name: 'kube-scheduler benchmark floor @5,000 nodes', perSecond: 270 },
  { name: 'Nomad 1M-container run', perSecond: 3_750 },
];

interface Sim {
  instances: PlacementInstance[];
  registered: { cpu: number; memory: number }[];
}

function simulatedCluster(count: number, rng: () => number): Sim {
  const instances: PlacementInstance[] = [];
  const registered: Sim['registered'] = [];
  for (let i = 0; i < count; i++) {
    const [type, cpu, memory] = TYPES[Math.floor(rng() * TYPES.length)]!;
    const id = i.toString(16).padStart(32, '0');
    const attributes = new Map<string, string | undefined>([
      ['ecs.availability-zone', ZONES[i % ZONES.length]!], ['ecs.instance-type', type], ['ecs.os-type', 'linux'],
      ['ecs.cpu-architecture', type.startsWith('t3') ? 'x86_64' : rng() < 0.5 ? 'arm64' : 'x86_64'],
      ['stack', rng() < 0.7 ? 'prod' : 'staging'],
    ]);
    const facts: InstanceFacts = {
      attributes, agentConnected: true, agentVersion: '1.80.0', ec2InstanceId: `i-${id.slice(-17)}`, registeredAtMs: 0,
      runningTasksCount: 0, taskGroups: new Set(),
    };
    instances.push({
      containerInstanceArn: `arn:aws:ecs:us-east-1:000000000000:container-instance/bench/${id}`, status: 'ACTIVE', agentConnected: true,
      cpu, memory, tcpPortsInUse: new Set([22, 2375, 2376, 51678, 51679]), udpPortsInUse: new Set(), facts, tasksByGroup: new Map(),
    });
    registered.push({ cpu, memory });
  }
  return { instances, registered };
}

/** The service's request: its size varies a little from one service to the next. */
function serviceRequest(service: number): PlacementRequest {
  return {
    demand: { cpu: [64, 128, 256][service % 3]!, memory: [128, 256, 384, 512][service % 4]!, tcpPorts: [], udpPorts: [], dynamicTcpPorts: 1 },
    group: `service:svc-${service}`,
    strategy: [{ type: 'spread', field: 'attribute:ecs.availability-zone' }, { type: 'binpack', field: 'memory' }],
    constraints: [{ type: 'memberOf', expression: CONSTRAINTS[service % CONSTRAINTS.length]! }],
  };
}

/**
 * What a commit does to a snapshot: the chosen instances are copied with the task taken, then
 * written back (the fresh-snapshot mode's bookkeeping; the view mode uses PlacementCluster.apply).
 */
function commit(sim: Sim, index: Map<string, number>, request: PlacementRequest, placements: readonly Placement[]): void {
  for (const p of placements) {
    const i = index.get(p.containerInstanceArn)!;
    const before = sim.instances[i]!;
    const tasksByGroup = new Map(before.tasksByGroup);
    tasksByGroup.set(request.group, (tasksByGroup.get(request.group) ?? 0) + 1);
    const tcp = new Set(before.tcpPortsInUse);
    for (const port of p.tcpHostPorts) tcp.add(port);
    sim.instances[i] = {
      ...before,
      cpu: before.cpu - request.demand.cpu,
      memory: before.memory - request.demand.memory,
      tcpPortsInUse: tcp,
      tasksByGroup,
      facts: { ...before.facts, runningTasksCount: before.facts.runningTasksCount + 1, taskGroups: new Set(tasksByGroup.keys()) },
    };
  }
}

/**
 * How the scheduler holds the cluster between requests: `view`, one PlacementCluster kept and
 * told what each commit took (a service scheduler's in-memory view); `snapshot`, a fresh
 * `place(instances, ...)` per request on the instance objects (RunTask reading the store each time).
 */
type Mode = 'view' | 'snapshot';

interface Run {
  seconds: number;
  /** CPU time of this process over the same loop: with other work on the machine, wall time overstates. */
  cpuSeconds: number;
  placeSeconds: number;
  placed: number;
  log: { service: number; placements: Placement[] }[];
}

function run(sim: Sim, tasks: number, rng: () => number, mode: Mode): Run {
  const index = new Map(sim.instances.map((inst, i) => [inst.containerInstanceArn, i]));
  const log: Run['log'] = [];
  let placed = 0;
  let placeSeconds = 0;
  const start = performance.now();
  const cpuStart = process.cpuUsage();
  const view = mode === 'view' ? new PlacementCluster(sim.instances) : undefined;
  for (let service = 0; placed < tasks; service++) {
    const request = serviceRequest(service);
    const want = Math.min(SERVICE_SIZE, tasks - placed);
    const t0 = performance.now();
    const outcome = view ? view.place(request, want, rng) : place(sim.instances, request, want, rng);
    placeSeconds += (performance.now() - t0) / 1000;
    if (outcome.placements.length === 0) throw new Error(`service ${service} placed nothing: ${JSON.stringify(outcome.failures.slice(0, 3))}`);
    if (view) view.apply(request, outcome.placements);
    else commit(sim, index, request, outcome.placements);
    log.push({ service, placements: outcome.placements });
    placed += outcome.placements.length;
  }
  const cpu = process.cpuUsage(cpuStart);
  return { seconds: (performance.now() - start) / 1000, cpuSeconds: (cpu.user + cpu.system) / 1e6, placeSeconds, placed, log };
}

/** Problems with the result, checked from the log alone (not from place's own bookkeeping). */
function verify(sim: Sim, fresh: Sim, result: Run, tasks: number): string[] {
  const problems: string[] = [];
  if (result.placed !== tasks) problems.push(`placed ${result.placed} of ${tasks}`);
  const index = new Map(fresh.instances.map((inst, i) => [inst.containerInstanceArn, i]));
  const used = fresh.instances.map(() => ({ cpu: 0, memory: 0, ports: new Set<number>() }));
  const memberOf = CONSTRAINTS.map((c) => compileClusterQuery(parseClusterQuery(c)));
  let unevenServices = 0;
  for (const { service, placements } of result.log) {
    const request = serviceRequest(service);
    const perZone = new Map(ZONES.map((z) => [z, 0]));
    for (const p of placements) {
      const i = index.get(p.containerInstanceArn)!;
      const u = used[i]!;
      u.cpu += request.demand.cpu;
      u.memory += request.demand.memory;
      for (const port of p.tcpHostPorts) {
        if (u.ports.has(port) || fresh.instances[i]!.tcpPortsInUse.has(port)) problems.push(`port ${port} given twice on instance ${i}`);
        u.ports.add(port);
      }
      if (!memberOf[service % memberOf.length]!(fresh.instances[i]!.facts)) problems.push(`service ${service} on instance ${i} breaks its memberOf`);
      const zone = fresh.instances[i]!.facts.attributes.get('ecs.availability-zone')!;
      perZone.set(zone, perZone.get(zone)! + 1);
    }
    const counts = [...perZone.values()];
    if (Math.max(...counts) - Math.min(...counts) > 1) unevenServices++;
  }
  used.forEach((u, i) => {
    const r = sim.registered[i]!;
    if (u.cpu > r.cpu || u.memory > r.memory) problems.push(`instance ${i} over-committed: ${u.cpu}/${r.cpu} CPU, ${u.memory}/${r.memory} MiB`);
  });
  if (unevenServices > 0) problems.push(`${unevenServices} services not spread evenly over the zones (more than 1 apart)`);
  return problems;
}

runBenchmark('placement', async () => {
  // Warm-up, untimed: the same code paths on a small cluster, so the JIT has compiled them.
  progress('warm-up');
  for (const mode of MODES) run(simulatedCluster(500, seededRng(7)), 5_000, seededRng(8), mode);

  const rows: Cell[][] = [];
  const checks: Cell[][] = [];
  for (const size of SIZES) {
    for (const mode of MODES) {
      const label = `${size.instances} / ${size.tasks}, ${mode}`;
      progress(label);
      const sim = simulatedCluster(size.instances, seededRng(size.instances));
      const fresh: Sim = { instances: [...sim.instances], registered: sim.registered };
      const result = run(sim, size.tasks, seededRng(42), mode);
      const rate = result.placed / result.seconds;
      const target = TARGETS[size.instances];
      rows.push([
        label, result.placed, result.seconds * 1000, Math.round(rate), Math.round(result.placed / result.cpuSeconds),
        Math.round(result.placed / result.placeSeconds),
        target === undefined ? 'n/a' : String(target), target === undefined ? 'n/a' : formatRatio(rate / target),
        ...REFERENCES.map((r) => formatRatio(rate / r.perSecond)),
      ]);
      const problems = verify(sim, fresh, result, size.tasks);
      checks.push([label, problems.length === 0 ? 'ok' : problems.slice(0, 5).join('; ')]);
    }
  }
  printTable(
    'Placement, spread(attribute:ecs.availability-zone) then binpack(memory), memberOf, services of 10 (placements/s)',
    ['instances / tasks, mode', 'placed', 'ms', 'placements/s', 'per CPU-second', 'place() only/s', 'target/s', 'vs target', 'vs kube-scheduler 270/s', 'vs Nomad 3,750/s'],
    rows, 0,
  );
  printTable('Reference figures (quoted, not measured in this run)', ['reference', 'per second'],
    REFERENCES.map((r) => [r.name, r.perSecond]), 0);
  printTable('Result checks', ['instances / tasks, mode', 'result'], checks);
});
