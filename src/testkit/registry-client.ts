/**
 * A minimal OCI distribution client for tests (fetch): raw calls with the Basic credentials an ECR
 * token gives, and helpers that push blobs and whole images the way a client does.
 */
import assert from 'node:assert/strict';
import { digestOf, MEDIA_TYPES } from '../domain/index.js';

export interface RegistryAnswer { status: number; headers: Headers; body: Buffer; json: any }

export class TestRegistryClient {
  /** `authorizationToken` is GetAuthorizationToken's base64 `AWS:<password>`. */
  constructor(readonly baseUrl: string, readonly authorizationToken: string) {}

  async call(method: string, path: string, options: { body?: Buffer | string; headers?: Record<string, string>; anonymous?: boolean } = {}): Promise<RegistryAnswer> {
    const res = await fetch(this.baseUrl + path, {
      method,
      headers: { ...(options.anonymous ? {} : { authorization: `Basic ${this.authorizationToken}` }), ...options.headers },
      ...(options.body !== undefined ? { body: options.body } : {}),
    });
    const body = Buffer.from(await res.arrayBuffer());
    let json: any;
    try { json = JSON.parse(body.toString('utf8')); } catch { json = undefined; }
    return { status: res.status, headers: res.headers, body, json };
  }

  /** Pushes a blob in one POST; answers its digest. */
  async pushBlob(repo: string, data: Buffer | string): Promise<string> {
    const digest = digestOf(data);
    const a = await this.call('POST', `/v2/${repo}/blobs/uploads/?digest=${digest}`, { body: data, headers: { 'content-type': 'application/octet-stream' } });
    assert.equal(a.status, 201, a.body.toString());
    return digest;
  }

  /**
   * Pushes a config and one layer made from `seed`, then an image manifest of `mediaType` under
   * `tag` (no tag: only by digest). Answers the manifest text, its digest, and the blobs.
   */
  async pushImage(repo: string, tag: string | undefined, seed: string, mediaType: string = MEDIA_TYPES.dockerManifest, extra: Record<string, unknown> = {}) {
    const config = Buffer.from(JSON.stringify({ architecture: 'amd64', os: 'linux', seed }));
    const layer = Buffer.from(`layer of ${seed}`);
    await this.pushBlob(repo, config);
    await this.pushBlob(repo, layer);
    const manifest = imageManifest(mediaType, config, [layer], extra);
    const a = await this.call('PUT', `/v2/${repo}/manifests/${tag ?? digestOf(manifest)}`, { body: manifest, headers: { 'content-type': mediaType } });
    assert.equal(a.status, 201, a.body.toString());
    assert.equal(a.headers.get('docker-content-digest'), digestOf(manifest));
    return { manifest, digest: digestOf(manifest), layer, config };
  }
}

/** An image manifest text for a config and layers. */
export function imageManifest(mediaType: string, config: Buffer, layers: Buffer[], extra: Record<string, unknown> = {}): string {
  const docker = mediaType === MEDIA_TYPES.dockerManifest;
  return JSON.stringify({
    schemaVersion: 2, mediaType,
    config: { mediaType: docker ? 'application/vnd.docker.container.image.v1+json' : 'application/vnd.oci.image.config.v1+json', digest: digestOf(config), size: config.length },
    layers: layers.map((l) => ({ mediaType: docker ? 'application/vnd.docker.image.rootfs.diff.tar.gzip' : 'application/vnd.oci.image.layer.v1.tar+gzip', digest: digestOf(l), size: l.length })),
    ...extra,
  });
}
