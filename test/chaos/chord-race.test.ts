import { describe, expect, it } from 'vitest';
import { Queue } from '@asyncq/core';
import { percentile, report, secs } from './harness/figures.js';
import { ledgerDir, readLedger } from './harness/ledger.js';
import { RedisServer, sleep } from '@asyncq/test-support';
import { startNode } from './harness/processes.js';

// Issue 20: a chord whose last two tasks finish at the same instant, 1,000 times. Each chord's
// group is two `meet` tasks that return at one wall-clock instant, on two worker processes: the
// queue is a priority queue and every wave's first tasks go before its second ones, so with each
// worker taking a wave's worth, one worker tends to run the first tasks and the other the second. Guarantee: the callback is enqueued exactly once, with the group's results in
// order, every time: never twice (both finishers think they were last), never lost (each thinks
// the other was).
const CHORDS = 1000;
const PER_WAVE = 25;
/** From a wave's enqueue to the instant its tasks return: long enough for both to be running. */
const MEET_AFTER_MS = 300;
const QUEUE_OPTIONS = { order: 'priority' as const, keepCompleted: 5 * CHORDS };

describe('chord whose last two tasks finish concurrently', () => {
  it('runs the callback exactly once, in group order, 1,000 times', { timeout: 240_000 }, async () => {
    const redis = await RedisServer.start();
    const dir = ledgerDir('chord-race');
    const name = 'chordrace';
    const config = { CHAOS: JSON.stringify({ url: redis.url, queue: name, concurrency: PER_WAVE, queueOptions: QUEUE_OPTIONS }), CHAOS_LEDGER_DIR: dir };
    const workers = [0, 1].map((i) => startNode('futures-worker.mjs', [], { label: `worker ${i}`, env: config }));
    await Promise.all(workers.map((w) => w.waitFor(/started/)));
    const q = new Queue(name, { connection: redis.url, ...QUEUE_OPTIONS });
    const waits: Promise<unknown>[] = []; // waiting from the start: a result is there however many finished since
    const t0 = Date.now();
    try {
      for (let wave = 0; wave * PER_WAVE < CHORDS; wave++) {
        const at = Date.now() + MEET_AFTER_MS;
        const ids = Array.from({ length: Math.min(PER_WAVE, CHORDS - wave * PER_WAVE) }, (_, j) => wave * PER_WAVE + j);
        const group = (i: number) => [{ name: 'meet', data: { k: `c${i}a`, at }, opts: { priority: 2 } }, { name: 'meet', data: { k: `c${i}b`, at }, opts: { priority: 3 } }];
        const made = await Promise.all(ids.map((i) => q.chord(group(i), { name: 'collect', opts: { priority: 1 } })));
        waits.push(...made.map((r) => r.result({ timeout: 120_000 }).catch((e: unknown) => `rejected: ${String(e)}`)));
        await sleep(Math.max(0, at - Date.now()) + 30);
      }
      const results = await Promise.all(waits);
      await q.join({ timeout: 30_000 });
      await sleep(500); // a second callback, were there one, would run now
      const runMs = Date.now() - t0;

      const view = readLedger(dir);
      const wrong: string[] = [];
      const callbackRuns: number[] = [];
      const gaps: number[] = [];
      let split = 0;
      for (let i = 0; i < CHORDS; i++) {
        if (JSON.stringify(results[i]) !== JSON.stringify([`c${i}a`, `c${i}b`])) wrong.push(`chord ${i}: ${JSON.stringify(results[i])}`);
        callbackRuns.push((view.byKey.get(`cb:c${i}a`) ?? []).length);
        const a = view.byKey.get(`c${i}a`)?.[0];
        const b = view.byKey.get(`c${i}b`)?.[0];
        if (a?.end !== undefined && b?.end !== undefined) gaps.push(Math.abs(a.end - b.end));
        if (a && b && a.pid !== b.pid) split++;
      }
      const twice = callbackRuns.filter((n) => n > 1).length;
      const never = callbackRuns.filter((n) => n === 0).length;
      const counts = await q.counts();
      report('chord-race', {
        chords: CHORDS,
        callbacksOnce: callbackRuns.filter((n) => n === 1).length,
        callbacksTwice: twice,
        callbacksNever: never,
        wrongResults: wrong.length,
        pairsOnTwoWorkers: split,
        finishGapP50: `${percentile(gaps, 0.5) ?? '-'}ms`,
        finishGapP99: `${percentile(gaps, 0.99) ?? '-'}ms`,
        completed: counts.completed,
        unfinished: counts.unfinished,
        run: secs(runMs),
      });
      expect.soft(twice, 'chords whose callback ran twice').toBe(0);
      expect.soft(never, 'chords whose callback never ran').toBe(0);
      expect.soft(wrong.slice(0, 5), `${wrong.length} chords with a wrong result`).toEqual([]);
      expect.soft(counts).toMatchObject({ completed: 3 * CHORDS, unfinished: 0, failed: 0 });
      expect.soft(split, 'some pairs ran on two worker processes').toBeGreaterThan(CHORDS / 10);
    } finally {
      await q.close();
    }
  });
});
