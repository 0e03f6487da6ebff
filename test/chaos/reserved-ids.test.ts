import { describe, expect, it } from 'vitest';
import { Queue } from '@asyncq/core';
import { queueKeys } from '@asyncq/core/internal';
import { report } from './harness/figures.js';
import { linesOf, outputProblems } from './harness/output-hygiene.js';
import { runCli } from './harness/processes.js';
import { storedTasks } from './harness/queue-peek.js';
import { RedisServer } from '@asyncq/test-support';

// Scenario 9 (issue 17): task ids equal to the queue's own key names. A task's hash lives at
// <prefix>:{queue}:<id>, beside BullMQ's and asyncq's keys, so a custom (dedup) id such as "meta" or
// "wait" either finds that key and "deduplicates" against it (put returns the id, nothing is
// enqueued) or overwrites it with task fields (the queue turns QueueCorrupt for good). Dedup ids
// often come from user data. Guarantee: such ids are refused with one line (ConfigError, code
// BAD_CONFIG; the CLI exits 1), and dedup asks whether a *task* with the id exists, not any key.
const BULLMQ_KEYS = ['meta', 'wait', 'id', 'delayed', 'active', 'failed', 'completed', 'paused', 'prioritized', 'pc', 'waiting-children', 'events', 'marker', 'stalled', 'stalled-check', 'limiter', 'repeat', 'de', 'metrics'];
const ASYNCQ_KEYS = ['aq:state', 'aq:stats', 'aq:leases', 'aq:stalled', 'aq:signals', 'aq:partitions', 'aq:held:x'];
const RESERVED = [...BULLMQ_KEYS, ...ASYNCQ_KEYS];

interface Attempt {
  id: string;
  outcome: 'refused' | 'enqueued' | 'phantom' | 'error';
  detail: string;
}

describe('task ids equal to the queue\'s own key names', () => {
  it('are refused with one ConfigError line; a planted key is never mistaken for a task; the queue never turns corrupt', { timeout: 90_000 }, async () => {
    const redis = await RedisServer.start();
    const name = 'reserved-ids';
    const q = new Queue(name, { connection: redis.url });
    // Every kind of key exists: waiting, delayed and completed tasks.
    await q.putMany(Array.from({ length: 5 }, (_, i) => ({ item: { k: `plain-${i}` } })));
    await q.put({ k: 'later' }, { delay: 600_000 });
    await q.get();
    await q.taskDone();
    const admin = redis.client();
    const keys = queueKeys('asyncq', name);

    const attempts: Attempt[] = [];
    for (const id of RESERVED) {
      try {
        const got = await q.put({ k: `r-${id}` }, { id });
        const stored = await storedTasks(admin, name);
        const mine = stored.some((t) => t.id === got && t.k === `r-${id}`);
        attempts.push({ id, outcome: mine ? 'enqueued' : 'phantom', detail: `put returned ${got}` });
      } catch (e) {
        const err = e as { code?: string; name?: string; message?: string };
        const oneLine = !String(err.message).includes('\n');
        const refused = err.code === 'BAD_CONFIG' && err.name === 'ConfigError' && oneLine && String(err.message).includes(id);
        attempts.push({ id, outcome: refused ? 'refused' : 'error', detail: `${err.name}/${err.code}: ${String(err.message).slice(0, 160)}` });
      }
    }

    // A batch holding one reserved id is refused whole, before anything reaches Redis.
    const before = (await storedTasks(admin, name)).length;
    let batchError: { code?: string } | undefined;
    try {
      await q.putMany([{ item: { k: 'b-1' } }, { item: { k: 'b-2' }, opts: { id: 'wait' } }, { item: { k: 'b-3' } }]);
    } catch (e) {
      batchError = e as { code?: string };
    }
    const batchStored = (await storedTasks(admin, name)).length - before;

    // A key under the queue that is no task (planted by hand): dedup must not take it for one.
    await admin.set(keys.job('planted-1'), 'not a task');
    let planted: Attempt;
    try {
      const got = await q.put({ k: 'planted' }, { id: 'planted-1' });
      const mine = (await storedTasks(admin, name)).some((t) => t.id === got && t.k === 'planted');
      planted = { id: 'planted-1', outcome: mine ? 'enqueued' : 'phantom', detail: `put returned ${got}` };
    } catch (e) {
      const err = e as { code?: string; name?: string; message?: string };
      planted = { id: 'planted-1', outcome: 'error', detail: `${err.name}/${err.code}: ${String(err.message).slice(0, 160)}` };
    }

    // The queue afterwards: counts, a put, a get and a join all work; nothing reports QueueCorrupt.
    const health: string[] = [];
    const step = async (what: string, fn: () => Promise<unknown>): Promise<void> => {
      try {
        await fn();
      } catch (e) {
        health.push(`${what}: ${(e as { code?: string }).code ?? (e as Error).name}: ${String((e as Error).message).slice(0, 120)}`);
      }
    };
    await step('counts', () => q.counts());
    await step('put', () => q.put({ k: 'after' }));
    await step('drain', async () => {
      for (;;) {
        const t = await q.getTask({ timeout: 2000 }).catch(() => undefined);
        if (!t) break;
        await t.done();
      }
    });
    await step('join', async () => {
      // The delayed task stays; join must not report corruption while it waits for it.
      await q.join({ timeout: 1500 }).catch((e: { code?: string }) => {
        if (e.code !== 'TIMEOUT') throw e;
      });
    });
    await q.close();

    // The CLI, on the commands that take a task id: one line and exit 1, never "unexpected error".
    const cli: { args: string; code: number | null; lines: string[]; problems: string[] }[] = [];
    for (const args of [['logs', name, 'wait'], ['logs', name, 'meta'], ['remove', name, 'wait'], ['promote', name, 'delayed'], ['retry', name, 'failed']]) {
      const run = await runCli(args, { env: { REDIS_URL: redis.url } });
      cli.push({ args: args.join(' '), code: run.code, lines: linesOf(run.stderr), problems: outputProblems(run.stdout + run.stderr) });
    }
    // Each of the queue's own keys still has its own type (or is absent), never a task hash's.
    const expectedTypes: [string, string[]][] = [
      [keys.wait, ['list', 'none']], [keys.active, ['list', 'none']], [keys.paused, ['list', 'none']], [keys.stalled, ['list', 'none']],
      [keys.delayed, ['zset', 'none']], [keys.completed, ['zset', 'none']], [keys.failed, ['zset', 'none']], [keys.prioritized, ['zset', 'none']],
      [keys.meta, ['hash']], [keys.id, ['string', 'none']], [keys.pc, ['string', 'none']], [keys.state, ['hash']], [keys.stats, ['hash']],
    ];
    const badTypes: string[] = [];
    for (const [key, ok] of expectedTypes) {
      const t = await admin.type(key);
      if (!ok.includes(t)) badTypes.push(`${key.slice(keys.base.length)} is a ${t}`);
    }

    const by = (o: Attempt['outcome']): Attempt[] => attempts.filter((a) => a.outcome === o);
    report('reserved-ids', {
      tried: attempts.length,
      refused: by('refused').length,
      enqueued: by('enqueued').length,
      phantomIds: by('phantom').length,
      otherErrors: by('error').length,
      batchRefused: batchError?.code ?? 'no',
      batchStored,
      planted: planted.outcome,
      healthProblems: health.length,
      cliBad: cli.filter((c) => c.code !== 1 || c.lines.length !== 1 || c.problems.length > 0).length,
      keysOfWrongType: badTypes.length,
    });
    expect.soft(by('phantom').map((a) => `${a.id}: ${a.detail}`), 'put returned an id while nothing was enqueued').toEqual([]);
    expect.soft(attempts.filter((a) => a.outcome !== 'refused').map((a) => `${a.id}: ${a.outcome} (${a.detail})`), 'reserved ids refused with one ConfigError line naming the id').toEqual([]);
    expect.soft(batchError?.code, 'a putMany with a reserved id is refused').toBe('BAD_CONFIG');
    expect.soft(batchStored, 'nothing of a refused batch is stored').toBe(0);
    expect.soft(planted.outcome, `a put whose id names a planted non-task key: ${planted.detail}`).not.toBe('phantom');
    expect.soft(health, 'the queue works afterwards (no QueueCorrupt)').toEqual([]);
    expect.soft(badTypes, 'the queue\'s own keys keep their types').toEqual([]);
    for (const c of cli) {
      expect.soft(c.problems, `asyncq ${c.args}: no stack, no "unexpected error"`).toEqual([]);
      expect.soft({ code: c.code, lines: c.lines.length }, `asyncq ${c.args}: one line, exit 1; stderr: ${c.lines.join(' | ')}`).toEqual({ code: 1, lines: 1 });
    }
  });
});
