import type { Tag } from '@aws-sdk/client-ecs';
import { InvalidParameterException } from '../model/index.js';

const MAX_TAGS = 50;

/** ECS's tag rules beyond the model's lengths: at most 50, unique keys, `aws:` reserved. */
export function validateTags(tags: Tag[] | undefined): void {
  if (!tags) return;
  if (tags.length > MAX_TAGS) throw new InvalidParameterException(`A resource can have at most ${MAX_TAGS} tags.`);
  const seen = new Set<string>();
  for (const t of tags) {
    if (!t.key) throw new InvalidParameterException('Tag keys must be 1-128 characters.');
    if (t.key.toLowerCase().startsWith('aws:')) throw new InvalidParameterException(`Tag key '${t.key}' uses the reserved prefix 'aws:'.`);
    if (seen.has(t.key)) throw new InvalidParameterException(`Tag key '${t.key}' is given more than once.`);
    seen.add(t.key);
  }
}

/** `tags` with `added` merged in (same key: the new value wins). */
export function mergeTags(tags: Tag[], added: Tag[]): Tag[] {
  const byKey = new Map(tags.map((t) => [t.key, t] as const));
  for (const t of added) byKey.set(t.key, t);
  return [...byKey.values()];
}
