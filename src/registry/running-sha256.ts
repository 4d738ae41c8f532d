/**
 * The running SHA-256 of an upload session, carried from one PATCH to the next: the addon's when it
 * is built (a receiving thread can then feed it, see upload-body.ts), else Node's.
 */
import { createHash, type Hash } from 'node:crypto';
import { blobTransferAddon as addon, type NativeSha256 } from './native-addon.js';

export interface RunningSha256 {
  update(data: Buffer): void;
  /** An independent copy of the state so far. */
  copy(): RunningSha256;
  /** `sha256:<hex>`; the state is spent. */
  digest(): string;
  /** The addon's state, for a receiving thread to feed; undefined for Node's. */
  readonly native: NativeSha256 | undefined;
}

class AddonSha256 implements RunningSha256 {
  constructor(readonly native: NativeSha256) {}
  update(data: Buffer): void { addon!.sha256Update(this.native, data); }
  copy(): RunningSha256 { return new AddonSha256(addon!.sha256Copy(this.native)); }
  digest(): string { return `sha256:${addon!.sha256Digest(this.native)}`; }
}

class NodeSha256 implements RunningSha256 {
  readonly native = undefined;
  constructor(readonly hash: Hash = createHash('sha256')) {}
  update(data: Buffer): void { this.hash.update(data); }
  copy(): RunningSha256 { return new NodeSha256(this.hash.copy()); }
  digest(): string { return `sha256:${this.hash.digest('hex')}`; }
}

export function createRunningSha256(): RunningSha256 {
  return addon ? new AddonSha256(addon.sha256Create()) : new NodeSha256();
}
