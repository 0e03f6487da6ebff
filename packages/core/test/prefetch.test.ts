// Tasks a consuming handle fetches ahead of its gets (QueueOptions.prefetch): how many it holds,
// and that order survives a loop that slows down until its tasks fetched ahead go back.
import { ConfigError, Queue } from '@asyncq/core';
import { describe, expect, it } from 'vitest';
import { queueKeys } from '@asyncq/core/internal';
import { adminClient, redisUrl, sleep, track, uniqueName } from '@asyncq/test-support';

function open<T>(name: string, prefetch?: number): Queue<T> {
  return track(new Queue<T>(name, { connection: redisUrl(), ...(prefetch === undefined ? {} : { prefetch }) }), name);
}

/** A consumer loop of `n` get/taskDone turns; returns what it got, in order. */
async function loop(q: Queue<number>, n: number, pause: (i: number) => number): Promise<number[]> {
  const got: number[] = [];
  for (let i = 0; i < n; i++) {
    got.push(await q.get({ timeout: 10_000 }));
    await q.taskDone();
    const ms = pause(i);
    if (ms > 0) await sleep(ms);
  }
  return got;
}

describe('prefetch', () => {
  it('refuses a prefetch that is not a whole number in range, in one line', () => {
    expect(() => new Queue('p', { connection: redisUrl(), prefetch: -1 })).toThrow(ConfigError);
    expect(() => new Queue('p', { connection: redisUrl(), prefetch: -1 })).toThrow(/prefetch/);
    expect(() => new Queue('p', { connection: redisUrl(), prefetch: 1.5 as number })).toThrow(/prefetch/);
  });

  it('with prefetch 0, a consumer loop holds only the task it got', async () => {
    const name = uniqueName();
    const producer = open<number>(name);
    await producer.putMany(Array.from({ length: 50 }, (_, i) => ({ item: i })));
    const q = open<number>(name, 0);
    expect(await loop(q, 20, () => 0)).toEqual(Array.from({ length: 20 }, (_, i) => i));
    // Nothing fetched ahead: the other 30 wait in the queue, none is held by the consumer.
    expect(await producer.counts()).toMatchObject({ active: 0, waiting: 30 });
  });

  it('a consumer loop fetches ahead, at most prefetch tasks, and hands back what it stops claiming', async () => {
    const name = uniqueName();
    const producer = open<number>(name);
    await producer.putMany(Array.from({ length: 200 }, (_, i) => ({ item: i })));
    const q = open<number>(name, 4);
    expect(await loop(q, 40, () => 0)).toEqual(Array.from({ length: 40 }, (_, i) => i));
    const held = (await producer.counts()).active;
    expect(held).toBeLessThanOrEqual(4);
    // The loop stopped getting: what it fetched ahead goes back to the queue within moments.
    await sleep(1000);
    expect(await producer.counts()).toMatchObject({ active: 0, waiting: 160 });
    expect(await loop(q, 160, () => 0)).toEqual(Array.from({ length: 160 }, (_, i) => 40 + i));
  });

  it('keeps FIFO order when a loop slows down and its tasks fetched ahead go back to the queue', async () => {
    const name = uniqueName();
    const producer = open<number>(name);
    await producer.putMany(Array.from({ length: 60 }, (_, i) => ({ item: i })));
    const q = open<number>(name);
    // Fast turns fill the stash; then pauses longer than a task fetched ahead waits for its get.
    const got = await loop(q, 60, (i) => (i % 10 === 9 ? 250 : i % 3 === 0 ? 60 : 0));
    expect(got).toEqual(Array.from({ length: 60 }, (_, i) => i));
    expect(await producer.counts()).toMatchObject({ active: 0, waiting: 0 });
  });

  it('never fetches ahead a task back from a dead consumer: only a get that runs it takes it, so a second kill cannot delay it twice', async () => {
    const name = uniqueName();
    const keys = queueKeys('asyncq', name);
    const producer = open<number>(name);
    const ids = await producer.putMany(Array.from({ length: 40 }, (_, i) => ({ item: i })));
    // Task 10 as the stalled check leaves it: its "stc" counts one return from a dead consumer.
    await adminClient().hset(`${keys.base}${ids[10]}`, 'stc', '1');
    const q = open<number>(name, 8);
    const got: number[] = [];
    for (let i = 0; i < 20; i++) {
      got.push(await q.get({ timeout: 10_000 }));
      if (i === 9) {
        // The loop's stash holds tasks ahead of its gets, but not task 10: it waits at the front of the queue.
        expect(await adminClient().hget(`${keys.base}${ids[10]}`, 'pb')).toBeNull();
        expect(await adminClient().lindex(keys.wait, -1)).toBe(ids[10]);
      }
      await q.taskDone();
    }
    expect(got).toEqual(Array.from({ length: 20 }, (_, i) => i));
  });
});
