/** What the API benchmark passes to its child processes (as one JSON argv) and gets back. */

/** A response replayed byte for byte by the reference server. */
export interface CannedResponse {
  status: number;
  headers: Record<string, string>;
  bodyBase64: string;
}

/** One load run: `connections` keep-alive loops, each request → response, with no pause. */
export interface LoadSpec {
  host: string;
  port: number;
  method: string;
  path: string;
  headers: Record<string, string>;
  bodyBase64: string;
  connections: number;
  /** Responses completing during the warm-up are not counted. */
  warmupMs: number;
  durationMs: number;
}

/** The load generator's answer: one JSON line on stdout. */
export interface LoadResult {
  /** 200 responses completed inside the measured window. */
  ok: number;
  /** Non-200 responses and transport errors, over warm-up and measured window together. */
  errors: number;
  /** The first error seen, to say what went wrong. */
  firstError?: string;
  measuredSeconds: number;
  /** CPU the load generator itself used during the measured window, as a share of one core. */
  cpuShareOfOneCore: number;
}
