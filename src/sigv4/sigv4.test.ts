import { test } from 'node:test';
import assert from 'node:assert/strict';
import { SignatureV4 } from '@smithy/signature-v4';
import { Sha256 } from '@smithy/core/checksum';
import fixtures from './fixtures/botocore-signed.json' with { type: 'json' };
import { signRequest, verifyRequest } from './index.js';
import type { Credentials, SignedRequestParts, VerifyResult } from './index.js';

const credentials: Credentials = { accessKeyId: 'AKIDWHARFTEST', secretAccessKey: 'secret/with+chars=' };
const secrets = new Map([[credentials.accessKeyId, credentials.secretAccessKey], [fixtures.accessKeyId, fixtures.secretAccessKey]]);
const lookupSecret = (id: string): string | undefined => secrets.get(id);
const now = new Date('2024-05-17T12:34:56Z');
const encoder = new TextEncoder();

/** Signs with `signRequest` and returns the request as the server sees it. */
function signed(
  init: { method?: string; url?: string; headers?: Record<string, string>; body?: string },
  creds: Credentials = credentials,
  signedAt: Date = now,
): SignedRequestParts {
  const url = new URL(init.url ?? 'http://127.0.0.1:8080/');
  const headers = { host: url.host, ...init.headers };
  const body = init.body ?? '';
  const added = signRequest({ method: init.method ?? 'POST', url, headers, body }, creds, { region: 'us-east-1', service: 'ecs' }, signedAt);
  return {
    method: init.method ?? 'POST',
    path: url.pathname,
    query: url.search.slice(1),
    headers: lowercase({ ...headers, ...added }),
    body: encoder.encode(body),
  };
}

function lowercase(headers: Record<string, string>): Record<string, string> {
  return Object.fromEntries(Object.entries(headers).map(([k, v]) => [k.toLowerCase(), v]));
}

function assertFailure(result: VerifyResult, code: string, httpStatus: number, message?: string | RegExp): void {
  assert.equal(result.ok, false, 'expected a failure');
  if (result.ok) return;
  assert.equal(result.code, code);
  assert.equal(result.httpStatus, httpStatus);
  if (typeof message === 'string') assert.equal(result.message, message);
  else if (message !== undefined) assert.match(result.message, message);
}

const ecsHeaders = {
  'content-type': 'application/x-amz-json-1.1',
  'x-amz-target': 'AmazonEC2ContainerServiceV20141113.ListClusters',
};

test('signRequest output verifies, returning the key, region, service and session token', () => {
  const req = signed({ headers: ecsHeaders, body: '{"maxResults":5}' }, { ...credentials, sessionToken: 'tok' });
  assert.equal(req.headers['x-amz-security-token'], 'tok');
  assert.match(String(req.headers['authorization']), /SignedHeaders=content-type;host;x-amz-content-sha256;x-amz-date;x-amz-security-token;x-amz-target,/);
  assert.deepEqual(verifyRequest(req, lookupSecret, { now }),
    { ok: true, accessKeyId: credentials.accessKeyId, region: 'us-east-1', service: 'ecs', sessionToken: 'tok' });
});

test('signRequest round trip with an unusual path, query and header values', () => {
  const req = signed({
    method: 'GET',
    url: 'http://127.0.0.1:8080/v2/a b/./x/../blobs/sha256:ab~c?z=1&a=x y&a=b&empty=&plus=%2B*',
    headers: { 'X-Custom': '  two   spaces\there  ', 'User-Agent': 'not signed' },
  });
  assert.equal(verifyRequest(req, lookupSecret, { now }).ok, true);
  // user-agent is never signed, as in botocore: a proxy may rewrite it.
  assert.equal(verifyRequest({ ...req, headers: { ...req.headers, 'user-agent': 'rewritten' } }, lookupSecret, { now }).ok, true);
});

for (const [name, request] of Object.entries(fixtures.requests)) {
  test(`verifies a request signed by botocore ${fixtures.botocoreVersion}: ${name}`, () => {
    const result = verifyRequest(
      { ...request, body: encoder.encode(request.body) },
      lookupSecret,
      { now: new Date(Date.parse(fixtures.signedAt) + 60_000) },
    );
    assert.equal(result.ok, true, JSON.stringify(result));
  });
}

test('botocore request: session token returned, and a changed body is refused', () => {
  const request = fixtures.requests.ecsRegisterTaskDefinition;
  const parts = { ...request, body: encoder.encode(request.body) };
  const ok = verifyRequest(parts, lookupSecret, { now });
  assert.deepEqual(ok, { ok: true, accessKeyId: fixtures.accessKeyId, region: 'eu-west-3', service: 'ecs', sessionToken: request.headers['x-amz-security-token'] });
  assertFailure(verifyRequest({ ...parts, body: encoder.encode(request.body.replace('128', '256')) }, lookupSecret, { now }),
    'InvalidSignatureException', 403);
});

function smithySigner(service: string, region: string): SignatureV4 {
  return new SignatureV4({ credentials: { ...credentials, sessionToken: 'session' }, region, service, sha256: Sha256 });
}

test('verifies a request signed by the AWS SDK for JavaScript signer (@smithy/signature-v4)', async () => {
  const body = JSON.stringify({ cluster: 'default', taskDefinition: 'web:1', count: 2 });
  const request = await smithySigner('ecs', 'ap-southeast-2').sign({
    method: 'POST', protocol: 'http:', hostname: '127.0.0.1', port: 8080, path: '/', query: {},
    headers: { host: '127.0.0.1:8080', 'content-type': 'application/x-amz-json-1.1', 'x-amz-target': 'AmazonEC2ContainerServiceV20141113.RunTask' },
    body,
  }, { signingDate: now });
  const result = verifyRequest(
    { method: 'POST', path: '/', query: '', headers: lowercase(request.headers), body: encoder.encode(body) },
    lookupSecret,
    { now },
  );
  assert.deepEqual(result, { ok: true, accessKeyId: credentials.accessKeyId, region: 'ap-southeast-2', service: 'ecs', sessionToken: 'session' });
});

test('verifies a URL presigned by the AWS SDK for JavaScript signer, until it expires', async () => {
  const presigned = await smithySigner('ecr', 'us-east-1').presign({
    method: 'GET', protocol: 'http:', hostname: '127.0.0.1', port: 8080, path: '/v2/web/blobs/sha256:abc',
    query: { ref: 'a b' }, headers: { host: '127.0.0.1:8080' },
  }, { signingDate: now, expiresIn: 600 });
  const query = Object.entries(presigned.query ?? {})
    .map(([k, v]) => `${encodeURIComponent(k)}=${encodeURIComponent(String(v))}`).join('&');
  const parts: SignedRequestParts = { method: 'GET', path: presigned.path, query, headers: { host: '127.0.0.1:8080' }, body: new Uint8Array() };
  assert.deepEqual(verifyRequest(parts, lookupSecret, { now: new Date(now.getTime() + 590_000) }),
    { ok: true, accessKeyId: credentials.accessKeyId, region: 'us-east-1', service: 'ecr', sessionToken: 'session' });
  assertFailure(verifyRequest(parts, lookupSecret, { now: new Date(now.getTime() + 601_000) }), 'InvalidSignatureException', 403,
    'Signature expired: 20240517T123456Z is now earlier than 20240517T123457Z (20240517T124457Z - 600 sec.)');
  assertFailure(verifyRequest({ ...parts, query: query.replace('ref=a%20b', 'ref=other') }, lookupSecret, { now }),
    'InvalidSignatureException', 403);
});

test('a presigned URL missing parameters names them', () => {
  assertFailure(verifyRequest({ method: 'GET', path: '/', query: 'X-Amz-Algorithm=AWS4-HMAC-SHA256&X-Amz-Date=20240517T123456Z', headers: {}, body: new Uint8Array() },
    lookupSecret, { now }), 'IncompleteSignatureException', 400,
  "AWS query-string parameters must include 'X-Amz-Credential', 'X-Amz-Signature', 'X-Amz-SignedHeaders', 'X-Amz-Expires'. Re-examine the query-string parameters.");
});

test('tampering with the body, a signed header or the date is refused', () => {
  const req = signed({ headers: ecsHeaders, body: '{}' });
  const mismatch = /^The request signature we calculated does not match the signature you provided\. Check your AWS Secret Access Key and signing method\. Consult the service documentation for details\.$/;
  assertFailure(verifyRequest({ ...req, body: encoder.encode('{"a":1}') }, lookupSecret, { now }), 'XAmzContentSHA256Mismatch', 400);
  const withoutHash = Object.fromEntries(Object.entries(req.headers).filter(([name]) => name !== 'x-amz-content-sha256'));
  assertFailure(verifyRequest({ ...req, headers: withoutHash, body: encoder.encode('{"a":1}') }, lookupSecret, { now }),
    'InvalidSignatureException', 403, mismatch);
  assertFailure(verifyRequest({ ...req, headers: { ...req.headers, 'x-amz-target': 'AmazonEC2ContainerServiceV20141113.DeleteCluster' } }, lookupSecret, { now }),
    'InvalidSignatureException', 403, mismatch);
  assertFailure(verifyRequest({ ...req, headers: { ...req.headers, 'x-amz-date': '20240517T123457Z' } }, lookupSecret, { now }),
    'InvalidSignatureException', 403, mismatch);
  assertFailure(verifyRequest({ ...req, path: '/other' }, lookupSecret, { now }), 'InvalidSignatureException', 403, mismatch);
  assertFailure(verifyRequest(signed({ body: '{}' }, { ...credentials, secretAccessKey: 'wrong' }), lookupSecret, { now }),
    'InvalidSignatureException', 403, mismatch);
});

test('a date more than 5 minutes from now is refused with AWS wording', () => {
  const req = signed({ headers: ecsHeaders });
  assert.equal(verifyRequest(req, lookupSecret, { now: new Date(now.getTime() + 299_000) }).ok, true);
  assertFailure(verifyRequest(req, lookupSecret, { now: new Date(now.getTime() + 301_000) }), 'InvalidSignatureException', 403,
    'Signature expired: 20240517T123456Z is now earlier than 20240517T123457Z (20240517T123957Z - 5 min.)');
  assertFailure(verifyRequest(req, lookupSecret, { now: new Date(now.getTime() - 301_000) }), 'InvalidSignatureException', 403,
    'Signature not yet current: 20240517T123456Z is still later than 20240517T123455Z (20240517T122955Z + 5 min.)');
  assert.equal(verifyRequest(req, lookupSecret, { now: new Date(now.getTime() + 600_000), maxSkewMs: 900_000 }).ok, true);
});

test('an unknown access key is refused as UnrecognizedClientException', () => {
  assertFailure(verifyRequest(signed({ body: '{}' }, { accessKeyId: 'AKIDUNKNOWN', secretAccessKey: 'x' }), lookupSecret, { now }),
    'UnrecognizedClientException', 403, 'The security token included in the request is invalid.');
});

test('a request without any signature is MissingAuthenticationTokenException', () => {
  assertFailure(verifyRequest({ method: 'POST', path: '/', query: '', headers: { host: 'h' }, body: new Uint8Array() }, lookupSecret, { now }),
    'MissingAuthenticationTokenException', 403, 'Missing Authentication Token');
});

test('a malformed Authorization header is IncompleteSignatureException naming what is missing', () => {
  const base = { method: 'POST', path: '/', query: '', body: new Uint8Array() };
  const authorization = 'AWS4-HMAC-SHA256 Credential=AKIDWHARFTEST/20240517/us-east-1/ecs/aws4_request';
  assertFailure(verifyRequest({ ...base, headers: { host: 'h', authorization, 'x-amz-date': '20240517T123456Z' } }, lookupSecret, { now }),
    'IncompleteSignatureException', 400,
    `Authorization header requires 'Signature' parameter. Authorization header requires 'SignedHeaders' parameter. Authorization=${authorization}`);
  assertFailure(verifyRequest({ ...base, headers: { host: 'h', authorization: `${authorization}, SignedHeaders=host, Signature=00` } }, lookupSecret, { now }),
    'IncompleteSignatureException', 400, /requires existence of either a 'X-Amz-Date' or a 'Date' header/);
  assertFailure(verifyRequest({ ...base, headers: { host: 'h', authorization: 'Bearer abc' } }, lookupSecret, { now }),
    'IncompleteSignatureException', 400, 'Unsupported Authorization Type');
  assertFailure(verifyRequest({ ...base, headers: { host: 'h', 'x-amz-date': '20240517T123456Z', authorization: 'AWS4-HMAC-SHA256 Credential=AKID/20240517/ecs/aws4_request, SignedHeaders=host, Signature=00' } }, lookupSecret, { now }),
    'IncompleteSignatureException', 400, /Credential must have exactly 5 slash-delimited elements/);
  assertFailure(verifyRequest({ ...base, headers: { host: 'h', 'x-amz-date': '20240517T123456Z', authorization: `${authorization}, SignedHeaders=content-type, Signature=00` } }, lookupSecret, { now }),
    'IncompleteSignatureException', 400, "'Host' or ':authority' must be a 'SignedHeader' in the AWS Authorization.");
});

test('the credential scope date must be the request date', () => {
  const req = signed({ body: '{}' });
  const authorization = String(req.headers['authorization']).replace('/20240517/', '/20240516/');
  assertFailure(verifyRequest({ ...req, headers: { ...req.headers, authorization } }, lookupSecret, { now }), 'InvalidSignatureException', 403,
    "Date in Credential scope does not match YYYYMMDD from ISO-8601 version of date from HTTP: '20240516' != '20240517', from '20240517T123456Z'.");
});

test('UNSIGNED-PAYLOAD is refused for a request with a body', () => {
  const req = signed({ body: '{}' });
  assertFailure(verifyRequest({ ...req, headers: { ...req.headers, 'x-amz-content-sha256': 'UNSIGNED-PAYLOAD' } }, lookupSecret, { now }),
    'XAmzContentSHA256Mismatch', 400);
});

test('repeated header values are joined with commas, as botocore signs them', () => {
  const req = signed({ headers: { 'x-multi': 'a,b' }, body: '' });
  assert.equal(verifyRequest({ ...req, headers: { ...req.headers, 'x-multi': ['a', ' b '] } }, lookupSecret, { now }).ok, true);
});
