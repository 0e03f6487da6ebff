// Queue conformance: order, maxsize, nowait errors and join (see conformance-suite.ts).
import { describe, expect, it } from 'vitest';
import { settledWithin, sleep } from '../timing.js';
import { ConfigError, QueueEmpty, QueueFull, TaskDoneError, WaitAborted, type AsyncQueue } from '@asyncq/core';
import { type Backend } from './queue-kit.js';

export function orderAndJoinConformance(backend: Backend): void {
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

}
