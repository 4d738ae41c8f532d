export type { ActionConfig, ConditionConfig, HealthCheckConfig, ListenerConfig, LoadBalancerConfig, RuleConfig, TargetConfig, TargetGroupConfig } from './config.js';
export { HaproxyLoadBalancer, DataPlaneError } from './haproxy-load-balancer.js';
export type { ApplyResult, HaproxyLoadBalancerOptions, Observation, TrafficCounters, WorkerCounters } from './haproxy-load-balancer.js';
export type { HttpCodeCounts, ServerTraffic } from './show-stat.js';
export { renderHaproxyConfig, isUsableAddress, MIN_SLOTS } from './haproxy-config.js';
export type { HaproxyFiles, RenderOptions, RenderedConfig } from './haproxy-config.js';
export { NOT_IN_USE, ADDRESS_UNUSABLE, DRAINING, REGISTRATION_IN_PROGRESS } from './target-health.js';
export type { TargetHealth, TargetHealthState } from './target-health.js';
