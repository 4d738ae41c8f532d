/**
 * The Application Auto Scaling operations Wharf serves (awsJson 1.1, `AnyScaleFrontendService`),
 * by wire name. Each handler takes the input validated against the service's model and answers
 * the output shape; the rules live in the domain, the scaling itself in the autoscaling controller.
 */
import * as domain from '../../domain/index.js';
import type { DomainContext } from '../../domain/index.js';
import type { OperationHandler } from '../protocol/index.js';

// Inputs arrive validated against the model, so each handler may take the SDK input shape.
export function autoscalingHandlers(ctx: DomainContext): Record<string, OperationHandler> {
  return {
    RegisterScalableTarget: (input) => domain.registerScalableTarget(ctx, input),
    DescribeScalableTargets: (input) => domain.describeScalableTargets(ctx, input),
    DeregisterScalableTarget: async (input) => { await domain.deregisterScalableTarget(ctx, input); return {}; },

    PutScalingPolicy: (input) => domain.putScalingPolicy(ctx, input),
    DescribeScalingPolicies: (input) => domain.describeScalingPolicies(ctx, input),
    DeleteScalingPolicy: async (input) => { await domain.deleteScalingPolicy(ctx, input); return {}; },

    PutScheduledAction: async (input) => { await domain.putScheduledAction(ctx, input); return {}; },
    DescribeScheduledActions: (input) => domain.describeScheduledActions(ctx, input),
    DeleteScheduledAction: async (input) => { await domain.deleteScheduledAction(ctx, input); return {}; },

    DescribeScalingActivities: (input) => domain.describeScalingActivities(ctx, input),

    TagResource: async (input) => { await domain.tagScalableTarget(ctx, input); return {}; },
    UntagResource: async (input) => { await domain.untagScalableTarget(ctx, input); return {}; },
    ListTagsForResource: async (input) => ({ Tags: await domain.listScalableTargetTags(ctx, input) }),
  };
}
