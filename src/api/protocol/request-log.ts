import { randomUUID } from 'node:crypto';
import type { IncomingMessage, ServerResponse } from 'node:http';
import { performance } from 'node:perf_hooks';

/** What every AWS wire protocol handler is configured with. */
export interface ProtocolOptions {
  lookupSecret: (accessKeyId: string) => string | undefined;
  /** Larger bodies answer 413 without being buffered. */
  maxBodyBytes: number;
  /** Receives one entry per request (with `logRequests`), plus the details of every internal error. */
  logger?: (entry: Record<string, unknown>) => void;
  /**
   * Log one line per request (status, duration). Off by default: a synchronous line per request
   * costs about 8% of throughput; failures and internal errors are always logged.
   */
  logRequests?: boolean;
  /** Clock for the SigV4 skew check. */
  now?: () => Date;
}

/** Handles one request; `entry` is its log line, which the handler fills (operation, error code). */
export type LoggedHandle = (req: IncomingMessage, res: ServerResponse, requestId: string, entry: Record<string, unknown>) => Promise<void>;

/**
 * A request listener around `handle`: a fresh request id, the log entry (`fields` plus status and
 * duration once answered, when `logRequests`), and a request that fails while being read (the
 * client went away, so no one is left to answer) destroyed and logged.
 */
export function loggedRequestListener(
  options: ProtocolOptions, fields: (req: IncomingMessage) => Record<string, unknown>, handle: LoggedHandle,
): (req: IncomingMessage, res: ServerResponse) => void {
  const log = options.logger ?? (() => {});
  return (req, res) => {
    const requestId = randomUUID();
    const startedAt = performance.now();
    const entry: Record<string, unknown> = { msg: 'request', requestId, ...fields(req) };
    if (options.logRequests === true) {
      res.on('finish', () => {
        entry['status'] = res.statusCode;
        entry['durationMs'] = Math.round((performance.now() - startedAt) * 1000) / 1000;
        log(entry);
      });
    }
    handle(req, res, requestId, entry).catch((err: unknown) => {
      log({ msg: 'request failed', requestId, error: String(err) });
      res.destroy();
    });
  };
}

/** Logs a handler's unexpected error with its request; the client only learns that one happened. */
export function logInternalError(options: ProtocolOptions, entry: Record<string, unknown>, err: unknown): void {
  options.logger?.({
    msg: 'internal error', requestId: entry['requestId'], operation: entry['operation'],
    error: err instanceof Error ? err.stack ?? err.message : String(err),
  });
}

/** Writes a whole response with the request id every AWS response carries. */
export function sendResponse(
  res: ServerResponse, requestId: string, status: number, contentType: string, body: string, onSent?: () => void,
): void {
  res.statusCode = status;
  res.setHeader('content-type', contentType);
  res.setHeader('x-amzn-RequestId', requestId);
  res.setHeader('content-length', Buffer.byteLength(body));
  res.end(body, onSent);
}
