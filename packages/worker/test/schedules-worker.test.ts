// Workers drive schedules (no beat process): two workers fire one `every` schedule with Redis's
// own clock; each occurrence runs once, and each worker's metrics count what it fired.
import { describe, expect, it } from 'vitest';
import { Queue } from '@asyncq/core';
import { defineHandlers, Worker } from '@asyncq/worker';
import { eventually, redisUrl, sleep, track, uniqueName } from '@asyncq/test-support';

/** The value of one sample line of a Prometheus text page, summed over lines that match. */
function metricSum(text: string, line: RegExp): number {
  return text.split('\n').filter((l) => line.test(l)).reduce((a, l) => a + Number(l.split(' ').pop()), 0);
}

describe('schedules driven by workers', () => {
  it('two workers run each due time of an every-200ms schedule once, and count runs and lateness', async () => {
    const name = uniqueName('w-sched');
    const producer = track(new Queue(name, { connection: redisUrl() }), name);
    const ran: string[] = [];
    const workers = [0, 1].map(() => {
      const w = new Worker(name, defineHandlers({ tick: async (_d, ctx) => void ran.push(ctx.id) }), { connection: redisUrl(), handleSignals: false });
      track({ close: () => w.close({ graceMs: 0 }) }, name);
      void w.run();
      return w;
    });
    await Promise.all(workers.map((w) => w.started));
    await producer.schedule('fast', { every: '200ms' }, { name: 'tick', data: {} }, { catchUp: 'all' });
    await eventually(() => expect(ran.length).toBeGreaterThanOrEqual(10), 20_000);
    await producer.unschedule('fast');
    await sleep(300); // a firing in flight at the unschedule puts what it claimed
    await producer.join({ timeout: 10_000 });
    const dues = ran.map((id) => Number(id.split('~')[2])).sort((a, b) => a - b);
    expect(new Set(dues).size).toBe(dues.length); // no doubles
    for (let i = 1; i < dues.length; i++) expect(dues[i]! - dues[i - 1]!).toBe(200); // no gaps
    const pages = await Promise.all(workers.map((w) => w.metrics.registry.metrics()));
    const runs = pages.map((p) => metricSum(p, new RegExp(`^asyncq_schedule_runs_total\\{queue="${name}",schedule="fast"\\}`)));
    expect(runs[0]! + runs[1]!).toBe(dues.length);
    const observed = pages.map((p) => metricSum(p, new RegExp(`^asyncq_schedule_lateness_seconds_count\\{queue="${name}",schedule="fast"\\}`)));
    expect(observed[0]! + observed[1]!).toBe(dues.length);
  });
});
