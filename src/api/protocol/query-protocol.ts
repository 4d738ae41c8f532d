import type { IncomingMessage, ServerResponse } from 'node:http';
import { WharfError } from '../../model/index.js';
import { verifyRequest } from '../../sigv4/index.js';
import { validateInput } from '../validation/index.js';
import type { ServiceModel } from '../validation/index.js';
import { readBody, splitUrl } from './body.js';
import { queryInput } from './query-input.js';
import { logInternalError, loggedRequestListener, sendResponse } from './request-log.js';
import type { ProtocolOptions } from './request-log.js';
import { queryErrorXml, queryResponseXml } from './query-xml.js';

/** What a query handler knows about its request. */
export interface QueryRequestContext {
  /** UUID answered as `x-amzn-RequestId` and `<RequestId>`; put it in every log line about the request. */
  requestId: string;
  operation: string;
  accessKeyId: string;
  /** Region from the credential scope; any region is accepted. */
  region: string;
  service: QueryService;
}

/**
 * Runs one operation on input already validated against the model (shaped as awsJson input:
 * member names as keys, timestamps as epoch seconds). Returns the output shape (`Date`s or epoch
 * seconds for timestamps; members the shape lacks are left out); throws a WharfError whose code is
 * the model's error code (`LoadBalancerNotFound`) for failures the caller may see.
 */
export type QueryOperationHandler = (input: any, ctx: QueryRequestContext) => Promise<unknown>;

export interface QueryService {
  /** Service name in the SigV4 credential scope (`elasticloadbalancing`, `monitoring`): how requests find it. */
  signingName: string;
  /** The service's trimmed model; its `apiVersion` is the only `Version` accepted, its `xmlNamespace` the responses'. */
  model: ServiceModel;
  /** Operation name → handler. An operation without a handler answers InvalidAction. */
  handlers: Record<string, QueryOperationHandler>;
}

export interface QueryProtocolOptions extends ProtocolOptions {
  services: QueryService[];
}

/**
 * HTTP status of the errors every awsQuery service shares (AWS's "common errors"); a service's own
 * errors take the status its model gives them, and anything else a client caused is 400.
 */
const COMMON_ERROR_STATUS: Readonly<Record<string, number>> = {
  InternalFailure: 500,
  ServiceUnavailable: 503,
  RequestEntityTooLarge: 413,
  MissingAuthenticationToken: 403,
  InvalidClientTokenId: 403,
  SignatureDoesNotMatch: 403,
  IncompleteSignature: 400,
  XAmzContentSHA256Mismatch: 400,
};

/** SigV4 failures as query services name them (the verifier speaks the JSON services' names). */
const SIGV4_CODES: Readonly<Record<string, string>> = {
  MissingAuthenticationTokenException: 'MissingAuthenticationToken',
  IncompleteSignatureException: 'IncompleteSignature',
  UnrecognizedClientException: 'InvalidClientTokenId',
  InvalidSignatureException: 'SignatureDoesNotMatch',
};

const CONTENT_TYPE = 'text/xml';
const FORM_CONTENT_TYPE = 'application/x-www-form-urlencoded';

/**
 * True for the shape of an awsQuery request: a POST to `/` with a form body and no X-Amz-Target,
 * or a GET of `/` whose query string names an Action. Which service it is for is only known from
 * its SigV4 credential scope.
 */
export function isQueryProtocolRequest(req: IncomingMessage): boolean {
  if (req.headers['x-amz-target'] !== undefined) return false;
  const [path, query] = splitUrl(req.url ?? '/');
  if (path !== '/') return false;
  if (req.method === 'POST') return (req.headers['content-type'] ?? '').toLowerCase().startsWith(FORM_CONTENT_TYPE);
  return req.method === 'GET' && new URLSearchParams(query).has('Action');
}

/**
 * Handles one awsQuery request and writes the full response:
 * body (bounded) → SigV4 → service by the credential scope → Action and Version → parameters into
 * the input by the model → model validation (ValidationError) → handler → XML.
 * Never throws, and never answers 5xx for a client fault: only a handler's unexpected error does
 * (InternalFailure, details logged, not answered).
 */
export function createQueryProtocolHandler(options: QueryProtocolOptions): (req: IncomingMessage, res: ServerResponse) => void {
  const servicesByName = new Map(options.services.map((s) => [s.signingName, s]));
  const errorStatusByService = new Map(options.services.map((s) => [s, modelErrorStatuses(s.model)]));
  // A model served over several protocols (CloudWatch: JSON and query) is validated here as a query
  // model, so messages name fields the query way; the copy is made once, and validators are cached per model.
  const queryModels = new Map(options.services.map((s) => [s, s.model.metadata.protocol === 'query'
    ? s.model
    : { ...s.model, metadata: { ...s.model.metadata, protocol: 'query' } }]));
  const now = options.now ?? (() => new Date());

  function statusOf(service: QueryService | undefined, code: string): number {
    return (service === undefined ? undefined : errorStatusByService.get(service)?.get(code)) ?? COMMON_ERROR_STATUS[code] ?? 400;
  }

  function fail(res: ServerResponse, requestId: string, entry: Record<string, unknown>, service: QueryService | undefined,
    code: string, message: string | undefined, onSent?: () => void): void {
    entry['errorCode'] = code;
    const httpStatus = statusOf(service, code);
    respond(res, requestId, httpStatus, queryErrorXml(service?.model, { code, message, httpStatus }, requestId), onSent);
  }

  async function handle(req: IncomingMessage, res: ServerResponse, requestId: string, entry: Record<string, unknown>): Promise<void> {
    const [path = '/', query = ''] = splitUrl(req.url ?? '/');
    // Until the signature is checked, the credential scope only picks the XML namespace of errors.
    const claimed = servicesByName.get(claimedSigningName(req, query) ?? '');
    const read = await readBody(req, options.maxBodyBytes);
    if (!read.ok) {
      // The unread rest of the body makes the connection unusable: answer, then close it.
      res.setHeader('connection', 'close');
      fail(res, requestId, entry, claimed, 'RequestEntityTooLarge', `Request body exceeds the maximum of ${options.maxBodyBytes} bytes.`,
        () => req.destroy());
      return;
    }
    const auth = verifyRequest({ method: req.method ?? 'POST', path, query, headers: req.headersDistinct, body: read.body },
      options.lookupSecret, { now: now() });
    if (!auth.ok) {
      fail(res, requestId, entry, claimed, SIGV4_CODES[auth.code] ?? auth.code, auth.message);
      return;
    }
    entry['accessKeyId'] = auth.accessKeyId;
    const service = servicesByName.get(auth.service);
    if (service === undefined) {
      fail(res, requestId, entry, undefined, 'SignatureDoesNotMatch',
        `Credential should be scoped to correct service: one of '${[...servicesByName.keys()].join("', '")}'. `);
      return;
    }
    const params = new URLSearchParams(query);
    if (req.method === 'POST') {
      const body = formText(read.body);
      if (body === undefined) {
        fail(res, requestId, entry, service, 'MalformedQueryString', 'The request body is not valid UTF-8.');
        return;
      }
      for (const [name, value] of new URLSearchParams(body)) params.append(name, value);
    }
    const operation = params.get('Action');
    entry['operation'] = operation ?? undefined;
    if (operation === null || operation === '') {
      fail(res, requestId, entry, service, 'MissingAction', 'The request must contain the parameter Action.');
      return;
    }
    const version = params.get('Version');
    if (version === null || version === '') {
      fail(res, requestId, entry, service, 'MissingParameter', 'The request must contain the parameter Version.');
      return;
    }
    // hasOwn: an Action named like an Object.prototype member must not resolve to it.
    const handler = Object.hasOwn(service.handlers, operation) && Object.hasOwn(service.model.operations, operation)
      ? service.handlers[operation]
      : undefined;
    if (handler === undefined || version !== service.model.metadata.apiVersion) {
      fail(res, requestId, entry, service, 'InvalidAction', `Could not find operation ${operation} for version ${version}`);
      return;
    }
    const ctx: QueryRequestContext = { requestId, operation, accessKeyId: auth.accessKeyId, region: auth.region, service };
    let output: unknown;
    try {
      const input = queryInput(service.model, operation, params);
      validateInput(queryModels.get(service) ?? service.model, operation, input, validationError, validationError);
      output = await handler(input, ctx);
    } catch (err) {
      if (err instanceof WharfError) {
        fail(res, requestId, entry, service, err.code, err.message);
      } else {
        logInternalError(options, entry, err);
        fail(res, requestId, entry, service, 'InternalFailure', 'An internal error occurred.');
      }
      return;
    }
    respond(res, requestId, 200, queryResponseXml(service.model, operation, output, requestId));
  }

  return loggedRequestListener(options, () => ({ protocol: 'query' }), handle);
}

/** awsQuery services answer every input fault, missing members included, as ValidationError. */
function validationError(message: string): WharfError {
  return new WharfError('ValidationError', message);
}

/** The model's error codes (`LoadBalancerNotFound`) with their HTTP statuses. */
function modelErrorStatuses(model: ServiceModel): Map<string, number> {
  const statuses = new Map<string, number>();
  for (const [name, shape] of Object.entries(model.shapes)) {
    if (shape.exception !== true) continue;
    statuses.set(shape.error?.code ?? name, shape.error?.httpStatusCode ?? (shape.fault === true ? 500 : 400));
  }
  return statuses;
}

/** The service named in the request's (not yet verified) credential scope, header or presigned form. */
function claimedSigningName(req: IncomingMessage, query: string): string | undefined {
  const authorization = req.headers.authorization ?? '';
  const credential = /Credential=([^,\s]+)/.exec(authorization)?.[1] ?? new URLSearchParams(query).get('X-Amz-Credential') ?? '';
  return credential.split('/')[3];
}

const utf8 = new TextDecoder('utf-8', { fatal: true });

function formText(body: Uint8Array): string | undefined {
  try {
    return utf8.decode(body);
  } catch {
    return undefined;
  }
}

function respond(res: ServerResponse, requestId: string, status: number, body: string, onSent?: () => void): void {
  sendResponse(res, requestId, status, CONTENT_TYPE, body, onSent);
}
