/**
 * Stored shapes of Application Auto Scaling's resources: the wire shape (PascalCase, timestamps as
 * epoch seconds), plus the few members only Wharf uses. The API writes targets, policies and
 * scheduled actions; the autoscaling controller writes activities, a target's capacity bounds when
 * a scheduled action runs, and the per-policy and per-action state records.
 */
import type {
  ScalableDimension, ScalableTarget, ScalingActivity, ScalingPolicy, ScheduledAction, ServiceNamespace,
} from '@aws-sdk/client-application-auto-scaling';
import type { Wire } from './context.js';

export type ScalableTargetRecord = Wire<ScalableTarget> & {
  ServiceNamespace: ServiceNamespace;
  ResourceId: string;
  ScalableDimension: ScalableDimension;
  MinCapacity: number;
  MaxCapacity: number;
  ScalableTargetARN: string;
  Tags: Record<string, string>;
};

export type ScalingPolicyRecord = Wire<ScalingPolicy> & {
  PolicyARN: string;
  PolicyName: string;
  PolicyType: 'StepScaling' | 'TargetTrackingScaling';
};

export type ScheduledActionRecord = Wire<ScheduledAction> & {
  ScheduledActionName: string;
  ScheduledActionARN: string;
  Schedule: string;
  ResourceId: string;
  ScalableDimension: ScalableDimension;
};

export type ScalingActivityRecord = Wire<ScalingActivity>;

/**
 * What the controller remembers of a policy between evaluations (written by the controller only).
 * Times are epoch milliseconds.
 */
export interface ScalingPolicyState {
  /** When this policy last scaled out, and the capacity it scaled out from (the cooldown's baseline). */
  lastScaleOutAtMs?: number;
  scaleOutFromCapacity?: number;
  /** When this policy last scaled in. */
  lastScaleInAtMs?: number;
}

/** How far a scheduled action's schedule has been evaluated (written by the controller only). */
export interface ScheduledActionState {
  /** Every run due at or before this time (epoch ms) has been handled. */
  evaluatedThroughMs: number;
}
