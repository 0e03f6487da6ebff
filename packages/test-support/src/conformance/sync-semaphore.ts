// test_locks.SemaphoreTests, ported (see sync-conformance-suite.ts).
import { describe, expect, it } from 'vitest';
import { sleep } from '../timing.js';
import { BoundedSemaphore, ConfigError, Semaphore, SemaphoreOverReleased, WaitAborted } from '@asyncq/core';
import { eventually, rejects, watch, type SyncBackend, type SyncKit } from './sync-kit.js';

export function semaphoreConformance(backend: SyncBackend, kit: SyncKit): void {
  const { name, opts, lock, event, cond, sem, bsem, barrier, queued } = kit;

  describe(`${backend.name}: Semaphore (test_locks.SemaphoreTests)`, () => {
    it('a semaphore of value 0 is locked (test_initial_value_zero)', async () => {
      expect(await sem(name('s0'), 0).locked()).toBe(true);
    });

    it('a negative or fractional value is refused with one line (test_semaphore_value)', () => {
      for (const v of [-1, 1.5, Number.NaN]) {
        expect(() => new Semaphore(name('sv'), { ...opts(), value: v })).toThrow(ConfigError);
      }
      expect(() => new Semaphore(name('sv'), { ...opts(), value: -1 })).toThrow(/^Semaphore value must be a whole number from 0 to 1000000, got -1$/);
    });

    it('hands out permits until none is left, then FIFO as they come back (test_acquire)', async () => {
      const n = name('sa');
      const s = sem(n, 3);
      const result: number[] = [];
      expect(await s.acquire()).toBe(true);
      expect(await s.acquire()).toBe(true);
      expect(await s.locked()).toBe(false);
      const handles = [sem(n, 3), sem(n, 3), sem(n, 3), sem(n, 3)];
      const t1 = watch(handles[0]!.acquire().then(() => result.push(1)));
      await t1.p;
      const t2 = watch(handles[1]!.acquire().then(() => result.push(2)));
      await queued('semaphore', n, 1);
      const t3 = watch(handles[2]!.acquire().then(() => result.push(3)));
      await queued('semaphore', n, 2);
      expect(result).toEqual([1]);
      expect(await s.locked()).toBe(true);
      const t4 = watch(handles[3]!.acquire().then(() => result.push(4)));
      await queued('semaphore', n, 3);
      await s.release();
      await s.release();
      await eventually(() => expect(result).toHaveLength(3));
      expect(await s.locked()).toBe(true);
      // FIFO: the two permits went to the two oldest waiters, not to t4.
      expect([...result].sort()).toEqual([1, 2, 3]);
      expect(t4.done).toBe(false);
      await handles[0]!.release();
      await t4.p;
      for (const t of [t2, t3]) expect(t.done).toBe(true);
    });

    it('an aborted acquire leaves no waiter (test_acquire_cancel)', async () => {
      const n = name('sc');
      const s = sem(n);
      await s.acquire();
      const ac = new AbortController();
      const p = s.acquire({ signal: ac.signal });
      await queued('semaphore', n, 1);
      ac.abort();
      await rejects(() => p, WaitAborted);
      await queued('semaphore', n, 0);
    });

    it('waiters aborted before a release do not take its permit (test_acquire_cancel_before_awoken)', async () => {
      const n = name('scb');
      const s = sem(n, 0);
      const acs = [new AbortController(), new AbortController(), new AbortController(), new AbortController()];
      const ts: ReturnType<typeof watch<true>>[] = [];
      for (let i = 0; i < 4; i++) {
        ts.push(watch(s.acquire({ signal: acs[i]!.signal })));
        await queued('semaphore', n, i + 1);
      }
      acs[0]!.abort();
      acs[1]!.abort();
      await s.release();
      await ts[2]!.p;
      await sleep(50);
      expect(ts[3]!.done).toBe(false);
      expect(ts[0]!.error).toBeInstanceOf(WaitAborted);
      expect(ts[1]!.error).toBeInstanceOf(WaitAborted);
      acs[3]!.abort();
      await rejects(() => ts[3]!.p, WaitAborted);
    });

    it('a release after a waiter was aborted wakes the next one (test_acquire_hang)', async () => {
      const n = name('sh');
      const s = sem(n, 0);
      const ac = new AbortController();
      const t1 = watch(s.acquire({ signal: ac.signal }));
      await queued('semaphore', n, 1);
      const t2 = watch(s.acquire());
      await queued('semaphore', n, 2);
      ac.abort();
      await s.release();
      await t2.p;
      await t1.p.catch(() => {});
      expect(t1.error).toBeInstanceOf(WaitAborted);
      expect(await s.locked()).toBe(true);
    });

    it('a waiter aborted after the permit came back does not make the semaphore hang (test_acquire_no_hang)', async () => {
      const n = name('snh');
      const s = sem(n, 1);
      const ac = new AbortController();
      const t2 = watch(s.run(() => expect.fail('c2 must not run'), { signal: ac.signal }));
      await s.run(async () => {
        await sleep(20);
      });
      ac.abort();
      await t2.p.catch(() => {});
      await eventually(() => expect(t2.done).toBe(true));
      // Whichever way the race went, a permit is free again.
      await s.acquire({ timeout: 5000 });
      await s.release();
    });

    it('a release of a BoundedSemaphore beyond its value rejects (test_release_not_acquired)', async () => {
      const s = bsem(name('bs'));
      const e = await rejects(() => s.release(), SemaphoreOverReleased, 'SEMAPHORE_OVER_RELEASED');
      expect(e.message).toMatch(/^BoundedSemaphore "bs-\w+" was released more times than acquired/);
    });

    it('a BoundedSemaphore counts releases as asyncio does: another handle may release a held permit, then the holder may not', async () => {
      const n = name('bs2');
      const [holder, other] = [bsem(n, 1), bsem(n, 1)];
      await holder.acquire();
      expect(await other.locked()).toBe(true);
      await other.release();
      expect(await other.locked()).toBe(false);
      await rejects(() => holder.release(), SemaphoreOverReleased);
      expect(await other.locked()).toBe(false);
      await other.acquire();
      await rejects(() => holder.acquire({ timeout: 100 }), WaitAborted);
      await other.release();
    });

    it('a release by a handle holding no permit adds one: a Semaphore of 0 is a signal (test_release_no_waiters)', async () => {
      const n = name('ss');
      const [waiter, signaller] = [sem(n, 0), sem(n, 0)];
      const t = watch(waiter.acquire());
      await queued('semaphore', n, 1);
      await signaller.release();
      expect(await t.p).toBe(true);
      expect(await waiter.locked()).toBe(true);
      await waiter.release();
      expect(await waiter.locked()).toBe(false);
    });

    it('permits go FIFO, round after round (test_acquire_fifo_order)', async () => {
      const n = name('sfo');
      // The order Redis granted in is the order of the fencing tokens (callbacks in other handles may run in any order).
      const granted: [number, string][] = [];
      const handles = ['c1', 'c2', 'c3'].map(() => sem(n, 1));
      let open: () => void = () => {};
      const gate = new Promise<void>((r) => (open = r));
      const go = (h: Semaphore, tag: string, round: number, hold?: Promise<void>): Promise<void> =>
        h.run(async ({ token }) => {
          granted.push([token, `${tag}_${round}`]);
          await (hold ?? sleep(10));
        });
      // c1 holds until c2 and c3 queued, as asyncio's tasks all start before the first one releases.
      const c1 = go(handles[0]!, 'c1', 1, gate).then(() => go(handles[0]!, 'c1', 2));
      await eventually(() => expect(granted).toHaveLength(1));
      const c2 = go(handles[1]!, 'c2', 1);
      await queued('semaphore', n, 1);
      const c3 = go(handles[2]!, 'c3', 1);
      await queued('semaphore', n, 2);
      open();
      await Promise.all([c1, c2.then(() => go(handles[1]!, 'c2', 2)), c3.then(() => go(handles[2]!, 'c3', 2))]);
      expect(granted.sort((x, y) => x[0] - y[0]).map(([, tag]) => tag)).toEqual(['c1_1', 'c2_1', 'c3_1', 'c1_2', 'c2_2', 'c3_2']);
    });

    it('a release goes to the oldest waiter, not to a caller that acquires after it (test_acquire_fifo_order_2)', async () => {
      const n = name('sfo2');
      const [main, h1, h2, h3] = [sem(n, 1), sem(n, 1), sem(n, 1), sem(n, 1)];
      const granted: [number, number][] = [];
      let open: () => void = () => {};
      const gate = new Promise<void>((r) => (open = r));
      const hold = (h: Semaphore, tag: number, until?: Promise<void>): Promise<void> =>
        h.run(async ({ token }) => {
          granted.push([token, tag]);
          await until;
        });
      const t1 = hold(h1, 1, gate);
      await eventually(() => expect(granted).toHaveLength(1));
      const t2 = hold(h2, 2).then(() => hold(h2, 4, gate));
      await queued('semaphore', n, 1);
      const t3 = hold(h3, 3, gate);
      await queued('semaphore', n, 2);
      // Releases by a handle holding no permit add permits, as asyncio's release() does.
      await main.release();
      await main.release();
      await eventually(() => expect(granted).toHaveLength(4));
      open();
      await Promise.all([t1, t2, t3]);
      expect(granted.sort((x, y) => x[0] - y[0]).map(([, tag]) => tag)).toEqual([1, 2, 3, 4]);
    });

    it('an aborted first waiter keeps the order of the rest (test_acquire_fifo_order_3)', async () => {
      const n = name('sfo3');
      const s = sem(n, 0);
      const result: number[] = [];
      const ac = new AbortController();
      const t1 = s.acquire({ signal: ac.signal }).then(() => result.push(1));
      t1.catch(() => {});
      await queued('semaphore', n, 1);
      const t2 = s.acquire().then(() => result.push(2));
      await queued('semaphore', n, 2);
      const t3 = s.acquire().then(() => result.push(3));
      await queued('semaphore', n, 3);
      ac.abort();
      await queued('semaphore', n, 2);
      await s.release();
      await s.release();
      await Promise.allSettled([t1, t2, t3]);
      expect(result).toEqual([2, 3]);
    });

    it('a name is one kind: a Semaphore is not reopened as a BoundedSemaphore, nor with another value', async () => {
      const n = name('skind');
      await sem(n, 2).acquire();
      await rejects(() => bsem(n, 2).acquire(), ConfigError);
      const e = await rejects(() => sem(n, 3).acquire(), ConfigError);
      expect(e.message).toBe(`Semaphore "${n}" exists in Redis with value 2: open it with value: 2, or use another name`);
    });
  });

}
