/**
 * Smithy RPC v2 CBOR: `POST /service/<ServiceShape>/operation/<Operation>` with header
 * `smithy-protocol: rpc-v2-cbor` and a CBOR body (botocore sends it for CloudWatch). Services are
 * the awsJson ones (`JsonService`), found by their target prefix, which is their Smithy service
 * shape name; input and output have the awsJson shape, so the same handlers serve both.
 */
import type { IncomingMessage, ServerResponse } from 'node:http';
import { WharfError } from '../../model/index.js';
import { verifyRequest } from '../../sigv4/index.js';
import { ContentEncodingError, decodedBody, readBody, splitUrl } from './body.js';
import { CborError, decodeCbor, encodeCbor } from './cbor.js';
import { httpStatusFor } from './errors.js';
import { invokeOperation, type JsonService } from './json-protocol.js';
import { queryCompatibleErrors } from './query-compatible.js';
import { logInternalError, loggedRequestListener } from './request-log.js';
import type { ProtocolOptions } from './request-log.js';

export interface RpcV2CborOptions extends ProtocolOptions {
  services: JsonService[];
}

const PATH = /^\/service\/([^/]+)\/operation\/([^/]+)$/;

/** True for a POST naming a service and operation in its path with `smithy-protocol: rpc-v2-cbor`. */
export function isRpcV2CborRequest(req: IncomingMessage): boolean {
  return req.method === 'POST' && req.headers['smithy-protocol'] === 'rpc-v2-cbor' && PATH.test(splitUrl(req.url ?? '/')[0]);
}

/**
 * Handles one RPC v2 CBOR request and writes the whole response: body (bounded) → SigV4 → service
 * and operation from the path → CBOR decode → model validation → handler → CBOR. Errors are CBOR
 * maps `{__type, message}`; query-compatible services add `x-amzn-query-error`.
 */
export function createRpcV2CborHandler(options: RpcV2CborOptions): (req: IncomingMessage, res: ServerResponse) => void {
  const services = new Map(options.services.map((s) => [s.targetPrefix, s]));
  const compatibleErrors = new Map(options.services.filter((s) => s.awsQueryCompatible).map((s) => [s, queryCompatibleErrors(s.model)]));
  const now = options.now ?? (() => new Date());

  function fail(res: ServerResponse, requestId: string, entry: Record<string, unknown>, service: JsonService | undefined,
    code: string, message: string | undefined, status = httpStatusFor(code), onSent?: () => void): void {
    entry['errorCode'] = code;
    const compatible = service === undefined ? undefined : compatibleErrors.get(service);
    let type = code;
    if (compatible !== undefined) {
      const mapped = compatible(code, status);
      res.setHeader('x-amzn-query-error', mapped.queryErrorHeader);
      type = mapped.type;
      status = mapped.httpStatus;
    }
    respond(res, requestId, status, message === undefined ? { __type: type } : { __type: type, message }, onSent);
  }

  async function handle(req: IncomingMessage, res: ServerResponse, requestId: string, entry: Record<string, unknown>): Promise<void> {
    const [path = '/', query = ''] = splitUrl(req.url ?? '/');
    const [, serviceName = '', operation = ''] = PATH.exec(path) ?? [];
    const service = services.get(serviceName);
    entry['operation'] = operation;
    const read = await readBody(req, options.maxBodyBytes);
    if (!read.ok) {
      res.setHeader('connection', 'close');
      fail(res, requestId, entry, service, service?.awsQueryCompatible ? 'RequestEntityTooLarge' : 'RequestEntityTooLargeException',
        `Request body exceeds the maximum of ${options.maxBodyBytes} bytes.`, 413, () => req.destroy());
      return;
    }
    const auth = verifyRequest({ method: 'POST', path, query, headers: req.headersDistinct, body: read.body }, options.lookupSecret, { now: now() });
    if (!auth.ok) return fail(res, requestId, entry, service, auth.code, auth.message, auth.httpStatus);
    entry['accessKeyId'] = auth.accessKeyId;
    const known = service !== undefined && Object.hasOwn(service.handlers, operation) && Object.hasOwn(service.model.operations, operation);
    if (service === undefined || !known) return fail(res, requestId, entry, service, 'UnknownOperationException', undefined, 404);
    if (auth.service !== service.signingName) {
      return fail(res, requestId, entry, service, 'InvalidSignatureException', `Credential should be scoped to correct service: '${service.signingName}'. `, 403);
    }
    let input: unknown = {};
    try {
      const body = decodedBody(req, read.body, options.maxBodyBytes);
      if (body.length > 0) input = decodeCbor(body);
    } catch (err) {
      if (err instanceof ContentEncodingError) return fail(res, requestId, entry, service, 'SerializationException', err.message);
      if (!(err instanceof CborError)) throw err;
      return fail(res, requestId, entry, service, 'SerializationException', `The request body is not valid CBOR: ${err.message}`);
    }
    if (typeof input !== 'object' || input === null || Array.isArray(input)) {
      return fail(res, requestId, entry, service, 'SerializationException', 'The request body must be a CBOR map.');
    }
    let output: unknown;
    try {
      output = await invokeOperation(service, operation, input, { requestId, operation, accessKeyId: auth.accessKeyId, region: auth.region, service });
    } catch (err) {
      if (err instanceof WharfError) return fail(res, requestId, entry, service, err.code, err.message);
      logInternalError(options, entry, err);
      return fail(res, requestId, entry, service, service.awsQueryCompatible ? 'InternalServiceError' : 'ServerException', 'Internal error', 500);
    }
    respond(res, requestId, 200, output ?? {});
  }

  return loggedRequestListener(options, (req) => ({ path: req.url }), handle);
}

function respond(res: ServerResponse, requestId: string, status: number, body: unknown, onSent?: () => void): void {
  const bytes = encodeCbor(body);
  res.statusCode = status;
  res.setHeader('smithy-protocol', 'rpc-v2-cbor');
  res.setHeader('content-type', 'application/cbor');
  res.setHeader('x-amzn-RequestId', requestId);
  res.setHeader('content-length', bytes.length);
  res.end(bytes, onSent);
}
