import { hmac } from './canonical.js';

/** Enough for every (key, day, region, service) a busy server sees in a day, small enough to never matter. */
const MAX_CACHED_KEYS = 512;

const cache = new Map<string, Buffer>();

/**
 * The SigV4 signing key: HMAC chain "AWS4"+secret → date → region → service → "aws4_request".
 * Cached per (secret, date, region, service) in a bounded map, since verification runs on every
 * request and four HMACs would otherwise dominate its cost.
 */
export function signingKey(secretAccessKey: string, date: string, region: string, service: string): Buffer {
  const cacheKey = `${date}\n${region}\n${service}\n${secretAccessKey}`;
  const cached = cache.get(cacheKey);
  if (cached !== undefined) return cached;
  const key = hmac(hmac(hmac(hmac(`AWS4${secretAccessKey}`, date), region), service), 'aws4_request');
  if (cache.size >= MAX_CACHED_KEYS) {
    // Maps iterate in insertion order: drop the oldest entry.
    const oldest = cache.keys().next();
    if (oldest.done !== true) cache.delete(oldest.value);
  }
  cache.set(cacheKey, key);
  return key;
}
