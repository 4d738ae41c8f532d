import { timingSafeEqual } from 'node:crypto';
import {
  ALGORITHM,
  EMPTY_BODY_SHA256,
  UNSIGNED_PAYLOAD,
  canonicalHeaderValue,
  canonicalQuery,
  canonicalRequest,
  canonicalUri,
  formatAmzDate,
  hmac,
  parseAmzDate,
  sha256Hex,
  stringToSign,
} from './canonical.js';
import { signingKey } from './signing-key.js';

/** An incoming request as received. Header names are lowercase, as node's `IncomingHttpHeaders`. */
export interface SignedRequestParts {
  method: string;
  /** Raw path as received, e.g. `req.url` without the query. */
  path: string;
  /** Raw query string without `?`. */
  query: string;
  headers: Record<string, string | string[] | undefined>;
  body: Uint8Array;
}

export type VerifyResult =
  | { ok: true; accessKeyId: string; region: string; service: string; sessionToken?: string }
  | { ok: false; code: string; message: string; httpStatus: number };

export interface VerifyOptions {
  now?: Date;
  /** Largest accepted distance between the request's date and `now`; default 5 minutes, as AWS. */
  maxSkewMs?: number;
}

/** HTTP status of each verification failure, as AWS answers it. */
const HTTP_STATUS = {
  MissingAuthenticationTokenException: 403,
  IncompleteSignatureException: 400,
  UnrecognizedClientException: 403,
  InvalidSignatureException: 403,
  XAmzContentSHA256Mismatch: 400,
} as const;

type FailureCode = keyof typeof HTTP_STATUS;

const DEFAULT_MAX_SKEW_MS = 5 * 60_000;
/** AWS caps presigned URLs at seven days. */
const MAX_PRESIGN_EXPIRES_S = 604_800;

const SIGNATURE_MISMATCH =
  'The request signature we calculated does not match the signature you provided. Check your AWS Secret Access Key ' +
  'and signing method. Consult the service documentation for details.';

function fail(code: FailureCode, message: string): VerifyResult {
  return { ok: false, code, message, httpStatus: HTTP_STATUS[code] };
}

/** The signature inputs common to the header and the query-string forms. */
interface Presented {
  credential: string;
  signedHeaders: string;
  signature: string;
  amzDate: string;
  /** Seconds the signature stays valid after `amzDate`; only for presigned URLs. */
  expiresS?: number;
  sessionToken?: string;
  contentSha256?: string;
}

/**
 * Verifies a SigV4-signed request, in the Authorization-header form or the presigned query-string
 * form (X-Amz-Algorithm, X-Amz-Credential, ... X-Amz-Signature). Any region is accepted and
 * returned; the caller checks the service against its own signing name. A non-empty body is always
 * covered by the signature: `UNSIGNED-PAYLOAD` is accepted only with an empty body.
 */
export function verifyRequest(
  req: SignedRequestParts,
  lookupSecret: (accessKeyId: string) => string | undefined,
  options: VerifyOptions,
): VerifyResult {
  const authorization = headerValue(req.headers, 'authorization');
  const presignedQuery = authorization === undefined ? presignedParams(req.query) : undefined;
  const presented = authorization !== undefined
    ? fromAuthorizationHeader(authorization, req.headers)
    : presignedQuery !== undefined
      ? fromQuery(presignedQuery)
      : fail('MissingAuthenticationTokenException', 'Missing Authentication Token');
  if ('ok' in presented) return presented;

  const scope = presented.credential.split('/');
  if (scope.length !== 5) {
    return fail('IncompleteSignatureException',
      `Credential must have exactly 5 slash-delimited elements, e.g. keyid/date/region/service/term, got '${presented.credential}'`);
  }
  const [accessKeyId = '', scopeDate = '', region = '', service = '', terminator = ''] = scope;
  if (terminator !== 'aws4_request') {
    return fail('InvalidSignatureException',
      `Credential should be scoped with a valid terminator: 'aws4_request', not '${terminator}'.`);
  }
  if (region === '') return fail('InvalidSignatureException', 'Credential should be scoped to a valid region.');
  if (service === '') return fail('InvalidSignatureException', 'Credential should be scoped to a valid service.');

  const signedAt = parseAmzDate(presented.amzDate);
  if (signedAt === undefined) {
    return fail('IncompleteSignatureException',
      `Date must be in ISO-8601 'basic format'. Got '${presented.amzDate}'. See http://en.wikipedia.org/wiki/ISO_8601`);
  }
  if (scopeDate !== presented.amzDate.slice(0, 8)) {
    return fail('InvalidSignatureException',
      `Date in Credential scope does not match YYYYMMDD from ISO-8601 version of date from HTTP: '${scopeDate}' != ` +
      `'${presented.amzDate.slice(0, 8)}', from '${presented.amzDate}'.`);
  }
  const signedHeaderNames = presented.signedHeaders.split(';');
  if (!signedHeaderNames.includes('host')) {
    return fail('IncompleteSignatureException', "'Host' or ':authority' must be a 'SignedHeader' in the AWS Authorization.");
  }

  const secret = lookupSecret(accessKeyId);
  if (secret === undefined) {
    return fail('UnrecognizedClientException', 'The security token included in the request is invalid.');
  }

  const now = options.now ?? new Date();
  const timing = checkTiming(signedAt, presented.amzDate, now, options.maxSkewMs ?? DEFAULT_MAX_SKEW_MS, presented.expiresS);
  if (timing !== undefined) return timing;

  const payloadHashes = payloadHashCandidates(presented, req.body, authorization === undefined);
  if ('ok' in payloadHashes) return payloadHashes;

  const canonicalHeaders = signedHeaderNames
    .map((name) => `${name}:${canonicalHeaderValue(headerValue(req.headers, name) ?? '')}`)
    .join('\n');
  const uri = canonicalUri(req.path);
  const query = canonicalQuery(req.query, authorization === undefined ? 'X-Amz-Signature' : undefined);
  const key = signingKey(secret, scopeDate, region, service);
  const credentialScope = `${scopeDate}/${region}/${service}/aws4_request`;
  const provided = Buffer.from(presented.signature, 'utf8');

  for (const payloadHash of payloadHashes) {
    const request = canonicalRequest(req.method, uri, query, canonicalHeaders, presented.signedHeaders, payloadHash);
    const expected = Buffer.from(hmac(key, stringToSign(presented.amzDate, credentialScope, request)).toString('hex'), 'utf8');
    if (expected.length === provided.length && timingSafeEqual(expected, provided)) {
      return presented.sessionToken === undefined
        ? { ok: true, accessKeyId, region, service }
        : { ok: true, accessKeyId, region, service, sessionToken: presented.sessionToken };
    }
  }
  return fail('InvalidSignatureException', SIGNATURE_MISMATCH);
}

/** A header's value; repeated headers are joined with ',' after collapsing each, as botocore signs them. */
function headerValue(headers: SignedRequestParts['headers'], name: string): string | undefined {
  const value = headers[name];
  if (Array.isArray(value)) return value.map(canonicalHeaderValue).join(',');
  return value;
}

function fromAuthorizationHeader(authorization: string, headers: SignedRequestParts['headers']): Presented | VerifyResult {
  const space = authorization.indexOf(' ');
  const algorithm = space < 0 ? authorization : authorization.slice(0, space);
  if (algorithm !== ALGORITHM) return fail('IncompleteSignatureException', 'Unsupported Authorization Type');
  const params = new Map<string, string>();
  for (const part of authorization.slice(space + 1).split(',')) {
    const eq = part.indexOf('=');
    if (eq > 0) params.set(part.slice(0, eq).trim(), part.slice(eq + 1).trim());
  }
  const missing = ['Credential', 'Signature', 'SignedHeaders'].filter((p) => !params.get(p));
  const amzDate = headerValue(headers, 'x-amz-date') ?? dateHeaderAsAmzDate(headerValue(headers, 'date'));
  if (missing.length > 0 || amzDate === undefined) {
    const problems = missing.map((p) => `Authorization header requires '${p}' parameter.`);
    if (amzDate === undefined) problems.push("Authorization header requires existence of either a 'X-Amz-Date' or a 'Date' header.");
    return fail('IncompleteSignatureException', `${problems.join(' ')} Authorization=${authorization}`);
  }
  const presented: Presented = {
    credential: params.get('Credential') ?? '',
    signedHeaders: params.get('SignedHeaders') ?? '',
    signature: params.get('Signature') ?? '',
    amzDate,
  };
  const sessionToken = headerValue(headers, 'x-amz-security-token');
  if (sessionToken !== undefined) presented.sessionToken = sessionToken;
  const contentSha256 = headerValue(headers, 'x-amz-content-sha256');
  if (contentSha256 !== undefined) presented.contentSha256 = contentSha256;
  return presented;
}

function dateHeaderAsAmzDate(value: string | undefined): string | undefined {
  if (value === undefined) return undefined;
  const ms = Date.parse(value);
  // An unparseable Date header is passed on verbatim so the date check names it.
  return Number.isNaN(ms) ? value : formatAmzDate(new Date(ms));
}

const PRESIGN_PARAMS = ['X-Amz-Algorithm', 'X-Amz-Credential', 'X-Amz-Signature', 'X-Amz-Date', 'X-Amz-SignedHeaders', 'X-Amz-Expires'] as const;

/** The decoded `X-Amz-*` query parameters, when the query carries a presigned signature. */
function presignedParams(rawQuery: string): Map<string, string> | undefined {
  if (!rawQuery.includes('X-Amz-')) return undefined;
  const params = new Map<string, string>();
  for (const part of rawQuery.split('&')) {
    if (!part.startsWith('X-Amz-')) continue;
    const eq = part.indexOf('=');
    if (eq < 0) continue;
    try {
      params.set(part.slice(0, eq), decodeURIComponent(part.slice(eq + 1)));
    } catch {
      params.set(part.slice(0, eq), part.slice(eq + 1));
    }
  }
  return params.has('X-Amz-Algorithm') || params.has('X-Amz-Signature') || params.has('X-Amz-Credential') ? params : undefined;
}

function fromQuery(params: Map<string, string>): Presented | VerifyResult {
  const missing = PRESIGN_PARAMS.filter((p) => !params.get(p));
  if (missing.length > 0) {
    return fail('IncompleteSignatureException',
      `AWS query-string parameters must include ${missing.map((p) => `'${p}'`).join(', ')}. Re-examine the query-string parameters.`);
  }
  if (params.get('X-Amz-Algorithm') !== ALGORITHM) return fail('IncompleteSignatureException', 'Unsupported Authorization Type');
  const expiresText = params.get('X-Amz-Expires') ?? '';
  const expiresS = /^\d+$/.test(expiresText) ? Number(expiresText) : NaN;
  if (!(expiresS >= 1 && expiresS <= MAX_PRESIGN_EXPIRES_S)) {
    return fail('IncompleteSignatureException',
      `X-Amz-Expires must be an integer from 1 to ${MAX_PRESIGN_EXPIRES_S} (seconds), got '${expiresText}'.`);
  }
  const presented: Presented = {
    credential: params.get('X-Amz-Credential') ?? '',
    signedHeaders: params.get('X-Amz-SignedHeaders') ?? '',
    signature: params.get('X-Amz-Signature') ?? '',
    amzDate: params.get('X-Amz-Date') ?? '',
    expiresS,
  };
  const sessionToken = params.get('X-Amz-Security-Token');
  if (sessionToken !== undefined) presented.sessionToken = sessionToken;
  const contentSha256 = params.get('X-Amz-Content-Sha256');
  if (contentSha256 !== undefined) presented.contentSha256 = contentSha256;
  return presented;
}

/**
 * Header form: the request must be within `maxSkewMs` of `now` either way. Presigned form: it may
 * not be dated more than `maxSkewMs` ahead, and `now` must not be past its date plus X-Amz-Expires.
 */
function checkTiming(signedAt: Date, amzDate: string, now: Date, maxSkewMs: number, expiresS: number | undefined): VerifyResult | undefined {
  const nowMs = now.getTime();
  const validForMs = expiresS === undefined ? maxSkewMs : expiresS * 1000;
  const window = expiresS === undefined ? `${maxSkewMs / 60_000} min.` : `${expiresS} sec.`;
  if (signedAt.getTime() < nowMs - validForMs) {
    return fail('InvalidSignatureException',
      `Signature expired: ${amzDate} is now earlier than ${formatAmzDate(new Date(nowMs - validForMs))} (${formatAmzDate(now)} - ${window})`);
  }
  if (signedAt.getTime() > nowMs + maxSkewMs) {
    return fail('InvalidSignatureException',
      `Signature not yet current: ${amzDate} is still later than ${formatAmzDate(new Date(nowMs + maxSkewMs))} ` +
      `(${formatAmzDate(now)} + ${maxSkewMs / 60_000} min.)`);
  }
  return undefined;
}

/**
 * The payload hashes the client may have signed with. A declared X-Amz-Content-SHA256 must match the
 * body. Without one, header-form clients sign sha256(body); presigned URLs carry no payload hash, so
 * botocore signs `UNSIGNED-PAYLOAD` and the JS SDK the empty-body hash: both are tried.
 */
function payloadHashCandidates(presented: Presented, body: Uint8Array, presigned: boolean): string[] | VerifyResult {
  const declared = presented.contentSha256;
  if (declared === undefined) {
    if (presigned && body.length === 0) return [UNSIGNED_PAYLOAD, EMPTY_BODY_SHA256];
    return [sha256Hex(body)];
  }
  if (declared === UNSIGNED_PAYLOAD) {
    if (body.length === 0) return [declared];
    return fail('XAmzContentSHA256Mismatch', 'UNSIGNED-PAYLOAD is not accepted for a request with a body.');
  }
  if (declared.toLowerCase() !== sha256Hex(body)) {
    return fail('XAmzContentSHA256Mismatch', "The provided 'x-amz-content-sha256' header does not match what was computed.");
  }
  return [declared];
}
