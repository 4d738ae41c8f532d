/** Time as the task runner sees it, so unit tests can drive timeouts without waiting. */
export interface Clock {
  now(): number;
  /** Calls fn after ms; the returned function cancels it. */
  setTimer(ms: number, fn: () => void): () => void;
}

export const systemClock: Clock = {
  now: () => Date.now(),
  setTimer(ms, fn) {
    const t = setTimeout(fn, ms);
    t.unref?.();
    return () => clearTimeout(t);
  },
};
