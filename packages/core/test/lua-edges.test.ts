import { describe, expect, it } from 'vitest';
import { LeaseLost, Queue, QueueAdmin, QueueEmpty, QueueShutDown, type Task } from '@asyncq/core';
import { queueKeys } from '@asyncq/core/internal';
import { adminClient, eventually, redisUrl, sleep, track, uniqueName } from '@asyncq/test-support';

function open<T>(name: string, opts: Record<string, unknown> = {}): Queue<T> {
  return track(new Queue<T>(name, { connection: redisUrl(), ...opts }), name);
}

// The edges of consume-18.lua, add-12.lua and fail-15.lua, driven through the public API with
// Redis itself inspected (and, for the lease, tampered with) where the edge is about Redis state.
describe('batched Lua at its edges', () => {
  it('an empty queue: nothing reserved, nothing written but the consumer\'s announcement', async () => {
    const name = uniqueName('edge-empty');
    const q = open<number>(name);
    await expect(q.getNowait()).rejects.toBeInstanceOf(QueueEmpty);
    const waiting = q.get({ timeout: 300 }).catch((e: unknown) => e);
    await eventually(async () => expect(await adminClient().exists(queueKeys('asyncq', name).wantTask)).toBe(1));
    expect((await waiting as Error).name).toBe('WaitAborted');
    // No queue was created by looking at it: no meta, no lists, no job counter.
    const keys = (await adminClient().keys(`asyncq:{${name}}:*`)).sort();
    expect(keys).toEqual([queueKeys('asyncq', name).wantTask]);
  });

  it('a batch larger than what is ready: the gets that can be served are, the rest wait for the next puts', async () => {
    const name = uniqueName('edge-batch');
    const q = open<number>(name);
    const producer = open<number>(name);
    for (const n of [1, 2, 3]) await producer.put(n);
    const gets = Array.from({ length: 10 }, () => q.get({ timeout: 10_000 }));
    let served: number[] = [];
    await eventually(async () => {
      served = (await Promise.all(gets.map((g) => Promise.race([g, sleep(0).then(() => undefined)])))).filter((x): x is number => x !== undefined);
      expect(served).toHaveLength(3);
    });
    expect(served.sort()).toEqual([1, 2, 3]);
    expect((await q.counts()).active).toBe(3);
    await producer.putMany(Array.from({ length: 7 }, (_, i) => ({ item: 4 + i })));
    expect((await Promise.all(gets)).sort((a, b) => a - b)).toEqual([1, 2, 3, 4, 5, 6, 7, 8, 9, 10]);
    for (let i = 0; i < 10; i++) await q.taskDone();
    expect(await q.counts()).toMatchObject({ active: 0, completed: 10, unfinished: 0 });
  });

  it('a shutdown in the middle of a batch: held tasks still finish, the rest are served, then gets stop', async () => {
    const name = uniqueName('edge-shutdown');
    const q = open<number>(name);
    for (let n = 1; n <= 6; n++) await q.put(n);
    const held: Task<number>[] = [];
    for (let i = 0; i < 3; i++) held.push(await q.getTask());
    await q.shutdown();
    await expect(q.put(7)).rejects.toBeInstanceOf(QueueShutDown);
    for (const t of held) await t.done();
    const rest = [await q.get(), await q.get(), await q.get()];
    expect(rest.sort()).toEqual([4, 5, 6]);
    await expect(q.get({ timeout: 3000 })).rejects.toBeInstanceOf(QueueShutDown);
    for (let i = 0; i < 3; i++) await q.taskDone();
    await q.join({ timeout: 3000 });
    expect(await q.counts()).toMatchObject({ completed: 6, unfinished: 0 });
  });

  it('an immediate shutdown in the middle of a batch: waiting tasks are discarded, held ones still count until done', async () => {
    const name = uniqueName('edge-immediate');
    const q = open<number>(name);
    for (let n = 1; n <= 6; n++) await q.put(n);
    const held = [await q.getTask(), await q.getTask()];
    await q.shutdown({ immediate: true });
    expect(await q.counts()).toMatchObject({ waiting: 0, active: 2, unfinished: 2 });
    const joined = q.join({ timeout: 5000 });
    for (const t of held) await t.done();
    await joined;
    const admin = track(new QueueAdmin(name, { connection: redisUrl() }), name);
    expect(await admin.totals()).toMatchObject({ added: 6, completed: 2, discarded: 4 });
  });

  it('a lease expiring in the middle of a batch: another consumer takes the tasks, the first one is told LeaseLost', async () => {
    const name = uniqueName('edge-lease');
    const a = open<number>(name, { lease: 60_000 });
    const b = open<number>(name, { stalledInterval: 100 });
    for (let n = 1; n <= 4; n++) await a.put(n);
    const held = [await a.getTask(), await a.getTask(), await a.getTask(), await a.getTask()];
    const keys = queueKeys('asyncq', name);
    // As if a's process had stalled past its lease: its entry expires.
    const [lease] = await adminClient().zrange(keys.leases, 0, 0);
    await adminClient().zadd(keys.leases, 1, lease!);
    const taken = [await b.getTask({ timeout: 5000 }), await b.getTask({ timeout: 5000 }), await b.getTask({ timeout: 5000 }), await b.getTask({ timeout: 5000 })];
    expect(taken.map((t) => t.data).sort()).toEqual([1, 2, 3, 4]);
    expect(await adminClient().hget(keys.job(taken[0]!.id), 'stc')).toBe('1');
    await expect(held[0]!.done()).rejects.toBeInstanceOf(LeaseLost);
    await expect(held[1]!.fail(new Error('late'))).rejects.toBeInstanceOf(LeaseLost);
    // a is alive: its next task comes under a new lease.
    for (const t of taken) await t.done();
    await a.put(5);
    const next = await a.getTask({ timeout: 5000 });
    await next.done();
    await a.join({ timeout: 5000 });
    expect(await a.counts()).toMatchObject({ completed: 5, failed: 0, active: 0, unfinished: 0 });
  });

  it('a consumer busy for many lease lengths keeps the tasks it holds: nobody else is handed them', async () => {
    const name = uniqueName('edge-busy');
    const busy = open<number>(name, { lease: 300, stalledInterval: 50 });
    // Four long tasks held while a steady stream of short ones keeps the handle reserving and
    // finishing for five leases: its lease must be pushed forward all along.
    for (let i = 0; i < 4; i++) await busy.put(i, { name: 'long' });
    const long = [await busy.getTask(), await busy.getTask(), await busy.getTask(), await busy.getTask()];
    await busy.putMany(Array.from({ length: 150 }, (_, i) => ({ item: 100 + i, opts: { name: 'short' } })));
    const t0 = Date.now();
    while (Date.now() - t0 < 1500) {
      const t = await busy.getTask({ timeout: 200 }).catch(() => undefined);
      if (!t) continue;
      await sleep(20);
      await t.done();
    }
    // Another consumer arrives and collects the tasks of expired leases: there must be none.
    const other = open<number>(name, { lease: 300, stalledInterval: 50 });
    const seen: string[] = [];
    for (;;) {
      const t = await other.getTask({ timeout: 400 }).catch(() => undefined);
      if (!t) break;
      seen.push(t.name);
      await t.done();
    }
    expect(seen.filter((n) => n === 'long')).toEqual([]);
    for (const t of long) await t.done(); // still this handle's: no LeaseLost
    await busy.join({ timeout: 5000 });
    expect(await busy.counts()).toMatchObject({ completed: 154, unfinished: 0 });
  });

  it('tasks coming back from a consumer never put more than maxsize tasks in the queue; they wait and come first', async () => {
    const name = uniqueName('edge-stalled');
    const admin = track(new QueueAdmin(name, { connection: redisUrl() }), name);
    const keys = queueKeys('asyncq', name);
    const a = open<number>(name, { maxsize: 2, lease: 60_000 });
    const c = open<number>(name, { maxsize: 2, lease: 60_000 });
    const producer = open<number>(name, { maxsize: 2 });
    // a holds two tasks, c two more; producers then fill the queue up to maxsize again.
    await producer.putMany([{ item: 1 }, { item: 2 }]);
    const heldByA = [await a.getTask(), await a.getTask()];
    await producer.putMany([{ item: 3 }, { item: 4 }]);
    const heldByC = [await c.getTask(), await c.getTask()];
    await producer.putMany([{ item: 5 }, { item: 6 }]);
    expect(heldByA.map((t) => t.data).concat(heldByC.map((t) => t.data)).sort()).toEqual([1, 2, 3, 4]);
    // a closes (hand-back): its tasks may not push the queue past 2, so they wait.
    await a.close();
    expect(await admin.partitionCounts()).toMatchObject([{ waiting: 2, active: 2, stalled: 2, unfinished: 6 }]);
    expect(await producer.qsize()).toBe(2);
    await expect(producer.putNowait(7)).rejects.toThrow(/full/i);
    // c's lease expires: b collects its tasks on its first get, and they wait too.
    await adminClient().zadd(keys.leases, 1, (await adminClient().zrange(keys.leases, 0, 0))[0]!);
    const b = open<number>(name, { maxsize: 2, stalledInterval: 100 });
    const order: number[] = [];
    const first = await b.getTask({ timeout: 5000 });
    order.push(first.data);
    expect(await admin.partitionCounts()).toMatchObject([{ active: 1, stalled: 4, unfinished: 6 }]);
    // A put made now waits behind every returned task.
    const late = producer.put(7);
    await first.done();
    for (let i = 0; i < 6; i++) {
      expect(await b.qsize()).toBeLessThanOrEqual(2);
      const t = await b.getTask({ timeout: 5000 });
      order.push(t.data);
      await t.done();
    }
    await late;
    expect(order.slice().sort()).toEqual([1, 2, 3, 4, 5, 6, 7]);
    expect(order[6]).toBe(7);
    await expect(heldByC[0]!.done()).rejects.toBeInstanceOf(LeaseLost);
    await b.join({ timeout: 5000 });
    expect(await admin.partitionCounts()).toMatchObject([{ waiting: 0, stalled: 0, unfinished: 0, completed: 7 }]);
  });

  it("purge('waiting') also removes the tasks waiting in the stalled list", async () => {
    const name = uniqueName('edge-purge-stalled');
    const admin = track(new QueueAdmin(name, { connection: redisUrl() }), name);
    const a = open<number>(name, { maxsize: 2, lease: 60_000 });
    const producer = open<number>(name, { maxsize: 2 });
    await producer.putMany([{ item: 1 }, { item: 2 }]);
    await a.getTask();
    await a.getTask();
    await producer.putMany([{ item: 3 }, { item: 4 }]);
    await a.close(); // its two tasks cannot fit: they wait in the stalled list
    expect(await admin.partitionCounts()).toMatchObject([{ waiting: 2, stalled: 2, unfinished: 4 }]);
    expect(await admin.purge(['waiting'])).toBe(4);
    expect(await admin.partitionCounts()).toMatchObject([{ waiting: 0, stalled: 0, unfinished: 0 }]);
    await producer.join({ timeout: 5000 });
  });

  it('a retry never puts more than maxsize tasks in the queue, at once or after its backoff', async () => {
    const name = uniqueName('edge-retry');
    const admin = track(new QueueAdmin(name, { connection: redisUrl() }), name);
    const q = open<string>(name, { maxsize: 1 });
    await q.put('now', { attempts: 2 });
    const first = await q.getTask();
    await q.put('filler');
    await first.fail(new Error('again'));
    expect(await admin.partitionCounts()).toMatchObject([{ waiting: 1, stalled: 1, unfinished: 2 }]);
    expect(await q.get()).toBe('filler');
    await q.taskDone();
    const second = await q.getTask(); // the retry, released now that there is room
    expect(second.data).toBe('now');
    await second.done();
    // With a backoff: the retry waits its delay, then for room.
    await q.put('later', { attempts: 2, backoff: 100 });
    const third = await q.getTask();
    expect(third.data).toBe('later');
    await q.put('filler 2');
    await third.fail(new Error('again'));
    await sleep(300);
    expect(await q.get()).toBe('filler 2');
    expect(await admin.partitionCounts()).toMatchObject([{ waiting: 0, stalled: 1 }]);
    await q.taskDone();
    expect(await q.get({ timeout: 5000 })).toBe('later');
    await q.taskDone();
    await q.join({ timeout: 5000 });
    expect(await admin.totals()).toMatchObject({ completed: 4, retried: 2 });
  });

  it('a task whose hash vanished while held is a lost lease, not a crash, and leaves no half-written hash', async () => {
    const name = uniqueName('edge-vanished');
    const q = open<number>(name);
    await q.put(1);
    const t = await q.getTask();
    await adminClient().del(queueKeys('asyncq', name).job(t.id));
    await expect(t.done()).rejects.toBeInstanceOf(LeaseLost);
    expect(await adminClient().exists(queueKeys('asyncq', name).job(t.id))).toBe(0);
    expect(await q.counts()).toMatchObject({ active: 0, completed: 0, unfinished: 0 });
  });
});
