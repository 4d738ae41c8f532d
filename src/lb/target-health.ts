/**
 * Target health in ELB's words from HAProxy's own health checks: the runtime API's `show stat`
 * rows of the servers, mapped to DescribeTargetHealth's states and reason codes. Pure.
 */
import { DRAINING, NOT_IN_USE, REGISTRATION_IN_PROGRESS, type TargetHealth } from '../model/index.js';
import type { ServerStat } from './show-stat.js';

export { DRAINING, NOT_IN_USE, REGISTRATION_IN_PROGRESS };
export type { TargetHealth, TargetHealthState } from '../model/index.js';

export const INITIAL_HEALTH_CHECKING: TargetHealth = { State: 'initial', Reason: 'Elb.InitialHealthChecking', Description: 'Initial health checks in progress' };
export const HEALTHY: TargetHealth = { State: 'healthy' };
export const ADDRESS_UNUSABLE: TargetHealth = { State: 'unused', Reason: 'Target.IpUnusable', Description: 'The target address cannot be reached by the load balancer' };

/** Why the last check failed, as ELB says it. */
function failure(stat: ServerStat): TargetHealth {
  if (stat.checkStatus === 'L7STS') return { State: 'unhealthy', Reason: 'Target.ResponseCodeMismatch', Description: `Health checks failed with these codes: [${stat.checkCode}]` };
  if (/TOUT$/.test(stat.checkStatus)) return { State: 'unhealthy', Reason: 'Target.Timeout', Description: 'Request timed out' };
  return { State: 'unhealthy', Reason: 'Target.FailedHealthChecks', Description: 'Health checks failed' };
}

/**
 * A target's health from its server's row (undefined: HAProxy does not have it yet) and the
 * health last reported for it. A target starts `initial` and becomes `healthy` after the group's
 * healthy threshold of passing checks, or `unhealthy` once it is still failing when its unhealthy
 * threshold of checks is due (`initialChecksDue`: HAProxy counts failures only of servers that
 * are up, so the caller judges this by time since the target was added);
 * once it has been judged, a down server stays `unhealthy` (also across reloads, which restart
 * HAProxy's check counters) until it passes again.
 */
export function targetHealthOf(stat: ServerStat | undefined, draining: boolean, previous: TargetHealth | undefined, initialChecksDue: boolean): TargetHealth {
  if (draining) return DRAINING;
  if (!stat || stat.status.startsWith('MAINT')) return REGISTRATION_IN_PROGRESS;
  if (/^(UP|NOLB|DRAIN)/.test(stat.status)) return HEALTHY;
  // DOWN, or DOWN i/n on its way up.
  const judged = previous?.State === 'healthy' || previous?.State === 'unhealthy';
  if (stat.checkStatus === 'INI' || stat.checkStatus === '' || stat.checkStatus === 'UNK') {
    return judged ? (previous.State === 'unhealthy' ? previous : failure(stat)) : INITIAL_HEALTH_CHECKING;
  }
  if (/OK/.test(stat.checkStatus)) {
    // Passing again but not yet the healthy threshold of times in a row.
    return judged ? (previous.State === 'unhealthy' ? previous : failure(stat)) : INITIAL_HEALTH_CHECKING;
  }
  if (judged || initialChecksDue) return failure(stat);
  return INITIAL_HEALTH_CHECKING;
}
