/** Stored shapes of the ECS resources: the wire shape, plus the few members only Wharf uses. */
import type { ContainerInstance, Task, TaskDefinition, Tag } from '@aws-sdk/client-ecs';
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
};

export type ContainerInstanceRecord = Wire<ContainerInstance> & {
  containerInstanceArn: string;
  ec2InstanceId: string;
  status: string;
  agentConnected: boolean;
  tags: Tag[];
};

/** What a task takes from its instance: CPU units, MiB, static host ports. */
export interface Reservation { cpu: number; memory: number; tcpPorts: number[]; udpPorts: number[] }
