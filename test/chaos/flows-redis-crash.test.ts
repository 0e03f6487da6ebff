import { describe, expect, it } from 'vitest';
import { Queue, type FlowRef } from '@asyncq/core';
import { Producer } from '@asyncq/producer';
import { report, secs } from './harness/figures.js';
import { ledgerDir, readLedger } from './harness/ledger.js';
import { RedisServer, sleep } from '@asyncq/test-support';
import { startNode } from './harness/processes.js';

// Issue 20: durable chains and chords through a Redis crash. Redis (AOF `appendfsync always`) is
// SIGKILLed while 40 three-step chains and 20 chords of 3 run on two worker processes, and
// restarted on its dir 3 s later; the producer that made the flows is gone before the crash.
// Guarantee: the flows live in Redis, so every one finishes with the right result, every chain
// step in order, every chord's callback exactly once.
const CHAINS = 40;
const CHORDS = 20;
const STEP_MS = 300;

describe('chains and chords through a Redis SIGKILL and restart with AOF', () => {
  it('every flow finishes, in order, each callback once', { timeout: 200_000 }, async () => {
    const redis = await RedisServer.start({ aof: true });
    const dir = ledgerDir('flows-aof');
    const name = 'flowsaof';
    const config = { CHAOS: JSON.stringify({ url: redis.url, queue: name, concurrency: 16, options: { lease: 3000, stalledInterval: 1000 } }), CHAOS_LEDGER_DIR: dir };
    const workers = [0, 1].map((i) => startNode('futures-worker.mjs', [], { label: `worker ${i}`, env: config }));
    await Promise.all(workers.map((w) => w.waitFor(/started/)));

    const producer = new Producer({ queue: name, connection: redis.url });
    const chains: FlowRef[] = [];
    const chords: FlowRef[] = [];
    for (let c = 0; c < CHAINS; c++) chains.push(await producer.chain([{ task: 'step', data: { c, n: 1, ms: STEP_MS } }, { task: 'step' }, { task: 'step' }]));
    for (let d = 0; d < CHORDS; d++) {
      chords.push(await producer.chord([0, 1, 2].map((j) => ({ task: 'work', data: { k: `d${d}.${j}`, ms: STEP_MS * (1 + j) } })), { task: 'collect' }));
    }
    await producer.close();
    await sleep(600);
    const killedAt = Date.now();
    await redis.kill();
    await sleep(3000);
    await redis.restart();
    const restartedAt = Date.now();

    const q = new Queue(name, { connection: redis.url });
    try {
      const chainResults = await Promise.all(chains.map((r) => q.ref(r.id).result({ timeout: 90_000 }).catch((e: unknown) => `rejected: ${String(e)}`)));
      const chordResults = await Promise.all(chords.map((r) => q.ref(r.id).result({ timeout: 90_000 }).catch((e: unknown) => `rejected: ${String(e)}`)));
      await q.join({ timeout: 30_000 });
      const doneAt = Date.now();
      await sleep(4000); // past a lease: a callback or step that would run again runs now
      const view = readLedger(dir);
      const wrong: string[] = [];
      const outOfOrder: string[] = [];
      for (let c = 0; c < CHAINS; c++) {
        if (JSON.stringify(chainResults[c]) !== JSON.stringify({ c, n: 4, ms: STEP_MS })) wrong.push(`chain ${c}: ${JSON.stringify(chainResults[c])}`);
        for (let n = 1; n < 3; n++) {
          const ends = (view.byKey.get(`${c}:${n}`) ?? []).map((e) => e.end ?? e.start);
          const next = (view.byKey.get(`${c}:${n + 1}`) ?? []).map((e) => e.start);
          if (ends.length === 0 || next.length === 0 || Math.min(...next) < Math.max(...ends)) outOfOrder.push(`${c}:${n}`);
        }
      }
      const callbacks = Array.from({ length: CHORDS }, (_, d) => (view.byKey.get(`cb:d${d}.0`) ?? []).length);
      for (let d = 0; d < CHORDS; d++) {
        if (JSON.stringify(chordResults[d]) !== JSON.stringify([0, 1, 2].map((j) => `d${d}.${j}`))) wrong.push(`chord ${d}: ${JSON.stringify(chordResults[d])}`);
      }
      const counts = await q.counts();
      report('flows-redis-crash', {
        chains: CHAINS,
        chords: CHORDS,
        wrongResults: wrong.length,
        outOfOrder: outOfOrder.length,
        callbacksOnce: callbacks.filter((n) => n === 1).length,
        callbacksTwice: callbacks.filter((n) => n > 1).length,
        callbacksNever: callbacks.filter((n) => n === 0).length,
        down: secs(restartedAt - killedAt),
        finishedAfterRestart: secs(doneAt - restartedAt),
        failed: counts.failed,
        unfinished: counts.unfinished,
      });
      expect.soft(wrong.slice(0, 5), `${wrong.length} flows with a wrong result`).toEqual([]);
      expect.soft(outOfOrder.slice(0, 5), `${outOfOrder.length} chain steps out of order`).toEqual([]);
      expect.soft(callbacks.filter((n) => n !== 1), 'chord callbacks that did not run exactly once').toEqual([]);
      expect.soft(counts).toMatchObject({ failed: 0, unfinished: 0 });
    } finally {
      await q.close();
    }
  });
});
