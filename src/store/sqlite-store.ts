/**
 * The embedded state store: one SQLite file (WAL mode) holding versioned JSON documents.
 * better-sqlite3 is synchronous, so every operation runs to completion inside one call and a
 * transaction never interleaves with another; the async surface exists so etcd can implement the
 * same interface.
 */
import Database from 'better-sqlite3';
import { ConflictError } from '../model/index.js';
import type { Entry, ListOptions, Store, TxnOp, WatchEvent } from './store.js';

interface Row { key: string; value: string; create_revision: number; mod_revision: number }

interface Watcher { prefix: string; onEvent: (event: WatchEvent) => void }

export interface SqliteStoreOptions {
  /** File path, or ':memory:' for a store that lives only as long as the process (tests). */
  path: string;
  /** How many parsed entries to keep in memory (default 20,000). */
  cacheEntries?: number;
}

const DEFAULT_CACHE_ENTRIES = 20_000;

export class SqliteStore implements Store {
  readonly #db: Database.Database;
  readonly #watchers = new Set<Watcher>();
  /**
   * Entries by key, written through on every commit. The file is opened with an exclusive lock,
   * so this process is its only reader and writer (several servers use etcd instead) and a cached
   * entry is always current: a hot `get` never reaches SQLite. Entries are deep-frozen, since
   * every reader shares them; a reader that mutates one fails loudly.
   */
  readonly #cache = new Map<string, Entry>();
  readonly #cacheEntries: number;
  readonly #stmt: {
    get: Database.Statement<[string], Row>;
    list: Database.Statement<[string, string, string, number], Row>;
    upsert: Database.Statement<[string, string, number, number]>;
    remove: Database.Statement<[string]>;
    revision: Database.Statement<[], { revision: number }>;
    bump: Database.Statement<[number]>;
  };

  constructor(options: SqliteStoreOptions) {
    this.#cacheEntries = options.cacheEntries ?? DEFAULT_CACHE_ENTRIES;
    this.#db = new Database(options.path);
    // One process owns the file: a second server on the same data directory fails at start
    // instead of racing this one (and the cache above relies on it).
    this.#db.pragma('locking_mode = EXCLUSIVE');
    try {
      this.#db.pragma('journal_mode = WAL');
    } catch (err) {
      this.#db.close();
      throw new Error(`The state store ${options.path} is in use by another process.`, { cause: err });
    }
    // NORMAL is durable across process crashes in WAL mode; only an OS crash can lose the last commits.
    this.#db.pragma('synchronous = NORMAL');
    this.#db.exec(`
      CREATE TABLE IF NOT EXISTS kv (
        key TEXT PRIMARY KEY,
        value TEXT NOT NULL,
        create_revision INTEGER NOT NULL,
        mod_revision INTEGER NOT NULL
      ) WITHOUT ROWID;
      CREATE TABLE IF NOT EXISTS meta (id INTEGER PRIMARY KEY CHECK (id = 1), revision INTEGER NOT NULL);
      INSERT OR IGNORE INTO meta (id, revision) VALUES (1, 0);
    `);
    this.#stmt = {
      get: this.#db.prepare('SELECT key, value, create_revision, mod_revision FROM kv WHERE key = ?'),
      // Prefix scan as a key range: [prefix, prefix + U+FFFF) uses the primary key index.
      list: this.#db.prepare(
        'SELECT key, value, create_revision, mod_revision FROM kv WHERE key >= ? AND key < ? AND key > ? ORDER BY key LIMIT ?',
      ),
      upsert: this.#db.prepare(
        `INSERT INTO kv (key, value, create_revision, mod_revision) VALUES (?, ?, ?, ?)
         ON CONFLICT(key) DO UPDATE SET value = excluded.value, mod_revision = excluded.mod_revision`,
      ),
      remove: this.#db.prepare('DELETE FROM kv WHERE key = ?'),
      revision: this.#db.prepare('SELECT revision FROM meta WHERE id = 1'),
      bump: this.#db.prepare('UPDATE meta SET revision = ? WHERE id = 1'),
    };
  }

  async get<T = unknown>(key: string): Promise<Entry<T> | undefined> {
    const cached = this.#cache.get(key);
    if (cached) return cached as Entry<T>;
    const row = this.#stmt.get.get(key);
    return row ? this.#toEntry<T>(row) : undefined;
  }

  async list<T = unknown>(prefix: string, options: ListOptions = {}): Promise<Entry<T>[]> {
    const rows = this.#stmt.list.all(prefix, prefix + '\uffff', options.startAfter ?? '', options.limit ?? -1);
    return rows.map((r) => this.#toEntry<T>(r));
  }

  async put(key: string, value: unknown, options: { expectedModRevision?: number } = {}): Promise<number> {
    return this.txn([{ op: 'put', key, value, ...options }]);
  }

  async delete(key: string, options: { expectedModRevision?: number } = {}): Promise<void> {
    await this.txn([{ op: 'delete', key, ...options }]);
  }

  async txn(ops: TxnOp[]): Promise<number> {
    const changes: ({ type: 'put'; row: Row } | { type: 'delete'; key: string })[] = [];
    const apply = this.#db.transaction((): number => {
      for (const o of ops) {
        if (o.expectedModRevision === undefined) continue;
        const current = this.#stmt.get.get(o.key)?.mod_revision ?? 0;
        if (current !== o.expectedModRevision) throw new ConflictError(`Key ${o.key} is at revision ${current}, not ${o.expectedModRevision}.`);
      }
      const revision = this.#stmt.revision.get()!.revision + 1;
      for (const o of ops) {
        if (o.op === 'put') {
          const existing = this.#stmt.get.get(o.key);
          const row: Row = { key: o.key, value: JSON.stringify(o.value), create_revision: existing?.create_revision ?? revision, mod_revision: revision };
          this.#stmt.upsert.run(row.key, row.value, row.create_revision, row.mod_revision);
          changes.push({ type: 'put', row });
        } else if (o.op === 'delete' && this.#stmt.remove.run(o.key).changes > 0) {
          changes.push({ type: 'delete', key: o.key });
        }
      }
      if (changes.length === 0) return revision - 1;
      this.#stmt.bump.run(revision);
      return revision;
    });
    const revision = apply();
    // Only after commit: the cache takes what was written, and watchers see the same frozen
    // values every reader gets, in the order the ops were given.
    const events: WatchEvent[] = changes.map((c) => {
      if (c.type === 'delete') {
        this.#cache.delete(c.key);
        return { type: 'delete', key: c.key, modRevision: revision };
      }
      this.#cache.delete(c.row.key); // a key put twice in one txn shares the revision: the last put wins
      return { type: 'put', key: c.row.key, value: this.#toEntry(c.row).value, modRevision: revision };
    });
    this.#notify(events);
    return revision;
  }

  watch(prefix: string, onEvent: (event: WatchEvent) => void): () => void {
    const watcher: Watcher = { prefix, onEvent };
    this.#watchers.add(watcher);
    return () => this.#watchers.delete(watcher);
  }

  async close(): Promise<void> {
    this.#watchers.clear();
    this.#db.close();
  }

  #notify(events: WatchEvent[]): void {
    for (const event of events) {
      for (const w of this.#watchers) {
        if (!event.key.startsWith(w.prefix)) continue;
        // A watcher's fault must not undo or block a committed write, nor other watchers.
        try { w.onEvent(event); } catch (err) { queueMicrotask(() => { throw err; }); }
      }
    }
  }

  /** The entry of a row, from the cache when it holds this revision, else parsed and cached. */
  #toEntry<T>(row: Row): Entry<T> {
    let entry = this.#cache.get(row.key);
    if (entry?.modRevision !== row.mod_revision) {
      entry = Object.freeze({
        key: row.key, value: deepFreeze(JSON.parse(row.value)), createRevision: row.create_revision, modRevision: row.mod_revision,
      });
      this.#cache.delete(row.key);
      // Bounded: past the limit the oldest-inserted entries go first; they are re-read on demand.
      if (this.#cache.size >= this.#cacheEntries) this.#cache.delete(this.#cache.keys().next().value!);
      this.#cache.set(row.key, entry);
    }
    return entry as Entry<T>;
  }
}

function deepFreeze<T>(value: T): T {
  if (value !== null && typeof value === 'object' && !Object.isFrozen(value)) {
    for (const v of Object.values(value)) deepFreeze(v);
    Object.freeze(value);
  }
  return value;
}
