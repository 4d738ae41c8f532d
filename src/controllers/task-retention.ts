/**
 * Expires STOPPED tasks once ECS's retention has passed, so stopped tasks do not pile up in the
 * store. Level-triggered: each sweep reads the store afresh and deletes what is due; running one
 * twice changes nothing. A failed sweep is logged and the next one tries again.
 */
import { deleteExpiredStoppedTasks, type DomainContext } from '../domain/index.js';

export interface TaskRetentionOptions {
  ctx: DomainContext;
  /** How long a STOPPED task stays describable. */
  retentionMs: number;
  /** How often to sweep; a task goes at most this long after its retention ends. */
  sweepIntervalMs: number;
}

export class TaskRetentionController {
  readonly #options: TaskRetentionOptions;
  #timer: NodeJS.Timeout | undefined;
  #sweeping: Promise<unknown> = Promise.resolve();

  constructor(options: TaskRetentionOptions) {
    this.#options = options;
  }

  start(): void {
    this.#timer = setInterval(() => { void this.sweep(); }, this.#options.sweepIntervalMs);
    this.#timer.unref();
  }

  /** One sweep now (also what the timer runs); sweeps never overlap. */
  sweep(): Promise<unknown> {
    this.#sweeping = this.#sweeping.then(() => deleteExpiredStoppedTasks(this.#options.ctx, this.#options.retentionMs)).catch((err: unknown) => {
      this.#options.ctx.log({ msg: 'stopped-task sweep failed', error: String(err) });
    });
    return this.#sweeping;
  }

  /** Stops the timer and waits for a sweep in progress. */
  async close(): Promise<void> {
    clearInterval(this.#timer);
    await this.#sweeping;
  }
}
