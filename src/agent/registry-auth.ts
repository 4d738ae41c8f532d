/**
 * Credentials for pulling from the Wharf server's own registry, as the ECS agent gets them from
 * ECR: when a task's image lives on the server's host:port, the agent asks GetAuthorizationToken
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
  readonly #registryHost: string;
  readonly #nowMs: () => number;
  #cached: { header: string; expiresAtMs: number } | undefined;

  /** `registryHost` is the server's `host:port` as task definitions name it. */
  constructor(ecr: EcsClient, registryHost: string, nowMs: () => number = Date.now) {
    this.#ecr = ecr;
    this.#registryHost = registryHost;
    this.#nowMs = nowMs;
  }

  /** The X-Registry-Auth value for pulling `image`, or undefined when it is not in Wharf's registry. */
  async headerFor(image: string, signal?: AbortSignal): Promise<string | undefined> {
    const host = registryHostOf(image);
    if (host !== this.#registryHost) return undefined;
    if (this.#cached && this.#cached.expiresAtMs - RENEW_BEFORE_EXPIRY_MS > this.#nowMs()) return this.#cached.header;
    const res = await this.#ecr.call<GetAuthorizationTokenResponse>('GetAuthorizationToken', {}, signal ? { signal } : {});
    const data = res.authorizationData?.[0];
    const decoded = Buffer.from(data?.authorizationToken ?? '', 'base64').toString('utf8');
    const colon = decoded.indexOf(':');
    if (colon < 0) throw new Error('GetAuthorizationToken answered no usable token');
    const header = Buffer.from(JSON.stringify({
      username: decoded.slice(0, colon), password: decoded.slice(colon + 1), serveraddress: host,
    })).toString('base64url');
    // expiresAt is epoch seconds on the wire.
    const expiresAtMs = Number(data?.expiresAt ?? 0) * 1000;
    this.#cached = { header, expiresAtMs };
    return header;
  }
}
