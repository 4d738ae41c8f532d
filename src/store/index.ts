export type { Entry, TxnOp, ListOptions, WatchEvent, Store } from './store.js';
export { SqliteStore } from './sqlite-store.js';
export type { SqliteStoreOptions } from './sqlite-store.js';
