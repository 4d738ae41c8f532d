export {
  refusal, take, DEFAULT_DYNAMIC_PORT_RANGE, MEMBER_OF_UNSATISFIED, DISTINCT_INSTANCE_UNSATISFIED, FAILURE_REASON_ORDER,
} from './placement.js';
export type {
  InstanceCapacity, TaskDemand, PlacementResult, PlacementFailureReason, PlacementFailure, PlacementInstance, PlacementRequest,
  Placement, PlacementOutcome, PortRange,
} from './placement.js';
export { place, placeRandom, PlacementCluster } from './placement-cluster.js';
export {
  validatePlacement, validateTaskDefinitionConstraints, defaultPlacementStrategy, MAX_PLACEMENT_STRATEGIES, MAX_PLACEMENT_CONSTRAINTS,
} from './placement-rules.js';
export type { PlacementStrategy, PlacementConstraint, PlacementRules, StrategyRule } from './placement-rules.js';
export { describeUnplaceable } from './unplaceable.js';
export { parseClusterQuery, matches, compileClusterQuery, ClusterQueryError } from './cluster-query.js';
export type { ClusterQuery, InstanceFacts, CompiledClusterQuery } from './cluster-query.js';
