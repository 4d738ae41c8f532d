export { TaskRetentionController } from './task-retention.js';
export type { TaskRetentionOptions } from './task-retention.js';
export { ServiceController } from './service-controller.js';
export type { ServiceControllerOptions } from './service-controller.js';
export { planService, circuitBreakerThreshold, startBackoffMs } from './service-plan.js';
export type { ServicePlan, ServiceSnapshot, ServicePlanOptions } from './service-plan.js';
export { EcsMetricsController } from './ecs-metrics-controller.js';
export type { EcsMetricsControllerOptions } from './ecs-metrics-controller.js';
