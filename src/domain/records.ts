/** Stored shapes of the ECS resources: the wire shape, plus the few members only Wharf uses. */
import type { ContainerInstance, Deployment, LoadBalancer, Service, ServiceEvent, Task, TaskDefinition, Tag } from '@aws-sdk/client-ecs';
import type {
  Listener as ElbListener, LoadBalancer as ElbLoadBalancer, Rule as ElbRule, Tag as ElbTag, TargetGroup as ElbTargetGroup,
} from '@aws-sdk/client-elastic-load-balancing-v2';
import type { Wire } from './context.js';

export type TaskDefinitionRecord = Wire<TaskDefinition> & {
  taskDefinitionArn: string;
  family: string;
  revision: number;
  status: 'ACTIVE' | 'INACTIVE' | 'DELETE_IN_PROGRESS';
  tags: Tag[];
};

export interface FamilyRecord { family: string; latestRevision: number }

export type TaskRecord = Wire<Task> & {
  taskArn: string;
  clusterArn: string;
  containerInstanceArn: string;
  taskDefinitionArn: string;
  lastStatus: string;
  desiredStatus: string;
  version: number;
  tags: Tag[];
  /** Resources the task holds on its instance until it is STOPPED (released exactly once). */
  reservation: Reservation;
  /**
   * The host ports placement gave the mappings without one (bridge, hostPort 0), in the order of
   * resources.dynamicPortMappings; the agent binds exactly these.
   */
  dynamicHostPorts?: { tcp: number[]; udp: number[] };
};

export type ContainerInstanceRecord = Wire<ContainerInstance> & {
  containerInstanceArn: string;
  ec2InstanceId: string;
  status: string;
  agentConnected: boolean;
  /** Wharf only: epoch seconds when the agent's session last ended (absent while connected). */
  agentDisconnectedAt?: number;
  /**
   * Wharf only: the address the instance's agent last dialed the server from. The load balancer's
   * data plane reaches the instance's task host ports there (as ELB reaches an EC2 instance at its
   * private address).
   */
  agentAddress?: string;
  tags: Tag[];
};

export type DeploymentRecord = Omit<Wire<Deployment>, 'id' | 'status' | 'taskDefinition' | 'desiredCount' | 'createdAt' | 'updatedAt' | 'rolloutState'> & {
  id: string;
  /** PRIMARY (the newest, the one tasks are started for) or ACTIVE (being replaced). */
  status: 'PRIMARY' | 'ACTIVE';
  taskDefinition: string;
  desiredCount: number;
  createdAt: number;
  updatedAt: number;
  rolloutState: 'IN_PROGRESS' | 'COMPLETED' | 'FAILED';
  /**
   * Wharf only (ECS's Deployment shape has none; ECS keeps them in the deployment's service
   * revision): the loadBalancers this deployment was created with. Its tasks are registered in
   * these target groups, and only these, until they stop. Absent in records written before Wharf
   * kept them: the service's then apply (`deploymentLoadBalancers`).
   */
  loadBalancers?: Wire<LoadBalancer>[];
};

export type ServiceRecord = Omit<Wire<Service>, 'deployments' | 'events' | 'status' | 'schedulingStrategy'> & {
  serviceArn: string;
  serviceName: string;
  clusterArn: string;
  status: 'ACTIVE' | 'DRAINING' | 'INACTIVE';
  desiredCount: number;
  taskDefinition: string;
  schedulingStrategy: 'REPLICA' | 'DAEMON';
  /** Newest first: the PRIMARY deployment, then the ACTIVE ones still being scaled down. */
  deployments: DeploymentRecord[];
  /** Newest first, at most 100, as ECS keeps them. */
  events: Wire<ServiceEvent>[];
  tags: Tag[];
  createdAt: number;
  /**
   * Wharf only: the last deployment that completed, which a circuit-breaker rollback returns to,
   * with its task definition and loadBalancers (absent in records written before Wharf kept them).
   */
  lastCompletedDeployment?: { id: string; taskDefinition: string; loadBalancers?: Wire<LoadBalancer>[] };
  /** Wharf only: CreateService's clientToken, so a retried create answers the same service. */
  clientToken?: string;
  /**
   * Wharf only: tasks the scheduler is stopping whose load-balancer targets drain first, by task
   * ARN, with the stop reason and when draining began (epoch seconds). Written by the controller.
   */
  drainingTasks?: Record<string, { reason: string; since: number }>;
  /**
   * Wharf only: target groups no deployment names any more in which the service's tasks still have
   * registered targets, so that they are still read until those are deregistered. Written by the
   * controller (by UpdateService too in records written before deployments kept their loadBalancers).
   */
  retiredTargetGroupArns?: string[];
};

/** What a task takes from its instance: CPU units, MiB, host ports (static and the dynamic ones it was given). */
export interface Reservation { cpu: number; memory: number; tcpPorts: number[]; udpPorts: number[] }

// ---- Elastic Load Balancing v2 --------------------------------------------------------------
// Desired state (load balancers, listeners, rules, target groups, registrations) is written by the
// ELBv2 API and by the service controller (a service's own targets); observed state (each target's
// health, the end of its draining) only by the load-balancer controller, which drives HAProxy.

/** A load balancer. Attributes are kept as ELB names them (`idle_timeout.timeout_seconds`, ...). */
export type LoadBalancerRecord = Omit<Wire<ElbLoadBalancer>, 'CreatedTime' | 'State' | 'Type'> & {
  LoadBalancerArn: string;
  LoadBalancerName: string;
  Type: 'application' | 'network';
  /** provisioning until its HAProxy answers, then active; failed with the reason when it cannot start. */
  State: { Code: 'provisioning' | 'active' | 'failed'; Reason?: string };
  CreatedTime: number;
  attributes: Record<string, string>;
  tags: ElbTag[];
};

/**
 * A listener. Its default rule is not stored (see RuleRecord), so the default rule's tags live
 * here, in `defaultRuleTags`, for AddTags/DescribeTags on the default rule's ARN.
 */
export type ListenerRecord = Wire<ElbListener> & {
  ListenerArn: string; LoadBalancerArn: string; Port: number; Protocol: string; tags: ElbTag[]; defaultRuleTags?: ElbTag[];
};

/** A listener rule; the default rule (Priority `default`) is the listener's DefaultActions and is not stored. */
export type RuleRecord = Omit<Wire<ElbRule>, 'IsDefault'> & { RuleArn: string; ListenerArn: string; Priority: string; tags: ElbTag[] };

/** A target group. Attributes as ELB names them (`deregistration_delay.timeout_seconds`, ...), every default filled in. */
export type TargetGroupRecord = Omit<Wire<ElbTargetGroup>, 'LoadBalancerArns'> & {
  TargetGroupArn: string;
  TargetGroupName: string;
  TargetType: 'instance' | 'ip';
  attributes: Record<string, string>;
  tags: ElbTag[];
};

/**
 * One registration of a target (Id + Port) in a target group, at keys.target. For a task of a
 * service, `Id` is its container instance's id (target type instance) or its instance's address
 * (ip), and `address` is always where the data plane reaches it.
 */
export interface TargetRecord {
  TargetGroupArn: string;
  Id: string;
  Port: number;
  AvailabilityZone?: string;
  /** The address HAProxy connects to (an instance target's Id names the instance, not an address). */
  address: string;
  registeredAt: number;
  /** Written by whoever deregisters (the API or the service controller); the target then drains. */
  deregisteredAt?: number;
  /** The task this target belongs to, when a service registered it. */
  taskArn?: string;
  /** Observed: written by the load-balancer controller from its health checks. */
  health: { State: 'initial' | 'healthy' | 'unhealthy' | 'unused' | 'draining' | 'unavailable'; Reason?: string; Description?: string };
}
