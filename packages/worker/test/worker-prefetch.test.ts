// A Worker's `prefetch` reaches its queue: with 0, it holds no more tasks than it runs; by
// default (64), a busy worker holds tasks fetched ahead beside the ones running (what a kill
// delays), and never more than its concurrency plus its prefetch.
import { describe, expect, it } from 'vitest';
import { Queue } from '@asyncq/core';
import { Worker } from '@asyncq/worker';
import { DEFAULT_WORKER_PREFETCH } from '@asyncq/core/internal';
import { redisUrl, track, uniqueName } from '@asyncq/test-support';

/** Runs `tasks` tasks on a worker at concurrency 2; returns the most tasks held (active) seen while one ran. */
async function mostHeld(prefetch: number | undefined, tasks: number): Promise<number> {
  const name = uniqueName('wp');
  const q = track(new Queue<number>(name, { connection: redisUrl() }), name);
  await q.putMany(Array.from({ length: tasks }, (_, i) => ({ item: i })));
  let most = 0;
  const worker = new Worker(
    name,
    async () => {
      most = Math.max(most, (await q.counts()).active);
    },
    { connection: redisUrl(), handleSignals: false, concurrency: 2, ...(prefetch === undefined ? {} : { prefetch }) },
  );
  track({ close: () => worker.close({ graceMs: 0 }) }, name);
  const running = worker.run();
  await q.join({ timeout: 30_000 });
  await worker.close();
  await running;
  return most;
}

describe('Worker prefetch', () => {
  it('with prefetch 0 holds only the tasks it runs; by default and with 8 it also holds tasks fetched ahead, at most concurrency + prefetch', async () => {
    expect(DEFAULT_WORKER_PREFETCH).toBe(64);
    expect(await mostHeld(0, 60)).toBeLessThanOrEqual(2);
    const byDefault = await mostHeld(undefined, 200);
    expect(byDefault).toBeGreaterThan(2);
    expect(byDefault).toBeLessThanOrEqual(2 + DEFAULT_WORKER_PREFETCH);
    const at8 = await mostHeld(8, 200);
    expect(at8).toBeGreaterThan(2);
    expect(at8).toBeLessThanOrEqual(2 + 8);
  });
});
