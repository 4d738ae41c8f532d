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
  service: (cluster: string, name: string) => `ecs/services/${cluster}/${name}`,
  servicesOf: (cluster: string) => `ecs/services/${cluster}/`,
  /**
   * Index of the tasks an instance holds, kept in the same transactions as the tasks: an entry
   * exists from placement until the task is STOPPED, so an agent's manifest never scans the cluster.
   */
  instanceTask: (cluster: string, instanceId: string, taskId: string) => `ecs/instance-tasks/${cluster}/${instanceId}/${taskId}`,
  instanceTasksOf: (cluster: string, instanceId: string) => `ecs/instance-tasks/${cluster}/${instanceId}/`,
  /** Index of a service's tasks, from launch until the task record itself expires (STOPPED ones included). */
  serviceTask: (cluster: string, service: string, taskId: string) => `ecs/service-tasks/${cluster}/${service}/${taskId}`,
  serviceTasksOf: (cluster: string, service: string) => `ecs/service-tasks/${cluster}/${service}/`,
  // ECR. Repository names contain `/` but never `:`, so `<repository>:` ends a repository's prefix
  // without catching the images of `<repository>/<more>`.
  repository: (name: string) => `ecr/repositories/${name}`,
  repositories: () => 'ecr/repositories/',
  image: (repository: string, digest: string) => `ecr/images/${repository}:${digest}`,
  imagesOf: (repository: string) => `ecr/images/${repository}:`,
  images: () => 'ecr/images/',
  imageTag: (repository: string, tag: string) => `ecr/tags/${repository}:${tag}`,
  imageTagsOf: (repository: string) => `ecr/tags/${repository}:`,
  /** A blob pushed to (or mounted into) a repository: what makes it readable there. */
  layer: (repository: string, digest: string) => `ecr/layers/${repository}:${digest}`,
  layersOf: (repository: string) => `ecr/layers/${repository}:`,
  layers: () => 'ecr/layers/',
  // ELBv2. Names are unique per account and kind, so they key the records; every ARN carries the
  // names and ids its record's key needs (`loadbalancer/app/<name>/<id>`,
  // `listener/app/<lb-name>/<lb-id>/<listener-id>`, `targetgroup/<name>/<id>`).
  loadBalancer: (name: string) => `elbv2/load-balancers/${name}`,
  loadBalancers: () => 'elbv2/load-balancers/',
  listener: (loadBalancerName: string, listenerId: string) => `elbv2/listeners/${loadBalancerName}/${listenerId}`,
  listenersOf: (loadBalancerName: string) => `elbv2/listeners/${loadBalancerName}/`,
  /**
   * A listener port taken: every load balancer listens on the one Wharf host, so a port serves one
   * listener of one load balancer. Written in the same transactions as the listener, which makes
   * the port's uniqueness atomic.
   */
  listenerPort: (port: number) => `elbv2/listener-ports/${port}`,
  rule: (listenerId: string, ruleId: string) => `elbv2/rules/${listenerId}/${ruleId}`,
  rulesOf: (listenerId: string) => `elbv2/rules/${listenerId}/`,
  rules: () => 'elbv2/rules/',
  listeners: () => 'elbv2/listeners/',
  targetGroup: (name: string) => `elbv2/target-groups/${name}`,
  targetGroups: () => 'elbv2/target-groups/',
  /** A registration: `<Id>:<Port>` within its target group. */
  target: (targetGroupName: string, id: string, port: number) => `elbv2/targets/${targetGroupName}/${id}:${port}`,
  targetsOf: (targetGroupName: string) => `elbv2/targets/${targetGroupName}/`,
  targets: () => 'elbv2/targets/',
  // Application Auto Scaling. A target is named by namespace, dimension and resource id; the
  // resource id of an ECS service (`service/<cluster>/<service>`) always has three parts, so
  // `<resource id>/` closes a target's prefix. Policies and scheduled actions hold their API-written
  // definition; the controller keeps what it needs (cooldowns, schedules evaluated) beside them.
  scalableTarget: (namespace: string, dimension: string, resourceId: string) => `autoscaling/targets/${namespace}/${dimension}/${resourceId}`,
  scalableTargetsOf: (namespace: string) => `autoscaling/targets/${namespace}/`,
  scalableTargets: () => 'autoscaling/targets/',
  scalingPolicy: (namespace: string, dimension: string, resourceId: string, name: string) =>
    `autoscaling/policies/${namespace}/${dimension}/${resourceId}/${name}`,
  scalingPoliciesOfTarget: (namespace: string, dimension: string, resourceId: string) => `autoscaling/policies/${namespace}/${dimension}/${resourceId}/`,
  scalingPoliciesOf: (namespace: string) => `autoscaling/policies/${namespace}/`,
  scalingPolicyState: (policyKey: string) => `autoscaling/policy-states/${policyKey.slice('autoscaling/policies/'.length)}`,
  scheduledAction: (namespace: string, dimension: string, resourceId: string, name: string) =>
    `autoscaling/scheduled-actions/${namespace}/${dimension}/${resourceId}/${name}`,
  scheduledActionsOfTarget: (namespace: string, dimension: string, resourceId: string) =>
    `autoscaling/scheduled-actions/${namespace}/${dimension}/${resourceId}/`,
  scheduledActionsOf: (namespace: string) => `autoscaling/scheduled-actions/${namespace}/`,
  scheduledActionState: (actionKey: string) => `autoscaling/scheduled-action-states/${actionKey.slice('autoscaling/scheduled-actions/'.length)}`,
  /** Activities newest first: the key carries the start time counted down from the largest epoch-ms of 13 digits. */
  scalingActivity: (namespace: string, startMs: number, id: string) =>
    `autoscaling/activities/${namespace}/${String(9_999_999_999_999 - Math.floor(startMs)).padStart(13, '0')}-${id}`,
  scalingActivitiesOf: (namespace: string) => `autoscaling/activities/${namespace}/`,
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
