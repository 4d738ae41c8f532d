/**
 * The ECR API through @aws-sdk/client-ecr against an in-process server: every operation Wharf
 * serves, the exceptions a caller can cause, and lifecycle policies applied by the registry's
 * housekeeping on a fake clock.
 */
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import {
  BatchDeleteImageCommand, BatchGetImageCommand, CreateRepositoryCommand, DeleteLifecyclePolicyCommand, DeleteRepositoryCommand,
  DescribeImagesCommand, DescribeRepositoriesCommand, ECRClient, GetAuthorizationTokenCommand, GetLifecyclePolicyCommand,
  ListImagesCommand, ListTagsForResourceCommand, PutImageCommand, PutImageTagMutabilityCommand, PutLifecyclePolicyCommand,
  TagResourceCommand, UntagResourceCommand,
} from '@aws-sdk/client-ecr';
import { digestOf, MEDIA_TYPES } from '../../domain/index.js';
import { DiskBlobStore } from '../../registry/index.js';
import { startInProcessServer, TEST_CREDENTIALS, TEST_SCOPE, type InProcessServer } from '../../testkit/in-process-server.js';
import { imageManifest, TestRegistryClient } from '../../testkit/registry-client.js';

const DAY_MS = 24 * 60 * 60 * 1000;
// The server, its blob store (file times included) and the tokens all run on this clock.
let nowMs = Date.now();
let server: InProcessServer;
let ecr: ECRClient;
let registry: TestRegistryClient;

/** A fresh registry token: the fake clock moves by days, past a token's 12 hours. */
async function renewToken(): Promise<void> {
  const token = (await ecr.send(new GetAuthorizationTokenCommand({}))).authorizationData![0]!.authorizationToken!;
  registry = new TestRegistryClient(server.url, token);
}

before(async () => {
  server = await startInProcessServer({ nowMs: () => nowMs });
  ecr = new ECRClient({ endpoint: server.url, region: 'us-east-1', credentials: TEST_CREDENTIALS, maxAttempts: 1 });
  await renewToken();
});
after(async () => {
  ecr?.destroy();
  await server?.close();
});

async function rejectsWith(p: Promise<unknown>, name: string): Promise<void> {
  await assert.rejects(p, (err: Error) => {
    assert.equal(err.name, name, err.message);
    return true;
  });
}

const host = () => new URL(server.url).host;

describe('repositories', () => {
  it('creates, describes with its docker-usable URI, and refuses duplicates and bad names', async () => {
    const created = (await ecr.send(new CreateRepositoryCommand({ repositoryName: 'team/api', tags: [{ Key: 'team', Value: 'a' }] }))).repository!;
    assert.equal(created.repositoryUri, `${host()}/team/api`);
    assert.equal(created.repositoryArn, `arn:aws:ecr:us-east-1:${TEST_SCOPE.accountId}:repository/team/api`);
    assert.equal(created.registryId, TEST_SCOPE.accountId);
    assert.equal(created.imageTagMutability, 'MUTABLE');
    assert.ok(created.createdAt instanceof Date);
    await rejectsWith(ecr.send(new CreateRepositoryCommand({ repositoryName: 'team/api' })), 'RepositoryAlreadyExistsException');
    await rejectsWith(ecr.send(new CreateRepositoryCommand({ repositoryName: 'Bad_Name' })), 'InvalidParameterException');
    await rejectsWith(ecr.send(new CreateRepositoryCommand({ repositoryName: 'x', imageTagMutability: 'IMMUTABLE_WITH_EXCLUSION' })), 'InvalidParameterException');
    await rejectsWith(ecr.send(new CreateRepositoryCommand({ repositoryName: 'other', registryId: '999999999999' })), 'InvalidParameterException');
    const described = await ecr.send(new DescribeRepositoriesCommand({ repositoryNames: ['team/api'] }));
    assert.equal(described.repositories![0]!.repositoryUri, `${host()}/team/api`);
    await rejectsWith(ecr.send(new DescribeRepositoriesCommand({ repositoryNames: ['missing'] })), 'RepositoryNotFoundException');
  });

  it('pages through repositories', async () => {
    for (const n of ['page-a', 'page-b', 'page-c']) await ecr.send(new CreateRepositoryCommand({ repositoryName: n }));
    const names: string[] = [];
    let nextToken: string | undefined;
    do {
      const page = await ecr.send(new DescribeRepositoriesCommand({ maxResults: 2, ...(nextToken ? { nextToken } : {}) }));
      assert.ok(page.repositories!.length <= 2);
      names.push(...page.repositories!.map((r) => r.repositoryName!));
      nextToken = page.nextToken;
    } while (nextToken);
    for (const n of ['page-a', 'page-b', 'page-c', 'team/api']) assert.ok(names.includes(n), n);
    await rejectsWith(ecr.send(new DescribeRepositoriesCommand({ nextToken: 'garbage' })), 'InvalidParameterException');
  });

  it('tags repositories by ARN', async () => {
    const arn = `arn:aws:ecr:us-east-1:${TEST_SCOPE.accountId}:repository/team/api`;
    await ecr.send(new TagResourceCommand({ resourceArn: arn, tags: [{ Key: 'env', Value: 'prod' }] }));
    await ecr.send(new UntagResourceCommand({ resourceArn: arn, tagKeys: ['team'] }));
    assert.deepEqual((await ecr.send(new ListTagsForResourceCommand({ resourceArn: arn }))).tags, [{ Key: 'env', Value: 'prod' }]);
    await rejectsWith(ecr.send(new TagResourceCommand({ resourceArn: arn, tags: [{ Key: 'aws:x', Value: '1' }] })), 'InvalidTagParameterException');
    const many = Array.from({ length: 51 }, (_, i) => ({ Key: `k${i}`, Value: 'v' }));
    await rejectsWith(ecr.send(new TagResourceCommand({ resourceArn: arn, tags: many })), 'TooManyTagsException');
    await rejectsWith(ecr.send(new ListTagsForResourceCommand({ resourceArn: arn.replace('team/api', 'nope') })), 'RepositoryNotFoundException');
    await rejectsWith(ecr.send(new ListTagsForResourceCommand({ resourceArn: 'arn:aws:ecs:us-east-1:1:cluster/x' })), 'InvalidParameterException');
  });

  it('deletes an empty repository, refuses one with images, and force-deletes it', async () => {
    await ecr.send(new CreateRepositoryCommand({ repositoryName: 'to-delete' }));
    await registry.pushImage('to-delete', 'v1', 'delete-me');
    await rejectsWith(ecr.send(new DeleteRepositoryCommand({ repositoryName: 'to-delete' })), 'RepositoryNotEmptyException');
    const deleted = (await ecr.send(new DeleteRepositoryCommand({ repositoryName: 'to-delete', force: true }))).repository!;
    assert.equal(deleted.repositoryName, 'to-delete');
    await rejectsWith(ecr.send(new ListImagesCommand({ repositoryName: 'to-delete' })), 'RepositoryNotFoundException');
    assert.equal((await registry.call('GET', '/v2/to-delete/tags/list')).status, 404);
    await ecr.send(new CreateRepositoryCommand({ repositoryName: 'to-delete' }));
    assert.deepEqual((await ecr.send(new ListImagesCommand({ repositoryName: 'to-delete' }))).imageIds, [], 'a new repository of the name starts empty');
    await ecr.send(new DeleteRepositoryCommand({ repositoryName: 'to-delete' }));
    await rejectsWith(ecr.send(new DeleteRepositoryCommand({ repositoryName: 'to-delete' })), 'RepositoryNotFoundException');
  });
});

describe('images', () => {
  before(async () => {
    await ecr.send(new CreateRepositoryCommand({ repositoryName: 'images' }));
  });

  it('describes pushed images with sizes, push times and tags; lists and gets them', async () => {
    const pushedAt = nowMs;
    const one = await registry.pushImage('images', 'v1', 'img-one');
    const untagged = await registry.pushImage('images', undefined, 'img-two');
    const details = (await ecr.send(new DescribeImagesCommand({ repositoryName: 'images' }))).imageDetails!;
    const d1 = details.find((d) => d.imageDigest === one.digest)!;
    assert.deepEqual(d1.imageTags, ['v1']);
    assert.equal(d1.imageSizeInBytes, one.layer.length);
    assert.equal(d1.imagePushedAt!.getTime(), pushedAt);
    assert.equal(d1.imageManifestMediaType, MEDIA_TYPES.dockerManifest);
    assert.equal(details.find((d) => d.imageDigest === untagged.digest)!.imageTags, undefined);
    const tagged = await ecr.send(new ListImagesCommand({ repositoryName: 'images', filter: { tagStatus: 'TAGGED' } }));
    assert.deepEqual(tagged.imageIds, [{ imageDigest: one.digest, imageTag: 'v1' }]);
    const untaggedIds = await ecr.send(new ListImagesCommand({ repositoryName: 'images', filter: { tagStatus: 'UNTAGGED' } }));
    assert.deepEqual(untaggedIds.imageIds, [{ imageDigest: untagged.digest }]);
    const got = await ecr.send(new BatchGetImageCommand({ repositoryName: 'images', imageIds: [{ imageTag: 'v1' }, { imageTag: 'nope' }, { imageDigest: 'sha256:bad' }] }));
    assert.equal(got.images![0]!.imageManifest, one.manifest);
    assert.deepEqual(got.images![0]!.imageId, { imageDigest: one.digest, imageTag: 'v1' });
    assert.deepEqual(got.failures!.map((f) => f.failureCode), ['ImageNotFound', 'InvalidImageDigest']);
    await rejectsWith(ecr.send(new DescribeImagesCommand({ repositoryName: 'images', imageIds: [{ imageTag: 'nope' }] })), 'ImageNotFoundException');
  });

  it('PutImage tags an existing manifest, and refuses what would change nothing, missing layers and wrong digests', async () => {
    const { manifest, digest } = await registry.pushImage('images', 'put-src', 'put-image');
    const put = (await ecr.send(new PutImageCommand({ repositoryName: 'images', imageManifest: manifest, imageTag: 'put-copy' }))).image!;
    assert.deepEqual(put.imageId, { imageDigest: digest, imageTag: 'put-copy' });
    assert.equal((await registry.call('GET', '/v2/images/manifests/put-copy')).headers.get('docker-content-digest'), digest);
    await rejectsWith(ecr.send(new PutImageCommand({ repositoryName: 'images', imageManifest: manifest, imageTag: 'put-copy' })), 'ImageAlreadyExistsException');
    const orphan = imageManifest(MEDIA_TYPES.dockerManifest, Buffer.from('never pushed config'), [Buffer.from('never pushed layer')]);
    await rejectsWith(ecr.send(new PutImageCommand({ repositoryName: 'images', imageManifest: orphan, imageTag: 'orphan' })), 'LayersNotFoundException');
    await rejectsWith(ecr.send(new PutImageCommand({ repositoryName: 'images', imageManifest: manifest, imageTag: 'x', imageDigest: digestOf('other') })), 'ImageDigestDoesNotMatchException');
    await rejectsWith(ecr.send(new PutImageCommand({ repositoryName: 'images', imageManifest: '{"schemaVersion":1}' })), 'InvalidParameterException');
    await rejectsWith(ecr.send(new PutImageCommand({ repositoryName: 'missing', imageManifest: manifest })), 'RepositoryNotFoundException');
  });

  it('IMMUTABLE repositories refuse to move a tag, through PutImage and docker push alike', async () => {
    await ecr.send(new CreateRepositoryCommand({ repositoryName: 'frozen', imageTagMutability: 'IMMUTABLE' }));
    await registry.pushImage('frozen', 'v1', 'frozen-one');
    const second = await registry.pushImage('frozen', 'v2', 'frozen-two');
    await rejectsWith(ecr.send(new PutImageCommand({ repositoryName: 'frozen', imageManifest: second.manifest, imageTag: 'v1' })), 'ImageTagAlreadyExistsException');
    const r = await ecr.send(new PutImageTagMutabilityCommand({ repositoryName: 'frozen', imageTagMutability: 'MUTABLE' }));
    assert.equal(r.imageTagMutability, 'MUTABLE');
    await ecr.send(new PutImageCommand({ repositoryName: 'frozen', imageManifest: second.manifest, imageTag: 'v1' }));
  });

  it('BatchDeleteImage: a tag removes that tag (and the image with its last tag); a digest removes the image', async () => {
    const { digest, manifest } = await registry.pushImage('images', 'del-a', 'batch-delete');
    await ecr.send(new PutImageCommand({ repositoryName: 'images', imageManifest: manifest, imageTag: 'del-b' }));
    const first = await ecr.send(new BatchDeleteImageCommand({ repositoryName: 'images', imageIds: [{ imageTag: 'del-a' }] }));
    assert.deepEqual(first.imageIds, [{ imageDigest: digest, imageTag: 'del-a' }]);
    assert.equal((await registry.call('GET', `/v2/images/manifests/${digest}`)).status, 200);
    const last = await ecr.send(new BatchDeleteImageCommand({ repositoryName: 'images', imageIds: [{ imageTag: 'del-b' }, { imageTag: 'never' }, {}] }));
    assert.deepEqual(last.imageIds, [{ imageDigest: digest, imageTag: 'del-b' }]);
    assert.deepEqual(last.failures!.map((f) => f.failureCode), ['ImageNotFound', 'MissingDigestAndTag']);
    assert.equal((await registry.call('GET', `/v2/images/manifests/${digest}`)).status, 404);
  });

  it('refuses to delete an image an index names', async () => {
    const child = await registry.pushImage('images', 'child', 'indexed', MEDIA_TYPES.ociManifest);
    const index = JSON.stringify({ schemaVersion: 2, mediaType: MEDIA_TYPES.ociIndex, manifests: [{ mediaType: MEDIA_TYPES.ociManifest, digest: child.digest, size: Buffer.byteLength(child.manifest) }] });
    await ecr.send(new PutImageCommand({ repositoryName: 'images', imageManifest: index, imageTag: 'index' }));
    const r = await ecr.send(new BatchDeleteImageCommand({ repositoryName: 'images', imageIds: [{ imageDigest: child.digest }] }));
    assert.deepEqual(r.failures!.map((f) => f.failureCode), ['ImageReferencedByManifestList']);
  });
});

describe('lifecycle policies', () => {
  const text = JSON.stringify({
    rules: [
      { rulePriority: 1, description: 'untagged after a day', selection: { tagStatus: 'untagged', countType: 'sinceImagePushed', countUnit: 'days', countNumber: 1 }, action: { type: 'expire' } },
      { rulePriority: 2, description: 'keep the last two', selection: { tagStatus: 'any', countType: 'imageCountMoreThan', countNumber: 2 }, action: { type: 'expire' } },
    ],
  });

  it('puts, gets and deletes a policy; LifecyclePolicyNotFoundException without one', async () => {
    await ecr.send(new CreateRepositoryCommand({ repositoryName: 'policy' }));
    await rejectsWith(ecr.send(new GetLifecyclePolicyCommand({ repositoryName: 'policy' })), 'LifecyclePolicyNotFoundException');
    const put = await ecr.send(new PutLifecyclePolicyCommand({ repositoryName: 'policy', lifecyclePolicyText: text }));
    assert.equal(put.lifecyclePolicyText, text);
    assert.equal((await ecr.send(new GetLifecyclePolicyCommand({ repositoryName: 'policy' }))).lifecyclePolicyText, text);
    await ecr.send(new DeleteLifecyclePolicyCommand({ repositoryName: 'policy' }));
    await rejectsWith(ecr.send(new DeleteLifecyclePolicyCommand({ repositoryName: 'policy' })), 'LifecyclePolicyNotFoundException');
    const bad = JSON.stringify({ rules: [{ rulePriority: 1, selection: { tagStatus: 'tagged', countType: 'imageCountMoreThan', countNumber: 1 }, action: { type: 'expire' } }] }).padEnd(120);
    await rejectsWith(ecr.send(new PutLifecyclePolicyCommand({ repositoryName: 'policy', lifecyclePolicyText: bad })), 'InvalidParameterException');
  });

  it('housekeeping expires what the policy says, then collects the blobs no image needs', async () => {
    await ecr.send(new CreateRepositoryCommand({ repositoryName: 'expiring' }));
    const old = await registry.pushImage('expiring', undefined, 'old-untagged');
    nowMs += 2 * DAY_MS;
    await renewToken();
    const a = await registry.pushImage('expiring', 'a', 'tagged-a');
    nowMs += 1000;
    const b = await registry.pushImage('expiring', 'b', 'tagged-b');
    nowMs += 1000;
    const c = await registry.pushImage('expiring', 'c', 'tagged-c');
    await ecr.send(new PutLifecyclePolicyCommand({ repositoryName: 'expiring', lifecyclePolicyText: text }));
    // Far enough ahead that every blob is past the collection grace period.
    nowMs += 2 * 60 * 60 * 1000;
    await renewToken();
    const result = await server.server.sweepRegistry();
    assert.ok(result && result.expiredImages === 2, JSON.stringify(result));
    const left = (await ecr.send(new DescribeImagesCommand({ repositoryName: 'expiring' }))).imageDetails!.map((d) => d.imageDigest).sort();
    assert.deepEqual(left, [b.digest, c.digest].sort());
    assert.equal((await registry.call('HEAD', `/v2/expiring/blobs/${digestOf(a.layer)}`)).status, 404, 'an expired image\'s layer is collected');
    assert.equal((await registry.call('HEAD', `/v2/expiring/blobs/${digestOf(old.layer)}`)).status, 404);
    assert.equal((await registry.call('HEAD', `/v2/expiring/blobs/${digestOf(c.layer)}`)).status, 200);
    const disk = await new DiskBlobStore(server.registryDir).init();
    assert.equal(await disk.stat(digestOf(a.layer)), undefined, 'the blob file is gone');
    assert.ok(await disk.stat(digestOf(c.layer)));
    const policy = await ecr.send(new GetLifecyclePolicyCommand({ repositoryName: 'expiring' }));
    assert.equal(policy.lastEvaluatedAt!.getTime(), nowMs);
  });
});

describe('upload sessions', () => {
  it('housekeeping removes sessions idle for longer than the timeout', async () => {
    await ecr.send(new CreateRepositoryCommand({ repositoryName: 'uploads' }));
    const abandoned = (await registry.call('POST', '/v2/uploads/blobs/uploads/')).headers.get('location')!;
    await registry.call('PATCH', abandoned, { body: 'half a layer' });
    const before = await server.server.sweepRegistry();
    assert.equal(before?.expiredUploads, 0, 'a session just written to stays');
    assert.equal((await registry.call('GET', abandoned)).status, 204);
    nowMs += 2 * 60 * 60 * 1000;
    await renewToken();
    const result = await server.server.sweepRegistry();
    assert.equal(result?.expiredUploads, 1, JSON.stringify(result));
    assert.equal((await registry.call('GET', abandoned)).status, 404);
  });
});

describe('authorization tokens and bad input', () => {
  it('GetAuthorizationToken answers AWS:<password> valid 12 hours at the server\'s own endpoint', async () => {
    const data = (await ecr.send(new GetAuthorizationTokenCommand({}))).authorizationData![0]!;
    const decoded = Buffer.from(data.authorizationToken!, 'base64').toString();
    assert.match(decoded, /^AWS:\S+$/);
    assert.equal(data.proxyEndpoint, `http://${host()}`);
    assert.equal(data.expiresAt!.getTime(), nowMs + 12 * 60 * 60 * 1000);
  });

  it('a token expires after 12 hours', async () => {
    const token = (await ecr.send(new GetAuthorizationTokenCommand({}))).authorizationData![0]!.authorizationToken!;
    const client = new TestRegistryClient(server.url, token);
    assert.equal((await client.call('GET', '/v2/')).status, 200);
    nowMs += 12 * 60 * 60 * 1000 + 1;
    assert.equal((await client.call('GET', '/v2/')).status, 401);
  });

  it('input the model forbids is InvalidParameterException, a missing member too', async () => {
    await rejectsWith(ecr.send(new ListImagesCommand({ repositoryName: 'images', maxResults: 5000 })), 'InvalidParameterException');
    await rejectsWith(ecr.send(new ListImagesCommand({} as never)), 'InvalidParameterException');
  });
});
