import { describe, expect, it } from 'vitest';
import { Queue, type QueueOptions } from '@asyncq/core';
import { adminClient, redisUrl, track, uniqueName } from '@asyncq/test-support';

/** A clock the test moves: what schedules fire and upsert by. */
class TestClock {
  constructor(public now: number) {}
  readonly read = (): number => this.now;
}

function open<T>(name: string, opts: QueueOptions = {}): Queue<T> {
  return track(new Queue<T>(name, { connection: redisUrl(), ...opts }), name);
}

/** Every task ready in the queue, taken and acknowledged: its id and item. */
async function drain<T>(q: Queue<T>): Promise<{ id: string; data: T; name: string }[]> {
  const out: { id: string; data: T; name: string }[] = [];
  for (let i = 0; i < 10_000; i++) {
    const t = await q.getTask({ timeout: 500 }).catch(() => undefined);
    if (!t) break;
    out.push({ id: t.id, data: t.data, name: t.name });
    await q.taskDone(t);
  }
  return out;
}

const iso = (ms: number): string => new Date(ms).toISOString();

describe('schedules on Redis', () => {
  it('upserts keep the next due time unless the timing changes; list and unschedule', async () => {
    const name = uniqueName('sched-upsert');
    const clock = new TestClock(Date.UTC(2026, 0, 1, 12, 0, 0, 300));
    const q = open<{ n: number }>(name, { scheduleClock: clock.read });
    const a = await q.schedule('tick', { every: '1s' }, { name: 'beat', data: { n: 1 } });
    expect(a).toMatchObject({ id: 'tick', spec: { every: 1000 }, next: Date.UTC(2026, 0, 1, 12, 0, 1), last: undefined, runs: 0, catchUp: 'one' });
    clock.now += 5000;
    // Same timing, another template and catch-up: next stays where it was.
    const b = await q.schedule('tick', { every: 1000 }, { name: 'beat', data: { n: 2 } }, { catchUp: 'all' });
    expect(b.next).toBe(a.next);
    expect(b.catchUp).toBe('all');
    expect(b.template).toEqual({ name: 'beat', data: { n: 2 } });
    // A new timing starts again from the clock.
    const c = await q.schedule('tick', { every: '10s' }, { data: { n: 3 } });
    expect(c.next).toBe(Date.UTC(2026, 0, 1, 12, 0, 10));
    await q.schedule('other', { cron: '0 3 * * *', tz: 'Europe/Berlin' }, { data: { n: 4 } });
    expect((await q.schedules()).map((s) => s.id)).toEqual(['other', 'tick']);
    expect(await q.unschedule('tick')).toBe(true);
    expect(await q.unschedule('tick')).toBe(false);
    expect((await q.schedules()).map((s) => s.id)).toEqual(['other']);
    await expect(q.schedule('bad', { every: '10ms' }, { data: { n: 0 } })).rejects.toThrow(/every must be at least 100ms/);
  });

  it('enqueues each occurrence once when many handles fire at once, with the template, and counts lateness', async () => {
    const name = uniqueName('sched-race');
    const clock = new TestClock(Date.UTC(2026, 0, 1, 0, 0, 0, 0) + 1);
    const handles = Array.from({ length: 4 }, () => open<{ job: string }>(name, { scheduleClock: clock.read }));
    await handles[0]!.schedule('race', { every: '1s' }, { name: 'report', data: { job: 'r' }, priority: 0, attempts: 3 }, { catchUp: 'all' });
    const fired: string[] = [];
    for (let step = 0; step < 20; step++) {
      clock.now += 500;
      const rounds = await Promise.all(handles.map((h) => h.fireDueSchedules()));
      for (const r of rounds) for (const f of r.fired) fired.push(f.id);
      // Each firing reports lateness from the clock it used.
      for (const r of rounds) for (const f of r.fired) expect(f.latenessMs).toBe(clock.now - f.due);
    }
    const start = Date.UTC(2026, 0, 1, 0, 0, 1);
    const expected = Array.from({ length: 10 }, (_, i) => `sched~race~${start + i * 1000}`);
    expect(fired.sort()).toEqual(expected);
    const got = await drain(handles[0]!);
    expect(got.map((t) => t.id).sort()).toEqual(expected);
    expect(got.every((t) => t.name === 'report' && t.data.job === 'r')).toBe(true);
    const [info] = await handles[0]!.schedules();
    expect(info).toMatchObject({ runs: 10, last: start + 9000, next: start + 10_000 });
  });

  it("decides missed occurrences by catchUp when workers come back: 'all', 'one' or 'none'", async () => {
    const t0 = Date.UTC(2026, 0, 1) + 1;
    const results: Record<string, string[]> = {};
    for (const mode of ['all', 'one', 'none'] as const) {
      const name = uniqueName(`sched-catchup-${mode}`);
      const clock = new TestClock(t0);
      const q = open(name, { scheduleClock: clock.read });
      await q.schedule('m', { every: '1m' }, { data: mode }, { catchUp: mode });
      clock.now = t0 + 5 * 60_000 + 30_000; // no firing for five and a half minutes
      await q.fireDueSchedules();
      clock.now += 60_000; // then on time again
      await q.fireDueSchedules();
      results[mode] = (await drain(q)).map((t) => iso(Number(t.id.split('~')[2])).slice(11, 16)).sort();
      const [info] = await q.schedules();
      expect(info!.next).toBe(Date.UTC(2026, 0, 1, 0, 7));
    }
    expect(results).toEqual({
      all: ['00:01', '00:02', '00:03', '00:04', '00:05', '00:06'],
      one: ['00:05', '00:06'],
      none: ['00:06'],
    });
  });

  it('fires a Europe/Berlin cron at the right instants across both daylight-saving changes (the clock moved, not slept)', async () => {
    const name = uniqueName('sched-dst');
    const fired: Record<string, string[]> = { night: [], morning: [], hourly: [] };
    for (const [from, to] of [
      [Date.UTC(2026, 2, 27, 12), Date.UTC(2026, 2, 31, 0)], // spring forward: 29 March 2026, 02:00 CET -> 03:00 CEST
      [Date.UTC(2026, 9, 23, 12), Date.UTC(2026, 9, 27, 0)], // fall back: 25 October 2026, 03:00 CEST -> 02:00 CET
    ] as const) {
      const clock = new TestClock(from);
      const q = open(name, { scheduleClock: clock.read });
      await q.schedule('night', { cron: '30 2 * * *', tz: 'Europe/Berlin' }, { data: 'night' }, { catchUp: 'none' });
      await q.schedule('morning', { cron: '0 9 * * *', tz: 'Europe/Berlin' }, { data: 'morning' }, { catchUp: 'none' });
      await q.schedule('hourly', { cron: '0 * * * *', tz: 'Europe/Berlin' }, { data: 'hourly' }, { catchUp: 'none' });
      for (; clock.now < to; clock.now += 7 * 60_000) await q.fireDueSchedules();
      for (const t of await drain(q)) fired[t.data as string]!.push(iso(Number(t.id.split('~')[2])));
      for (const id of ['night', 'morning', 'hourly']) await q.unschedule(id);
    }
    expect(fired.night!.sort()).toEqual([
      '2026-03-28T01:30:00.000Z', // 02:30 CET
      '2026-03-29T01:00:00.000Z', // 02:30 does not exist that night: at 03:00 CEST, once
      '2026-03-30T00:30:00.000Z', // 02:30 CEST
      '2026-10-24T00:30:00.000Z', // 02:30 CEST
      '2026-10-25T00:30:00.000Z', // 02:30 happens twice that night: the first time only
      '2026-10-26T01:30:00.000Z', // 02:30 CET
    ]);
    expect(fired.morning!.sort()).toEqual([
      '2026-03-28T08:00:00.000Z',
      '2026-03-29T07:00:00.000Z',
      '2026-03-30T07:00:00.000Z',
      '2026-10-24T07:00:00.000Z',
      '2026-10-25T08:00:00.000Z',
      '2026-10-26T08:00:00.000Z',
    ]);
    // Hourly on local time: the short day has 23 hours, the long one 25.
    const onDay = (d: string): number => fired.hourly!.filter((t) => new Date(t).toLocaleDateString('sv-SE', { timeZone: 'Europe/Berlin' }) === d).length;
    expect([onDay('2026-03-28'), onDay('2026-03-29'), onDay('2026-03-30')]).toEqual([24, 23, 24]);
    expect([onDay('2026-10-24'), onDay('2026-10-25'), onDay('2026-10-26')]).toEqual([24, 25, 24]);
    expect(new Set(fired.hourly).size).toBe(fired.hourly!.length);
  });

  it('fires once per occurrence on a partitioned queue, its record on one slot and each occurrence in the partition a put picks', async () => {
    const name = uniqueName('sched-parts');
    const clock = new TestClock(Date.UTC(2026, 0, 1) + 1);
    const handles = [0, 1, 2].map(() => open<string>(name, { partitions: 4, scheduleClock: clock.read }));
    await handles[0]!.schedule('p', { every: '1s' }, { data: 'x' }, { catchUp: 'all' });
    for (let i = 0; i < 40; i++) {
      clock.now += 250;
      await Promise.all(handles.map((h) => h.fireDueSchedules()));
    }
    const got = await drain(handles[1]!);
    expect(got.map((t) => t.id).sort()).toEqual(Array.from({ length: 10 }, (_, i) => `sched~p~${Date.UTC(2026, 0, 1) + (i + 1) * 1000}`));
    const counts = await handles[0]!.counts();
    expect(counts.completed).toBe(10);
    // The schedule's record is on partition 0's slot only.
    const keys = await adminClient().keys(`asyncq:{${name}*}:aq:schedule*`);
    expect(new Set(keys.map((k) => k.slice(0, k.indexOf('}') + 1))).size).toBe(1);
  });

  it('keeps an occurrence that a full queue refused, and puts it once there is room', async () => {
    const name = uniqueName('sched-full');
    const clock = new TestClock(Date.UTC(2026, 0, 1) + 1);
    const q = open<string>(name, { maxsize: 1, scheduleClock: clock.read });
    await q.put('filler');
    await q.schedule('f', { every: '1s' }, { data: 'tick' }, { catchUp: 'all' });
    clock.now += 1000;
    expect((await q.fireDueSchedules()).fired).toEqual([]); // claimed, but the queue is full
    expect((await q.schedules())[0]!.runs).toBe(1);
    expect(await drain(q)).toMatchObject([{ data: 'filler' }]);
    clock.now += 6000; // past the outbox's stale time: the claimed occurrence is put again, once
    const again = await q.fireDueSchedules();
    const got = await drain(q);
    expect(got.map((t) => t.id).filter((id) => id.endsWith(String(Date.UTC(2026, 0, 1, 0, 0, 1))))).toEqual([`sched~f~${Date.UTC(2026, 0, 1, 0, 0, 1)}`]);
    expect(again.fired.length).toBeGreaterThan(0);
  });
});
