/** Enforces retention policies: a periodic sweep deletes events older than their group keeps. */
import type { LogStore } from './log-store.js';

export interface RetentionSweeperOptions {
  store: LogStore;
  intervalMs: number;
  log: (entry: Record<string, unknown>) => void;
}

export class RetentionSweeper {
  readonly #o: RetentionSweeperOptions;
  #timer: NodeJS.Timeout | undefined;

  constructor(options: RetentionSweeperOptions) {
    this.#o = options;
  }

  /** Sweeps now and then every intervalMs until close(). */
  start(): void {
    this.sweep();
    this.#timer = setInterval(() => this.sweep(), this.#o.intervalMs);
    this.#timer.unref();
  }

  /** One sweep; a failure is logged and the next sweep tries again. */
  sweep(): number {
    try {
      const deleted = this.#o.store.sweepRetention();
      if (deleted > 0) this.#o.log({ msg: 'log retention sweep', deletedEvents: deleted });
      return deleted;
    } catch (err) {
      this.#o.log({ msg: 'log retention sweep failed', error: err instanceof Error ? err.message : String(err) });
      return 0;
    }
  }

  close(): void {
    clearInterval(this.#timer);
  }
}
