import { InvalidParameterException } from '../model/index.js';
import type { Entry, Store } from '../store/index.js';
import { decodeNextToken, encodeNextToken } from './keys.js';

export interface Page<T> { items: Entry<T>[]; nextToken?: string }

const SCAN_CHUNK = 500;

/**
 * One page of the entries under `prefix` that pass `filter`, after the key in `nextToken`.
 * `maxResults` is ECS's page size (1-100, validated by the model); the token is the last key
 * returned, so pages stay stable while other keys are added.
 */
export async function pageThrough<T>(
  store: Store,
  prefix: string,
  options: { nextToken?: string; maxResults?: number; defaultMaxResults?: number; filter?: (value: T) => boolean },
): Promise<Page<T>> {
  let startAfter = decodeNextToken(options.nextToken);
  if (options.nextToken !== undefined && (startAfter === undefined || !startAfter.startsWith(prefix))) {
    throw new InvalidParameterException('Invalid nextToken.');
  }
  const limit = options.maxResults ?? options.defaultMaxResults ?? 100;
  const items: Entry<T>[] = [];
  for (;;) {
    const chunk = await store.list<T>(prefix, { startAfter: startAfter ?? '', limit: SCAN_CHUNK });
    for (const entry of chunk) {
      if (options.filter && !options.filter(entry.value)) continue;
      if (items.length === limit) return { items, nextToken: encodeNextToken(items[items.length - 1]!.key) };
      items.push(entry);
    }
    if (chunk.length < SCAN_CHUNK) return { items };
    startAfter = chunk[chunk.length - 1]!.key;
  }
}
