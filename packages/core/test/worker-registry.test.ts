import { describe, expect, it } from 'vitest';
import { Queue, type WorkerInfo } from '@asyncq/core';
import { redisUrl, sleep, track, uniqueName } from '../../../test/helpers.js';

function info(id: string, queue: string): WorkerInfo {
  const now = Date.now();
  return { id, host: 'h', pid: 1, queue, concurrency: 4, startedAt: now, done: 0, failed: 0, lastHeartbeat: now };
}

describe('worker registry', () => {
  it('lists registered workers, drops one that leaves and one whose heartbeat stops', async () => {
    const name = uniqueName('reg');
    const q = track(new Queue(name, { connection: redisUrl() }), name);
    await q.registerWorker(info('a', name), 60_000);
    await q.registerWorker(info('b', name), 300);
    await q.registerWorker({ ...info('c', name), done: 7 }, 60_000);
    expect((await q.listWorkers()).map((w) => w.id).sort()).toEqual(['a', 'b', 'c']);
    await q.unregisterWorker('a');
    await sleep(400); // b stopped beating
    const live = await q.listWorkers();
    expect(live.map((w) => w.id)).toEqual(['c']);
    expect(live[0]).toMatchObject({ queue: name, concurrency: 4, done: 7 });
  });
});
