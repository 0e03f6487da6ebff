// maxsize below the partition count: the first `maxsize` partitions admit one task each, the rest
// nothing, so the bound is exact; a key (or dedup id) that picks a partition without a share is
// refused in one line, since no room could ever come for it there.
import { ConfigError, Queue, QueueFull } from '@asyncq/core';
import { describe, expect, it } from 'vitest';
import { redisUrl, track, uniqueName } from '@asyncq/test-support';

function open<T>(name: string, maxsize: number): Queue<T> {
  return track(new Queue<T>(name, { connection: redisUrl(), partitions: 3, maxsize }), name);
}

describe('maxsize below the partition count', () => {
  it('holds exactly maxsize tasks over 3 partitions, and admits again as tasks are taken', async () => {
    for (const maxsize of [1, 2]) {
      const name = uniqueName();
      const q = open<number>(name, maxsize);
      const consumer = open<number>(name, maxsize);
      for (let i = 0; i < maxsize; i++) await q.putNowait(i);
      await expect(q.putNowait(99)).rejects.toBeInstanceOf(QueueFull);
      expect(await q.qsize()).toBe(maxsize);
      expect(await q.full()).toBe(true);
      // A put waits for room, and goes where the room is once a consumer takes a task.
      const waiting = q.put(100);
      const first = await consumer.get({ timeout: 5000 });
      await waiting;
      expect(await q.qsize()).toBe(maxsize);
      const rest: number[] = [];
      for (let i = 0; i < maxsize; i++) rest.push(await consumer.get({ timeout: 5000 }));
      expect([first, ...rest].sort((a, b) => a - b)).toEqual([...Array.from({ length: maxsize }, (_, i) => i), 100]);
      expect(await q.qsize()).toBe(0);
    }
  });

  it('refuses a key that maps to a partition with no share, in one line, and adds nothing', async () => {
    const name = uniqueName();
    const q = open<string>(name, 1);
    // Find a key in each kind of partition: one with the share (0) and one without.
    let refused = 0;
    let admitted = 0;
    for (let i = 0; i < 20 && (refused === 0 || admitted === 0); i++) {
      try {
        await q.putNowait('x', { key: `k${i}` });
        admitted++;
        await q.get();
        await q.taskDone();
      } catch (e) {
        expect(e).toBeInstanceOf(ConfigError);
        expect((e as Error).message).toMatch(/^key "k\d+" maps to partition [12], which has no share of maxsize 1 \(only the first 1 of 3 partitions admit tasks\): raise maxsize to at least 3/);
        refused++;
      }
    }
    expect(refused).toBeGreaterThan(0);
    expect(admitted).toBeGreaterThan(0);
    expect(await q.qsize()).toBe(0);
  });
});
