/** The instance agent: its surface for src/bin and src/cli. */
export { Agent, AGENT_DEFAULTS, DEFAULT_RESERVED_PORTS } from './agent.js';
export type { AgentOptions } from './agent.js';
export { DockerRuntime } from './docker-runtime.js';
export type { DockerRuntimeOptions } from './docker-runtime.js';
export { RuntimeError, IMAGE_PULL_BEHAVIORS } from './container-runtime.js';
export type {
  ContainerRuntime, ContainerSpec, ContainerState, RuntimeEvent, RuntimeInfo, ImagePullBehavior, EnsuredImage, Subscription,
} from './container-runtime.js';
export { loadCredentials } from './credentials.js';
export { jsonLogger, silentLogger } from './log.js';
export type { Logger, LogLevel } from './log.js';
