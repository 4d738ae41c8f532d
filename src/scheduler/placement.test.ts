import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { InvalidParameterException } from '../model/index.js';
import { seededRng } from '../testkit/seeded-rng.js';
import { place, placeRandom, PlacementCluster } from './placement-cluster.js';
import {
  DISTINCT_INSTANCE_UNSATISFIED, MEMBER_OF_UNSATISFIED, pickPorts, refusal, take,
  type InstanceCapacity, type PlacementInstance, type PlacementRequest, type TaskDemand,
} from './placement.js';

const capacity = (arn: string, over: Partial<InstanceCapacity> = {}): InstanceCapacity => ({
  containerInstanceArn: arn, status: 'ACTIVE', agentConnected: true, cpu: 2048, memory: 1024,
  tcpPortsInUse: new Set([22]), udpPortsInUse: new Set(), ...over,
});
const demand = { cpu: 0, memory: 512, tcpPorts: [] as number[], udpPorts: [] as number[] };

/** A placement instance in `zone` with attributes `attrs` and `tasks` live tasks per group. */
function instance(
  arn: string,
  { zone = 'a', attrs = {}, tasks = {}, ...over }: Partial<InstanceCapacity> & { zone?: string; attrs?: Record<string, string>; tasks?: Record<string, number> } = {},
): PlacementInstance {
  const base = capacity(arn, { cpu: 4096, memory: 8192, ...over });
  const tasksByGroup = new Map(Object.entries(tasks));
  return {
    ...base,
    facts: {
      attributes: new Map(Object.entries({ 'ecs.availability-zone': zone, ...attrs })),
      agentConnected: base.agentConnected,
      runningTasksCount: [...tasksByGroup.values()].reduce((a, b) => a + b, 0),
      taskGroups: new Set(tasksByGroup.keys()),
    },
    tasksByGroup,
  };
}
const request = (over: Partial<PlacementRequest> = {}): PlacementRequest => ({
  demand: { cpu: 128, memory: 256, tcpPorts: [], udpPorts: [] }, group: 'service:web', strategy: [], constraints: [], ...over,
});
const arns = (outcome: { placements: { containerInstanceArn: string }[] }) => outcome.placements.map((p) => p.containerInstanceArn);
const tally = (list: string[]) => list.reduce<Record<string, number>>((t, a) => ({ ...t, [a]: (t[a] ?? 0) + 1 }), {});

describe('placeRandom (StartTask/RunTask before strategies)', () => {
  it('places every copy when resources allow, never overcommitting memory', () => {
    const r = placeRandom([capacity('a'), capacity('b')], demand, 4, () => 0);
    assert.equal(r.placements.length, 4);
    assert.deepEqual(r.failures, []);
    assert.equal(r.placements.filter((p) => p === 'a').length, 2);
  });

  it('reports ECS failure reasons per instance when a copy does not fit', () => {
    const r = placeRandom(
      [capacity('mem', { memory: 100 }), capacity('cpu', { cpu: 10 }), capacity('off', { agentConnected: false }),
        capacity('ports', { tcpPortsInUse: new Set([80]) }), capacity('gone', { status: 'DRAINING' })],
      { ...demand, cpu: 100, tcpPorts: [80] }, 1, () => 0.5,
    );
    assert.deepEqual(r.placements, []);
    assert.deepEqual(r.failures.map((f) => [f.arn, f.reason]), [
      ['mem', 'RESOURCE:MEMORY'], ['cpu', 'RESOURCE:CPU'], ['off', 'AGENT'], ['ports', 'RESOURCE:PORTS'], ['gone', 'INACTIVE'],
    ]);
  });

  it('a static host port is taken once per instance', () => {
    const r = placeRandom([capacity('a')], { ...demand, memory: 1, tcpPorts: [8080] }, 2, () => 0);
    assert.deepEqual(r.placements, ['a']);
    assert.deepEqual(r.failures, [{ arn: 'a', reason: 'RESOURCE:PORTS' }]);
  });
});

describe('strategies', () => {
  it('random: any instance with room, reproducible with a seeded rng', () => {
    const cluster = ['a', 'b', 'c', 'd'].map((a) => instance(a));
    const once = arns(place(cluster, request({ strategy: [{ type: 'random' }] }), 20, seededRng(1)));
    assert.deepEqual(arns(place(cluster, request({ strategy: [{ type: 'random' }] }), 20, seededRng(1))), once);
    assert.deepEqual(Object.keys(tally(once)).sort(), ['a', 'b', 'c', 'd']);
    assert.notDeepEqual(arns(place(cluster, request({ strategy: [{ type: 'random' }] }), 20, seededRng(2))), once);
  });

  it('spread on instanceId counts the group\'s tasks already there, not other groups\'', () => {
    const cluster = [instance('a', { tasks: { 'service:web': 2 } }), instance('b', { tasks: { 'service:db': 5 } }), instance('c')];
    const r = place(cluster, request({ strategy: [{ type: 'spread', field: 'instanceId' }] }), 7, seededRng(3));
    assert.deepEqual(tally(arns(r)), { a: 1, b: 3, c: 3 });
  });

  it('spread on an attribute evens out the values, however many instances each has', () => {
    const none = instance('none');
    const cluster = [instance('a1', { zone: 'a' }), instance('a2', { zone: 'a' }), instance('a3', { zone: 'a' }), instance('b1', { zone: 'b' }),
      { ...none, facts: { ...none.facts, attributes: new Map() } }];
    const r = place(cluster, request({ strategy: [{ type: 'spread', field: 'attribute:ecs.availability-zone' }] }), 9, seededRng(4));
    const perZone = tally(arns(r).map((a) => (a === 'none' ? 'missing' : a[0]!)));
    // Instances without the attribute are one more value of their own.
    assert.deepEqual(perZone, { a: 3, b: 3, missing: 3 });
  });

  it('spread on an attribute counts the group\'s tasks on full instances too', () => {
    const cluster = [instance('a1', { zone: 'a', memory: 0, tasks: { 'service:web': 4 } }), instance('a2', { zone: 'a' }), instance('b1', { zone: 'b' })];
    const r = place(cluster, request({ strategy: [{ type: 'spread', field: 'attribute:ecs.availability-zone' }] }), 4, seededRng(5));
    assert.deepEqual(arns(r), ['b1', 'b1', 'b1', 'b1']);
  });

  it('binpack on memory picks the least memory left that still fits; on cpu the least CPU', () => {
    const cluster = [instance('big', { memory: 4096, cpu: 256 }), instance('small', { memory: 600, cpu: 4096 }), instance('tiny', { memory: 200 })];
    assert.deepEqual(arns(place(cluster, request({ strategy: [{ type: 'binpack', field: 'memory' }] }), 3, seededRng(6))), ['small', 'small', 'big']);
    assert.deepEqual(arns(place(cluster, request({ strategy: [{ type: 'binpack', field: 'cpu' }] }), 3, seededRng(6))), ['big', 'big', 'small']);
  });

  it('chains: each rule narrows to its best, the next breaks the ties, the last ties are random', () => {
    const cluster = [
      instance('a-roomy', { zone: 'a', memory: 8192 }), instance('a-tight', { zone: 'a', memory: 1024 }),
      instance('b-roomy', { zone: 'b', memory: 8192 }), instance('b-tight', { zone: 'b', memory: 1024 }), instance('b-tight2', { zone: 'b', memory: 1024 }),
    ];
    const strategy = [{ type: 'spread', field: 'attribute:ecs.availability-zone' }, { type: 'binpack', field: 'memory' }];
    const r = arns(place(cluster, request({ strategy }), 4, seededRng(7)));
    // Zones alternate; within a zone the tightest instance; b-tight and b-tight2 tie.
    assert.equal(r[0]!.startsWith('a') ? r[1]!.startsWith('b') : r[1]!.startsWith('a'), true);
    assert.deepEqual(r.filter((a) => a.startsWith('a')), ['a-tight', 'a-tight']);
    assert.ok(r.filter((a) => a.startsWith('b')).every((a) => a === 'b-tight' || a === 'b-tight2'));
    // The final tie-break is the rng's: other seeds reach the other tied instance.
    const reached = new Set<string>();
    for (let seed = 0; seed < 20; seed++) arns(place(cluster, request({ strategy }), 2, seededRng(seed))).forEach((a) => reached.add(a));
    assert.deepEqual([...reached].sort(), ['a-tight', 'b-tight', 'b-tight2']);
  });

  it('random in a chain ends it', () => {
    const cluster = [instance('roomy', { memory: 8192 }), instance('tight', { memory: 1024 })];
    const strategy = [{ type: 'random' }, { type: 'binpack', field: 'memory' }];
    const reached = new Set<string>();
    for (let seed = 0; seed < 20; seed++) reached.add(arns(place(cluster, request({ strategy }), 1, seededRng(seed)))[0]!);
    assert.deepEqual([...reached].sort(), ['roomy', 'tight']);
  });

  it('with no strategy, any instance with room, at random', () => {
    const reached = new Set<string>();
    for (let seed = 0; seed < 20; seed++) reached.add(arns(place([instance('a'), instance('b')], request(), 1, seededRng(seed)))[0]!);
    assert.deepEqual([...reached].sort(), ['a', 'b']);
  });
});

describe('constraints', () => {
  it('distinctInstance: one task of the group per instance, counting those already running', () => {
    const cluster = [instance('a'), instance('b', { tasks: { 'service:web': 1 } }), instance('c'), instance('d', { tasks: { 'service:db': 1 } })];
    const r = place(cluster, request({ constraints: [{ type: 'distinctInstance' }] }), 4, seededRng(8));
    assert.deepEqual(arns(r).sort(), ['a', 'c', 'd']);
    assert.deepEqual(r.failures, [
      { arn: 'a', reason: DISTINCT_INSTANCE_UNSATISFIED }, { arn: 'b', reason: DISTINCT_INSTANCE_UNSATISFIED },
      { arn: 'c', reason: DISTINCT_INSTANCE_UNSATISFIED }, { arn: 'd', reason: DISTINCT_INSTANCE_UNSATISFIED },
    ]);
  });

  it('memberOf on attributes, built-in and custom, all of them binding', () => {
    const cluster = [
      instance('t3-prod', { attrs: { 'ecs.instance-type': 't3.large', stack: 'prod' } }),
      instance('t3-dev', { attrs: { 'ecs.instance-type': 't3.large', stack: 'dev' } }),
      instance('m5-prod', { attrs: { 'ecs.instance-type': 'm5.large', stack: 'prod' } }),
    ];
    const constraints = [{ type: 'memberOf', expression: 'attribute:ecs.instance-type =~ t3.*' }, { type: 'memberOf', expression: 'attribute:stack == prod' }];
    const r = place(cluster, request({ constraints }), 2, seededRng(9));
    assert.deepEqual(arns(r), ['t3-prod', 't3-prod']);
    // Once the one member is full, the others still refuse for the constraint.
    const full = place(cluster, request({ constraints, demand: { cpu: 0, memory: 8192, tcpPorts: [], udpPorts: [] } }), 2, seededRng(9));
    assert.deepEqual(arns(full), ['t3-prod']);
    assert.deepEqual(full.failures, [
      { arn: 't3-prod', reason: 'RESOURCE:MEMORY' }, { arn: 't3-dev', reason: MEMBER_OF_UNSATISFIED }, { arn: 'm5-prod', reason: MEMBER_OF_UNSATISFIED },
    ]);
  });

  it('memberOf with task:group places next to another group, and sees the tasks it places', () => {
    const cluster = [instance('with-db', { tasks: { 'service:db': 1 } }), instance('alone')];
    assert.deepEqual(arns(place(cluster, request({ constraints: [{ type: 'memberOf', expression: 'task:group == service:db' }] }), 3, seededRng(10))),
      ['with-db', 'with-db', 'with-db']);
    // Not next to its own group: after one copy the instance no longer qualifies.
    const r = place(cluster, request({ constraints: [{ type: 'memberOf', expression: 'not(task:group == service:web)' }] }), 3, seededRng(10));
    assert.deepEqual(arns(r).sort(), ['alone', 'with-db']);
    assert.deepEqual(r.failures.map((f) => f.reason), [MEMBER_OF_UNSATISFIED, MEMBER_OF_UNSATISFIED]);
  });

  it('memberOf on runningTasksCount counts the copies placed so far', () => {
    const r = place([instance('a', { tasks: { 'service:db': 1 } })], request({ constraints: [{ type: 'memberOf', expression: 'runningTasksCount < 3' }] }), 5, seededRng(11));
    assert.equal(r.placements.length, 2);
    assert.deepEqual(r.failures, [{ arn: 'a', reason: MEMBER_OF_UNSATISFIED }]);
  });

  it('an invalid strategy or constraint throws InvalidParameterException and places nothing', () => {
    assert.throws(() => place([instance('a')], request({ strategy: [{ type: 'binpack', field: 'disk' }] }), 1, seededRng(1)), InvalidParameterException);
    assert.throws(() => place([instance('a')], request({ constraints: [{ type: 'memberOf', expression: 'attribute:x ==' }] }), 1, seededRng(1)), InvalidParameterException);
  });
});

describe('failures', () => {
  it('are checked in ECS order: state, agent, CPU, memory, ports, then the constraints', () => {
    const cluster = [
      instance('inactive', { status: 'INACTIVE', cpu: 0 }), instance('agent', { agentConnected: false, cpu: 0 }),
      instance('cpu', { cpu: 100, memory: 0 }), instance('memory', { memory: 100, tcpPortsInUse: new Set([80]) }),
      instance('ports', { tcpPortsInUse: new Set([80]), attrs: { stack: 'dev' } }), instance('member', { attrs: { stack: 'dev' } }),
      instance('distinct', { attrs: { stack: 'prod' }, tasks: { 'service:web': 1 } }),
    ];
    const r = place(cluster, request({
      demand: { cpu: 128, memory: 256, tcpPorts: [80], udpPorts: [] },
      constraints: [{ type: 'memberOf', expression: 'attribute:stack == prod' }, { type: 'distinctInstance' }],
    }), 1, seededRng(12));
    assert.deepEqual(r.placements, []);
    assert.deepEqual(r.failures.map((f) => f.reason), [
      'INACTIVE', 'AGENT', 'RESOURCE:CPU', 'RESOURCE:MEMORY', 'RESOURCE:PORTS', MEMBER_OF_UNSATISFIED, DISTINCT_INSTANCE_UNSATISFIED,
    ]);
  });

  it('report the state after the copies already placed, and keep those placements', () => {
    const r = place([instance('a', { memory: 600 }), instance('b', { memory: 300 })], request(), 5, seededRng(13));
    assert.deepEqual(arns(r).sort(), ['a', 'a', 'b']);
    assert.deepEqual(r.failures, [{ arn: 'a', reason: 'RESOURCE:MEMORY' }, { arn: 'b', reason: 'RESOURCE:MEMORY' }]);
  });

  it('no instances: nothing placed, no failures', () => {
    assert.deepEqual(place([], request(), 1, seededRng(1)), { placements: [], failures: [] });
  });
});

describe('host ports', () => {
  const dynamic = (tcp: number, udp = 0): TaskDemand => ({ cpu: 0, memory: 1, tcpPorts: [], udpPorts: [], dynamicTcpPorts: tcp, dynamicUdpPorts: udp });

  it('hostPort 0 gets free ports of the dynamic range (49153-65535 by default), from a random one on', () => {
    const r = place([instance('a', { tcpPortsInUse: new Set([22, 49153, 49155]) })], request({ demand: dynamic(2, 1) }), 40, seededRng(14));
    assert.equal(r.placements.length, 40);
    const tcp = r.placements.flatMap((p) => p.tcpHostPorts);
    const udp = r.placements.flatMap((p) => p.udpHostPorts);
    assert.equal(new Set(tcp).size, 80, 'no tcp port given twice');
    assert.equal(new Set(udp).size, 40, 'no udp port given twice');
    assert.ok([...tcp, ...udp].every((p) => p >= 49153 && p <= 65535));
    assert.ok(!tcp.includes(49153) && !tcp.includes(49155), 'ports in use are skipped');
    // Spread over the range, not packed at its start: a port held outside Wharf fails one start, not every retry.
    assert.ok(Math.max(...tcp) - Math.min(...tcp) > 1000, `${Math.min(...tcp)}..${Math.max(...tcp)}`);
  });

  it('picks the free ports from the start port on, wrapping around the end of the range', () => {
    const out: number[] = [];
    pickPorts({ first: 100, last: 104 }, new Set([104, 100]), new Set([101]), 2, out, 103);
    assert.deepEqual(out, [103, 102]);
  });

  it('an instance whose dynamic range is used up refuses with RESOURCE:PORTS; static ports in the range count', () => {
    const range = { first: 50000, last: 50003 };
    const cluster = [instance('a', { dynamicPortRange: range, tcpPortsInUse: new Set([50001]) })];
    const r = place(cluster, request({ demand: { ...dynamic(1), tcpPorts: [50000] } }), 2, seededRng(15));
    // 50000 is the static port, 50001 in use: 50002 for the first copy; the second copy needs 50000 again.
    assert.deepEqual(r.placements, [{ containerInstanceArn: 'a', tcpHostPorts: [50002], udpHostPorts: [] }]);
    assert.deepEqual(r.failures, [{ arn: 'a', reason: 'RESOURCE:PORTS' }]);
    const onlyDynamic = place(cluster, request({ demand: dynamic(2) }), 3, seededRng(15));
    assert.deepEqual(onlyDynamic.placements.map((p) => p.tcpHostPorts), [[50000, 50002]]);
    assert.deepEqual(onlyDynamic.failures, [{ arn: 'a', reason: 'RESOURCE:PORTS' }]);
  });

  it('refusal and take account for dynamic ports too', () => {
    const range = { first: 50000, last: 50001 };
    const inst = capacity('a', { dynamicPortRange: range, tcpPortsInUse: new Set([50000]) });
    assert.equal(refusal(inst, dynamic(1)), undefined);
    assert.equal(refusal(inst, dynamic(2)), 'RESOURCE:PORTS');
    const after = take(inst, dynamic(1), { tcpHostPorts: [50001], udpHostPorts: [] });
    assert.deepEqual([...after.tcpPortsInUse].sort(), [50000, 50001]);
    assert.equal(refusal(after, dynamic(1)), 'RESOURCE:PORTS');
  });

  it('a commit re-checks the very dynamic ports it was given on the instance as it is now', () => {
    const [decided] = place([instance('a')], request({ demand: dynamic(1, 1) }), 1, seededRng(18)).placements;
    const [tcp] = decided!.tcpHostPorts;
    const [udp] = decided!.udpHostPorts;
    assert.equal(refusal(capacity('a'), dynamic(1, 1), decided), undefined);
    // Meanwhile another placement took its tcp (or udp) port on that instance: this one must be placed again.
    assert.equal(refusal(capacity('a', { tcpPortsInUse: new Set([tcp!]) }), dynamic(1, 1), decided), 'RESOURCE:PORTS');
    assert.equal(refusal(capacity('a', { udpPortsInUse: new Set([udp!]) }), dynamic(1, 1), decided), 'RESOURCE:PORTS');
  });
});

describe('consistency', () => {
  it('does not modify the snapshot it is given', () => {
    const cluster = [instance('a', { tasks: { 'service:web': 1 } })];
    const before = JSON.stringify(cluster, (_, v: unknown) => (v instanceof Set || v instanceof Map ? [...v] : v));
    place(cluster, request({ demand: { cpu: 1, memory: 1, tcpPorts: [80], udpPorts: [], dynamicTcpPorts: 1 } }), 1, seededRng(1));
    assert.equal(JSON.stringify(cluster, (_, v: unknown) => (v instanceof Set || v instanceof Map ? [...v] : v)), before);
  });

  it('regression: consecutive placements never share a static port or exceed an instance\'s capacity', () => {
    const rng = seededRng(16);
    const registered = new Map<string, { cpu: number; memory: number }>();
    let snapshot: PlacementInstance[] = Array.from({ length: 6 }, (_, i) => {
      const inst = instance(`i${i}`, { zone: 'abc'[i % 3]!, cpu: 1024 * (1 + (i % 2)), memory: 2048 * (1 + (i % 3)) });
      registered.set(inst.containerInstanceArn, { cpu: inst.cpu, memory: inst.memory });
      return inst;
    });
    const used = new Map<string, { cpu: number; memory: number; tcp: Set<number> }>();
    for (let n = 0; n < 60; n++) {
      const req = request({
        group: `service:s${n % 4}`,
        demand: { cpu: 128 * (1 + (n % 3)), memory: 256 * (1 + (n % 4)), tcpPorts: n % 5 === 0 ? [8080] : [], udpPorts: [], dynamicTcpPorts: n % 2 },
        strategy: [[{ type: 'spread', field: 'attribute:ecs.availability-zone' }, { type: 'binpack', field: 'memory' }], [{ type: 'binpack', field: 'cpu' }], []][n % 3]!,
      });
      const outcome = place(snapshot, req, 1 + (n % 3), rng);
      // The caller's commit: take() on each chosen instance, then the next request sees it.
      for (const p of outcome.placements) {
        const i = snapshot.findIndex((s) => s.containerInstanceArn === p.containerInstanceArn);
        const u = used.get(p.containerInstanceArn) ?? { cpu: 0, memory: 0, tcp: new Set<number>() };
        u.cpu += req.demand.cpu;
        u.memory += req.demand.memory;
        for (const port of [...req.demand.tcpPorts, ...p.tcpHostPorts]) {
          assert.ok(!u.tcp.has(port), `port ${port} given twice on ${p.containerInstanceArn}`);
          u.tcp.add(port);
        }
        used.set(p.containerInstanceArn, u);
        const taken = take(snapshot[i]!, req.demand, p);
        snapshot = snapshot.map((s, j) => (j === i ? { ...s, ...taken, tasksByGroup: new Map([...s.tasksByGroup, [req.group, (s.tasksByGroup.get(req.group) ?? 0) + 1]]) } : s));
      }
    }
    for (const [arn, u] of used) {
      const r = registered.get(arn)!;
      assert.ok(u.cpu <= r.cpu && u.memory <= r.memory, `${arn} over-committed: ${u.cpu}/${r.cpu} CPU, ${u.memory}/${r.memory} MiB`);
    }
    assert.ok([...used.values()].some((u) => u.tcp.has(8080)), 'the static port was placed at least once');
  });

  it('regression: a kept PlacementCluster never gives a static port or capacity twice across requests', () => {
    const view = new PlacementCluster([instance('a', { memory: 1000 }), instance('b', { memory: 1000 })]);
    const web = request({ demand: { cpu: 0, memory: 400, tcpPorts: [80], udpPorts: [] } });
    const worker = request({ group: 'service:worker', demand: { cpu: 0, memory: 400, tcpPorts: [], udpPorts: [] } });
    const chosen: string[] = [];
    for (let n = 0; n < 2; n++) {
      // The port column is built on the first request and must follow each apply.
      const r = view.place(web, 1, seededRng(n));
      chosen.push(...arns(r));
      view.apply(web, r.placements);
    }
    assert.deepEqual(chosen.sort(), ['a', 'b']);
    assert.deepEqual(view.place(web, 1, seededRng(3)).failures.map((f) => f.reason), ['RESOURCE:PORTS', 'RESOURCE:PORTS']);
    const first = view.place(worker, 2, seededRng(4));
    assert.equal(first.placements.length, 2);
    view.apply(worker, first.placements);
    assert.deepEqual(view.place(worker, 1, seededRng(5)).failures.map((f) => f.reason), ['RESOURCE:MEMORY', 'RESOURCE:MEMORY']);
    // A placement on an instance the view does not hold changes nothing.
    view.apply(worker, [{ containerInstanceArn: 'elsewhere', tcpHostPorts: [], udpHostPorts: [] }]);
    assert.deepEqual(view.instances.map((i) => i.memory), [200, 200]);
  });

  it('a kept PlacementCluster told each commit places as a fresh snapshot would', () => {
    const build = () => Array.from({ length: 9 }, (_, i) => instance(`i${i}`, { zone: 'abc'[i % 3]!, memory: 1024 * (1 + (i % 4)), attrs: { stack: i % 4 ? 'prod' : 'dev' } }));
    const requests = Array.from({ length: 12 }, (_, n) => request({
      group: `service:s${n % 3}`,
      demand: { cpu: 64, memory: 128 * (1 + (n % 3)), tcpPorts: n === 5 ? [80] : [], udpPorts: [], dynamicTcpPorts: 1 },
      strategy: [{ type: 'spread', field: 'attribute:ecs.availability-zone' }, { type: 'spread', field: 'instanceId' }, { type: 'binpack', field: 'memory' }],
      constraints: [{ type: 'memberOf', expression: n % 2 ? 'attribute:stack == prod' : 'not(task:group == service:s0)' }],
    }));
    const view = new PlacementCluster(build());
    const viewRng = seededRng(17);
    let snapshot = build();
    const snapshotRng = seededRng(17);
    for (const req of requests) {
      const fromView = view.place(req, 3, viewRng);
      view.apply(req, fromView.placements);
      const fromSnapshot = place(snapshot, req, 3, snapshotRng);
      assert.deepEqual(fromView, fromSnapshot);
      snapshot = [...new PlacementCluster(snapshot).instances];
      const next = new PlacementCluster(snapshot);
      next.apply(req, fromSnapshot.placements);
      snapshot = [...next.instances];
    }
    assert.deepEqual(view.instances.map((i) => [i.cpu, i.memory, [...i.tcpPortsInUse], [...i.tasksByGroup]]),
      snapshot.map((i) => [i.cpu, i.memory, [...i.tcpPortsInUse], [...i.tasksByGroup]]));
  });
});
