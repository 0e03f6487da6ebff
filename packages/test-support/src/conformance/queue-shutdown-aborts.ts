// Queue conformance: shutdown (Python 3.13 semantics) and aborting waits (see conformance-suite.ts).
import { describe, expect, it } from 'vitest';
import { settledWithin, sleep } from '../timing.js';
import { QueueShutDown, WaitAborted } from '@asyncq/core';
import { drainAll, type Backend } from './queue-kit.js';

export function shutdownAndAbortConformance(backend: Backend): void {
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

}
