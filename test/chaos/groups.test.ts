import { afterEach, describe, expect, it } from 'vitest';
import { Queue, QueueAdmin } from '@asyncq/core';
import { partitionTags, queueKeys } from '@asyncq/core/internal';
import { Producer, type EnqueueItem } from '@asyncq/producer';
import { RedisServer, sleep } from '@asyncq/test-support';
import { report, secs } from './harness/figures.js';
import { ledgerDir, readLedger, type Execution, type LedgerView } from './harness/ledger.js';
import { startNode, stopAllProcesses, type ChaosProcess } from './harness/processes.js';

// Issue 22, groups: put(item, { group }) serves groups round-robin, and setLimits({ perGroup })
// bounds each group's tasks held at once, cluster-wide. Checked across worker processes by the
// handlers' own records (the ledger-handlers fixture writes each execution's start and end to a
// file of its process, outside Redis, so the records survive a SIGKILL of their worker). Tasks are
// put through a Producer, whose enqueue options pass `group` on to the core put.

const servers: RedisServer[] = [];
afterEach(async () => {
  await stopAllProcesses();
  for (const s of servers.splice(0)) await s.destroy();
});

/** The most time any wait of this file may take: every wait is bounded, and says what it waited for. */
const WAIT_MS = 60_000;

type Item = { k: string; ms: number };

function workers(n: number, url: string, queue: string, dir: string, concurrency: number, more: { options?: Record<string, unknown>; partitions?: number; label?: string } = {}): ChaosProcess[] {
  return Array.from({ length: n }, (_, i) =>
    startNode('worker.mjs', [], {
      label: `${more.label ?? 'worker'} w${i}`,
      env: { CHAOS_LEDGER_DIR: dir, CHAOS: JSON.stringify({ url, queue, concurrency, partitions: more.partitions, options: more.options ?? {} }) },
    }),
  );
}

/** `n` tasks of group `g`, keyed `<g>.<tag><i>` (so a key names its group), each working `ms(i)` ms. */
function groupTasks(g: string, n: number, ms: (i: number) => number, tag = ''): EnqueueItem<Item>[] {
  return Array.from({ length: n }, (_, i) => ({ name: 'task', data: { k: `${g}.${tag}${i}`, ms: ms(i) }, opts: { group: g } }));
}

/** 20-50 ms, spread over the tasks without randomness (a failing run can be replayed). */
const shortMs = (salt: number) => (i: number) => 20 + ((i * 37 + salt * 11) % 31);

const groupOf = (key: string): string => key.slice(0, key.lastIndexOf('.'));

function allExecutions(view: LedgerView): Execution[] {
  return [...view.byKey.values()].flat();
}

/** Keys of `expected` with no finished execution yet. */
function unfinished(dir: string, expected: readonly string[]): string[] {
  const view = readLedger(dir);
  return expected.filter((k) => !(view.byKey.get(k) ?? []).some((e) => e.end !== undefined));
}

/** Waits until every task of `keys` has a finished execution, at most `ms`; fails naming how many never finished. */
async function allFinished(dir: string, keys: readonly string[], ms = WAIT_MS): Promise<void> {
  const until = Date.now() + ms;
  let left = unfinished(dir, keys);
  while (left.length > 0) {
    if (Date.now() > until) throw new Error(`${left.length} of ${keys.length} tasks never finished within ${ms} ms (e.g. ${left.slice(0, 5).join(', ')})`);
    await sleep(200);
    left = unfinished(dir, keys);
  }
}

/** Waits until every task of `keys` has started, at most {@link WAIT_MS}. */
async function allStarted(dir: string, keys: readonly string[]): Promise<void> {
  const until = Date.now() + WAIT_MS;
  for (;;) {
    const view = readLedger(dir);
    const left = keys.filter((k) => !view.byKey.has(k));
    if (left.length === 0) return;
    if (Date.now() > until) throw new Error(`${left.length} of ${keys.length} tasks never started within ${WAIT_MS} ms`);
    await sleep(100);
  }
}

/** Waits until `check()` holds, at most {@link WAIT_MS}; fails naming `what`. */
async function until(what: string, check: () => boolean): Promise<void> {
  const end = Date.now() + WAIT_MS;
  while (!check()) {
    if (Date.now() > end) throw new Error(`not within ${WAIT_MS} ms: ${what}`);
    await sleep(200);
  }
}

/** The most executions running at once: an end at the same ms as a start comes first (the slot was freed). As in limits.test.ts. */
function mostAtOnce(list: readonly Execution[], endOf: (e: Execution) => number): number {
  const events = list.flatMap((e) => [{ t: e.start, d: 1 }, { t: e.end ?? endOf(e), d: -1 }]).sort((a, b) => a.t - b.t || a.d - b.d);
  let now = 0;
  let most = 0;
  for (const { d } of events) most = Math.max(most, (now += d));
  return most;
}

/** Every execution, by its task's group. */
function byGroup(view: LedgerView): Map<string, Execution[]> {
  const out = new Map<string, Execution[]>();
  for (const e of allExecutions(view)) out.set(groupOf(e.key), [...(out.get(groupOf(e.key)) ?? []), e]);
  return out;
}

/** The most executions of each group running at once, by the handlers' own start and end times. */
function mostAtOnceByGroup(view: LedgerView, endOf: (e: Execution) => number = () => Number.POSITIVE_INFINITY): Map<string, number> {
  return new Map([...byGroup(view)].map(([g, list]) => [g, mostAtOnce(list, endOf)]));
}

/** Pairs of executions of one group that overlapped in time in two different worker processes. */
function crossWorkerOverlaps(view: LedgerView): number {
  let n = 0;
  for (const list of byGroup(view).values()) {
    for (const a of list) for (const b of list) if (a.pid < b.pid && a.start < (b.end ?? Infinity) && b.start < (a.end ?? Infinity)) n++;
  }
  return n;
}

/** `g=n` pairs for the report line. */
const perGroupFigure = (m: Map<string, number>): string => [...m].map(([g, n]) => `${g}:${n}`).join(',');

/** A Queue (for the limits and counts) and a Producer (for the puts) of queue `name`. */
function openQueue(name: string, redis: RedisServer, partitions = 1): { q: Queue<Item>; producer: Producer } {
  return { q: new Queue<Item>(name, { connection: redis.url, partitions }), producer: new Producer({ queue: name, connection: redis.url, partitions }) };
}

describe('groups across worker processes', () => {
  it('fairness at scale: 20 groups of 10 put after one group of 10,000 all finish before its 1,000th task', { timeout: 120_000 }, async () => {
    await fairness('fair', { partitions: 1, bigGroup: 'big', concurrency: 2 });
  });

  // Consumers take from the partitions in turn: a call that acknowledges to a partition reserves
  // only on that partition's turn (Consumer.demand, PartitionTurn). Before, a loop stayed on the
  // partition of its first task as long as it had tasks: here every loop stayed on partition 0 and
  // the 12 small groups of partitions 1 and 2 had not started when the big group's 1,000th task
  // finished (12 runs of 13); one Worker at concurrency 1 ran all 2,000 keyed tasks of partition 0
  // before the first of partition 1's 10.
  it('fairness at scale on partitions 3, the big group in partition 0: the same, the partitions served in turn', { timeout: 120_000 }, async () => {
    await fairness('fair-part', { partitions: 3, bigGroup: 'large', concurrency: 1 });
  });

  it('perGroup concurrency 2 over 4 workers at concurrency 16: never more than 2 of a group at once, each task exactly once', { timeout: 120_000 }, async () => {
    const redis = await RedisServer.start();
    servers.push(redis);
    const dir = ledgerDir('grp-conc');
    const { q, producer } = openQueue('gconc', redis);
    try {
      await q.setLimits({ perGroup: { concurrency: 2 } });
      expect(await q.limits()).toEqual({ perGroup: { concurrency: 2 } });
      // 12 groups of 2 slots: 24 tasks may be held at once, more than one worker's 16, so the limit
      // is kept across processes. (With 6 groups, 12 slots, the first worker to take a task ran all
      // 360 in 3 runs of 3: an acknowledgement lets its group's next task in, and the same call of
      // the same worker reserves it.) The workers first, all waiting, so that all four compete.
      const items = Array.from({ length: 12 }, (_, g) => groupTasks(`g${g}`, 30, shortMs(g))).flat();
      const fleet = workers(4, redis.url, 'gconc', dir, 16);
      await Promise.all(fleet.map((w) => w.waitFor(/started/)));
      const t0 = Date.now();
      await producer.enqueueMany(items);
      const keys = items.map((x) => x.data.k);
      await allFinished(dir, keys);
      const runMs = Date.now() - t0;
      await Promise.all(fleet.map((w) => w.killTree()));

      const view = readLedger(dir);
      const most = mostAtOnceByGroup(view);
      const pids = new Set(allExecutions(view).map((e) => e.pid));
      const across = crossWorkerOverlaps(view);
      report('groups-per-group-concurrency', { tasks: keys.length, run: secs(runMs), mostAtOncePerGroup: perGroupFigure(most), workersThatRan: pids.size, crossWorkerOverlaps: across });
      for (const [g, n] of most) expect.soft(n, `group ${g}`).toBeLessThanOrEqual(2);
      // The limit is what bounded them, not a lack of work: some group did run two at once.
      expect.soft(Math.max(...most.values())).toBe(2);
      expect.soft(most.size).toBe(12);
      // Two of a group ran at once in two processes: the limit held across them, not within one.
      expect.soft(pids.size).toBeGreaterThan(1);
      expect.soft(across).toBeGreaterThan(0);
      // No kill: every task ran exactly once (none lost, none twice).
      expect.soft(allExecutions(view).length).toBe(keys.length);
      expect.soft([...view.byKey.values()].filter((l) => l.length !== 1).map((l) => l[0]!.key)).toEqual([]);
    } finally {
      await producer.close();
      await q.close();
    }
  });

  it('a SIGKILLed holder of every slot of three groups: their slots come back with its lease, every task completes, still at most 2 at once', { timeout: 150_000 }, async () => {
    const redis = await RedisServer.start();
    servers.push(redis);
    const dir = ledgerDir('grp-kill');
    const { q, producer } = openQueue('gkill', redis);
    const lease = 3000;
    const options = { lease, stalledInterval: 500 };
    // Long enough that the holder still runs them when it is killed, even on a loaded machine; they
    // then run once more, elsewhere.
    const HELD_MS = 15_000;
    const held = ['a', 'b', 'c'];
    try {
      await q.setLimits({ perGroup: { concurrency: 2 } });
      const first = held.flatMap((g) => groupTasks(g, 2, () => HELD_MS, 'held'));
      await producer.enqueueMany(first);
      const [holder] = workers(1, redis.url, 'gkill', dir, 16, { options, label: 'holder' });
      await holder!.waitFor(/started/);
      await allStarted(dir, first.map((x) => x.data.k));

      // More tasks of the held groups, and of a group nobody holds (it shows the others work meanwhile).
      const after = held.flatMap((g) => groupTasks(g, 20, shortMs(g.charCodeAt(0))));
      const free = groupTasks('free', 20, shortMs(7));
      await producer.enqueueMany([...after, ...free]);
      const others = workers(3, redis.url, 'gkill', dir, 16, { options });
      await Promise.all(others.map((w) => w.waitFor(/started/)));
      await allFinished(dir, free.map((x) => x.data.k));
      const beforeKill = readLedger(dir);
      const startedWhileHeld = after.filter((x) => beforeKill.byKey.has(x.data.k)).length;
      const heldUnfinished = first.filter((x) => (beforeKill.byKey.get(x.data.k) ?? []).every((e) => e.end === undefined)).length;

      const killedAt = Date.now();
      holder!.signal('SIGKILL');
      expect(await holder!.exitWithin(10_000)).toBeDefined();
      const holderPid = holder!.pid;
      const keys = [...first, ...after, ...free].map((x) => x.data.k);
      await allFinished(dir, keys, 90_000);
      await Promise.all(others.map((w) => w.killTree()));

      const view = readLedger(dir);
      // A run the kill cut short lasted, at most, until the kill (its slot stayed taken in Redis
      // until the lease ran out, which only makes the count below larger than what Redis allowed).
      const most = mostAtOnceByGroup(view, (e) => (e.pid === holderPid ? killedAt : Number.POSITIVE_INFINITY));
      const cutShort = (l: Execution[]) => l.filter((e) => e.pid === holderPid && e.end === undefined);
      const redelivered = [...view.byKey.values()].filter((l) => cutShort(l).length > 0).length;
      // At least once: a run the kill cut short may run again; anything else twice is a double.
      const doubles = [...view.byKey.values()].filter((l) => l.length - cutShort(l).length > 1).map((l) => l[0]!.key);
      const heldGroupsBack = allExecutions(view).filter((e) => e.pid !== holderPid && held.includes(groupOf(e.key))).map((e) => e.start);
      const slotsBack = Math.min(...heldGroupsBack) - killedAt;
      report('groups-kill-holder', {
        heldBeforeKill: heldUnfinished,
        startedWhileHeld,
        slotsBackAfterKill: secs(slotsBack),
        lease: secs(lease),
        redelivered,
        doubles: doubles.length,
        mostAtOncePerGroup: perGroupFigure(most),
      });
      // While the holder held both slots of a, b and c, none of their other tasks started, though
      // three workers were idle enough to run every task of the free group.
      expect.soft(heldUnfinished).toBe(6);
      expect.soft(startedWhileHeld).toBe(0);
      expect.soft(slotsBack).toBeGreaterThan(0);
      for (const [g, n] of most) expect.soft(n, `group ${g}`).toBeLessThanOrEqual(2);
      // The holder's six runs came back and ran once more; nothing else ran twice.
      expect.soft(redelivered).toBe(6);
      expect.soft(doubles).toEqual([]);
    } finally {
      await producer.close();
      await q.close();
    }
  });

  it('partitions 3 on one Redis: a group\'s tasks share a partition, and perGroup concurrency 2 holds for every group', { timeout: 120_000 }, async () => {
    const redis = await RedisServer.start();
    servers.push(redis);
    const dir = ledgerDir('grp-part');
    const name = 'gpart';
    const { q, producer } = openQueue(name, redis, 3);
    // It reads the queue's partitions from Redis (recorded by the Queue's first call).
    const queueAdmin = new QueueAdmin(name, { connection: redis.url });
    try {
      await q.setLimits({ perGroup: { concurrency: 2 } });
      const groups = Array.from({ length: 12 }, (_, g) => `tenant-${g}`);
      const items = groups.flatMap((g, i) => groupTasks(g, 30, shortMs(i)));
      // Paused while the tasks go in, so that where they went can be read before any runs.
      await queueAdmin.pause();
      await producer.enqueueMany(items);

      // Where each group's parked tasks are: in exactly one partition.
      const where = await homes(redis, name, 3, groups);
      const partitionsUsed = new Set([...where.values()].flat()).size;

      const fleet = workers(3, redis.url, name, dir, 16, { partitions: 3 });
      await Promise.all(fleet.map((w) => w.waitFor(/started/)));
      const t0 = Date.now();
      await queueAdmin.resume();
      const keys = items.map((x) => x.data.k);
      await allFinished(dir, keys);
      const runMs = Date.now() - t0;
      await Promise.all(fleet.map((w) => w.killTree()));

      const view = readLedger(dir);
      const most = mostAtOnceByGroup(view);
      const across = crossWorkerOverlaps(view);
      report('groups-partitioned', { tasks: keys.length, run: secs(runMs), partitionsUsed, mostAtOncePerGroup: perGroupFigure(most), workersThatRan: new Set(allExecutions(view).map((e) => e.pid)).size, crossWorkerOverlaps: across });
      for (const [g, found] of where) expect.soft(found, `group ${g}'s partitions`).toHaveLength(1);
      // The group names spread over more than one partition, so the limit is held by several partitions at once.
      expect.soft(partitionsUsed).toBeGreaterThan(1);
      for (const [g, n] of most) expect.soft(n, `group ${g}`).toBeLessThanOrEqual(2);
      expect.soft(Math.max(...most.values())).toBe(2);
      expect.soft(most.size).toBe(12);
      expect.soft(across).toBeGreaterThan(0);
      expect.soft(allExecutions(view).length).toBe(keys.length);
      expect.soft([...view.byKey.values()].filter((l) => l.length !== 1).map((l) => l[0]!.key)).toEqual([]);
    } finally {
      await queueAdmin.close();
      await producer.close();
      await q.close();
    }
  });
});

/** Big tasks that must not finish before the last small one: the done-when's 1,000th. */
const BIG_BOUND = 1000;
/** Each fairness task's work (ms): see {@link fairness}. */
const FAIR_TASK_MS = 20;

/**
 * Issue 22's done-when: one group of 10,000 tasks, then 20 groups of 10 put after it; every small
 * group's last task finishes before the large group's 1,000th, in the order the handlers recorded.
 *
 * The order is decided once 1,000 big tasks finished, and the run stops there: a small task not
 * finished by then finishes after them. The 4 workers run a few loops each of 20 ms tasks, so at
 * most a few hundred tasks a second finish: a worker process descheduled for a while with a small
 * task in hand (at load 10, a 0 ms task took 324 ms from its handler's start to its end) lets the
 * others finish a few hundred big tasks at most, not 800. With 4 x 16 loops of 0 ms tasks (about
 * 1,500/s, CPU-bound) one such stall showed 410 big tasks before the last small one.
 */
async function fairness(name: string, o: { partitions: number; bigGroup: string; concurrency: number }): Promise<void> {
  const redis = await RedisServer.start();
  servers.push(redis);
  const dir = ledgerDir(`grp-${name}`);
  const { q, producer } = openQueue(name, redis, o.partitions);
  // It reads the queue's partitions from Redis (recorded by the Queue's first call).
  const admin = new QueueAdmin(name, { connection: redis.url });
  const isBig = (e: Execution): boolean => groupOf(e.key) === o.bigGroup;
  try {
    const big = groupTasks(o.bigGroup, 10_000, () => FAIR_TASK_MS);
    const small = Array.from({ length: 20 }, (_, g) => groupTasks(`small-${g}`, 10, () => FAIR_TASK_MS)).flat();
    expect(await q.qsize()).toBe(0);
    // Paused while the tasks go in and the workers start: the order is the queue's, not a race
    // with the puts, and all four workers are up when the first task is served.
    await admin.pause();
    const t0 = Date.now();
    await producer.enqueueMany(big, { batchSize: 1000 });
    await producer.enqueueMany(small, { batchSize: 1000 });
    const putMs = Date.now() - t0;
    expect(await q.qsize()).toBe(10_200);
    const bigHome = (await homes(redis, name, o.partitions, [o.bigGroup])).get(o.bigGroup);
    if (o.partitions > 1) expect(bigHome).toEqual([0]);
    const fleet = workers(4, redis.url, name, dir, o.concurrency, { partitions: o.partitions });
    await Promise.all(fleet.map((w) => w.waitFor(/started/)));
    const runStart = Date.now();
    await admin.resume();
    await until(`${BIG_BOUND} big tasks finished`, () => allExecutions(readLedger(dir)).filter((e) => e.end !== undefined && isBig(e)).length >= BIG_BOUND);
    const runMs = Date.now() - runStart;
    await Promise.all(fleet.map((w) => w.killTree()));

    const view = readLedger(dir);
    const all = allExecutions(view);
    // The finish order, as the handlers recorded it (ms since the epoch, from one machine's clock).
    const finished = all.filter((e) => e.end !== undefined).sort((a, b) => a.end! - b.end!);
    const smallUnfinished = unfinished(dir, small.map((x) => x.data.k)).length;
    const lastSmallEnd = smallUnfinished > 0 ? Number.POSITIVE_INFINITY : Math.max(...finished.filter((e) => !isBig(e)).map((e) => e.end!));
    // Ties at the last small task's ms count against the property: a big task that finished in the
    // same ms is counted as finished before it.
    const bigBefore = finished.filter((e) => isBig(e) && e.end! <= lastSmallEnd).length;
    // The order the queue served them in, as the handlers' starts show it (no worker stall in it).
    const lastSmallStart = smallUnfinished > 0 ? Number.POSITIVE_INFINITY : Math.max(...all.filter((e) => !isBig(e)).map((e) => e.start));
    report(o.partitions === 1 ? 'groups-fairness' : `groups-fairness-partitions-${o.partitions}`, {
      tasks: big.length + small.length,
      put: secs(putMs),
      untilDecided: secs(runMs),
      concurrency: `4x${o.concurrency}`,
      bigFinishedBeforeLastSmall: bigBefore,
      bigStartedBeforeLastSmallStarted: all.filter((e) => isBig(e) && e.start <= lastSmallStart).length,
      smallUnfinished,
      lastSmallFinishPosition: smallUnfinished > 0 ? '-' : finished.filter((e) => e.end! <= lastSmallEnd).length,
      workersThatRan: new Set(finished.map((e) => e.pid)).size,
    });
    expect.soft(bigBefore).toBeLessThan(BIG_BOUND);
    // Nothing was killed before the order was decided: no task ran twice.
    expect.soft([...view.byKey.values()].filter((l) => l.length !== 1).map((l) => l[0]!.key)).toEqual([]);
  } finally {
    await admin.close();
    await producer.close();
    await q.close();
  }
}

/** The partitions (0-based) in which each of `groups` has tasks parked. */
async function homes(redis: RedisServer, name: string, partitions: number, groups: readonly string[]): Promise<Map<string, number[]>> {
  const bases = partitionTags(name, partitions).map((tag) => queueKeys('asyncq', tag));
  const out = new Map<string, number[]>();
  for (const g of groups) {
    const found: number[] = [];
    for (const [p, k] of bases.entries()) if ((await redis.client().exists(k.group(g))) === 1) found.push(p);
    out.set(g, found);
  }
  return out;
}
