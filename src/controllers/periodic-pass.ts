/**
 * A pass a controller runs on a timer and on demand: passes never overlap (each waits for the one
 * before), a failed pass is logged and the next one still runs, and close waits for the pass in
 * progress. The timer does not keep the process alive.
 */
export class PeriodicPass {
  #timer: NodeJS.Timeout | undefined;
  #running: Promise<unknown> = Promise.resolve();

  /** `what` names the pass in the failure log line ("alarm evaluation failed"). */
  constructor(
    private readonly run: () => Promise<unknown>,
    private readonly intervalMs: number,
    private readonly log: (entry: Record<string, unknown>) => void,
    private readonly what: string,
  ) {}

  start(): void {
    this.#timer = setInterval(() => { void this.now(); }, this.intervalMs);
    this.#timer.unref();
  }

  /** One pass now, after any in progress. */
  now(): Promise<unknown> {
    this.#running = this.#running.then(() => this.run()).catch((err: unknown) => {
      this.log({ msg: `${this.what} failed`, error: String(err) });
    });
    return this.#running;
  }

  /** Stops the timer and waits for the pass in progress. */
  async close(): Promise<void> {
    clearInterval(this.#timer);
    await this.#running;
  }
}
