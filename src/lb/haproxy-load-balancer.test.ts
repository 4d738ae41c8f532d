/**
 * The data plane against a real HAProxy and real HTTP targets on loopback: targets through the
 * runtime API, health states, reloads that drop nothing, rules with hostile values, crashes.
 */
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { createServer, request, Agent, type Server } from 'node:http';
import { createConnection, createServer as createNetServer, type AddressInfo } from 'node:net';
import { once } from 'node:events';
import { freeLoopbackPort as freePort, pollUntil as until } from '../testkit/polling.js';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { spawn } from 'node:child_process';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { LoadBalancerConfig, TargetGroupConfig } from './config.js';
import { backendName } from './haproxy-config.js';
import { HaproxyLoadBalancer } from './haproxy-load-balancer.js';
import { sendCommand } from './runtime-socket.js';
import type { TargetHealth } from './target-health.js';

interface Backend { name: string; port: number; server: Server; healthStatus: number; requests: number }

async function startBackend(name: string): Promise<Backend> {
  const backend: Backend = { name, port: 0, server: createServer(), healthStatus: 200, requests: 0 };
  backend.server.on('request', (req, res) => {
    if (req.url === '/health') {
      res.writeHead(backend.healthStatus).end();
      return;
    }
    backend.requests += 1;
    const slow = req.url?.startsWith('/slow');
    const answer = () => res.writeHead(200, { 'content-type': 'text/plain' }).end(`${name} ${req.url}`);
    if (slow) setTimeout(answer, 1500);
    else answer();
  });
  await new Promise<void>((resolve) => backend.server.listen(0, '127.0.0.1', resolve));
  backend.port = (backend.server.address() as AddressInfo).port;
  return backend;
}

function get(port: number, path: string, headers: Record<string, string> = {}, agent?: Agent): Promise<{ status: number; body: string; headers: Record<string, unknown> }> {
  return new Promise((resolve, reject) => {
    const req = request({ host: '127.0.0.1', port, path, headers, agent: agent ?? false, timeout: 10_000 }, (res) => {
      let body = '';
      res.setEncoding('utf8').on('data', (c: string) => { body += c; }).on('end', () => resolve({ status: res.statusCode ?? 0, body, headers: res.headers }));
    });
    req.on('timeout', () => req.destroy(new Error('timeout')));
    req.on('error', (err: Error & { reused?: boolean }) => {
      err.reused = req.reusedSocket && (err as NodeJS.ErrnoException).code === 'ECONNRESET';
      reject(err);
    });
    req.end();
  });
}

/**
 * One HTTP/1.1 connection kept open between requests, spoken raw so a test controls exactly when
 * it is idle (an Agent may open a new connection at will).
 */
async function openKeepAlive(port: number): Promise<{ get(path: string): Promise<{ status: number; head: string }>; close(): void }> {
  const socket = createConnection({ host: '127.0.0.1', port });
  await once(socket, 'connect');
  let received = Buffer.alloc(0);
  let waiter: (() => void) | undefined;
  socket.on('data', (chunk: Buffer) => { received = Buffer.concat([received, chunk]); waiter?.(); });
  socket.on('close', () => waiter?.());
  socket.on('error', () => undefined);
  const answer = async (): Promise<{ status: number; head: string }> => {
    for (;;) {
      const headEnd = received.indexOf('\r\n\r\n');
      if (headEnd >= 0) {
        const head = received.subarray(0, headEnd).toString('latin1').replaceAll('\r\n', '\n');
        const bodyStart = headEnd + 4;
        // The targets answer chunked, or with a Content-Length (HAProxy's own responses).
        const bodyEnd = /^transfer-encoding:\s*chunked$/im.test(head)
          ? received.indexOf('\r\n0\r\n\r\n', bodyStart - 2) + 7
          : bodyStart + Number(/^content-length:\s*(\d+)$/im.exec(head)?.[1] ?? 0);
        if (bodyEnd >= bodyStart && received.length >= bodyEnd) {
          received = received.subarray(bodyEnd);
          return { status: Number(head.split(' ')[1]), head };
        }
      }
      if (socket.destroyed || socket.readableEnded) throw new Error('the connection closed without an answer');
      await new Promise<void>((resolve) => { waiter = resolve; });
    }
  };
  return {
    get(path) {
      socket.write(`GET ${path} HTTP/1.1\r\nHost: lb\r\n\r\n`);
      return answer();
    },
    close: () => socket.destroy(),
  };
}

function group(id: string, backends: Backend[], overrides: Partial<TargetGroupConfig> = {}): TargetGroupConfig {
  return {
    targetGroupId: id, algorithm: 'round_robin', slowStartSeconds: 0,
    healthCheck: { protocol: 'HTTP', port: 'traffic-port', path: '/health', intervalSeconds: 0.2, timeoutSeconds: 1, healthyThreshold: 2, unhealthyThreshold: 2, matcher: '200' },
    targets: backends.map((b) => ({ targetId: `${b.name}:${b.port}`, address: '127.0.0.1', port: b.port, draining: false })),
    ...overrides,
  };
}

function forwardConfig(port: number, groups: TargetGroupConfig[]): LoadBalancerConfig {
  return {
    type: 'application', idleTimeoutSeconds: 60,
    listeners: [{ port, protocol: 'HTTP', rules: [], defaultAction: { type: 'forward', targetGroups: [{ targetGroupId: groups[0]!.targetGroupId, weight: 1 }] } }],
    targetGroups: groups,
  };
}

async function healthOf(lb: HaproxyLoadBalancer, groupId: string): Promise<Record<string, TargetHealth>> {
  return Object.fromEntries((await lb.targetHealth()).get(groupId) ?? []);
}

async function allHealthy(lb: HaproxyLoadBalancer, groupId: string, count: number) {
  return until(`${count} healthy targets`, async () => {
    const health = Object.values(await healthOf(lb, groupId));
    return health.length === count && health.every((h) => h.State === 'healthy') ? true : undefined;
  });
}

/** The `show stat` status of each server of a group's backend, by server name (slots and their fail-open twins). */
async function serverStatus(dir: string, groupId: string): Promise<Record<string, string>> {
  const [header, ...rows] = (await sendCommand(join(dir, 'runtime.sock'), 'show stat -1 4 -1', 5000)).trim().split('\n');
  const columns = header!.replace(/^# /, '').split(',');
  const at = (name: string) => columns.indexOf(name);
  return Object.fromEntries(rows.map((r) => r.split(',')).filter((f) => f[at('pxname')] === backendName(groupId)).map((f) => [f[at('svname')], f[at('status')]]));
}

/** Which backends answer `count` requests, by name, each answer required to be a 200. */
async function answeredBy(port: number, count: number): Promise<Map<string, number>> {
  const names = new Map<string, number>();
  for (let i = 0; i < count; i++) {
    const res = await get(port, '/');
    assert.equal(res.status, 200, res.body);
    const name = res.body.split(' ')[0]!;
    names.set(name, (names.get(name) ?? 0) + 1);
  }
  return names;
}

/**
 * Targets that take a slot but are never healthy, never served: loopback addresses from 127.0.0.2
 * up, where nobody listens on `port` (the test targets listen on 127.0.0.1).
 */
function deadTargets(count: number, port: number): TargetGroupConfig['targets'] {
  return Array.from({ length: count }, (_, i) => ({ targetId: `dead${i}`, address: `127.0.0.${i + 2}`, port, draining: false }));
}

/** The pids of the master's current workers. */
async function workers(dir: string): Promise<number[]> {
  const text = await sendCommand(join(dir, 'master.sock'), 'show proc', 5000);
  return [...text.matchAll(/^(\d+)\s+worker/gm)].map((m) => Number(m[1]));
}

async function reloads(dir: string): Promise<number> {
  const text = await sendCommand(join(dir, 'master.sock'), 'show proc', 5000);
  return Number(/master\s+(\d+)/.exec(text)?.[1]);
}

describe('HaproxyLoadBalancer', () => {
  const backends: Backend[] = [];
  const dataPlanes: HaproxyLoadBalancer[] = [];
  let root = '';
  const log = (entry: Record<string, unknown>) => { if (process.env['WHARF_TEST_VERBOSE']) process.stderr.write(JSON.stringify(entry) + '\n'); };
  const newDataPlane = (name: string) => {
    const lb = new HaproxyLoadBalancer({ dir: join(root, name), bindAddress: '127.0.0.1', threads: 1, log });
    dataPlanes.push(lb);
    return lb;
  };

  /** A data plane of a test's own, its directory, and the id of its target group. */
  const newTestPlane = (name: string) => ({ lb: newDataPlane(name), dir: join(root, name), id: `arn:tg/${name}` });
  /** The first `count` of a pool of targets shared by the tests that outgrow a group's slots (`o0`, `o1`, ...). */
  const pool: Backend[] = [];
  const manyBackends = async (count: number) => {
    while (pool.length < count) {
      const backend = await startBackend(`o${pool.length}`);
      backends.push(backend);
      pool.push(backend);
    }
    return pool.slice(0, count);
  };

  before(async () => {
    root = mkdtempSync(join(tmpdir(), 'wharf-lb-'));
    for (const name of ['a', 'b', 'c']) backends.push(await startBackend(name));
  });
  /** HAProxies a test leaves without an owner, killed at the end whatever happens. */
  const orphans: number[] = [];
  after(async () => {
    for (const pid of orphans) {
      try {
        process.kill(pid, 'SIGKILL');
      } catch { /* gone */ }
    }
    for (const lb of dataPlanes) lb.destroy();
    for (const b of backends) b.server.close();
    rmSync(root, { recursive: true, force: true });
  });

  it('serves targets once healthy, and adds, drains and removes them without a reload', async () => {
    const [a, b, c] = backends as [Backend, Backend, Backend];
    const port = await freePort();
    const lb = newDataPlane('targets');
    const tg = group('arn:tg/web', [a, b]);
    await lb.start(forwardConfig(port, [tg]));
    await allHealthy(lb, 'arn:tg/web', 2);
    const seen = new Set<string>();
    for (let i = 0; i < 6; i++) seen.add((await get(port, '/')).body.split(' ')[0]!);
    assert.deepEqual([...seen].sort(), ['a', 'b']);
    const reloadsBefore = await reloads(join(root, 'targets'));

    // Add c, drain a, then remove a: all through the runtime API.
    const withC = { ...tg, targets: [...tg.targets, { targetId: `c:${c.port}`, address: '127.0.0.1', port: c.port, draining: false }] };
    assert.equal((await lb.apply(forwardConfig(port, [withC]))).reloaded, false);
    assert.equal((await healthOf(lb, 'arn:tg/web'))[`c:${c.port}`]?.State, 'initial');
    await allHealthy(lb, 'arn:tg/web', 3);
    const draining = { ...withC, targets: withC.targets.map((t) => (t.targetId.startsWith('a:') ? { ...t, draining: true } : t)) };
    assert.equal((await lb.apply(forwardConfig(port, [draining]))).reloaded, false);
    assert.deepEqual((await healthOf(lb, 'arn:tg/web'))[`a:${a.port}`], { State: 'draining', Reason: 'Target.DeregistrationInProgress', Description: 'Target deregistration is in progress' });
    const aBefore = a.requests;
    for (let i = 0; i < 6; i++) assert.notEqual((await get(port, '/')).body.split(' ')[0], 'a');
    assert.equal(a.requests, aBefore);
    const removed = { ...withC, targets: withC.targets.filter((t) => !t.targetId.startsWith('a:')) };
    assert.equal((await lb.apply(forwardConfig(port, [removed]))).reloaded, false);
    assert.deepEqual(Object.keys(await healthOf(lb, 'arn:tg/web')).sort(), [`b:${b.port}`, `c:${c.port}`]);
    assert.equal(await reloads(join(root, 'targets')), reloadsBefore);
    await lb.close();
  });

  it('reuses connections to targets, in configured slots and in slots added at run time, and a slot given to a new target reaches only it (regression: servers added with add server never reused a connection)', async () => {
    const [a, b, c] = backends as [Backend, Backend, Backend];
    const port = await freePort();
    const dir = 'reuse';
    const lb = newDataPlane(dir);
    const tg = group('arn:tg/reuse', [a]);
    await lb.start(forwardConfig(port, [tg]));
    await allHealthy(lb, 'arn:tg/reuse', 1);
    const agent = new Agent({ keepAlive: true, maxSockets: 1 });
    /** A slot's backend connections: opened, and reused (`show stat`'s `connect` and `reuse`). */
    const connections = async (slot: string) => {
      const stat = await sendCommand(join(root, dir, 'runtime.sock'), 'show stat -1 4 -1', 5000);
      const [header, ...rows] = stat.trim().split('\n');
      const columns = header!.replace(/^# /, '').split(',');
      const row = rows.map((r) => r.split(',')).find((f) => f[columns.indexOf('svname')] === slot)!;
      return { opened: Number(row[columns.indexOf('connect')]), reused: Number(row[columns.indexOf('reuse')]) };
    };
    for (let i = 0; i < 20; i++) assert.match((await get(port, '/', {}, agent)).body, /^a /);
    assert.ok((await connections('slot0')).reused > 0, 'no backend connection was reused');
    // a leaves slot 0, b takes it: every request goes to b, none over a's old connections.
    await lb.apply(forwardConfig(port, [{ ...tg, targets: group('x', [b]).targets }]));
    await allHealthy(lb, 'arn:tg/reuse', 1);
    for (let i = 0; i < 10; i++) assert.match((await get(port, '/', {}, agent)).body, /^b /);

    // A slot added at run time reuses its connections too: b and 15 targets that never pass a check
    // fill the 16 slots, a gets slot 16.
    const dead = deadTargets(15, a.port);
    const overflow = { ...tg, targets: [...group('x', [b]).targets, ...dead, ...group('x', [a]).targets] };
    assert.deepEqual(await lb.apply(forwardConfig(port, [overflow])), { reloaded: false, targetErrors: [] });
    await until('a healthy', async () => ((await healthOf(lb, 'arn:tg/reuse'))[`a:${a.port}`]?.State === 'healthy' ? true : undefined));
    const before = await connections('slot16');
    for (let i = 0; i < 20; i++) assert.match((await get(port, '/', {}, agent)).body, /^[ab] /);
    const after = await connections('slot16');
    assert.ok(after.reused > before.reused, `slot16 reused no connection: ${JSON.stringify({ before, after })}`);
    // ...and a new target there reaches only it.
    await lb.apply(forwardConfig(port, [{ ...overflow, targets: overflow.targets.filter((t) => t.targetId !== `a:${a.port}`) }]));
    await lb.apply(forwardConfig(port, [{ ...overflow, targets: [...overflow.targets.slice(0, 16), ...group('x', [c]).targets] }]));
    await until('c healthy', async () => ((await healthOf(lb, 'arn:tg/reuse'))[`c:${c.port}`]?.State === 'healthy' ? true : undefined));
    for (let i = 0; i < 10; i++) assert.match((await get(port, '/', {}, agent)).body, /^[bc] /);
    assert.equal((await lb.observe()).traffic.groups.get('arn:tg/reuse')!.size, 17);
    agent.destroy();
    await lb.close();
  });

  it('gives a group that outgrows its slots more at run time without a reload; they serve, fail open, are reused after shrinking, and a reload keeps them', async () => {
    const many = await manyBackends(40);
    const port = await freePort();
    const { lb, dir, id } = newTestPlane('overflow');
    const served = async (count: number) => [...(await answeredBy(port, count)).keys()].sort();
    const names = (n: number) => many.slice(0, n).map((b) => b.name).sort();
    const grown = forwardConfig(port, [group(id, many)]);
    await lb.start(forwardConfig(port, [group(id, many.slice(0, 16))]));
    await allHealthy(lb, id, 16);
    const { generation } = (await lb.observe()).traffic;
    const [workersBefore, reloadsBefore] = [await workers(dir), await reloads(dir)];

    // 16 slots, 40 targets: 24 slots and their twins are added, each target fills one.
    assert.deepEqual(await lb.apply(grown), { reloaded: false, targetErrors: [] });
    await allHealthy(lb, id, 40);
    assert.deepEqual(await served(120), names(40));
    // The same worker serves: no reload, no new worker, counters not restarted.
    assert.equal((await lb.observe()).traffic.generation, generation);
    assert.deepEqual([await workers(dir), await reloads(dir)], [workersBefore, reloadsBefore]);
    assert.equal(Object.keys(await serverStatus(dir, id)).length, 80);
    assert.ok((await lb.observe()).traffic.groups.get(id)!.get('slot39')!.requests > 0, 'slot39 counted nothing');

    // The added slots are checked as configured ones (`option httpchk`), and their twins fail open.
    for (const b of many) b.healthStatus = 503;
    try {
      await until('every target unhealthy', async () => {
        const health = Object.values(await healthOf(lb, id));
        return health.length === 40 && health.every((h) => h.State === 'unhealthy' && h.Reason === 'Target.ResponseCodeMismatch') ? true : undefined;
      });
      assert.deepEqual(await served(120), names(40));
    } finally {
      for (const b of many) b.healthStatus = 200;
    }
    await allHealthy(lb, id, 40);

    // Shrinking frees the added slots (they stay, in maintenance); growing again fills them: no server is added.
    assert.deepEqual(await lb.apply(forwardConfig(port, [group(id, many.slice(0, 10))])), { reloaded: false, targetErrors: [] });
    const shrunk = await serverStatus(dir, id);
    assert.deepEqual([Object.keys(shrunk).length, shrunk['slot39'], shrunk['failopen39']], [80, 'MAINT', 'MAINT']);
    assert.deepEqual(await served(30), names(10));
    assert.deepEqual(await lb.apply(grown), { reloaded: false, targetErrors: [] });
    await allHealthy(lb, id, 40);
    assert.equal(Object.keys(await serverStatus(dir, id)).length, 80);
    assert.deepEqual(await served(120), names(40));
    assert.deepEqual([await workers(dir), await reloads(dir)], [workersBefore, reloadsBefore]);

    // A reload for a rule renders the slots doubled (64), under the same names: the server-state
    // file carries the added ones over, healthy, their twins still ready (configured disabled).
    const withRule = forwardConfig(port, [group(id, many)]);
    withRule.listeners[0]!.rules = [{ priority: 1, conditions: [{ field: 'path-pattern', values: ['/rule'] }], action: { type: 'fixed-response', statusCode: 418 } }];
    assert.deepEqual(await lb.apply(withRule), { reloaded: true, targetErrors: [] });
    assert.equal((await lb.observe()).traffic.generation, generation + 1);
    assert.equal(readFileSync(join(dir, 'haproxy.cfg'), 'utf8').match(/^ {2}server slot\d+ /gm)?.length, 64);
    const reloaded = await serverStatus(dir, id);
    assert.equal(Object.keys(reloaded).length, 128);
    for (let i = 0; i < 40; i++) assert.deepEqual([reloaded[`slot${i}`], reloaded[`failopen${i}`]], ['UP', 'no check'], `slot ${i}`);
    assert.deepEqual(Object.values(await healthOf(lb, id)).map((h) => h.State), Array<string>(40).fill('healthy'));
    assert.deepEqual(await served(120), names(40));
    assert.equal((await get(port, '/rule')).status, 418);
    await lb.close();
  });

  it('restarts a crashed HAProxy with every target of a group that outgrew its slots, in slots it renders', async () => {
    const many = await manyBackends(20);
    const port = await freePort();
    const { lb, dir, id } = newTestPlane('overflow-crash');
    await lb.start(forwardConfig(port, [group(id, many.slice(0, 2))]));
    assert.deepEqual(await lb.apply(forwardConfig(port, [group(id, many)])), { reloaded: false, targetErrors: [] });
    await allHealthy(lb, id, 20);
    const [worker] = await workers(dir);
    process.kill(worker!, 'SIGKILL');
    await until('a restart', async () => (lb.starts === 2 ? true : undefined));
    await allHealthy(lb, id, 20);
    // It renders the listeners it last loaded with slots for the targets applied since.
    assert.equal(readFileSync(join(dir, 'haproxy.cfg'), 'utf8').match(/^ {2}server slot\d+ /gm)?.length, 32);
    assert.deepEqual([...(await answeredBy(port, 60)).keys()].sort(), many.map((b) => b.name).sort());
    await lb.close();
  });

  it('reports a target whose slot HAProxy refuses to add, leaves nothing half added, and adds it at the next apply', async () => {
    const [a] = backends as [Backend];
    const port = await freePort();
    const { lb, dir, id } = newTestPlane('overflow-refused');
    const runtime = join(dir, 'runtime.sock');
    // Targets never healthy fill the 16 slots.
    const dead = deadTargets(16, a.port);
    const full = { ...group(id, []), targets: dead };
    const grown = forwardConfig(port, [{ ...full, targets: [...dead, ...group(id, [a]).targets] }]);
    await lb.start(forwardConfig(port, [full]));
    // A server by the name of slot 16's twin, added behind Wharf's back: HAProxy refuses the twin.
    assert.match(await sendCommand(runtime, `add server ${backendName(id)}/failopen16 127.0.0.1:1`, 5000), /New server registered/);
    const refused = await lb.apply(grown);
    assert.equal(refused.reloaded, false);
    assert.deepEqual(refused.targetErrors.map((e) => [e.targetId, e.error.replace(/\s+/g, ' ')]),
      [[`a:${a.port}`, `HAProxy refused 'add server ${backendName(id)}/failopen16 0.0.0.0:0 disabled backup weight 100 pool-max-conn -1 pool-purge-delay 5000': Already exists a server with the same name in backend.`]]);
    assert.equal((await healthOf(lb, id))[`a:${a.port}`]?.Reason, 'Elb.RegistrationInProgress');
    // The slot added before the refusal was deleted again.
    assert.equal((await serverStatus(dir, id))['slot16'], undefined);
    assert.match(await sendCommand(runtime, `del server ${backendName(id)}/failopen16`, 5000), /Server deleted/);
    assert.deepEqual(await lb.apply(grown), { reloaded: false, targetErrors: [] });
    await until('a healthy', async () => ((await healthOf(lb, id))[`a:${a.port}`]?.State === 'healthy' ? true : undefined));
    assert.match((await get(port, '/')).body, /^a /);
    await lb.close();
  });

  it('adds slots at run time to a network load balancer\'s group too', async () => {
    const [a, b] = backends as [Backend, Backend];
    const port = await freePort();
    const { lb, id } = newTestPlane('overflow-tcp');
    // Targets never healthy fill the 16 slots; a and b get slots added at run time.
    const dead = deadTargets(16, a.port);
    const tg = { ...group(id, []), healthCheck: { ...group(id, []).healthCheck, protocol: 'TCP' as const }, targets: dead };
    const config = (targets: TargetGroupConfig['targets']): LoadBalancerConfig => ({
      type: 'network', idleTimeoutSeconds: 350,
      listeners: [{ port, protocol: 'TCP', rules: [], defaultAction: { type: 'forward', targetGroups: [{ targetGroupId: id, weight: 1 }] } }],
      targetGroups: [{ ...tg, targets }],
    });
    await lb.start(config(dead));
    assert.deepEqual(await lb.apply(config([...dead, ...group(id, [a, b]).targets])), { reloaded: false, targetErrors: [] });
    await until('a and b healthy', async () => {
      const health = await healthOf(lb, id);
      return health[`a:${a.port}`]?.State === 'healthy' && health[`b:${b.port}`]?.State === 'healthy' ? true : undefined;
    });
    assert.deepEqual([...(await answeredBy(port, 6)).keys()].sort(), ['a', 'b']);
    await lb.close();
  });

  it('gives a slot added at run time the group\'s check port and slow start', async () => {
    const many = await manyBackends(16);
    const x = await startBackend('px');
    const checks = await startBackend('checks');
    backends.push(x, checks);
    const port = await freePort();
    const { lb, id } = newTestPlane('overflow-port');
    // Checked on another port than the traffic port: x's own port answers /health with 200, `checks` decides.
    const tg = (members: Backend[]) => group(id, members, { slowStartSeconds: 1, healthCheck: { ...group(id, []).healthCheck, port: checks.port } });
    try {
      await lb.start(forwardConfig(port, [tg(many)]));
      assert.deepEqual(await lb.apply(forwardConfig(port, [tg([...many, x])])), { reloaded: false, targetErrors: [] });
      await allHealthy(lb, id, 17);
      assert.ok((await answeredBy(port, 51)).has('px'), 'the added slot served nothing');
      checks.healthStatus = 503;
      await until('x unhealthy on the check port', async () => ((await healthOf(lb, id))[`px:${x.port}`]?.Reason === 'Target.ResponseCodeMismatch' ? true : undefined));
    } finally {
      checks.healthStatus = 200;
    }
    await lb.close();
  });

  it('keeps a client on the target of a slot added at run time with stickiness, never on its fail-open twin', async () => {
    const members = [...(await manyBackends(15)), await startBackend('sx'), await startBackend('sy')];
    backends.push(...members.slice(15));
    const [x, y] = members.slice(15) as [Backend, Backend];
    const port = await freePort();
    const { lb, id } = newTestPlane('overflow-sticky');
    const health = () => healthOf(lb, id);
    const servedWith = async (cookie: string, count: number) => {
      const names = new Set<string>();
      for (let i = 0; i < count; i++) names.add((await get(port, '/', { cookie })).body.split(' ')[0]!);
      return [...names];
    };
    /** The cookie handed out with an answer from `backend` (round robin gets there within a few requests). */
    const cookieFrom = (backend: Backend) => until(`an answer from ${backend.name}`, async () => {
      const res = await get(port, '/');
      return res.body.startsWith(`${backend.name} `) ? /^(AWSALB=[^;]+);/.exec(String(res.headers['set-cookie']))?.[1] : undefined;
    });
    try {
      await lb.start(forwardConfig(port, [group(id, members.slice(0, 16), { stickinessSeconds: 600 })]));
      assert.deepEqual(await lb.apply(forwardConfig(port, [group(id, members, { stickinessSeconds: 600 })])), { reloaded: false, targetErrors: [] });
      await allHealthy(lb, id, 17);
      assert.deepEqual(await servedWith(await cookieFrom(y), 6), ['sy']);
      // Served by y's twin while no target is healthy; x healthy again (y still not): to x.
      for (const b of members) b.healthStatus = 503;
      await until('every target unhealthy', async () => (Object.values(await health()).every((h) => h.State === 'unhealthy') ? true : undefined));
      const failedOpen = await cookieFrom(y);
      x.healthStatus = 200;
      await until('x healthy', async () => ((await health())[`sx:${x.port}`]?.State === 'healthy' ? true : undefined));
      assert.deepEqual(await servedWith(failedOpen, 6), ['sx']);
    } finally {
      for (const b of members) b.healthStatus = 200;
    }
    await lb.close();
  });

  it('reports failing health checks with ELB reasons', async () => {
    const [a, b] = backends as [Backend, Backend];
    const port = await freePort();
    const lb = newDataPlane('health');
    const closedPort = await freePort();
    const tg = group('arn:tg/h', [a, b]);
    tg.targets.push({ targetId: 'closed', address: '127.0.0.1', port: closedPort, draining: false });
    await lb.start(forwardConfig(port, [tg]));
    const healthy = (backend: Backend) => until(`${backend.name} healthy`, async () => ((await healthOf(lb, 'arn:tg/h'))[`${backend.name}:${backend.port}`]?.State === 'healthy' ? true : undefined));
    try {
      await healthy(a);
      await healthy(b);
      const health = await until('the closed port unhealthy', async () => {
        const h = await healthOf(lb, 'arn:tg/h');
        return h['closed']?.State === 'unhealthy' ? h : undefined;
      });
      assert.equal(health['closed']?.Reason, 'Target.FailedHealthChecks');
      b.healthStatus = 503;
      const mismatch = await until('b unhealthy', async () => {
        const h = (await healthOf(lb, 'arn:tg/h'))[`b:${b.port}`];
        return h?.State === 'unhealthy' ? h : undefined;
      });
      assert.deepEqual(mismatch, { State: 'unhealthy', Reason: 'Target.ResponseCodeMismatch', Description: 'Health checks failed with these codes: [503]' });
      for (let i = 0; i < 4; i++) assert.match((await get(port, '/')).body, /^a /);
      b.healthStatus = 200;
      await healthy(b);
    } finally {
      b.healthStatus = 200;
      await lb.close();
    }
  });

  it('fails open when no target is healthy: every unhealthy one serves, still reported unhealthy; a healthy one takes it all back; a draining one gets none; reloads keep it', async () => {
    const [x, y] = [await startBackend('x'), await startBackend('y')];
    backends.push(x, y);
    x.healthStatus = 503;
    y.healthStatus = 503;
    const port = await freePort();
    const dir = join(root, 'failopen');
    const lb = newDataPlane('failopen');
    const id = 'arn:tg/failopen';
    const tg = group(id, [x, y]);
    const withRule = (config: LoadBalancerConfig, path: string) => {
      config.listeners[0]!.rules = [{ priority: 1, conditions: [{ field: 'path-pattern', values: [path] }], action: { type: 'fixed-response', statusCode: 418 } }];
      return config;
    };
    const mismatch: TargetHealth = { State: 'unhealthy', Reason: 'Target.ResponseCodeMismatch', Description: 'Health checks failed with these codes: [503]' };
    const unhealthy = (...which: Backend[]) => until(`${which.map((b) => b.name).join(', ')} unhealthy`, async () => {
      const health = await healthOf(lb, id);
      return which.every((b) => health[`${b.name}:${b.port}`]?.State === 'unhealthy') ? health : undefined;
    });
    await lb.start(forwardConfig(port, [tg]));
    assert.deepEqual(await unhealthy(x, y), { [`x:${x.port}`]: mismatch, [`y:${y.port}`]: mismatch });
    const slotRequests = async () => {
      const slots = (await lb.observe()).traffic.groups.get(id)!;
      assert.ok([...slots.keys()].every((name) => /^slot\d+$/.test(name)), `not only slots: ${[...slots.keys()].join(', ')}`);
      return [...slots.values()].reduce((sum, t) => sum + t.requests, 0);
    };
    const counted = await slotRequests();
    assert.deepEqual([...(await answeredBy(port, 8)).keys()].sort(), ['x', 'y']);
    // Failing open changes routing, not health; what the twins served counts under the targets' slots.
    assert.deepEqual(await healthOf(lb, id), { [`x:${x.port}`]: mismatch, [`y:${y.port}`]: mismatch });
    assert.equal(await slotRequests(), counted + 8);
    assert.deepEqual(await serverStatus(dir, id).then((s) => [s['slot0'], s['failopen0'], s['slot1'], s['failopen1'], s['failopen2']]), ['DOWN', 'no check', 'DOWN', 'no check', 'MAINT']);

    // A reload keeps the twins as they were.
    assert.equal((await lb.apply(withRule(forwardConfig(port, [tg]), '/one'))).reloaded, true);
    assert.deepEqual([...(await answeredBy(port, 8)).keys()].sort(), ['x', 'y']);

    // One healthy target: only it is served.
    y.healthStatus = 200;
    await until('y healthy', async () => ((await healthOf(lb, id))[`y:${y.port}`]?.State === 'healthy' ? true : undefined));
    const xBefore = x.requests;
    assert.deepEqual([...(await answeredBy(port, 8)).keys()], ['y']);
    assert.equal(x.requests, xBefore);

    // Failing open again, x draining: only y is served, before and after a reload.
    y.healthStatus = 503;
    await unhealthy(y);
    assert.deepEqual([...(await answeredBy(port, 8)).keys()].sort(), ['x', 'y']);
    const drainingX = { ...tg, targets: tg.targets.map((t) => (t.targetId.startsWith('x:') ? { ...t, draining: true } : t)) };
    assert.equal((await lb.apply(withRule(forwardConfig(port, [drainingX]), '/one'))).reloaded, false);
    // (HAProxy shows a draining server that is down as DOWN.)
    assert.deepEqual(await serverStatus(dir, id).then((s) => [s['slot0'], s['failopen0']]), ['DOWN', 'DRAIN']);
    const xDraining = x.requests;
    assert.deepEqual([...(await answeredBy(port, 8)).keys()], ['y']);
    assert.equal((await lb.apply(withRule(forwardConfig(port, [drainingX]), '/two'))).reloaded, true);
    assert.deepEqual([...(await answeredBy(port, 8)).keys()], ['y']);
    assert.equal(x.requests, xDraining);
    assert.equal((await healthOf(lb, id))[`x:${x.port}`]?.State, 'draining');

    // Deregistered: its slot and twin are emptied; with no target left the group answers 503.
    assert.equal((await lb.apply(withRule(forwardConfig(port, [{ ...tg, targets: drainingX.targets.filter((t) => !t.draining) }]), '/two'))).reloaded, false);
    assert.deepEqual(await serverStatus(dir, id).then((s) => [s['slot0'], s['failopen0']]), ['MAINT', 'MAINT']);
    assert.deepEqual([...(await answeredBy(port, 4)).keys()], ['y']);
    assert.equal((await lb.apply(withRule(forwardConfig(port, [{ ...tg, targets: [] }]), '/two'))).reloaded, false);
    assert.equal((await get(port, '/')).status, 503);
    await lb.close();
  });

  it('gives targets still in their initial health checks no fail-open traffic', async () => {
    const [u, i] = [await startBackend('u'), await startBackend('i')];
    backends.push(u, i);
    const port = await freePort();
    const lb = newDataPlane('initial');
    const id = 'arn:tg/initial';
    // A failing target stays `initial` until its unhealthy threshold of checks is due (here after
    // the 60 s check timeout), far longer than this test.
    const tg = group(id, [u], { healthCheck: { ...group('x', []).healthCheck, timeoutSeconds: 60 } });
    const health = () => healthOf(lb, id);
    u.healthStatus = 503;
    await lb.start(forwardConfig(port, [tg]));
    assert.equal((await get(port, '/')).status, 503);
    assert.equal((await health())[`u:${u.port}`]?.Reason, 'Elb.InitialHealthChecking');
    // u passes, then fails: judged unhealthy. i joins failing, so stays initial: only u is served.
    u.healthStatus = 200;
    await until('u healthy', async () => ((await health())[`u:${u.port}`]?.State === 'healthy' ? true : undefined));
    u.healthStatus = 503;
    await until('u unhealthy', async () => ((await health())[`u:${u.port}`]?.State === 'unhealthy' ? true : undefined));
    i.healthStatus = 503;
    const both = forwardConfig(port, [group(id, [u, i], { healthCheck: tg.healthCheck })]);
    await lb.apply(both);
    const iBefore = i.requests;
    assert.deepEqual([...(await answeredBy(port, 6)).keys()], ['u']);
    // Nor after a reload (the saved server state keeps i's twin in maintenance).
    both.listeners[0]!.rules = [{ priority: 1, conditions: [{ field: 'path-pattern', values: ['/x'] }], action: { type: 'fixed-response', statusCode: 418 } }];
    assert.equal((await lb.apply(both)).reloaded, true);
    assert.deepEqual([...(await answeredBy(port, 6)).keys()], ['u']);
    assert.equal(i.requests, iBefore);
    assert.equal((await health())[`i:${i.port}`]?.Reason, 'Elb.InitialHealthChecking');
    // Judged after the reload (healthy, then failing): both serve.
    i.healthStatus = 200;
    await until('i healthy', async () => ((await health())[`i:${i.port}`]?.State === 'healthy' ? true : undefined));
    i.healthStatus = 503;
    await until('i unhealthy', async () => ((await health())[`i:${i.port}`]?.State === 'unhealthy' ? true : undefined));
    assert.deepEqual([...(await answeredBy(port, 6)).keys()].sort(), ['i', 'u']);
    await lb.close();
  });

  it('fails open on a network load balancer too', async () => {
    const [a, b] = backends as [Backend, Backend];
    const port = await freePort();
    const lb = newDataPlane('tcp-failopen');
    const id = 'arn:tg/tcp-failopen';
    const tg = group(id, [a, b]);
    // Checked on a port nobody listens on: every target fails its checks, its traffic port serves.
    tg.healthCheck = { ...tg.healthCheck, protocol: 'TCP', port: await freePort() };
    await lb.start({
      type: 'network', idleTimeoutSeconds: 350,
      listeners: [{ port, protocol: 'TCP', rules: [], defaultAction: { type: 'forward', targetGroups: [{ targetGroupId: id, weight: 1 }] } }],
      targetGroups: [tg],
    });
    await until('both unhealthy', async () => {
      const health = Object.values(await healthOf(lb, id));
      return health.length === 2 && health.every((h) => h.State === 'unhealthy' && h.Reason === 'Target.FailedHealthChecks') ? true : undefined;
    });
    assert.deepEqual([...(await answeredBy(port, 6)).keys()].sort(), ['a', 'b']);
    await lb.close();
  });

  it('reloads for listener and rule changes without failing a request in flight, in a stream, or on an idle keep-alive connection', async () => {
    const [a, b] = backends as [Backend, Backend];
    const port = await freePort();
    const lb = newDataPlane('reload');
    const tg = group('arn:tg/r', [a, b]);
    await lb.start(forwardConfig(port, [tg]));
    await allHealthy(lb, 'arn:tg/r', 2);
    const agent = new Agent({ keepAlive: true, maxSockets: 4 });
    const failures: string[] = [];
    let requests = 0;
    let streaming = true;
    // No retries: a request on a reused connection must never meet a connection closed under it.
    const stream = async (keepAlive: boolean) => {
      while (streaming) {
        const res = await get(port, '/', {}, keepAlive ? agent : undefined).catch((err: Error) => ({ status: 0, body: err.message, headers: {} }));
        requests += 1;
        if (res.status !== 200) failures.push(`${keepAlive ? "keep-alive" : "new connection"}: ${res.status} ${res.body}`);
      }
    };
    const slow = get(port, '/slow', {}, undefined);
    const streams = [stream(true), stream(true), stream(false), stream(false)];
    // A connection left idle across every reload: the old worker keeps it open and answers its
    // next request (with `Connection: close`) instead of closing it while the client may be sending.
    const idle = await openKeepAlive(port);
    let reloadsBefore = 0;
    try {
      assert.equal((await idle.get('/')).status, 200);
      reloadsBefore = await reloads(join(root, 'reload'));
      for (let i = 0; i < 5; i++) {
        const config = forwardConfig(port, [tg]);
        config.listeners[0]!.rules = [{ priority: 1, conditions: [{ field: 'path-pattern', values: [`/rule-${i}`] }], action: { type: 'fixed-response', statusCode: 418 } }];
        assert.equal((await lb.apply(config)).reloaded, true);
        assert.equal((await get(port, `/rule-${i}`)).status, 418);
      }
      const afterReloads = await idle.get('/');
      assert.equal(afterReloads.status, 200, afterReloads.head);
      assert.match(afterReloads.head, /^connection: close$/im);
      assert.equal((await slow).status, 200);
    } finally {
      // The streams end whatever failed above, or the test would never end.
      streaming = false;
      idle.close();
      await Promise.all(streams);
      agent.destroy();
    }
    assert.equal(await reloads(join(root, 'reload')), reloadsBefore + 5);
    assert.ok(requests > 20, `only ${requests} requests`);
    assert.deepEqual(failures, []);
    // The targets kept their health across the reloads.
    assert.deepEqual(Object.values(await healthOf(lb, 'arn:tg/r')).map((h) => h.State), ['healthy', 'healthy']);
    await lb.close();
  });

  it('routes by rules whose values are hostile, exactly as written', async () => {
    const [a, b] = backends as [Backend, Backend];
    const port = await freePort();
    const lb = newDataPlane('rules');
    const config: LoadBalancerConfig = {
      type: 'application', idleTimeoutSeconds: 60,
      listeners: [{
        port, protocol: 'HTTP',
        rules: [
          { priority: 1, conditions: [{ field: 'path-pattern', values: ["/a'b\"c$HOME*"] }], action: { type: 'fixed-response', statusCode: 201, contentType: 'text/plain', messageBody: 'quoted\n"body" $HOME\nbackend x' } },
          { priority: 2, conditions: [{ field: 'http-header', headerName: 'X-Evil', values: ['v"; use_backend x #*'] }], action: { type: 'fixed-response', statusCode: 202 } },
          { priority: 3, conditions: [{ field: 'query-string', values: [{ key: 'k&', value: 'v?' }] }], action: { type: 'fixed-response', statusCode: 203 } },
          { priority: 4, conditions: [{ field: 'host-header', values: ['*.Example.com'] }, { field: 'path-pattern', values: ['/b/*'] }], action: { type: 'forward', targetGroups: [{ targetGroupId: 'arn:tg/b', weight: 1 }] } },
          { priority: 5, conditions: [{ field: 'path-pattern', values: ['/go/*'] }], action: { type: 'redirect', statusCode: 302, protocol: 'HTTPS', host: 'x.example.org', port: '8443', path: '/new/#{path}', query: '#{query}&from=%"1' } },
          { priority: 6, conditions: [{ field: 'path-pattern', values: ['*'] }], action: { type: 'fixed-response', statusCode: 404 } },
        ],
        defaultAction: { type: 'forward', targetGroups: [{ targetGroupId: 'arn:tg/a', weight: 1 }] },
      }],
      targetGroups: [group('arn:tg/a', [a]), group('arn:tg/b', [b])],
    };
    await lb.start(config);
    await allHealthy(lb, 'arn:tg/a', 1);
    await allHealthy(lb, 'arn:tg/b', 1);
    const fixed = await get(port, "/a'b%22c$HOMEx");
    assert.equal(fixed.status, 404, 'the path is matched raw, so %22 is not a quote');
    const literal = await get(port, "/a'b\"c$HOME/x");
    assert.equal(literal.status, 201);
    assert.equal(literal.body, 'quoted\n"body" $HOME\nbackend x');
    assert.equal((await get(port, '/', { 'x-evil': 'V"; USE_BACKEND x #anything' })).status, 202);
    assert.equal((await get(port, '/', { 'x-evil': 'v' })).status, 404);
    assert.equal((await get(port, '/q?a=1&k&=vX')).status, 203);
    assert.equal((await get(port, '/q?k&=vXY')).status, 404);
    assert.match((await get(port, '/b/1', { host: 'api.example.COM:80' })).body, /^b /);
    assert.equal((await get(port, '/b/1', { host: 'example.com' })).status, 404);
    const redirect = await get(port, '/go/there?x=1');
    assert.equal(redirect.status, 302);
    assert.equal(redirect.headers['location'], 'https://x.example.org:8443/new/go/there?x=1&from=%"1');
    await lb.close();
  });

  it('splits a weighted forward between its target groups', async () => {
    const [a, b] = backends as [Backend, Backend];
    const port = await freePort();
    const lb = newDataPlane('weighted');
    await lb.start({
      type: 'application', idleTimeoutSeconds: 60,
      listeners: [{ port, protocol: 'HTTP', rules: [], defaultAction: { type: 'forward', targetGroups: [{ targetGroupId: 'arn:tg/wa', weight: 1 }, { targetGroupId: 'arn:tg/wb', weight: 1 }, { targetGroupId: 'arn:tg/none', weight: 0 }] } }],
      targetGroups: [group('arn:tg/wa', [a]), group('arn:tg/wb', [b]), group('arn:tg/none', [])],
    });
    await allHealthy(lb, 'arn:tg/wa', 1);
    await allHealthy(lb, 'arn:tg/wb', 1);
    const counts = new Map<string, number>();
    for (let i = 0; i < 40; i++) {
      const name = (await get(port, '/')).body.split(' ')[0]!;
      counts.set(name, (counts.get(name) ?? 0) + 1);
    }
    // Each request picks at random; 40 requests all landing on one side of an even split has odds of 2^-39.
    assert.deepEqual([...counts.keys()].sort(), ['a', 'b']);
    await lb.close();
  });

  it('serves a network load balancer in mode tcp with TCP health checks', async () => {
    const [a, b] = backends as [Backend, Backend];
    const port = await freePort();
    const lb = newDataPlane('network');
    const tg = group('arn:tg/tcp', [a, b]);
    tg.healthCheck = { ...tg.healthCheck, protocol: 'TCP' };
    await lb.start({
      type: 'network', idleTimeoutSeconds: 350,
      listeners: [{ port, protocol: 'TCP', rules: [], defaultAction: { type: 'forward', targetGroups: [{ targetGroupId: 'arn:tg/tcp', weight: 1 }] } }],
      targetGroups: [tg],
    });
    await allHealthy(lb, 'arn:tg/tcp', 2);
    const seen = new Set<string>();
    for (let i = 0; i < 6; i++) seen.add((await get(port, '/')).body.split(' ')[0]!);
    assert.deepEqual([...seen].sort(), ['a', 'b']);
    await lb.close();
  });

  it('keeps a client on its target with the AWSALB cookie when stickiness is on', async () => {
    const [a, b] = backends as [Backend, Backend];
    const port = await freePort();
    const lb = newDataPlane('sticky');
    await lb.start(forwardConfig(port, [group('arn:tg/sticky', [a, b], { stickinessSeconds: 600 })]));
    await allHealthy(lb, 'arn:tg/sticky', 2);
    const first = await get(port, '/');
    const cookie = /^(AWSALB=[^;]+); Max-Age=600; Path=\//.exec(String(first.headers['set-cookie']))?.[1];
    assert.ok(cookie, `no AWSALB cookie in ${String(first.headers['set-cookie'])}`);
    const target = first.body.split(' ')[0];
    for (let i = 0; i < 6; i++) assert.equal((await get(port, '/', { cookie })).body.split(' ')[0], target);
    const unstuck = new Set<string>();
    for (let i = 0; i < 6; i++) unstuck.add((await get(port, '/')).body.split(' ')[0]!);
    assert.equal(unstuck.size, 2);
    await lb.close();
  });

  it('restarts a crashed HAProxy with its targets', async () => {
    const [a] = backends as [Backend];
    const port = await freePort();
    const lb = newDataPlane('crash');
    await lb.start(forwardConfig(port, [group('arn:tg/c', [a])]));
    await allHealthy(lb, 'arn:tg/c', 1);
    const proc = await sendCommand(join(root, 'crash', 'master.sock'), 'show proc', 5000);
    const worker = Number(/^(\d+)\s+worker/m.exec(proc)?.[1]);
    process.kill(worker, 'SIGKILL');
    await until('a restart', async () => (lb.starts === 2 ? true : undefined));
    await allHealthy(lb, 'arn:tg/c', 1);
    assert.match((await until('a served request', () => get(port, '/'))).body, /^a /);
    await lb.close();
  });

  it('stops the HAProxy a dead server process left behind before starting its own', async () => {
    const [a] = backends as [Backend];
    const port = await freePort();
    const dir = join(root, 'orphan');
    const config = forwardConfig(port, [group('arn:tg/o', [a])]);
    const script = `import { HaproxyLoadBalancer } from ${JSON.stringify(new URL('./index.js', import.meta.url).href)};
      const lb = new HaproxyLoadBalancer({ dir: ${JSON.stringify(dir)}, bindAddress: '127.0.0.1', threads: 1, log() {} });
      await lb.start(${JSON.stringify(config)});
      process.stdout.write('started\\n');
      setInterval(() => {}, 1000);`;
    const owner = spawn(process.execPath, ['--input-type=module', '-e', script], { stdio: ['ignore', 'pipe', 'inherit'] });
    await new Promise<void>((resolve, reject) => {
      owner.stdout.on('data', (d: Buffer) => { if (String(d).includes('started')) resolve(); });
      owner.once('exit', (code) => reject(new Error(`the owner exited (${code})`)));
    });
    const orphan = Number(readFileSync(join(dir, 'haproxy.pid'), 'utf8'));
    orphans.push(orphan);
    owner.kill('SIGKILL');
    await new Promise((resolve) => owner.once('exit', resolve));
    assert.doesNotThrow(() => process.kill(orphan, 0), 'HAProxy outlived its owner');
    const lb = newDataPlane('orphan');
    await lb.start(config);
    await until('the orphan gone', async () => { try { process.kill(orphan, 0); return undefined; } catch { return true; } });
    await allHealthy(lb, 'arn:tg/o', 1);
    assert.match((await get(port, '/')).body, /^a /);
    await lb.close();
  });

  it('reports a configuration HAProxy cannot load, keeps serving the previous one, and still applies target changes', async () => {
    const [a, b] = backends as [Backend, Backend];
    const port = await freePort();
    const busy = createNetServer();
    await new Promise<void>((resolve) => busy.listen(0, '127.0.0.1', resolve));
    const busyPort = (busy.address() as AddressInfo).port;
    try {
      const failing = newDataPlane('busy-start');
      await assert.rejects(failing.start(forwardConfig(busyPort, [group('arn:tg/x', [a])])), /HAProxy did not start: .*(bind|socket)/i);
      const lb = newDataPlane('busy-reload');
      await lb.start(forwardConfig(port, [group('arn:tg/x', [a])]));
      await allHealthy(lb, 'arn:tg/x', 1);
      const twoListeners = forwardConfig(port, [group('arn:tg/x', [b])]);
      twoListeners.listeners.push({ ...twoListeners.listeners[0]!, port: busyPort });
      const result = await lb.apply(twoListeners);
      assert.equal(result.reloaded, false);
      assert.match(result.refused ?? '', /HAProxy refused the new configuration|did not reload/);
      // a made way for b although the listener could not be added.
      await allHealthy(lb, 'arn:tg/x', 1);
      assert.match((await get(port, '/')).body, /^b /);
      // Asked again at once, it does not try again (nor reload): the same reason comes back.
      const again = await lb.apply(twoListeners);
      assert.deepEqual([again.reloaded, again.refused], [false, result.refused]);
      // Back to what HAProxy runs: accepted without a reload.
      assert.deepEqual(await lb.apply(forwardConfig(port, [group('arn:tg/x', [b])])), { reloaded: false, targetErrors: [] });
      await lb.close();
    } finally {
      busy.close();
    }
  });
});
