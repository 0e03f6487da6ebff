import { describe, expect, it } from 'vitest';
import { Queue, TaskCancelled, type TaskRef } from '@asyncq/core';
import { percentile, report, secs } from './harness/figures.js';
import { ledgerDir, readLedger } from './harness/ledger.js';
import { RedisServer, sleep } from '@asyncq/test-support';
import { startNode, type ChaosProcess } from './harness/processes.js';

// Issue 20: cancel a running task while the worker running it is SIGKILLed, in three orders (kill
// then cancel, cancel then kill, both at once). Guarantee: the cancel is durable. A cancelled task
// does not run again after the cancel, neither when the dead worker's lease runs out nor on a
// worker that starts later; its ref says cancelled. Beside each target runs a control task that is
// not cancelled: it must come back on the later worker, which shows the kill really handed back.
const PER_ROUND = 8;
const ORDERS = ['kill-then-cancel', 'cancel-then-kill', 'together'] as const;
/** Short, so a task the dead worker held comes back within seconds if nothing stops it. */
const WORKER_OPTIONS = { lease: 2000, stalledInterval: 500 };
/** After the controls came back, the later worker keeps running this long: a target that came back would run now. */
const WATCH_MS = 3000;

describe('cancel while the running worker is SIGKILLed', () => {
  it('a cancelled task never runs again; its neighbours come back', { timeout: 200_000 }, async () => {
    const redis = await RedisServer.start();
    const dir = ledgerDir('cancel-kill');
    const name = 'cancelkill';
    const config = { CHAOS: JSON.stringify({ url: redis.url, queue: name, concurrency: 2 * PER_ROUND, options: WORKER_OPTIONS }), CHAOS_LEDGER_DIR: dir };
    const q = new Queue(name, { connection: redis.url });
    const figures: Record<string, string | number> = {};
    const problems: string[] = [];
    const comeBack: number[] = [];
    try {
      for (const order of ORDERS) {
        const a = startNode('futures-worker.mjs', [], { label: `worker A (${order})`, env: config });
        await a.waitFor(/started/);
        const targets: TaskRef[] = [];
        const controls: TaskRef[] = [];
        for (let i = 0; i < PER_ROUND; i++) {
          targets.push(await q.submit({ k: `${order}:t${i}`, ms: 60_000 }, { name: 'work' }));
          controls.push(await q.submit({ k: `${order}:c${i}`, ms: 3000 }, { name: 'work' }));
        }
        await until(() => startsOf(dir, order) === 2 * PER_ROUND, `worker A did not start all ${2 * PER_ROUND} tasks of ${order}`);
        const cancels = await killAndCancel(order, a, targets);
        const at = Date.now();
        const b = startNode('futures-worker.mjs', [], { label: `worker B (${order})`, env: config });
        await b.waitFor(/started/);
        await Promise.all(controls.map((c) => c.result({ timeout: 30_000 })));
        await sleep(WATCH_MS);
        b.signal('SIGTERM');
        await b.exitWithin(5000);

        const view = readLedger(dir);
        const ranAgain = targets.filter((_, i) => (view.byKey.get(`${order}:t${i}`) ?? []).length > 1).length;
        const states = await Promise.all(targets.map((t) => t.state()));
        const results = await Promise.all(targets.map((t) => t.result({ timeout: 1000 }).then(() => 'resolved', (e: unknown) => (e instanceof TaskCancelled ? 'cancelled' : String(e)))));
        for (let i = 0; i < PER_ROUND; i++) {
          const again = (view.byKey.get(`${order}:c${i}`) ?? []).filter((e) => e.pid !== a.pid);
          if (again[0]) comeBack.push(again[0].start - at);
        }
        figures[`${order}.cancelTrue`] = cancels.filter(Boolean).length;
        figures[`${order}.ranAgain`] = ranAgain;
        figures[`${order}.stateCancelled`] = states.filter((s) => s === 'cancelled').length;
        figures[`${order}.controlsBack`] = controls.length;
        if (ranAgain > 0) problems.push(`${order}: ${ranAgain} cancelled tasks ran again`);
        if (cancels.some((c) => !c)) problems.push(`${order}: cancel returned false for a running task`);
        if (states.some((s) => s !== 'cancelled')) problems.push(`${order}: states ${states.join(',')}`);
        if (results.some((r) => r !== 'cancelled')) problems.push(`${order}: results ${results.join(',')}`);
      }
      const counts = await q.counts();
      report('cancel-kill', { ...figures, controlComeBackP99: secs(percentile(comeBack, 0.99)), cancelled: counts.cancelled, unfinished: counts.unfinished, completed: counts.completed });
      expect.soft(problems).toEqual([]);
      expect.soft(counts).toMatchObject({ cancelled: ORDERS.length * PER_ROUND, completed: ORDERS.length * PER_ROUND, unfinished: 0 });
      expect.soft(comeBack.length, 'every control task came back on the later worker').toBe(ORDERS.length * PER_ROUND);
    } finally {
      await q.close();
    }
  });
});

/** Kills worker A and cancels the targets, in `order`; resolves to what each cancel returned. */
async function killAndCancel(order: (typeof ORDERS)[number], a: ChaosProcess, targets: TaskRef[]): Promise<boolean[]> {
  const cancel = (): Promise<boolean[]> => Promise.all(targets.map((t) => t.cancel({ reason: `chaos ${order}` })));
  if (order === 'kill-then-cancel') {
    a.signal('SIGKILL');
    await a.exited;
    return cancel();
  }
  if (order === 'cancel-then-kill') {
    const out = await cancel();
    a.signal('SIGKILL');
    await a.exited;
    return out;
  }
  const pending = cancel();
  a.signal('SIGKILL');
  const out = await pending;
  await a.exited;
  return out;
}

/** Executions started for `order`'s tasks so far. */
function startsOf(dir: string, order: string): number {
  let n = 0;
  for (const [key, list] of readLedger(dir).byKey) if (key.startsWith(`${order}:`)) n += list.length;
  return n;
}

async function until(check: () => boolean, what: string, ms = 20_000): Promise<void> {
  const end = Date.now() + ms;
  while (!check()) {
    if (Date.now() > end) throw new Error(what);
    await sleep(50);
  }
}
