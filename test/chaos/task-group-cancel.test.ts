import { describe, expect, it } from 'vitest';
import { Queue, TaskFailed } from '@asyncq/core';
import { Producer } from '@asyncq/producer';
import { percentile, report, secs } from './harness/figures.js';
import { ledgerDir, readLedger } from './harness/ledger.js';
import { RedisServer, sleep } from '@asyncq/test-support';
import { startNode } from './harness/processes.js';

// Issue 20: a TaskGroup of 500 running tasks on two worker processes, then one more task that
// fails. Guarantee: the group's first failure cancels every sibling, waiting or running, in
// whichever process runs it: none is left running 1 s after the failure, none runs to its end, and
// the group rejects with an AggregateError holding just that failure.
const SIBLINGS = 500;
const CONCURRENCY = 256;
const DEADLINE_MS = 1000;

describe('TaskGroup whose first failure cancels 500 siblings', () => {
  it('leaves none running 1 s after the failure', { timeout: 180_000 }, async () => {
    const redis = await RedisServer.start();
    const dir = ledgerDir('task-group');
    const name = 'group';
    const config = { CHAOS: JSON.stringify({ url: redis.url, queue: name, concurrency: CONCURRENCY }), CHAOS_LEDGER_DIR: dir };
    const workers = [0, 1].map((i) => startNode('futures-worker.mjs', [], { label: `worker ${i}`, env: config }));
    await Promise.all(workers.map((w) => w.waitFor(/started/)));
    const producer = new Producer({ queue: name, connection: redis.url });
    const q = new Queue(name, { connection: redis.url });
    try {
      let failedAt = 0;
      let rejectedAt = 0;
      let abortedAt = 0;
      const outcome = await producer
        .taskGroup(async (tg) => {
          for (let i = 0; i < SIBLINGS; i++) await tg.enqueue('work', { k: `s${i}`, ms: 120_000 });
          await until(() => started(dir) >= SIBLINGS, `the ${SIBLINGS} siblings did not all start`);
          failedAt = Date.now();
          tg.signal.addEventListener('abort', () => (abortedAt = Date.now()));
          await tg.enqueue('work', { k: 'boom', ms: 0, fail: 'the first failure' });
        })
        .then(
          () => 'resolved',
          (e: unknown) => ((rejectedAt = Date.now()), e),
        );
      await sleep(Math.max(0, failedAt + DEADLINE_MS - Date.now()));
      const activeAtDeadline = (await q.counts()).active;
      const view = readLedger(dir);
      const boom = view.byKey.get('boom')?.[0]?.start ?? failedAt;
      const cancelSeen: number[] = [];
      let ranToEnd = 0;
      let notToldByDeadline = 0;
      for (let i = 0; i < SIBLINGS; i++) {
        const at = view.cancels.get(`s${i}`);
        if (at === undefined || at > boom + DEADLINE_MS) notToldByDeadline++;
        if (at !== undefined) cancelSeen.push(at - boom);
        if ((view.byKey.get(`s${i}`) ?? []).some((e) => e.end !== undefined)) ranToEnd++;
      }
      await q.join({ timeout: 30_000 });
      const counts = await q.counts();
      const errors = outcome instanceof AggregateError ? outcome.errors : [];
      report('task-group-cancel', {
        siblings: SIBLINGS,
        workers: workers.length,
        activeAfter1s: activeAtDeadline,
        toldAfter1s: notToldByDeadline,
        ranToEnd,
        cancelSeenP50: `${percentile(cancelSeen, 0.5) ?? '-'}ms`,
        cancelSeenP99: `${percentile(cancelSeen, 0.99) ?? '-'}ms`,
        cancelSeenMax: `${percentile(cancelSeen, 1) ?? '-'}ms`,
        groupShutDownAfter: `${abortedAt - boom}ms`,
        groupRejectedAfter: rejectedAt ? secs(rejectedAt - boom) : 'never',
        errors: errors.length,
        cancelled: counts.cancelled,
        failed: counts.failed,
      });
      expect.soft(outcome, 'the group rejects with an AggregateError').toBeInstanceOf(AggregateError);
      expect.soft(errors.map((e: unknown) => (e instanceof TaskFailed ? e.remoteMessage : String(e)))).toEqual(['the first failure']);
      expect.soft(activeAtDeadline, `tasks still running ${DEADLINE_MS} ms after the failure`).toBe(0);
      expect.soft(notToldByDeadline, `siblings whose handler was not told within ${DEADLINE_MS} ms`).toBe(0);
      expect.soft(ranToEnd, 'siblings that ran to their end').toBe(0);
      expect.soft(counts).toMatchObject({ cancelled: SIBLINGS, failed: 1, unfinished: 0 });
    } finally {
      await Promise.all([producer.close(), q.close()]);
    }
  });
});

/** How many executions have started, per the ledger. */
function started(dir: string): number {
  let n = 0;
  for (const list of readLedger(dir).byKey.values()) n += list.length;
  return n;
}

async function until(check: () => boolean, what: string, ms = 60_000): Promise<void> {
  const end = Date.now() + ms;
  while (!check()) {
    if (Date.now() > end) throw new Error(what);
    await sleep(100);
  }
}
