/** ARNs and ids in ECS's long format (mandatory on ECS since 2021-04-01). */
import { randomBytes } from 'node:crypto';

export interface AccountScope {
  /** Partition, region and account id that every ARN this server mints carries. */
  readonly partition: string;
  readonly region: string;
  readonly accountId: string;
}

const prefix = (s: AccountScope, service: string) => `arn:${s.partition}:${service}:${s.region}:${s.accountId}`;

/** The cluster a request means when it names none, and the one an agent joins by default. */
export const DEFAULT_CLUSTER = 'default';

/** A 32-hex-character id, as ECS uses for tasks and container instances. */
export function newResourceId(): string {
  return randomBytes(16).toString('hex');
}

/** A UUID, as ECS uses in container ARNs. */
export function newUuid(): string {
  return crypto.randomUUID();
}

export const clusterArn = (s: AccountScope, clusterName: string) => `${prefix(s, 'ecs')}:cluster/${clusterName}`;
export const taskArn = (s: AccountScope, clusterName: string, taskId: string) =>
  `${prefix(s, 'ecs')}:task/${clusterName}/${taskId}`;
export const containerArn = (s: AccountScope, clusterName: string, taskId: string, uuid: string) =>
  `${prefix(s, 'ecs')}:container/${clusterName}/${taskId}/${uuid}`;
export const containerInstanceArn = (s: AccountScope, clusterName: string, id: string) =>
  `${prefix(s, 'ecs')}:container-instance/${clusterName}/${id}`;
export const serviceArn = (s: AccountScope, clusterName: string, serviceName: string) =>
  `${prefix(s, 'ecs')}:service/${clusterName}/${serviceName}`;

/** A deployment id as ECS mints them: `ecs-svc/` and 19 digits. */
export function newDeploymentId(): string {
  const digits = randomBytes(8).readBigUInt64BE() % 10n ** 19n;
  return `ecs-svc/${digits.toString().padStart(19, '0')}`;
}

export const taskDefinitionArn = (s: AccountScope, family: string, revision: number) =>
  `${prefix(s, 'ecs')}:task-definition/${family}:${revision}`;

/** The parts of an ECS ARN, or undefined when the string is not an ECS ARN. */
export interface ParsedArn {
  partition: string;
  service: string;
  region: string;
  accountId: string;
  resourceType: string;
  /** Everything after `<resourceType>/`, split on `/`. */
  path: string[];
}

export function parseArn(arn: string): ParsedArn | undefined {
  const m = /^arn:([^:]+):([^:]+):([^:]*):([^:]*):([^/:]+)[/:](.+)$/.exec(arn);
  if (!m) return undefined;
  return {
    partition: m[1]!, service: m[2]!, region: m[3]!, accountId: m[4]!, resourceType: m[5]!,
    path: m[6]!.split('/'),
  };
}

/**
 * A name-or-ARN reference to a cluster resolved to the cluster name. ECS accepts either the short
 * name or the full ARN wherever a cluster is named.
 */
export function clusterNameOf(ref: string): string {
  if (!ref.startsWith('arn:')) return ref;
  const p = parseArn(ref);
  return p && p.resourceType === 'cluster' && p.path.length === 1 ? p.path[0]! : ref;
}

/**
 * The id part of a task or container-instance reference: the bare id, or the last path part of an
 * ARN (long format `task/<cluster>/<id>`, or the old `task/<id>`).
 */
export function resourceIdOf(ref: string, resourceType: 'task' | 'container-instance'): string | undefined {
  if (!ref.startsWith('arn:')) return /^[A-Za-z0-9-]{1,64}$/.test(ref) ? ref : undefined;
  const p = parseArn(ref);
  if (!p || p.resourceType !== resourceType || p.path.length < 1) return undefined;
  return p.path[p.path.length - 1];
}

/** An ECR repository's ARN; `name` may contain slashes (`team/app`). */
export const repositoryArn = (s: AccountScope, repositoryName: string) => `${prefix(s, 'ecr')}:repository/${repositoryName}`;

/** A scalable target's ARN: `scalable-target/` and a 36-hex-character id, as Application Auto Scaling mints them. */
export const scalableTargetArn = (s: AccountScope, id: string) => `${prefix(s, 'application-autoscaling')}:scalable-target/${id}`;
export const newScalableTargetId = (): string => randomBytes(18).toString('hex');

/** A scaling policy's ARN, in Auto Scaling's `scalingPolicy:<uuid>:resource/<namespace>/<resource id>:policyName/<name>` form. */
export const scalingPolicyArn = (s: AccountScope, uuid: string, namespace: string, resourceId: string, policyName: string) =>
  `${prefix(s, 'autoscaling')}:scalingPolicy:${uuid}:resource/${namespace}/${resourceId}:policyName/${policyName}`;

/** A scheduled action's ARN, in the same form as a scaling policy's. */
export const scheduledActionArn = (s: AccountScope, uuid: string, namespace: string, resourceId: string, name: string) =>
  `${prefix(s, 'autoscaling')}:scheduledAction:${uuid}:resource/${namespace}/${resourceId}:scheduledActionName/${name}`;

/** A CloudWatch alarm's ARN. */
export const alarmArn = (s: AccountScope, alarmName: string) => `${prefix(s, 'cloudwatch')}:alarm:${alarmName}`;
