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

/** The simulated agents of the control-plane benchmark: one child process runs `count` of them. */
export interface SimulatedAgentsSpec {
  url: string;
  credentials: { accessKeyId: string; secretAccessKey: string };
  cluster: string;
  count: number;
  /** Index of this child's first agent among all the benchmark's agents (its zone follows from it). */
  firstIndex: number;
  /** `ecs.availability-zone` values, given out round-robin by agent index. */
  zones: string[];
  cpu: number;
  memoryMiB: number;
  /** How many agents register at once while the child starts. */
  joinConcurrency: number;
}

/**
 * What the simulated agents write on stdout, one JSON object a line. `progress` counts the reports
 * sent since the last `reset` (the driver writes `{"type":"reset"}` on stdin); times are epoch ms.
 */
export type SimulatedAgentsMessage =
  | { type: 'ready'; agents: number }
  | { type: 'reset' }
  | { type: 'progress'; running: number; stopped: number; firstRunningAt?: number; lastRunningAt?: number; firstStoppedAt?: number; lastStoppedAt?: number };
