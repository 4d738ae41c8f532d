import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { SqliteStore } from '../store/index.js';
import type { DomainContext } from './context.js';
import { keys } from './keys.js';
import type { TaskRecord } from './records.js';
import { restoreTaskIndexes, tasksForInstance } from './tasks.js';

const SCOPE = { partition: 'aws', region: 'us-east-1', accountId: '123456789012' };
const prefix = 'arn:aws:ecs:us-east-1:123456789012';

function task(id: string, extra: Partial<TaskRecord>): TaskRecord {
  return {
    taskArn: `${prefix}:task/c1/${id}`, clusterArn: `${prefix}:cluster/c1`, containerInstanceArn: `${prefix}:container-instance/c1/i1`,
    taskDefinitionArn: `${prefix}:task-definition/web:1`, lastStatus: 'RUNNING', desiredStatus: 'RUNNING', version: 1, tags: [],
    reservation: { cpu: 0, memory: 16, tcpPorts: [], udpPorts: [] }, ...extra,
  };
}

describe('task indexes', () => {
  it('are restored for tasks written before they existed (regression: an upgraded server must not empty its agents\' manifests)', async () => {
    const store = new SqliteStore({ path: ':memory:' });
    const ctx: DomainContext = { store, scope: SCOPE, nowMs: Date.now, principalArn: `arn:aws:iam::${SCOPE.accountId}:root`, log: () => undefined };
    await store.put(keys.cluster('c1'), { clusterName: 'c1', clusterArn: `${prefix}:cluster/c1`, status: 'ACTIVE', createdAt: 0 });
    const running = task('a1', { group: 'service:web', startedBy: 'ecs-svc/1234567890123456789' });
    const stopped = task('a2', { lastStatus: 'STOPPED', desiredStatus: 'STOPPED' });
    await store.put(keys.task('c1', 'a1'), running);
    await store.put(keys.task('c1', 'a2'), stopped);
    assert.deepEqual(await tasksForInstance(ctx, 'c1', running.containerInstanceArn), []);

    assert.equal(await restoreTaskIndexes(ctx), 2);
    assert.deepEqual((await tasksForInstance(ctx, 'c1', running.containerInstanceArn)).map((t) => t.taskArn), [running.taskArn]);
    assert.ok(await store.get(keys.serviceTask('c1', 'web', 'a1')));
    assert.equal(await store.get(keys.instanceTask('c1', 'i1', 'a2')), undefined, 'a STOPPED task holds no place on its instance');
    assert.equal(await restoreTaskIndexes(ctx), 0, 'idempotent');
    await store.close();
  });
});
