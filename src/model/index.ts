export * from './errors.js';
export * from './arns.js';
export * from './statuses.js';
export * from './agent-protocol.js';
export * from './elbv2-errors.js';
