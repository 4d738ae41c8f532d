/**
 * placementStrategy and placementConstraints as RunTask, CreateService and UpdateService take them:
 * validated once, with ECS's errors, and compiled to the form `place` evaluates.
 *
 * Sources (ECS API reference, PlacementStrategy / PlacementConstraint, and the Developer Guide
 * pages task-placement-strategies, task-placement-constraints, cluster-query-language):
 * - strategy `type` is random | spread | binpack; `field` for spread is `instanceId` (or `host`,
 *   the same) or an attribute (`attribute:ecs.availability-zone`); for binpack `cpu` or `memory`;
 *   random takes none. At most 5 strategy rules, applied in order.
 * - constraint `type` is distinctInstance (no expression: "distinctInstance expression should not
 *   be specified.") or memberOf (a cluster query expression, at most 2000 characters). At most 10
 *   constraints, the task definition's and the request's together; a task definition takes
 *   memberOf only.
 */
import { ClientException, InvalidParameterException } from '../model/index.js';
import { ClusterQueryError, compileClusterQuery, parseClusterQuery, type ClusterQuery, type CompiledClusterQuery } from './cluster-query.js';

/** The SDK's PlacementStrategy, as it arrives on the wire (any string may be sent). */
export interface PlacementStrategy { type?: string | null; field?: string | null }
/** The SDK's PlacementConstraint, as it arrives on the wire. */
export interface PlacementConstraint { type?: string | null; expression?: string | null }

export const MAX_PLACEMENT_STRATEGIES = 5;
export const MAX_PLACEMENT_CONSTRAINTS = 10;
const MAX_EXPRESSION_LENGTH = 2000;

/** One strategy rule as `place` scores it: lower scores win. */
export type StrategyRule =
  | { kind: 'spread-instance' }
  | { kind: 'spread-attribute'; attribute: string }
  | { kind: 'binpack'; resource: 'cpu' | 'memory' }
  | { kind: 'random' };

/** A validated placement: the strategy chain and the constraints, ready to evaluate. */
export interface PlacementRules {
  /** In order; `random` only ever last (it picks, so nothing after it could break a tie). */
  strategy: readonly StrategyRule[];
  distinctInstance: boolean;
  /**
   * Every memberOf expression, all of which must hold. `changesWithPlacements` when it asks about
   * task:group or runningTasksCount, which placing a task changes: such an expression is evaluated
   * again on the instance that took a task; the others only once per instance.
   */
  memberOf: readonly { expression: string; matches: CompiledClusterQuery; changesWithPlacements: boolean }[];
}

/** The strategy ECS uses when the request gives none. */
export function defaultPlacementStrategy(caller: 'RunTask' | 'service'): PlacementStrategy[] {
  // RunTask: random. Services: spread across Availability Zones, then across instances (fewest
  // tasks of the service per instance) — the service scheduler's documented default.
  return caller === 'RunTask'
    ? [{ type: 'random' }]
    : [{ type: 'spread', field: 'attribute:ecs.availability-zone' }, { type: 'spread', field: 'instanceId' }];
}

/**
 * Validates `strategy` and `constraints` (the task definition's and the request's together) and
 * compiles them. Throws InvalidParameterException naming the offending rule; a memberOf
 * expression that does not parse is refused with the position where it fails.
 */
export function validatePlacement(strategy: readonly PlacementStrategy[], constraints: readonly PlacementConstraint[]): PlacementRules {
  if (strategy.length > MAX_PLACEMENT_STRATEGIES) {
    throw new InvalidParameterException(`The number of placement strategies must be less than or equal to ${MAX_PLACEMENT_STRATEGIES}.`);
  }
  if (constraints.length > MAX_PLACEMENT_CONSTRAINTS) {
    throw new InvalidParameterException(
      `The number of placement constraints, including those of the task definition, must be less than or equal to ${MAX_PLACEMENT_CONSTRAINTS}.`);
  }
  const rules: StrategyRule[] = [];
  for (const s of strategy) {
    const rule = strategyRule(s);
    // After random nothing is left to narrow: later rules are checked but have no effect.
    if (rules.at(-1)?.kind !== 'random') rules.push(rule);
  }
  let distinctInstance = false;
  const memberOf: PlacementRules['memberOf'][number][] = [];
  for (const c of constraints) {
    if (c.type === 'distinctInstance') {
      if (c.expression !== undefined && c.expression !== null) throw new InvalidParameterException('distinctInstance expression should not be specified.');
      distinctInstance = true;
    } else if (c.type === 'memberOf') {
      const query = memberOfQuery(c.expression);
      memberOf.push({ expression: c.expression!, matches: compileClusterQuery(query), changesWithPlacements: asksAboutPlacedTasks(query) });
    } else {
      throw new InvalidParameterException(`Invalid placement constraint type '${String(c.type)}'. Valid values are distinctInstance and memberOf.`);
    }
  }
  return { strategy: rules, distinctInstance, memberOf };
}

/**
 * RegisterTaskDefinition's placementConstraints: memberOf only (ECS answers ClientException
 * "constraint.type 'distinctInstance' is not supported."), each expression valid.
 */
export function validateTaskDefinitionConstraints(constraints: readonly PlacementConstraint[]): void {
  if (constraints.length > MAX_PLACEMENT_CONSTRAINTS) {
    throw new ClientException(`The number of placement constraints must be less than or equal to ${MAX_PLACEMENT_CONSTRAINTS}.`);
  }
  for (const c of constraints) {
    if (c.type !== 'memberOf') throw new ClientException(`constraint.type '${String(c.type)}' is not supported.`);
    memberOfQuery(c.expression);
  }
}

function strategyRule(s: PlacementStrategy): StrategyRule {
  const field = s.field ?? undefined;
  switch (s.type) {
    case 'random':
      // ECS refuses a field here, even an empty one (Terraform's provider had to stop sending
      // field "" with random: hashicorp/terraform-provider-aws#6176).
      if (field !== undefined) throw new InvalidParameterException('The random placement strategy does not take a field.');
      return { kind: 'random' };
    case 'spread':
      if (field === undefined || field === '') {
        throw new InvalidParameterException('The spread placement strategy requires a field: instanceId, host or attribute:<name>.');
      }
      if (field === 'instanceId' || field === 'host') return { kind: 'spread-instance' };
      if (field.startsWith('attribute:') && field.length > 'attribute:'.length) return { kind: 'spread-attribute', attribute: field.slice('attribute:'.length) };
      throw new InvalidParameterException(`Invalid field '${field}' for the spread placement strategy. Valid values are instanceId, host and attribute:<name>.`);
    case 'binpack': {
      // ECS takes CPU / MEMORY in any case (services created with field MEMORY in the wild).
      const resource = field?.toLowerCase();
      if (resource === 'cpu' || resource === 'memory') return { kind: 'binpack', resource };
      throw new InvalidParameterException(`Invalid field '${String(field)}' for the binpack placement strategy. Valid values are cpu and memory.`);
    }
    default:
      throw new InvalidParameterException(`Invalid placement strategy type '${String(s.type)}'. Valid values are random, spread and binpack.`);
  }
}

function memberOfQuery(expression: string | null | undefined): ClusterQuery {
  if (expression === undefined || expression === null || expression.trim() === '') {
    throw new InvalidParameterException('memberOf placement constraint requires an expression.');
  }
  if (expression.length > MAX_EXPRESSION_LENGTH) {
    throw new InvalidParameterException(`memberOf expression must be at most ${MAX_EXPRESSION_LENGTH} characters.`);
  }
  try {
    return parseClusterQuery(expression);
  } catch (err) {
    if (err instanceof ClusterQueryError) throw new InvalidParameterException(`Invalid memberOf expression '${expression}': ${err.message}.`);
    throw err;
  }
}

function asksAboutPlacedTasks(q: ClusterQuery): boolean {
  switch (q.kind) {
    case 'and': case 'or': return asksAboutPlacedTasks(q.left) || asksAboutPlacedTasks(q.right);
    case 'not': return asksAboutPlacedTasks(q.operand);
    default: return q.subject === 'task:group' || q.subject === 'runningtaskscount';
  }
}
