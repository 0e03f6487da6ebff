import { describe, expect, it } from 'vitest';
import { Queue, QueueAdmin, WorkerRegistry, type WorkerInfo } from '@asyncq/core';
import { adminClient, redisUrl, sleep, track, uniqueName } from '@asyncq/test-support';

function info(id: string, queue: string): WorkerInfo {
  const now = Date.now();
  return { id, host: 'h', pid: 1, queue, concurrency: 4, startedAt: now, done: 0, failed: 0, lastHeartbeat: now };
}

describe('worker registry', () => {
  it('lists registered workers, drops one that leaves and one whose heartbeat stops', async () => {
    const name = uniqueName('reg');
    const q = track(new WorkerRegistry(name, { connection: redisUrl() }), name);
    await q.beat(info('a', name), 60_000);
    await q.beat(info('b', name), 300);
    await q.beat({ ...info('c', name), done: 7 }, 60_000);
    expect((await q.list()).map((w) => w.id).sort()).toEqual(['a', 'b', 'c']);
    await q.leave('a');
    await sleep(400); // b stopped beating
    const live = await q.list();
    expect(live.map((w) => w.id)).toEqual(['c']);
    expect(live[0]).toMatchObject({ queue: name, concurrency: 4, done: 7 });
  });
});

describe('destroy', () => {
  it('refuses while a worker is registered, and with force removes every key of the queue', async () => {
    const name = uniqueName('destroy');
    const q = track(new Queue<number>(name, { connection: redisUrl(), maxsize: 5 }), name);
    const admin = track(new QueueAdmin(name, { connection: redisUrl() }), name);
    const registry = track(new WorkerRegistry(name, { connection: redisUrl() }), name);
    await q.put(1);
    await q.put(2, { delay: 60_000 });
    await q.getTask();
    await q.taskDone();
    await registry.beat(info('w', name), 60_000);
    await expect(admin.destroy()).rejects.toThrow(/has 1 live workers and 0 running tasks; stop them first, or pass \{ force: true \}/);
    expect(await adminClient().keys(`asyncq:{${name}}:*`)).not.toHaveLength(0);
    expect(await admin.destroy({ force: true })).toBeGreaterThan(3);
    expect(await adminClient().keys(`asyncq:{${name}}:*`)).toEqual([]);
    expect(await q.counts()).toMatchObject({ waiting: 0, delayed: 0, completed: 0, unfinished: 0 });
  });
});
