export { placeRandom, refusal, take } from './placement.js';
export type { InstanceCapacity, TaskDemand, PlacementResult, PlacementFailureReason } from './placement.js';
