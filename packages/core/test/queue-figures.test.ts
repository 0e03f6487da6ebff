import { describe, expect, it } from 'vitest';
import { Queue, QueueAdmin, WorkerRegistry, type WorkerInfo } from '@asyncq/core';
import { connectRedis, describeQueues, readQueueFigures, type QueueFigures, type RedisClient } from '@asyncq/core/internal';
import { adminClient, redisUrl, sleep, track, uniqueName } from '@asyncq/test-support';

function info(id: string, queue: string): WorkerInfo {
  const now = Date.now();
  return { id, host: 'h', pid: 1, queue, concurrency: 4, startedAt: now, done: 0, failed: 0, lastHeartbeat: now };
}

/** What QueueAdmin and WorkerRegistry read of a queue, one call each: what readQueueFigures must match. */
async function oneByOne(name: string): Promise<Omit<QueueFigures, 'at'>> {
  const admin = track(new QueueAdmin(name, { connection: redisUrl() }), name);
  const registry = track(new WorkerRegistry(name, { connection: redisUrl() }), name);
  const desired = await registry.desiredState();
  return {
    name,
    partitions: await admin.partitionCounts(),
    state: await admin.state(),
    totals: await admin.totals(),
    workers: (await registry.list()).length,
    ...(desired ? { desired } : {}),
    oldestWaitingMs: await admin.oldestWaitingAge(),
  };
}

describe('readQueueFigures', () => {
  it('reads many queues at once with the same numbers QueueAdmin and WorkerRegistry give one by one', async () => {
    const client: RedisClient = await connectRedis(redisUrl());
    try {
      // A busy queue: ready, delayed, held, completed, failed for good, a bounded put, a worker, a desired count, paused.
      const busy = uniqueName('fig-busy');
      const q = track(new Queue<number>(busy, { connection: redisUrl(), maxsize: 50 }), busy);
      for (let i = 0; i < 5; i++) await q.put(i, { attempts: 1 });
      await q.put(9, { delay: 600_000 });
      await (await q.getTask()).done('ok');
      await (await q.getTask()).fail(new Error('boom'));
      await q.getTask(); // held: active
      const reg = track(new WorkerRegistry(busy, { connection: redisUrl() }), busy);
      await reg.beat(info('w1', busy), 60_000);
      await reg.beat(info('w2', busy), 60_000);
      await reg.setDesired(4, 'autoscaler');
      await adminClient().hset(`asyncq:{${busy}}:aq:workers`, 'junk', 'not json'); // a corrupt entry is not a worker
      await adminClient().zadd(`asyncq:{${busy}}:aq:heartbeats`, Date.now() + 60_000, 'junk');
      await track(new QueueAdmin(busy, { connection: redisUrl() }), busy).pause();
      // A partitioned queue, shut down, with its registry under its plain name.
      const parted = uniqueName('fig-parted');
      const p = track(new Queue<number>(parted, { connection: redisUrl(), partitions: 3 }), parted);
      for (let i = 0; i < 7; i++) await p.put(i);
      await track(new WorkerRegistry(parted, { connection: redisUrl() }), parted).beat(info('w', parted), 60_000);
      await p.shutdown();
      // An empty queue that exists, a queue that never existed, and a damaged one.
      const idle = uniqueName('fig-idle');
      const iq = track(new Queue<number>(idle, { connection: redisUrl() }), idle);
      await iq.put(1);
      await (await iq.getTask()).done();
      const never = uniqueName('fig-never');
      const damaged = uniqueName('fig-damaged');
      const dq = track(new Queue<number>(damaged, { connection: redisUrl() }), damaged);
      await dq.put(1);
      await adminClient().del(`asyncq:{${damaged}}:wait`);
      await adminClient().set(`asyncq:{${damaged}}:wait`, 'a string where a list belongs');
      await sleep(20); // the oldest ready task has waited a little

      const found = await describeQueues(client, 'asyncq', [busy, parted, idle, never, damaged]);
      expect(found.map((f) => f.partitions)).toEqual([1, 3, 1, 1, 1]);
      const reads = await readQueueFigures(client, 'asyncq', found);
      expect(reads.map((r) => r.name)).toEqual([busy, parted, idle, never, damaged]);
      for (const name of [busy, parted, idle]) {
        const r = reads.find((x) => x.name === name)!;
        if (!('figures' in r)) throw new Error(`${name}: ${JSON.stringify(r)}`);
        const { oldestWaitingMs: wantAge, ...want } = await oneByOne(name);
        const { at, oldestWaitingMs, ...got } = r.figures;
        expect(at).toBeGreaterThan(Date.now() - 10_000);
        expect(got, name).toEqual(want);
        // Both ages are of the same task, read a moment apart.
        expect(Math.abs(oldestWaitingMs - wantAge), name).toBeLessThan(2000);
      }
      const b = reads[0] as { figures: QueueFigures };
      expect(b.figures).toMatchObject({ workers: 2, desired: { count: 4, by: 'autoscaler' }, state: { paused: true, maxsize: 50 } });
      expect(b.figures.partitions[0]).toMatchObject({ waiting: 2, delayed: 1, active: 1, completed: 1, failed: 1 });
      expect(b.figures.oldestWaitingMs).toBeGreaterThan(0);
      const pf = (reads[1] as { figures: QueueFigures }).figures;
      expect(pf.partitions.reduce((a, c) => a + c.waiting, 0)).toBe(7);
      expect(pf).toMatchObject({ workers: 1, state: { shutdown: 'graceful', partitions: 3 } });
      expect(reads[3]).toEqual({ name: never, missing: true });
      const bad = reads[4] as { error: Error & { code?: string } };
      expect(bad.error.code).toBe('QUEUE_CORRUPT');
    } finally {
      client.disconnect();
    }
  });
});
