import { afterEach, describe, expect, it } from 'vitest';
import { Queue } from '@asyncq/core';
import { FaultProxy } from './harness/fault-proxy.js';
import { report, secs } from './harness/figures.js';
import { ledgerDir, readLedger, type Execution } from './harness/ledger.js';
import { RedisServer, sleep } from '@asyncq/test-support';
import { startNode, stopAllProcesses, type ChaosProcess } from './harness/processes.js';

// Issue 22, limits: a rate limit and a global concurrency limit, set in Redis with setLimits, hold
// across worker processes, as the handlers' own timestamps show (the ledger-handlers fixture records
// each execution's start and end in a file of its process, outside Redis).

const servers: RedisServer[] = [];
afterEach(async () => {
  await stopAllProcesses();
  for (const s of servers.splice(0)) await s.destroy();
});

function workers(n: number, url: string, queue: string, dir: string, concurrency: number, options: Record<string, unknown> = {}): ChaosProcess[] {
  return Array.from({ length: n }, (_, i) =>
    startNode('worker.mjs', [], {
      label: `worker w${i}`,
      env: { CHAOS_LEDGER_DIR: dir, CHAOS: JSON.stringify({ url, queue, concurrency, options }) },
    }),
  );
}

function executions(dir: string): Execution[] {
  return [...readLedger(dir).byKey.values()].flat().sort((a, b) => a.start - b.start);
}

/** The most starts in any window of `ms` that begins at or after `from` (each window starts at a start). */
function mostInWindow(starts: readonly number[], ms: number, from = 0): number {
  let most = 0;
  let j = 0;
  for (let i = 0; i < starts.length; i++) {
    if (j < i) j = i;
    while (j < starts.length && starts[j]! < starts[i]! + ms) j++;
    if (starts[i]! >= from) most = Math.max(most, j - i);
  }
  return most;
}

/** The most executions running at once: an end at the same ms as a start comes first (the slot was freed). */
function mostAtOnce(list: readonly Execution[], endOf: (e: Execution) => number): number {
  const events = list.flatMap((e) => [{ t: e.start, d: 1 }, { t: e.end ?? endOf(e), d: -1 }]).sort((a, b) => a.t - b.t || a.d - b.d);
  let now = 0;
  let most = 0;
  for (const { d } of events) most = Math.max(most, (now += d));
  return most;
}

function tasks(n: number, ms: number): { item: { k: string; ms: number } }[] {
  return Array.from({ length: n }, (_, i) => ({ item: { k: `t${i}`, ms } }));
}

describe('limits across worker processes', () => {
  it('a rate of 200/s holds in every 1 s window over 30 s, 4 workers at concurrency 32; lowered live to 100/s, the new rate holds within one window', { timeout: 120_000 }, async () => {
    const redis = await RedisServer.start();
    servers.push(redis);
    const dir = ledgerDir('rate');
    const q = new Queue('rate', { connection: redis.url });
    try {
      await q.setLimits({ rate: { max: 200, per: '1s' } });
      expect(await q.limits()).toEqual({ rate: { max: 200, per: '1s' } });
      await q.putMany(tasks(8000, 5));
      const fleet = workers(4, redis.url, 'rate', dir, 32);
      await Promise.all(fleet.map((w) => w.waitFor(/started/)));
      await sleep(30_000);
      const changedAt = Date.now();
      await q.setLimits({ rate: { max: 100, per: 1000 } });
      await sleep(6000);
      await Promise.all(fleet.map((w) => w.killTree()));
      const starts = executions(dir).map((e) => e.start);
      const before = starts.filter((t) => t < changedAt);
      const most = mostInWindow(before, 1000);
      const mostAfter = mostInWindow(starts, 1000, changedAt + 1000);
      report('rate-limit', { started: starts.length, mostIn1sAt200: most, mostIn1sAfterChangeTo100: mostAfter, startsBeforeChange: before.length });
      // Exact by the handlers' own start times: a reply that reaches its worker later than the
      // margin after its call was sent hands its tasks back (queue-limits.ts, handBackIfLate).
      expect(most).toBeLessThanOrEqual(200);
      expect(mostAfter).toBeLessThanOrEqual(100);
      // The limit is what slowed them down, not a stall: most of what it allows ran.
      expect(before.length).toBeGreaterThan(3000);
      expect(starts.length - before.length).toBeGreaterThan(250);
    } finally {
      await q.close();
    }
  });

  it('a reply later than the margin hands its tasks back: counted in their window, not started after it', { timeout: 60_000 }, async () => {
    const redis = await RedisServer.start();
    servers.push(redis);
    const proxy = await FaultProxy.start(redis.port);
    const q = new Queue<number>('late', { connection: redis.url });
    const slow = new Queue<number>('late', { connection: proxy.url() });
    try {
      await q.setLimits({ rate: { max: 10, per: '1s' } }); // a margin of 100 ms
      await q.putMany([1, 2, 3, 4, 5].map((item) => ({ item })));
      expect(await slow.qsize()).toBe(5); // connected, its clock read while the link was fast
      proxy.delay(150); // every reply now comes 300 ms after its call: later than the margin
      await expect(slow.get({ timeout: 2500 })).rejects.toMatchObject({ code: 'TIMEOUT' });
      // Reserved, counted in the window, and handed back (the last hand-back may still be on the slow
      // link): nothing lost, nothing started late.
      for (let i = 0; i < 50 && (await q.qsize()) < 5; i++) await sleep(100);
      expect(await q.qsize()).toBe(5);
      expect((await q.counts()).active).toBe(0);
      proxy.delay(0);
      expect(await slow.get({ timeout: 10_000 })).toBe(1);
      await slow.taskDone();
    } finally {
      await slow.close();
      await q.close();
      await proxy.close();
    }
  });

  it('concurrency 5 over 4 workers at concurrency 16 never runs more than 5; a SIGKILLed holder\'s slots come back with its lease', { timeout: 120_000 }, async () => {
    const redis = await RedisServer.start();
    servers.push(redis);
    const dir = ledgerDir('conc');
    const q = new Queue('conc', { connection: redis.url });
    const lease = 3000;
    try {
      await q.setLimits({ concurrency: 5 });
      await q.putMany(tasks(300, 30));
      const fleet = workers(4, redis.url, 'conc', dir, 16, { lease, stalledInterval: 500 });
      await Promise.all(fleet.map((w) => w.waitFor(/started/)));
      await sleep(3000);
      const mid = executions(dir);
      expect(mid.length).toBeGreaterThan(20);

      // One holder takes every slot with long tasks; the others then wait for a slot.
      await q.setLimits({});
      await Promise.all(fleet.map((w) => w.killTree()));
      const dir2 = ledgerDir('conc-kill');
      const q2 = new Queue('conc-kill', { connection: redis.url });
      try {
        await q2.setLimits({ concurrency: 5 });
        await q2.putMany(tasks(5, 60_000));
        const [holder] = workers(1, redis.url, 'conc-kill', dir2, 16, { lease, stalledInterval: 500 });
        await holder!.waitFor(/started/);
        await eventuallyTrue(() => executions(dir2).length === 5, 20_000);
        await q2.putMany(tasks(40, 50).map(({ item }) => ({ item: { ...item, k: `after-${item.k}` } })));
        const others = workers(3, redis.url, 'conc-kill', dir2, 16, { lease, stalledInterval: 500 });
        await Promise.all(others.map((w) => w.waitFor(/started/)));
        await sleep(1500);
        const whileHeld = executions(dir2).filter((e) => e.key.startsWith('after-')).length;
        const killedAt = Date.now();
        holder!.signal('SIGKILL');
        await holder!.exitWithin(10_000);
        // The holder's slots come back with its lease: its five tasks run again on the others.
        const holderPid = holder!.pid;
        await eventuallyTrue(() => executions(dir2).filter((e) => e.pid !== holderPid && !e.key.startsWith('after-')).length === 5, 30_000);
        const after = executions(dir2);
        const firstAfterKill = Math.min(...after.filter((e) => e.pid !== holderPid).map((e) => e.start)) - killedAt;
        const most = mostAtOnce(mid, () => Number.POSITIVE_INFINITY);
        const mostKill = mostAtOnce(after, (e) => (e.pid === holderPid ? killedAt : Number.POSITIVE_INFINITY));
        report('concurrency-limit', { executions: mid.length, mostAtOnce: most, startedWhileHolderHeldAll: whileHeld, slotsBackAfterKill: secs(firstAfterKill), lease: secs(lease), mostAtOnceAroundKill: mostKill });
        expect(most).toBeLessThanOrEqual(5);
        expect(most).toBe(5);
        expect(whileHeld).toBe(0);
        expect(mostKill).toBeLessThanOrEqual(5);
        await Promise.all(others.map((w) => w.killTree()));
      } finally {
        await q2.close();
      }
    } finally {
      await q.close();
    }
  });
  it('a rate limit holds after Redis is SIGKILLed and restarted from its AOF', { timeout: 120_000 }, async () => {
    const redis = await RedisServer.start({ aof: true });
    servers.push(redis);
    const dir = ledgerDir('rate-aof');
    const q = new Queue('rate-aof', { connection: redis.url });
    try {
      await q.setLimits({ rate: { max: 100, per: '1s' } });
      await q.putMany(tasks(3000, 5));
      const fleet = workers(2, redis.url, 'rate-aof', dir, 32);
      await Promise.all(fleet.map((w) => w.waitFor(/started/)));
      await sleep(3000);
      const killedAt = Date.now();
      await redis.kill();
      await sleep(2000);
      await redis.restart();
      const restartedAt = Date.now();
      await sleep(5000);
      await Promise.all(fleet.map((w) => w.killTree()));
      const starts = executions(dir).map((e) => e.start);
      const most = mostInWindow(starts, 1000);
      const afterRestart = starts.filter((t) => t > restartedAt).length;
      const mostAfterRecovery = mostInWindow(starts, 1000, restartedAt + 1000);
      const mostBeforeKill = mostInWindow(starts.filter((t) => t < killedAt), 1000);
      report('rate-limit-redis-restart', { started: starts.length, mostIn1sBeforeKill: mostBeforeKill, mostIn1sAnyWindow: most, mostIn1sAfterRecovery: mostAfterRecovery, startedAfterRestart: afterRestart, downFor: secs(restartedAt - killedAt) });
      // One worker batch over, as in the first test (see OPEN there).
      expect(mostBeforeKill).toBeLessThanOrEqual(100 + 32);
      expect(mostAfterRecovery).toBeLessThanOrEqual(100 + 32);
      expect(afterRestart).toBeGreaterThan(100);
    } finally {
      await q.close();
    }
  });
});

async function eventuallyTrue(check: () => boolean, ms: number): Promise<void> {
  const until = Date.now() + ms;
  while (!check()) {
    if (Date.now() > until) throw new Error(`not within ${ms} ms`);
    await sleep(100);
  }
}
