import { describe, expect, it } from 'vitest';
import { LocalQueue, RateLimited } from '@asyncq/core';

// RateLimited on a LocalQueue (issue 22): as on Redis, the task comes back after its delay without
// using an attempt, instead of failing.
describe('LocalQueue and RateLimited', () => {
  it('a RateLimited task comes back after its delay with the same attempt, and nothing fails', async () => {
    const q = new LocalQueue<string>();
    await q.put('call', { attempts: 1 });
    const first = await q.getTask();
    await first.fail(new RateLimited(50));
    expect(await q.qsize()).toBe(0); // delayed, not ready
    const again = await q.getTask({ timeout: 5_000 });
    expect(again.data).toBe('call');
    expect(again.attempt).toBe(1);
    await again.done(null);
    expect((await q.counts()).failed).toBe(0);
    await q.join();
    await q.close();
  });
});
