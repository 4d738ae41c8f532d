/**
 * The runtime API's `show stat` CSV, read into what Wharf uses of each server row: its health-check
 * fields (for target health) and its traffic counters (for the load balancer's metrics). Pure.
 */

/** Responses by status class, as ELB's HTTPCode_Target_<class>_Count counts them. */
export interface HttpCodeCounts { '2XX': number; '3XX': number; '4XX': number; '5XX': number }

/**
 * One server's traffic since its HAProxy worker started. `requests` and `http` are cumulative
 * counters (they start again from zero in a new worker, after a reload or restart);
 * `responseTimeMs` is HAProxy's average over the server's last 1024 responses (`rtime`: from the
 * request sent to the response headers received), HAProxy keeping no cumulative sum of it.
 */
export interface ServerTraffic {
  requests: number;
  http: HttpCodeCounts;
  responseTimeMs: number;
}

/** The fields of one server's `show stat` row. */
export interface ServerStat {
  backend: string;
  server: string;
  /** `UP`, `DOWN`, `UP 1/3` (going down), `DOWN 1/2` (going up), `DRAIN`, `MAINT`, `NOLB`. */
  status: string;
  /** The last check's result (`INI` before the first one, `L7OK`, `L7STS`, `L4CON`, `L4TOUT`, ...). */
  checkStatus: string;
  /** The HTTP status of the last HTTP check, when there was one. */
  checkCode: string;
  traffic: ServerTraffic;
}

const COLUMNS = ['pxname', 'svname', 'status', 'check_status', 'check_code', 'req_tot', 'hrsp_2xx', 'hrsp_3xx', 'hrsp_4xx', 'hrsp_5xx', 'rtime'] as const;

/**
 * Parses `show stat` CSV (`# pxname,svname,...` header first) into the server rows, skipping
 * FRONTEND/BACKEND rows. Throws when a column Wharf reads is missing (another HAProxy version's
 * format); an empty counter (TCP servers have no HTTP counters) reads as 0.
 */
export function parseServerStats(csv: string): ServerStat[] {
  const lines = csv.split('\n').filter((l) => l.length);
  const header = lines.shift()?.replace(/^#\s*/, '').split(',') ?? [];
  const at = Object.fromEntries(COLUMNS.map((name) => [name, header.indexOf(name)])) as Record<typeof COLUMNS[number], number>;
  const missing = COLUMNS.filter((name) => at[name] < 0);
  if (missing.length) throw new Error(`unexpected 'show stat' header (no ${missing.join(', ')}): ${header.join(',')}`);
  return lines.map((line) => line.split(',')).filter((f) => f[at.svname] !== 'FRONTEND' && f[at.svname] !== 'BACKEND').map((f) => {
    const count = (column: number) => {
      const n = Number(f[column] ?? '');
      return Number.isFinite(n) && n >= 0 ? n : 0;
    };
    return {
      backend: f[at.pxname] ?? '',
      server: f[at.svname] ?? '',
      status: f[at.status] ?? '',
      // A check in progress is shown with a `* ` prefix.
      checkStatus: (f[at.check_status] ?? '').replace(/^\*\s*/, ''),
      checkCode: f[at.check_code] ?? '',
      traffic: {
        requests: count(at.req_tot),
        http: { '2XX': count(at.hrsp_2xx), '3XX': count(at.hrsp_3xx), '4XX': count(at.hrsp_4xx), '5XX': count(at.hrsp_5xx) },
        responseTimeMs: count(at.rtime),
      },
    };
  });
}

/**
 * Two servers' traffic as one (a slot and its fail-open twin reach the same target): counters
 * added, the response time the average of both weighted by the responses each counted.
 */
export function addServerTraffic(a: ServerTraffic, b: ServerTraffic): ServerTraffic {
  const responses = (t: ServerTraffic) => t.http['2XX'] + t.http['3XX'] + t.http['4XX'] + t.http['5XX'];
  const [ra, rb] = [responses(a), responses(b)];
  return {
    requests: a.requests + b.requests,
    http: { '2XX': a.http['2XX'] + b.http['2XX'], '3XX': a.http['3XX'] + b.http['3XX'], '4XX': a.http['4XX'] + b.http['4XX'], '5XX': a.http['5XX'] + b.http['5XX'] },
    responseTimeMs: ra + rb > 0 ? (a.responseTimeMs * ra + b.responseTimeMs * rb) / (ra + rb) : a.responseTimeMs,
  };
}
