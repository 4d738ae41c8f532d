/**
 * The ELBv2 API through the real AWS CLI (botocore's awsQuery client) against a real `wharf
 * server` process: load balancers, listeners, rules and tags created, described (the CLI's own
 * pagination over Marker included) and deleted, and ELB's errors as the CLI reports them.
 */
import { after, before, it } from 'node:test';
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { promisify } from 'node:util';
import { startWharf, type WharfProcesses } from '../../src/testkit/wharf-processes.js';
import { AWS_CLI } from './helpers.js';

const run = promisify(execFile);
let w: WharfProcesses;
const ADVERTISE_HOST = 'wharf-lb.test';
const suffix = process.pid.toString(36);
/** Listener ports: unlikely to be taken by another test's load balancer on this machine, below the dynamic range. */
const basePort = 20_000 + Math.floor(Math.random() * 20_000);

async function elbv2(...args: string[]): Promise<any> {
  const { stdout } = await run(AWS_CLI, ['elbv2', ...args, '--endpoint-url', w.url, '--region', 'us-east-1', '--output', 'json'], { env: w.cliEnv() });
  return stdout.trim() === '' ? {} : JSON.parse(stdout);
}

/** Runs a command that must fail; answers the CLI's error line. */
async function elbv2Fails(...args: string[]): Promise<string> {
  const err = await elbv2(...args).then(() => undefined, (e: unknown) => e as { code?: number; stderr?: string });
  assert.ok(err !== undefined, `aws elbv2 ${args.join(' ')} should fail`);
  assert.equal(err.code, 254, err.stderr);
  return err.stderr ?? '';
}

before(async () => {
  w = await startWharf({ serverArgs: ['--advertise-host', ADVERTISE_HOST] });
});
after(async () => { await w?.stop(); });

it('creates, describes and deletes load balancers, listeners and rules with the AWS CLI', async () => {
  const names = [`cli-a-${suffix}`, `cli-b-${suffix}`, `cli-c-${suffix}`];
  const created = [];
  for (const name of names) {
    const out = await elbv2('create-load-balancer', '--name', name, '--subnets', 'subnet-1', 'subnet-2', '--tags', 'Key=env,Value=e2e');
    created.push(out.LoadBalancers[0]);
  }
  const lb = created[0];
  assert.equal(lb.LoadBalancerName, names[0]);
  assert.equal(lb.DNSName, ADVERTISE_HOST);
  assert.equal(lb.State.Code, 'provisioning');
  assert.equal(lb.Type, 'application');
  assert.deepEqual(lb.AvailabilityZones.map((z: { SubnetId: string }) => z.SubnetId), ['subnet-1', 'subnet-2']);
  assert.match(lb.CreatedTime, /^\d{4}-\d{2}-\d{2}T/);

  // ELBv2's own PageSize and Marker are the CLI's --page-size and --marker (which turn its automatic
  // pagination off): one page of one load balancer per call, following NextMarker.
  const paged: string[] = [];
  let marker: string | undefined;
  do {
    const page = await elbv2('describe-load-balancers', '--page-size', '1', ...(marker !== undefined ? ['--marker', marker] : []));
    assert.ok(page.LoadBalancers.length <= 1);
    paged.push(...page.LoadBalancers.map((l: { LoadBalancerName: string }) => l.LoadBalancerName));
    marker = page.NextMarker;
  } while (marker !== undefined);
  assert.deepEqual(paged.filter((n) => names.includes(n)), names);
  const all = await elbv2('describe-load-balancers');
  assert.deepEqual(all.LoadBalancers.map((l: { LoadBalancerName: string }) => l.LoadBalancerName), paged);
  const byName = await elbv2('describe-load-balancers', '--names', names[1]!);
  assert.equal(byName.LoadBalancers[0].LoadBalancerArn, created[1].LoadBalancerArn);

  const attributes = await elbv2('modify-load-balancer-attributes', '--load-balancer-arn', lb.LoadBalancerArn,
    '--attributes', 'Key=idle_timeout.timeout_seconds,Value=30');
  assert.ok(attributes.Attributes.some((a: { Key: string; Value: string }) => a.Key === 'idle_timeout.timeout_seconds' && a.Value === '30'));

  const listener = (await elbv2('create-listener', '--load-balancer-arn', lb.LoadBalancerArn, '--protocol', 'HTTP', '--port', String(basePort),
    '--default-actions', 'Type=fixed-response,FixedResponseConfig={StatusCode=404,ContentType=text/plain,MessageBody=none}')).Listeners[0];
  assert.equal(listener.Port, basePort);
  assert.equal(listener.DefaultActions[0].FixedResponseConfig.StatusCode, '404');

  const rule = (await elbv2('create-rule', '--listener-arn', listener.ListenerArn, '--priority', '10',
    '--conditions', JSON.stringify([{ Field: 'path-pattern', PathPatternConfig: { Values: ['/api/*'] } },
      { Field: 'http-header', HttpHeaderConfig: { HttpHeaderName: 'X-Env', Values: ['e2e'] } }]),
    '--actions', JSON.stringify([{ Type: 'redirect', RedirectConfig: { Host: 'example.com', StatusCode: 'HTTP_302' } }]))).Rules[0];
  assert.equal(rule.Priority, '10');
  assert.deepEqual(rule.Conditions[0], { Field: 'path-pattern', Values: ['/api/*'], PathPatternConfig: { Values: ['/api/*'] } });
  const rules = await elbv2('describe-rules', '--listener-arn', listener.ListenerArn);
  assert.deepEqual(rules.Rules.map((r: { Priority: string; IsDefault: boolean }) => [r.Priority, r.IsDefault]), [['10', false], ['default', true]]);

  await elbv2('add-tags', '--resource-arns', listener.ListenerArn, rule.RuleArn, '--tags', 'Key=team,Value=web');
  const tags = await elbv2('describe-tags', '--resource-arns', lb.LoadBalancerArn, listener.ListenerArn, rule.RuleArn);
  assert.deepEqual(tags.TagDescriptions.map((d: { Tags: unknown[] }) => d.Tags),
    [[{ Key: 'env', Value: 'e2e' }], [{ Key: 'team', Value: 'web' }], [{ Key: 'team', Value: 'web' }]]);

  for (const created1 of created) await elbv2('delete-load-balancer', '--load-balancer-arn', created1.LoadBalancerArn);
  const gone = await elbv2Fails('describe-listeners', '--listener-arns', listener.ListenerArn);
  assert.match(gone, /An error occurred \(ListenerNotFound\) when calling the DescribeListeners operation: Listener '.*' not found/);
});

it('reports ELB\'s errors through the AWS CLI', async () => {
  const name = `cli-err-${suffix}`;
  const lb = (await elbv2('create-load-balancer', '--name', name)).LoadBalancers[0];
  try {
    assert.match(await elbv2Fails('create-load-balancer', '--name', name, '--type', 'network'),
      /\(DuplicateLoadBalancerName\) when calling the CreateLoadBalancer operation: A load balancer with the name '.*' already exists/);
    assert.match(await elbv2Fails('describe-load-balancers', '--names', `missing-${suffix}`), /\(LoadBalancerNotFound\)/);
    assert.match(await elbv2Fails('create-load-balancer', '--name=-bad-'), /\(ValidationError\) .*not valid/);
    assert.match(await elbv2Fails('create-listener', '--load-balancer-arn', lb.LoadBalancerArn, '--protocol', 'HTTPS', '--port', String(basePort + 1),
      '--default-actions', 'Type=fixed-response,FixedResponseConfig={StatusCode=200}'), /\(ValidationError\) .*certificate/);
    const listener = (await elbv2('create-listener', '--load-balancer-arn', lb.LoadBalancerArn, '--protocol', 'HTTP', '--port', String(basePort + 2),
      '--default-actions', 'Type=fixed-response,FixedResponseConfig={StatusCode=200}')).Listeners[0];
    assert.match(await elbv2Fails('create-listener', '--load-balancer-arn', lb.LoadBalancerArn, '--protocol', 'HTTP', '--port', String(basePort + 2),
      '--default-actions', 'Type=fixed-response,FixedResponseConfig={StatusCode=503}'), /\(DuplicateListener\)/);
    const rule = ['--conditions', 'Field=path-pattern,Values=/x', '--actions', 'Type=fixed-response,FixedResponseConfig={StatusCode=200}'];
    await elbv2('create-rule', '--listener-arn', listener.ListenerArn, '--priority', '1', ...rule);
    assert.match(await elbv2Fails('create-rule', '--listener-arn', listener.ListenerArn, '--priority', '1', ...rule), /\(PriorityInUse\)/);
    assert.match(await elbv2Fails('create-rule', '--listener-arn', listener.ListenerArn, '--priority', '2',
      '--conditions', JSON.stringify([{ Field: 'http-header', HttpHeaderConfig: { HttpHeaderName: 'X-A', Values: ['a\nb'] } }]),
      '--actions', 'Type=fixed-response,FixedResponseConfig={StatusCode=200}'), /\(ValidationError\) .*printable ASCII/);
    assert.match(await elbv2Fails('create-rule', '--listener-arn', listener.ListenerArn, '--priority', '3', ...rule.slice(0, 2),
      '--actions', `Type=forward,TargetGroupArn=arn:aws:elasticloadbalancing:us-east-1:000000000000:targetgroup/none-${suffix}/0123456789abcdef`),
    /\(TargetGroupNotFound\)/);
    assert.match(await elbv2Fails('describe-rules'), /\(ValidationError\)/);
  } finally {
    await elbv2('delete-load-balancer', '--load-balancer-arn', lb.LoadBalancerArn);
  }
});
