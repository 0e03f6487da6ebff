// A Worker's `prefetch` reaches its queue: with 0, it holds no more tasks than it runs; by
// default, a busy worker holds tasks fetched ahead beside the ones running (what a kill delays).
import { describe, expect, it } from 'vitest';
import { Queue } from '@asyncq/core';
import { Worker } from '@asyncq/worker';
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
  it('with prefetch 0 (the default) holds only the tasks it runs; with prefetch 64 it also holds tasks fetched ahead', async () => {
    expect(await mostHeld(0, 60)).toBeLessThanOrEqual(2);
    expect(await mostHeld(undefined, 60)).toBeLessThanOrEqual(2);
    expect(await mostHeld(64, 200)).toBeGreaterThan(2);
  });
});
