/**
 * The ECS JSON API as an SDK calls it (awsJson1_1 over HTTP, SigV4 for service `ecs`), reduced to
 * what the agent needs; the same client calls ECR for registry tokens. node:http only: the agent must stay small, so no AWS SDK at runtime.
 */
import http from 'node:http';
import type { RegisterContainerInstanceRequest, RegisterContainerInstanceResponse } from '@aws-sdk/client-ecs';
import { WharfError } from '../model/errors.js';
import type { Credentials } from '../sigv4/index.js';
import { signRequest } from '../sigv4/index.js';
import { TIMEOUTS, withTimeout } from './timeouts.js';

export const ECS_TARGET_PREFIX = 'AmazonEC2ContainerServiceV20141113';

/** The awsJson1_1 service a client calls: its X-Amz-Target prefix and SigV4 service name. */
export interface JsonServiceName { targetPrefix: string; signingName: string }
export const ECS_SERVICE: JsonServiceName = { targetPrefix: ECS_TARGET_PREFIX, signingName: 'ecs' };
export const ECR_SERVICE: JsonServiceName = { targetPrefix: 'AmazonEC2ContainerRegistry_V20150921', signingName: 'ecr' };
export const LOGS_SERVICE: JsonServiceName = { targetPrefix: 'Logs_20140328', signingName: 'logs' };

/**
 * An ECS API call failed. `code` is the AWS error type (`__type`), or `NetworkingError` when no
 * answer came; `retryable` for those, throttling and 5xx.
 */
export class EcsApiError extends WharfError {
  constructor(code: string, message: string, readonly statusCode: number | undefined, options: { cause?: unknown; retryable: boolean }) {
    super(code, message, options);
  }
}

export interface EcsClientOptions {
  /** Server base URL, e.g. http://127.0.0.1:8080. */
  serverUrl: string;
  region: string;
  credentials: Credentials;
  /** ECS unless told otherwise (the agent also calls ECR for registry tokens). */
  service?: JsonServiceName;
}

/** Minimal HTTP transport over node:http or, lazily, node:https. */
export async function httpRequest(
  url: URL, method: string, headers: Record<string, string>, body: string, signal: AbortSignal,
): Promise<{ statusCode: number; headers: http.IncomingHttpHeaders; body: string }> {
  const mod = url.protocol === 'https:' ? await import('node:https') : http;
  return new Promise((resolve, reject) => {
    const req = mod.request(url, { method, headers: { ...headers, 'content-length': String(Buffer.byteLength(body)) }, signal }, (res) => {
      const chunks: Buffer[] = [];
      res.on('data', (c: Buffer) => chunks.push(c));
      res.on('error', reject);
      res.on('end', () => resolve({ statusCode: res.statusCode ?? 0, headers: res.headers, body: Buffer.concat(chunks).toString('utf8') }));
    });
    req.on('error', reject);
    req.end(body);
  });
}

export class EcsClient {
  private readonly url: URL;
  constructor(private readonly options: EcsClientOptions) {
    this.url = new URL(options.serverUrl);
    if (this.url.pathname === '') this.url.pathname = '/';
  }

  /** One signed awsJson1_1 call. Rejects with EcsApiError. */
  async call<TOut>(operation: string, input: object, opts: { signal?: AbortSignal; timeoutMs?: number } = {}): Promise<TOut> {
    const service = this.options.service ?? ECS_SERVICE;
    const body = JSON.stringify(input);
    const headers: Record<string, string> = {
      host: this.url.host,
      'content-type': 'application/x-amz-json-1.1',
      'x-amz-target': `${service.targetPrefix}.${operation}`,
    };
    Object.assign(headers, signRequest({ method: 'POST', url: this.url, headers, body }, this.options.credentials,
      { region: this.options.region, service: service.signingName }));
    let res: Awaited<ReturnType<typeof httpRequest>>;
    try {
      res = await httpRequest(this.url, 'POST', headers, body, withTimeout(opts.timeoutMs ?? TIMEOUTS.ecsCallMs, opts.signal));
    } catch (err) {
      throw new EcsApiError('NetworkingError', err instanceof Error ? err.message : String(err), undefined, { cause: err, retryable: true });
    }
    let parsed: Record<string, unknown> = {};
    try {
      parsed = res.body.length > 0 ? (JSON.parse(res.body) as Record<string, unknown>) : {};
    } catch {
      if (res.statusCode < 300) throw new EcsApiError('SerializationException', 'response is not JSON', res.statusCode, { retryable: true });
    }
    if (res.statusCode >= 200 && res.statusCode < 300) return parsed as TOut;
    // The same code extraction as the SDKs: header first, then __type, stripped of namespace and suffix.
    const rawType = String(res.headers['x-amzn-errortype'] ?? parsed.__type ?? parsed.code ?? `Http${res.statusCode}`);
    const code = rawType.split(':')[0]!.split('#').pop()!;
    const message = String(parsed.message ?? parsed.Message ?? `HTTP ${res.statusCode}`);
    const retryable = res.statusCode >= 500 || code === 'ThrottlingException';
    throw new EcsApiError(code, message, res.statusCode, { retryable });
  }

  registerContainerInstance(input: RegisterContainerInstanceRequest, opts: { signal?: AbortSignal } = {}): Promise<RegisterContainerInstanceResponse> {
    return this.call<RegisterContainerInstanceResponse>('RegisterContainerInstance', input, opts);
  }
}
