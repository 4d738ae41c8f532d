export { createJsonProtocolHandler, isJsonProtocolRequest } from './json-protocol.js';
export type { JsonProtocolOptions, JsonService, OperationHandler, RequestContext } from './json-protocol.js';
