import { describe, expect, it } from 'vitest';
import { Queue, QueueAdmin } from '@asyncq/core';
import { adminClient, redisUrl, sleep, track, uniqueName } from '@asyncq/test-support';

describe('history rollups', () => {
  it('count completed and failed tasks per minute and hour, with run-time p50 and p95, summed over partitions, kept 25 h and 31 days', async () => {
    const name = uniqueName('hist');
    const q = track(new Queue<number>(name, { connection: redisUrl(), partitions: 2 }), name);
    const admin = track(new QueueAdmin(name, { connection: redisUrl() }), name);
    for (let i = 0; i < 12; i++) await q.put(i, { attempts: 1 });
    // 10 complete after about 30 ms of running (bucket up to 50 ms), one after about 300 ms (up to 500), one fails for good.
    for (let i = 0; i < 10; i++) {
      const t = await q.getTask();
      await sleep(30);
      await t.done(i);
    }
    const slow = await q.getTask();
    await sleep(300);
    await slow.done('slow');
    await (await q.getTask()).fail(new Error('boom'));
    await q.join();

    const minutes = await admin.history('minute', 3);
    expect(minutes).toHaveLength(3);
    expect(minutes.at(-1)!.at % 60_000).toBe(0);
    const sum = (pts: typeof minutes, f: 'completed' | 'failed'): number => pts.reduce((a, p) => a + p[f], 0);
    expect(sum(minutes, 'completed')).toBe(11);
    expect(sum(minutes, 'failed')).toBe(1);
    const busy = minutes.filter((p) => p.completed > 0);
    // The test may straddle a minute, and a loaded machine stretches run times: every minute with
    // completions has bucket bounds no lower than its shortest run (30 ms, so the 50-ms bucket) and the
    // slow run (300 ms, so at least the 500-ms bucket) sets the p95 of the minute it finished in.
    for (const p of busy) {
      expect(p.p50).toBeGreaterThanOrEqual(50);
      expect(p.p95).toBeGreaterThanOrEqual(p.p50!);
    }
    expect(Math.max(...busy.map((p) => p.p95!))).toBeGreaterThanOrEqual(500);
    expect(minutes.filter((p) => p.completed === 0).every((p) => p.p50 === null && p.p95 === null)).toBe(true);
    const hours = await admin.history('hour', 2);
    expect(sum(hours, 'completed')).toBe(11);
    expect(sum(hours, 'failed')).toBe(1);

    // Bounded: every rollup key expires (minutes within 25 h, hours within 31 days).
    const keys = await adminClient().keys(`asyncq:*${name}*:aq:hist:*`);
    expect(keys.length).toBeGreaterThanOrEqual(2);
    for (const key of keys) {
      const ttl = await adminClient().ttl(key);
      expect(ttl, key).toBeGreaterThan(0);
      expect(ttl, key).toBeLessThanOrEqual(key.includes(':aq:hist:m:') ? 25 * 3600 : 31 * 86_400);
    }
  });

  it('reads the completed count from the buckets, and from "c" in rollups written before it was dropped; a finish writes one field per rollup', async () => {
    const name = uniqueName('hist-c');
    const q = track(new Queue<number>(name, { connection: redisUrl() }), name);
    const admin = track(new QueueAdmin(name, { connection: redisUrl() }), name);
    await q.put(1);
    await (await q.getTask()).done(1);
    const [key] = await adminClient().keys(`asyncq:*${name}*:aq:hist:m:*`);
    // One completion: its bucket and nothing else (the count is the buckets' sum).
    expect(Object.keys(await adminClient().hgetall(key!))).toHaveLength(1);
    // A rollup as it was written before: "c" beside the buckets.
    const minute = Number(/:m:(\d+)$/.exec(key!)![1]) - 1;
    await adminClient().hset(key!.replace(/:m:\d+$/, `:m:${minute}`), 'c', '7', 'b3', '7', 'f', '2');
    const points = await admin.history('minute', 3);
    expect(points.find((p) => p.at === minute * 60_000)).toMatchObject({ completed: 7, failed: 2 });
    expect(points.reduce((a, p) => a + p.completed, 0)).toBe(8);
  });
});
