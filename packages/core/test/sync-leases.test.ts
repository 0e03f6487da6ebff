// Leases of the primitives in one process: a hold whose lease Redis dropped, a clean close that
// hands everything over at once, an unreachable Redis, and no polling while waiting.
import { describe, expect, it } from 'vitest';
import { Redis } from 'ioredis';
import { Barrier, Lock, RedisUnreachable, Semaphore, WaitAborted, type HoldContext } from '@asyncq/core';
import { syncKeys } from '@asyncq/core/internal';
import { startEmbeddedRedis } from '@asyncq/core/testing';
import { adminClient, eventually, redisUrl, sleep, track, uniqueName } from '@asyncq/test-support';

describe('primitive leases', () => {
  it('a holder whose lease ran out (and went to another) sees its signal abort and its release rejected with LeaseLost', async () => {
    const name = uniqueName('lost');
    const keys = syncKeys('asyncq', 'lock', name);
    const holder = track(new Lock(name, { connection: redisUrl(), lease: 600 }), `lock:${name}`);
    const waiter = track(new Lock(name, { connection: redisUrl(), lease: 600 }), `lock:${name}`);
    let ctx: HoldContext | undefined;
    let letGo: () => void = () => {};
    const running = holder.run((c) => {
      ctx = c;
      return new Promise<void>((r) => (letGo = r));
    });
    await eventually(() => expect(ctx).toBeDefined());
    const acquired = waiter.acquire();
    // A stall, as Redis sees it: the holder's lease is over (its renewals came too late).
    const [holdId] = await adminClient().hkeys(keys.holders);
    await adminClient().zadd(keys.leases, 0, holdId!.split('.')[0]!);
    await acquired;
    expect(waiter.fencingToken).toBeGreaterThan(ctx!.token);
    await eventually(() => expect(ctx!.signal.aborted).toBe(true), 3000);
    expect((ctx!.signal.reason as { code?: string }).code).toBe('LEASE_LOST');
    letGo();
    await expect(running).rejects.toMatchObject({ code: 'LEASE_LOST' });
    // The lost holder's release touched nothing: the new holder still holds.
    expect(await waiter.locked()).toBe(true);
    await waiter.release();
  });

  it('a handle that holds and waits learns of its lost lease from its waiter’s re-check, which does not renew it silently', async () => {
    const name = uniqueName('lost-check');
    const keys = syncKeys('asyncq', 'semaphore', name);
    // A long lease: its renewal (every 20 s) cannot be what notices the loss here.
    const x = track(new Semaphore(name, { connection: redisUrl(), lease: 60_000, value: 1 }), `sem:${name}`);
    const z = track(new Semaphore(name, { connection: redisUrl(), lease: 60_000, value: 1 }), `sem:${name}`);
    let ctx: HoldContext | undefined;
    let letGo: () => void = () => {};
    const held = x.run((c) => {
      ctx = c;
      return new Promise<void>((r) => (letGo = r));
    });
    await eventually(() => expect(ctx).toBeDefined());
    const waiting = x.acquire(); // a second caller of the same handle waits
    await eventually(async () => expect(await adminClient().zcard(keys.queue)).toBe(1));
    const [holdId] = await adminClient().hkeys(keys.holders);
    // The lease runs out. The next script to touch the semaphore drops x's session, with its hold
    // and its wait: x's own re-check for its waiter (which then finds the permit free and takes it
    // again), or z's acquire (which takes it).
    await adminClient().zadd(keys.leases, 0, holdId!.split('.')[0]!);
    let xGot = false;
    let zGot = false;
    const xWaits = waiting.then(() => (xGot = true));
    const zWaits = z.acquire().then(() => (zGot = true));
    await eventually(() => expect(ctx!.signal.aborted).toBe(true), 5000);
    expect((ctx!.signal.reason as { code?: string }).code).toBe('LEASE_LOST');
    letGo();
    await expect(held).rejects.toMatchObject({ code: 'LEASE_LOST' });
    await eventually(() => expect(xGot || zGot).toBe(true));
    expect(xGot && zGot, 'one permit, one holder').toBe(false);
    if (xGot) await x.release();
    else await z.release();
    await Promise.all([xWaits, zWaits]);
    await (xGot ? z : x).release();
  });

  it('a release that a failover lost (the hold back in Redis, its handle waiting again) is handed on by the handle’s next renewal, not kept forever', async () => {
    const name = uniqueName('ghost');
    const keys = syncKeys('asyncq', 'lock', name);
    const a = track(new Lock(name, { connection: redisUrl(), lease: 900 }), `lock:${name}`);
    const b = track(new Lock(name, { connection: redisUrl(), lease: 900 }), `lock:${name}`);
    await a.acquire();
    const [holdId] = await adminClient().hkeys(keys.holders);
    const record = await adminClient().hget(keys.holders, holdId!);
    await a.release();
    // What a promoted replica can hold: the hold as it was before the release the old master acknowledged.
    await adminClient().hset(keys.holders, holdId!, record!);
    const order: string[] = [];
    const bGot = b.acquire().then(() => order.push('b'));
    await eventually(async () => expect(await adminClient().zcard(keys.queue)).toBe(1));
    // a's own wait keeps its session's lease alive: without the hand-on, nobody would ever hold the lock again.
    const aGot = a.acquire().then(() => order.push('a'));
    await eventually(() => expect(order).toEqual(['b']), 5000);
    expect(await adminClient().hexists(keys.holders, holdId!)).toBe(0);
    await b.release();
    await aGot;
    await bGot;
    expect(order).toEqual(['b', 'a']);
    await a.release();
  });

  it('a Semaphore handle’s renewals keep what it holds and waits for: nothing of it is handed on while it runs', async () => {
    const name = uniqueName('keep');
    const keys = syncKeys('asyncq', 'semaphore', name);
    const s = track(new Semaphore(name, { connection: redisUrl(), lease: 300, value: 2 }), `sem:${name}`);
    const other = track(new Semaphore(name, { connection: redisUrl(), lease: 300, value: 2 }), `sem:${name}`);
    await s.acquire();
    await s.acquire();
    const third = s.acquire();
    const otherGot = other.acquire();
    await eventually(async () => expect(await adminClient().zcard(keys.queue)).toBe(2));
    // Ten renewals of a 300-ms lease (every 100 ms), each listing the two holds and the wait.
    await sleep(1000);
    expect(await adminClient().hlen(keys.holders)).toBe(2);
    expect(await adminClient().zcard(keys.queue)).toBe(2);
    await s.release();
    await third;
    await s.release();
    await otherGot;
    expect(await adminClient().hlen(keys.holders)).toBe(2);
  });

  it('close() hands the lock and the permits over at once, not after the lease', async () => {
    const name = uniqueName('close');
    const lease = 60_000;
    const holder = new Lock(name, { connection: redisUrl(), lease });
    const waiter = track(new Lock(name, { connection: redisUrl(), lease }), `lock:${name}`);
    await holder.acquire();
    const acquired = waiter.acquire();
    await sleep(50);
    const started = Date.now();
    await holder.close();
    await acquired;
    expect(Date.now() - started).toBeLessThan(5000);
    await waiter.release();

    const sname = uniqueName('close-sem');
    const s1 = new Semaphore(sname, { connection: redisUrl(), lease, value: 2 });
    const s2 = track(new Semaphore(sname, { connection: redisUrl(), lease, value: 2 }), `sem:${sname}`);
    await s1.acquire();
    await s1.acquire();
    const both = Promise.all([s2.acquire(), s2.acquire()]);
    await sleep(50);
    await s1.close();
    await both;
    expect(await s2.locked()).toBe(true);
  });

  it('close() rejects the handle’s waits, and later calls, with PrimitiveClosed', async () => {
    const name = uniqueName('closed');
    const a = track(new Lock(name, { connection: redisUrl() }), `lock:${name}`);
    const b = new Lock(name, { connection: redisUrl() });
    await a.acquire();
    const waiting = b.acquire();
    waiting.catch(() => {});
    await sleep(50);
    await b.close();
    await expect(waiting).rejects.toMatchObject({ code: 'PRIMITIVE_CLOSED' });
    await expect(b.acquire()).rejects.toMatchObject({ code: 'PRIMITIVE_CLOSED' });
    const barrier = new Barrier(uniqueName('closed-b'), { connection: redisUrl(), parties: 2 });
    const party = barrier.wait();
    party.catch(() => {});
    await sleep(50);
    await barrier.close();
    await expect(party).rejects.toMatchObject({ code: 'PRIMITIVE_CLOSED' });
  });

  it('an unreachable Redis is an error within the connect timeout, not a hang', async () => {
    const lock = new Lock('unreachable', { connection: 'redis://127.0.0.1:1', connectTimeout: 500 });
    const started = Date.now();
    await expect(lock.acquire()).rejects.toBeInstanceOf(RedisUnreachable);
    expect(Date.now() - started).toBeLessThan(3000);
    await lock.close();
  });

  it('waiting costs no polling: a waiter sends a few commands in 3 s, not hundreds', async () => {
    // A Redis of its own, so that INFO commandstats counts only this test's commands.
    const redis = await startEmbeddedRedis();
    const admin = new Redis(redis.url);
    const calls = async (): Promise<number> => {
      let n = 0;
      for (const [, c] of (await admin.info('commandstats')).matchAll(/^cmdstat_[^:]+:calls=(\d+)/gm)) n += Number(c);
      return n;
    };
    const holder = new Lock('idle', { connection: redis.url });
    const waiter = new Lock('idle', { connection: redis.url });
    try {
      await holder.acquire();
      const acquired = waiter.acquire();
      await sleep(300);
      const before = await calls();
      await sleep(3000);
      const during = (await calls()) - before - 1;
      // Two handles' lease renewals (every lease/3) and the waiter's slow re-check (every 2 s), with
      // the calls their scripts make: polling every 10 ms would be hundreds.
      expect(during).toBeGreaterThan(0);
      expect(during).toBeLessThan(60);
      await holder.release();
      await acquired;
      await waiter.release();
    } finally {
      await holder.close();
      await waiter.close();
      admin.disconnect();
      await redis.stop();
    }
  });
});
