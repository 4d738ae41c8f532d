/**
 * Content digests as the OCI image spec writes them (`<algorithm>:<hex>`), for the two algorithms
 * registries must verify: sha256 (the default) and sha512.
 */
import { createHash } from 'node:crypto';

export type DigestAlgorithm = 'sha256' | 'sha512';

const HEX_LENGTH: Record<DigestAlgorithm, number> = { sha256: 64, sha512: 128 };

export interface ParsedDigest { algorithm: DigestAlgorithm; hex: string }

/** The parts of a well-formed sha256/sha512 digest (lower-case hex of the right length), else undefined. */
export function parseDigest(digest: string): ParsedDigest | undefined {
  const m = /^(sha256|sha512):([a-f0-9]+)$/.exec(digest);
  if (!m) return undefined;
  const algorithm = m[1] as DigestAlgorithm;
  return m[2]!.length === HEX_LENGTH[algorithm] ? { algorithm, hex: m[2]! } : undefined;
}

/** The digest of `bytes` with `algorithm`. */
export function digestOf(bytes: Uint8Array | string, algorithm: DigestAlgorithm = 'sha256'): string {
  return `${algorithm}:${createHash(algorithm).update(bytes).digest('hex')}`;
}
