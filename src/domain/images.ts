/**
 * ECR images in a repository: manifests by digest, tags pointing at them, and the layer links that
 * make a blob readable in a repository. The registry's HTTP layer (`docker push`/`pull`) and the
 * ECR API both go through these functions, so a tag written by one is seen by the other.
 */
import type { ImageDetail, ImageFailure, ImageIdentifier } from '@aws-sdk/client-ecr';
import {
  ConflictError, ImageAlreadyExistsException, ImageDigestDoesNotMatchException, ImageNotFoundException, ImageTagAlreadyExistsException,
  InvalidParameterException, LayersNotFoundException, ReferencedImagesNotFoundException, RepositoryNotFoundException,
} from '../model/index.js';
import type { TxnOp } from '../store/index.js';
import type { DomainContext, Wire } from './context.js';
import { digestOf, parseDigest } from './digests.js';
import { keys } from './keys.js';
import type { ParsedManifest } from './manifests.js';
import { pageArray } from './pagination.js';
import { evaluateLifecyclePolicy, parseLifecyclePolicy } from './lifecycle-policy.js';
import { requireRepository, updateRepository, type RepositoryRecord } from './repositories.js';

/** The distribution spec's tag rule (ECR's own pattern is the same for pushed tags). */
export const IMAGE_TAG = /^[A-Za-z0-9_][A-Za-z0-9._-]{0,127}$/;

export interface ImageRecord {
  repositoryName: string;
  imageDigest: string;
  /** The manifest exactly as pushed: its sha256 is the digest. */
  imageManifest: string;
  imageManifestMediaType: string;
  artifactMediaType?: string;
  imageSizeInBytes: number;
  /** Epoch seconds. */
  imagePushedAt: number;
  /** Digests of the config and layers an image manifest needs. */
  blobs: string[];
  /** Digests of the manifests an index names. */
  manifests: string[];
  /** The digest this manifest refers to (OCI referrers). */
  subject?: string;
  artifactType?: string;
  annotations?: Record<string, string>;
}

interface TagRecord { imageDigest: string }

/** A blob linked into a repository: pushed there, or mounted from another repository. */
export interface LayerRecord { size: number; linkedAtMs: number }

const CAS_ATTEMPTS = 10;

/** Makes a blob readable in `repository` (after its upload completed or a mount). */
export async function linkLayer(ctx: DomainContext, repository: string, digest: string, size: number): Promise<void> {
  const repo = await requireRepository(ctx, repository);
  const record: LayerRecord = { size, linkedAtMs: ctx.nowMs() };
  // Checking the repository's revision keeps a concurrent DeleteRepository from leaving a stray link.
  await ctx.store.txn([
    { op: 'check', key: repo.key, expectedModRevision: repo.modRevision },
    { op: 'put', key: keys.layer(repository, digest), value: record },
  ]);
}

export async function getLayer(ctx: DomainContext, repository: string, digest: string): Promise<LayerRecord | undefined> {
  return (await ctx.store.get<LayerRecord>(keys.layer(repository, digest)))?.value;
}

/**
 * Marks a linked blob as just used, so garbage collection gives it a fresh grace period: a client
 * that saw it exist (HEAD) skips uploading it and names it in a manifest moments later.
 */
export async function touchLayer(ctx: DomainContext, repository: string, digest: string): Promise<void> {
  const entry = await ctx.store.get<LayerRecord>(keys.layer(repository, digest));
  if (!entry) return;
  await ctx.store.put(entry.key, { ...entry.value, linkedAtMs: ctx.nowMs() }, { expectedModRevision: entry.modRevision }).catch((err: unknown) => {
    // Someone else wrote it meanwhile (a relink or an unlink): either way there is nothing to refresh.
    if (!(err instanceof ConflictError)) throw err;
  });
}

/** Removes a blob from a repository; false when it was not there. */
export async function unlinkLayer(ctx: DomainContext, repository: string, digest: string): Promise<boolean> {
  const entry = await ctx.store.get(keys.layer(repository, digest));
  if (!entry) return false;
  await ctx.store.delete(entry.key);
  return true;
}

/** Every layer link of every repository (for garbage collection). */
export async function listAllLayerLinks(ctx: DomainContext): Promise<{ repositoryName: string; digest: string; layer: LayerRecord }[]> {
  const prefix = keys.layers();
  return (await ctx.store.list<LayerRecord>(prefix)).map((e) => {
    const rest = e.key.slice(prefix.length);
    const colon = rest.indexOf(':');
    return { repositoryName: rest.slice(0, colon), digest: rest.slice(colon + 1), layer: e.value };
  });
}

/** Every image of every repository (for garbage collection and lifecycle policies). */
export async function listAllImages(ctx: DomainContext): Promise<ImageRecord[]> {
  return (await ctx.store.list<ImageRecord>(keys.images())).map((e) => e.value);
}

export interface PutImageInput {
  repositoryName: string;
  /** The manifest bytes as pushed. */
  manifest: Uint8Array;
  parsed: ParsedManifest;
  tag?: string;
  /** The digest the client says the manifest has (a push by digest, or ECR's imageDigest). */
  digest?: string;
  /**
   * ECR PutImage: pushing what is already there (same digest, same tag or none) is
   * ImageAlreadyExistsException. A registry push is idempotent instead, as docker expects.
   */
  refuseNoChange: boolean;
}

/**
 * Stores a manifest and points `tag` at it, after checking that every blob it needs is linked in
 * the repository and every manifest an index names is stored there. An IMMUTABLE repository
 * refuses to move an existing tag.
 */
export async function putImage(ctx: DomainContext, input: PutImageInput): Promise<ImageRecord> {
  const { repositoryName, parsed, tag } = input;
  await requireRepository(ctx, repositoryName);
  const digest = digestOf(input.manifest);
  if (input.digest !== undefined && input.digest !== digest) {
    throw new ImageDigestDoesNotMatchException(`Invalid parameter at 'imageDigest' failed to satisfy constraint: 'the manifest's digest is ${digest}, not ${input.digest}'`);
  }
  if (tag !== undefined && !IMAGE_TAG.test(tag)) {
    throw new InvalidParameterException(`Invalid parameter at 'imageTag' failed to satisfy constraint: 'must match ${IMAGE_TAG.source}'`);
  }
  const missing: string[] = [];
  for (const blob of parsed.blobs) {
    if (!(await getLayer(ctx, repositoryName, blob.digest))) missing.push(blob.digest);
  }
  if (missing.length > 0) {
    throw new LayersNotFoundException(`Layers with digests [${missing.join(', ')}] required for pushing image into repository with name '${repositoryName}' in the registry with id '${ctx.scope.accountId}' do not exist`);
  }
  let childrenSize = 0;
  for (const child of parsed.manifests) {
    const image = (await ctx.store.get<ImageRecord>(keys.image(repositoryName, child.digest)))?.value;
    if (!image) {
      throw new ReferencedImagesNotFoundException(`Manifest '${child.digest}' named by the index is not in repository '${repositoryName}'.`);
    }
    childrenSize += image.imageSizeInBytes;
  }
  const manifestText = Buffer.from(input.manifest).toString('utf8');
  for (let attempt = 0; ; attempt++) {
    const repo = await requireRepository(ctx, repositoryName);
    const existing = await ctx.store.get<ImageRecord>(keys.image(repositoryName, digest));
    const tagEntry = tag === undefined ? undefined : await ctx.store.get<TagRecord>(keys.imageTag(repositoryName, tag));
    if (tag !== undefined && tagEntry && tagEntry.value.imageDigest !== digest && repo.value.imageTagMutability === 'IMMUTABLE') {
      throw new ImageTagAlreadyExistsException(tag, repositoryName);
    }
    const unchanged = existing !== undefined && (tag === undefined || tagEntry?.value.imageDigest === digest);
    if (unchanged && input.refuseNoChange) {
      throw new ImageAlreadyExistsException(`Image with digest '${digest}'${tag !== undefined ? ` and tag '${tag}'` : ''} already exists in the repository with name '${repositoryName}' in registry with id '${ctx.scope.accountId}'`);
    }
    const record: ImageRecord = existing?.value ?? {
      repositoryName,
      imageDigest: digest,
      imageManifest: manifestText,
      imageManifestMediaType: parsed.mediaType,
      ...(parsed.artifactType !== undefined ? { artifactMediaType: parsed.artifactType, artifactType: parsed.artifactType } : {}),
      imageSizeInBytes: parsed.manifests.length > 0 ? childrenSize : parsed.layersSizeInBytes,
      imagePushedAt: ctx.nowMs() / 1000,
      blobs: parsed.blobs.map((b) => b.digest),
      manifests: parsed.manifests.map((m) => m.digest),
      ...(parsed.subject ? { subject: parsed.subject.digest } : {}),
      ...(parsed.annotations ? { annotations: parsed.annotations } : {}),
    };
    const ops: TxnOp[] = [{ op: 'check', key: repo.key, expectedModRevision: repo.modRevision }];
    ops.push(existing
      ? { op: 'check', key: existing.key, expectedModRevision: existing.modRevision }
      : { op: 'put', key: keys.image(repositoryName, digest), value: record, expectedModRevision: 0 });
    if (tag !== undefined && tagEntry?.value.imageDigest !== digest) {
      ops.push({ op: 'put', key: keys.imageTag(repositoryName, tag), value: { imageDigest: digest } satisfies TagRecord, expectedModRevision: tagEntry?.modRevision ?? 0 });
    }
    try {
      await ctx.store.txn(ops);
      return record;
    } catch (err) {
      if (!(err instanceof ConflictError) || attempt + 1 >= CAS_ATTEMPTS) throw err;
    }
  }
}

/** The image a tag or digest names in the repository, or undefined. */
export async function resolveImage(ctx: DomainContext, repositoryName: string, ref: { tag?: string; digest?: string }): Promise<ImageRecord | undefined> {
  let digest = ref.digest;
  if (ref.tag !== undefined) {
    const tag = (await ctx.store.get<TagRecord>(keys.imageTag(repositoryName, ref.tag)))?.value;
    if (!tag || (digest !== undefined && tag.imageDigest !== digest)) return undefined;
    digest = tag.imageDigest;
  }
  if (digest === undefined) return undefined;
  return (await ctx.store.get<ImageRecord>(keys.image(repositoryName, digest)))?.value;
}

/** Tag entries of a repository: digest → its tags, in tag order. */
async function tagsByDigest(ctx: DomainContext, repositoryName: string): Promise<Map<string, string[]>> {
  const prefix = keys.imageTagsOf(repositoryName);
  const out = new Map<string, string[]>();
  for (const e of await ctx.store.list<TagRecord>(prefix)) {
    const list = out.get(e.value.imageDigest) ?? [];
    list.push(e.key.slice(prefix.length));
    out.set(e.value.imageDigest, list);
  }
  return out;
}

/** One page of a repository's tags after `last`, in lexical order (the registry's tags list). */
export async function listImageTags(ctx: DomainContext, repositoryName: string, options: { last?: string; limit?: number }): Promise<string[]> {
  const prefix = keys.imageTagsOf(repositoryName);
  const entries = await ctx.store.list(prefix, {
    ...(options.last !== undefined ? { startAfter: keys.imageTag(repositoryName, options.last) } : {}),
    ...(options.limit !== undefined ? { limit: options.limit } : {}),
  });
  return entries.map((e) => e.key.slice(prefix.length));
}

/** Manifests in the repository whose `subject` is `digest`, optionally of one artifact type. */
export async function listReferrers(ctx: DomainContext, repositoryName: string, digest: string): Promise<ImageRecord[]> {
  return (await ctx.store.list<ImageRecord>(keys.imagesOf(repositoryName))).map((e) => e.value).filter((i) => i.subject === digest);
}

export type DeleteImageResult = 'deleted' | 'not-found' | 'referenced';

/**
 * Deletes an image and every tag on it. An image that an index in the repository names stays
 * ('referenced'), as ECR refuses with ImageReferencedByManifestList.
 */
export async function deleteImage(ctx: DomainContext, repositoryName: string, digest: string): Promise<DeleteImageResult> {
  for (let attempt = 0; ; attempt++) {
    const entry = await ctx.store.get<ImageRecord>(keys.image(repositoryName, digest));
    if (!entry) return 'not-found';
    const images = await ctx.store.list<ImageRecord>(keys.imagesOf(repositoryName));
    if (images.some((i) => i.value.manifests.includes(digest))) return 'referenced';
    const tags = (await ctx.store.list<TagRecord>(keys.imageTagsOf(repositoryName))).filter((t) => t.value.imageDigest === digest);
    try {
      await ctx.store.txn([entry, ...tags].map((e) => ({ op: 'delete', key: e.key, expectedModRevision: e.modRevision })));
      return 'deleted';
    } catch (err) {
      if (!(err instanceof ConflictError) || attempt + 1 >= CAS_ATTEMPTS) throw err;
    }
  }
}

/** Removes a tag (the image stays); false when the repository has no such tag. */
export async function deleteImageTag(ctx: DomainContext, repositoryName: string, tag: string): Promise<boolean> {
  const entry = await ctx.store.get(keys.imageTag(repositoryName, tag));
  if (!entry) return false;
  await ctx.store.delete(entry.key, { expectedModRevision: entry.modRevision });
  return true;
}

// ---- The ECR API's image operations ----

type TagStatusFilter = { tagStatus?: string } | undefined;

function passes(filter: TagStatusFilter, tags: string[]): boolean {
  if (filter?.tagStatus === 'TAGGED') return tags.length > 0;
  if (filter?.tagStatus === 'UNTAGGED') return tags.length === 0;
  return true;
}

/** ListImages: one imageId per tag, and one for each untagged image. */
export async function listImages(ctx: DomainContext, input: { repositoryName: string; filter?: TagStatusFilter; maxResults?: number; nextToken?: string }) {
  await requireRepository(ctx, input.repositoryName);
  const tags = await tagsByDigest(ctx, input.repositoryName);
  const ids: ImageIdentifier[] = [];
  for (const { value: image } of await ctx.store.list<ImageRecord>(keys.imagesOf(input.repositoryName))) {
    const imageTags = tags.get(image.imageDigest) ?? [];
    if (!passes(input.filter, imageTags)) continue;
    if (imageTags.length === 0) ids.push({ imageDigest: image.imageDigest });
    for (const t of imageTags) ids.push({ imageDigest: image.imageDigest, imageTag: t });
  }
  const page = pageArray(ids, input);
  return { imageIds: page.items, nextToken: page.nextToken };
}

function describe(ctx: DomainContext, image: ImageRecord, imageTags: string[]): Wire<ImageDetail> {
  return {
    registryId: ctx.scope.accountId,
    repositoryName: image.repositoryName,
    imageDigest: image.imageDigest,
    ...(imageTags.length > 0 ? { imageTags } : {}),
    imageSizeInBytes: image.imageSizeInBytes,
    imagePushedAt: image.imagePushedAt,
    imageManifestMediaType: image.imageManifestMediaType,
    ...(image.artifactMediaType ? { artifactMediaType: image.artifactMediaType } : {}),
    ...(image.subject ? { subjectManifestDigest: image.subject } : {}),
    imageStatus: 'ACTIVE',
  };
}

function showImageId(id: ImageIdentifier): string {
  return `{imageDigest:'${id.imageDigest ?? 'null'}', imageTag:'${id.imageTag ?? 'null'}'}`;
}

/** An imageId's failure, or undefined when it is well-formed. */
function malformed(id: ImageIdentifier): Wire<ImageFailure> | undefined {
  if (id.imageDigest === undefined && id.imageTag === undefined) {
    return { imageId: id, failureCode: 'MissingDigestAndTag', failureReason: 'Missing image digest and image tag' };
  }
  if (id.imageDigest !== undefined && !parseDigest(id.imageDigest)) {
    return { imageId: id, failureCode: 'InvalidImageDigest', failureReason: 'Invalid request parameters: image digest should satisfy the regex \'[a-zA-Z0-9-_+.]+:[a-fA-F0-9]+\'' };
  }
  if (id.imageTag !== undefined && !IMAGE_TAG.test(id.imageTag)) {
    return { imageId: id, failureCode: 'InvalidImageTag', failureReason: 'Invalid image tag' };
  }
  return undefined;
}

/** The image an imageId names, or the failure ECR reports for it. */
async function lookUp(ctx: DomainContext, repositoryName: string, id: ImageIdentifier): Promise<ImageRecord | Wire<ImageFailure>> {
  const bad = malformed(id);
  if (bad) return bad;
  if (id.imageTag !== undefined && id.imageDigest !== undefined) {
    const byTag = await resolveImage(ctx, repositoryName, { tag: id.imageTag });
    if (byTag && byTag.imageDigest !== id.imageDigest) {
      return { imageId: id, failureCode: 'ImageTagDoesNotMatchDigest', failureReason: 'Invalid image digest or tag' };
    }
  }
  const image = await resolveImage(ctx, repositoryName, { ...(id.imageTag !== undefined ? { tag: id.imageTag } : {}), ...(id.imageDigest !== undefined ? { digest: id.imageDigest } : {}) });
  return image ?? { imageId: id, failureCode: 'ImageNotFound', failureReason: 'Requested image not found' };
}

export async function describeImages(ctx: DomainContext, input: {
  repositoryName: string; imageIds?: ImageIdentifier[]; filter?: TagStatusFilter; maxResults?: number; nextToken?: string;
}) {
  await requireRepository(ctx, input.repositoryName);
  const tags = await tagsByDigest(ctx, input.repositoryName);
  if (input.imageIds && input.imageIds.length > 0) {
    if (input.nextToken !== undefined || input.maxResults !== undefined) {
      throw new InvalidParameterException('maxResults and nextToken cannot be used with imageIds.');
    }
    const details: Wire<ImageDetail>[] = [];
    for (const id of input.imageIds) {
      const found = await lookUp(ctx, input.repositoryName, id);
      if (!('imageDigest' in found)) {
        if (found.failureCode === 'ImageNotFound') {
          throw new ImageNotFoundException(`The image with imageId ${showImageId(id)} does not exist within the repository with name '${input.repositoryName}' in the registry with id '${ctx.scope.accountId}'`);
        }
        throw new InvalidParameterException(found.failureReason ?? 'Invalid imageId');
      }
      if (!details.some((d) => d.imageDigest === found.imageDigest)) details.push(describe(ctx, found, tags.get(found.imageDigest) ?? []));
    }
    return { imageDetails: details };
  }
  const all = (await ctx.store.list<ImageRecord>(keys.imagesOf(input.repositoryName))).map((e) => e.value)
    .filter((i) => passes(input.filter, tags.get(i.imageDigest) ?? []));
  const page = pageArray(all, input);
  return { imageDetails: page.items.map((i) => describe(ctx, i, tags.get(i.imageDigest) ?? [])), nextToken: page.nextToken };
}

/** BatchGetImage. Manifests are answered as pushed: Wharf converts no formats, so acceptedMediaTypes is not consulted. */
export async function batchGetImage(ctx: DomainContext, input: { repositoryName: string; imageIds: ImageIdentifier[] }) {
  await requireRepository(ctx, input.repositoryName);
  const images: { registryId: string; repositoryName: string; imageId: ImageIdentifier; imageManifest: string; imageManifestMediaType: string }[] = [];
  const failures: Wire<ImageFailure>[] = [];
  for (const id of input.imageIds) {
    const found = await lookUp(ctx, input.repositoryName, id);
    if (!('imageDigest' in found)) { failures.push(found); continue; }
    images.push({
      registryId: ctx.scope.accountId, repositoryName: input.repositoryName,
      imageId: { imageDigest: found.imageDigest, ...(id.imageTag !== undefined ? { imageTag: id.imageTag } : {}) },
      imageManifest: found.imageManifest, imageManifestMediaType: found.imageManifestMediaType,
    });
  }
  return { images, failures };
}

/**
 * BatchDeleteImage: a digest deletes the image with all its tags; a tag alone removes that tag,
 * and the image with it when it was the image's last tag (as ECR).
 */
export async function batchDeleteImage(ctx: DomainContext, input: { repositoryName: string; imageIds: ImageIdentifier[] }) {
  await requireRepository(ctx, input.repositoryName);
  const imageIds: ImageIdentifier[] = [];
  const failures: Wire<ImageFailure>[] = [];
  for (const id of input.imageIds) {
    const found = await lookUp(ctx, input.repositoryName, id);
    if (!('imageDigest' in found)) { failures.push(found); continue; }
    const tags = (await tagsByDigest(ctx, input.repositoryName)).get(found.imageDigest) ?? [];
    if (id.imageDigest === undefined && id.imageTag !== undefined && tags.length > 1) {
      await deleteImageTag(ctx, input.repositoryName, id.imageTag);
      imageIds.push({ imageDigest: found.imageDigest, imageTag: id.imageTag });
      continue;
    }
    const result = await deleteImage(ctx, input.repositoryName, found.imageDigest);
    if (result === 'referenced') {
      failures.push({ imageId: id, failureCode: 'ImageReferencedByManifestList', failureReason: 'Requested image is referenced by a manifest list' });
    } else if (result === 'deleted') {
      if (tags.length === 0) imageIds.push({ imageDigest: found.imageDigest });
      for (const t of tags) imageIds.push({ imageDigest: found.imageDigest, imageTag: t });
    }
  }
  return { imageIds, failures };
}

/** Images of a repository with their tags, as lifecycle evaluation sees them. */
export async function imagesWithTags(ctx: DomainContext, repositoryName: string): Promise<{ image: ImageRecord; tags: string[] }[]> {
  const tags = await tagsByDigest(ctx, repositoryName);
  return (await ctx.store.list<ImageRecord>(keys.imagesOf(repositoryName))).map((e) => ({ image: e.value, tags: tags.get(e.value.imageDigest) ?? [] }));
}

/**
 * Applies the repository's lifecycle policy now: deletes the images it expires and records the
 * evaluation time. Answers the digests deleted (none when there is no policy).
 */
export async function applyLifecyclePolicy(ctx: DomainContext, repositoryName: string): Promise<string[]> {
  const repo = (await ctx.store.get<RepositoryRecord>(keys.repository(repositoryName)))?.value;
  if (!repo?.lifecyclePolicyText) return [];
  const policy = parseLifecyclePolicy(repo.lifecyclePolicyText);
  const images = (await imagesWithTags(ctx, repositoryName)).map(({ image, tags }) => ({
    imageDigest: image.imageDigest, imageTags: tags, imagePushedAtMs: image.imagePushedAt * 1000,
  }));
  const deleted: string[] = [];
  for (const digest of evaluateLifecyclePolicy(policy, images, ctx.nowMs())) {
    if (await deleteImage(ctx, repositoryName, digest) === 'deleted') deleted.push(digest);
  }
  await updateRepository(ctx, repositoryName, (r) => ({ ...r, lifecyclePolicyEvaluatedAt: ctx.nowMs() / 1000 })).catch((err: unknown) => {
    // Deleted meanwhile: nothing left to record.
    if (!(err instanceof RepositoryNotFoundException)) throw err;
  });
  return deleted;
}
