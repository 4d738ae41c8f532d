/**
 * The distribution API in-process, over real HTTP: each push and pull path of the spec, and each
 * fault a client can cause answering the spec's error code.
 */
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { request } from 'node:http';
import { CreateRepositoryCommand, ECRClient, GetAuthorizationTokenCommand, PutImageTagMutabilityCommand } from '@aws-sdk/client-ecr';
import { digestOf, MEDIA_TYPES } from '../domain/index.js';
import { startInProcessServer, TEST_CREDENTIALS, type InProcessServer } from '../testkit/in-process-server.js';
import { TestRegistryClient, type RegistryAnswer } from '../testkit/registry-client.js';

let server: InProcessServer;
let ecr: ECRClient;
let auth: string;
/** What the server logged, oldest first. */
const logged: Record<string, unknown>[] = [];

before(async () => {
  server = await startInProcessServer({ log: (entry) => logged.push(entry) });
  ecr = new ECRClient({ endpoint: server.url, region: 'us-east-1', credentials: TEST_CREDENTIALS, maxAttempts: 1 });
  const token = (await ecr.send(new GetAuthorizationTokenCommand({}))).authorizationData![0]!.authorizationToken!;
  auth = `Basic ${token}`;
  client = new TestRegistryClient(server.url, token);
  for (const name of ['app', 'other', 'team/web', 'immutable']) await ecr.send(new CreateRepositoryCommand({ repositoryName: name }));
  await ecr.send(new PutImageTagMutabilityCommand({ repositoryName: 'immutable', imageTagMutability: 'IMMUTABLE' }));
});
after(async () => {
  ecr?.destroy();
  await server?.close();
});

let client: TestRegistryClient;
const call = (...args: Parameters<TestRegistryClient['call']>) => client.call(...args);
const pushBlob = (repo: string, data: Buffer | string) => client.pushBlob(repo, data);
const pushImage = (...args: Parameters<TestRegistryClient['pushImage']>) => client.pushImage(...args);

function errorCode(a: RegistryAnswer): string | undefined {
  return a.json?.errors?.[0]?.code;
}

describe('auth', () => {
  it('refuses anonymous requests with a Basic challenge', async () => {
    const a = await call('GET', '/v2/', { anonymous: true });
    assert.equal(a.status, 401);
    assert.match(a.headers.get('www-authenticate') ?? '', /^Basic realm="/);
    assert.equal(errorCode(a), 'UNAUTHORIZED');
    assert.equal(a.headers.get('docker-distribution-api-version'), 'registry/2.0');
  });

  it('refuses a forged or wrong-user token', async () => {
    const forged = Buffer.from('AWS:wharf1.eyJzdWIiOiJ4IiwiZXhwIjo5OTk5OTk5OTk5OTk5fQ.AAAA').toString('base64');
    assert.equal((await call('GET', '/v2/', { anonymous: true, headers: { authorization: `Basic ${forged}` } })).status, 401);
    const password = Buffer.from(auth.slice(6), 'base64').toString().split(':')[1];
    const wrongUser = Buffer.from(`admin:${password}`).toString('base64');
    assert.equal((await call('GET', '/v2/', { anonymous: true, headers: { authorization: `Basic ${wrongUser}` } })).status, 401);
  });

  it('answers the base endpoint to a token from GetAuthorizationToken', async () => {
    const a = await call('GET', '/v2/');
    assert.equal(a.status, 200);
    assert.deepEqual(a.json, {});
  });

  it('refuses an unauthenticated upload before reading its body', async () => {
    const a = await call('POST', `/v2/app/blobs/uploads/?digest=${digestOf('x')}`, { anonymous: true, body: 'x' });
    assert.equal(a.status, 401);
  });
});

describe('push and pull', () => {
  it('pushes an image (monolithic blobs) and pulls it by tag and digest, with HEAD', async () => {
    const { manifest, digest, layer } = await pushImage('app', 'v1', 'one');
    const byTag = await call('GET', '/v2/app/manifests/v1');
    assert.equal(byTag.status, 200);
    assert.equal(byTag.body.toString(), manifest);
    assert.equal(byTag.headers.get('content-type'), MEDIA_TYPES.dockerManifest);
    assert.equal(byTag.headers.get('docker-content-digest'), digest);
    const head = await call('HEAD', `/v2/app/manifests/${digest}`);
    assert.equal(head.status, 200);
    assert.equal(head.headers.get('content-length'), String(Buffer.byteLength(manifest)));
    assert.equal(head.body.length, 0);
    const blob = await call('GET', `/v2/app/blobs/${digestOf(layer)}`);
    assert.equal(blob.status, 200);
    assert.deepEqual(blob.body, layer);
    assert.equal(blob.headers.get('docker-content-digest'), digestOf(layer));
    const blobHead = await call('HEAD', `/v2/app/blobs/${digestOf(layer)}`);
    assert.equal(blobHead.headers.get('content-length'), String(layer.length));
  });

  it('serves byte ranges of a blob, and 416 for one past its end', async () => {
    const data = Buffer.from('0123456789');
    const digest = await pushBlob('app', data);
    const part = await call('GET', `/v2/app/blobs/${digest}`, { headers: { range: 'bytes=2-5' } });
    assert.equal(part.status, 206);
    assert.equal(part.body.toString(), '2345');
    assert.equal(part.headers.get('content-range'), 'bytes 2-5/10');
    const suffix = await call('GET', `/v2/app/blobs/${digest}`, { headers: { range: 'bytes=-3' } });
    assert.equal(suffix.body.toString(), '789');
    const open = await call('GET', `/v2/app/blobs/${digest}`, { headers: { range: 'bytes=7-' } });
    assert.equal(open.body.toString(), '789');
    const past = await call('GET', `/v2/app/blobs/${digest}`, { headers: { range: 'bytes=10-20' } });
    assert.equal(past.status, 416);
    assert.equal(past.headers.get('content-range'), 'bytes */10');
  });

  it('pushes in chunks with Content-Range, reports status, and refuses a chunk at the wrong offset', async () => {
    const data = Buffer.from('chunk one|chunk two|chunk three');
    const digest = digestOf(data);
    const start = await call('POST', '/v2/app/blobs/uploads/');
    assert.equal(start.status, 202);
    const location = start.headers.get('location')!;
    assert.match(location, /^\/v2\/app\/blobs\/uploads\/[0-9a-f-]{36}$/);
    assert.equal(start.headers.get('range'), '0-0');
    const first = await call('PATCH', location, { body: data.subarray(0, 10), headers: { 'content-range': '0-9', 'content-type': 'application/octet-stream' } });
    assert.equal(first.status, 202);
    assert.equal(first.headers.get('range'), '0-9');
    const wrong = await call('PATCH', location, { body: data.subarray(10, 15), headers: { 'content-range': '12-16' } });
    assert.equal(wrong.status, 416);
    assert.equal(wrong.headers.get('range'), '0-9');
    const status = await call('GET', location);
    assert.equal(status.status, 204);
    assert.equal(status.headers.get('range'), '0-9');
    assert.equal((await call('PATCH', location, { body: data.subarray(10, 20), headers: { 'content-range': '10-19' } })).status, 202);
    // The last chunk rides on the closing PUT.
    const done = await call('PUT', `${location}?digest=${digest}`, { body: data.subarray(20) });
    assert.equal(done.status, 201);
    assert.equal(done.headers.get('location'), `/v2/app/blobs/${digest}`);
    assert.deepEqual((await call('GET', `/v2/app/blobs/${digest}`)).body, data);
    assert.equal(errorCode(await call('GET', location)), 'BLOB_UPLOAD_UNKNOWN');
  });

  it('takes streamed PATCHes without Content-Range (as docker sends them)', async () => {
    const data = Buffer.from('streamed upload');
    const start = await call('POST', '/v2/app/blobs/uploads/');
    const location = start.headers.get('location')!;
    await call('PATCH', location, { body: data.subarray(0, 5) });
    await call('PATCH', location, { body: data.subarray(5) });
    assert.equal((await call('PUT', `${location}?digest=${digestOf(data)}`)).status, 201);
  });

  it('verifies sha512 digests', async () => {
    const data = Buffer.from('sha512 blob');
    const digest = digestOf(data, 'sha512');
    const a = await call('POST', `/v2/app/blobs/uploads/?digest=${digest}`, { body: data });
    assert.equal(a.status, 201);
    assert.deepEqual((await call('GET', `/v2/app/blobs/${digest}`)).body, data);
  });

  it('refuses content that does not match its digest, and leaves no blob', async () => {
    const claimed = digestOf('what was promised');
    const a = await call('POST', `/v2/app/blobs/uploads/?digest=${claimed}`, { body: 'what was sent' });
    assert.equal(a.status, 400);
    assert.equal(errorCode(a), 'DIGEST_INVALID');
    assert.equal(errorCode(await call('HEAD', `/v2/app/blobs/${claimed}`)), undefined);
    assert.equal((await call('HEAD', `/v2/app/blobs/${claimed}`)).status, 404);
    assert.equal((await call('HEAD', `/v2/app/blobs/${digestOf('what was sent')}`)).status, 404);
  });

  // 64 KiB streams through Node; 4 MiB is taken from the socket by the native addon (upload-body.ts).
  for (const size of [64 * 1024, 4 * 1024 * 1024]) it(`an upload of ${size} bytes whose connection is cut leaves no blob, logs no server error, and its session can resume`, async () => {
    const data = Buffer.alloc(size, size % 251);
    const start = await call('POST', '/v2/app/blobs/uploads/');
    const location = start.headers.get('location')!;
    const loggedBefore = logged.length;
    await new Promise<void>((resolve) => {
      const url = new URL(server.url + location);
      const req = request({ host: url.hostname, port: url.port, path: url.pathname, method: 'PATCH', headers: { authorization: auth, 'content-length': String(data.length) } });
      req.on('error', () => resolve());
      req.write(data.subarray(0, 1000), () => setTimeout(() => { req.destroy(); resolve(); }, 50));
    });
    // The server notices the cut and rolls the session back to before that PATCH.
    let range = '';
    for (let i = 0; i < 50; i++) {
      range = (await call('GET', location)).headers.get('range') ?? '';
      if (range === '0-0') break;
      await new Promise((r) => setTimeout(r, 20));
    }
    assert.equal(range, '0-0');
    assert.deepEqual(logged.slice(loggedBefore), [], 'a client going away is not a server error');
    assert.equal((await call('HEAD', `/v2/app/blobs/${digestOf(data)}`)).status, 404);
    await call('PATCH', location, { body: data, headers: { 'content-range': `0-${data.length - 1}` } });
    assert.equal((await call('PUT', `${location}?digest=${digestOf(data)}`)).status, 201);
  });

  it('cancels an upload', async () => {
    const location = (await call('POST', '/v2/app/blobs/uploads/')).headers.get('location')!;
    assert.equal((await call('DELETE', location)).status, 204);
    assert.equal(errorCode(await call('PATCH', location, { body: 'x' })), 'BLOB_UPLOAD_UNKNOWN');
  });

  it('an upload session belongs to its repository', async () => {
    const location = (await call('POST', '/v2/app/blobs/uploads/')).headers.get('location')!;
    const elsewhere = location.replace('/v2/app/', '/v2/other/');
    assert.equal(errorCode(await call('GET', elsewhere)), 'BLOB_UPLOAD_UNKNOWN');
  });

  it('mounts a blob from another repository, and falls back to an upload when it cannot', async () => {
    const digest = await pushBlob('app', 'shared layer');
    assert.equal((await call('HEAD', `/v2/other/blobs/${digest}`)).status, 404, 'blobs belong to repositories');
    const mounted = await call('POST', `/v2/other/blobs/uploads/?mount=${digest}&from=app`);
    assert.equal(mounted.status, 201);
    assert.equal(mounted.headers.get('docker-content-digest'), digest);
    assert.equal((await call('HEAD', `/v2/other/blobs/${digest}`)).status, 200);
    const fallback = await call('POST', `/v2/other/blobs/uploads/?mount=${digestOf('never pushed')}&from=app`);
    assert.equal(fallback.status, 202);
    assert.ok(fallback.headers.get('location'));
  });

  it('pushes manifest lists and OCI indexes of pushed manifests, and refuses ones naming unknown manifests', async () => {
    const amd = await pushImage('team/web', 'amd64', 'amd', MEDIA_TYPES.ociManifest);
    const arm = await pushImage('team/web', 'arm64', 'arm', MEDIA_TYPES.ociManifest);
    for (const mediaType of [MEDIA_TYPES.ociIndex, MEDIA_TYPES.dockerManifestList]) {
      const index = JSON.stringify({
        schemaVersion: 2, mediaType,
        manifests: [amd, arm].map((m, i) => ({ mediaType: MEDIA_TYPES.ociManifest, digest: m.digest, size: Buffer.byteLength(m.manifest), platform: { architecture: i ? 'arm64' : 'amd64', os: 'linux' } })),
      });
      const put = await call('PUT', '/v2/team/web/manifests/multi', { body: index, headers: { 'content-type': mediaType } });
      assert.equal(put.status, 201);
      const got = await call('GET', '/v2/team/web/manifests/multi');
      assert.equal(got.headers.get('content-type'), mediaType);
      assert.equal(got.body.toString(), index);
    }
    const dangling = JSON.stringify({ schemaVersion: 2, mediaType: MEDIA_TYPES.ociIndex, manifests: [{ mediaType: MEDIA_TYPES.ociManifest, digest: digestOf('nothing'), size: 7 }] });
    const refused = await call('PUT', '/v2/team/web/manifests/dangling', { body: dangling, headers: { 'content-type': MEDIA_TYPES.ociIndex } });
    assert.equal(refused.status, 404);
    assert.equal(errorCode(refused), 'MANIFEST_BLOB_UNKNOWN');
  });

  it('lists tags and the catalog with n/last pagination and Link headers', async () => {
    for (const tag of ['t1', 't2', 't3']) await pushImage('other', tag, `tags-${tag}`);
    const first = await call('GET', '/v2/other/tags/list?n=2');
    assert.deepEqual(first.json, { name: 'other', tags: ['t1', 't2'] });
    assert.equal(first.headers.get('link'), '</v2/other/tags/list?last=t2&n=2>; rel="next"');
    const second = await call('GET', '/v2/other/tags/list?n=2&last=t2');
    assert.deepEqual(second.json, { name: 'other', tags: ['t3'] });
    assert.equal(second.headers.get('link'), null);
    const catalog = await call('GET', '/v2/_catalog?n=2');
    assert.deepEqual(catalog.json.repositories, ['app', 'immutable']);
    assert.match(catalog.headers.get('link') ?? '', /last=immutable&n=2>; rel="next"/);
    const rest = await call('GET', '/v2/_catalog?last=immutable');
    assert.deepEqual(rest.json.repositories, ['other', 'team/web']);
  });

  it('answers referrers of a manifest, filtered by artifactType', async () => {
    const subject = await pushImage('app', 'with-sbom', 'subject', MEDIA_TYPES.ociManifest);
    const sbomConfig = Buffer.from('{}');
    await pushBlob('app', sbomConfig);
    const layer = await pushBlob('app', 'an sbom');
    const sbom = JSON.stringify({
      schemaVersion: 2, mediaType: MEDIA_TYPES.ociManifest, artifactType: 'application/spdx+json',
      config: { mediaType: 'application/vnd.oci.empty.v1+json', digest: digestOf(sbomConfig), size: 2 },
      layers: [{ mediaType: 'application/spdx+json', digest: layer, size: 7 }],
      subject: { mediaType: MEDIA_TYPES.ociManifest, digest: subject.digest, size: Buffer.byteLength(subject.manifest) },
      annotations: { 'org.example': 'yes' },
    });
    const put = await call('PUT', `/v2/app/manifests/${digestOf(sbom)}`, { body: sbom, headers: { 'content-type': MEDIA_TYPES.ociManifest } });
    assert.equal(put.status, 201);
    assert.equal(put.headers.get('oci-subject'), subject.digest);
    const referrers = await call('GET', `/v2/app/referrers/${subject.digest}`);
    assert.equal(referrers.headers.get('content-type'), MEDIA_TYPES.ociIndex);
    assert.deepEqual(referrers.json.manifests, [{
      mediaType: MEDIA_TYPES.ociManifest, digest: digestOf(sbom), size: Buffer.byteLength(sbom), artifactType: 'application/spdx+json', annotations: { 'org.example': 'yes' },
    }]);
    const filtered = await call('GET', `/v2/app/referrers/${subject.digest}?artifactType=application/other`);
    assert.deepEqual(filtered.json.manifests, []);
    assert.equal(filtered.headers.get('oci-filters-applied'), 'artifactType');
    assert.deepEqual((await call('GET', `/v2/app/referrers/${digestOf('nobody')}`)).json.manifests, []);
  });

  it('deletes tags, manifests and blobs', async () => {
    const { digest, layer } = await pushImage('app', 'doomed', 'doomed');
    await call('PUT', '/v2/app/manifests/doomed-too', { body: (await call('GET', `/v2/app/manifests/${digest}`)).body, headers: { 'content-type': MEDIA_TYPES.dockerManifest } });
    assert.equal((await call('DELETE', '/v2/app/manifests/doomed-too')).status, 202);
    assert.equal((await call('GET', '/v2/app/manifests/doomed-too')).status, 404);
    assert.equal((await call('GET', '/v2/app/manifests/doomed')).status, 200);
    assert.equal((await call('DELETE', `/v2/app/manifests/${digest}`)).status, 202);
    assert.equal(errorCode(await call('GET', '/v2/app/manifests/doomed')), 'MANIFEST_UNKNOWN');
    assert.equal(errorCode(await call('DELETE', `/v2/app/manifests/${digest}`)), 'MANIFEST_UNKNOWN');
    assert.equal((await call('DELETE', `/v2/app/blobs/${digestOf(layer)}`)).status, 202);
    assert.equal(errorCode(await call('GET', `/v2/app/blobs/${digestOf(layer)}`)), 'BLOB_UNKNOWN');
  });

  it('re-pushing the same manifest and tag is accepted (docker retries do this)', async () => {
    const { manifest } = await pushImage('app', 'again', 'again');
    const again = await call('PUT', '/v2/app/manifests/again', { body: manifest, headers: { 'content-type': MEDIA_TYPES.dockerManifest } });
    assert.equal(again.status, 201);
  });
});

describe('bad input', () => {
  it('NAME_INVALID and NAME_UNKNOWN', async () => {
    assert.equal(errorCode(await call('GET', '/v2/Upper/tags/list')), 'NAME_INVALID');
    assert.equal(errorCode(await call('GET', '/v2/a..b/manifests/latest')), 'NAME_INVALID');
    const unknown = await call('GET', '/v2/no-such-repo/manifests/latest');
    assert.equal(unknown.status, 404);
    assert.equal(errorCode(unknown), 'NAME_UNKNOWN');
    assert.equal(errorCode(await call('POST', '/v2/no-such-repo/blobs/uploads/')), 'NAME_UNKNOWN');
  });

  it('TAG_INVALID and DIGEST_INVALID in references', async () => {
    assert.equal(errorCode(await call('PUT', '/v2/app/manifests/-bad-tag', { body: '{}' })), 'TAG_INVALID');
    assert.equal(errorCode(await call('GET', '/v2/app/manifests/sha256:1234')), 'DIGEST_INVALID');
    assert.equal(errorCode(await call('GET', '/v2/app/blobs/md5:abc')), 'DIGEST_INVALID');
    assert.equal(errorCode(await call('POST', '/v2/app/blobs/uploads/?digest=sha256:zz', { body: 'x' })), 'DIGEST_INVALID');
    const location = (await call('POST', '/v2/app/blobs/uploads/')).headers.get('location')!;
    assert.equal(errorCode(await call('PUT', location)), 'DIGEST_INVALID');
  });

  it('MANIFEST_INVALID for malformed, schema 1, mistyped and mismatched manifests', async () => {
    const cases: [string, string][] = [
      ['not json', MEDIA_TYPES.dockerManifest],
      [JSON.stringify({ schemaVersion: 1, name: 'app', tag: 'x', fsLayers: [] }), 'application/vnd.docker.distribution.manifest.v1+json'],
      [JSON.stringify({ schemaVersion: 2, mediaType: MEDIA_TYPES.dockerManifest, config: { mediaType: 'x', digest: 'nope', size: 1 }, layers: [] }), MEDIA_TYPES.dockerManifest],
      [JSON.stringify({ schemaVersion: 2, mediaType: MEDIA_TYPES.ociManifest, config: { mediaType: 'x', digest: digestOf('c'), size: 1 }, layers: [] }), MEDIA_TYPES.dockerManifest],
      [JSON.stringify({ schemaVersion: 2, mediaType: MEDIA_TYPES.dockerManifest, config: { mediaType: 'x', digest: digestOf('c'), size: -1 }, layers: [] }), MEDIA_TYPES.dockerManifest],
    ];
    for (const [body, type] of cases) {
      const a = await call('PUT', '/v2/app/manifests/bad', { body, headers: { 'content-type': type } });
      assert.equal(a.status, 400, body);
      assert.equal(errorCode(a), 'MANIFEST_INVALID', body);
    }
  });

  it('MANIFEST_BLOB_UNKNOWN when a layer was never pushed to the repository', async () => {
    const config = await pushBlob('app', 'config only');
    const manifest = JSON.stringify({
      schemaVersion: 2, mediaType: MEDIA_TYPES.dockerManifest,
      config: { mediaType: 'application/vnd.docker.container.image.v1+json', digest: config, size: 11 },
      layers: [{ mediaType: 'application/vnd.docker.image.rootfs.diff.tar.gzip', digest: digestOf('missing layer'), size: 13 }],
    });
    const a = await call('PUT', '/v2/app/manifests/missing', { body: manifest, headers: { 'content-type': MEDIA_TYPES.dockerManifest } });
    assert.equal(a.status, 404);
    assert.equal(errorCode(a), 'MANIFEST_BLOB_UNKNOWN');
  });

  it('DIGEST_INVALID when a manifest pushed by digest does not have it', async () => {
    const { manifest } = await pushImage('app', 'by-digest', 'by-digest');
    const a = await call('PUT', `/v2/app/manifests/${digestOf('other')}`, { body: manifest, headers: { 'content-type': MEDIA_TYPES.dockerManifest } });
    assert.equal(errorCode(a), 'DIGEST_INVALID');
  });

  it('TAG_INVALID when an IMMUTABLE repository would move a tag; the same image again is fine', async () => {
    const first = await pushImage('immutable', 'release', 'first');
    const again = await call('PUT', '/v2/immutable/manifests/release', { body: first.manifest, headers: { 'content-type': MEDIA_TYPES.dockerManifest } });
    assert.equal(again.status, 201);
    const second = await pushImage('immutable', 'other-tag', 'second');
    const moved = await call('PUT', '/v2/immutable/manifests/release', { body: second.manifest, headers: { 'content-type': MEDIA_TYPES.dockerManifest } });
    assert.equal(moved.status, 400);
    assert.equal(errorCode(moved), 'TAG_INVALID');
    assert.equal((await call('GET', '/v2/immutable/manifests/release')).headers.get('docker-content-digest'), first.digest);
  });

  it('SIZE_INVALID when Content-Range and Content-Length disagree', async () => {
    const location = (await call('POST', '/v2/app/blobs/uploads/')).headers.get('location')!;
    const a = await call('PATCH', location, { body: '12345', headers: { 'content-range': '0-9' } });
    assert.equal(errorCode(a), 'SIZE_INVALID');
  });

  it('SIZE_INVALID (413) for a manifest over 4 MiB, without storing anything', async () => {
    const huge = JSON.stringify({ schemaVersion: 2, mediaType: MEDIA_TYPES.ociIndex, manifests: [], annotations: { pad: 'x'.repeat(4 * 1024 * 1024) } });
    const a = await call('PUT', '/v2/app/manifests/huge', { body: huge, headers: { 'content-type': MEDIA_TYPES.ociIndex } });
    assert.equal(a.status, 413);
    assert.equal(errorCode(a), 'SIZE_INVALID');
    assert.equal((await call('GET', '/v2/app/manifests/huge')).status, 404);
  });

  it('PAGINATION_NUMBER_INVALID for a malformed n', async () => {
    assert.equal(errorCode(await call('GET', '/v2/app/tags/list?n=-1')), 'PAGINATION_NUMBER_INVALID');
    assert.equal(errorCode(await call('GET', '/v2/_catalog?n=ten')), 'PAGINATION_NUMBER_INVALID');
    assert.deepEqual((await call('GET', '/v2/app/tags/list?n=0')).json, { name: 'app', tags: [] });
  });

  it('UNSUPPORTED for unknown paths and methods', async () => {
    assert.equal((await call('GET', '/v2/app/nothing-here')).status, 404);
    assert.equal((await call('POST', '/v2/app/manifests/latest')).status, 405);
  });
});
