/**
 * A steady stream of HTTP GETs at a fixed concurrency over keep-alive connections, counting every
 * outcome: what the zero-downtime tests and the rolling-deployment benchmark watch through a load
 * balancer. Each worker sends its next request as soon as the last one ends, so the rate is as
 * high as the path allows; `ratePerSecond` caps it when given.
 */
import http from 'node:http';
import { performance } from 'node:perf_hooks';

export interface RequestStreamOptions {
  url: string;
  /** Requests in flight at once (one keep-alive connection each). Default 8. */
  concurrency?: number;
  /** Upper bound on requests per second over all workers; unbounded when absent. */
  ratePerSecond?: number;
  /** A request that has no complete answer after this long counts as failed. Default 5,000 ms. */
  requestTimeoutMs?: number;
}

/** One request that did not end in a 2xx answer. */
export interface FailedRequest {
  /** Milliseconds since the stream started. */
  atMs: number;
  /** The HTTP status, for an answer outside 2xx. */
  status?: number;
  /** The socket error code (ECONNRESET, ECONNREFUSED, timeout, ...), for no answer. */
  error?: string;
}

export interface RequestStreamSummary {
  requests: number;
  ok: number;
  /** Answers outside 2xx. */
  non2xx: number;
  /** Requests with no answer at all. */
  failed: number;
  durationMs: number;
  requestsPerSecond: number;
  /** Latency percentiles of the 2xx answers, in ms. */
  p50Ms: number;
  p99Ms: number;
  /** Every request that was not a 2xx, oldest first (kept up to 10,000). */
  failures: FailedRequest[];
  /** Body texts seen, with counts (bodies are trimmed; at most 50 distinct kept). */
  bodies: Map<string, number>;
}

export interface RequestStream {
  /** Milliseconds since the stream started. */
  elapsedMs(): number;
  /** Counts so far, without stopping. */
  snapshot(): RequestStreamSummary;
  /** Stops sending, waits for requests in flight, closes the connections and answers the totals. */
  stop(): Promise<RequestStreamSummary>;
}

const MAX_FAILURES_KEPT = 10_000;
const MAX_BODIES_KEPT = 50;

export function startRequestStream(options: RequestStreamOptions): RequestStream {
  const concurrency = options.concurrency ?? 8;
  const timeoutMs = options.requestTimeoutMs ?? 5_000;
  const agent = new http.Agent({ keepAlive: true, maxSockets: concurrency });
  const started = performance.now();
  const latencies: number[] = [];
  const failures: FailedRequest[] = [];
  const bodies = new Map<string, number>();
  let requests = 0;
  let ok = 0;
  let non2xx = 0;
  let failed = 0;
  let stopping = false;
  let stoppedAt: number | undefined;
  const spacingMs = options.ratePerSecond ? (1000 * concurrency) / options.ratePerSecond : 0;

  const elapsedMs = () => performance.now() - started;
  const fail = (f: Omit<FailedRequest, 'atMs'>) => {
    if (failures.length < MAX_FAILURES_KEPT) failures.push({ atMs: elapsedMs(), ...f });
  };

  function once(): Promise<void> {
    return new Promise((resolve) => {
      const t0 = performance.now();
      requests++;
      const req = http.get(options.url, { agent, timeout: timeoutMs }, (res) => {
        const chunks: Buffer[] = [];
        res.on('data', (c: Buffer) => chunks.push(c));
        res.on('end', () => {
          const status = res.statusCode ?? 0;
          if (status >= 200 && status < 300) {
            ok++;
            latencies.push(performance.now() - t0);
            const body = Buffer.concat(chunks).toString('utf8').trim();
            if (bodies.has(body) || bodies.size < MAX_BODIES_KEPT) bodies.set(body, (bodies.get(body) ?? 0) + 1);
          } else {
            non2xx++;
            fail({ status });
          }
          resolve();
        });
        res.on('error', (err: NodeJS.ErrnoException) => { failed++; fail({ error: err.code ?? err.message }); resolve(); });
      });
      req.on('timeout', () => req.destroy(Object.assign(new Error('timeout'), { code: 'timeout' })));
      req.on('error', (err: NodeJS.ErrnoException) => { failed++; fail({ error: err.code ?? err.message }); resolve(); });
    });
  }

  async function worker(): Promise<void> {
    while (!stopping) {
      const t0 = performance.now();
      await once();
      const wait = spacingMs - (performance.now() - t0);
      if (wait > 0 && !stopping) await new Promise((r) => setTimeout(r, wait));
    }
  }

  const workers = Array.from({ length: concurrency }, () => worker());

  function summary(): RequestStreamSummary {
    const durationMs = (stoppedAt ?? performance.now()) - started;
    const sorted = [...latencies].sort((a, b) => a - b);
    const pct = (p: number) => sorted.length ? sorted[Math.min(sorted.length - 1, Math.floor(p * sorted.length))]! : 0;
    return {
      requests, ok, non2xx, failed, durationMs,
      requestsPerSecond: durationMs > 0 ? (requests * 1000) / durationMs : 0,
      p50Ms: pct(0.5), p99Ms: pct(0.99), failures: [...failures], bodies: new Map(bodies),
    };
  }

  return {
    elapsedMs,
    snapshot: summary,
    async stop() {
      stopping = true;
      await Promise.all(workers);
      stoppedAt = performance.now();
      agent.destroy();
      return summary();
    },
  };
}
