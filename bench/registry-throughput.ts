/**
 * Registry throughput: `skopeo copy` push and pull of an image of about 500 MB in six layers of
 * random content, to and from Wharf's registry and the CNCF distribution registry (Debian
 * `docker-registry`) on the same disk, in one run. Rounds alternate which registry goes first;
 * every push goes to a new repository (and skopeo has no memory of earlier pushes, see
 * lib/skopeo.ts), so every blob is really uploaded; every pull goes to a fresh directory.
 *
 *   node dist/bench/registry-throughput.js   (BENCH_ROUNDS, BENCH_IMAGE_MB to change the 7 / 500)
 *
 * Targets: MB/s(Wharf) / MB/s(reference) >= 1.0, for push and for pull (medians). Prints figures,
 * never fails on them.
 */
import { execFileSync } from 'node:child_process';
import { statSync } from 'node:fs';
import { rm } from 'node:fs/promises';
import { join } from 'node:path';
import {
  checkPulledLayers, cpuTimeMs, formatNumber, ioBytes, median, printTable, progress, runBenchmark, startRegistryBench, timedPull, timedPush,
} from './lib/index.js';
import type { Cell, OciImage, RegistryEndpoint } from './lib/index.js';

const ROUNDS = Number(process.env['BENCH_ROUNDS'] ?? 7);
const IMAGE_MB = Number(process.env['BENCH_IMAGE_MB'] ?? 500);
/** Share of the image in each layer, largest first; varied sizes, as real images have. */
const LAYER_SHARES = [0.32, 0.24, 0.18, 0.14, 0.08, 0.04];
const TARGET_RATIO = 1.0;
const MB = 1_000_000;
/**
 * A push that made the registry write less than this share of the image's bytes did not upload it
 * (the registry or the client skipped blobs); its figure would be meaningless.
 */
const MIN_WRITTEN_SHARE = 0.9;

/** One registry under test, as the rounds see it. */
interface Registry extends RegistryEndpoint {
  label: string;
  pid: number;
  createRepository(name: string): Promise<void>;
}

interface Sample {
  seconds: number;
  serverCpuMs: number;
  serverWrittenBytes: number;
}

runBenchmark('registry-throughput', async (defer) => {
  const layerContentBytes = LAYER_SHARES.map((share) => Math.round(share * IMAGE_MB * MB));
  const { work, image, wharf, wharfRegistry, reference, runId, copies } = await startRegistryBench('registry', defer, layerContentBytes);

  const registries: Registry[] = [
    { label: 'reference: docker-registry', host: reference.host, pid: reference.process.pid!, credentials: undefined, createRepository: async () => {} },
    { label: 'Wharf', host: wharfRegistry.host, pid: wharf.server.pid!, credentials: wharfRegistry.credentials, createRepository: (n) => wharfRegistry.createRepository(n) },
  ];
  const pushes = new Map<Registry, Sample[]>(registries.map((r) => [r, []]));
  const pulls = new Map<Registry, Sample[]>(registries.map((r) => [r, []]));

  for (let round = 0; round < ROUNDS; round++) {
    const order = round % 2 === 0 ? registries : [...registries].reverse();
    const repository = `bench-${runId}-${round}`;
    for (const registry of order) {
      progress(`round ${round + 1}/${ROUNDS}: push to ${registry.label}`);
      await registry.createRepository(repository);
      const sample = await measure(registry, () => timedPush(image, registry, repository, copies));
      if (sample.serverWrittenBytes < MIN_WRITTEN_SHARE * image.totalBytes) {
        throw new Error(`${registry.label} wrote only ${(sample.serverWrittenBytes / MB).toFixed(1)} MB during the push of ${(image.totalBytes / MB).toFixed(1)} MB: blobs were not uploaded`);
      }
      pushes.get(registry)!.push(sample);
    }
    for (const registry of order) {
      progress(`round ${round + 1}/${ROUNDS}: pull from ${registry.label}`);
      const destination = join(work, `pull-${round}-${registries.indexOf(registry)}`);
      try {
        pulls.get(registry)!.push(await measure(registry, () => timedPull(registry, repository, image.tag, destination, copies)));
        checkPulledLayers(image, destination);
      } finally {
        await rm(destination, { recursive: true, force: true });
      }
    }
  }

  const [referenceSide, wharfSide] = registries as [Registry, Registry];
  printResults(image, 'push', pushes, referenceSide, wharfSide, true);
  printResults(image, 'pull', pulls, referenceSide, wharfSide, false);
  const met = (r: number) => (r >= TARGET_RATIO ? 'yes' : 'NO');
  const ratioRow = (direction: string, samples: Map<Registry, Sample[]>): Cell[] => {
    const wharfSamples = samples.get(wharfSide)!;
    const referenceSamples = samples.get(referenceSide)!;
    const ratio = medianMBps(image, wharfSamples) / medianMBps(image, referenceSamples);
    // Round by round, Wharf's copy and the reference's ran back to back, so their quotient is
    // less exposed to the machine's load drifting during the run than the two medians are.
    const perRound = wharfSamples.map((w, i) => referenceSamples[i]!.seconds / w.seconds);
    return [
      direction, ratioText(ratio), `>= ${TARGET_RATIO.toFixed(1)}x`, met(ratio),
      ratioText(median(perRound)), `${ratioText(Math.min(...perRound))} - ${ratioText(Math.max(...perRound))}`,
    ];
  };
  printTable('Wharf / reference', ['direction', 'ratio of median MB/s', 'target', 'met', 'median per-round ratio', 'per-round range'], [
    ratioRow('push', pushes),
    ratioRow('pull', pulls),
  ]);
  process.stdout.write(`Image: ${(image.totalBytes / MB).toFixed(1)} MB in ${image.layers.length} layers `
    + `(${image.layers.map((l) => (l.size / MB).toFixed(0)).join(' + ')} MB, random content, gzip level 0). MB = 10^6 bytes.\n`
    + 'Times are whole skopeo commands (start to exit); MB/s = image bytes / time.\n');
});

/** Runs one timed copy and reads what the registry process spent on it meanwhile. */
async function measure(registry: Registry, copy: () => Promise<number>): Promise<Sample> {
  // The previous copy's dirty pages (a 500 MB push or pull) would otherwise be written back during
  // this one: flushed first, every copy starts from the same quiet disk.
  execFileSync('sync');
  const cpuBefore = cpuTimeMs(registry.pid);
  const ioBefore = ioBytes(registry.pid);
  const ms = await copy();
  const cpuAfter = cpuTimeMs(registry.pid);
  const ioAfter = ioBytes(registry.pid);
  if (cpuBefore === undefined || cpuAfter === undefined || !ioBefore || !ioAfter) throw new Error(`${registry.label} (pid ${registry.pid}) is gone`);
  return { seconds: ms / 1000, serverCpuMs: cpuAfter - cpuBefore, serverWrittenBytes: ioAfter.written - ioBefore.written };
}

/** Three decimals, so a ratio just under the target never reads as "1.00x" beside a NO. */
function ratioText(ratio: number): string {
  return `${formatNumber(ratio, 3)}x`;
}

function medianMBps(image: OciImage, samples: readonly Sample[]): number {
  return median(samples.map((s) => image.totalBytes / MB / s.seconds));
}

function printResults(
  image: OciImage, direction: 'push' | 'pull', samples: Map<Registry, Sample[]>, reference: Registry, wharf: Registry, showWritten: boolean,
): void {
  const row = (registry: Registry): Cell[] => {
    const s = samples.get(registry)!;
    const rates = s.map((x) => image.totalBytes / MB / x.seconds);
    return [
      registry.label, median(rates), Math.min(...rates), Math.max(...rates), median(s.map((x) => x.seconds)),
      median(s.map((x) => x.serverCpuMs / 1000)),
      ...(showWritten ? [median(s.map((x) => x.serverWrittenBytes / MB))] : []),
    ];
  };
  printTable(`${direction === 'push' ? 'Push: skopeo copy oci: -> docker://' : 'Pull: skopeo copy docker:// -> dir:'} (${samples.get(wharf)!.length} rounds, alternating order)`,
    ['registry', 'median MB/s', 'min MB/s', 'max MB/s', 'median s', 'server CPU s', ...(showWritten ? ['server wrote MB'] : [])],
    [row(reference), row(wharf)]);
}
