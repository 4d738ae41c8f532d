export { TaskRetentionController } from './task-retention.js';
export type { TaskRetentionOptions } from './task-retention.js';
