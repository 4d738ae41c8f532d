/**
 * Expires STOPPED tasks once ECS's retention has passed, so stopped tasks do not pile up in the
 * store. Level-triggered: each sweep reads the store afresh and deletes what is due; running one
 * twice changes nothing. A failed sweep is logged and the next one tries again.
 */
import { deleteExpiredStoppedTasks, type DomainContext } from '../domain/index.js';
import { PeriodicPass } from './periodic-pass.js';

export interface TaskRetentionOptions {
  ctx: DomainContext;
  /** How long a STOPPED task stays describable. */
  retentionMs: number;
  /** How often to sweep; a task goes at most this long after its retention ends. */
  sweepIntervalMs: number;
}

export class TaskRetentionController {
  readonly #sweeps: PeriodicPass;

  constructor(options: TaskRetentionOptions) {
    this.#sweeps = new PeriodicPass(() => deleteExpiredStoppedTasks(options.ctx, options.retentionMs), options.sweepIntervalMs,
      (entry) => options.ctx.log(entry), 'stopped-task sweep');
  }

  start(): void {
    this.#sweeps.start();
  }

  /** One sweep now (also what the timer runs); sweeps never overlap. */
  sweep(): Promise<unknown> {
    return this.#sweeps.now();
  }

  /** Stops the timer and waits for a sweep in progress. */
  close(): Promise<void> {
    return this.#sweeps.close();
  }
}
