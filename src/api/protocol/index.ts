export { createJsonProtocolHandler, isJsonProtocolRequest } from './json-protocol.js';
export type { JsonProtocolOptions, JsonService, OperationHandler, RequestContext } from './json-protocol.js';
export { createQueryProtocolHandler, isQueryProtocolRequest } from './query-protocol.js';
export type { QueryOperationHandler, QueryProtocolOptions, QueryRequestContext, QueryService } from './query-protocol.js';
export { createRpcV2CborHandler, isRpcV2CborRequest } from './rpcv2-cbor-protocol.js';
export type { RpcV2CborOptions } from './rpcv2-cbor-protocol.js';
