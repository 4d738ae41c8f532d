/**
 * The desired configuration of one load balancer's data plane, in ELB's terms but free of the API's
 * shapes: what the load-balancer controller builds from the elbv2 records and hands to
 * `HaproxyLoadBalancer.apply`. Every string here may come from a user; the HAProxy configuration
 * generator escapes all of them.
 */

export interface LoadBalancerConfig {
  type: 'application' | 'network';
  /** `idle_timeout.timeout_seconds`: how long a connection may stay idle (ELB default 60). */
  idleTimeoutSeconds: number;
  listeners: ListenerConfig[];
  /** Every target group a listener or rule forwards to; others are not part of the data plane. */
  targetGroups: TargetGroupConfig[];
}

export interface ListenerConfig {
  port: number;
  /** HTTP listeners run in `mode http` (rules apply), TCP ones in `mode tcp` (default action only). */
  protocol: 'HTTP' | 'TCP';
  /** Rules in the order they are evaluated (ascending priority); the first match wins. */
  rules: RuleConfig[];
  /** The listener's default action: what a request no rule matches gets. */
  defaultAction: ActionConfig;
}

export interface RuleConfig {
  priority: number;
  /** All of them must match (ELB: the conditions of a rule are ANDed, the values of one ORed). */
  conditions: ConditionConfig[];
  action: ActionConfig;
}

/** ELB's rule conditions. Values use ELB's wildcards: `*` any run of characters, `?` exactly one. */
export type ConditionConfig =
  /** The request path (without the query), case-sensitive. */
  | { field: 'path-pattern'; values: string[] }
  /** The Host header without its port, case-insensitive. */
  | { field: 'host-header'; values: string[] }
  /** One header's value, case-insensitive (name and value). */
  | { field: 'http-header'; headerName: string; values: string[] }
  /** A `key=value` pair of the query string (any key when `key` is absent), case-insensitive. */
  | { field: 'query-string'; values: { key?: string; value: string }[] };

export type ActionConfig =
  /** Weighted forward: a request goes to a group with probability weight / sum of weights. */
  | { type: 'forward'; targetGroups: { targetGroupId: string; weight: number }[] }
  | { type: 'fixed-response'; statusCode: number; contentType?: string; messageBody?: string }
  /**
   * ELB's redirect: each part is literal text or holds the placeholders `#{protocol}`, `#{host}`,
   * `#{port}`, `#{path}` (the path without its leading `/`) and `#{query}`.
   */
  | { type: 'redirect'; statusCode: 301 | 302; protocol: string; host: string; port: string; path: string; query: string };

export interface TargetGroupConfig {
  /** Stable identity (the target group's ARN); names its HAProxy backend through a hash. */
  targetGroupId: string;
  algorithm: 'round_robin' | 'least_outstanding_requests';
  /** `slow_start.duration_seconds`: a new target's share ramps up over this long (0: off). */
  slowStartSeconds: number;
  /** `stickiness.*` with type `lb_cookie` on an application load balancer: the AWSALB cookie's lifetime. */
  stickinessSeconds?: number;
  healthCheck: HealthCheckConfig;
  targets: TargetConfig[];
}

export interface HealthCheckConfig {
  protocol: 'HTTP' | 'TCP';
  /** `traffic-port` (each target's own port) or a fixed port. */
  port: 'traffic-port' | number;
  /** HTTP checks: the path requested with GET. */
  path: string;
  intervalSeconds: number;
  timeoutSeconds: number;
  /** Consecutive successes before an unhealthy (or new) target is healthy. */
  healthyThreshold: number;
  /** Consecutive failures before a healthy target is unhealthy. */
  unhealthyThreshold: number;
  /** HTTP checks: ELB's HttpCode matcher (`200`, `200,202`, `200-299`). */
  matcher: string;
}

export interface TargetConfig {
  /** Stable identity within its group (ELB's `<Id>:<Port>`). */
  targetId: string;
  /** An IPv4 or IPv6 address, or a host name. */
  address: string;
  port: number;
  /** Deregistered and waiting out the deregistration delay: no new requests, open ones finish. */
  draining: boolean;
}
