import { Redis } from 'ioredis';
import { afterEach, describe, expect, it } from 'vitest';
import { Queue } from '@asyncq/core';
import { startEmbeddedRedis, type EmbeddedRedis } from '@asyncq/core/testing';
import { sleep } from '@asyncq/test-support';

// Its own private Redis: the command count must not include other test files' traffic.
let redis: EmbeddedRedis | undefined;
afterEach(async () => {
  await redis?.stop();
  redis = undefined;
});

/** Counts the commands clients send (not the calls Lua scripts make inside Redis) while `during` runs. */
async function commandsSent(url: string, during: () => Promise<void>): Promise<string[]> {
  const admin = new Redis(url);
  const monitor = await admin.monitor();
  const seen: string[] = [];
  monitor.on('monitor', (_time: string, args: string[], source: string) => {
    if (source !== 'lua') seen.push(args[0]!.toLowerCase());
  });
  try {
    await during();
  } finally {
    monitor.disconnect();
    admin.disconnect();
  }
  return seen;
}

describe('idle waiting', () => {
  it('a waiting get and a waiting join cost about one Redis command a second, not a busy poll', async () => {
    redis = await startEmbeddedRedis();
    const holder = new Queue<number>('idle', { connection: redis.url });
    const getter = new Queue<number>('idle', { connection: redis.url });
    const joiner = new Queue<number>('idle', { connection: redis.url });
    await holder.put(1);
    await holder.getTask(); // held, so join has something to wait for
    const waitingGet = getter.get().catch(() => undefined);
    const waitingJoin = joiner.join().catch(() => undefined);
    await sleep(2000); // past the quick first re-checks
    const sent = await commandsSent(redis.url, () => sleep(5000));
    // join re-checks once a second (5 in 5 s); get blocks on Redis in 5 s rounds (a few commands a round).
    expect(sent.length, sent.join(' ')).toBeLessThanOrEqual(10);
    expect(sent.length).toBeGreaterThan(0); // the monitor did see the waiters' re-checks
    await Promise.all([holder.close(), getter.close(), joiner.close()]);
    await Promise.all([waitingGet, waitingJoin]);
  });
});
