/** TagResource, UntagResource, ListTagsForResource over every taggable ECS resource by ARN. */
import type { Tag } from '@aws-sdk/client-ecs';
import { ClusterNotFoundException, ConflictError, InvalidParameterException, ResourceNotFoundException, parseArn } from '../model/index.js';
import type { DomainContext } from './context.js';
import { keys } from './keys.js';
import { mergeTags, validateTags } from './tags.js';

const CAS_ATTEMPTS = 10;

interface Taggable { tags?: Tag[]; status?: string }

/** The store key of the resource an ARN names, or an ECS error for a malformed or unknown ARN. */
function keyOf(arn: string): { key: string; isCluster: boolean } {
  const p = parseArn(arn);
  if (!p || p.service !== 'ecs') throw new InvalidParameterException(`resourceArn '${arn}' is not a valid ECS resource ARN.`);
  const [a, b] = p.path;
  switch (p.resourceType) {
    case 'cluster': if (p.path.length === 1) return { key: keys.cluster(a!), isCluster: true }; break;
    case 'task': if (p.path.length === 2) return { key: keys.task(a!, b!), isCluster: false }; break;
    case 'container-instance': if (p.path.length === 2) return { key: keys.containerInstance(a!, b!), isCluster: false }; break;
    case 'task-definition': {
      const m = /^([A-Za-z0-9_-]+):(\d+)$/.exec(a ?? '');
      if (m && p.path.length === 1) return { key: keys.taskDefinition(m[1]!, Number(m[2])), isCluster: false };
      break;
    }
  }
  throw new InvalidParameterException(`resourceArn '${arn}' does not name a taggable ECS resource.`);
}

async function updateTags(ctx: DomainContext, arn: string, change: (tags: Tag[]) => Tag[]): Promise<void> {
  const { key, isCluster } = keyOf(arn);
  for (let attempt = 0; ; attempt++) {
    const entry = await ctx.store.get<Taggable>(key);
    if (!entry || entry.value.status === 'INACTIVE' && isCluster) {
      throw isCluster ? new ClusterNotFoundException() : new ResourceNotFoundException('The specified resource could not be found.');
    }
    const tags = change(entry.value.tags ?? []);
    validateTags(tags);
    try {
      await ctx.store.put(key, { ...entry.value, tags }, { expectedModRevision: entry.modRevision });
      return;
    } catch (err) {
      if (!(err instanceof ConflictError) || attempt + 1 >= CAS_ATTEMPTS) throw err;
    }
  }
}

export async function tagResource(ctx: DomainContext, input: { resourceArn: string; tags: Tag[] }) {
  validateTags(input.tags);
  await updateTags(ctx, input.resourceArn, (tags) => mergeTags(tags, input.tags));
  return {};
}

export async function untagResource(ctx: DomainContext, input: { resourceArn: string; tagKeys: string[] }) {
  await updateTags(ctx, input.resourceArn, (tags) => tags.filter((t) => !input.tagKeys.includes(t.key ?? '')));
  return {};
}

export async function listTagsForResource(ctx: DomainContext, input: { resourceArn: string }) {
  const { key, isCluster } = keyOf(input.resourceArn);
  const entry = await ctx.store.get<Taggable>(key);
  if (!entry) throw isCluster ? new ClusterNotFoundException() : new ResourceNotFoundException('The specified resource could not be found.');
  return { tags: entry.value.tags ?? [] };
}
