import { describe, expect, it } from 'vitest';
import { ConfigError, Queue, QueueAdmin, RateLimited } from '@asyncq/core';
import { partitionTags, queueKeys } from '@asyncq/core/internal';
import { adminClient, eventually, redisUrl, track, uniqueName } from '../../../test/helpers.js';

function open<T>(name: string, opts: Record<string, unknown> = {}): Queue<T> {
  return track(new Queue<T>(name, { connection: redisUrl(), ...opts }), name);
}

// Limits set in Redis (issue 22), on one process: how they are stored, what a get under them gets,
// and what RateLimited does. Across processes and under a SIGKILL: test/chaos/limits.test.ts.
describe('queue limits', () => {
  it('are kept in the queue meta under BullMQ\'s own fields, read back as given, and cleared by {}', async () => {
    const name = uniqueName('lim-store');
    const q = open<number>(name);
    await q.setLimits({ rate: { max: 100, per: '1s' }, concurrency: 5 });
    expect(await q.limits()).toEqual({ rate: { max: 100, per: '1s' }, concurrency: 5 });
    const meta = await adminClient().hgetall(queueKeys('asyncq', name).meta);
    expect(meta).toMatchObject({ concurrency: '5', max: '100', duration: '1000' });
    await q.setLimits({});
    expect(await q.limits()).toEqual({});
    expect(await adminClient().hmget(queueKeys('asyncq', name).meta, 'concurrency', 'max', 'duration')).toEqual([null, null, null]);
  });

  it('concurrency: a get past the limit waits, and gets the task once a held one is done', async () => {
    const name = uniqueName('lim-conc');
    const q = open<number>(name);
    await q.setLimits({ concurrency: 2 });
    await q.putMany([1, 2, 3].map((item) => ({ item })));
    const a = await q.getTask();
    const b = await q.getTask();
    const other = open<number>(name);
    let third: number | undefined;
    const waiting = other.get({ timeout: 20_000 }).then((v) => (third = v));
    await eventually(async () => expect(await adminClient().exists(queueKeys('asyncq', name).wantTask)).toBe(1));
    expect(third).toBeUndefined();
    expect((await q.counts()).active).toBe(2);
    await a.done(null);
    await waiting;
    expect(third).toBe(3);
    await b.done(null);
    await other.taskDone();
  });

  it('rate: the gets past the window\'s max wait for the window to reopen', async () => {
    const name = uniqueName('lim-rate');
    const q = open<number>(name);
    await q.setLimits({ rate: { max: 3, per: 1500 } });
    await q.putMany([1, 2, 3, 4, 5].map((item) => ({ item })));
    const got: number[] = [];
    for (let i = 0; i < 3; i++) got.push(await q.get());
    const firstAt = Date.now();
    got.push(await q.get({ timeout: 20_000 }));
    // The fourth waited for the window to reopen (no timed bound here: at least the window).
    expect(Date.now() - firstAt).toBeGreaterThanOrEqual(1000);
    expect(got).toEqual([1, 2, 3, 4]);
    for (let i = 0; i < 4; i++) await q.taskDone();
  });

  it('RateLimited puts the task back after its delay without using an attempt', async () => {
    const name = uniqueName('lim-429');
    const q = open<string>(name);
    await q.put('call', { attempts: 1 });
    const first = await q.getTask();
    expect(first.attempt).toBe(1);
    await first.fail(new RateLimited(300));
    // With one attempt, a plain failure would have failed it for good.
    expect(await q.counts()).toMatchObject({ failed: 0, delayed: 1 });
    const again = await q.getTask({ timeout: 20_000 });
    expect(again.id).toBe(first.id);
    expect(again.attempt).toBe(1);
    await again.done(null);
  });

  it('RateLimited on a queue with a rate limit holds the whole window for its delay', async () => {
    const name = uniqueName('lim-429-window');
    const q = open<string>(name);
    await q.setLimits({ rate: { max: 100, per: '1s' } });
    await q.putMany(['a', 'b'].map((item) => ({ item })));
    const first = await q.getTask();
    await first.fail(new RateLimited(1500));
    const until = Number(await adminClient().hget(queueKeys('asyncq', name).meta, 'aq:rateUntil'));
    expect(until).toBeGreaterThan(Date.now() + 500);
    const status = await track(new QueueAdmin(name, { connection: redisUrl() })).limits();
    expect(status).toMatchObject({ rateBinds: true, waitingOnLimits: 1 });
    const b = await q.getTask({ timeout: 20_000 });
    expect(Date.now()).toBeGreaterThanOrEqual(until - 50);
    expect(b.data).toBe('b');
    await b.done(null);
    await (await q.getTask({ timeout: 20_000 })).done(null);
  });

  it('bad input: one clear line each', async () => {
    const q = open<number>(uniqueName('lim-bad'));
    const line = async (p: Promise<unknown>): Promise<string> => {
      const e = (await p.catch((x: unknown) => x)) as Error;
      expect(e).toBeInstanceOf(ConfigError);
      expect(e.message).not.toContain('\n');
      return e.message;
    };
    expect(await line(q.setLimits({ rate: { max: 0, per: '1s' } }))).toMatch(/rate.max must be a whole number of at least 1; got 0/);
    expect(await line(q.setLimits({ rate: { max: -5, per: '1s' } }))).toMatch(/got -5/);
    expect(await line(q.setLimits({ rate: { max: 10, per: '0s' } }))).toMatch(/rate.per must be a window/);
    expect(await line(q.setLimits({ rate: { max: 10, per: 'fast' } }))).toMatch(/rate.per must be a window/);
    expect(await line(q.setLimits({ concurrency: 0 }))).toMatch(/concurrency must be a whole number of at least 1/);
    expect(() => new RateLimited(-1)).toThrow(/RateLimited\(retryAfterMs\): got -1; pass a finite number of ms/);
    expect(() => new RateLimited(Number.NaN)).toThrow(ConfigError);
    expect(() => new RateLimited(Number.POSITIVE_INFINITY)).toThrow(/got Infinity/);
    // A partitioned queue splits its limits by share: one below the partition count cannot be split.
    const p = open<number>(uniqueName('lim-parts'), { partitions: 4 });
    expect(await line(p.setLimits({ concurrency: 3 }))).toMatch(/at least 4 \(the queue has 4 partitions/);
  });

  it('a partitioned queue keeps a share of each limit in each partition, adding up to the limit', async () => {
    const name = uniqueName('lim-share');
    const q = open<number>(name, { partitions: 3 });
    await q.setLimits({ rate: { max: 100, per: '1s' }, concurrency: 5 });
    const shares = await Promise.all(partitionTags(name, 3).map((tag) => adminClient().hmget(queueKeys('asyncq', tag).meta, 'max', 'concurrency')));
    expect(shares).toEqual([['34', '2'], ['33', '2'], ['33', '1']]);
  });
});
