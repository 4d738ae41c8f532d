/**
 * A service of busybox httpd tasks behind a Wharf load balancer, set up the way a user would with
 * the ECS and ELBv2 APIs: a target group, an application load balancer with an HTTP listener, and a
 * service whose `loadBalancers` names the group. Each revision answers its own body, so a request
 * stream can tell the revisions apart. For the zero-downtime tests and the rolling-deployment
 * benchmark.
 */
import {
  DescribeServicesCommand, DescribeTasksCommand, ListTasksCommand, RegisterTaskDefinitionCommand, UpdateServiceCommand,
  CreateServiceCommand, DeleteServiceCommand, type ECSClient, type Service, type Task,
} from '@aws-sdk/client-ecs';
import {
  CreateListenerCommand, CreateLoadBalancerCommand, CreateTargetGroupCommand, DeleteLoadBalancerCommand, DeleteTargetGroupCommand,
  DescribeTargetHealthCommand, ElasticLoadBalancingV2Client, ModifyTargetGroupAttributesCommand, type TargetHealthDescription,
} from '@aws-sdk/client-elastic-load-balancing-v2';
import { freeListenerPort, pollUntil } from './polling.js';
import { TEST_IMAGE } from './test-image.js';

export const CONTAINER_NAME = 'web';
export const CONTAINER_PORT = 8080;

export interface LoadBalancedServiceOptions {
  ecs: ECSClient;
  elb: ElasticLoadBalancingV2Client;
  cluster: string;
  /** Names the service, the task definition family, the load balancer and the target group. */
  name: string;
  desiredCount: number;
  /** The target group's health check (ELB's defaults are 30 s, 5 s, 5, 2; here 5 s, 2 s, 2, 2, ECS's suggested fast settings). */
  healthCheckIntervalSeconds?: number;
  healthCheckTimeoutSeconds?: number;
  healthyThresholdCount?: number;
  unhealthyThresholdCount?: number;
  /** The target group's deregistration_delay.timeout_seconds (ELB's default 300 s is long for a test). */
  deregistrationDelaySeconds?: number;
  /** Times per operation: waits poll until this. Default 120 s. */
  timeoutMs?: number;
}

export interface LoadBalancedService {
  /** What clients call: the load balancer's DNS name and the listener's port. */
  url: string;
  serviceArn: string;
  targetGroupArn: string;
  loadBalancerArn: string;
  /** The body the current revision answers (`rev-1`, `rev-2`, ...). */
  body(): string;
  /** Resolves once exactly `count` targets are registered, all healthy, none draining. */
  waitForHealthyTargets(count: number): Promise<TargetHealthDescription[]>;
  /** Registers the next revision, updates the service to it, and waits for the deployment to complete. */
  rollOut(): Promise<void>;
  /** Sets the desired count and waits until the service and its targets have settled at it. */
  scaleTo(count: number): Promise<void>;
  /** The service's tasks that are RUNNING. */
  runningTasks(): Promise<Task[]>;
  /** Deletes the service (forced), then the load balancer and the target group. */
  remove(): Promise<void>;
}

export async function createLoadBalancedService(o: LoadBalancedServiceOptions): Promise<LoadBalancedService> {
  const { ecs, elb, cluster, name } = o;
  const timeoutMs = o.timeoutMs ?? 120_000;
  let revision = 0;
  const body = () => `rev-${revision}`;
  const register = async () => {
    revision++;
    const out = await ecs.send(new RegisterTaskDefinitionCommand({
      family: name,
      containerDefinitions: [{
        name: CONTAINER_NAME, image: TEST_IMAGE, memory: 16, stopTimeout: 2,
        portMappings: [{ containerPort: CONTAINER_PORT, hostPort: 0 }],
        command: ['sh', '-c', `busybox mkdir -p /www && echo ${body()} > /www/index.html && exec httpd -f -p ${CONTAINER_PORT} -h /www`],
      }],
    }));
    return out.taskDefinition!.taskDefinitionArn!;
  };

  const targetGroup = (await elb.send(new CreateTargetGroupCommand({
    Name: name, Protocol: 'HTTP', Port: CONTAINER_PORT, TargetType: 'instance',
    HealthCheckPath: '/index.html',
    HealthCheckIntervalSeconds: o.healthCheckIntervalSeconds ?? 5,
    HealthCheckTimeoutSeconds: o.healthCheckTimeoutSeconds ?? 2,
    HealthyThresholdCount: o.healthyThresholdCount ?? 2,
    UnhealthyThresholdCount: o.unhealthyThresholdCount ?? 2,
  }))).TargetGroups![0]!;
  const targetGroupArn = targetGroup.TargetGroupArn!;
  await elb.send(new ModifyTargetGroupAttributesCommand({
    TargetGroupArn: targetGroupArn,
    Attributes: [{ Key: 'deregistration_delay.timeout_seconds', Value: String(o.deregistrationDelaySeconds ?? 3) }],
  }));
  const loadBalancer = (await elb.send(new CreateLoadBalancerCommand({ Name: name, Type: 'application' }))).LoadBalancers![0]!;
  const loadBalancerArn = loadBalancer.LoadBalancerArn!;
  const port = await freeListenerPort();
  await elb.send(new CreateListenerCommand({
    LoadBalancerArn: loadBalancerArn, Protocol: 'HTTP', Port: port,
    DefaultActions: [{ Type: 'forward', TargetGroupArn: targetGroupArn }],
  }));
  const taskDefinition = await register();
  const service = (await ecs.send(new CreateServiceCommand({
    cluster, serviceName: name, taskDefinition, desiredCount: o.desiredCount,
    loadBalancers: [{ targetGroupArn, containerName: CONTAINER_NAME, containerPort: CONTAINER_PORT }],
    healthCheckGracePeriodSeconds: 60,
    deploymentConfiguration: { maximumPercent: 200, minimumHealthyPercent: 100 },
  }))).service!;
  const serviceArn = service.serviceArn!;

  const describe = async (): Promise<Service> =>
    (await ecs.send(new DescribeServicesCommand({ cluster, services: [name] }))).services![0]!;
  const waitForHealthyTargets = (count: number) => pollUntil(`${count} healthy targets in ${name}`, async () => {
    const health = (await elb.send(new DescribeTargetHealthCommand({ TargetGroupArn: targetGroupArn }))).TargetHealthDescriptions ?? [];
    return health.length === count && health.every((t) => t.TargetHealth?.State === 'healthy') ? health : undefined;
  }, timeoutMs);
  const waitForSteady = async (count: number) => {
    await pollUntil(`service ${name} steady at ${count}`, async () => {
      const s = await describe();
      const done = s.deployments?.length === 1 && s.deployments[0]!.rolloutState === 'COMPLETED' && s.runningCount === count;
      return done ? s : undefined;
    }, timeoutMs);
    await waitForHealthyTargets(count);
  };
  await waitForSteady(o.desiredCount);

  return {
    url: `http://${loadBalancer.DNSName}:${port}/index.html`,
    serviceArn, targetGroupArn, loadBalancerArn, body, waitForHealthyTargets,
    async rollOut() {
      const next = await register();
      await ecs.send(new UpdateServiceCommand({ cluster, service: name, taskDefinition: next }));
      const s = await describe();
      await waitForSteady(s.desiredCount ?? 0);
    },
    async scaleTo(count) {
      await ecs.send(new UpdateServiceCommand({ cluster, service: name, desiredCount: count }));
      await waitForSteady(count);
    },
    async runningTasks() {
      const arns = (await ecs.send(new ListTasksCommand({ cluster, serviceName: name, desiredStatus: 'RUNNING' }))).taskArns ?? [];
      if (arns.length === 0) return [];
      const tasks = (await ecs.send(new DescribeTasksCommand({ cluster, tasks: arns }))).tasks ?? [];
      return tasks.filter((t) => t.lastStatus === 'RUNNING');
    },
    async remove() {
      await ecs.send(new DeleteServiceCommand({ cluster, service: name, force: true })).catch(() => undefined);
      await elb.send(new DeleteLoadBalancerCommand({ LoadBalancerArn: loadBalancerArn })).catch(() => undefined);
      // The group is in use until the load balancer's deletion has gone through.
      await pollUntil(`target group ${name} free`, () => elb.send(new DeleteTargetGroupCommand({ TargetGroupArn: targetGroupArn })).then(() => true), timeoutMs);
    },
  };
}
