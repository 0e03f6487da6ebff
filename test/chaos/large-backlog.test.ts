import type { Redis } from 'ioredis';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Queue, QueueAdmin } from '@asyncq/core';
import { report } from './harness/figures.js';
import { RedisServer } from '@asyncq/test-support';

// Issue 17: purge and clean of a large backlog. Guarantee: they work in bounded slices, so no
// command they send blocks Redis for more than 50 ms, as Redis itself reports it (SLOWLOG), on a
// queue of 200,000 tasks. One long script would stall every client, and on Sentinel look like a
// dead master. (Before: BullMQ's drain removed 200,000 waiting tasks in one 1.7 s script.)

const TASKS = 200_000;
/** The longest a single command may block Redis. */
const LIMIT_MS = 50;

let redis: RedisServer;
let admin: Redis;
const handles: { close(): Promise<void> }[] = [];

beforeAll(async () => {
  redis = await RedisServer.start();
  admin = redis.client();
});

afterAll(async () => {
  await Promise.all(handles.map((h) => h.close().catch(() => {})));
});

/** Starts recording every command slower than 5 ms, forgetting what was recorded before. */
async function recordSlowCommands(): Promise<void> {
  await admin.config('SET', 'slowlog-log-slower-than', '5000');
  await admin.config('SET', 'slowlog-max-len', '10000');
  await admin.slowlog('RESET');
}

/** The commands Redis recorded as slow since {@link recordSlowCommands}, slowest first: ms and the command's name. */
async function slowCommands(): Promise<{ ms: number; command: string }[]> {
  const entries = (await admin.slowlog('GET', 10_000)) as [number, number, number, string[]][];
  return entries.map((e) => ({ ms: Number(e[2]) / 1000, command: String(e[3][0]).toLowerCase() })).sort((a, b) => b.ms - a.ms);
}

/** `n` tasks put in batches of 5,000 (delayed by an hour when `delayed`). */
async function fill(q: Queue, n: number, delayed = false): Promise<void> {
  for (let i = 0; i < n; i += 5000) {
    await q.putMany(Array.from({ length: Math.min(5000, n - i) }, (_, j) => ({ item: { i: i + j }, ...(delayed ? { opts: { delay: 3_600_000 } } : {}) })));
  }
}

/** `n` completed tasks written straight into BullMQ's layout, as a long-running queue keeps them. */
async function finished(name: string, n: number, finishedOn: number): Promise<void> {
  for (let i = 0; i < n; i += 10_000) {
    const p = admin.pipeline();
    for (let j = i; j < Math.min(n, i + 10_000); j++) {
      p.hset(`asyncq:{${name}}:done-${j}`, 'name', 'task', 'data', '{}', 'timestamp', finishedOn - 1000, 'finishedOn', finishedOn, 'returnvalue', '1');
      p.zadd(`asyncq:{${name}}:completed`, finishedOn, `done-${j}`);
    }
    await p.exec();
  }
}

describe('large backlogs', () => {
  it(`purge of ${TASKS.toLocaleString('en')} waiting and delayed tasks, and clean of as many completed ones, never block Redis for ${LIMIT_MS} ms`, { timeout: 600_000 }, async () => {
    const q = new Queue('backlog', { connection: redis.url });
    const joiner = new Queue('backlog', { connection: redis.url });
    const a = new QueueAdmin('backlog', { connection: redis.url });
    handles.push(q, joiner, a);
    await fill(q, TASKS * 0.75);
    await fill(q, TASKS * 0.25, true);
    await recordSlowCommands();
    const joined = joiner.join({ timeout: 120_000 }).then(() => 'resolved', (e: Error) => e.message);
    const t0 = Date.now();
    const purged = await a.purge(['waiting', 'delayed']);
    const purgeMs = Date.now() - t0;
    const purgeSlow = await slowCommands();
    const afterPurge = await a.counts();

    // clean: completed tasks an hour old, and a recent one that must stay.
    const now = Date.now();
    await finished('backlog', TASKS, now - 3_600_000);
    await admin.zadd('asyncq:{backlog}:completed', now, 'recent');
    await admin.hset('asyncq:{backlog}:recent', 'name', 'task', 'data', '{}', 'timestamp', now, 'finishedOn', now, 'returnvalue', '1');
    await recordSlowCommands();
    const t1 = Date.now();
    const cleaned = await a.clean(60_000, 'completed');
    const cleanMs = Date.now() - t1;
    const cleanSlow = await slowCommands();
    const left = await admin.zrange('asyncq:{backlog}:completed', 0, -1);

    report('large-backlog', {
      tasks: TASKS,
      purged,
      purgeS: (purgeMs / 1000).toFixed(1),
      purgeSlowest: `${(purgeSlow[0]?.ms ?? 0).toFixed(1)}ms`,
      purgeCommandsOver5ms: purgeSlow.length,
      cleaned,
      cleanS: (cleanMs / 1000).toFixed(1),
      cleanSlowest: `${(cleanSlow[0]?.ms ?? 0).toFixed(1)}ms`,
      cleanCommandsOver5ms: cleanSlow.length,
    });
    expect(purged).toBe(TASKS);
    expect(afterPurge).toMatchObject({ waiting: 0, delayed: 0, unfinished: 0 });
    expect(await joined, 'a joiner waiting through the purge').toBe('resolved');
    expect(purgeSlow.filter((c) => c.ms >= LIMIT_MS), 'commands of the purge that blocked Redis').toEqual([]);
    expect(cleaned).toBe(TASKS);
    expect(left, 'the task finished a moment ago stays').toEqual(['recent']);
    expect(cleanSlow.filter((c) => c.ms >= LIMIT_MS), 'commands of the clean that blocked Redis').toEqual([]);
  });
});
