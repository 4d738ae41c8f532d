/**
 * Registry memory: resident memory of the `wharf server` process while skopeo pushes an image with
 * a single 1 GiB layer (random content) to its registry and pulls it back, sampled from
 * /proc/<pid>/status every 50 ms, with the kernel's own peak (VmHWM) read at the end. The CNCF
 * distribution registry (Debian `docker-registry`) does the same push and pull afterwards, for
 * comparison (it has no target).
 *
 *   node dist/bench/registry-memory.js     (BENCH_LAYER_MIB to change the 1024)
 *
 * Target: peak RSS of the Wharf server below 150 MB (MB = 10^6 bytes). Prints figures, never fails
 * on them.
 */
import { rm } from 'node:fs/promises';
import { join } from 'node:path';
import {
  checkPulledLayers, peakResidentBytes, printTable, progress, residentBytes, runBenchmark, startRegistryBench, timedPull, timedPush,
} from './lib/index.js';
import type { Cell } from './lib/index.js';

const LAYER_MIB = Number(process.env['BENCH_LAYER_MIB'] ?? 1024);
const SAMPLE_INTERVAL_MS = 50;
const TARGET_MB = 150;
const MB = 1_000_000;
const MIB = 1_048_576;

/** Highest sampled VmRSS of one process over one phase, and how many samples were taken. */
interface Peak {
  bytes: number;
  samples: number;
}

runBenchmark('registry-memory', async (defer) => {
  const { work, image, wharf, wharfRegistry, reference, runId, copies } = await startRegistryBench('registry-memory', defer, [LAYER_MIB * MIB]);

  const repository = `bench-memory-${runId}`;
  await wharfRegistry.createRepository(repository);
  const sides = [
    { label: `wharf server (pid ${wharf.server.pid})`, pid: wharf.server.pid!, host: wharfRegistry.host, credentials: wharfRegistry.credentials, target: TARGET_MB },
    { label: `reference: docker-registry (pid ${reference.process.pid})`, pid: reference.process.pid!, host: reference.host, credentials: undefined, target: undefined },
  ];
  const rows: Cell[][] = [];
  for (const side of sides) {
    const idle = residentBytes(side.pid);
    if (idle === undefined) throw new Error(`${side.label} is gone`);
    progress(`push to ${side.label}`);
    const push = await sampledPeak(side.pid, () => timedPush(image, side, repository, copies));
    progress(`pull from ${side.label}`);
    const destination = join(work, 'pull');
    const pull = await sampledPeak(side.pid, () => timedPull(side, repository, image.tag, destination, copies));
    checkPulledLayers(image, destination);
    await rm(destination, { recursive: true, force: true });
    const hwm = peakResidentBytes(side.pid);
    if (hwm === undefined) throw new Error(`${side.label} is gone`);
    const peak = Math.max(push.bytes, pull.bytes, hwm);
    rows.push([
      side.label, idle / MB, push.bytes / MB, pull.bytes / MB, hwm / MB,
      side.target === undefined ? '(none)' : `< ${side.target}`,
      side.target === undefined ? '' : `${Math.round((100 * peak) / MB / side.target)}%`,
      side.target === undefined ? '' : peak < side.target * MB ? 'yes' : 'NO',
    ]);
    progress(`${side.label}: ${push.samples} samples during the push, ${pull.samples} during the pull`);
  }
  printTable(`Server RSS while skopeo pushes then pulls one ${LAYER_MIB} MiB layer (sampled every ${SAMPLE_INTERVAL_MS} ms)`,
    ['process', 'idle MB', 'peak push MB', 'peak pull MB', 'VmHWM MB', 'target MB', 'of target', 'met'], rows);
  process.stdout.write('MB = 10^6 bytes. VmHWM is the kernel\'s peak RSS over the process\'s whole life (start-up included);\n'
    + '"of target" uses the highest of the three peaks.\n');
});

/** Runs `work` while sampling the VmRSS of `pid` every SAMPLE_INTERVAL_MS; resolves with the highest sample. */
async function sampledPeak(pid: number, work: () => Promise<unknown>): Promise<Peak> {
  const peak: Peak = { bytes: 0, samples: 0 };
  const sample = () => {
    const rss = residentBytes(pid);
    if (rss === undefined) return;
    peak.bytes = Math.max(peak.bytes, rss);
    peak.samples++;
  };
  sample();
  const timer = setInterval(sample, SAMPLE_INTERVAL_MS);
  try {
    await work();
  } finally {
    clearInterval(timer);
  }
  sample();
  if (peak.samples === 0) throw new Error(`process ${pid} is gone`);
  return peak;
}
