import type { IncomingMessage, ServerResponse } from 'node:http';
import { WharfError } from '../../model/index.js';
import { verifyRequest } from '../../sigv4/index.js';
import { validateInput } from '../validation/index.js';
import type { ServiceModel } from '../validation/index.js';
import { ContentEncodingError, decodedBody, readBody, splitUrl } from './body.js';
import { logInternalError, loggedRequestListener, sendResponse } from './request-log.js';
import type { ProtocolOptions } from './request-log.js';
import { jsonError } from './errors.js';
import type { JsonError } from './errors.js';
import { serializeOutput } from './serialize.js';
import { queryCompatibleErrors } from './query-compatible.js';

export interface RequestContext {
  /** UUID answered as `x-amzn-RequestId`; put it in every log line about the request. */
  requestId: string;
  operation: string;
  accessKeyId: string;
  /** Region from the credential scope; any region is accepted. */
  region: string;
  service: JsonService;
}

/**
 * Runs one operation on input already validated against the model. Returns the output shape
 * (`Date`s allowed; undefined answers `{}`); throws a WharfError for failures the caller may see.
 */
export type OperationHandler = (input: any, ctx: RequestContext) => Promise<unknown>;

export interface JsonService {
  /** X-Amz-Target prefix, e.g. `AmazonEC2ContainerServiceV20141113`. */
  targetPrefix: string;
  /** Service name required in the SigV4 credential scope, e.g. `ecs`. */
  signingName: string;
  model: ServiceModel;
  /** Operation name → handler. An operation without a handler answers UnknownOperationException. */
  handlers: Record<string, OperationHandler>;
  /** The error for input whose only faults are missing required members; ECS's ClientException by default. */
  missingMembersError?: (message: string) => WharfError;
  /** The error for other invalid input; InvalidParameterException by default. */
  invalidInputError?: (message: string) => WharfError;
  /** awsJson 1.0 answers `application/x-amz-json-1.0`; 1.1 (the default) `application/x-amz-json-1.1`. */
  jsonVersion?: '1.0' | '1.1';
  /**
   * The service also speaks awsQuery and its handlers throw awsQuery codes: answers carry the
   * model's error shape as `__type` and `x-amzn-query-error` (src/api/protocol/query-compatible.ts).
   */
  awsQueryCompatible?: boolean;
}

export interface JsonProtocolOptions extends ProtocolOptions {
  services: JsonService[];
}

const CONTENT_TYPE = { '1.0': 'application/x-amz-json-1.0', '1.1': 'application/x-amz-json-1.1' } as const;

/**
 * Validates `input` against the service's model (its missing-members and invalid-input errors) and
 * runs the operation's handler, which the caller has checked exists: the part every protocol that
 * serves a JsonService shares.
 */
export async function invokeOperation(service: JsonService, operation: string, input: unknown, ctx: RequestContext): Promise<unknown> {
  validateInput(service.model, operation, input, service.missingMembersError, service.invalidInputError);
  return service.handlers[operation]!(input, ctx);
}

/** True for a POST carrying X-Amz-Target: the shape of every awsJson1_1 request. */
export function isJsonProtocolRequest(req: IncomingMessage): boolean {
  return req.method === 'POST' && typeof req.headers['x-amz-target'] === 'string';
}

/**
 * Handles one POST / request whose X-Amz-Target names a JSON service and writes the full response:
 * body (bounded) → SigV4 → service and operation → JSON parse → model validation → handler.
 * Never throws, and never answers 500 for a client fault: only a handler's unexpected error or a
 * ServerException does.
 */
export function createJsonProtocolHandler(options: JsonProtocolOptions): (req: IncomingMessage, res: ServerResponse) => void {
  const servicesByPrefix = new Map(options.services.map((s) => [s.targetPrefix, s]));
  const compatibleErrors = new Map(options.services.filter((s) => s.awsQueryCompatible).map((s) => [s, queryCompatibleErrors(s.model)]));
  const now = options.now ?? (() => new Date());

  /** The service the target names, before anything is checked: it decides the form of every answer. */
  function claimedService(req: IncomingMessage): JsonService | undefined {
    const target = String(req.headers['x-amz-target'] ?? '');
    return servicesByPrefix.get(target.slice(0, Math.max(0, target.lastIndexOf('.'))));
  }

  function respondError(res: ServerResponse, requestId: string, error: JsonError, entry: Record<string, unknown>, onSent?: () => void): void {
    const claimed = claimedService(res.req);
    entry['errorCode'] = error.code;
    const compatible = claimed === undefined ? undefined : compatibleErrors.get(claimed);
    if (compatible !== undefined) {
      const mapped = compatible(error.code === 'ServerException' ? 'InternalServiceError' : error.code, error.httpStatus);
      res.setHeader('x-amzn-query-error', mapped.queryErrorHeader);
      res.setHeader('x-amzn-ErrorType', mapped.type);
      const body = error.message === undefined ? { __type: mapped.type } : { __type: mapped.type, message: error.message };
      respond(res, requestId, mapped.httpStatus, JSON.stringify(body), onSent);
      return;
    }
    res.setHeader('x-amzn-ErrorType', error.code);
    const body = error.message === undefined ? { __type: error.code } : { __type: error.code, message: error.message };
    respond(res, requestId, error.httpStatus, JSON.stringify(body), onSent);
  }

  function respond(res: ServerResponse, requestId: string, status: number, body: string, onSent?: () => void): void {
    sendResponse(res, requestId, status, CONTENT_TYPE[claimedService(res.req)?.jsonVersion ?? '1.1'], body, onSent);
  }

  async function handle(req: IncomingMessage, res: ServerResponse, requestId: string, entry: Record<string, unknown>): Promise<void> {
    const read = await readBody(req, options.maxBodyBytes);
    if (!read.ok) {
      // The unread rest of the body makes the connection unusable: answer, then close it.
      res.setHeader('connection', 'close');
      respondError(res, requestId, jsonError('RequestEntityTooLargeException',
        `Request body exceeds the maximum of ${options.maxBodyBytes} bytes.`), entry, () => req.destroy());
      return;
    }
    const [path = '/', query = ''] = splitUrl(req.url ?? '/');
    const auth = verifyRequest({ method: req.method ?? 'POST', path, query, headers: req.headersDistinct, body: read.body },
      options.lookupSecret, { now: now() });
    if (!auth.ok) {
      respondError(res, requestId, { code: auth.code, message: auth.message, httpStatus: auth.httpStatus }, entry);
      return;
    }
    entry['accessKeyId'] = auth.accessKeyId;

    const target = String(req.headers['x-amz-target'] ?? '');
    const dot = target.lastIndexOf('.');
    const service = dot < 0 ? undefined : servicesByPrefix.get(target.slice(0, dot));
    const operation = target.slice(dot + 1);
    entry['operation'] = operation;
    // hasOwn: an operation named like an Object.prototype member must not resolve to it.
    const handler = service !== undefined && Object.hasOwn(service.handlers, operation) && Object.hasOwn(service.model.operations, operation)
      ? service.handlers[operation]
      : undefined;
    if (service === undefined || handler === undefined) {
      respondError(res, requestId, jsonError('UnknownOperationException'), entry);
      return;
    }
    if (auth.service !== service.signingName) {
      respondError(res, requestId, jsonError('InvalidSignatureException',
        `Credential should be scoped to correct service: '${service.signingName}'. `), entry);
      return;
    }

    let body: Uint8Array;
    try {
      body = decodedBody(req, read.body, options.maxBodyBytes);
    } catch (err) {
      if (!(err instanceof ContentEncodingError)) throw err;
      respondError(res, requestId, jsonError('SerializationException', err.message), entry);
      return;
    }
    const input = parseInput(body);
    if (input instanceof WharfError) {
      respondError(res, requestId, jsonError(input.code, input.message), entry);
      return;
    }
    let output: unknown;
    try {
      output = await invokeOperation(service, operation, input, { requestId, operation, accessKeyId: auth.accessKeyId, region: auth.region, service });
    } catch (err) {
      respondError(res, requestId, toJsonError(err, entry), entry);
      return;
    }
    respond(res, requestId, 200, serializeOutput(output));
  }

  return loggedRequestListener(options, (req) => ({ target: req.headers['x-amz-target'] }), handle);

  /** A handler's failure as the client sees it; anything but a WharfError is logged and hidden. */
  function toJsonError(err: unknown, entry: Record<string, unknown>): JsonError {
    if (err instanceof WharfError) return jsonError(err.code, err.message);
    logInternalError(options, entry, err);
    return jsonError('ServerException', 'Internal error');
  }
}

const utf8 = new TextDecoder('utf-8', { fatal: true });

/** The JSON object in the body (`{}` when empty), or the SerializationException to answer. */
function parseInput(body: Uint8Array): Record<string, unknown> | WharfError {
  if (body.length === 0) return {};
  let value: unknown;
  try {
    value = JSON.parse(utf8.decode(body));
  } catch (err) {
    const reason = err instanceof Error ? err.message : String(err);
    return new WharfError('SerializationException', `The request body is not valid UTF-8 JSON: ${reason}`);
  }
  if (typeof value !== 'object' || value === null || Array.isArray(value)) {
    return new WharfError('SerializationException',
      `The request body must be a JSON object, got ${value === null ? 'null' : Array.isArray(value) ? 'an array' : `a ${typeof value}`}.`);
  }
  return value as Record<string, unknown>;
}
