/** CloudWatch Logs storage and semantics: groups, streams, events, filter patterns, retention. */
export { LogStore, RETENTION_DAYS, READ_LIMITS } from './log-store.js';
export type { LogStoreOptions, LogScope } from './log-store.js';
export { RetentionSweeper } from './retention-sweeper.js';
export { compileFilterPattern, FilterPatternError } from './filter-pattern.js';
export type { MessagePredicate } from './filter-pattern.js';
export { checkPutBatch, PUT_LIMITS } from './put-batch.js';
export { ResourceAlreadyExistsException } from './errors.js';
