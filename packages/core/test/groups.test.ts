import { describe, expect, it } from 'vitest';
import { ConfigError, Queue, QueueAdmin } from '@asyncq/core';
import { queueKeys } from '@asyncq/core/internal';
import { adminClient, eventually, redisUrl, track, uniqueName } from '@asyncq/test-support';

function open<T>(name: string, opts: Record<string, unknown> = {}): Queue<T> {
  return track(new Queue<T>(name, { connection: redisUrl(), ...opts }), name);
}

type Item = { g: string; n: number };
const label = (x: Item): string => `${x.g}${x.n}`;

// Groups (issue 22): put(item, { group }) serves groups round-robin, each under perGroup limits.
// With workers, across processes and at scale: packages/worker/test/groups-fleet.test.ts.
describe('groups', () => {
  it('serve ready tasks round-robin across groups, in put order within each', async () => {
    const name = uniqueName('grp-rr');
    const q = open<Item>(name);
    for (let n = 1; n <= 5; n++) await q.put({ g: 'a', n }, { group: 'a' });
    for (let n = 1; n <= 2; n++) await q.put({ g: 'b', n }, { group: 'b' });
    await q.put({ g: 'u', n: 1 }); // ungrouped: served in its place among the groups' turns
    for (let n = 1; n <= 2; n++) await q.put({ g: 'c', n }, { group: 'c' });
    expect(await q.qsize()).toBe(10);
    expect((await q.counts()).waiting).toBe(10);
    const got: string[] = [];
    for (let i = 0; i < 10; i++) {
      got.push(label(await q.get()));
      await q.taskDone();
    }
    expect(got).toEqual(['a1', 'b1', 'u1', 'c1', 'a2', 'b2', 'c2', 'a3', 'a4', 'a5']);
    // Nothing of the groups is left behind in Redis.
    const base = queueKeys('asyncq', name).base;
    expect(await adminClient().get(`${base}aq:gparked`)).toBe('0');
    expect(await adminClient().zcard(`${base}aq:groups`)).toBe(0);
  });

  it('priorities still order the tasks within a group', async () => {
    const name = uniqueName('grp-prio');
    const q = open<Item>(name);
    await q.put({ g: 'a', n: 1 }, { group: 'a', priority: 5 });
    await q.put({ g: 'a', n: 2 }, { group: 'a', priority: 9 });
    await q.put({ g: 'a', n: 3 }, { group: 'a', priority: 1 });
    const got: string[] = [];
    for (let i = 0; i < 3; i++) {
      got.push(label(await q.get()));
      await q.taskDone();
    }
    // The first was the group's head before the others came; then by priority.
    expect(got).toEqual(['a1', 'a3', 'a2']);
  });

  it('perGroup concurrency: a group past its limit waits while other groups run, and goes on when a slot frees', async () => {
    const name = uniqueName('grp-conc');
    const q = open<Item>(name);
    await q.setLimits({ perGroup: { concurrency: 1 } });
    expect(await q.limits()).toEqual({ perGroup: { concurrency: 1 } });
    for (let n = 1; n <= 3; n++) await q.put({ g: 'a', n }, { group: 'a' });
    await q.put({ g: 'b', n: 1 }, { group: 'b' });
    const a1 = await q.getTask();
    const b1 = await q.getTask();
    expect([label(a1.data), label(b1.data)]).toEqual(['a1', 'b1']);
    // a2 waits for a1's slot: a get finds nothing, though two tasks wait.
    await expect(q.get({ timeout: 300 })).rejects.toMatchObject({ code: 'TIMEOUT' });
    expect(await q.qsize()).toBe(2);
    const status = await track(new QueueAdmin(name, { connection: redisUrl() }), name).limits();
    expect(status).toMatchObject({ groupsBlocked: 1, groupsWaiting: 1 });
    expect(await track(new QueueAdmin(name, { connection: redisUrl() }), name).groups()).toEqual([{ group: 'a', waiting: 2, blocked: true }]);
    const other = open<Item>(name);
    const next = other.getTask({ timeout: 20_000 });
    await a1.done(null);
    expect(label((await next).data)).toBe('a2');
    await b1.done(null);
    await (await next).done(null);
    const a3 = await q.getTask({ timeout: 20_000 });
    expect(label(a3.data)).toBe('a3');
    await a3.done(null);
  });

  it('perGroup concurrency holds when a failed task is retried, and when the limit is lifted the group goes on at once', async () => {
    const name = uniqueName('grp-retry');
    const q = open<Item>(name);
    await q.setLimits({ perGroup: { concurrency: 1 } });
    await q.put({ g: 'a', n: 1 }, { group: 'a', attempts: 2 });
    await q.put({ g: 'a', n: 2 }, { group: 'a' });
    const first = await q.getTask();
    expect(label(first.data)).toBe('a1');
    await first.fail(new Error('boom'));
    // The retry goes to the back of its group, as a retry goes to the back of the queue: a2 runs,
    // and a1 waits for a2's slot.
    const second = await q.getTask({ timeout: 20_000 });
    expect(label(second.data)).toBe('a2');
    await expect(q.get({ timeout: 300 })).rejects.toMatchObject({ code: 'TIMEOUT' });
    const waiting = open<Item>(name).getTask({ timeout: 20_000 });
    await q.setLimits({});
    expect(label((await waiting).data)).toBe('a1');
    expect((await waiting).attempt).toBe(2);
    await second.done(null);
    await (await waiting).done(null);
  });

  it('join, maxsize, cancel, purge and an immediate shutdown count the tasks parked in groups', async () => {
    const name = uniqueName('grp-count');
    const q = open<Item>(name, { maxsize: 4 });
    for (let n = 1; n <= 4; n++) await q.put({ g: 'a', n }, { group: 'a' });
    await expect(q.put({ g: 'a', n: 5 }, { group: 'a', timeout: 200 })).rejects.toMatchObject({ code: 'TIMEOUT' });
    let joined = false;
    const joining = q.join().then(() => (joined = true));
    // a3 is parked: cancelled, it never runs.
    const ids = await adminClient().zrange(`${queueKeys('asyncq', name).base}aq:g:a`, 0, -1);
    expect(ids).toHaveLength(3);
    const admin = track(new QueueAdmin(name, { connection: redisUrl() }), name);
    const statuses = await admin.cancel([ids[1]!]);
    expect([...statuses.values()]).toEqual(['cancelled:waiting']);
    expect(await q.qsize()).toBe(3);
    const got: string[] = [];
    for (let i = 0; i < 3; i++) {
      got.push(label(await q.get()));
      await q.taskDone();
      expect(joined).toBe(false);
    }
    expect(got).toEqual(['a1', 'a2', 'a4']);
    await eventually(() => expect(joined).toBe(true));
    await joining;
    for (let n = 1; n <= 4; n++) await q.put({ g: 'b', n }, { group: 'b' });
    expect(await admin.purge(['waiting'])).toBe(4);
    expect((await q.counts()).waiting).toBe(0);
    for (let n = 1; n <= 3; n++) await q.put({ g: 'c', n }, { group: 'c' });
    await q.shutdown({ immediate: true });
    expect((await q.counts()).waiting).toBe(0);
  });

  it('an operator can list and remove parked tasks and heads; a group whose head went another way goes on', async () => {
    const name = uniqueName('grp-admin');
    const q = open<Item>(name);
    const admin = track(new QueueAdmin(name, { connection: redisUrl() }), name);
    for (let n = 1; n <= 4; n++) await q.put({ g: 'a', n }, { group: 'a' });
    const waiting = await admin.tasks('waiting');
    expect(waiting.map((t) => label(t.data as Item))).toEqual(['a1', 'a2', 'a3', 'a4']);
    // Removing the head (a1) and a parked task (a3): a2 becomes the head.
    expect(await admin.remove(waiting[0]!.id)).toBe(true);
    expect(await admin.remove(waiting[2]!.id)).toBe(true);
    expect(await q.qsize()).toBe(2);
    const k = queueKeys('asyncq', name);
    expect(await adminClient().hget(k.stats, 'removed')).toBe('2');
    // The head removed behind the group's back (as BullMQ's own clean would): the next get finds it.
    const head = await adminClient().lpop(k.wait);
    await adminClient().del(k.job(head!));
    await adminClient().hincrby(k.stats, 'removed', 1);
    const next = await q.getTask({ timeout: 20_000 });
    expect(label(next.data)).toBe('a4');
    await next.done(null);
    expect(await q.qsize()).toBe(0);
  });

  it("on a partitioned queue a group's tasks share a partition, so its perGroup limit is exact", async () => {
    const name = uniqueName('grp-parts');
    const q = open<Item>(name, { partitions: 3 });
    await q.setLimits({ perGroup: { concurrency: 2 } });
    for (const g of ['a', 'b', 'c', 'd']) await q.putMany([1, 2, 3, 4, 5].map((n) => ({ item: { g, n }, opts: { group: g } })));
    const perPartition = await track(new QueueAdmin(name, { connection: redisUrl() }), name).partitionCounts();
    // Each group's 5 tasks are all in one partition.
    for (const c of perPartition) expect(c.waiting % 5).toBe(0);
    const held: { g: string; done: (r: null) => Promise<void> }[] = [];
    for (let i = 0; i < 8; i++) {
      const t = await q.getTask({ timeout: 20_000 });
      held.push({ g: t.data.g, done: (r) => t.done(r) });
    }
    // 8 held: two of each group, and no third of any while they are held.
    expect(held.map((h) => h.g).sort()).toEqual(['a', 'a', 'b', 'b', 'c', 'c', 'd', 'd']);
    await expect(q.get({ timeout: 300 })).rejects.toMatchObject({ code: 'TIMEOUT' });
    for (const h of held) await h.done(null);
    for (let i = 0; i < 12; i++) await (await q.getTask({ timeout: 20_000 })).done(null);
    expect(await q.qsize()).toBe(0);
  });

  it('bad group names get one clear line, and nothing is put', async () => {
    const name = uniqueName('grp-bad');
    const q = open<number>(name);
    for (const group of ['', 'a:b', '{x}', 'with space', 'x'.repeat(201), 42]) {
      const e = await q.put(1, { group: group as string }).catch((err: unknown) => err);
      expect(e).toBeInstanceOf(ConfigError);
      expect((e as Error).message).toMatch(/^invalid group .*: use 1-200 characters without ':', '\{', '\}', whitespace or control characters, e\.g\. "tenant-42"$/);
    }
    await expect(q.setLimits({ perGroup: { concurrency: 0 } })).rejects.toThrow('perGroup.concurrency must be a whole number of at least 1; got 0');
    await expect(q.setLimits({ perGroup: { rate: { max: 1, per: '1s' } } } as never)).rejects.toThrow(/^perGroup\.rate is not supported yet/);
    expect(await q.qsize()).toBe(0);
  });
});
