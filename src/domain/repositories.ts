/**
 * ECR repositories: create, describe, delete (with force), tag mutability, lifecycle policy text,
 * and resource tags. A repository's images live under their own keys (images.ts); deleting a
 * repository with force removes them in the same transaction.
 */
import type { Repository, Tag } from '@aws-sdk/client-ecr';
import {
  ConflictError, InvalidParameterException, InvalidTagParameterException, LifecyclePolicyNotFoundException, RepositoryAlreadyExistsException,
  RepositoryNotEmptyException, RepositoryNotFoundException, TooManyTagsException, parseArn, repositoryArn,
} from '../model/index.js';
import type { Entry } from '../store/index.js';
import type { DomainContext, Wire } from './context.js';
import { keys } from './keys.js';
import { parseLifecyclePolicy } from './lifecycle-policy.js';
import { pageArray } from './pagination.js';

/** ECR's repository name rule (also the distribution spec's path component rule), 2-256 characters. */
export const REPOSITORY_NAME = /^[a-z0-9]+((\.|_|__|-+)[a-z0-9]+)*(\/[a-z0-9]+((\.|_|__|-+)[a-z0-9]+)*)*$/;

export function isValidRepositoryName(name: string): boolean {
  return name.length >= 2 && name.length <= 256 && REPOSITORY_NAME.test(name);
}

export type TagMutability = 'MUTABLE' | 'IMMUTABLE';

export interface RepositoryRecord {
  repositoryName: string;
  repositoryArn: string;
  registryId: string;
  /** Epoch seconds. */
  createdAt: number;
  imageTagMutability: TagMutability;
  imageScanningConfiguration: { scanOnPush: boolean };
  encryptionConfiguration: { encryptionType: 'AES256' };
  tags: Tag[];
  lifecyclePolicyText?: string;
  /** Epoch seconds of the last lifecycle evaluation. */
  lifecyclePolicyEvaluatedAt?: number;
}

const CAS_ATTEMPTS = 10;
const MAX_TAGS = 50;

/** The repository as ECR answers it; `registryAddress` is the `host:port` docker pushes to. */
export function presentRepository(record: RepositoryRecord, registryAddress: string): Wire<Repository> {
  return {
    repositoryArn: record.repositoryArn,
    registryId: record.registryId,
    repositoryName: record.repositoryName,
    repositoryUri: `${registryAddress}/${record.repositoryName}`,
    createdAt: record.createdAt,
    imageTagMutability: record.imageTagMutability,
    imageScanningConfiguration: record.imageScanningConfiguration,
    encryptionConfiguration: record.encryptionConfiguration,
  };
}

/** The repository, or RepositoryNotFoundException. */
export async function requireRepository(ctx: DomainContext, name: string): Promise<Entry<RepositoryRecord>> {
  const entry = await ctx.store.get<RepositoryRecord>(keys.repository(name));
  if (!entry) throw new RepositoryNotFoundException(name, ctx.scope.accountId);
  return entry;
}

function checkMutability(value: string | undefined): TagMutability {
  if (value === undefined || value === 'MUTABLE' || value === 'IMMUTABLE') return value ?? 'MUTABLE';
  throw new InvalidParameterException(`Invalid parameter at 'imageTagMutability' failed to satisfy constraint: 'Wharf supports MUTABLE and IMMUTABLE, not ${value}'`);
}

function validateRepositoryTags(tags: Tag[] | undefined): void {
  if (!tags) return;
  if (tags.length > MAX_TAGS) throw new TooManyTagsException(`A repository can have at most ${MAX_TAGS} tags.`);
  const seen = new Set<string>();
  for (const t of tags) {
    const key = t.Key ?? '';
    if (key.length < 1 || key.length > 128) throw new InvalidTagParameterException('Tag keys must be 1-128 characters.');
    if ((t.Value ?? '').length > 256) throw new InvalidTagParameterException('Tag values must be at most 256 characters.');
    if (key.toLowerCase().startsWith('aws:')) throw new InvalidTagParameterException(`Tag key '${key}' uses the reserved prefix 'aws:'.`);
    if (seen.has(key)) throw new InvalidTagParameterException(`Tag key '${key}' is given more than once.`);
    seen.add(key);
  }
}

export async function createRepository(ctx: DomainContext, input: {
  repositoryName: string; tags?: Tag[]; imageTagMutability?: string;
  imageScanningConfiguration?: { scanOnPush?: boolean }; encryptionConfiguration?: { encryptionType?: string; kmsKey?: string };
}): Promise<RepositoryRecord> {
  const name = input.repositoryName;
  if (!isValidRepositoryName(name)) {
    throw new InvalidParameterException(`Invalid parameter at 'repositoryName' failed to satisfy constraint: 'must satisfy regular expression '${REPOSITORY_NAME.source}''`);
  }
  validateRepositoryTags(input.tags);
  const encryptionType = input.encryptionConfiguration?.encryptionType ?? 'AES256';
  if (encryptionType !== 'AES256') {
    throw new InvalidParameterException(`Invalid parameter at 'encryptionConfiguration' failed to satisfy constraint: 'Wharf encrypts at rest with AES256 only, not ${encryptionType}'`);
  }
  const record: RepositoryRecord = {
    repositoryName: name,
    repositoryArn: repositoryArn(ctx.scope, name),
    registryId: ctx.scope.accountId,
    createdAt: ctx.nowMs() / 1000,
    imageTagMutability: checkMutability(input.imageTagMutability),
    imageScanningConfiguration: { scanOnPush: input.imageScanningConfiguration?.scanOnPush ?? false },
    encryptionConfiguration: { encryptionType: 'AES256' },
    tags: input.tags ?? [],
  };
  try {
    await ctx.store.put(keys.repository(name), record, { expectedModRevision: 0 });
  } catch (err) {
    if (err instanceof ConflictError) throw new RepositoryAlreadyExistsException(name, ctx.scope.accountId);
    throw err;
  }
  return record;
}

export async function describeRepositories(ctx: DomainContext, input: { repositoryNames?: string[]; maxResults?: number; nextToken?: string }) {
  if (input.repositoryNames && input.repositoryNames.length > 0) {
    if (input.maxResults !== undefined || input.nextToken !== undefined) {
      throw new InvalidParameterException('maxResults and nextToken cannot be used with repositoryNames.');
    }
    const records: RepositoryRecord[] = [];
    for (const name of input.repositoryNames) records.push((await requireRepository(ctx, name)).value);
    return { repositories: records };
  }
  const all = await ctx.store.list<RepositoryRecord>(keys.repositories());
  const page = pageArray(all.map((e) => e.value), input);
  return { repositories: page.items, nextToken: page.nextToken };
}

/**
 * Deletes a repository. With images (tagged or not) it needs `force`, which deletes them and the
 * repository's layer links in one transaction; blobs go at the next garbage collection.
 */
export async function deleteRepository(ctx: DomainContext, input: { repositoryName: string; force?: boolean }): Promise<RepositoryRecord> {
  for (let attempt = 0; ; attempt++) {
    const entry = await requireRepository(ctx, input.repositoryName);
    const name = entry.value.repositoryName;
    const images = await ctx.store.list(keys.imagesOf(name));
    if (images.length > 0 && !input.force) throw new RepositoryNotEmptyException(name, ctx.scope.accountId);
    const owned = [...images, ...await ctx.store.list(keys.imageTagsOf(name)), ...await ctx.store.list(keys.layersOf(name))];
    try {
      await ctx.store.txn([
        { op: 'delete', key: entry.key, expectedModRevision: entry.modRevision },
        ...owned.map((e) => ({ op: 'delete' as const, key: e.key, expectedModRevision: e.modRevision })),
      ]);
      return entry.value;
    } catch (err) {
      if (!(err instanceof ConflictError) || attempt + 1 >= CAS_ATTEMPTS) throw err;
    }
  }
}

/** Applies `change` to the repository record with compare-and-swap, re-reading on conflict. */
export async function updateRepository(ctx: DomainContext, name: string, change: (r: RepositoryRecord) => RepositoryRecord): Promise<RepositoryRecord> {
  for (let attempt = 0; ; attempt++) {
    const entry = await requireRepository(ctx, name);
    const next = change({ ...entry.value });
    try {
      await ctx.store.put(entry.key, next, { expectedModRevision: entry.modRevision });
      return next;
    } catch (err) {
      if (!(err instanceof ConflictError) || attempt + 1 >= CAS_ATTEMPTS) throw err;
    }
  }
}

export function putImageTagMutability(ctx: DomainContext, input: { repositoryName: string; imageTagMutability: string }) {
  const mutability = checkMutability(input.imageTagMutability);
  return updateRepository(ctx, input.repositoryName, (r) => ({ ...r, imageTagMutability: mutability }));
}

export async function putLifecyclePolicy(ctx: DomainContext, input: { repositoryName: string; lifecyclePolicyText: string }) {
  parseLifecyclePolicy(input.lifecyclePolicyText);
  return updateRepository(ctx, input.repositoryName, (r) => {
    const { lifecyclePolicyEvaluatedAt: _dropped, ...rest } = r;
    return { ...rest, lifecyclePolicyText: input.lifecyclePolicyText };
  });
}

/** The repository's policy, or LifecyclePolicyNotFoundException. */
export async function getLifecyclePolicy(ctx: DomainContext, input: { repositoryName: string }) {
  const { value } = await requireRepository(ctx, input.repositoryName);
  if (value.lifecyclePolicyText === undefined) throw new LifecyclePolicyNotFoundException(value.repositoryName, ctx.scope.accountId);
  return value;
}

export async function deleteLifecyclePolicy(ctx: DomainContext, input: { repositoryName: string }) {
  const before = await getLifecyclePolicy(ctx, input);
  await updateRepository(ctx, input.repositoryName, (r) => {
    const { lifecyclePolicyText: _text, lifecyclePolicyEvaluatedAt: _at, ...rest } = r;
    return rest;
  });
  return before;
}

/** The repository an ECR ARN names (in this account), or an ECR error. */
function repositoryNameOfArn(ctx: DomainContext, arn: string): string {
  const p = parseArn(arn);
  if (!p || p.service !== 'ecr' || p.resourceType !== 'repository' || p.accountId !== ctx.scope.accountId) {
    throw new InvalidParameterException(`Invalid parameter at 'resourceArn' failed to satisfy constraint: '${arn} is not a repository ARN of registry ${ctx.scope.accountId}'`);
  }
  return p.path.join('/');
}

export async function tagRepository(ctx: DomainContext, input: { resourceArn: string; tags: Tag[] }) {
  validateRepositoryTags(input.tags);
  const name = repositoryNameOfArn(ctx, input.resourceArn);
  await updateRepository(ctx, name, (r) => {
    const byKey = new Map(r.tags.map((t) => [t.Key, t] as const));
    for (const t of input.tags) byKey.set(t.Key, t);
    const tags = [...byKey.values()];
    validateRepositoryTags(tags);
    return { ...r, tags };
  });
}

export async function untagRepository(ctx: DomainContext, input: { resourceArn: string; tagKeys: string[] }) {
  const name = repositoryNameOfArn(ctx, input.resourceArn);
  await updateRepository(ctx, name, (r) => ({ ...r, tags: r.tags.filter((t) => !input.tagKeys.includes(t.Key ?? '')) }));
}

export async function listRepositoryTags(ctx: DomainContext, input: { resourceArn: string }) {
  const { value } = await requireRepository(ctx, repositoryNameOfArn(ctx, input.resourceArn));
  return value.tags;
}

/** One page of repository names after `last`, in lexical order (the registry's catalog). */
export async function listRepositoryNames(ctx: DomainContext, options: { last?: string; limit: number }): Promise<string[]> {
  const entries = await ctx.store.list<RepositoryRecord>(keys.repositories(), {
    ...(options.last !== undefined ? { startAfter: keys.repository(options.last) } : {}), limit: options.limit,
  });
  return entries.map((e) => e.value.repositoryName);
}
