/**
 * The registry's housekeeping, one level-triggered sweep at a time: expire abandoned upload
 * sessions, apply repositories' lifecycle policies, then collect garbage (layer links no manifest
 * in their repository needs, then blobs no repository links). Everything young is left alone
 * (`graceMs`), so a push in progress — layers uploaded, manifest not yet — keeps its blobs.
 * Running a sweep twice changes nothing more.
 */
import {
  applyLifecyclePolicy, listAllImages, listAllLayerLinks, listRepositoryNames, unlinkLayer, type DomainContext,
} from '../domain/index.js';
import type { BlobStore } from './blob-store.js';

export interface RegistryMaintenanceOptions {
  ctx: DomainContext;
  blobs: BlobStore;
  /** An upload session idle this long is abandoned and removed. */
  uploadIdleTimeoutMs: number;
  /** Unreferenced layer links and blobs younger than this stay (a push may still need them). */
  graceMs: number;
  sweepIntervalMs: number;
}

export interface SweepResult { expiredUploads: number; expiredImages: number; unlinkedLayers: number; deletedBlobs: number }

export class RegistryMaintenance {
  readonly #options: RegistryMaintenanceOptions;
  #timer: NodeJS.Timeout | undefined;
  #sweeping: Promise<unknown> = Promise.resolve();

  constructor(options: RegistryMaintenanceOptions) {
    this.#options = options;
  }

  start(): void {
    this.#timer = setInterval(() => { void this.sweep(); }, this.#options.sweepIntervalMs);
    this.#timer.unref();
  }

  /** One sweep now (also what the timer runs); sweeps never overlap, and a failed one is logged. */
  sweep(): Promise<SweepResult | undefined> {
    const next = this.#sweeping.then(() => this.#sweepOnce()).catch((err: unknown) => {
      this.#options.ctx.log({ msg: 'registry maintenance failed', error: err instanceof Error ? err.stack ?? err.message : String(err) });
      return undefined;
    });
    this.#sweeping = next;
    return next;
  }

  /** Stops the timer and waits for a sweep in progress. */
  async close(): Promise<void> {
    clearInterval(this.#timer);
    await this.#sweeping;
  }

  async #sweepOnce(): Promise<SweepResult> {
    const { ctx, blobs, uploadIdleTimeoutMs, graceMs } = this.#options;
    const now = ctx.nowMs();
    const result: SweepResult = { expiredUploads: 0, expiredImages: 0, unlinkedLayers: 0, deletedBlobs: 0 };

    for (const session of await blobs.listUploads()) {
      if (now - session.touchedAtMs > uploadIdleTimeoutMs && await blobs.cancelUpload(session.id)) result.expiredUploads++;
    }

    for (const name of await listRepositoryNames(ctx, { limit: Number.MAX_SAFE_INTEGER })) {
      const expired = await applyLifecyclePolicy(ctx, name);
      if (expired.length > 0) ctx.log({ msg: 'lifecycle policy expired images', repositoryName: name, imageDigests: expired });
      result.expiredImages += expired.length;
    }

    const needed = new Set<string>();
    for (const image of await listAllImages(ctx)) {
      for (const digest of image.blobs) needed.add(`${image.repositoryName}:${digest}`);
    }
    const linked = new Set<string>();
    for (const link of await listAllLayerLinks(ctx)) {
      if (needed.has(`${link.repositoryName}:${link.digest}`) || now - link.layer.linkedAtMs < graceMs) {
        linked.add(link.digest);
      } else if (await unlinkLayer(ctx, link.repositoryName, link.digest)) {
        result.unlinkedLayers++;
      }
    }
    for (const blob of await blobs.list()) {
      if (linked.has(blob.digest) || now - blob.modifiedAtMs < graceMs) continue;
      if (await blobs.delete(blob.digest)) result.deletedBlobs++;
    }
    if (result.expiredUploads + result.unlinkedLayers + result.deletedBlobs > 0) ctx.log({ msg: 'registry maintenance', ...result });
    return result;
  }
}
