/** Stored shapes of the ECS resources: the wire shape, plus the few members only Wharf uses. */
import type { ContainerInstance, Deployment, Service, ServiceEvent, Task, TaskDefinition, Tag } from '@aws-sdk/client-ecs';
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
  /** Wharf only: the last deployment that completed, which a circuit-breaker rollback returns to. */
  lastCompletedDeployment?: { id: string; taskDefinition: string };
  /** Wharf only: CreateService's clientToken, so a retried create answers the same service. */
  clientToken?: string;
};

/** What a task takes from its instance: CPU units, MiB, host ports (static and the dynamic ones it was given). */
export interface Reservation { cpu: number; memory: number; tcpPorts: number[]; udpPorts: number[] }
