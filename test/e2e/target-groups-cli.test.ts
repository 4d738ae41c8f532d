/**
 * Target groups and targets with the real AWS CLI against a real `wharf server` process: create
 * (shorthand matcher and health-check flags), describe, modify attributes, register ip targets,
 * describe their health, deregister, delete; and a fault as the CLI reports it.
 */
import { after, before, it } from 'node:test';
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { promisify } from 'node:util';
import { startWharf, type WharfProcesses } from '../../src/testkit/wharf-processes.js';
import { AWS_CLI } from './helpers.js';

const run = promisify(execFile);
let w: WharfProcesses;

async function elbv2(...args: string[]): Promise<any> {
  const { stdout } = await run(AWS_CLI, ['elbv2', ...args, '--endpoint-url', w.url, '--region', 'us-east-1', '--output', 'json'], { env: w.cliEnv() });
  return stdout.trim() === '' ? {} : JSON.parse(stdout);
}

before(async () => { w = await startWharf(); });
after(async () => { await w?.stop(); });

it('manages a target group and its targets with the AWS CLI', async () => {
  const name = `cli-${w.cluster}`.replace(/[^A-Za-z0-9-]/g, '-').slice(0, 32).replace(/-+$/, '');
  const created = await elbv2('create-target-group', '--name', name, '--protocol', 'HTTP', '--port', '8080', '--target-type', 'ip',
    '--health-check-path', '/healthz', '--health-check-interval-seconds', '5', '--health-check-timeout-seconds', '2',
    '--healthy-threshold-count', '2', '--matcher', 'HttpCode=200-299');
  const tg = created.TargetGroups[0];
  assert.equal(tg.TargetGroupName, name);
  assert.deepEqual([tg.HealthCheckPath, tg.HealthCheckIntervalSeconds, tg.Matcher.HttpCode, tg.TargetType], ['/healthz', 5, '200-299', 'ip']);

  const described = await elbv2('describe-target-groups', '--names', name);
  assert.equal(described.TargetGroups[0].TargetGroupArn, tg.TargetGroupArn);

  const attrs = await elbv2('modify-target-group-attributes', '--target-group-arn', tg.TargetGroupArn,
    '--attributes', 'Key=deregistration_delay.timeout_seconds,Value=5', 'Key=load_balancing.algorithm.type,Value=least_outstanding_requests');
  const map = Object.fromEntries(attrs.Attributes.map((a: { Key: string; Value: string }) => [a.Key, a.Value]));
  assert.equal(map['deregistration_delay.timeout_seconds'], '5');
  assert.equal(map['load_balancing.algorithm.type'], 'least_outstanding_requests');

  await elbv2('register-targets', '--target-group-arn', tg.TargetGroupArn, '--targets', 'Id=10.9.0.1', 'Id=10.9.0.2,Port=8081');
  const health = await elbv2('describe-target-health', '--target-group-arn', tg.TargetGroupArn);
  assert.deepEqual(health.TargetHealthDescriptions.map((d: any) => [d.Target.Id, d.Target.Port, d.TargetHealth.State, d.TargetHealth.Reason]), [
    ['10.9.0.1', 8080, 'unused', 'Target.NotInUse'], ['10.9.0.2', 8081, 'unused', 'Target.NotInUse'],
  ]);
  await elbv2('deregister-targets', '--target-group-arn', tg.TargetGroupArn, '--targets', 'Id=10.9.0.1');
  // No load balancer uses the group, so nothing drains: the target is no longer registered.
  const after = await elbv2('describe-target-health', '--target-group-arn', tg.TargetGroupArn, '--targets', 'Id=10.9.0.1,Port=8080');
  assert.deepEqual([after.TargetHealthDescriptions[0].TargetHealth.State, after.TargetHealthDescriptions[0].TargetHealth.Reason], ['unused', 'Target.NotRegistered']);

  await assert.rejects(elbv2('create-target-group', '--name', name, '--protocol', 'TCP', '--port', '80'), (e: Error & { stderr?: string }) =>
    /DuplicateTargetGroupName/.test(e.stderr ?? '') && /exists, but with different settings/.test(e.stderr ?? ''));
  await elbv2('delete-target-group', '--target-group-arn', tg.TargetGroupArn);
  await assert.rejects(elbv2('describe-target-groups', '--target-group-arns', tg.TargetGroupArn), (e: Error & { stderr?: string }) =>
    /TargetGroupNotFound/.test(e.stderr ?? ''));
});
