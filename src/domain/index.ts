export type { DomainContext, Wire } from './context.js';
export * from './clusters.js';
export * from './task-definitions.js';
export * from './tasks.js';
export * from './container-instances.js';
export * from './tagging.js';
export * from './services.js';
export type {
  TaskRecord, ContainerInstanceRecord, TaskDefinitionRecord, ServiceRecord, DeploymentRecord,
  LoadBalancerRecord, ListenerRecord, RuleRecord, TargetGroupRecord, TargetRecord,
} from './records.js';
export { keys } from './keys.js';
export * from './digests.js';
export * from './manifests.js';
export * from './repositories.js';
export * from './images.js';
export * from './lifecycle-policy.js';
export type {
  ScalableTargetRecord, ScalingPolicyRecord, ScheduledActionRecord, ScalingActivityRecord, ScalingPolicyState, ScheduledActionState,
} from './autoscaling-records.js';
export * from './scalable-targets.js';
export * from './scaling-policies.js';
export * from './scheduled-actions.js';
export * from './scaling-activities.js';
export * from './alarm-actions.js';
export { parseSchedule, latestRunBetween, validateTimezone } from './schedule-expression.js';
export type { Schedule, ScheduleWindow } from './schedule-expression.js';
export * from './load-balancers.js';
export * from './listeners.js';
export * from './listener-rules.js';
export * from './elbv2-tags.js';
export { parseElbArn, newElbId } from './elbv2-arns.js';
export type { ElbResourceRef } from './elbv2-arns.js';
export { requireTargetGroup, retryOnConflict, pageWithMarker } from './elbv2-store.js';
export type { StoredAction, StoredCondition } from './elbv2-routing.js';
export * from './metrics-view.js';
export * from './alarms.js';
