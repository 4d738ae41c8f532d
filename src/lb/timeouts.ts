/** The data plane's default timeouts, each with its reason. */

/** A runtime or master CLI command answers in milliseconds; 5 s leaves room for a loaded machine. */
export const COMMAND_TIMEOUT_MS = 5000;
/** Starting HAProxy (parse, bind, fork the worker) takes well under a second; 15 s covers a loaded machine. */
export const START_TIMEOUT_MS = 15_000;
/** A reload re-executes the master and forks a new worker: as long as a start. */
export const RELOAD_TIMEOUT_MS = 15_000;
/** A configuration HAProxy refused (a listener's port in use, say) is tried again after this, not on every apply. */
export const RELOAD_RETRY_MS = 10_000;
/** `haproxy -c` on a new configuration before it is loaded. */
export const VALIDATE_TIMEOUT_MS = 15_000;
/** close(): how long HAProxy may finish open requests after a soft stop before it is killed. */
export const CLOSE_GRACE_MS = 10_000;
/** A crashed HAProxy is started again after this, doubling on each crash in a row up to RESTART_MAX_MS. */
export const RESTART_BACKOFF_MS = 500;
export const RESTART_MAX_MS = 30_000;
/** How often readiness and reload completion are polled on the master CLI. */
export const POLL_INTERVAL_MS = 50;
