// Tasks a consuming handle fetches ahead of its gets (QueueOptions.prefetch): how many it holds,
// and that order survives a loop that slows down until its tasks fetched ahead go back.
import { ConfigError, Queue, QueueAdmin } from '@asyncq/core';
import { afterEach, describe, expect, it } from 'vitest';
import { queueKeys } from '@asyncq/core/internal';
import { Redis } from 'ioredis';
import { adminClient, RedisServer, redisUrl, sleep, stopRedisServers, track, uniqueName } from '@asyncq/test-support';

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

/** Commands Redis ran, those inside scripts included (INFO commandstats). */
async function commandsRun(redis: Redis): Promise<number> {
  const info = await redis.info('commandstats');
  return [...info.matchAll(/calls=(\d+)/g)].reduce((a, m) => a + Number(m[1]), 0);
}

afterEach(stopRedisServers);

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

  it('works through what it fetched ahead without handing it back: about ten Redis commands a task, on a Redis of its own', async () => {
    const server = await RedisServer.start();
    const name = uniqueName();
    const q = new Queue<number>(name, { connection: server.url, prefetch: 64 });
    const redis = new Redis(server.url);
    try {
      await q.putMany(Array.from({ length: 2000 }, (_, i) => ({ item: i })));
      // A loop that does not wait for each acknowledgement, as a worker's slot does not: they go in batches.
      const run = async (n: number): Promise<number[]> => {
        const got: number[] = [];
        const acks: Promise<void>[] = [];
        for (let i = 0; i < n; i++) {
          got.push(await q.get({ timeout: 10_000 }));
          acks.push(q.taskDone());
        }
        await Promise.all(acks);
        return got;
      };
      await run(100); // the session's first calls aside
      const before = await commandsRun(redis);
      expect(await run(1500)).toEqual(Array.from({ length: 1500 }, (_, i) => 100 + i));
      const perTask = ((await commandsRun(redis)) - before) / 1500;
      // About 10 with the stash worked through; every task handed back and taken again costs 50 and
      // more (a queue without a rate limit once read as one whose tasks fetched ahead were all late).
      expect(perTask).toBeLessThan(20);
    } finally {
      redis.disconnect();
      await q.close();
    }
  });

  it('under a rate limit, a task fetched ahead that a get claims after the margin it was counted for goes back unrun and is reserved again', async () => {
    const name = uniqueName();
    const q = open<number>(name, 64);
    const admin = track(new QueueAdmin(name, { connection: redisUrl() }));
    await q.setLimits({ rate: { max: 100_000, per: '1s' } }); // never binds; its reply margin is 100 ms
    await q.putMany(Array.from({ length: 300 }, (_, i) => ({ item: i })));
    expect(await loop(q, 100, () => 0)).toEqual(Array.from({ length: 100 }, (_, i) => i));
    expect((await q.counts()).active).toBeGreaterThan(0); // fetched ahead, under the limit too
    const pausedAt = Date.now();
    await sleep(140); // past the 100 ms margin, before the 200 ms a stash waits for its gets
    const next = await q.get({ timeout: 5000 });
    const task = (await admin.tasks('active', 0, 299)).find((t) => t.data === next)!;
    const k = queueKeys('asyncq', name);
    // Reserved again after the pause: started from the stash, it would have kept its first
    // reservation, counted in the rate's window as starting within 100 ms of it.
    expect(Number(await adminClient().hget(`${k.base}${task.id}`, 'processedOn'))).toBeGreaterThanOrEqual(pausedAt + 100);
    await q.taskDone();
  });
});
