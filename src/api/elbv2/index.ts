/**
 * The ELBv2 operations (awsQuery, 2015-12-01) as one handler map for the query protocol: each part
 * of the API adds its own map here (load balancers, listeners, rules and tags; target groups and
 * targets).
 */
import type { QueryOperationHandler } from '../protocol/index.js';
import type { Elbv2Dependencies } from './dependencies.js';
import { loadBalancerHandlers } from './load-balancer-handlers.js';

export type { Elbv2Dependencies } from './dependencies.js';

export function elbv2Handlers(deps: Elbv2Dependencies): Record<string, QueryOperationHandler> {
  return {
    ...loadBalancerHandlers(deps),
  };
}
