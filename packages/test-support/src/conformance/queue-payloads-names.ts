// Queue conformance: payloads, names, bulk puts and results (see conformance-suite.ts).
import { describe, expect, it } from 'vitest';
import { sleep } from '../timing.js';
import { ConfigError, PayloadError, TaskFailed, TaskNotFound } from '@asyncq/core';
import { type Backend } from './queue-kit.js';

export function payloadsAndNamesConformance(backend: Backend): void {
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
}
