/**
 * The ELBv2 operations on load balancers, listeners, rules and tags, by wire name. Inputs arrive
 * validated against the ELBv2 model (awsQuery, parsed into the SDK input shape); the rules of each
 * resource live in the domain.
 */
import * as domain from '../../domain/index.js';
import type { QueryOperationHandler } from '../protocol/index.js';
import type { Elbv2Dependencies } from './dependencies.js';

export function loadBalancerHandlers({ ctx, advertiseHost }: Elbv2Dependencies): Record<string, QueryOperationHandler> {
  const view = (): domain.LoadBalancerView => ({ dnsName: advertiseHost() });
  return {
    CreateLoadBalancer: (input) => domain.createLoadBalancer(ctx, input, view()),
    DescribeLoadBalancers: (input) => domain.describeLoadBalancers(ctx, input, view()),
    DeleteLoadBalancer: (input) => domain.deleteLoadBalancer(ctx, input),
    DescribeLoadBalancerAttributes: (input) => domain.describeLoadBalancerAttributes(ctx, input),
    ModifyLoadBalancerAttributes: (input) => domain.modifyLoadBalancerAttributes(ctx, input),
    CreateListener: (input) => domain.createListener(ctx, input),
    DescribeListeners: (input) => domain.describeListeners(ctx, input),
    ModifyListener: (input) => domain.modifyListener(ctx, input),
    DeleteListener: (input) => domain.deleteListener(ctx, input),
    CreateRule: (input) => domain.createRule(ctx, input),
    DescribeRules: (input) => domain.describeRules(ctx, input),
    ModifyRule: (input) => domain.modifyRule(ctx, input),
    DeleteRule: (input) => domain.deleteRule(ctx, input),
    SetRulePriorities: (input) => domain.setRulePriorities(ctx, input),
    AddTags: (input) => domain.addTags(ctx, input),
    RemoveTags: (input) => domain.removeTags(ctx, input),
    DescribeTags: (input) => domain.describeTags(ctx, input),
  };
}
