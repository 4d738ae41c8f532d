/**
 * Renders a LoadBalancerConfig as an HAProxy configuration. Pure: the same input gives the same
 * text. Nothing from the API reaches the text unescaped: target groups are named by hashes of their
 * ids and targets sit in numbered server slots (addresses must be IP addresses); match values become regular expressions made of letters, digits
 * and `\xHH` escapes inside single quotes (so no quote, `$`, `#` or space can end a word); free
 * text (content types, redirect locations, health-check paths) is double-quoted with HAProxy's
 * escapes; response bodies go to files, never into the configuration.
 */
import { createHash } from 'node:crypto';
import { isIP } from 'node:net';
import type { ActionConfig, ConditionConfig, HealthCheckConfig, ListenerConfig, LoadBalancerConfig, TargetConfig, TargetGroupConfig } from './config.js';

/** Where the rendered configuration points HAProxy at files of the data plane. */
export interface HaproxyFiles {
  /** The worker's runtime API (`stats socket`), which also hands listeners over on reload. */
  runtimeSocket: string;
  /** Written from `show servers state` before each reload, so targets keep health and drain state. */
  serverStateFile: string;
  /** Directory of fixed-response bodies (`bodyFileName`). */
  bodyDir: string;
}

export interface RenderOptions {
  files: HaproxyFiles;
  /**
   * Each target group's server slots in order, a hole being a free slot (`disabled`, no address).
   * Absent for a group: its targets, then free slots up to `slotCapacity`.
   */
  slots?: Map<string, readonly (TargetConfig | undefined)[]>;
  /** The address listeners bind (`0.0.0.0` for every interface). */
  bindAddress: string;
  /** Worker threads; HAProxy's default (one per CPU) when absent. */
  threads?: number;
}

export interface RenderedConfig {
  text: string;
  /** Fixed-response bodies to write into `files.bodyDir` before HAProxy reads the configuration: name → content. */
  bodies: Map<string, string>;
}

/** A target's server weight: large enough for slow start to ramp smoothly. */
export const TARGET_WEIGHT = 100;
/** How long idle connections to a target are kept for reuse: HAProxy's default for configured servers. */
const IDLE_PURGE_DELAY_MS = 5000;
/** Connection attempts to targets, each to another one where possible (a refused connect sent nothing, so it is safe to retry). */
const CONNECT_RETRIES = 3;
/** How long a target may take to accept a connection before HAProxy tries another. */
const CONNECT_TIMEOUT_MS = 5000;
/** Old workers left by reloads serve their open connections at most this long. */
const HARD_STOP_AFTER_MS = 15 * 60_000;
/** The cookie of ELB's duration-based stickiness. */
export const STICKINESS_COOKIE = 'AWSALB';

const hash = (text: string): string => createHash('sha256').update(text).digest('hex').slice(0, 16);

/** The HAProxy backend of a target group. */
export const backendName = (targetGroupId: string): string => `tg_${hash(targetGroupId)}`;
/**
 * The HAProxy server of slot `index` of a backend. Targets come and go by filling and emptying
 * slots (`set server ... addr`), so a server and its idle connections outlive the targets it
 * holds; a group that outgrows its slots gets more at run time (`add server`, see serverArguments).
 */
export const slotName = (index: number): string => `slot${index}`;
/** What every fail-open twin's name starts with. */
const FAIL_OPEN_PREFIX = 'failopen';
/**
 * The fail-open twin of slot `index`: a `backup` server without health checks at the slot's
 * target's address. ELB fails open: when no target of a group is healthy it routes to all of them
 * regardless of their health. With `option allbackups` HAProxy does exactly that with the twins:
 * while any slot is up only slots take traffic, when none is every twin in `ready` state shares
 * it. A twin is `ready` only while its target may take fail-open traffic (neither draining nor
 * still in its initial checks); its state never touches the target's reported health, which
 * comes from the slot's checks alone.
 */
export const failOpenName = (index: number): string => `${FAIL_OPEN_PREFIX}${index}`;
/** The fewest slots a backend has. */
export const MIN_SLOTS = 16;
/**
 * Slots a backend's configuration gets for `needed` slots: at least MIN_SLOTS, doubling. A group
 * that outgrows them at run time gets more with `add server`; the next reload renders this many
 * again for what it then holds, so it has room to grow without adding servers.
 */
export function slotCapacity(needed: number): number {
  let capacity = MIN_SLOTS;
  while (capacity < needed) capacity *= 2;
  return capacity;
}

/** The file holding a fixed-response body, named by its content. */
export const bodyFileName = (body: string): string => `body-${hash(body)}`;

/** Whether a target's address can fill a slot: an IP address (`set server addr` takes no host name). */
export function isUsableAddress(address: string): boolean {
  return isIP(address) !== 0;
}

/**
 * A word HAProxy reads back as exactly `text`: double-quoted, with `\`, `"` and `$` (environment
 * expansion) escaped and every control character written as `\xHH`.
 */
export function quoted(text: string): string {
  let out = '"';
  for (const ch of text) {
    const code = ch.codePointAt(0)!;
    if (ch === '\\' || ch === '"' || ch === '$') out += `\\${ch}`;
    else if (code < 0x20 || code === 0x7f) out += `\\x${code.toString(16).padStart(2, '0')}`;
    else out += ch;
  }
  return `${out}"`;
}

/**
 * A regular expression matching `text` literally, made only of letters, digits and `\xHH` escapes
 * (one per UTF-8 byte), so it survives single quotes and means nothing special to PCRE.
 */
function regexLiteral(text: string): string {
  let out = '';
  for (const byte of Buffer.from(text, 'utf8')) {
    const ch = String.fromCharCode(byte);
    out += /[A-Za-z0-9]/.test(ch) ? ch : `\\x${byte.toString(16).padStart(2, '0')}`;
  }
  return out;
}

/** ELB's wildcards as a regular expression: `*` any run of `anyChar`, `?` exactly one, the rest literal. */
export function wildcardRegex(pattern: string, anyChar = '.'): string {
  return pattern.split(/([*?])/).map((part) => (part === '*' ? `${anyChar}*` : part === '?' ? anyChar : regexLiteral(part))).join('');
}

/**
 * Text for a URL or a request line: bytes outside the printable ASCII range percent-encoded, so
 * no space, CR or LF can reach a header or a health check's request line.
 */
function urlSafe(text: string): string {
  let out = '';
  for (const byte of Buffer.from(text, 'utf8')) out += byte > 0x20 && byte < 0x7f ? String.fromCharCode(byte) : `%${byte.toString(16).toUpperCase().padStart(2, '0')}`;
  return out;
}

/** A content type for a header: ELB's own default when absent or not a printable header value. */
function headerValue(contentType: string | undefined): string {
  return contentType && /^[\x20-\x7e]+$/.test(contentType) ? contentType : 'text/plain; charset=utf-8';
}

/** ELB's HttpCode matcher (`200`, `200,202`, `200-299`) as an anchored regular expression on the status. */
export function statusRegex(matcher: string): string {
  const codes = new Set<number>();
  for (const part of matcher.split(',')) {
    const range = /^\s*(\d{3})(?:\s*-\s*(\d{3}))?\s*$/.exec(part);
    if (!range) continue;
    const low = Number(range[1]);
    const high = Number(range[2] ?? range[1]);
    for (let code = low; code <= Math.min(high, 599); code++) codes.add(code);
  }
  if (!codes.size) return '^$'; // no valid code: nothing matches, so the check fails visibly
  // Whole decades shrink to `20[0-9]` so that a wide range such as 200-499 fits on a config line.
  const alternatives: string[] = [];
  const sorted = [...codes].sort((a, b) => a - b);
  for (let i = 0; i < sorted.length;) {
    const code = sorted[i]!;
    const decade = Math.floor(code / 10);
    if (code % 10 === 0 && [...Array(10).keys()].every((d) => codes.has(code + d))) {
      alternatives.push(`${decade}[0-9]`);
      i += 10;
    } else {
      alternatives.push(String(code));
      i += 1;
    }
  }
  return `^(${alternatives.join('|')})$`;
}

const seconds = (value: number): string => `${Math.max(1, Math.round(value * 1000))}`;

function serverAddress(target: TargetConfig): string {
  return isIP(target.address) === 6 ? `[${target.address}]:${target.port}` : `${target.address}:${target.port}`;
}

/** Which of a slot's two servers: the slot itself, or its fail-open twin (see failOpenName). */
export type ServerRole = 'slot' | 'twin';

/**
 * The arguments of one of a slot's servers (its address, then its keywords): the one source for
 * both the configuration's `server` lines and the servers added at run time with `add server`.
 * A slot holds its target's address, or none and `disabled` when free; it carries the group's
 * health-check settings.
 *
 * A twin (see failOpenName) is always `disabled` here, the runtime API readies it. HAProxy 2.6
 * remembers a configured `disabled` through `set server state ready` and writes it to the
 * server-state file; at a reload it restores a server's saved state (maint, drain or ready) only
 * when the new configuration's `disabled` is the saved one. Were it not (a filled slot's twin
 * rendered enabled), HAProxy would take the configuration's word and leave a twin saved in
 * maintenance out of maintenance but down for good (it has no checks to bring it up), so its
 * target could never fail open.
 *
 * Every keyword is explicit and among those `add server` accepts in HAProxy 2.6, because a
 * server added at run time inherits neither `default-server` nor the defaults a configured server
 * gets. Two of those defaults keep a server's idle backend connections for reuse: `pool-max-conn
 * -1` (no limit; 0 for an added server) and `pool-purge-delay` (0 for an added server, which then
 * closes each connection after its response). Without them every request through an added server
 * opened a new connection (measured in bench:lb: 0.38× the throughput with `pool-max-conn -1`
 * alone). `non-stick`, which a twin would want, is refused there, so the backend's stick rule
 * leaves twins out itself (see renderBackend).
 */
export function serverArguments(targetGroup: TargetGroupConfig, role: ServerRole, target: TargetConfig | undefined): string {
  const address = target ? serverAddress(target) : '0.0.0.0:0';
  const args = role === 'twin' ? [address, 'disabled', 'backup'] : [address, ...(target ? [] : ['disabled'])];
  if (role === 'slot') {
    const check = targetGroup.healthCheck;
    args.push('check', 'inter', seconds(check.intervalSeconds), 'rise', String(check.healthyThreshold), 'fall', String(check.unhealthyThreshold));
    if (check.port !== 'traffic-port') args.push('port', String(check.port));
    if (targetGroup.slowStartSeconds > 0) args.push('slowstart', seconds(targetGroup.slowStartSeconds));
  }
  args.push('weight', String(TARGET_WEIGHT), 'pool-max-conn', '-1', 'pool-purge-delay', String(IDLE_PURGE_DELAY_MS));
  return args.join(' ');
}

/** Renders the whole configuration, with each target group's `targets` as its servers. */
export function renderHaproxyConfig(config: LoadBalancerConfig, options: RenderOptions): RenderedConfig {
  const bodies = new Map<string, string>();
  const idleMs = seconds(config.idleTimeoutSeconds);
  const lines: string[] = [
    'global',
    `  stats socket ${quoted(options.files.runtimeSocket)} mode 600 level admin expose-fd listeners`,
    `  server-state-file ${quoted(options.files.serverStateFile)}`,
    `  hard-stop-after ${HARD_STOP_AFTER_MS}`,
    // No maxconn: HAProxy derives it from the file-descriptor limit it runs under.
    ...(options.threads ? [`  nbthread ${options.threads}`] : []),
    '',
    'defaults',
    `  mode ${config.type === 'application' ? 'http' : 'tcp'}`,
    `  timeout connect ${CONNECT_TIMEOUT_MS}`,
    `  timeout client ${idleMs}`,
    `  timeout server ${idleMs}`,
    `  timeout http-keep-alive ${idleMs}`,
    `  retries ${CONNECT_RETRIES}`,
    '  option redispatch 1',
    '  load-server-state-from-file global',
  ];
  const groups = new Map(config.targetGroups.map((g) => [g.targetGroupId, g]));
  for (const listener of config.listeners) lines.push('', ...renderListener(listener, config, options, groups, bodies));
  for (const group of config.targetGroups) {
    const usable = group.targets.filter((t) => isUsableAddress(t.address));
    const slots = options.slots?.get(group.targetGroupId) ?? [...usable, ...Array<undefined>(slotCapacity(usable.length) - usable.length).fill(undefined)];
    lines.push('', ...renderBackend(group, slots, config));
  }
  return { text: lines.join('\n') + '\n', bodies };
}

function renderListener(listener: ListenerConfig, config: LoadBalancerConfig, options: RenderOptions,
  groups: Map<string, TargetGroupConfig>, bodies: Map<string, string>): string[] {
  const bind = isIP(options.bindAddress) === 6 ? `[${options.bindAddress}]:${listener.port}` : `${options.bindAddress}:${listener.port}`;
  const lines = [`frontend listener_${listener.port}`, `  bind ${quoted(bind)}`];
  if (listener.protocol === 'TCP' || config.type === 'network') {
    lines.push('  mode tcp');
    // A network load balancer has no rules; its default action forwards.
    lines.push(...renderForward(listener.defaultAction, '', groups, 'tcp'));
    return lines;
  }
  lines.push('  mode http',
    // At a reload the old worker would close its idle keep-alive connections at once, racing any
    // client that sends on one just then; with this it answers each one's next request with
    // `Connection: close` instead (or lets it reach the idle timeout, or hard-stop-after).
    '  option idle-close-on-response',
    '  option forwardfor',
    '  http-request set-header X-Forwarded-Proto http',
    `  http-request set-header X-Forwarded-Port ${listener.port}`);
  // The first matching rule (by priority) names itself in txn.wharf_rule; each action then runs
  // only for its own rule, so actions of different kinds (return, redirect, use_backend, which
  // HAProxy evaluates in that fixed order) still follow the rules' priority.
  listener.rules.forEach((rule, r) => {
    const names = rule.conditions.map((condition, c) => {
      const name = `rule${r}_condition${c}`;
      lines.push(...renderCondition(name, condition));
      return name;
    });
    lines.push(`  http-request set-var(txn.wharf_rule) int(${r}) if ${[...names, '!{ var(txn.wharf_rule) -m found }'].join(' ')}`);
  });
  const actions: { action: ActionConfig; when: string }[] = listener.rules.map((rule, r) => ({ action: rule.action, when: `{ var(txn.wharf_rule) -m int eq ${r} }` }));
  actions.push({ action: listener.defaultAction, when: listener.rules.length ? '!{ var(txn.wharf_rule) -m found }' : '' });
  const weighted = actions.some(({ action }) => action.type === 'forward' && action.targetGroups.filter((g) => g.weight > 0 && groups.has(g.targetGroupId)).length > 1);
  if (weighted) lines.push('  http-request set-var(txn.wharf_pick) rand(1000000)');
  for (const { action, when } of actions) {
    const cond = when ? ` if ${when}` : '';
    if (action.type === 'fixed-response') {
      let line = `  http-request return status ${action.statusCode}`;
      if (action.messageBody !== undefined && action.messageBody.length) {
        const name = bodyFileName(action.messageBody);
        bodies.set(name, action.messageBody);
        line += ` content-type ${quoted(headerValue(action.contentType))} file ${quoted(`${options.files.bodyDir}/${name}`)}`;
      }
      lines.push(line + cond);
    } else if (action.type === 'redirect') {
      lines.push(...renderRedirect(action, listener.port, when));
    }
  }
  for (const { action, when } of actions) {
    if (action.type === 'forward') lines.push(...renderForward(action, when, groups, 'http'));
  }
  return lines;
}

function renderCondition(name: string, condition: ConditionConfig): string[] {
  const acl = (fetch: string, regex: string, caseless: boolean) => `  acl ${name} ${fetch} -m reg${caseless ? ' -i' : ''} '${regex}'`;
  switch (condition.field) {
    case 'path-pattern':
      return condition.values.map((v) => acl('path', `^${wildcardRegex(v)}$`, false));
    case 'host-header':
      return condition.values.map((v) => acl('req.hdr(host),field(1,:)', `^${wildcardRegex(v)}$`, true));
    case 'http-header':
      // Matched over the raw header block, so the header's name is a regular expression too and
      // never a fetch argument; every occurrence of the header counts.
      return condition.values.map((v) => acl('req.hdrs', `(^|\\n)${regexLiteral(condition.headerName)}:[ \\t]*${wildcardRegex(v, '[^\\r\\n]')}[ \\t]*\\r?(\\n|$)`, true));
    case 'query-string':
      return condition.values.map(({ key, value }) =>
        acl('query', `(^|&)${key === undefined ? '[^&=]*' : wildcardRegex(key, '[^&=]')}=${wildcardRegex(value, '[^&]')}(&|$)`, true));
  }
}

/** A forward action: weighted target groups picked by txn.wharf_pick; 503 when none can take traffic. */
function renderForward(action: ActionConfig, when: string, groups: Map<string, TargetGroupConfig>, mode: 'http' | 'tcp'): string[] {
  if (action.type !== 'forward') return mode === 'tcp' ? ['  tcp-request content reject'] : [];
  const targets = action.targetGroups.filter((g) => g.weight > 0 && groups.has(g.targetGroupId));
  const cond = when ? ` if ${when}` : '';
  if (!targets.length) return [mode === 'http' ? `  http-request return status 503${cond}` : '  tcp-request content reject'];
  if (mode === 'tcp') return [`  default_backend ${backendName(targets[0]!.targetGroupId)}`];
  const total = targets.reduce((sum, g) => sum + g.weight, 0);
  const lines: string[] = [];
  let cumulative = 0;
  targets.forEach((g, i) => {
    cumulative += g.weight;
    const pick = i < targets.length - 1 ? ` { var(txn.wharf_pick) -m int lt ${Math.round((cumulative / total) * 1_000_000)} }` : '';
    if (!when && !pick) lines.push(`  default_backend ${backendName(g.targetGroupId)}`);
    else lines.push(`  use_backend ${backendName(g.targetGroupId)} if ${[when, pick.trim()].filter(Boolean).join(' ')}`);
  });
  return lines;
}

/** ELB's redirect as `http-request redirect location <log-format>`: placeholders become sample fetches. */
function renderRedirect(action: Extract<ActionConfig, { type: 'redirect' }>, listenerPort: number, when: string): string[] {
  const format = (template: string) => template.split(/(#\{(?:protocol|host|port|path|query)\})/).map((part) => {
    switch (part) {
      case '#{protocol}': return 'http';
      case '#{host}': return '%[req.hdr(host),field(1,:)]';
      case '#{port}': return String(listenerPort);
      case '#{path}': return '%[path,regsub(^/,)]';
      case '#{query}': return '%[query]';
      default: return urlSafe(part).replaceAll('%', '%%');
    }
  }).join('');
  const base = `${format(action.protocol.toLowerCase())}://${format(action.host)}:${format(action.port)}${format(action.path)}`;
  const line = (location: string, conditions: string[]) => {
    const cond = conditions.filter(Boolean);
    return `  http-request redirect location ${quoted(location)} code ${action.statusCode}${cond.length ? ` if ${cond.join(' ')}` : ''}`;
  };
  if (!action.query.length) return [line(base, [when])];
  // ELB leaves out the `?` when the query it would write is empty.
  if (action.query === '#{query}') return [line(`${base}?%[query]`, [when, '{ query -m len gt 0 }']), line(base, [when])];
  return [line(`${base}?${format(action.query)}`, [when])];
}

function renderBackend(group: TargetGroupConfig, slots: readonly (TargetConfig | undefined)[], config: LoadBalancerConfig): string[] {
  const check = group.healthCheck;
  const lines = [
    `backend ${backendName(group.targetGroupId)}`,
    `  mode ${config.type === 'application' ? 'http' : 'tcp'}`,
    // least_outstanding_requests: the target with the fewest requests in flight, which is what
    // leastconn counts in mode http (one stream per request on a backend connection).
    `  balance ${group.algorithm === 'least_outstanding_requests' ? 'leastconn' : 'roundrobin'}`,
    `  timeout check ${seconds(check.timeoutSeconds)}`,
    // Fail open: with no slot up, every ready twin takes traffic (not only the first).
    '  option allbackups',
    ...renderHealthCheck(check),
  ];
  if (group.stickinessSeconds !== undefined && config.type === 'application') {
    // Servers added at run time cannot carry a `cookie` (HAProxy 2.6), so the AWSALB cookie holds an
    // opaque id that a stick table maps to the target that served it.
    const expire = seconds(group.stickinessSeconds);
    lines.push(`  stick-table type string len 36 size 1m expire ${expire}`,
      `  http-request set-var(txn.wharf_sticky) req.cook(${STICKINESS_COOKIE})`,
      '  http-request set-var(txn.wharf_sticky) uuid unless { var(txn.wharf_sticky) -m found }',
      // Not `stick on`: the target that served is stored with the response, unless a fail-open
      // twin served it, so a client served while failing open is not stuck to an unhealthy
      // target once a healthy one is back (what `non-stick` on the twins would do, which servers
      // added at run time cannot carry).
      '  stick match var(txn.wharf_sticky)',
      `  stick store-response var(txn.wharf_sticky) unless { srv_name -m beg ${FAIL_OPEN_PREFIX} }`,
      `  http-response add-header Set-Cookie "${STICKINESS_COOKIE}=%[var(txn.wharf_sticky)]; Max-Age=${Math.round(group.stickinessSeconds)}; Path=/"`);
  }
  // Each slot is followed by its twin, so adding slots never renumbers the servers already there.
  slots.forEach((target, i) => lines.push(`  server ${slotName(i)} ${serverArguments(group, 'slot', target)}`, `  server ${failOpenName(i)} ${serverArguments(group, 'twin', target)}`));
  return lines;
}

function renderHealthCheck(check: HealthCheckConfig): string[] {
  if (check.protocol !== 'HTTP') return [];
  const path = check.path.startsWith('/') ? check.path : `/${check.path}`;
  return ['  option httpchk', `  http-check send meth GET uri ${quoted(urlSafe(path))}`, `  http-check expect rstatus '${statusRegex(check.matcher)}'`];
}
