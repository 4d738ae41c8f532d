/** The frame every benchmark runs in: cleanup on success, failure and Ctrl-C alike. */
import { progress } from './table.js';

/** Registers a cleanup step; steps run once, last registered first. */
export type Defer = (step: () => unknown) => void;

/**
 * Runs `body`, then every step it deferred, also when it throws or the process gets SIGINT or
 * SIGTERM (then it exits 130 once cleanup is done). Exit code 1 means the benchmark could not
 * run; figures never change the exit code.
 */
export function runBenchmark(name: string, body: (defer: Defer) => Promise<void>): void {
  const steps: (() => unknown)[] = [];
  let cleaning: Promise<void> | undefined;
  const cleanup = () => (cleaning ??= (async () => {
    for (const step of steps.reverse()) {
      try {
        await step();
      } catch (err) {
        progress(`${name}: a cleanup step failed: ${err instanceof Error ? err.message : String(err)}`);
      }
    }
  })());
  let interrupted = false;
  const onSignal = (signal: NodeJS.Signals) => {
    interrupted = true;
    progress(`${name}: ${signal}, cleaning up`);
    void cleanup().finally(() => process.exit(130));
  };
  process.once('SIGINT', onSignal);
  process.once('SIGTERM', onSignal);
  body((step) => { steps.push(step); })
    .catch((err: unknown) => {
      // After Ctrl-C the body fails because cleanup pulled things from under it; that is no news.
      if (interrupted) return;
      process.stderr.write(`${name} benchmark could not run: ${err instanceof Error ? err.stack ?? err.message : String(err)}\n`);
      process.exitCode = 1;
    })
    .then(cleanup)
    .catch((err: unknown) => {
      process.stderr.write(`${name}: cleanup failed: ${err instanceof Error ? err.message : String(err)}\n`);
      process.exitCode = 1;
    })
    .finally(() => {
      process.off('SIGINT', onSignal);
      process.off('SIGTERM', onSignal);
    });
}
