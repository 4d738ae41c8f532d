export { TaskRetentionController } from './task-retention.js';
export type { TaskRetentionOptions } from './task-retention.js';
export { ServiceController } from './service-controller.js';
export type { ServiceControllerOptions } from './service-controller.js';
export { planService, circuitBreakerThreshold, startBackoffMs } from './service-plan.js';
export type { ServicePlan, ServiceSnapshot, ServicePlanOptions } from './service-plan.js';
export { LoadBalancerController } from './load-balancer-controller.js';
export type { LoadBalancerControllerOptions } from './load-balancer-controller.js';
export { buildLoadBalancerConfig, planTargets } from './load-balancer-plan.js';
