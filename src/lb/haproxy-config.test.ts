import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { LoadBalancerConfig, TargetGroupConfig } from './config.js';
import { backendName, quoted, renderHaproxyConfig, serverArguments, statusRegex, wildcardRegex } from './haproxy-config.js';

const files = { runtimeSocket: '/run/wharf/lb/runtime.sock', serverStateFile: '/run/wharf/lb/server-state', bodyDir: '/run/wharf/lb/bodies' };

export function targetGroup(id: string, overrides: Partial<TargetGroupConfig> = {}): TargetGroupConfig {
  return {
    targetGroupId: id, algorithm: 'round_robin', slowStartSeconds: 0,
    healthCheck: { protocol: 'HTTP', port: 'traffic-port', path: '/', intervalSeconds: 30, timeoutSeconds: 5, healthyThreshold: 5, unhealthyThreshold: 2, matcher: '200' },
    targets: [], ...overrides,
  };
}

const HOSTILE = [
  'a"b', "a'b", 'a\\b', '$HOME', '${HOME}', 'a b', 'a#b', 'a\nacl x always_true', 'a\r\nuse_backend x', '\u0000', 'é*ü?', '%[src]', 'a|b', '(.*)', '[x]', '^$', '\'; reload; \'',
];

function hostileConfig(): LoadBalancerConfig {
  return {
    type: 'application', idleTimeoutSeconds: 60,
    listeners: [{
      port: 8080, protocol: 'HTTP',
      rules: HOSTILE.map((v, i) => ({
        priority: i + 1,
        conditions: [
          { field: 'path-pattern', values: [v, `/${v}*`] },
          { field: 'host-header', values: [v] },
          { field: 'http-header', headerName: v, values: [v] },
          { field: 'query-string', values: [{ key: v, value: v }, { value: v }] },
        ],
        action: i % 3 === 0
          ? { type: 'fixed-response', statusCode: 200, contentType: v, messageBody: v }
          : i % 3 === 1
            ? { type: 'redirect', statusCode: 302, protocol: 'HTTPS', host: v, port: v, path: `/${v}`, query: v }
            : { type: 'forward', targetGroups: [{ targetGroupId: v, weight: 1 }, { targetGroupId: 'arn:tg/b', weight: 3 }] },
      })),
      defaultAction: { type: 'forward', targetGroups: [{ targetGroupId: 'arn:tg/b', weight: 1 }] },
    }],
    targetGroups: [
      targetGroup(HOSTILE[0]!, { healthCheck: { ...targetGroup('x').healthCheck, path: HOSTILE.join('') , matcher: HOSTILE.join(',') } }),
      ...HOSTILE.slice(1).map((v) => targetGroup(v, { targets: [{ targetId: v, address: '127.0.0.1', port: 9000, draining: false }] })),
      targetGroup('arn:tg/b', { targets: [{ targetId: 'x', address: '127.0.0.1"; server evil 1.2.3.4:80', port: 80, draining: false }] }),
    ],
  };
}

describe('renderHaproxyConfig', () => {
  it('names backends and servers by hashes and forwards the default action', () => {
    const { text } = renderHaproxyConfig({
      type: 'application', idleTimeoutSeconds: 60,
      listeners: [{ port: 80, protocol: 'HTTP', rules: [], defaultAction: { type: 'forward', targetGroups: [{ targetGroupId: 'arn:tg/a', weight: 1 }] } }],
      targetGroups: [targetGroup('arn:tg/a', { targets: [{ targetId: '10.0.0.1:80', address: '10.0.0.1', port: 80, draining: false }] })],
    }, { files, bindAddress: '0.0.0.0', threads: 2 });
    assert.match(backendName('arn:tg/a'), /^tg_[0-9a-f]{16}$/);
    assert.match(text, new RegExp(`default_backend ${backendName('arn:tg/a')}\n`));
    // The target in slot 0, then free slots up to 16.
    // Every keyword explicit (servers added at run time get the same arguments and inherit nothing).
    assert.match(text, /server slot0 10\.0\.0\.1:80 check inter 30000 rise 5 fall 2 weight 100 pool-max-conn -1 pool-purge-delay 5000\n/);
    assert.match(text, /server slot1 0\.0\.0\.0:0 disabled check inter 30000 rise 5 fall 2 weight 100 pool-max-conn -1 pool-purge-delay 5000\n/);
    assert.match(text, /server slot15 0\.0\.0\.0:0 disabled /);
    // Each slot's fail-open twin follows it: a backup at the same address, always configured
    // disabled (the runtime API readies it), never checked.
    assert.match(text, /server slot0 [^\n]*\n {2}server failopen0 10\.0\.0\.1:80 disabled backup weight 100 pool-max-conn -1 pool-purge-delay 5000\n {2}server slot1 /);
    assert.match(text, /server failopen1 0\.0\.0\.0:0 disabled backup weight 100 pool-max-conn -1 pool-purge-delay 5000\n/);
    assert.match(text, /server failopen15 0\.0\.0\.0:0 disabled /);
    assert.doesNotMatch(text, /failopen16/);
    assert.doesNotMatch(text, /server failopen\d+ [^\n]*check/);
    assert.match(text, /\n {2}option allbackups\n/);
    assert.doesNotMatch(text, /slot16/);
    assert.match(text, /bind "0\.0\.0\.0:80"/);
    assert.match(text, /nbthread 2/);
    assert.match(text, /http-check expect rstatus '\^\(200\)\$'/);
    assert.match(text, /timeout client 60000/);
  });

  it('gives every server the arguments add server takes at run time, and keeps twins out of stickiness by the stick rule', () => {
    // The keywords (and their values) HAProxy 2.6's `add server` accepts that the generator may use:
    // `non-stick`, `cookie` and `default-server` settings are refused there or not inherited.
    const accepted = new Set(['disabled', 'backup', 'check', 'inter', 'rise', 'fall', 'port', 'slowstart', 'weight', 'pool-max-conn', 'pool-purge-delay']);
    const tg = targetGroup('arn:tg/s', {
      slowStartSeconds: 30, stickinessSeconds: 60, healthCheck: { ...targetGroup('x').healthCheck, port: 8081 },
      targets: [{ targetId: 't', address: '10.0.0.1', port: 80, draining: false }, { targetId: 'v6', address: 'fd00::1', port: 80, draining: false }],
    });
    const { text } = renderHaproxyConfig({
      type: 'application', idleTimeoutSeconds: 60,
      listeners: [{ port: 80, protocol: 'HTTP', rules: [], defaultAction: { type: 'forward', targetGroups: [{ targetGroupId: 'arn:tg/s', weight: 1 }] } }],
      targetGroups: [tg],
    }, { files, bindAddress: '0.0.0.0' });
    const servers = [...text.matchAll(/^ {2}server (\S+) (.*)$/gm)];
    assert.equal(servers.length, 32);
    for (const [, name, args] of servers) {
      const index = Number(/\d+$/.exec(name!)![0]);
      assert.equal(args, serverArguments(tg, name!.startsWith('slot') ? 'slot' : 'twin', tg.targets[index]));
      const words = args!.split(' ').slice(1);
      for (let i = 0; i < words.length; i++) {
        assert.ok(accepted.has(words[i]!), `${name}: ${words[i]}`);
        if (!['disabled', 'backup', 'check'].includes(words[i]!)) i++;
      }
    }
    assert.equal(serverArguments(tg, 'slot', tg.targets[0]), '10.0.0.1:80 check inter 30000 rise 5 fall 2 port 8081 slowstart 30000 weight 100 pool-max-conn -1 pool-purge-delay 5000');
    assert.equal(serverArguments(tg, 'slot', tg.targets[1]), '[fd00::1]:80 check inter 30000 rise 5 fall 2 port 8081 slowstart 30000 weight 100 pool-max-conn -1 pool-purge-delay 5000');
    assert.equal(serverArguments(tg, 'twin', undefined), '0.0.0.0:0 disabled backup weight 100 pool-max-conn -1 pool-purge-delay 5000');
    assert.match(text, /\n {2}stick match var\(txn\.wharf_sticky\)\n {2}stick store-response var\(txn\.wharf_sticky\) unless \{ srv_name -m beg failopen \}\n/);
    assert.doesNotMatch(text, /stick on/);
  });

  it('renders a network load balancer in mode tcp with TCP checks', () => {
    const { text } = renderHaproxyConfig({
      type: 'network', idleTimeoutSeconds: 350,
      listeners: [{ port: 5432, protocol: 'TCP', rules: [], defaultAction: { type: 'forward', targetGroups: [{ targetGroupId: 'arn:tg/db', weight: 1 }] } }],
      targetGroups: [targetGroup('arn:tg/db', { healthCheck: { ...targetGroup('x').healthCheck, protocol: 'TCP', port: 9999 } })],
    }, { files, bindAddress: '127.0.0.1' });
    assert.match(text, /frontend listener_5432\n {2}bind "127\.0\.0\.1:5432"\n {2}mode tcp\n {2}default_backend tg_/);
    assert.doesNotMatch(text, /httpchk/);
    assert.match(text, /mode tcp\n {2}balance roundrobin/);
  });

  it('orders rules by their index and splits weighted forwards', () => {
    const { text } = renderHaproxyConfig({
      type: 'application', idleTimeoutSeconds: 60,
      listeners: [{
        port: 80, protocol: 'HTTP',
        rules: [
          { priority: 1, conditions: [{ field: 'path-pattern', values: ['/api/*'] }], action: { type: 'forward', targetGroups: [{ targetGroupId: 'a', weight: 1 }, { targetGroupId: 'b', weight: 3 }] } },
          { priority: 5, conditions: [{ field: 'host-header', values: ['*.example.com'] }], action: { type: 'fixed-response', statusCode: 404 } },
        ],
        defaultAction: { type: 'redirect', statusCode: 301, protocol: '#{protocol}', host: 'example.org', port: '#{port}', path: '/#{path}', query: '#{query}' },
      }],
      targetGroups: [targetGroup('a'), targetGroup('b')],
    }, { files, bindAddress: '0.0.0.0' });
    assert.match(text, /acl rule0_condition0 path -m reg '\^\\x2fapi\\x2f\.\*\$'/);
    assert.match(text, /http-request set-var\(txn.wharf_rule\) int\(0\) if rule0_condition0 !\{ var\(txn.wharf_rule\) -m found \}/);
    assert.match(text, /acl rule1_condition0 req.hdr\(host\),field\(1,:\) -m reg -i '\^\.\*\\x2eexample\\x2ecom\$'/);
    assert.match(text, /http-request return status 404 if \{ var\(txn.wharf_rule\) -m int eq 1 \}/);
    assert.match(text, /http-request redirect location "http:\/\/example.org:80\/%\[path,regsub\(\^\/,\)\]\?%\[query\]" code 301 if !\{ var\(txn.wharf_rule\) -m found \} \{ query -m len gt 0 \}/);
    assert.match(text, new RegExp(`use_backend ${backendName('a')} if \\{ var\\(txn.wharf_rule\\) -m int eq 0 \\} \\{ var\\(txn.wharf_pick\\) -m int lt 250000 \\}`));
    assert.match(text, new RegExp(`use_backend ${backendName('b')} if \\{ var\\(txn.wharf_rule\\) -m int eq 0 \\}\n`));
    assert.match(text, /http-request set-var\(txn.wharf_pick\) rand\(1000000\)/);
  });

  it('writes fixed-response bodies to files, never into the configuration', () => {
    const body = 'line one\nbackend evil\n';
    const { text, bodies } = renderHaproxyConfig({
      type: 'application', idleTimeoutSeconds: 60,
      listeners: [{ port: 80, protocol: 'HTTP', rules: [], defaultAction: { type: 'fixed-response', statusCode: 503, contentType: 'text/plain', messageBody: body } }],
      targetGroups: [],
    }, { files, bindAddress: '0.0.0.0' });
    assert.deepEqual([...bodies.values()], [body]);
    assert.doesNotMatch(text, /backend evil/);
    assert.match(text, /http-request return status 503 content-type "text\/plain" file "\/run\/wharf\/lb\/bodies\/body-[0-9a-f]{16}"\n/);
  });

  it('leaves targets whose address is not an address out', () => {
    const { text } = renderHaproxyConfig(hostileConfig(), { files, bindAddress: '0.0.0.0' });
    assert.doesNotMatch(text, /evil/);
  });

  it('escapes quotes, $ and control characters in quoted words', () => {
    assert.equal(quoted('a"b\\c$d\ne\u0000'), '"a\\"b\\\\c\\$d\\x0ae\\x00"');
    assert.equal(wildcardRegex('/a*b?.c'), '\\x2fa.*b.\\x2ec');
    assert.equal(wildcardRegex("x'y"), 'x\\x27y');
  });

  it('turns HttpCode matchers into status expressions', () => {
    assert.equal(statusRegex('200'), '^(200)$');
    assert.equal(statusRegex('200,202'), '^(200|202)$');
    assert.equal(statusRegex('200-299'), '^(20[0-9]|21[0-9]|22[0-9]|23[0-9]|24[0-9]|25[0-9]|26[0-9]|27[0-9]|28[0-9]|29[0-9])$');
    assert.equal(statusRegex('200-205'), '^(200|201|202|203|204|205)$');
    assert.equal(statusRegex('abc'), '^$');
  });

  it('keeps every hostile value inside its word: HAProxy accepts the configuration and no value adds a directive', () => {
    const dir = mkdtempSync(join(tmpdir(), 'wharf-lb-config-'));
    try {
      const { text } = renderHaproxyConfig(hostileConfig(), {
        files: { runtimeSocket: join(dir, 'runtime.sock'), serverStateFile: join(dir, 'state'), bodyDir: dir }, bindAddress: '127.0.0.1',
      });
      // Every line is one the generator writes: a section, or a directive it knows.
      for (const line of text.split('\n').filter((l) => l.length)) {
        assert.match(line, /^(global|defaults|frontend listener_\d+|backend tg_[0-9a-f]{16}|\s{2}(stats socket|server-state-file|hard-stop-after|nbthread|mode|timeout|retries|option|load-server-state-from-file|bind|acl rule\d+_condition\d+|http-request|http-response|http-check|use_backend tg_|default_backend tg_|balance|server slot\d+ |server failopen\d+ |stick|tcp-request))/, line);
        assert.doesNotMatch(line, /[\r\0]/);
      }
      for (const [name, body] of renderHaproxyConfig(hostileConfig(), { files: { runtimeSocket: '', serverStateFile: '', bodyDir: dir }, bindAddress: '127.0.0.1' }).bodies) {
        writeFileSync(join(dir, name), body);
      }
      writeFileSync(join(dir, 'haproxy.cfg'), text);
      try {
        execFileSync("haproxy", ["-c", "-q", "-f", join(dir, "haproxy.cfg")], { stdio: "pipe" });
      } catch (err) { process.stderr.write(String((err as {stderr?: unknown}).stderr)); throw err; }
    } finally {
      if (!process.env["KEEP"]) rmSync(dir, { recursive: true, force: true });
    }
  });
});
