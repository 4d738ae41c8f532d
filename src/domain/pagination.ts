import { InvalidParameterException } from '../model/index.js';
import type { Entry, Store } from '../store/index.js';
import { decodeNextToken, encodeNextToken } from './keys.js';

export interface Page<T> { items: Entry<T>[]; nextToken?: string }

const SCAN_CHUNK = 500;

/**
 * One page of the entries under `prefix` that pass `filter`, after the key in `nextToken`.
 * `maxResults` is ECS's page size (at least 1, else InvalidParameterException); the token is the last key
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
  // ECS's model sets no bounds on maxResults; a page of nothing could carry no nextToken to go on from.
  if (limit < 1) throw new InvalidParameterException(`Invalid maxResults ${limit}: it must be at least 1.`);
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

/**
 * One page of an in-memory list, for operations whose result is computed rather than scanned
 * (ECR's ListImages yields one entry per tag). The token carries the offset of the next item.
 */
export function pageArray<T>(items: readonly T[], options: { nextToken?: string; maxResults?: number }): { items: T[]; nextToken?: string } {
  let start = 0;
  if (options.nextToken !== undefined) {
    const decoded = decodeNextToken(options.nextToken);
    start = decoded !== undefined && /^\d+$/.test(decoded) ? Number(decoded) : -1;
    if (start < 0 || start > items.length) throw new InvalidParameterException('Invalid parameter at \'nextToken\' failed to satisfy constraint: \'Invalid NextToken\'');
  }
  const limit = options.maxResults ?? 100;
  const end = start + limit;
  return end < items.length ? { items: items.slice(start, end), nextToken: encodeNextToken(String(end)) } : { items: items.slice(start) };
}
