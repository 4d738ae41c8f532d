/**
 * Default timeouts of the agent, in one place, each with its reason. Every outbound call takes one
 * of these (overridable per call through an AbortSignal) so a hung Docker Engine or server can
 * stall one operation, never the agent.
 */
export const TIMEOUTS = {
  /** Quick metadata calls (inspect, list, info, version): Docker answers these from memory. */
  dockerQuickMs: 15_000,
  /** Container create: may wait on the storage driver to lay out a writable layer. */
  dockerCreateMs: 60_000,
  /** Container start: runc setup and port publishing; 3 min as the ECS agent's start timeout. */
  dockerStartMs: 180_000,
  /** Container stop: added on top of the container's own stopTimeout (SIGTERM grace, then SIGKILL). */
  dockerStopExtraMs: 30_000,
  /** Container removal: deleting a large writable layer can take a while. */
  dockerRemoveMs: 120_000,
  /** Image pull: large images over a slow registry; the ECS agent allows minutes too. */
  dockerPullMs: 15 * 60_000,
  /** Opening the /events stream (response headers); the stream itself has no deadline. */
  dockerEventsConnectMs: 15_000,
  /** One ECS API call to the server (RegisterContainerInstance). */
  ecsCallMs: 20_000,
  /** The WebSocket handshake to the gateway. */
  gatewayHandshakeMs: 20_000,
  /** close(): how long in-flight task operations may run on before they are aborted. */
  drainMs: 10_000,
} as const;

/** Backoff bounds for retried connections, with reasons. */
export const BACKOFF = {
  /** Registration: the server may be starting; do not hammer it, but come back within a minute. */
  registerInitialMs: 500,
  registerMaxMs: 30_000,
  /** Gateway redial: tasks keep running while disconnected, so a slower redial costs only freshness. */
  gatewayInitialMs: 250,
  gatewayMaxMs: 30_000,
  /** Docker events stream reconnect: missed events are recovered by re-inspecting, so keep it short. */
  eventsInitialMs: 200,
  eventsMaxMs: 10_000,
  /** Retried docker stop of a container that is still running after a failed stop. */
  stopRetryInitialMs: 1_000,
  stopRetryMaxMs: 30_000,
} as const;

/**
 * A signal that aborts when `signal` aborts or after `ms`, whichever comes first.
 * The timeout reason is a DOMException named TimeoutError, which callers treat as ambiguous.
 */
export function withTimeout(ms: number, signal?: AbortSignal): AbortSignal {
  const t = AbortSignal.timeout(ms);
  return signal ? AbortSignal.any([signal, t]) : t;
}
