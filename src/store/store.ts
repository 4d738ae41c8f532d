/**
 * The state store: versioned JSON documents under string keys, shaped so that etcd can implement it
 * as well as SQLite. Every write bumps one store-wide revision (as etcd's), and each entry carries
 * the revision of its last write (`modRevision`), which callers pass back to compare-and-swap.
 */

export interface Entry<T = unknown> {
  key: string;
  value: T;
  /** Store revision of the write that created the key. */
  createRevision: number;
  /** Store revision of the key's last write; pass it as `expectedModRevision` to compare-and-swap. */
  modRevision: number;
}

/** A condition and a write, applied together or not at all. */
export type TxnOp =
  | { op: 'put'; key: string; value: unknown; expectedModRevision?: number }
  | { op: 'delete'; key: string; expectedModRevision?: number }
  /** Write nothing; only require that the key is at this revision (0: does not exist). */
  | { op: 'check'; key: string; expectedModRevision: number };

export interface ListOptions {
  /** Only keys strictly greater than this one (for pagination). */
  startAfter?: string;
  limit?: number;
}

export type WatchEvent =
  | { type: 'put'; key: string; value: unknown; modRevision: number }
  | { type: 'delete'; key: string; modRevision: number };

export interface Store {
  get<T = unknown>(key: string): Promise<Entry<T> | undefined>;
  /** Entries whose key starts with `prefix`, in key order. */
  list<T = unknown>(prefix: string, options?: ListOptions): Promise<Entry<T>[]>;
  /**
   * Writes one key. With `expectedModRevision` the write happens only if the key is at that revision
   * (0 means the key must not exist); otherwise it throws ConflictError. Returns the new revision.
   */
  put(key: string, value: unknown, options?: { expectedModRevision?: number }): Promise<number>;
  /** Deletes one key (no error when absent, unless a revision is expected). */
  delete(key: string, options?: { expectedModRevision?: number }): Promise<void>;
  /**
   * Applies all ops atomically when every expected revision holds, else throws ConflictError and
   * writes nothing. Returns the new store revision.
   */
  txn(ops: TxnOp[]): Promise<number>;
  /** Calls `onEvent` for every committed change under `prefix`, after commit. Returns the unsubscribe. */
  watch(prefix: string, onEvent: (event: WatchEvent) => void): () => void;
  close(): Promise<void>;
}
