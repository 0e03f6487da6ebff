import { describe, expect, it } from 'vitest';
import { Queue, type FlowRef } from '@asyncq/core';
import { Producer } from '@asyncq/producer';
import { report, secs } from './harness/figures.js';
import { ledgerDir, readLedger } from './harness/ledger.js';
import { RedisServer, sleep } from '@asyncq/test-support';
import { startNode, type ChaosProcess } from './harness/processes.js';

// Issue 20: 5-step durable chains under a worker kill storm. Four worker processes run 100 chains
// while one of them is SIGKILLed every second (and replaced), 12 times. The producer that made the
// chains exits at once: the chains live in Redis. Guarantee: every step takes effect exactly once
// (completed once in Redis, its successor started once, with its result), runs at least once, and
// the steps of a chain run in order: no execution of a step starts before the previous step's
// last execution ended, and no step runs again once its successor started.
const CHAINS = 100;
const STEPS = 5;
const STEP_MS = 400;
const WORKERS = 4;
const KILLS = 12;
const KILL_EVERY_MS = 1000;
const WORKER_OPTIONS = { lease: 2000, stalledInterval: 500 };

describe('5-step chains under a worker kill storm', () => {
  it('every step once in effect, at least once in runs, in order', { timeout: 240_000 }, async () => {
    const redis = await RedisServer.start();
    const dir = ledgerDir('chain-storm');
    const name = 'chains';
    const config = { CHAOS: JSON.stringify({ url: redis.url, queue: name, concurrency: 8, options: WORKER_OPTIONS }), CHAOS_LEDGER_DIR: dir };
    const start = (i: number): ChaosProcess => startNode('futures-worker.mjs', [], { label: `worker ${i}`, env: config });
    const workers = Array.from({ length: WORKERS }, (_, i) => start(i));
    await Promise.all(workers.map((w) => w.waitFor(/started/)));

    const producer = new Producer({ queue: name, connection: redis.url });
    const chains: FlowRef[] = [];
    for (let c = 0; c < CHAINS; c++) {
      chains.push(await producer.chain([{ task: 'step', data: { c, n: 1, ms: STEP_MS } }, ...Array.from({ length: STEPS - 1 }, () => ({ task: 'step' }))]));
    }
    await producer.close(); // the chains go on without it
    const t0 = Date.now();
    const q = new Queue(name, { connection: redis.url });
    try {
      const killedPids: number[] = [];
      for (let k = 0; k < KILLS; k++) {
        await sleep(KILL_EVERY_MS);
        const live = workers.filter((w) => w.alive);
        const victim = live[Math.floor(Math.random() * live.length)]!;
        victim.signal('SIGKILL');
        killedPids.push(victim.pid);
        workers.push(start(workers.length));
      }
      const results = await Promise.all(chains.map((r) => q.ref(r.id).result({ timeout: 120_000 }).catch((e: unknown) => `rejected: ${String(e)}`)));
      await q.join({ timeout: 30_000 });
      const runMs = Date.now() - t0;
      await sleep(WORKER_OPTIONS.lease + 1000); // a step that would run again runs now

      const view = readLedger(dir);
      const states = await Promise.all(chains.flatMap((r) => r.tasks.map((t) => q.ref(t.id).state())));
      const counts = await q.counts();
      let runs = 0;
      let stepsRunTwice = 0;
      const never: string[] = [];
      const outOfOrder: string[] = [];
      const wrong: string[] = [];
      for (let c = 0; c < CHAINS; c++) {
        if (JSON.stringify(results[c]) !== JSON.stringify({ c, n: STEPS + 1, ms: STEP_MS })) wrong.push(`chain ${c}: ${JSON.stringify(results[c])}`);
        for (let n = 1; n <= STEPS; n++) {
          const list = view.byKey.get(`${c}:${n}`) ?? [];
          runs += list.length;
          if (list.length > 1) stepsRunTwice++;
          if (!list.some((e) => e.end !== undefined)) never.push(`${c}:${n}`);
          const next = view.byKey.get(`${c}:${n + 1}`) ?? [];
          if (next.length === 0) continue;
          const nextStart = Math.min(...next.map((e) => e.start));
          // An execution cut short by a kill has no end: it lasted at most until its process died.
          const lastEnd = Math.max(...list.map((e) => e.end ?? (killedPids.includes(e.pid) ? e.start : Infinity)));
          if (!(nextStart >= lastEnd) || list.some((e) => e.start > nextStart)) outOfOrder.push(`${c}:${n}`);
        }
      }
      report('chain-kill-storm', {
        chains: CHAINS,
        steps: CHAINS * STEPS,
        kills: KILLS,
        runs,
        stepsRunTwice,
        stepsNeverFinished: never.length,
        outOfOrder: outOfOrder.length,
        wrongResults: wrong.length,
        completed: counts.completed,
        failed: counts.failed,
        run: secs(runMs),
      });
      expect.soft(wrong.slice(0, 5), `${wrong.length} chains with a wrong result`).toEqual([]);
      expect.soft(states.filter((s) => s !== 'completed').length, 'steps not completed in Redis').toBe(0);
      expect.soft(counts).toMatchObject({ completed: CHAINS * STEPS, failed: 0, unfinished: 0 });
      expect.soft(never.slice(0, 5), 'steps that never ran to their end').toEqual([]);
      expect.soft(outOfOrder.slice(0, 5), `${outOfOrder.length} steps that ran out of order`).toEqual([]);
      expect.soft(stepsRunTwice, 'some steps ran again after a kill (the storm hit running steps)').toBeGreaterThan(0);
    } finally {
      await q.close();
    }
  });
});
