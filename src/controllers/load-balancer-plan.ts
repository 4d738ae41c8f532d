/**
 * The load-balancer controller's decisions, as pure functions: each load balancer's data-plane
 * configuration from the elbv2 records, and what to write of each target (health, or its deletion
 * once drained) from what the data planes report.
 */
import type { Action, RuleCondition } from '@aws-sdk/client-elastic-load-balancing-v2';
import type { LoadBalancingSnapshot, LoadBalancerRecord, TargetGroupRecord, TargetRecord, Wire } from '../domain/index.js';
import { DRAINING, NOT_IN_USE, REGISTRATION_IN_PROGRESS, type ActionConfig, type ConditionConfig, type ListenerConfig, type LoadBalancerConfig, type TargetGroupConfig, type TargetHealth } from '../lb/index.js';

/** ELB's defaults for attributes a record may lack. */
const DEFAULT_IDLE_TIMEOUT_SECONDS = 60;
const DEFAULT_DEREGISTRATION_DELAY_SECONDS = 300;
const DEFAULT_STICKINESS_SECONDS = 86_400;

type TargetEntry = LoadBalancingSnapshot['targets'][number];

export interface BuiltConfig {
  config: LoadBalancerConfig;
  /** What the data plane cannot serve and leaves out (TLS listeners, authenticate actions, ...). */
  unsupported: string[];
}

/** The data-plane configuration of one load balancer: its listeners, their rules, and the target groups they forward to. */
export function buildLoadBalancerConfig(snapshot: LoadBalancingSnapshot, loadBalancer: LoadBalancerRecord): BuiltConfig {
  const unsupported: string[] = [];
  const groups = new Map(snapshot.targetGroups.map((g) => [g.TargetGroupArn, g]));
  const used = new Set<string>();
  const listeners: ListenerConfig[] = [];
  for (const listener of snapshot.listeners.filter((l) => l.LoadBalancerArn === loadBalancer.LoadBalancerArn).sort((a, b) => a.Port - b.Port)) {
    const protocol = listener.Protocol === 'HTTP' ? 'HTTP' : listener.Protocol === 'TCP' ? 'TCP' : undefined;
    if (!protocol) {
      unsupported.push(`listener ${listener.ListenerArn}: protocol ${listener.Protocol}`);
      continue;
    }
    const defaultAction = actionOf(listener.DefaultActions ?? [], groups);
    if (typeof defaultAction === 'string') {
      unsupported.push(`listener ${listener.ListenerArn}: ${defaultAction}`);
      continue;
    }
    const rules = protocol === 'TCP' ? [] : snapshot.rules
      .filter((r) => r.ListenerArn === listener.ListenerArn && r.Priority !== 'default')
      .sort((a, b) => Number(a.Priority) - Number(b.Priority))
      .flatMap((rule) => {
        const action = actionOf(rule.Actions ?? [], groups);
        const conditions = (rule.Conditions ?? []).map(conditionOf);
        const problem = typeof action === 'string' ? action : conditions.find((c): c is string => typeof c === 'string');
        if (problem !== undefined || typeof action === 'string') {
          // Left out whole: a rule without one of its conditions would match more than it says.
          unsupported.push(`rule ${rule.RuleArn}: ${problem}`);
          return [];
        }
        return [{ priority: Number(rule.Priority), conditions: conditions as ConditionConfig[], action }];
      });
    for (const action of [defaultAction, ...rules.map((r) => r.action)]) {
      if (action.type === 'forward') for (const g of action.targetGroups) used.add(g.targetGroupId);
    }
    listeners.push({ port: listener.Port, protocol, rules, defaultAction });
  }
  const targetsByGroup = new Map<string, TargetEntry[]>();
  for (const t of snapshot.targets) targetsByGroup.set(t.value.TargetGroupArn, [...(targetsByGroup.get(t.value.TargetGroupArn) ?? []), t]);
  const targetGroups = [...used].sort().map((arn) => targetGroupConfig(groups.get(arn)!, loadBalancer, targetsByGroup.get(arn) ?? []));
  const idle = Number(loadBalancer.attributes['idle_timeout.timeout_seconds'] ?? DEFAULT_IDLE_TIMEOUT_SECONDS);
  return {
    config: { type: loadBalancer.Type, idleTimeoutSeconds: Number.isFinite(idle) && idle > 0 ? idle : DEFAULT_IDLE_TIMEOUT_SECONDS, listeners, targetGroups },
    unsupported,
  };
}

/** A listener's or rule's terminal action (ELB runs authenticate actions first, then this one); a string says why it cannot be served. */
function actionOf(actions: Wire<Action>[], groups: Map<string, TargetGroupRecord>): ActionConfig | string {
  const sorted = [...actions].sort((a, b) => (a.Order ?? 0) - (b.Order ?? 0));
  const authenticate = sorted.find((a) => a.Type?.startsWith('authenticate') || a.Type === 'jwt-validation');
  if (authenticate) return `action ${authenticate.Type}`;
  const action = sorted.at(-1);
  switch (action?.Type) {
    case 'forward': {
      const tuples = action.ForwardConfig?.TargetGroups?.length
        ? action.ForwardConfig.TargetGroups.map((t) => ({ targetGroupId: t.TargetGroupArn ?? '', weight: t.Weight ?? 1 }))
        : [{ targetGroupId: action.TargetGroupArn ?? '', weight: 1 }];
      // A target group deleted meanwhile takes no traffic; the others share it.
      return { type: 'forward', targetGroups: tuples.filter((t) => groups.has(t.targetGroupId)) };
    }
    case 'fixed-response': {
      const c = action.FixedResponseConfig;
      return {
        type: 'fixed-response', statusCode: Number(c?.StatusCode ?? 503),
        ...(c?.ContentType !== undefined ? { contentType: c.ContentType } : {}), ...(c?.MessageBody !== undefined ? { messageBody: c.MessageBody } : {}),
      };
    }
    case 'redirect': {
      const c = action.RedirectConfig;
      return {
        type: 'redirect', statusCode: c?.StatusCode === 'HTTP_302' ? 302 : 301,
        protocol: c?.Protocol ?? '#{protocol}', host: c?.Host ?? '#{host}', port: c?.Port ?? '#{port}', path: c?.Path ?? '/#{path}', query: c?.Query ?? '#{query}',
      };
    }
    default:
      return `action ${action?.Type ?? '(none)'}`;
  }
}

function conditionOf(condition: Wire<RuleCondition>): ConditionConfig | string {
  if (condition.RegexValues?.length) return `condition ${condition.Field} with RegexValues`;
  switch (condition.Field) {
    case 'path-pattern': return { field: 'path-pattern', values: condition.PathPatternConfig?.Values ?? condition.Values ?? [] };
    case 'host-header': return { field: 'host-header', values: condition.HostHeaderConfig?.Values ?? condition.Values ?? [] };
    case 'http-header': return { field: 'http-header', headerName: condition.HttpHeaderConfig?.HttpHeaderName ?? '', values: condition.HttpHeaderConfig?.Values ?? [] };
    case 'query-string': return {
      field: 'query-string',
      values: (condition.QueryStringConfig?.Values ?? []).map((v) => ({ ...(v.Key !== undefined ? { key: v.Key } : {}), value: v.Value ?? '' })),
    };
    default: return `condition ${condition.Field}`;
  }
}

function targetGroupConfig(group: TargetGroupRecord, loadBalancer: LoadBalancerRecord, targets: TargetEntry[]): TargetGroupConfig {
  const attr = group.attributes;
  const stickiness = attr['stickiness.enabled'] === 'true' && (attr['stickiness.type'] ?? 'lb_cookie') === 'lb_cookie' && loadBalancer.Type === 'application';
  const port = group.HealthCheckPort && group.HealthCheckPort !== 'traffic-port' ? Number(group.HealthCheckPort) : 'traffic-port';
  return {
    targetGroupId: group.TargetGroupArn,
    algorithm: attr['load_balancing.algorithm.type'] === 'least_outstanding_requests' ? 'least_outstanding_requests' : 'round_robin',
    slowStartSeconds: Number(attr['slow_start.duration_seconds'] ?? 0) || 0,
    ...(stickiness ? { stickinessSeconds: Number(attr['stickiness.lb_cookie.duration_seconds'] ?? DEFAULT_STICKINESS_SECONDS) || DEFAULT_STICKINESS_SECONDS } : {}),
    healthCheck: {
      // HTTPS checks are made as HTTP: the data plane does not speak TLS to targets yet.
      protocol: group.HealthCheckProtocol === 'HTTP' || group.HealthCheckProtocol === 'HTTPS' ? 'HTTP' : 'TCP',
      port: typeof port === 'number' && Number.isInteger(port) ? port : 'traffic-port',
      path: group.HealthCheckPath ?? '/',
      intervalSeconds: group.HealthCheckIntervalSeconds ?? 30,
      timeoutSeconds: group.HealthCheckTimeoutSeconds ?? 5,
      healthyThreshold: group.HealthyThresholdCount ?? 5,
      unhealthyThreshold: group.UnhealthyThresholdCount ?? 2,
      matcher: group.Matcher?.HttpCode ?? '200',
    },
    targets: targets.map(({ value: t }) => ({ targetId: targetIdOf(t), address: t.address, port: t.Port, draining: t.deregisteredAt !== undefined })),
  };
}

/** A target's identity within its group, as the data plane knows it: ELB's `<Id>:<Port>`. */
export const targetIdOf = (target: TargetRecord): string => `${target.Id}:${target.Port}`;

export const INTERNAL_ERROR: TargetHealth = { State: 'unhealthy', Reason: 'Elb.InternalError', Description: 'Health checks failed due to an internal error' };

export interface TargetPlanInput {
  targets: TargetEntry[];
  targetGroups: TargetGroupRecord[];
  /** Health reported by the data planes: target group ARN → target id → health. */
  health: Map<string, Map<string, TargetHealth>>;
  /** Target groups some load balancer forwards to (whether or not its data plane runs). */
  inUse: Set<string>;
  /** Target groups whose load balancer's data plane failed: no health checks run for them. */
  failed: Set<string>;
  nowMs: number;
}

export interface TargetPlan {
  healthWrites: { entry: TargetEntry; health: TargetHealth }[];
  /** Deregistered targets whose deregistration delay has passed (or whose group no load balancer uses). */
  deletions: TargetEntry[];
  /** When the next draining ends, if any. */
  wakeAfterMs?: number;
}

/**
 * What to write of each target: its health as the data plane reports it (only when it changed),
 * `unused` when no load balancer forwards to its group, `draining` from its deregistration until
 * the group's `deregistration_delay.timeout_seconds` (default 300) has passed, then its deletion.
 * `deregisteredAt` is in epoch seconds, as every timestamp in the records.
 */
export function planTargets(input: TargetPlanInput): TargetPlan {
  const groups = new Map(input.targetGroups.map((g) => [g.TargetGroupArn, g]));
  const plan: TargetPlan = { healthWrites: [], deletions: [] };
  for (const entry of input.targets) {
    const target = entry.value;
    const inUse = input.inUse.has(target.TargetGroupArn);
    let health: TargetHealth | undefined;
    if (target.deregisteredAt !== undefined) {
      const delay = Number(groups.get(target.TargetGroupArn)?.attributes['deregistration_delay.timeout_seconds'] ?? DEFAULT_DEREGISTRATION_DELAY_SECONDS);
      const dueMs = (target.deregisteredAt + (Number.isFinite(delay) ? delay : DEFAULT_DEREGISTRATION_DELAY_SECONDS)) * 1000;
      if (!inUse || dueMs <= input.nowMs) {
        plan.deletions.push(entry);
        continue;
      }
      plan.wakeAfterMs = Math.min(plan.wakeAfterMs ?? Infinity, dueMs - input.nowMs);
      health = DRAINING;
    } else if (!inUse) {
      health = NOT_IN_USE;
    } else {
      health = input.health.get(target.TargetGroupArn)?.get(targetIdOf(target))
        ?? (input.failed.has(target.TargetGroupArn) ? INTERNAL_ERROR : REGISTRATION_IN_PROGRESS);
    }
    const current = target.health;
    if (current.State !== health.State || current.Reason !== health.Reason || current.Description !== health.Description) plan.healthWrites.push({ entry, health });
  }
  return plan;
}
