/**
 * Footprint: resident memory (VmRSS) of the idle server and agent processes that `wharf up` starts,
 * on a fresh data directory with the local Docker Engine.
 *
 *   node dist/bench/footprint.js           (BENCH_IDLE_MS, BENCH_SAMPLE_MS to change the 10 s / 5 s)
 *
 * Targets: server <= 150 MB, agent <= 60 MB, read strictly as MB = 10^6 bytes (MiB are shown
 * beside them). Prints figures, never fails on them.
 */
import { spawn } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import {
  childProcesses, formatRatio, freePort, printTable, privateBytes, progress, residentBytes, runBenchmark, sleep, terminate,
  waitForOutput,
} from './lib/index.js';
import type { Cell } from './lib/index.js';

const WHARF_JS = fileURLToPath(new URL('../src/bin/wharf.js', import.meta.url));
const IDLE_MS = Number(process.env['BENCH_IDLE_MS'] ?? 10_000);
const SAMPLE_MS = Number(process.env['BENCH_SAMPLE_MS'] ?? 5_000);
const SAMPLES = 5;
/** `wharf up` may have to start dockerd first; with Docker already running it takes about a second. */
const UP_TIMEOUT_MS = 90_000;
const MB = 1_000_000;
const MIB = 1_048_576;
const TARGETS_MB = { server: 150, agent: 60 } as const;

type Role = keyof typeof TARGETS_MB;

/**
 * The reference: an idle node process with nothing loaded, on the same binary. Node's own floor, so
 * the reader sees how much of each figure is Wharf's.
 */
const BARE_NODE_SCRIPT = 'setInterval(() => {}, 60_000)';

runBenchmark('footprint', async (defer) => {
  const dataDir = mkdtempSync(join(tmpdir(), 'wharf-bench-footprint-'));
  defer(() => rmSync(dataDir, { recursive: true, force: true }));
  const port = await freePort();
  progress(`starting wharf up on port ${port}, and an idle bare node process`);
  const bare = spawn(process.execPath, ['-e', BARE_NODE_SCRIPT], { stdio: 'ignore' });
  defer(() => terminate(bare, 'SIGKILL'));
  const up = spawn(process.execPath, [WHARF_JS, 'up', '--data-dir', dataDir, '--port', String(port)], { stdio: ['ignore', 'pipe', 'inherit'] });
  defer(async () => {
    // `wharf up` stops its server and agent on SIGTERM; if it has to be killed, its children would
    // be orphaned, so those found before the SIGTERM are killed too when still there.
    const left = up.pid === undefined ? [] : childProcesses(up.pid).map((c) => c.pid);
    await terminate(up, 'SIGTERM', 15_000);
    for (const pid of left) killIfAlive(pid);
  });
  await waitForOutput(up, /Wharf is up\./, UP_TIMEOUT_MS);
  progress(`idling ${IDLE_MS / 1000} s`);
  await sleep(IDLE_MS);

  const pids = { ...findChildren(up.pid!), bare: bare.pid! };
  const names = ['server', 'agent', 'bare'] as const;
  const maxRss = { server: 0, agent: 0, bare: 0 };
  const maxPrivate = { server: 0, agent: 0, bare: 0 };
  for (let i = 0; i < SAMPLES; i++) {
    for (const name of names) {
      const rss = residentBytes(pids[name]);
      if (rss === undefined) {
        throw new Error(`the ${name} process (pid ${pids[name]}) is gone${name === 'bare' ? '' : `; see ${join(dataDir, `${name}.log`)}`}`);
      }
      maxRss[name] = Math.max(maxRss[name], rss);
      maxPrivate[name] = Math.max(maxPrivate[name], privateBytes(pids[name]) ?? Number.NaN);
    }
    if (i < SAMPLES - 1) await sleep(SAMPLE_MS / (SAMPLES - 1));
  }
  const row = (label: string, name: (typeof names)[number], target: number | undefined): Cell[] => [
    label, maxRss[name] / MB, maxRss[name] / MIB, maxPrivate[name] / MB,
    name === 'bare' ? '' : formatRatio(maxRss[name] / maxRss.bare),
    target === undefined ? '(none)' : `<= ${target}`,
    target === undefined ? '' : `${Math.round((100 * maxRss[name]) / MB / target)}%`,
  ];
  printTable(`Idle memory after wharf up (max of ${SAMPLES} samples over ${SAMPLE_MS / 1000} s, after ${IDLE_MS / 1000} s idle)`,
    ['process', 'RSS MB', 'RSS MiB', 'private MB', 'vs bare node', 'target RSS MB', 'of target'],
    [
      row(`wharf server (pid ${pids.server})`, 'server', TARGETS_MB.server),
      row(`wharf agent (pid ${pids.agent})`, 'agent', TARGETS_MB.agent),
      row('reference: bare idle node', 'bare', undefined),
    ]);
  process.stdout.write('MB = 10^6 bytes. RSS includes the node binary\'s code pages, which all node processes share;\n"private" is what the process alone holds.\n');
});

/** The server and agent among the children of `wharf up`, told apart by their sub-command (`node wharf.js <role>`). */
function findChildren(upPid: number): Record<Role, number> {
  const children = childProcesses(upPid);
  const find = (role: Role) => {
    const child = children.find((c) => c.cmdline[2] === role);
    if (!child) throw new Error(`no wharf ${role} among the children of wharf up (pid ${upPid}): ${JSON.stringify(children)}`);
    return child.pid;
  };
  return { server: find('server'), agent: find('agent') };
}

function killIfAlive(pid: number): void {
  try {
    process.kill(pid, 'SIGKILL');
  } catch {
    // Already gone: the normal case after a clean SIGTERM.
  }
}
