/**
 * What both registry benchmarks start from: the tools checked, an OCI image written, a real
 * `wharf server` with an ECR login, and the reference `docker-registry` storing on the same file
 * system as Wharf's data dir. Everything started here is stopped by the benchmark's cleanup.
 */
import { randomBytes } from 'node:crypto';
import { mkdirSync, mkdtempSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { startWharf, type WharfProcesses } from '../../src/testkit/wharf-processes.js';
import { requireCommands } from './child.js';
import { writeOciImage, type OciImage } from '../../src/testkit/oci-image.js';
import { REFERENCE_REGISTRY_BINARY, startReferenceRegistry, type ReferenceRegistry } from './reference-registry.js';
import type { Defer } from './run.js';
import { SKOPEO_BINARY, type CopyContext } from './skopeo.js';
import { progress } from './table.js';
import { loginToWharfRegistry, type WharfRegistry } from './wharf-registry.js';

export interface RegistryBench {
  /** This run's temp dir (image, reference storage, pulled copies); removed by cleanup. */
  work: string;
  image: OciImage;
  wharf: WharfProcesses;
  wharfRegistry: WharfRegistry;
  reference: ReferenceRegistry;
  /** Unique to this run, for repository names. */
  runId: string;
  /** For every skopeo copy: cleanup kills copies in flight first, then removes `work`. */
  copies: CopyContext;
}

/** Sets up a registry benchmark whose image has one layer per entry of `layerContentBytes`. */
export async function startRegistryBench(name: string, defer: Defer, layerContentBytes: readonly number[]): Promise<RegistryBench> {
  requireCommands([SKOPEO_BINARY, REFERENCE_REGISTRY_BINARY], 'bash scripts/setup.sh --for-bench');
  const work = mkdtempSync(join(tmpdir(), `wharf-bench-${name}-`));
  defer(() => rmSync(work, { recursive: true, force: true }));

  const totalMB = layerContentBytes.reduce((a, b) => a + b, 0) / 1_000_000;
  progress(`writing a ${totalMB.toFixed(0)} MB OCI image in ${layerContentBytes.length} layer(s)`);
  const image = await writeOciImage(join(work, 'image'), 'bench', layerContentBytes);

  progress('starting wharf server and the reference docker-registry');
  const wharf = await startWharf();
  defer(() => wharf.stop());
  const referenceStorage = join(work, 'reference-storage');
  mkdirSync(referenceStorage);
  if (statSync(referenceStorage).dev !== statSync(wharf.dataDir).dev) {
    throw new Error(`the reference's storage ${referenceStorage} and Wharf's data dir ${wharf.dataDir} are on different file systems`);
  }
  const reference = await startReferenceRegistry(work, referenceStorage);
  defer(() => reference.stop());
  const wharfRegistry = await loginToWharfRegistry(wharf);
  defer(() => wharfRegistry.close());
  // Registered last, so it runs first: no copy is left writing into what the other steps remove.
  const aborter = new AbortController();
  defer(() => aborter.abort());
  return { work, image, wharf, wharfRegistry, reference, runId: randomBytes(4).toString('hex'), copies: { signal: aborter.signal, scratchDir: work } };
}
