/**
 * The ELBv2 target group and target operations, by wire name. Each handler takes the input as
 * the awsQuery protocol decoded it (the SDK's input shape) and answers the output shape; every
 * rule lives in the domain.
 */
import * as elbv2 from '../../domain/index.js';
import type { DomainContext } from '../../domain/index.js';
import type { QueryOperationHandler } from '../protocol/index.js';

export function targetGroupHandlers(ctx: DomainContext): Record<string, QueryOperationHandler> {
  return {
    CreateTargetGroup: (input) => elbv2.createTargetGroup(ctx, input),
    DescribeTargetGroups: (input) => elbv2.describeTargetGroups(ctx, input),
    ModifyTargetGroup: (input) => elbv2.modifyTargetGroup(ctx, input),
    DescribeTargetGroupAttributes: (input) => elbv2.describeTargetGroupAttributes(ctx, input),
    ModifyTargetGroupAttributes: (input) => elbv2.modifyTargetGroupAttributes(ctx, input),
    DeleteTargetGroup: (input) => elbv2.deleteTargetGroup(ctx, input),
    RegisterTargets: (input) => elbv2.registerTargets(ctx, input),
    DeregisterTargets: (input) => elbv2.deregisterTargets(ctx, input),
    DescribeTargetHealth: (input) => elbv2.describeTargetHealth(ctx, input),
  };
}
