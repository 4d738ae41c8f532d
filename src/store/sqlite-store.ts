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
}

export class SqliteStore implements Store {
  readonly #db: Database.Database;
  readonly #watchers = new Set<Watcher>();
  readonly #stmt: {
    get: Database.Statement<[string], Row>;
    list: Database.Statement<[string, string, string, number], Row>;
    upsert: Database.Statement<[string, string, number, number]>;
    remove: Database.Statement<[string]>;
    revision: Database.Statement<[], { revision: number }>;
    bump: Database.Statement<[number]>;
  };

  constructor(options: SqliteStoreOptions) {
    this.#db = new Database(options.path);
    this.#db.pragma('journal_mode = WAL');
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
    const row = this.#stmt.get.get(key);
    return row ? toEntry<T>(row) : undefined;
  }

  async list<T = unknown>(prefix: string, options: ListOptions = {}): Promise<Entry<T>[]> {
    const rows = this.#stmt.list.all(prefix, prefix + '\uffff', options.startAfter ?? '', options.limit ?? -1);
    return rows.map((r) => toEntry<T>(r));
  }

  async put(key: string, value: unknown, options: { expectedModRevision?: number } = {}): Promise<number> {
    return this.txn([{ op: 'put', key, value, ...options }]);
  }

  async delete(key: string, options: { expectedModRevision?: number } = {}): Promise<void> {
    await this.txn([{ op: 'delete', key, ...options }]);
  }

  async txn(ops: TxnOp[]): Promise<number> {
    const events: WatchEvent[] = [];
    const apply = this.#db.transaction((): number => {
      for (const o of ops) {
        if (o.expectedModRevision === undefined) continue;
        const current = this.#stmt.get.get(o.key)?.mod_revision ?? 0;
        if (current !== o.expectedModRevision) throw new ConflictError(`Key ${o.key} is at revision ${current}, not ${o.expectedModRevision}.`);
      }
      const revision = this.#stmt.revision.get()!.revision + 1;
      let wrote = false;
      for (const o of ops) {
        if (o.op === 'put') {
          const existing = this.#stmt.get.get(o.key);
          this.#stmt.upsert.run(o.key, JSON.stringify(o.value), existing?.create_revision ?? revision, revision);
          events.push({ type: 'put', key: o.key, value: o.value, modRevision: revision });
          wrote = true;
        } else if (o.op === 'delete') {
          if (this.#stmt.remove.run(o.key).changes > 0) {
            events.push({ type: 'delete', key: o.key, modRevision: revision });
            wrote = true;
          }
        }
      }
      if (!wrote) return revision - 1;
      this.#stmt.bump.run(revision);
      return revision;
    });
    const revision = apply();
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
}

function toEntry<T>(row: Row): Entry<T> {
  return { key: row.key, value: JSON.parse(row.value) as T, createRevision: row.create_revision, modRevision: row.mod_revision };
}
