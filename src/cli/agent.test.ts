import assert from 'node:assert/strict';
import { it } from 'node:test';
import { parseAgentArgs } from './agent.js';

it('parses every agent flag', () => {
  const p = parseAgentArgs([
    '--server', 'http://127.0.0.1:8080', '--cluster', 'prod', '--data-dir', '/d', '--docker-host', 'tcp://h:2375',
    '--attribute', 'team=core', '--attribute', 'gpu=no', '--availability-zone', 'az-2', '--region', 'eu-west-1',
    '--image-pull-behavior', 'prefer-cached', '--heartbeat-interval-ms', '1000', '--stop-timeout-seconds', '5',
    '--task-cleanup-wait-ms', '0', '--stats-sample-interval-ms', '5000', '--stats-source', 'docker', '--credentials-file', '/c', '--profile', 'ops',
  ]);
  assert.deepEqual(p.options, {
    serverUrl: 'http://127.0.0.1:8080', cluster: 'prod', dataDir: '/d', dockerHost: 'tcp://h:2375', attributes: { team: 'core', gpu: 'no' },
    availabilityZone: 'az-2', region: 'eu-west-1', imagePullBehavior: 'prefer-cached', heartbeatIntervalMs: 1000, stopTimeoutSeconds: 5,
    taskCleanupWaitMs: 0, statsSampleIntervalMs: 5000, statsSource: 'docker',
  });
  assert.equal(p.credentialsFile, '/c');
  assert.equal(p.profile, 'ops');
});

it('rejects a missing --server and bad values with a usage error naming the flag', () => {
  const usage = (argv: string[], re: RegExp) =>
    assert.throws(() => parseAgentArgs(argv), (e: unknown) => (e as { code?: string }).code?.startsWith('ERR_PARSE_ARGS') === true && re.test((e as Error).message));
  usage([], /--server is required/);
  usage(['--server', 'http://x', '--image-pull-behavior', 'sometimes'], /--image-pull-behavior/);
  usage(['--server', 'http://x', '--attribute', 'novalue'], /--attribute/);
  usage(['--server', 'http://x', '--heartbeat-interval-ms', 'soon'], /--heartbeat-interval-ms/);
  usage(['--server', 'http://x', '--stats-source', 'procfs'], /--stats-source/);
  usage(['--server', 'http://x', '--stats-sample-interval-ms', '-1'], /--stats-sample-interval-ms/);
});
