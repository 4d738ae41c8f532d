export { placeRandom, refusal, take } from './placement.js';
export type { InstanceCapacity, TaskDemand, PlacementResult, PlacementFailureReason } from './placement.js';
export { parseClusterQuery, matches, ClusterQueryError } from './cluster-query.js';
export type { ClusterQuery, InstanceFacts } from './cluster-query.js';
