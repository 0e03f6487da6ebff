import { describe, expect, it } from 'vitest';
import { Queue } from '@asyncq/core';
import { report, secs } from './harness/figures.js';
import { ledgerDir, readLedger } from './harness/ledger.js';
import { outputProblems } from './harness/output-hygiene.js';
import { RedisServer, sleep } from '@asyncq/test-support';
import { startNode, type ChaosProcess } from './harness/processes.js';

// Schedules under chaos (issue 22): 3 worker processes fire an `every: '1s'` schedule that 2
// producers keep upserting for 60 s; one worker is SIGKILLed at second 20 and restarted, and Redis
// (AOF, appendfsync always) is SIGKILLed at second 40 and restarted 3 s later. Guarantee (README,
// "Schedules"): each due time is enqueued exactly once; with catchUp 'all' the ones due while Redis
// was down are enqueued when it is back, so the due times run form one gapless sequence.
const RUN_MS = 60_000;

describe('a schedule through a worker SIGKILL and a Redis restart', () => {
  it('enqueues every due time exactly once: no gaps, no doubles', { timeout: 150_000 }, async () => {
    const redis = await RedisServer.start({ aof: true });
    const dir = ledgerDir('schedules');
    const name = 'sched-chaos';
    const env = { CHAOS_LEDGER_DIR: dir };
    const startWorker = (i: number): ChaosProcess =>
      startNode('worker.mjs', [], { label: `worker w${i}`, env: { ...env, CHAOS: JSON.stringify({ url: redis.url, queue: name, concurrency: 2 }) } });
    const workers = [0, 1, 2].map(startWorker);
    await Promise.all(workers.map((w) => w.waitFor(/started/)));
    const t0 = Date.now();
    const producers = [0, 1].map((i) =>
      startNode('schedule-upserter.mjs', [], {
        label: `producer p${i}`,
        env: { CHAOS: JSON.stringify({ url: redis.url, queue: name, id: 'beat', spec: { every: '1s' }, template: { data: {} }, opts: { catchUp: 'all' }, everyMs: 500 + 250 * i, untilMs: t0 + RUN_MS }) },
      }),
    );
    const firstNext = Number((await producers[0]!.waitFor(/upserted (\d+)/))[1]);

    await sleep(20_000 - (Date.now() - t0));
    const killed = workers[0]!;
    killed.signal('SIGKILL');
    await killed.exitWithin(10_000);
    await sleep(1000);
    const restarted = startWorker(3);
    await restarted.waitFor(/started/, 30_000);

    await sleep(Math.max(0, 40_000 - (Date.now() - t0)));
    const redisKilledAt = Date.now();
    await redis.kill();
    await sleep(3000);
    await redis.restart();
    const redisBackAt = Date.now();

    const ends = await Promise.all(producers.map((p) => p.exitWithin(RUN_MS + 30_000)));
    expect(ends.map((e) => e?.code)).toEqual([0, 0]);
    // Stop the schedule, then let the fleet finish what was enqueued.
    const q = new Queue(name, { connection: redis.url });
    try {
      const [info] = await q.schedules();
      await q.unschedule('beat');
      await sleep(1500); // a firing in flight puts what it claimed
      await q.join({ timeout: 60_000 });
      const counts = await q.counts();

      const view = readLedger(dir);
      const dues = [...view.byKey.keys()].filter((k) => k.startsWith('sched~beat~')).map((k) => Number(k.split('~')[2])).sort((a, b) => a - b);
      const gaps = dues.slice(1).filter((d, i) => d - dues[i]! !== 1000).map((d, i) => [dues[i], d]);
      // A task runs twice only when its worker died holding it: never because it was put twice.
      const reRun = [...view.byKey.entries()].filter(([, runs]) => runs.length > 1 && !runs.some((r) => r.pid === killed.pid));
      const lateness = [...view.byKey.entries()].map(([k, runs]) => Math.min(...runs.map((r) => r.start)) - Number(k.split('~')[2]));
      report('schedules', {
        occurrences: dues.length,
        gaps: gaps.length,
        reRunNotByKill: reRun.length,
        runsRecorded: info?.runs,
        completed: counts.completed,
        redisOutage: secs(redisBackAt - redisKilledAt),
        p50StartLateness: secs(lateness.sort((a, b) => a - b)[Math.floor(lateness.length / 2)]),
        maxStartLateness: secs(Math.max(...lateness)),
      });
      console.log(`[chaos] schedules output problems: ${JSON.stringify([...workers, restarted, ...producers].flatMap((p) => outputProblems(p.output).map((x) => `${p.label}: ${x}`)))}`);

      expect(dues[0]).toBe(firstNext);
      expect(gaps).toEqual([]);
      expect(new Set(dues).size).toBe(dues.length);
      // About one a second from the first upsert until the unschedule (generous bounds: a loaded machine).
      expect(dues.length).toBeGreaterThanOrEqual(50);
      expect(dues.at(-1)! - dues[0]!).toBe((dues.length - 1) * 1000);
      expect(info!.runs).toBe(dues.length - (dues.at(-1)! > info!.last! ? (dues.at(-1)! - info!.last!) / 1000 : 0));
      expect(counts.completed).toBe(dues.length); // each occurrence is one task, completed once
      expect(reRun).toEqual([]);
    } finally {
      await q.close();
      for (const w of [...workers, restarted]) w.signal('SIGTERM');
      await Promise.all([...workers, restarted].map((w) => w.exitWithin(15_000)));
    }
  });
});
