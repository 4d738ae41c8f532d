export {
  MetricStore, MetricSeriesLimitError, isReservedNamespace, STATISTICS, DEFAULT_RETENTION_TIERS, DEFAULT_MAX_SERIES, seriesKey, singleValue,
} from './metric-store.js';
export type {
  Statistic, Dimensions, MetricIdentity, StatisticSet, MetricDatum, StatisticsQuery, Datapoint, ListMetricsQuery,
  RetentionTier, MetricStoreOptions,
} from './metric-store.js';
export { ECS_NAMESPACE, CONTAINER_INSIGHTS_NAMESPACE, ECS_METRIC, ECS_DIMENSION } from './ecs-metric-names.js';
export { utilizationData, capacityData } from './ecs-metrics.js';
export type { MetricsCluster, MetricsTask, MetricsInstance, ReceivedSample } from './ecs-metrics.js';
export { evaluateAlarm, evaluationSpan, breaches, COMPARISON_OPERATORS, TREAT_MISSING_DATA } from './alarm-evaluation.js';
export type { AlarmRule, AlarmVerdict, AlarmState, ComparisonOperator, TreatMissingData } from './alarm-evaluation.js';
export { evaluateExpression, referencedIds, MetricMathError } from './metric-math.js';
export type { Series, MathValue } from './metric-math.js';
export { targetGroupData, ELB_NAMESPACE } from './elb-metrics.js';
export type { TargetGroupCounters } from './elb-metrics.js';
