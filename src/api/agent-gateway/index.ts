export { AgentGateway } from './gateway.js';
export type { AgentGatewayOptions } from './gateway.js';
