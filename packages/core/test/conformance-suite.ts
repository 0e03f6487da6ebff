import { describe, expect, it } from 'vitest';
import { settledWithin, sleep } from '@asyncq/test-support';
import {
  ConfigError,
  PayloadError,
  QueueEmpty,
  QueueFull,
  QueueShutDown,
  TaskDoneError,
  TaskFailed,
  TaskNotFound,
  WaitAborted,
  type AsyncQueue,
  type QueueOrder,
} from '@asyncq/core';

/** Options a conformance test opens a queue with. */
export interface OpenOptions {
  maxsize?: number;
  order?: QueueOrder;
  lease?: number;
  stalledInterval?: number;
}

/**
 * A backend under test: `open` makes a queue, and `peer` another handle on the same queue (for a
 * backend that is not shared, the same object); `construct` builds one from raw options, for the
 * argument checks. Tests branch on `capabilities`, never on the backend's name.
 */
export interface Backend {
  name: string;
  open<T>(opts?: OpenOptions): { q: AsyncQueue<T>; peer(): AsyncQueue<T> };
  construct(opts: Record<string, unknown>): unknown;
}

async function drainAll<T>(q: AsyncQueue<T>): Promise<T[]> {
  const out: T[] = [];
  for (;;) {
    try {
      out.push(await q.getNowait());
      await q.taskDone();
    } catch (e) {
      if (e instanceof QueueEmpty || e instanceof QueueShutDown) return out;
      throw e;
    }
  }
}

export function conformanceSuite(backend: Backend): void {
 describe(`${backend.name} conformance`, () => {
  describe('order', () => {
    it('hands out FIFO by default', async () => {
      const { q } = backend.open<number>();
      for (const n of [1, 2, 3, 4, 5]) await q.put(n);
      const got = [];
      for (let i = 0; i < 5; i++) got.push(await q.get());
      expect(got).toEqual([1, 2, 3, 4, 5]);
    });

    it('hands out the newest first with order lifo', async () => {
      const { q } = backend.open<number>({ order: 'lifo' });
      for (const n of [1, 2, 3, 4, 5]) await q.put(n);
      const got = [];
      for (let i = 0; i < 5; i++) got.push(await q.get());
      expect(got).toEqual([5, 4, 3, 2, 1]);
    });

    it('hands out the lowest priority first, FIFO among equals, from the option or the item', async () => {
      const { q } = backend.open<unknown>({ order: 'priority' });
      await q.put('c', { priority: 3 });
      await q.put([1, 'a1']);
      await q.put(2);
      await q.put([1, 'a2']);
      await q.put({ job: 'z' }, { priority: 0 });
      const got = [];
      for (let i = 0; i < 5; i++) got.push(await q.get());
      expect(got).toEqual([{ job: 'z' }, [1, 'a1'], [1, 'a2'], 2, 'c']);
    });

    it('refuses an item without a priority on a priority queue, and loses nothing', async () => {
      const { q } = backend.open<unknown>({ order: 'priority' });
      await q.put(5);
      await expect(q.put({ no: 'priority' })).rejects.toThrow(/priority queue needs a priority/);
      await expect(q.put('x', { priority: -1 })).rejects.toThrow(ConfigError);
      expect(await q.qsize()).toBe(1);
      expect(await q.get()).toBe(5);
    });
  });

  describe('maxsize', () => {
    it('makes put wait while full and resumes it when a consumer takes a task', async () => {
      const { q, peer } = backend.open<number>({ maxsize: 2 });
      const consumer = peer();
      await q.put(1);
      await q.put(2);
      expect(await q.full()).toBe(true);
      const third = q.put(3);
      expect(await settledWithin(third, 300)).toBe(false);
      expect(await q.qsize()).toBe(2);
      expect(await consumer.get()).toBe(1);
      await third;
      expect(await q.qsize()).toBe(2);
      expect([await consumer.get(), await consumer.get()]).toEqual([2, 3]);
    });

    it('putNowait throws QueueFull when full and adds nothing', async () => {
      const { q } = backend.open<number>({ maxsize: 1 });
      await q.putNowait(1);
      await expect(q.putNowait(2)).rejects.toBeInstanceOf(QueueFull);
      expect(await q.qsize()).toBe(1);
    });
  });

  describe('nowait and taskDone errors', () => {
    it('getNowait throws QueueEmpty on an empty queue', async () => {
      const { q } = backend.open<number>();
      await expect(q.getNowait()).rejects.toBeInstanceOf(QueueEmpty);
    });

    it('taskDone with nothing outstanding, or an id this handle does not hold, throws TaskDoneError', async () => {
      const { q, peer } = backend.open<number>();
      await expect(q.taskDone()).rejects.toBeInstanceOf(TaskDoneError);
      const id = await q.put(1);
      await expect(q.taskDone(id)).rejects.toBeInstanceOf(TaskDoneError);
      const other = peer();
      const task = await other.getTask();
      expect(task.id).toBe(id);
      if (other !== q) await expect(q.taskDone(id)).rejects.toBeInstanceOf(TaskDoneError);
      await other.taskDone(id);
      await expect(other.taskDone(id)).rejects.toBeInstanceOf(TaskDoneError);
      await expect(other.taskDone()).rejects.toBeInstanceOf(TaskDoneError);
    });

    it('taskDone() without an argument finishes the oldest task got', async () => {
      const { q } = backend.open<number>();
      await q.put(1);
      await q.put(2);
      const a = await q.getTask();
      const b = await q.getTask();
      await q.taskDone();
      expect((await q.counts()).active).toBe(1);
      await expect(q.taskDone(a)).rejects.toBeInstanceOf(TaskDoneError);
      await b.done();
      expect(await q.counts()).toMatchObject({ active: 0, completed: 2, unfinished: 0 });
    });
  });

  describe('join', () => {
    it('returns at once on an empty queue, twice in a row', async () => {
      const { q } = backend.open<number>();
      await q.join({ timeout: 2000 });
      await q.join({ timeout: 2000 });
    });

    it('with two consumers and 100 tasks, returns only after all 100 are done', async () => {
      const { q, peer } = backend.open<number>();
      for (let i = 1; i <= 100; i++) await q.put(i);
      let sum = 0;
      let done = 0;
      const consume = async (c: AsyncQueue<number>): Promise<void> => {
        for (;;) {
          let n: number;
          try {
            n = await c.get({ timeout: 1500 });
          } catch (e) {
            if (e instanceof WaitAborted) return;
            throw e;
          }
          await sleep(1);
          sum += n;
          done++;
          await c.taskDone();
        }
      };
      const joined = q.join().then(() => ({ sum, done }));
      const consumers = [consume(peer()), consume(peer())];
      expect(await joined).toEqual({ sum: 5050, done: 100 });
      await Promise.all(consumers);
      await q.join({ timeout: 2000 });
    });

    it('counts a task that failed for good as finished, after its retries', async () => {
      const { q } = backend.open<string>();
      await q.put('flaky', { attempts: 3, backoff: 20 });
      const joined = q.join();
      const attempts: number[] = [];
      for (let i = 0; i < 3; i++) {
        expect(await settledWithin(joined, 10)).toBe(false);
        const task = await q.getTask({ timeout: 5000 });
        attempts.push(task.attempt);
        await task.fail(new Error(`boom ${task.attempt}`));
      }
      await joined;
      expect(attempts).toEqual([1, 2, 3]);
      const dead = await q.failedTasks();
      expect(dead).toHaveLength(1);
      expect(dead[0]).toMatchObject({ data: 'flaky', attempts: 3, error: 'boom 3' });
      expect(await q.counts()).toMatchObject({ failed: 1, unfinished: 0 });
    });

    it('waits for a delayed task, which is not ready before its delay', async () => {
      const { q } = backend.open<string>();
      const t0 = Date.now();
      await q.put('later', { delay: 400 });
      await expect(q.getNowait()).rejects.toBeInstanceOf(QueueEmpty);
      expect((await q.counts()).delayed).toBe(1);
      const joined = q.join();
      expect(await q.get({ timeout: 5000 })).toBe('later');
      expect(Date.now() - t0).toBeGreaterThanOrEqual(350);
      expect(await settledWithin(joined, 50)).toBe(false);
      await q.taskDone();
      await joined;
    });
  });

  describe('shutdown (Python 3.13 semantics)', () => {
    it('graceful: later puts throw, gets drain what is left then throw, waiting get and put wake with QueueShutDown', async () => {
      const { q, peer } = backend.open<number>({ maxsize: 2 });
      const consumer = peer();
      await q.put(1);
      await q.put(2);
      const waitingPut = q.put(3);
      waitingPut.catch(() => {});
      await sleep(100);
      await q.shutdown();
      await expect(waitingPut).rejects.toBeInstanceOf(QueueShutDown);
      await expect(q.put(4)).rejects.toBeInstanceOf(QueueShutDown);
      await expect(q.putNowait(4)).rejects.toBeInstanceOf(QueueShutDown);
      expect(await consumer.get()).toBe(1);
      expect(await consumer.get()).toBe(2);
      await expect(consumer.get({ timeout: 3000 })).rejects.toBeInstanceOf(QueueShutDown);
      await expect(consumer.getNowait()).rejects.toBeInstanceOf(QueueShutDown);
      const joined = q.join();
      expect(await settledWithin(joined, 100)).toBe(false);
      await consumer.taskDone();
      await consumer.taskDone();
      await joined;
      await q.reopen();
      await q.put(5);
      expect(await consumer.get()).toBe(5);
      await consumer.taskDone();
    });

    it('wakes a get waiting on an empty queue', async () => {
      const { q, peer } = backend.open<number>();
      const consumer = peer();
      const waiting = consumer.get();
      waiting.catch(() => {});
      await sleep(150);
      await q.shutdown();
      await expect(waiting).rejects.toBeInstanceOf(QueueShutDown);
    });

    it('immediate: discards waiting tasks (they count as finished), wakes gets; held tasks still need taskDone', async () => {
      const { q, peer } = backend.open<number>();
      const consumer = peer();
      for (const n of [1, 2, 3]) await q.put(n);
      await q.put(4, { delay: 60_000 });
      const held = await consumer.getTask();
      const other = q.capabilities.shared ? peer() : undefined;
      await q.shutdown({ immediate: true });
      expect(await q.counts()).toMatchObject({ waiting: 0, delayed: 0, active: 1, unfinished: 1 });
      await expect(consumer.get({ timeout: 3000 })).rejects.toBeInstanceOf(QueueShutDown);
      if (other) await expect(other.get({ timeout: 3000 })).rejects.toBeInstanceOf(QueueShutDown);
      await expect(q.put(5)).rejects.toBeInstanceOf(QueueShutDown);
      const joined = q.join();
      expect(await settledWithin(joined, 100)).toBe(false);
      await held.done();
      await joined;
      expect(await q.counts()).toMatchObject({ completed: 1, unfinished: 0 });
    });
  });

  describe('aborting waits', () => {
    it('an aborted or timed-out get takes nothing; the next get has the task', async () => {
      const { q } = backend.open<number>();
      const ac = new AbortController();
      const g = q.get({ signal: ac.signal });
      await sleep(50);
      ac.abort();
      await expect(g).rejects.toMatchObject({ code: 'ABORTED' });
      await expect(q.get({ timeout: 100 })).rejects.toMatchObject({ code: 'TIMEOUT' });
      await q.put(7);
      expect(await q.get({ timeout: 3000 })).toBe(7);
    });

    it('never loses or duplicates a task that arrives at the moment of the abort', async () => {
      const { q, peer } = backend.open<number>();
      const producer = peer();
      const rounds = 30;
      let delivered = 0;
      let recovered = 0;
      for (let i = 0; i < rounds; i++) {
        const ac = new AbortController();
        const outcome = q.get({ signal: ac.signal }).then(
          (value) => ({ value, error: undefined }),
          (error: unknown) => ({ value: undefined, error }),
        );
        // Give a Redis-backed get time to start fetching, then race the put against the abort.
        await sleep(i % 3 === 0 ? 0 : 20);
        const put = producer.put(i);
        if (i % 2 === 0) await put;
        ac.abort();
        await put;
        const { value, error } = await outcome;
        if (error === undefined) {
          expect(value).toBe(i);
          delivered++;
        } else {
          expect(error).toBeInstanceOf(WaitAborted);
          expect(await q.get({ timeout: 5000 })).toBe(i);
          recovered++;
        }
        await q.taskDone();
      }
      await q.join({ timeout: 5000 });
      expect(await q.counts()).toMatchObject({ completed: rounds, unfinished: 0 });
      // Every round's task arrived exactly once: to the aborted get, or to the next one.
      expect(delivered + recovered).toBe(rounds);
    });

    it('an aborted or timed-out put adds nothing; one that got room is there exactly once', async () => {
      const { q, peer } = backend.open<number>({ maxsize: 1 });
      const consumer = peer();
      await q.put(0);
      await expect(q.put(1, { timeout: 100 })).rejects.toMatchObject({ code: 'TIMEOUT' });
      const ac = new AbortController();
      const p2 = q.put(2, { signal: ac.signal });
      await sleep(50);
      ac.abort();
      await expect(p2).rejects.toMatchObject({ code: 'ABORTED' });
      expect(await q.qsize()).toBe(1);
      // Race: a consumer makes room just as the put is aborted.
      const ac3 = new AbortController();
      const p3 = q.put(3, { signal: ac3.signal });
      await sleep(50);
      const got = consumer.get();
      ac3.abort();
      const accepted = await p3.then(
        () => true,
        () => false,
      );
      expect(await got).toBe(0);
      await consumer.taskDone();
      const rest = await drainAll(consumer);
      expect(rest).toEqual(accepted ? [3] : []);
    });
  });

  describe('payloads', () => {
    it('round-trips JSON values', async () => {
      const { q } = backend.open<unknown>();
      const items = [
        { nested: { list: [1, 'two', null, true, { deep: [] }] }, unicode: 'žluťoučký 🐎', n: -1.5e-7 },
        [],
        'plain',
        0,
        false,
        null,
      ];
      for (const item of items) await q.put(item);
      const got = [];
      for (let i = 0; i < items.length; i++) got.push(await q.get());
      expect(got).toEqual(items);
      await q.put({ when: new Date('2026-01-02T03:04:05.000Z'), gone: undefined });
      expect(await q.get()).toEqual({ when: '2026-01-02T03:04:05.000Z' });
    });

    it('refuses what JSON cannot carry, with a message naming it, and enqueues nothing', async () => {
      const { q } = backend.open<unknown>();
      const cyclic: Record<string, unknown> = { a: 1 };
      cyclic.self = cyclic;
      const bad: [unknown, RegExp][] = [
        [() => 1, /item is a function/],
        [{ big: 10n }, /item\.big is a BigInt/],
        [cyclic, /item\.self is a reference back/],
        [undefined, /item is undefined/],
        [{ x: [1, NaN] }, /item\.x\[1\] is the number NaN/],
        [new Map([[1, 2]]), /item is a Map/],
        [[undefined], /item\[0\] is undefined/],
      ];
      for (const [value, message] of bad) {
        const err = await q.put(value).catch((e: unknown) => e);
        expect(err).toBeInstanceOf(PayloadError);
        expect((err as Error).message).toMatch(message);
      }
      expect(await q.counts()).toMatchObject({ waiting: 0, unfinished: 0 });
    });
  });

  it('deduplicates puts by id', async () => {
    const { q } = backend.open<string>();
    expect(await q.put('a', { id: 'order-1' })).toBe('order-1');
    expect(await q.put('b', { id: 'order-1' })).toBe('order-1');
    expect(await q.qsize()).toBe(1);
    await expect(q.put('c', { id: 'a:b' })).rejects.toThrow(/no ':'/);
    expect(await q.get()).toBe('a');
  });

  it('counts tasks by state', async () => {
    const { q } = backend.open<number>();
    await q.put(1);
    await q.put(2);
    await q.put(3, { delay: 60_000 });
    await q.get();
    expect(await q.counts()).toEqual({ waiting: 1, delayed: 1, active: 1, completed: 0, failed: 0, cancelled: 0, unfinished: 3 });
    expect(await q.qsize()).toBe(1);
    expect(await q.empty()).toBe(false);
    await q.taskDone();
    expect((await q.counts()).completed).toBe(1);
  });

  it('never hands a held task to another consumer, however long it is held', async () => {
    const { q, peer } = backend.open<number>({ lease: 400, stalledInterval: 150 });
    const other = peer();
    await q.put(1);
    const task = await q.getTask();
    // Held for several lock durations: the lease is renewed, so the other consumer must not see it.
    await expect(other.get({ timeout: 1500 })).rejects.toMatchObject({ code: 'TIMEOUT' });
    await task.done();
    expect(await q.counts()).toMatchObject({ completed: 1, unfinished: 0 });
  });

  it('a consumer that finishes a task and stops getting does not keep the next one from others', async () => {
    const { q, peer } = backend.open<number>();
    const other = peer();
    for (const n of [1, 2, 3, 4, 5]) await q.put(n);
    expect(await q.get()).toBe(1);
    // A Redis handle fetches the next task in the same call for its next get, and hands it back
    // to the head of the queue if no get claims it within moments.
    await q.taskDone();
    await sleep(200);
    expect([await other.get({ timeout: 3000 }), await other.get({ timeout: 3000 })]).toEqual([2, 3]);
    await other.taskDone();
    await other.taskDone();
    // Meanwhile, the other consumer is never kept waiting for a task fetched ahead.
    const rest = await Promise.all([q.get({ timeout: 3000 }), other.get({ timeout: 3000 })]);
    expect(rest.sort()).toEqual([4, 5]);
    await q.taskDone();
    await other.taskDone();
    expect(await q.counts()).toMatchObject({ completed: 5, active: 0, unfinished: 0 });
  });

  describe('names, bulk puts and results', () => {
    it('delivers the task name and when it became ready', async () => {
      const { q } = backend.open<string>();
      const before = Date.now();
      await q.put('x', { name: 'resize' });
      await q.put('y');
      const a = await q.getTask();
      const b = await q.getTask();
      expect([a.name, b.name]).toEqual(['resize', 'task']);
      expect(a.readyAt).toBeGreaterThanOrEqual(before - 1000);
      await a.progress(50);
      await a.log('half way');
      await a.done();
      await b.done();
    });

    it('putMany adds everything in order through the maxsize bound, reporting progress', async () => {
      const { q, peer } = backend.open<number>({ maxsize: 20 });
      const consumer = peer();
      const progress: number[] = [];
      const items = Array.from({ length: 100 }, (_, i) => ({ item: i }));
      const putting = q.putMany(items, { batchSize: 15, onProgress: (n) => progress.push(n) });
      const got: number[] = [];
      while (got.length < 100) {
        got.push(await consumer.get({ timeout: 5000 }));
        await consumer.taskDone();
        expect(await q.qsize()).toBeLessThanOrEqual(20);
      }
      const ids = await putting;
      expect(ids).toHaveLength(100);
      expect(new Set(ids).size).toBe(100);
      expect(got).toEqual(items.map((x) => x.item));
      expect(progress.at(-1)).toBe(100);
      expect(progress).toEqual([...progress].sort((a, b) => a - b));
    });

    it('putMany refuses the whole call, enqueuing nothing, when one item is bad', async () => {
      const { q } = backend.open<unknown>();
      const err = await q.putMany([{ item: 1 }, { item: 2 }, { item: () => 3 }]).catch((e: unknown) => e);
      expect(err).toBeInstanceOf(PayloadError);
      expect((err as Error).message).toMatch(/^item 2: item is a function/);
      expect(await q.qsize()).toBe(0);
    });

    it('result() waits for the value a consumer finished with, or throws TaskFailed with the remote error', async () => {
      const { q, peer } = backend.open<number>();
      const consumer = peer();
      const ok = await q.put(20);
      const bad = await q.put(0, { attempts: 2 });
      const okResult = q.result(ok, { timeout: 5000 });
      const badResult = q.result(bad, { timeout: 5000 });
      badResult.catch(() => {});
      const t1 = await consumer.getTask();
      await t1.done({ doubled: t1.data * 2 });
      expect(await okResult).toEqual({ doubled: 40 });
      for (let i = 0; i < 2; i++) {
        const t = await consumer.getTask({ timeout: 5000 });
        await t.fail(new Error('division by zero'));
      }
      const err = await badResult.catch((e: unknown) => e);
      expect(err).toBeInstanceOf(TaskFailed);
      expect(err).toMatchObject({ taskId: bad, remoteMessage: 'division by zero' });
      expect(await q.result(ok)).toEqual({ doubled: 40 }); // already finished: at once
      await expect(q.result('no-such-task')).rejects.toBeInstanceOf(TaskNotFound);
    });
  });

  it('rejects bad construction arguments with what is allowed', () => {
    const { q } = backend.open<number>();
    const make = (opts: Record<string, unknown>): unknown => backend.construct(opts);
    expect(() => make({ maxsize: -1 })).toThrow(/maxsize must be a whole number >= 0, got -1/);
    expect(() => make({ maxsize: 'ten' })).toThrow(/maxsize must be a whole number >= 0, got "ten"/);
    expect(() => make({ order: 'random' })).toThrow(/order must be one of 'fifo', 'lifo', 'priority'/);
    if (q.capabilities.shared) {
      // A shared queue is found by its name, which becomes part of Redis keys.
      // '.' and '..' would be resolved away in the dashboard's URLs.
      for (const bad of ['', 'a:b', 'a{b}', '*', 'q?', '[a]', 'a\\b', 'a b', 'a\u0007b', 'a#0', 'x'.repeat(201), '.', '..']) {
        expect(() => make({ name: bad }), bad).toThrow(ConfigError);
      }
      expect(() => make({ name: '' })).toThrow(/invalid queue name "": use 1-200 characters without ':'/);
      expect(() => make({ name: '..' })).toThrow(/invalid queue name "\.\.": .*and not '\.' or '\.\.'/);
      // A 1 MiB name is echoed in part, not whole.
      const long = (() => {
        try {
          make({ name: 'x'.repeat(1 << 20) });
        } catch (e) {
          return (e as Error).message;
        }
        return '';
      })();
      expect(long).toMatch(/^invalid queue name "x{79}\.\.\. \(1048578 characters\): use 1-200 characters/);
      expect(long.length).toBeLessThan(400);
    }
  });
});
}
