/**
 * The ELBv2 operations (awsQuery, 2015-12-01) as one handler map for the query protocol: each part
 * of the API (load balancers, listeners, rules and tags; target groups and targets) adds its own map.
 */
import type { DomainContext } from '../../domain/index.js';
import type { QueryOperationHandler } from '../protocol/index.js';

export interface Elbv2Dependencies {
  ctx: DomainContext;
  /** The host a load balancer's DNSName answers: the server's advertise host, as no DNS exists. */
  advertiseHost: () => string;
}

export function elbv2Handlers(_deps: Elbv2Dependencies): Record<string, QueryOperationHandler> {
  return {};
}
