/**
 * Listener actions and rule conditions: ELB's rules on them, and the one normalized form they are
 * stored in, so the data plane reads a single shape (pure, no I/O).
 *
 * Stored forms (what DescribeListeners/DescribeRules answer, as ELB does):
 *   forward         { Type, Order, TargetGroupArn (only with one target group),
 *                     ForwardConfig: { TargetGroups: [{ TargetGroupArn, Weight }], TargetGroupStickinessConfig: { Enabled, DurationSeconds? } } }
 *   fixed-response  { Type, Order, FixedResponseConfig: { StatusCode, ContentType?, MessageBody? } }
 *   redirect        { Type, Order, RedirectConfig: { Protocol, Port, Host, Path, Query, StatusCode } }, omitted parts as
 *                   ELB's tokens (#{protocol}, #{port}, #{host}, /#{path}, #{query})
 *   host-header / path-pattern  { Field, Values, HostHeaderConfig|PathPatternConfig: { Values } }
 *   http-header     { Field, HttpHeaderConfig: { HttpHeaderName, Values } }
 *   query-string    { Field, QueryStringConfig: { Values: [{ Key?, Value }] } }
 *
 * Every string that reaches the data plane's configuration is checked here: printable ASCII only
 * (no control characters, no newlines), within ELB's lengths and character sets.
 */
import type { Action, RuleCondition } from '@aws-sdk/client-elastic-load-balancing-v2';
import { ElbValidationError, InvalidLoadBalancerActionException } from '../model/index.js';
import type { Wire } from './context.js';

export type StoredAction = Wire<Action>;
export type StoredCondition = Wire<RuleCondition>;

export type LoadBalancerType = 'application' | 'network';

/** ELB: up to 5 target groups in one forward action, weights 0-999. */
const MAX_FORWARD_TARGET_GROUPS = 5;
const MAX_WEIGHT = 999;
const MAX_STICKINESS_SECONDS = 604_800;
/** ELB: up to 3 values per condition and 5 per rule; host-header and path-pattern at most once each. */
const MAX_VALUES_PER_CONDITION = 3;
const MAX_VALUES_PER_RULE = 5;
const MAX_CONDITION_VALUE_LENGTH = 128;
const MAX_HEADER_NAME_LENGTH = 40;
const FIXED_RESPONSE_CONTENT_TYPES = ['text/plain', 'text/css', 'text/html', 'application/javascript', 'application/json'];
const REDIRECT_TOKENS = new Set(['#{protocol}', '#{port}', '#{host}', '#{path}', '#{query}']);

const HOST_PATTERN = /^[A-Za-z0-9.*?-]+$/;
const PATH_PATTERN = /^[A-Za-z0-9_\-.$/~"'@:+&*?]+$/;
const HEADER_NAME = /^[A-Za-z0-9!#$%&'+.^_`|~-]+$/;
/** Printable ASCII: what may reach HAProxy's configuration from a header value or query string. */
const PRINTABLE = /^[\x20-\x7e]+$/;
const NO_SPACE_PRINTABLE = /^[\x21-\x7e]+$/;

/**
 * `actions` checked and normalized for a listener of a `type` load balancer (a listener's default
 * actions or a rule's). Wharf has no certificates, hence no HTTPS listener, so only one
 * terminating action is possible: forward, fixed-response or redirect (network load balancers:
 * forward only). Does not check that target groups exist: see `forwardedTargetGroupArns`.
 */
export function normalizeActions(actions: StoredAction[] | undefined, type: LoadBalancerType, field = 'Actions'): StoredAction[] {
  if (actions === undefined || actions.length === 0) throw new ElbValidationError(`${field}: at least one action must be specified`);
  for (const action of actions) {
    if (action.Type === 'authenticate-oidc' || action.Type === 'authenticate-cognito' || action.Type === 'jwt-validation') {
      throw new InvalidLoadBalancerActionException(`Action type '${action.Type}' is supported only on HTTPS listeners, and Wharf has no certificates for HTTPS`);
    }
  }
  if (actions.length > 1) {
    throw new InvalidLoadBalancerActionException(`${field}: exactly one forward, fixed-response or redirect action must be specified, got ${actions.length}`);
  }
  const action = actions[0]!;
  if (type === 'network' && action.Type !== 'forward') {
    throw new InvalidLoadBalancerActionException(`Action type '${String(action.Type)}' is not supported for network load balancers; use 'forward'`);
  }
  const order = action.Order ?? 1;
  const configs = {
    forward: action.ForwardConfig !== undefined || action.TargetGroupArn !== undefined,
    'fixed-response': action.FixedResponseConfig !== undefined,
    redirect: action.RedirectConfig !== undefined,
  };
  for (const [type, given] of Object.entries(configs)) {
    if (given && type !== action.Type) {
      throw new ElbValidationError(`A ${type} configuration cannot be given for an action of type '${String(action.Type)}'`);
    }
  }
  switch (action.Type) {
    case 'forward': return [{ Type: 'forward', Order: order, ...normalizeForward(action, type) }];
    case 'fixed-response': return [{ Type: 'fixed-response', Order: order, FixedResponseConfig: normalizeFixedResponse(action) }];
    case 'redirect': return [{ Type: 'redirect', Order: order, RedirectConfig: normalizeRedirect(action) }];
    default: throw new ElbValidationError(`Action type '${String(action.Type)}' is not supported`);
  }
}

function normalizeForward(action: StoredAction, type: LoadBalancerType): Pick<StoredAction, 'TargetGroupArn' | 'ForwardConfig'> {
  const given = action.ForwardConfig?.TargetGroups ?? [];
  if (action.TargetGroupArn !== undefined && given.length > 0 &&
    (given.length !== 1 || given[0]?.TargetGroupArn !== action.TargetGroupArn)) {
    throw new ElbValidationError('TargetGroupArn and ForwardConfig name different target groups: give one target group, or use ForwardConfig alone');
  }
  const groups = given.length > 0 ? given : action.TargetGroupArn !== undefined ? [{ TargetGroupArn: action.TargetGroupArn }] : [];
  if (groups.length === 0) throw new ElbValidationError('A forward action must specify a TargetGroupArn or ForwardConfig.TargetGroups');
  if (groups.length > MAX_FORWARD_TARGET_GROUPS) {
    throw new ElbValidationError(`A forward action can have at most ${MAX_FORWARD_TARGET_GROUPS} target groups, got ${groups.length}`);
  }
  if (type === 'network' && groups.length > 1) throw new ElbValidationError('A network load balancer forwards to one target group only');
  const seen = new Set<string>();
  const tuples = groups.map((g) => {
    if (g.TargetGroupArn === undefined) throw new ElbValidationError('Each ForwardConfig.TargetGroups entry must have a TargetGroupArn');
    if (seen.has(g.TargetGroupArn)) throw new ElbValidationError(`Target group '${g.TargetGroupArn}' is given more than once in a forward action`);
    seen.add(g.TargetGroupArn);
    const weight = g.Weight ?? 1;
    if (weight < 0 || weight > MAX_WEIGHT) throw new ElbValidationError(`Target group weight must be between 0 and ${MAX_WEIGHT}, got ${weight}`);
    return { TargetGroupArn: g.TargetGroupArn, Weight: weight };
  });
  const stickiness = action.ForwardConfig?.TargetGroupStickinessConfig;
  if (stickiness?.Enabled === true && type === 'network') throw new ElbValidationError('Target group stickiness is not supported for network load balancers');
  const duration = stickiness?.DurationSeconds;
  if (duration !== undefined && (duration < 1 || duration > MAX_STICKINESS_SECONDS)) {
    throw new ElbValidationError(`TargetGroupStickinessConfig.DurationSeconds must be between 1 and ${MAX_STICKINESS_SECONDS}, got ${duration}`);
  }
  if (stickiness?.Enabled === true && duration === undefined) {
    throw new ElbValidationError('TargetGroupStickinessConfig.DurationSeconds must be specified when stickiness is enabled');
  }
  const stickinessConfig = stickiness?.Enabled === true ? { Enabled: true, DurationSeconds: duration } : { Enabled: false };
  return {
    ...(tuples.length === 1 ? { TargetGroupArn: tuples[0]!.TargetGroupArn } : {}),
    ForwardConfig: { TargetGroups: tuples, TargetGroupStickinessConfig: stickinessConfig },
  };
}

function normalizeFixedResponse(action: StoredAction): NonNullable<StoredAction['FixedResponseConfig']> {
  const config = action.FixedResponseConfig;
  if (config?.StatusCode === undefined) throw new ElbValidationError('A fixed-response action must specify FixedResponseConfig.StatusCode');
  if (config.ContentType !== undefined && !FIXED_RESPONSE_CONTENT_TYPES.includes(config.ContentType)) {
    throw new ElbValidationError(`FixedResponseConfig.ContentType must be one of ${FIXED_RESPONSE_CONTENT_TYPES.join(', ')}, got '${config.ContentType}'`);
  }
  if (config.MessageBody !== undefined && /[\x00-\x08\x0b\x0c\x0e-\x1f\x7f]/.test(config.MessageBody)) {
    throw new ElbValidationError('FixedResponseConfig.MessageBody must not contain control characters other than tab and line breaks');
  }
  return {
    StatusCode: config.StatusCode,
    ...(config.ContentType !== undefined ? { ContentType: config.ContentType } : {}),
    ...(config.MessageBody !== undefined ? { MessageBody: config.MessageBody } : {}),
  };
}

function normalizeRedirect(action: StoredAction): NonNullable<StoredAction['RedirectConfig']> {
  const config = action.RedirectConfig;
  if (config?.StatusCode === undefined) throw new ElbValidationError('A redirect action must specify RedirectConfig.StatusCode');
  const normalized = {
    Protocol: config.Protocol ?? '#{protocol}',
    Port: config.Port ?? '#{port}',
    Host: config.Host ?? '#{host}',
    Path: config.Path ?? '/#{path}',
    Query: config.Query ?? '#{query}',
    StatusCode: config.StatusCode,
  };
  if (normalized.Port !== '#{port}' && !(/^\d{1,5}$/.test(normalized.Port) && Number(normalized.Port) >= 1 && Number(normalized.Port) <= 65535)) {
    throw new ElbValidationError(`RedirectConfig.Port must be a port between 1 and 65535 or #{port}, got '${normalized.Port}'`);
  }
  redirectPart('Host', normalized.Host);
  redirectPart('Path', normalized.Path);
  if (normalized.Query !== '') redirectPart('Query', normalized.Query);
  if (!normalized.Path.startsWith('/')) throw new ElbValidationError(`RedirectConfig.Path must start with '/', got '${normalized.Path}'`);
  if (normalized.Query.startsWith('?')) throw new ElbValidationError("RedirectConfig.Query must not include the leading '?'");
  if (normalized.Protocol === '#{protocol}' && normalized.Port === '#{port}' && normalized.Host === '#{host}' && normalized.Path === '/#{path}') {
    throw new InvalidLoadBalancerActionException('The redirect configuration is not valid: it redirects to the same protocol, port, host and path, a loop');
  }
  return normalized;
}

/** A redirect component: printable ASCII without spaces, and only ELB's #{...} tokens. */
function redirectPart(name: string, value: string): void {
  if (!NO_SPACE_PRINTABLE.test(value)) {
    throw new ElbValidationError(`RedirectConfig.${name} must be printable ASCII without spaces or control characters, got '${printable(value)}'`);
  }
  for (const token of value.match(/#\{[^}]*\}?/g) ?? []) {
    if (!REDIRECT_TOKENS.has(token)) throw new ElbValidationError(`RedirectConfig.${name} has an unknown token '${token}'`);
  }
}

/** The target groups `actions` forward to, each once. */
export function forwardedTargetGroupArns(actions: readonly StoredAction[]): string[] {
  return [...new Set(actions.flatMap((a) => (a.ForwardConfig?.TargetGroups ?? []).map((g) => g.TargetGroupArn ?? '')))].filter((arn) => arn !== '');
}

/**
 * A rule's `conditions` checked and normalized. Wharf routes on host-header, path-pattern,
 * http-header and query-string (the config form or the legacy Field/Values form); other fields and
 * regular-expression values are refused rather than ignored.
 */
export function normalizeConditions(conditions: StoredCondition[] | undefined): StoredCondition[] {
  if (conditions === undefined || conditions.length === 0) throw new ElbValidationError('A rule must have at least one condition');
  const once = new Set<string>();
  let total = 0;
  const normalized = conditions.map((condition, i) => {
    const where = `Conditions[${i + 1}]`;
    const field = condition.Field;
    if (field === undefined) throw new ElbValidationError(`${where}: a condition must specify a Field`);
    if (condition.RegexValues !== undefined || condition.HostHeaderConfig?.RegexValues !== undefined ||
      condition.PathPatternConfig?.RegexValues !== undefined || condition.HttpHeaderConfig?.RegexValues !== undefined) {
      throw new ElbValidationError(`${where}: regular expression conditions (RegexValues) are not supported by Wharf`);
    }
    const given = {
      'host-header': condition.HostHeaderConfig, 'path-pattern': condition.PathPatternConfig,
      'http-header': condition.HttpHeaderConfig, 'query-string': condition.QueryStringConfig,
      'http-request-method': condition.HttpRequestMethodConfig, 'source-ip': condition.SourceIpConfig,
    };
    for (const [configField, config] of Object.entries(given)) {
      if (config !== undefined && configField !== field) {
        throw new ElbValidationError(`${where}: the configuration for '${configField}' cannot be given for the field '${field}'`);
      }
    }
    if (field === 'host-header' || field === 'path-pattern') {
      if (once.has(field)) throw new ElbValidationError(`A rule can have at most one '${field}' condition`);
      once.add(field);
    }
    const result = normalizeCondition(where, field, condition);
    total += result.count;
    return result.condition;
  });
  if (total > MAX_VALUES_PER_RULE) {
    throw new ElbValidationError(`A rule can have at most ${MAX_VALUES_PER_RULE} condition values in all, got ${total}`);
  }
  return normalized;
}

function normalizeCondition(where: string, field: string, condition: StoredCondition): { condition: StoredCondition; count: number } {
  switch (field) {
    case 'host-header':
    case 'path-pattern': {
      const config = field === 'host-header' ? condition.HostHeaderConfig : condition.PathPatternConfig;
      if (condition.Values !== undefined && config !== undefined) {
        throw new ElbValidationError(`${where}: give either Values or the ${field} configuration, not both`);
      }
      if (condition.Values !== undefined && condition.Values.length > 1) {
        throw new ElbValidationError(`${where}: the legacy Values form takes one value; use the ${field} configuration for several`);
      }
      const values = checkValues(where, condition.Values ?? config?.Values, (value) => {
        const [pattern, allowed] = field === 'host-header'
          ? [HOST_PATTERN, 'letters, digits, hyphens, periods and the wildcards * and ?']
          : [PATH_PATTERN, "letters, digits and _ - . $ / ~ \" ' @ : + & * ?"];
        if (!pattern.test(value)) throw new ElbValidationError(`${where}: the ${field} value '${printable(value)}' may only contain ${allowed}`);
      });
      const configName = field === 'host-header' ? 'HostHeaderConfig' : 'PathPatternConfig';
      return { condition: { Field: field, Values: values, [configName]: { Values: values } }, count: values.length };
    }
    case 'http-header': {
      if (condition.Values !== undefined) throw new ElbValidationError(`${where}: http-header conditions take HttpHeaderConfig, not Values`);
      const name = condition.HttpHeaderConfig?.HttpHeaderName;
      if (name === undefined || name.length === 0 || name.length > MAX_HEADER_NAME_LENGTH || !HEADER_NAME.test(name)) {
        throw new ElbValidationError(`${where}: HttpHeaderConfig.HttpHeaderName must be 1-${MAX_HEADER_NAME_LENGTH} header name characters (RFC 7230, no wildcards), got '${printable(name ?? '')}'`);
      }
      if (name.toLowerCase() === 'host') throw new ElbValidationError(`${where}: use a host-header condition to match the Host header`);
      const values = checkValues(where, condition.HttpHeaderConfig?.Values, (value) => {
        if (!PRINTABLE.test(value)) throw new ElbValidationError(`${where}: the http-header value '${printable(value)}' must be printable ASCII, without control characters`);
      });
      return { condition: { Field: field, HttpHeaderConfig: { HttpHeaderName: name, Values: values } }, count: values.length };
    }
    case 'query-string': {
      if (condition.Values !== undefined) throw new ElbValidationError(`${where}: query-string conditions take QueryStringConfig, not Values`);
      const pairs = condition.QueryStringConfig?.Values ?? [];
      if (pairs.length === 0) throw new ElbValidationError(`${where}: QueryStringConfig.Values must have at least one key/value pair`);
      if (pairs.length > MAX_VALUES_PER_CONDITION) {
        throw new ElbValidationError(`${where}: a condition can have at most ${MAX_VALUES_PER_CONDITION} values, got ${pairs.length}`);
      }
      const checked = pairs.map((pair) => {
        if (pair.Value === undefined) throw new ElbValidationError(`${where}: each query-string pair must have a Value`);
        queryStringPart(where, 'Value', pair.Value);
        if (pair.Key !== undefined) queryStringPart(where, 'Key', pair.Key);
        return pair.Key === undefined ? { Value: pair.Value } : { Key: pair.Key, Value: pair.Value };
      });
      return { condition: { Field: field, QueryStringConfig: { Values: checked } }, count: checked.length };
    }
    default:
      throw new ElbValidationError(`${where}: the condition field '${field}' is not supported by Wharf; use host-header, path-pattern, http-header or query-string`);
  }
}

function queryStringPart(where: string, name: string, value: string): void {
  if (value.length === 0 || value.length > MAX_CONDITION_VALUE_LENGTH || !NO_SPACE_PRINTABLE.test(value)) {
    throw new ElbValidationError(`${where}: a query-string ${name} must be 1-${MAX_CONDITION_VALUE_LENGTH} printable ASCII characters without spaces, got '${printable(value)}'`);
  }
}

function checkValues(where: string, values: string[] | undefined, check: (value: string) => void): string[] {
  if (values === undefined || values.length === 0) throw new ElbValidationError(`${where}: a condition must have at least one value`);
  if (values.length > MAX_VALUES_PER_CONDITION) {
    throw new ElbValidationError(`${where}: a condition can have at most ${MAX_VALUES_PER_CONDITION} values, got ${values.length}`);
  }
  for (const value of values) {
    if (value.length === 0 || value.length > MAX_CONDITION_VALUE_LENGTH) {
      throw new ElbValidationError(`${where}: condition values must be 1-${MAX_CONDITION_VALUE_LENGTH} characters long`);
    }
    check(value);
  }
  return [...values];
}

/** A value safe to quote in a message: control characters shown as \xNN. */
function printable(value: string): string {
  return value.replace(/[\x00-\x1f\x7f]/g, (c) => `\\x${c.charCodeAt(0).toString(16).padStart(2, '0')}`);
}
