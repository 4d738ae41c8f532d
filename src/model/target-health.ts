/**
 * A target's health in ELB's words (DescribeTargetHealth's TargetHealth), and the values that do
 * not depend on a health check: the API derives them (targets.ts) and the load-balancer
 * controller writes them (src/lb, src/controllers), so both say exactly the same.
 */

export type TargetHealthState = 'initial' | 'healthy' | 'unhealthy' | 'unused' | 'draining' | 'unavailable';

/** As DescribeTargetHealth answers a target's TargetHealth. */
export interface TargetHealth {
  State: TargetHealthState;
  Reason?: string;
  Description?: string;
}

export const REGISTRATION_IN_PROGRESS: TargetHealth = { State: 'initial', Reason: 'Elb.RegistrationInProgress', Description: 'Target registration is in progress' };
export const DRAINING: TargetHealth = { State: 'draining', Reason: 'Target.DeregistrationInProgress', Description: 'Target deregistration is in progress' };
export const NOT_IN_USE: TargetHealth = { State: 'unused', Reason: 'Target.NotInUse', Description: 'Target group is not configured to receive traffic from the load balancer' };
export const HEALTH_CHECKS_DISABLED: TargetHealth = { State: 'unavailable', Reason: 'Target.HealthCheckDisabled', Description: 'Health checks are disabled' };
