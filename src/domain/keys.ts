/**
 * Store key layout of the ECS domain. Keys sort so that prefix scans answer the List calls in a
 * stable order; task definition revisions are zero-padded so they sort numerically.
 */
export const keys = {
  cluster: (name: string) => `ecs/clusters/${name}`,
  clusters: () => 'ecs/clusters/',
  family: (family: string) => `ecs/families/${family}`,
  families: () => 'ecs/families/',
  taskDefinition: (family: string, revision: number) => `ecs/taskdefs/${family}/${String(revision).padStart(10, '0')}`,
  taskDefinitionsOf: (family: string) => `ecs/taskdefs/${family}/`,
  taskDefinitions: () => 'ecs/taskdefs/',
  task: (cluster: string, taskId: string) => `ecs/tasks/${cluster}/${taskId}`,
  tasksOf: (cluster: string) => `ecs/tasks/${cluster}/`,
  containerInstance: (cluster: string, id: string) => `ecs/instances/${cluster}/${id}`,
  containerInstancesOf: (cluster: string) => `ecs/instances/${cluster}/`,
  runTaskToken: (cluster: string, token: string) => `ecs/run-task-tokens/${cluster}/${token}`,
};

/** Opaque pagination tokens: the last key returned, so the next page starts after it. */
export function encodeNextToken(lastKey: string): string {
  return Buffer.from(JSON.stringify({ k: lastKey }), 'utf8').toString('base64url');
}

export function decodeNextToken(token: string | undefined): string | undefined {
  if (token === undefined) return undefined;
  try {
    const parsed = JSON.parse(Buffer.from(token, 'base64url').toString('utf8')) as { k?: unknown };
    if (typeof parsed.k === 'string') return parsed.k;
  } catch { /* fall through to the error below */ }
  return undefined;
}
