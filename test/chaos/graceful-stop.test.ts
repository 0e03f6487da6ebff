import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { report, secs } from './harness/figures.js';
import { finishedMoreThanOnce, ledgerDir, overlaps, readLedger, unfinishedKeys } from './harness/ledger.js';
import { RedisServer, sleep } from '@asyncq/test-support';
import { FIXTURES, runCli, startCli } from './harness/processes.js';

// Scenario 6 (issue 10): SIGTERM a worker with 16 running tasks whose handlers ignore ctx.signal and
// run past a short grace. Guarantee: a graceful stop never runs a task twice on purpose: the worker
// exits, the same task never runs in two processes at once, and every task completes exactly once.
const TASKS = 16;
/** Long past the grace: a worker that waits for its handlers instead of stopping shows up as a late exit. */
const TASK_MS = 10_000;
const GRACE_MS = 500;

describe('graceful stop with handlers that ignore ctx.signal', () => {
  it('exits, never overlaps two executions of a task, and completes each task exactly once', { timeout: 120_000 }, async () => {
    const redis = await RedisServer.start();
    const dir = ledgerDir('grace');
    const name = 'grace';
    const env = { REDIS_URL: redis.url, CHAOS_LEDGER_DIR: dir };
    const handlers = `${FIXTURES}ledger-handlers.mjs`;
    const first = startCli(['worker', handlers, '-q', name, '-c', String(TASKS), '--grace', String(GRACE_MS)], { env, label: 'worker A' });
    await first.waitFor(/runs grace/);
    const keys = Array.from({ length: TASKS }, (_, i) => `g${i}`);
    const file = join(dir, 'tasks.ndjson');
    writeFileSync(file, keys.map((k) => JSON.stringify({ k, ms: TASK_MS, ignoreSignal: true })).join('\n') + '\n');
    expect((await runCli(['put', name, '--file', file], { env })).code).toBe(0);
    const running = (): number => [...readLedger(dir).byKey.values()].filter((l) => l.some((e) => e.pid === first.pid && e.end === undefined)).length;
    for (let i = 0; i < 100 && running() < TASKS; i++) await sleep(50);
    expect(running(), 'worker A runs all 16 tasks at once').toBe(TASKS);
    // Another worker waits, idle, ready to take whatever A hands back.
    const second = startCli(['worker', handlers, '-q', name, '-c', String(TASKS)], { env, label: 'worker B' });
    await second.waitFor(/runs grace/);
    expect(running(), 'all 16 still run when the SIGTERM comes').toBe(TASKS);

    const termAt = Date.now();
    first.signal('SIGTERM');
    const exit = await first.exitWithin(TASK_MS + 5000);
    // Every task completed in Redis (by whichever worker), or 2 task lengths at most.
    const admin = redis.client();
    const finished = async (): Promise<{ completed: number; failed: number }> => ({
      completed: await admin.zcard(`asyncq:{${name}}:completed`),
      failed: await admin.zcard(`asyncq:{${name}}:failed`),
    });
    let counts = await finished();
    for (let i = 0; i < 100 && counts.completed + counts.failed < TASKS; i++) {
      await sleep(250);
      counts = await finished();
    }
    await sleep(500); // a straggling duplicate would record its end now
    const view = readLedger(dir);
    // An execution that never recorded its end lasted until its process ended (its own exit record, else when we saw it go).
    const processEnd = (pid: number): number | undefined => view.exits.get(pid) ?? (pid === first.pid ? exit?.at : undefined);
    const overlapping = overlaps(view, (e) => processEnd(e.pid));
    const startedTwice = [...view.byKey.values()].filter((l) => l.length > 1).length;
    // A handler that ran to its end twice did its work twice, whatever Redis recorded.
    const twice = finishedMoreThanOnce(view);
    const notDone = unfinishedKeys(view, keys);

    report('graceful-stop', {
      tasks: TASKS,
      grace: `${GRACE_MS}ms`,
      workerExit: exit ? `${exit.code ?? exit.signal}@+${secs(exit.at - termAt)}` : 'still running',
      startedTwice,
      overlapping: overlapping.length,
      maxOverlap: secs(Math.max(0, ...overlapping.map((o) => o.overlapMs))),
      completedTwice: twice.length,
      notCompleted: notDone.length,
      redisCompleted: counts.completed,
      redisFailed: counts.failed,
    });

    expect.soft(exit, `worker A still runs ${secs(TASK_MS + 5000)} after SIGTERM`).toBeDefined();
    expect.soft(exit ? exit.at - termAt : Infinity, `worker A exited ${exit ? secs(exit.at - termAt) : 'never'} after SIGTERM with --grace ${GRACE_MS}: it waited for handlers that ignore ctx.signal`).toBeLessThan(GRACE_MS + 3000);
    expect.soft(overlapping.slice(0, 5), `${overlapping.length} tasks ran in two processes at once`).toEqual([]);
    expect.soft(twice, 'tasks whose handler completed twice').toEqual([]);
    expect.soft(notDone, 'tasks that never completed').toEqual([]);
    expect.soft(counts.completed, 'every task completed in Redis').toBe(TASKS);
    expect.soft(counts.failed, 'no task failed (a hand-back is not a failed attempt)').toBe(0);
  });
});
