/** What every domain operation needs: the store, the account scope for ARNs, and a clock. */
import type { AccountScope } from '../model/index.js';
import type { Store } from '../store/index.js';

export interface DomainContext {
  store: Store;
  scope: AccountScope;
  /** Current time in epoch milliseconds; a fake clock in unit tests. */
  nowMs: () => number;
  /** The principal ARN recorded as `registeredBy` and the like. */
  principalArn: string;
  log: (entry: Record<string, unknown>) => void;
}

/**
 * A resource as it is stored and as it goes on the wire: the SDK's output shape with every
 * timestamp as epoch seconds (the awsJson wire form), so a record is answered as it is.
 */
// A homomorphic mapped type keeps arrays and tuples as they are, member by member.
export type Wire<T> = T extends Date ? number : T extends object ? { [K in keyof T]: Wire<T[K]> } : T;

/** Epoch seconds with millisecond precision, the form ECS timestamps take on the wire. */
export const epochSeconds = (ms: number): number => Math.round(ms) / 1000;
