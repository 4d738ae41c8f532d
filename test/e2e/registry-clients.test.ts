/**
 * The registry with real clients, as the README tells a user: the AWS CLI creates a repository and
 * hands out a login password, `docker login` / `docker push` / `docker pull` use it, skopeo
 * inspects and copies (converting to OCI), and a task whose image lives in Wharf's registry is
 * pulled by the agent with a token it asks for itself.
 */
import { after, before, it } from 'node:test';
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { RegisterTaskDefinitionCommand, RunTaskCommand } from '@aws-sdk/client-ecs';
import { DescribeImagesCommand, ECRClient } from '@aws-sdk/client-ecr';
import { digestOf } from '../../src/domain/index.js';
import { checkPulledLayers, writeOciImage } from '../../src/testkit/oci-image.js';
import { ensureTestImage, TEST_IMAGE } from '../../src/testkit/test-image.js';
import { startWharf, type WharfProcesses } from '../../src/testkit/wharf-processes.js';
import { AWS_CLI, waitForConnectedInstances, waitForTask } from './helpers.js';

const run = promisify(execFile);
let w: WharfProcesses;
let ecr: ECRClient;
let registryHost: string;
const dockerConfig = mkdtempSync(join(tmpdir(), 'wharf-docker-config-'));
const workDir = mkdtempSync(join(tmpdir(), 'wharf-registry-clients-'));
const repo = `e2e-${randomBytes(4).toString('hex')}/app`;
const localTags: string[] = [];

async function aws(...args: string[]): Promise<any> {
  const { stdout } = await run(AWS_CLI, ['ecr', ...args, '--endpoint-url', w.url, '--region', 'us-east-1', '--output', 'json'], { env: w.cliEnv() });
  return stdout.trim() === '' ? {} : JSON.parse(stdout);
}

/** The docker CLI with a config directory of its own, so ~/.docker is never touched. */
async function docker(...args: string[]): Promise<string> {
  return (await run('docker', ['--config', dockerConfig, ...args], { maxBuffer: 16 * 1024 * 1024 })).stdout;
}

async function skopeo(...args: string[]): Promise<string> {
  return (await run('skopeo', args, { maxBuffer: 16 * 1024 * 1024 })).stdout;
}

before(async () => {
  await ensureTestImage();
  w = await startWharf();
  registryHost = new URL(w.url).host;
  ecr = new ECRClient({ endpoint: w.url, region: 'us-east-1', credentials: w.credentials, maxAttempts: 1 });
});
after(async () => {
  ecr?.destroy();
  for (const tag of localTags) await run('docker', ['rmi', tag]).catch(() => undefined);
  await w?.stop();
  rmSync(dockerConfig, { recursive: true, force: true });
  rmSync(workDir, { recursive: true, force: true });
});

it('docker push to a repository the AWS CLI made, docker pull back, with the password from get-login-password', async () => {
  const created = await aws('create-repository', '--repository-name', repo);
  const uri: string = created.repository.repositoryUri;
  assert.equal(uri, `${registryHost}/${repo}`);

  // Anonymous pushes are refused.
  localTags.push(`${uri}:v1`);
  await docker('tag', TEST_IMAGE, `${uri}:v1`);
  await assert.rejects(docker('push', `${uri}:v1`), /no basic auth credentials|unauthorized|authentication required/i);

  const { stdout: password } = await run(AWS_CLI, ['ecr', 'get-login-password', '--endpoint-url', w.url, '--region', 'us-east-1'], { env: w.cliEnv() });
  const login = await new Promise<string>((resolve, reject) => {
    const child = execFile('docker', ['--config', dockerConfig, 'login', '--username', 'AWS', '--password-stdin', registryHost], (err, stdout) => (err ? reject(err) : resolve(stdout)));
    child.stdin!.end(password.trim());
  });
  assert.match(login, /Login Succeeded/);

  const pushed = await docker('push', `${uri}:v1`);
  const digest = /digest: (sha256:[0-9a-f]{64})/.exec(pushed)?.[1];
  assert.ok(digest, pushed);

  const images = await aws('describe-images', '--repository-name', repo);
  assert.equal(images.imageDetails.length, 1);
  assert.equal(images.imageDetails[0].imageDigest, digest);
  assert.deepEqual(images.imageDetails[0].imageTags, ['v1']);
  assert.ok(images.imageDetails[0].imageSizeInBytes > 100_000, 'the busybox layer');

  await docker('rmi', `${uri}:v1`);
  const pulled = await docker('pull', `${uri}:v1`);
  assert.match(pulled, new RegExp(`Digest: ${digest}`));
  const inspected = JSON.parse(await docker('image', 'inspect', `${uri}:v1`));
  assert.ok((inspected[0].RepoDigests as string[]).includes(`${uri}@${digest}`));
});

it('skopeo inspects with --creds and copies the image to another tag as OCI', async () => {
  const token = (await aws('get-authorization-token')).authorizationData[0];
  const creds = Buffer.from(token.authorizationToken, 'base64').toString();
  assert.equal(token.proxyEndpoint, `http://${registryHost}`);
  const inspect = JSON.parse(await skopeo('inspect', '--tls-verify=false', '--creds', creds, `docker://${registryHost}/${repo}:v1`));
  assert.deepEqual(inspect.RepoTags, ['v1']);
  assert.equal(inspect.Os, 'linux');
  await assert.rejects(skopeo('inspect', '--tls-verify=false', `docker://${registryHost}/${repo}:v1`), /unauthorized|authentication required/i);

  await skopeo('copy', '--src-tls-verify=false', '--dest-tls-verify=false', '--src-creds', creds, '--dest-creds', creds, '--format', 'oci',
    `docker://${registryHost}/${repo}:v1`, `docker://${registryHost}/${repo}:oci`);
  const raw = JSON.parse(await skopeo('inspect', '--raw', '--tls-verify=false', '--creds', creds, `docker://${registryHost}/${repo}:oci`));
  assert.equal(raw.mediaType, 'application/vnd.oci.image.manifest.v1+json');
  const tags = JSON.parse(await skopeo('list-tags', '--tls-verify=false', '--creds', creds, `docker://${registryHost}/${repo}`));
  assert.deepEqual(tags.Tags.sort(), ['oci', 'v1']);
  const described = await ecr.send(new DescribeImagesCommand({ repositoryName: repo, imageIds: [{ imageTag: 'oci' }] }));
  assert.equal(described.imageDetails![0]!.imageManifestMediaType, 'application/vnd.oci.image.manifest.v1+json');
});

it('skopeo pushes an image of multi-megabyte layers from an OCI layout and pulls it back whole', async () => {
  // Random layers no registry has seen, so every blob is uploaded: skopeo sends each with a
  // Content-Length, and the large ones are taken from the socket by the native addon, whose
  // answers close the connection (src/registry/upload-body.ts).
  const image = await writeOciImage(join(workDir, 'layout'), 'big', [3 * 1024 * 1024, 8 * 1024 * 1024, 100_000]);
  const token = (await aws('get-authorization-token')).authorizationData[0];
  const creds = Buffer.from(token.authorizationToken, 'base64').toString();
  const bigRepo = `${repo}-big`;
  await aws('create-repository', '--repository-name', bigRepo);
  await skopeo('copy', '--dest-tls-verify=false', '--dest-creds', creds, `oci:${image.dir}:big`, `docker://${registryHost}/${bigRepo}:big`);
  const described = await ecr.send(new DescribeImagesCommand({ repositoryName: bigRepo, imageIds: [{ imageTag: 'big' }] }));
  assert.ok(described.imageDetails![0]!.imageSizeInBytes! >= 11 * 1024 * 1024);
  const pulled = join(workDir, 'pulled');
  await skopeo('copy', '--src-tls-verify=false', '--src-creds', creds, `docker://${registryHost}/${bigRepo}:big`, `dir:${pulled}`);
  checkPulledLayers(image, pulled);
  for (const layer of image.layers) {
    assert.equal(digestOf(readFileSync(join(pulled, layer.digest.slice('sha256:'.length)))), layer.digest);
  }
  await aws('delete-repository', '--repository-name', bigRepo, '--force');
});

it('the agent pulls a task\'s image from Wharf\'s registry by itself', async () => {
  const image = `${registryHost}/${repo}:v1`;
  // Not cached: the agent must pull it, and only a token of its own lets it.
  await docker('rmi', image);
  await w.startAgent({ extraArgs: ['--image-pull-behavior', 'always'] });
  await waitForConnectedInstances(w.ecs, w.cluster);
  await w.ecs.send(new RegisterTaskDefinitionCommand({
    family: 'from-registry',
    containerDefinitions: [{ name: 'app', image, memory: 16, command: ['sh', '-c', 'echo pulled from wharf; exit 0'] }],
  }));
  const started = await w.ecs.send(new RunTaskCommand({ cluster: w.cluster, taskDefinition: 'from-registry' }));
  assert.deepEqual(started.failures, []);
  const stopped = await waitForTask(w.ecs, w.cluster, started.tasks![0]!.taskArn!, (t) => t.lastStatus === 'STOPPED', 60_000);
  assert.equal(stopped.containers![0]!.exitCode, 0, stopped.stoppedReason ?? stopped.containers![0]!.reason);
  assert.match(stopped.containers![0]!.imageDigest ?? '', /^sha256:/);
});

it('refuses with ECR errors and spec error codes for what a user gets wrong', async () => {
  await assert.rejects(aws('create-repository', '--repository-name', repo), /RepositoryAlreadyExistsException/);
  await assert.rejects(aws('delete-repository', '--repository-name', repo), /RepositoryNotEmptyException/);
  await assert.rejects(aws('describe-images', '--repository-name', 'no/such-repo'), /RepositoryNotFoundException/);
  await assert.rejects(aws('get-lifecycle-policy', '--repository-name', repo), /LifecyclePolicyNotFoundException/);
  await assert.rejects(docker('pull', `${registryHost}/no/such-repo:v1`), /not found|name unknown|repository .* does not exist/i);
  const deleted = await aws('delete-repository', '--repository-name', repo, '--force');
  assert.equal(deleted.repository.repositoryName, repo);
});
