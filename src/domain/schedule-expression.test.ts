import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { latestRunBetween, parseSchedule, validateTimezone } from './schedule-expression.js';

const utc = (s: string) => Date.parse(`${s}Z`);
const window = { timezone: 'UTC', createdMs: utc('2026-01-01T00:00:00') };

describe('schedule expressions', () => {
  it('at() runs once, at its time in its time zone', () => {
    const at = parseSchedule('at(2026-03-01T10:30:00)');
    assert.equal(latestRunBetween(at, window, utc('2026-03-01T10:29:00'), utc('2026-03-01T10:31:00')), utc('2026-03-01T10:30:00'));
    assert.equal(latestRunBetween(at, window, utc('2026-03-01T10:30:00'), utc('2026-03-01T11:00:00')), undefined, 'already handled');
    const paris = { ...window, timezone: 'Europe/Paris' };
    assert.equal(latestRunBetween(at, paris, utc('2026-03-01T09:00:00'), utc('2026-03-01T09:31:00')), utc('2026-03-01T09:30:00'), 'UTC+1 in winter');
    const summer = parseSchedule('at(2026-07-01T10:30:00)');
    assert.equal(latestRunBetween(summer, paris, utc('2026-07-01T08:00:00'), utc('2026-07-01T09:00:00')), utc('2026-07-01T08:30:00'), 'UTC+2 in summer');
  });

  it('rate() runs every interval from StartTime, else from creation', () => {
    const rate = parseSchedule('rate(5 minutes)');
    assert.equal(latestRunBetween(rate, window, utc('2026-01-01T00:00:00'), utc('2026-01-01T00:04:59')), undefined);
    assert.equal(latestRunBetween(rate, window, utc('2026-01-01T00:00:00'), utc('2026-01-01T00:12:00')), utc('2026-01-01T00:10:00'));
    const started = { ...window, startMs: utc('2026-01-01T00:01:00') };
    assert.equal(latestRunBetween(rate, started, utc('2026-01-01T00:05:00'), utc('2026-01-01T00:06:00')), utc('2026-01-01T00:06:00'));
    assert.equal(latestRunBetween(parseSchedule('rate(1 hour)'), window, 0, utc('2026-01-01T01:00:00')), utc('2026-01-01T01:00:00'));
  });

  it('cron() matches minutes, hours, days of week by name, months, years and L', () => {
    const weekdays = parseSchedule('cron(0 18 ? * MON-FRI *)');
    // 2026-01-02 is a Friday, 2026-01-03 a Saturday.
    assert.equal(latestRunBetween(weekdays, window, utc('2026-01-02T17:00:00'), utc('2026-01-02T19:00:00')), utc('2026-01-02T18:00:00'));
    assert.equal(latestRunBetween(weekdays, window, utc('2026-01-03T17:00:00'), utc('2026-01-03T19:00:00')), undefined);
    const every15 = parseSchedule('cron(*/15 * * * ? *)');
    assert.equal(latestRunBetween(every15, window, utc('2026-01-05T10:01:00'), utc('2026-01-05T10:44:00')), utc('2026-01-05T10:30:00'));
    const last = parseSchedule('cron(0 0 L FEB ? 2026)');
    assert.equal(latestRunBetween(last, window, utc('2026-02-27T00:00:00'), utc('2026-03-01T00:00:00')), utc('2026-02-28T00:00:00'));
    assert.equal(latestRunBetween(parseSchedule('cron(0 0 1 1 ? 2027)'), window, utc('2026-01-01T00:00:00'), utc('2026-12-31T00:00:00')), undefined);
  });

  it('cron() in a time zone', () => {
    const nine = parseSchedule('cron(0 9 * * ? *)');
    const tokyo = { ...window, timezone: 'Asia/Tokyo' };
    assert.equal(latestRunBetween(nine, tokyo, utc('2026-01-04T23:59:00'), utc('2026-01-05T01:00:00')), utc('2026-01-05T00:00:00'));
  });

  it('respects StartTime and EndTime', () => {
    const every = parseSchedule('cron(* * * * ? *)');
    const bounded = { ...window, startMs: utc('2026-01-01T00:10:00'), endMs: utc('2026-01-01T00:20:00') };
    assert.equal(latestRunBetween(every, bounded, utc('2026-01-01T00:00:00'), utc('2026-01-01T00:05:00')), undefined);
    assert.equal(latestRunBetween(every, bounded, utc('2026-01-01T00:00:00'), utc('2026-01-01T00:30:00')), utc('2026-01-01T00:20:00'));
    assert.equal(latestRunBetween(every, bounded, utc('2026-01-01T00:20:00'), utc('2026-01-01T00:30:00')), undefined);
  });

  it('refuses malformed expressions with a ValidationException quoting them', () => {
    for (const bad of [
      'every 5 minutes', 'rate(5 minute)', 'rate(1 minutes)', 'rate(0 minutes)', 'rate(5 weeks)', 'at(2026-02-30T00:00:00)',
      'at(2026-01-01 00:00:00)', 'cron(0 18 * * MON-FRI *)', 'cron(0 18 ? * ? *)', 'cron(0 18 * *)', 'cron(60 * * * ? *)',
      'cron(0 0 1W * ? *)', 'cron(0 0 ? * 2#1 *)', 'cron(5-1 * * * ? *)', 'cron(0/0 * * * ? *)',
    ]) {
      assert.throws(() => parseSchedule(bad), (err: Error) => err.name === 'ValidationException' && err.message.includes(bad), bad);
    }
    assert.throws(() => validateTimezone('Mars/Olympus'), /Invalid time zone: Mars\/Olympus/);
    assert.doesNotThrow(() => validateTimezone('America/New_York'));
  });
});
