import {
  ALGORITHM,
  canonicalHeaderValue,
  canonicalQuery,
  canonicalRequest,
  canonicalUri,
  formatAmzDate,
  hmac,
  sha256Hex,
  stringToSign,
} from './canonical.js';
import { signingKey } from './signing-key.js';

export interface Credentials { accessKeyId: string; secretAccessKey: string; sessionToken?: string }

/** Headers botocore never signs (`SIGNED_HEADERS_BLACKLIST`): proxies may add, drop or rewrite them. */
const UNSIGNED_HEADERS = new Set([
  'connection', 'expect', 'keep-alive', 'proxy-authenticate', 'proxy-authorization', 'te', 'trailer',
  'transfer-encoding', 'upgrade', 'user-agent', 'x-amzn-trace-id',
]);

/**
 * Signs a request with SigV4 (header form). Returns the headers to add to the request:
 * authorization, x-amz-date, x-amz-content-sha256, and x-amz-security-token when there is a
 * session token. `headers` must already contain host and every other header to be signed; all of
 * them are signed except those proxies may alter (botocore's list: connection, user-agent, ...).
 */
export function signRequest(
  req: { method: string; url: URL; headers: Record<string, string>; body: string | Uint8Array },
  credentials: Credentials,
  scope: { region: string; service: string },
  now: Date = new Date(),
): Record<string, string> {
  const amzDate = formatAmzDate(now);
  const date = amzDate.slice(0, 8);
  const payloadHash = sha256Hex(req.body);
  const added: Record<string, string> = { 'x-amz-date': amzDate, 'x-amz-content-sha256': payloadHash };
  if (credentials.sessionToken !== undefined) added['x-amz-security-token'] = credentials.sessionToken;

  const toSign = new Map<string, string>();
  for (const [name, value] of Object.entries(req.headers)) {
    const lower = name.toLowerCase();
    if (UNSIGNED_HEADERS.has(lower) || lower === 'authorization') continue;
    toSign.set(lower, canonicalHeaderValue(value));
  }
  for (const [name, value] of Object.entries(added)) toSign.set(name, value);
  const names = [...toSign.keys()].sort();
  const signedHeaders = names.join(';');
  const canonicalHeaders = names.map((n) => `${n}:${toSign.get(n) ?? ''}`).join('\n');

  const credentialScope = `${date}/${scope.region}/${scope.service}/aws4_request`;
  const request = canonicalRequest(
    req.method,
    canonicalUri(req.url.pathname),
    canonicalQuery(req.url.search.slice(1)),
    canonicalHeaders,
    signedHeaders,
    payloadHash,
  );
  const key = signingKey(credentials.secretAccessKey, date, scope.region, scope.service);
  const signature = hmac(key, stringToSign(amzDate, credentialScope, request)).toString('hex');
  return {
    authorization:
      `${ALGORITHM} Credential=${credentials.accessKeyId}/${credentialScope}, SignedHeaders=${signedHeaders}, Signature=${signature}`,
    ...added,
  };
}
