import { randomUUID } from 'node:crypto';
import type { IncomingMessage, ServerResponse } from 'node:http';
import { performance } from 'node:perf_hooks';
import { WharfError } from '../../model/index.js';
import { verifyRequest } from '../../sigv4/index.js';
import { validateInput } from '../validation/index.js';
import type { ServiceModel } from '../validation/index.js';
import { readBody } from './body.js';
import { jsonError } from './errors.js';
import type { JsonError } from './errors.js';
import { serializeOutput } from './serialize.js';

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
  /** The error for any other input that breaks the model; ECS's InvalidParameterException by default. */
  invalidInputError?: (message: string) => WharfError;
}

export interface JsonProtocolOptions {
  services: JsonService[];
  lookupSecret: (accessKeyId: string) => string | undefined;
  /** Larger bodies answer 413 without being buffered. */
  maxBodyBytes: number;
  /** Receives one entry per request, plus the details of every internal error. */
  logger?: (entry: Record<string, unknown>) => void;
  /**
   * Log one line per request (status, duration). Off by default: a synchronous line per request
   * costs about 8% of throughput; failures and internal errors are always logged.
   */
  logRequests?: boolean;
  /** Clock for the SigV4 skew check. */
  now?: () => Date;
}

const CONTENT_TYPE = 'application/x-amz-json-1.1';

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
  const log = options.logger ?? (() => {});
  const now = options.now ?? (() => new Date());

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

    const input = parseInput(read.body);
    if (input instanceof WharfError) {
      respondError(res, requestId, jsonError(input.code, input.message), entry);
      return;
    }
    const ctx: RequestContext = { requestId, operation, accessKeyId: auth.accessKeyId, region: auth.region, service };
    let output: unknown;
    try {
      validateInput(service.model, operation, input, service.missingMembersError, service.invalidInputError);
      output = await handler(input, ctx);
    } catch (err) {
      respondError(res, requestId, toJsonError(err, entry), entry);
      return;
    }
    respond(res, requestId, 200, serializeOutput(output));
  }

  return (req, res) => {
    const requestId = randomUUID();
    const startedAt = performance.now();
    const entry: Record<string, unknown> = { msg: 'request', requestId, target: req.headers['x-amz-target'] };
    if (options.logRequests) {
      res.on('finish', () => {
        entry['status'] = res.statusCode;
        entry['durationMs'] = Math.round((performance.now() - startedAt) * 1000) / 1000;
        log(entry);
      });
    }
    handle(req, res, requestId, entry).catch((err: unknown) => {
      // Only reading the body can fail here: the client went away, so there is no one to answer.
      log({ msg: 'request failed', requestId, error: String(err) });
      res.destroy();
    });
  };

  /** A handler's failure as the client sees it; anything but a WharfError is logged and hidden. */
  function toJsonError(err: unknown, entry: Record<string, unknown>): JsonError {
    if (err instanceof WharfError) return jsonError(err.code, err.message);
    log({
      msg: 'internal error', requestId: entry['requestId'], operation: entry['operation'],
      error: err instanceof Error ? err.stack ?? err.message : String(err),
    });
    return jsonError('ServerException', 'Internal error');
  }
}

function splitUrl(url: string): [string, string] {
  const q = url.indexOf('?');
  return q < 0 ? [url, ''] : [url.slice(0, q), url.slice(q + 1)];
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

function respondError(res: ServerResponse, requestId: string, error: JsonError, entry: Record<string, unknown>, onSent?: () => void): void {
  entry['errorCode'] = error.code;
  res.setHeader('x-amzn-ErrorType', error.code);
  const body = error.message === undefined ? { __type: error.code } : { __type: error.code, message: error.message };
  respond(res, requestId, error.httpStatus, JSON.stringify(body), onSent);
}

function respond(res: ServerResponse, requestId: string, status: number, body: string, onSent?: () => void): void {
  res.statusCode = status;
  res.setHeader('content-type', CONTENT_TYPE);
  res.setHeader('x-amzn-RequestId', requestId);
  res.setHeader('content-length', Buffer.byteLength(body));
  res.end(body, onSent);
}
