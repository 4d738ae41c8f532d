/**
 * CloudWatch's rules for one PutLogEvents batch, as a pure check: the limits that fail the whole
 * request, and the events it accepts or rejects into rejectedLogEventsInfo.
 */
import type { InputLogEvent, RejectedLogEventsInfo } from '@aws-sdk/client-cloudwatch-logs';
import { InvalidParameterException } from '../model/index.js';

export const PUT_LIMITS = {
  /** Sum of the messages in UTF-8 plus EVENT_OVERHEAD_BYTES per event. */
  maxBatchBytes: 1_048_576,
  maxBatchEvents: 10_000,
  /** One event, its overhead included (what the docker awslogs driver splits long lines at). */
  maxEventBytes: 262_144,
  eventOverheadBytes: 26,
  maxSpanMs: 24 * 3_600_000,
  maxAgeMs: 14 * 86_400_000,
  maxFutureMs: 2 * 3_600_000,
} as const;

export interface CheckedBatch {
  /** Index range [first, end) of the events to store. */
  first: number;
  end: number;
  rejected?: RejectedLogEventsInfo;
}

/**
 * Checks a batch against CloudWatch's limits at `nowMs`, for a group keeping events
 * `retentionDays` (undefined: forever). Throws InvalidParameterException for what fails the whole
 * batch (size, count, order, span); answers which events are kept and which are rejected. Events
 * are in chronological order by then, so the rejected ones are a prefix (too old, expired) and a
 * suffix (too new).
 */
export function checkPutBatch(events: readonly InputLogEvent[], nowMs: number, retentionDays: number | undefined): CheckedBatch {
  if (events.length > PUT_LIMITS.maxBatchEvents) {
    throw new InvalidParameterException(`The batch holds ${events.length} log events; the maximum is ${PUT_LIMITS.maxBatchEvents}.`);
  }
  let total = 0;
  for (let i = 0; i < events.length; i++) {
    const e = events[i]!;
    const size = Buffer.byteLength(e.message!, 'utf8') + PUT_LIMITS.eventOverheadBytes;
    if (size > PUT_LIMITS.maxEventBytes) {
      throw new InvalidParameterException(`Log event too large: logEvents[${i}] is ${size} bytes (with ${PUT_LIMITS.eventOverheadBytes} bytes of overhead), the limit is ${PUT_LIMITS.maxEventBytes}.`);
    }
    total += size;
    if (i > 0 && e.timestamp! < events[i - 1]!.timestamp!) {
      throw new InvalidParameterException(`Log events in a single PutLogEvents request must be in chronological order: logEvents[${i}] is older than logEvents[${i - 1}].`);
    }
  }
  if (total > PUT_LIMITS.maxBatchBytes) {
    throw new InvalidParameterException(`Upload too large: ${total} bytes exceeds limit of ${PUT_LIMITS.maxBatchBytes}.`);
  }
  const tooOldBefore = nowMs - PUT_LIMITS.maxAgeMs;
  const expiredBefore = retentionDays === undefined ? -Infinity : nowMs - retentionDays * 86_400_000;
  const tooNewAfter = nowMs + PUT_LIMITS.maxFutureMs;
  let first = 0;
  let tooOldEnd = -1;
  let expiredEnd = -1;
  while (first < events.length) {
    const ts = events[first]!.timestamp!;
    if (ts < tooOldBefore) tooOldEnd = first;
    else if (ts < expiredBefore) expiredEnd = first;
    else break;
    first++;
  }
  let end = events.length;
  while (end > first && events[end - 1]!.timestamp! > tooNewAfter) end--;
  if (end > first && events[end - 1]!.timestamp! - events[first]!.timestamp! > PUT_LIMITS.maxSpanMs) {
    throw new InvalidParameterException('The batch of log events in a single PutLogEvents request cannot span more than 24 hours.');
  }
  const rejected: RejectedLogEventsInfo = {};
  if (tooOldEnd >= 0) rejected.tooOldLogEventEndIndex = tooOldEnd;
  if (expiredEnd >= 0) rejected.expiredLogEventEndIndex = expiredEnd;
  if (end < events.length) rejected.tooNewLogEventStartIndex = end;
  return Object.keys(rejected).length > 0 ? { first, end, rejected } : { first, end };
}
