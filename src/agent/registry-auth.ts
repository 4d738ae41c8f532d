/**
 * Credentials for pulling from the Wharf server's own registry, as the ECS agent gets them from
 * ECR: when a task's image lives on the server's host:port (or the host it advertises for its
 * registry, GetAuthorizationToken's proxyEndpoint), the agent asks GetAuthorizationToken
 * (signed with its own credentials) and hands Docker the result as X-Registry-Auth. A token is
 * reused until shortly before it expires. Images from anywhere else are pulled as Docker would.
 */
import type { GetAuthorizationTokenResponse } from '@aws-sdk/client-ecr';
import type { EcsClient } from './ecs-client.js';

/** Renew this long before expiry, so a pull never starts with a token about to lapse. */
const RENEW_BEFORE_EXPIRY_MS = 15 * 60 * 1000;

/** The registry host of an image reference (`host[:port]/repo[:tag|@digest]`), or undefined for Docker Hub names. */
export function registryHostOf(image: string): string | undefined {
  const slash = image.indexOf('/');
  if (slash < 0) return undefined;
  const first = image.slice(0, slash);
  // Docker's rule: the first component is a registry when it has a dot, a port, or is localhost.
  return first.includes('.') || first.includes(':') || first === 'localhost' ? first : undefined;
}

export class RegistryAuth {
  readonly #ecr: EcsClient;
  readonly #serverHost: string;
  readonly #nowMs: () => number;
  #cached: { password: string; username: string; registryHost: string; expiresAtMs: number } | undefined;

  /**
   * `serverHost` is the `host:port` the agent dials. The registry may also be advertised under
   * another name (the server's --advertise-host): GetAuthorizationToken's proxyEndpoint says which.
   */
  constructor(ecr: EcsClient, serverHost: string, nowMs: () => number = Date.now) {
    this.#ecr = ecr;
    this.#serverHost = serverHost;
    this.#nowMs = nowMs;
  }

  /** The X-Registry-Auth value for pulling `image`, or undefined when it is not in Wharf's registry. */
  async headerFor(image: string, signal?: AbortSignal): Promise<string | undefined> {
    const host = registryHostOf(image);
    if (host === undefined) return undefined;
    // Until a token says where the registry is advertised, only the server's own host is known.
    if (host !== this.#serverHost && this.#cached !== undefined && host !== this.#cached.registryHost) return undefined;
    const token = await this.#token(signal);
    if (host !== this.#serverHost && host !== token.registryHost) return undefined;
    // URL-safe base64 *with* padding: Docker 20.10 decodes X-Registry-Auth with Go's padded
    // URLEncoding and silently ignores a header it cannot decode.
    return Buffer.from(JSON.stringify({ username: token.username, password: token.password, serveraddress: host }))
      .toString('base64').replace(/\+/g, '-').replace(/\//g, '_');
  }

  async #token(signal?: AbortSignal) {
    if (this.#cached && this.#cached.expiresAtMs - RENEW_BEFORE_EXPIRY_MS > this.#nowMs()) return this.#cached;
    const res = await this.#ecr.call<GetAuthorizationTokenResponse>('GetAuthorizationToken', {}, signal ? { signal } : {});
    const data = res.authorizationData?.[0];
    const decoded = Buffer.from(data?.authorizationToken ?? '', 'base64').toString('utf8');
    const colon = decoded.indexOf(':');
    if (colon < 0) throw new Error('GetAuthorizationToken answered no usable token');
    let registryHost = this.#serverHost;
    try {
      registryHost = new URL(data?.proxyEndpoint ?? '').host;
    } catch { /* no proxyEndpoint: the server's own host is all there is */ }
    // expiresAt is epoch seconds on the wire.
    this.#cached = { username: decoded.slice(0, colon), password: decoded.slice(colon + 1), registryHost, expiresAtMs: Number(data?.expiresAt ?? 0) * 1000 };
    return this.#cached;
  }
}
