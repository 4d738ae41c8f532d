/**
 * Application Auto Scaling's schedule expressions, pure: `at(yyyy-mm-ddThh:mm:ss)`,
 * `rate(value unit)` and `cron(minutes hours day-of-month month day-of-week year)`, evaluated in an
 * IANA time zone (UTC by default). Malformed expressions are refused with a ValidationException
 * naming what is wrong.
 */
import { ValidationException } from '../model/index.js';

export type Schedule =
  | { kind: 'at'; local: LocalTime }
  | { kind: 'rate'; everyMs: number }
  | { kind: 'cron'; cron: Cron };

/** A wall-clock time in the schedule's time zone. */
export interface LocalTime { year: number; month: number; day: number; hour: number; minute: number; second: number }

interface Cron {
  minutes: Set<number>;
  hours: Set<number>;
  /** undefined: `?` (the day of week decides). */
  daysOfMonth: Set<number> | undefined;
  /** `L` in day-of-month: the last day of the month. */
  lastDayOfMonth: boolean;
  months: Set<number>;
  /** 1 = Sunday … 7 = Saturday; undefined: `?`. */
  daysOfWeek: Set<number> | undefined;
  years: Set<number>;
}

const MINUTE_MS = 60_000;
const RATE_UNITS: Readonly<Record<string, number>> = {
  minute: MINUTE_MS, minutes: MINUTE_MS, hour: 60 * MINUTE_MS, hours: 60 * MINUTE_MS, day: 1440 * MINUTE_MS, days: 1440 * MINUTE_MS,
};
const MONTHS = ['JAN', 'FEB', 'MAR', 'APR', 'MAY', 'JUN', 'JUL', 'AUG', 'SEP', 'OCT', 'NOV', 'DEC'];
const WEEKDAYS = ['SUN', 'MON', 'TUE', 'WED', 'THU', 'FRI', 'SAT'];
/** A cron schedule is searched at most this far back for its latest run; older misses are not replayed. */
const CRON_LOOKBACK_MS = 7 * 24 * 60 * MINUTE_MS;

/** Parses a schedule expression, or throws a ValidationException that quotes it. */
export function parseSchedule(expression: string): Schedule {
  const m = /^(at|rate|cron)\((.*)\)$/.exec(expression.trim());
  if (!m) throw invalid(expression, 'it must be at(...), rate(...) or cron(...)');
  const body = m[2]!.trim();
  if (m[1] === 'at') {
    const t = /^(\d{4})-(\d{2})-(\d{2})T(\d{2}):(\d{2}):(\d{2})$/.exec(body);
    if (!t) throw invalid(expression, 'at() takes yyyy-mm-ddThh:mm:ss');
    const [year, month, day, hour, minute, second] = t.slice(1).map(Number) as [number, number, number, number, number, number];
    const check = new Date(Date.UTC(year, month - 1, day, hour, minute, second));
    if (check.getUTCMonth() !== month - 1 || check.getUTCDate() !== day || hour > 23 || minute > 59 || second > 59) {
      throw invalid(expression, 'at() names a date or time that does not exist');
    }
    return { kind: 'at', local: { year, month, day, hour, minute, second } };
  }
  if (m[1] === 'rate') {
    const r = /^(\d+)\s+([a-z]+)$/.exec(body);
    const unitMs = r ? RATE_UNITS[r[2]!] : undefined;
    if (!r || unitMs === undefined) throw invalid(expression, 'rate() takes a whole number and minute(s), hour(s) or day(s)');
    const value = Number(r[1]);
    if (value < 1) throw invalid(expression, 'the rate must be at least 1');
    if ((value === 1) !== !r[2]!.endsWith('s')) throw invalid(expression, 'the unit is singular for 1 and plural otherwise');
    return { kind: 'rate', everyMs: value * unitMs };
  }
  return { kind: 'cron', cron: parseCron(expression, body) };
}

/** Refuses a time zone the runtime does not know (IANA names such as `Europe/Paris`). */
export function validateTimezone(timezone: string): void {
  try {
    new Intl.DateTimeFormat('en-US', { timeZone: timezone });
  } catch {
    throw new ValidationException(`Invalid time zone: ${timezone}. Specify an IANA time zone name, such as Etc/GMT+9 or Pacific/Tahiti.`);
  }
}

export interface ScheduleWindow {
  timezone: string;
  /** No run before this (epoch ms). */
  startMs?: number;
  /** No run after this (epoch ms). */
  endMs?: number;
  /** When the action was written: rate() counts from StartTime, else from here. */
  createdMs: number;
}

/**
 * The latest time in (afterMs, throughMs] at which the schedule runs, within the window's start and
 * end, or undefined when it does not run then. Runs due together collapse into one: only the
 * latest capacity bounds matter.
 */
export function latestRunBetween(schedule: Schedule, window: ScheduleWindow, afterMs: number, throughMs: number): number | undefined {
  const from = Math.max(afterMs, (window.startMs ?? -Infinity) - 1);
  const through = Math.min(throughMs, window.endMs ?? Infinity);
  if (through <= from) return undefined;
  switch (schedule.kind) {
    case 'at': {
      const at = utcOf(schedule.local, window.timezone);
      return at > from && at <= through ? at : undefined;
    }
    case 'rate': {
      const anchor = window.startMs ?? window.createdMs;
      const k = Math.floor((through - anchor) / schedule.everyMs);
      if (k < 1) return undefined;
      const run = anchor + k * schedule.everyMs;
      return run > from ? run : undefined;
    }
    case 'cron': {
      const lowest = Math.max(from, through - CRON_LOOKBACK_MS);
      for (let t = Math.floor(through / MINUTE_MS) * MINUTE_MS; t > lowest; t -= MINUTE_MS) {
        if (cronMatches(schedule.cron, localOf(t, window.timezone))) return t;
      }
      return undefined;
    }
  }
}

function parseCron(expression: string, body: string): Cron {
  const fields = body.split(/\s+/);
  if (fields.length !== 6) throw invalid(expression, 'cron() takes six fields: minutes hours day-of-month month day-of-week year');
  const [min, hour, dom, month, dow, year] = fields as [string, string, string, string, string, string];
  if ((dom === '?') === (dow === '?')) throw invalid(expression, 'exactly one of day-of-month and day-of-week must be ?');
  const lastDayOfMonth = dom === 'L';
  return {
    minutes: parseField(expression, min, 'minutes', 0, 59),
    hours: parseField(expression, hour, 'hours', 0, 23),
    daysOfMonth: dom === '?' ? undefined : lastDayOfMonth ? new Set() : parseField(expression, dom, 'day-of-month', 1, 31),
    lastDayOfMonth,
    months: parseField(expression, month, 'month', 1, 12, MONTHS),
    daysOfWeek: dow === '?' ? undefined : parseField(expression, dow, 'day-of-week', 1, 7, WEEKDAYS),
    years: parseField(expression, year, 'year', 1970, 2199),
  };
}

/** One cron field: `*`, values, ranges `a-b`, steps `x/n`, names, joined by commas. */
function parseField(expression: string, field: string, name: string, low: number, high: number, names?: string[]): Set<number> {
  const out = new Set<number>();
  const value = (text: string): number => {
    const byName = names?.indexOf(text.toUpperCase()) ?? -1;
    const n = byName >= 0 ? byName + 1 : /^\d+$/.test(text) ? Number(text) : NaN;
    if (!(n >= low && n <= high)) throw invalid(expression, `'${text}' is not a valid ${name} value (${low}-${high})`);
    return n;
  };
  for (const part of field.split(',')) {
    const m = /^([^/]+)(?:\/(\d+))?$/.exec(part);
    if (!m) throw invalid(expression, `'${part}' is not a valid ${name} value`);
    const step = m[2] === undefined ? 1 : Number(m[2]);
    if (step < 1) throw invalid(expression, `the step in '${part}' must be at least 1`);
    let from: number;
    let to: number;
    if (m[1] === '*') {
      from = low; to = high;
    } else if (m[1]!.includes('-')) {
      const [a = '', b = ''] = m[1]!.split('-');
      from = value(a); to = value(b);
      if (from > to) throw invalid(expression, `the range '${m[1]}' in ${name} runs backwards`);
    } else {
      from = value(m[1]!);
      to = m[2] === undefined ? from : high;
    }
    for (let n = from; n <= to; n += step) out.add(n);
  }
  return out;
}

function cronMatches(cron: Cron, t: LocalTime & { weekday: number }): boolean {
  if (!cron.minutes.has(t.minute) || !cron.hours.has(t.hour) || !cron.months.has(t.month) || !cron.years.has(t.year)) return false;
  if (cron.daysOfWeek) return cron.daysOfWeek.has(t.weekday);
  if (cron.lastDayOfMonth) return t.day === new Date(Date.UTC(t.year, t.month, 0)).getUTCDate();
  return cron.daysOfMonth!.has(t.day);
}

const formatters = new Map<string, Intl.DateTimeFormat>();

/** The wall-clock time at `ms` in `timezone`, with the weekday (1 = Sunday). */
function localOf(ms: number, timezone: string): LocalTime & { weekday: number } {
  if (timezone === 'UTC' || timezone === 'Etc/UTC') {
    const d = new Date(ms);
    return {
      year: d.getUTCFullYear(), month: d.getUTCMonth() + 1, day: d.getUTCDate(), hour: d.getUTCHours(),
      minute: d.getUTCMinutes(), second: d.getUTCSeconds(), weekday: d.getUTCDay() + 1,
    };
  }
  let f = formatters.get(timezone);
  if (!f) {
    f = new Intl.DateTimeFormat('en-US', {
      timeZone: timezone, hourCycle: 'h23', year: 'numeric', month: 'numeric', day: 'numeric',
      hour: 'numeric', minute: 'numeric', second: 'numeric', weekday: 'short',
    });
    formatters.set(timezone, f);
  }
  const parts = Object.fromEntries(f.formatToParts(ms).map((p) => [p.type, p.value]));
  return {
    year: Number(parts['year']), month: Number(parts['month']), day: Number(parts['day']), hour: Number(parts['hour']),
    minute: Number(parts['minute']), second: Number(parts['second']), weekday: WEEKDAYS.indexOf(String(parts['weekday']).toUpperCase()) + 1,
  };
}

/** The instant a wall-clock time names in `timezone` (the later one when a clock change repeats it). */
function utcOf(local: LocalTime, timezone: string): number {
  const asUtc = Date.UTC(local.year, local.month - 1, local.day, local.hour, local.minute, local.second);
  let guess = asUtc;
  for (let i = 0; i < 2; i++) {
    const seen = localOf(guess, timezone);
    const offset = Date.UTC(seen.year, seen.month - 1, seen.day, seen.hour, seen.minute, seen.second) - guess;
    guess = asUtc - offset;
  }
  return guess;
}

function invalid(expression: string, reason: string): ValidationException {
  return new ValidationException(`Invalid schedule expression: ${expression}: ${reason}.`);
}
