/**
 * The ECS operations Wharf serves, by wire name. Each handler takes the validated input and
 * answers the output shape; all rules live in the domain, none here.
 */
import * as ecs from '../../domain/index.js';
import type { DomainContext } from '../../domain/index.js';

// Inputs arrive validated against the ECS model, so each handler may take the SDK input shape.
type Handler = (input: any) => Promise<unknown>;

export function ecsHandlers(ctx: DomainContext): Record<string, Handler> {
  return {
    CreateCluster: async (input) => ({ cluster: await ecs.createCluster(ctx, input) }),
    DescribeClusters: (input) => ecs.describeClusters(ctx, input),
    ListClusters: (input) => ecs.listClusters(ctx, input),
    UpdateCluster: (input) => ecs.updateCluster(ctx, input),
    DeleteCluster: (input) => ecs.deleteCluster(ctx, input),

    RegisterTaskDefinition: (input) => ecs.registerTaskDefinition(ctx, input),
    DescribeTaskDefinition: (input) => ecs.describeTaskDefinition(ctx, input),
    ListTaskDefinitions: (input) => ecs.listTaskDefinitions(ctx, input),
    ListTaskDefinitionFamilies: (input) => ecs.listTaskDefinitionFamilies(ctx, input),
    DeregisterTaskDefinition: (input) => ecs.deregisterTaskDefinition(ctx, input),
    DeleteTaskDefinitions: (input) => ecs.deleteTaskDefinitions(ctx, input),

    RunTask: (input) => ecs.runTask(ctx, input),
    StartTask: (input) => ecs.startTask(ctx, input),
    StopTask: (input) => ecs.stopTask(ctx, input),
    DescribeTasks: (input) => ecs.describeTasks(ctx, input),
    ListTasks: (input) => ecs.listTasks(ctx, input),

    CreateService: (input) => ecs.createService(ctx, input),
    UpdateService: (input) => ecs.updateService(ctx, input),
    DeleteService: (input) => ecs.deleteService(ctx, input),
    DescribeServices: (input) => ecs.describeServices(ctx, input),
    ListServices: (input) => ecs.listServices(ctx, input),
    ListServicesByNamespace: (input) => ecs.listServicesByNamespace(ctx, input),

    RegisterContainerInstance: (input) => ecs.registerContainerInstance(ctx, input),
    DeregisterContainerInstance: (input) => ecs.deregisterContainerInstance(ctx, input),
    DescribeContainerInstances: (input) => ecs.describeContainerInstances(ctx, input),
    ListContainerInstances: (input) => ecs.listContainerInstances(ctx, input),
    UpdateContainerInstancesState: (input) => ecs.updateContainerInstancesState(ctx, input),

    PutAttributes: (input) => ecs.putAttributes(ctx, input),
    ListAttributes: (input) => ecs.listAttributes(ctx, input),
    DeleteAttributes: (input) => ecs.deleteAttributes(ctx, input),

    TagResource: (input) => ecs.tagResource(ctx, input),
    UntagResource: (input) => ecs.untagResource(ctx, input),
    ListTagsForResource: (input) => ecs.listTagsForResource(ctx, input),
  };
}
