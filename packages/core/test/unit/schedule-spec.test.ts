import { describe, expect, it } from 'vitest';
import { checkSchedule, dueAfter, planFiring } from '../../src/schedule-spec.js';

const data = { data: {} };

/** The one-line message a bad schedule gets, or '' when it is accepted. */
function refusal(f: () => unknown): string {
  try {
    f();
    return '';
  } catch (e) {
    expect((e as { name: string }).name).toBe('ConfigError');
    const m = (e as Error).message;
    expect(m).not.toContain('\n');
    return m;
  }
}

describe('schedule input', () => {
  it('refuses each bad input with one line that says what to write', () => {
    expect(refusal(() => checkSchedule('n', { cron: '61 * * * *' }, data))).toMatch(/^invalid cron "61 \* \* \* \*": .*minute.*e\.g\. '0 3 \* \* \*'$/);
    expect(refusal(() => checkSchedule('n', { cron: 'every day' }, data))).toMatch(/^invalid cron "every day"/);
    expect(refusal(() => checkSchedule('n', { cron: '0 3 * * *', tz: 'Mars/Olympus' }, data))).toBe(
      `unknown time zone "Mars/Olympus": use an IANA time zone such as 'Europe/Berlin' or 'America/New_York'`,
    );
    expect(refusal(() => checkSchedule('n', { every: '50ms' }, data))).toBe(`schedule every must be at least 100ms, got "50ms"; use a longer interval, e.g. '1s'`);
    expect(refusal(() => checkSchedule('n', { every: 99 }, data))).toMatch(/^schedule every must be at least 100ms, got 99/);
    expect(refusal(() => checkSchedule('n', { every: 'often' }, data))).toMatch(/^schedule every must be a duration such as '500ms'/);
    expect(refusal(() => checkSchedule('n', { every: '1s', cron: '* * * * *' }, data))).toMatch(/^schedule spec must be \{ cron/);
    expect(refusal(() => checkSchedule('n', { every: '1s' }, data, { startAt: 2000, endAt: 1000 }))).toMatch(/^schedule startAt \(.*\) is after endAt \(.*\); swap them or drop one$/);
    expect(refusal(() => checkSchedule('n', { every: '1s' }, data, { limit: 0 }))).toBe('schedule limit must be a whole number >= 1, got 0');
    expect(refusal(() => checkSchedule('n', { every: '1s' }, data, { catchUp: 'some' as 'one' }))).toBe(`schedule catchUp must be 'none', 'one' or 'all', got "some"`);
    expect(refusal(() => checkSchedule('n', { every: '1s' }, data, { startAt: Number.NaN }))).toMatch(/^schedule startAt must be a Date or ms since the epoch/);
    expect(refusal(() => checkSchedule('a:b', { every: '1s' }, data))).toMatch(/^invalid schedule id "a:b": use 1-100 letters/);
    expect(refusal(() => checkSchedule('n', { every: '1s' }, { name: 'x' }))).toMatch(/^schedule template must be \{ data, name\?/);
    expect(refusal(() => checkSchedule('n', { every: '1s' }, { data: 1, id: 'x' }))).toMatch(/^schedule template may not set id/);
    // And good input passes.
    expect(refusal(() => checkSchedule('n', { cron: '0 3 * * *', tz: 'Europe/Berlin' }, data, { catchUp: 'all', limit: 3 }))).toBe('');
    expect(refusal(() => checkSchedule('n', { every: '100ms' }, data))).toBe('');
  });

  it('keeps the timing apart from what an upsert may change without moving the schedule', () => {
    const a = checkSchedule('n', { every: '5m' }, data, { limit: 3 });
    const b = checkSchedule('n', { every: 300_000 }, { data: { other: 1 } }, { limit: 9, catchUp: 'all' });
    expect(a.timingJson).toBe(b.timingJson);
    expect(checkSchedule('n', { every: '1m' }, data).timingJson).not.toBe(a.timingJson);
  });
});

describe('due times and firing plans', () => {
  const every = checkSchedule('n', { every: '1s' }, data).timing;

  it('aligns every to its interval (or to startAt) and stops at endAt', () => {
    expect(dueAfter(every, 10_500)).toBe(11_000);
    expect(dueAfter(every, 11_000)).toBe(12_000);
    const from = checkSchedule('n', { every: '1s' }, data, { startAt: 10_250, endAt: 12_250 }).timing;
    expect(dueAfter(from, 0)).toBe(10_250);
    expect(dueAfter(from, 11_250)).toBe(12_250);
    expect(dueAfter(from, 12_250)).toBeUndefined();
  });

  it("fires every missed occurrence with 'all', the latest with 'one', none with 'none'", () => {
    // Due at 10s; now 13.5s: 10, 11, 12, 13 are due.
    expect(planFiring(every, 'all', 0, 0, 10_000, 13_500)).toEqual({ fire: [10_000, 11_000, 12_000, 13_000], skipped: 0, next: 14_000 });
    expect(planFiring(every, 'one', 0, 0, 10_000, 13_500)).toEqual({ fire: [13_000], skipped: 3, next: 14_000 });
    expect(planFiring(every, 'none', 0, 0, 10_000, 13_500)).toEqual({ fire: [], skipped: 4, next: 14_000 });
    // On time (only one due): every mode fires it.
    for (const m of ['all', 'one', 'none'] as const) expect(planFiring(every, m, 0, 0, 10_000, 10_900).fire).toEqual([10_000]);
    // limit: the schedule ends with its last allowed run.
    expect(planFiring(every, 'all', 5, 3, 10_000, 13_500)).toEqual({ fire: [10_000, 11_000], skipped: 2, next: undefined });
  });

  it('jumps over a long outage without walking every missed occurrence', () => {
    const p = planFiring(every, 'one', 0, 0, 0, 86_400_000 * 30 + 400);
    expect(p.fire).toEqual([86_400_000 * 30]);
    expect(p.next).toBe(86_400_000 * 30 + 1000);
    const all = planFiring(every, 'all', 0, 0, 0, 86_400_000);
    expect(all.fire).toHaveLength(1000);
    expect(all.next).toBe(1_000_000); // the rest follow at the next firing
  });
});
