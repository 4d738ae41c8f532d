/**
 * The Linux plumbing under the instance-hosts harness (instance-hosts.ts): named network
 * namespaces joined by veth pairs to one bridge in the root namespace, the processes that live in a
 * namespace, the mounts and cgroups a dockerd leaves, and removing all of it, for this run or for
 * runs that crashed before they could clean up.
 *
 * Everything a run creates carries its run id (six hex digits) in its name, so runs on one machine
 * never touch each other's pieces:
 *
 * | piece | name |
 * | --- | --- |
 * | run directory (data and exec roots, sockets, logs) | `/var/lib/wharf-hosts/<run>/` with an `owner` file |
 * | bridge (root namespace) | `whb<run>` |
 * | veth, root side / namespace side | `whv<run>h<i>` / `eth0` |
 * | network namespace | `wharf-<run>-h<i>` (`/run/netns/...`) |
 * | dockerd cgroup parent | `/wharf-<run>-h<i>` |
 * | FORWARD rule letting the hosts reach each other | comment `wharf-hosts-<run>` |
 *
 * A run is live while the process named in its `owner` file (pid and start time) runs; anything
 * whose run is not live is a leftover and `sweepStaleRuns()` removes it.
 */
import { execFile } from 'node:child_process';
import { createHash } from 'node:crypto';
import { existsSync, mkdirSync, readdirSync, readFileSync, renameSync, rmdirSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { rm } from 'node:fs/promises';
import { join } from 'node:path';

/** Where every run keeps its files. Not under /tmp: dockerd's overlay2 needs a filesystem with d_type, and tmp cleaners must not eat a live run. */
export const HOSTS_DIR = '/var/lib/wharf-hosts';
const NETNS_DIR = '/run/netns';
const CGROUP_ROOT = '/sys/fs/cgroup';
/** Where containerd shims (v2) put their sockets, whatever containerd's own state directory is. */
const SHIM_SOCKET_DIR = '/run/containerd/s';
/** Every external command is bounded: a hung `ip` or `umount` fails the harness instead of the CI job. */
const COMMAND_TIMEOUT_MS = 30_000;

/** The names of one run's pieces (see the table above). */
export function runNames(runId: string) {
  return {
    runDir: join(HOSTS_DIR, runId),
    bridge: `whb${runId}`,
    veth: (index: number) => `whv${runId}h${index}`,
    netns: (index: number) => `wharf-${runId}-h${index}`,
    cgroupParent: (index: number) => `/wharf-${runId}-h${index}`,
    firewallComment: `wharf-hosts-${runId}`,
  };
}

/** Runs a command; resolves with its stdout, rejects with its stderr in the message. */
export function command(file: string, args: readonly string[], timeoutMs = COMMAND_TIMEOUT_MS): Promise<string> {
  return new Promise((resolve, reject) => {
    execFile(file, args, { timeout: timeoutMs, maxBuffer: 64 * 1024 * 1024 }, (err, stdout, stderr) => {
      if (err) reject(new Error(`${file} ${args.join(' ')} failed: ${stderr.trim() || err.message}`));
      else resolve(stdout);
    });
  });
}

/** Like command(), for clean-up steps whose target may already be gone: failures are ignored. */
async function commandIfAny(file: string, args: readonly string[]): Promise<void> {
  await command(file, args).catch(() => undefined);
}

/** Creates the run directory and claims it for this process; the first thing a run does. */
export function claimRun(runId: string): string {
  const { runDir } = runNames(runId);
  // Written aside and renamed, so a concurrent sweep never sees this run's directory without its owner.
  const claiming = `${runDir}.claim`;
  mkdirSync(claiming, { recursive: true });
  writeFileSync(join(claiming, 'owner'), `${process.pid} ${processStartTime(process.pid)}\n`);
  renameSync(claiming, runDir);
  return runDir;
}

/** A /24 in 10.64.0.0/10 that no address or route of the root namespace overlaps; answers `10.a.b`. */
export async function chooseSubnet(): Promise<string> {
  return pickSubnet(await command('ip', ['-4', '-o', 'route', 'show', 'table', 'all']), Math.random);
}

/**
 * A /24 in 10.64.0.0/10 that overlaps none of the routes in `routes` (`ip -4 -o route show table
 * all` output), drawn with `random`; answers `10.a.b`. Pure.
 */
export function pickSubnet(routes: string, random: () => number): string {
  const taken = routes
    // `10.1.2.0/24 dev ...`, or with a route type first (`local 10.1.2.1 ...`); `default via` holds no prefix.
    .split('\n').map((line) => /^(?:[a-z]+\s+)?(\d+\.\d+\.\d+\.\d+)(?:\/(\d+))?/.exec(line))
    .filter((m): m is RegExpExecArray => m !== null)
    .map((m) => ({ network: ipv4ToInt(m[1]!), bits: Number(m[2] ?? 32) }));
  for (let attempt = 0; attempt < 1000; attempt++) {
    const a = 64 + Math.floor(random() * 64);
    const b = Math.floor(random() * 256);
    const candidate = ipv4ToInt(`10.${a}.${b}.0`);
    const clash = taken.some(({ network, bits }) => {
      const common = Math.min(bits, 24);
      const mask = common === 0 ? 0 : (0xffffffff << (32 - common)) >>> 0;
      return ((network & mask) >>> 0) === ((candidate & mask) >>> 0);
    });
    if (!clash) return `10.${a}.${b}`;
  }
  throw new Error('no free /24 in 10.64.0.0/10 for the hosts bridge');
}

function ipv4ToInt(address: string): number {
  return address.split('.').reduce((n, part) => ((n << 8) | Number(part)) >>> 0, 0);
}

/**
 * The bridge `whb<run>` with `<subnet>.1/24`, and, when the root namespace filters bridged traffic
 * (br_netfilter with a FORWARD policy of DROP, as Docker sets it), a FORWARD rule that lets the
 * hosts of this bridge reach each other.
 */
export async function createBridge(runId: string, subnet: string): Promise<string> {
  const { bridge, firewallComment } = runNames(runId);
  const address = `${subnet}.1`;
  await command('ip', ['link', 'add', bridge, 'type', 'bridge']);
  await command('ip', ['addr', 'add', `${address}/24`, 'dev', bridge]);
  await command('ip', ['link', 'set', bridge, 'up']);
  if (await hasIptables()) {
    await command('iptables', ['-w', '-I', 'FORWARD', '-i', bridge, '-o', bridge, '-m', 'comment', '--comment', firewallComment, '-j', 'ACCEPT']);
  }
  return address;
}

async function hasIptables(): Promise<boolean> {
  return command('iptables', ['-w', '-S', 'FORWARD']).then(() => true, () => false);
}

/** The namespace `wharf-<run>-h<i>`, its eth0 at `address`/24 on the bridge, loopback up, default route via the bridge. */
export async function createHostNamespace(runId: string, index: number, address: string, gateway: string): Promise<void> {
  const names = runNames(runId);
  const netns = names.netns(index);
  await command('ip', ['netns', 'add', netns]);
  await command('ip', ['link', 'add', names.veth(index), 'type', 'veth', 'peer', 'name', 'eth0', 'netns', netns]);
  await command('ip', ['link', 'set', names.veth(index), 'master', names.bridge, 'up']);
  await command('ip', ['-n', netns, 'addr', 'add', `${address}/24`, 'dev', 'eth0']);
  await command('ip', ['-n', netns, 'link', 'set', 'eth0', 'up']);
  await command('ip', ['-n', netns, 'link', 'set', 'lo', 'up']);
  await command('ip', ['-n', netns, 'route', 'add', 'default', 'via', gateway]);
}

/** Sets the root side of a host's veth down (`up` false) or up: its link to everyone is cut or restored. */
export async function setLink(runId: string, index: number, up: boolean): Promise<void> {
  await command('ip', ['link', 'set', runNames(runId).veth(index), up ? 'up' : 'down']);
}

/** Pids of the processes in the named namespace (dockerd, containerd, shims, agents) and all their descendants (task containers). */
export function processesOfNamespace(netns: string): number[] {
  let nsInode: number;
  try {
    nsInode = statSync(join(NETNS_DIR, netns)).ino;
  } catch {
    return [];
  }
  return withDescendants((pid) => statSync(`/proc/${pid}/ns/net`).ino === nsInode);
}

/**
 * Pids of a run's processes and their descendants: those in its namespaces, and those whose command
 * line names its directory (its server, and its dockerds and shims should their namespace be gone).
 */
function processesOfRun(runId: string): number[] {
  const { runDir } = runNames(runId);
  const inodes = new Set<number>();
  if (existsSync(NETNS_DIR)) {
    for (const netns of readdirSync(NETNS_DIR).filter((n) => n.startsWith(`wharf-${runId}-`))) {
      try { inodes.add(statSync(join(NETNS_DIR, netns)).ino); } catch { /* deleted meanwhile */ }
    }
  }
  return withDescendants((pid) => {
    if (pid === process.pid) return false;
    if (inodes.has(statSync(`/proc/${pid}/ns/net`).ino)) return true;
    const args = readFileSync(`/proc/${pid}/cmdline`, 'utf8').split('\0');
    return args.some((a) => a === runDir || a.startsWith(`${runDir}/`) || a.includes(`=${runDir}/`));
  });
}

/** Live processes that pass `test` (one that throws, a process that ended meanwhile, does not) with all their descendants. */
function withDescendants(test: (pid: number) => boolean): number[] {
  const parents = new Map<number, number>();
  const members = new Set<number>();
  for (const entry of readdirSync('/proc')) {
    if (!/^\d+$/.test(entry)) continue;
    const pid = Number(entry);
    const stat = readProcStat(pid);
    if (!stat || stat.state === 'Z') continue;
    parents.set(pid, stat.ppid);
    try {
      if (test(pid)) members.add(pid);
    } catch {
      // The process ended while we looked.
    }
  }
  // Task containers have their own namespaces, but are children of the host's shims.
  for (let grew = true; grew;) {
    grew = false;
    for (const [pid, ppid] of parents) {
      if (!members.has(pid) && members.has(ppid)) { members.add(pid); grew = true; }
    }
  }
  return [...members];
}

/** SIGKILLs the pids and waits (bounded) until none of them runs any more. */
export async function killProcesses(pids: readonly number[], timeoutMs = 10_000): Promise<void> {
  const starts = new Map(pids.map((pid) => [pid, readProcStat(pid)?.startTime]));
  for (const pid of pids) {
    try { process.kill(pid, 'SIGKILL'); } catch { /* already gone */ }
  }
  const deadline = Date.now() + timeoutMs;
  const alive = () => pids.filter((pid) => {
    const stat = readProcStat(pid);
    return stat !== undefined && stat.state !== 'Z' && stat.startTime === starts.get(pid);
  });
  while (alive().length > 0) {
    if (Date.now() > deadline) throw new Error(`processes still running after SIGKILL: ${alive().join(', ')}`);
    await new Promise((r) => setTimeout(r, 20));
  }
}

interface ProcStat { ppid: number; state: string; startTime: string }

function readProcStat(pid: number): ProcStat | undefined {
  try {
    const text = readFileSync(`/proc/${pid}/stat`, 'utf8');
    // Fields after the command name, which may itself hold spaces and parentheses.
    const fields = text.slice(text.lastIndexOf(')') + 2).split(' ');
    return { state: fields[0]!, ppid: Number(fields[1]), startTime: fields[19]! };
  } catch {
    return undefined;
  }
}

/** True while the process runs (exists and is not a zombie). */
export function isLive(pid: number): boolean {
  const state = readProcStat(pid)?.state;
  return state !== undefined && state !== 'Z';
}

/** The parent pid of a running process, undefined when it is gone. */
export function parentOf(pid: number): number | undefined {
  return readProcStat(pid)?.ppid;
}

function processStartTime(pid: number): string {
  return readProcStat(pid)?.startTime ?? '';
}

/** True when the process that claimed the run (owner file) still runs. */
function runIsLive(runId: string): boolean {
  const { runDir } = runNames(runId);
  return [runDir, `${runDir}.claim`].some((dir) => {
    try {
      const [pid, startTime] = readFileSync(join(dir, 'owner'), 'utf8').trim().split(' ');
      const stat = readProcStat(Number(pid));
      return stat !== undefined && stat.state !== 'Z' && stat.startTime === startTime;
    } catch {
      return false;
    }
  });
}

/**
 * Removes every piece of a run that exists: kills the processes of its namespaces (and their
 * containers), unmounts what its dockerds mounted, deletes namespaces, veths, bridge, FORWARD rule
 * and cgroups, then the run directory. Tries every step; throws one error naming all that failed.
 */
export async function destroyRun(runId: string): Promise<void> {
  const names = runNames(runId);
  const failures: string[] = [];
  const step = async (what: string, fn: () => Promise<unknown>) => {
    try { await fn(); } catch (err) { failures.push(`${what}: ${err instanceof Error ? err.message : String(err)}`); }
  };
  const namespaces = existsSync(NETNS_DIR) ? readdirSync(NETNS_DIR).filter((n) => n.startsWith(`wharf-${runId}-`)) : [];
  await step('kill processes', () => killProcesses(processesOfRun(runId)));
  await step('unmount', () => unmountUnder(names.runDir));
  for (const netns of namespaces) await step(`delete ${netns}`, () => command('ip', ['netns', 'delete', netns]));
  for (const link of await linksOfRun(runId)) await commandIfAny('ip', ['link', 'delete', link]);
  await step('firewall', () => removeFirewallRules(names.firewallComment));
  await step('cgroups', async () => removeCgroups(`wharf-${runId}-`));
  await step('shim sockets', async () => removeShimSockets(names.runDir));
  await step('run directory', async () => {
    await rm(names.runDir, { recursive: true, force: true });
    await rm(`${names.runDir}.claim`, { recursive: true, force: true });
  });
  if (failures.length > 0) throw new Error(`cleaning up hosts run ${runId}: ${failures.join('; ')}`);
}

async function linksOfRun(runId: string): Promise<string[]> {
  return (await listLinks()).filter((name) => name === `whb${runId}` || name.startsWith(`whv${runId}h`));
}

async function listLinks(): Promise<string[]> {
  return (await command('ip', ['-o', 'link', 'show'])).split('\n')
    .map((line) => /^\d+:\s+([^:@\s]+)/.exec(line)?.[1]).filter((n): n is string => n !== undefined);
}

/**
 * A killed containerd shim leaves its socket in the machine-wide `/run/containerd/s/`, named by
 * containerd (1.5+) as sha256 of `<containerd address>/<namespace>/<container id>`. Removes those of
 * the run's containers (each dockerd's `containers/` directory lists them; namespace `moby`).
 */
function removeShimSockets(runDir: string): void {
  let hostDirs: string[];
  try { hostDirs = readdirSync(runDir).filter((e) => /^h\d+$/.test(e)); } catch { return; }
  for (const hostDir of hostDirs) {
    const address = join(runDir, hostDir, 'exec', 'containerd', 'containerd.sock');
    let ids: string[];
    try { ids = readdirSync(join(runDir, hostDir, 'data', 'containers')); } catch { continue; }
    for (const id of ids) {
      const socket = join(SHIM_SOCKET_DIR, createHash('sha256').update(`${address}/moby/${id}`).digest('hex'));
      rmSync(socket, { force: true });
    }
  }
}

/** Lazily unmounts every mount point at or below `dir`, deepest first (overlay2 layers, netns files, dockerd's bind mount of its data root). */
export async function unmountUnder(dir: string): Promise<void> {
  const points = readFileSync('/proc/self/mountinfo', 'utf8').split('\n')
    .map((line) => line.split(' ')[4])
    .filter((p): p is string => p !== undefined)
    .map((p) => p.replace(/\\([0-7]{3})/g, (_, octal: string) => String.fromCharCode(parseInt(octal, 8))))
    .filter((p) => p === dir || p.startsWith(`${dir}/`))
    .sort((a, b) => b.length - a.length);
  for (const point of new Set(points)) await commandIfAny('umount', ['-l', point]);
  const left = readFileSync('/proc/self/mountinfo', 'utf8').split('\n').filter((line) => line.split(' ')[4]?.startsWith(`${dir}/`));
  if (left.length > 0) throw new Error(`still mounted under ${dir}: ${left.length}`);
}

async function removeFirewallRules(comment: string): Promise<void> {
  if (!(await hasIptables())) return;
  const rules = (await command('iptables', ['-w', '-S', 'FORWARD'])).split('\n').filter((r) => r.includes(`--comment ${comment}`) || r.includes(`--comment "${comment}"`));
  for (const rule of rules) {
    await command('iptables', ['-w', ...splitRule(rule.replace(/^-A /, '-D '))]);
  }
}

/** Splits an `iptables -S` line into arguments (quoted comments stay one argument). */
function splitRule(rule: string): string[] {
  return [...rule.matchAll(/"([^"]*)"|(\S+)/g)].map((m) => m[1] ?? m[2]!);
}

/** Removes the cgroups (every v1 hierarchy, or the v2 tree) whose top-level name starts with `prefix`, deepest first. */
function removeCgroups(prefix: string): void {
  if (!existsSync(CGROUP_ROOT)) return;
  const roots = [CGROUP_ROOT, ...readdirSync(CGROUP_ROOT).map((h) => join(CGROUP_ROOT, h))];
  for (const root of roots) {
    let entries: string[];
    try { entries = readdirSync(root); } catch { continue; }
    for (const name of entries.filter((e) => e.startsWith(prefix))) removeCgroupTree(join(root, name));
  }
}

function removeCgroupTree(dir: string): void {
  let entries;
  try { entries = readdirSync(dir, { withFileTypes: true }); } catch { return; }
  for (const e of entries) if (e.isDirectory()) removeCgroupTree(join(dir, e.name));
  rmdirSync(dir);
}

/**
 * Removes the leftovers of every run whose owner is gone: run directories, namespaces, links,
 * FORWARD rules and cgroups, found by their names. Live runs (other test files, other worktrees)
 * are left alone.
 */
export async function sweepStaleRuns(): Promise<string[]> {
  const ids = new Set<string>();
  if (existsSync(HOSTS_DIR)) for (const e of readdirSync(HOSTS_DIR)) { const m = /^([0-9a-f]{6})(\.claim)?$/.exec(e); if (m) ids.add(m[1]!); }
  if (existsSync(NETNS_DIR)) for (const e of readdirSync(NETNS_DIR)) { const m = /^wharf-([0-9a-f]{6})-h\d+$/.exec(e); if (m) ids.add(m[1]!); }
  for (const link of await listLinks()) { const m = /^wh[bv]([0-9a-f]{6})/.exec(link); if (m) ids.add(m[1]!); }
  if (await hasIptables()) {
    for (const m of (await command('iptables', ['-w', '-S', 'FORWARD'])).matchAll(/wharf-hosts-([0-9a-f]{6})/g)) ids.add(m[1]!);
  }
  if (existsSync(CGROUP_ROOT)) {
    for (const root of [CGROUP_ROOT, ...readdirSync(CGROUP_ROOT).map((h) => join(CGROUP_ROOT, h))]) {
      let entries: string[] = [];
      try { entries = readdirSync(root); } catch { /* not a directory */ }
      for (const e of entries) { const m = /^wharf-([0-9a-f]{6})-h\d+$/.exec(e); if (m) ids.add(m[1]!); }
    }
  }
  const stale = [...ids].filter((id) => !runIsLive(id));
  for (const id of stale) await destroyRun(id);
  return stale;
}
