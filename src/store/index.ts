export type { Entry, TxnOp, ListOptions, WatchEvent, Store } from './store.js';
