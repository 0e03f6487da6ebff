// test_locks.LockTests and EventTests, ported (see sync-conformance-suite.ts).
import { describe, expect, it } from 'vitest';
import { sleep } from '../timing.js';
import { Event, Lock, LockNotHeld, WaitAborted } from '@asyncq/core';
import { eventually, rejects, watch, type SyncBackend, type SyncKit } from './sync-kit.js';

export function lockAndEventConformance(backend: SyncBackend, kit: SyncKit): void {
  const { name, opts, lock, event, cond, sem, bsem, barrier, queued } = kit;

  describe(`${backend.name}: Lock (test_locks.LockTests)`, () => {
    it('acquire resolves to true and locks; release unlocks (test_lock, test_release_no_waiters)', async () => {
      const l = lock(name('l'));
      expect(await l.locked()).toBe(false);
      expect(await l.acquire()).toBe(true);
      expect(await l.locked()).toBe(true);
      await l.release();
      expect(await l.locked()).toBe(false);
    });

    it('hands the lock over in FIFO order, one waiter per release, across handles (test_acquire)', async () => {
      const n = name('fifo');
      const [main, h1, h2, h3] = [lock(n), lock(n), lock(n), lock(n)];
      const result: number[] = [];
      expect(await main.acquire()).toBe(true);
      const t1 = watch(h1.acquire().then((r) => (result.push(1), r)));
      await queued('lock', n, 1);
      const t2 = watch(h2.acquire().then((r) => (result.push(2), r)));
      await queued('lock', n, 2);
      expect(result).toEqual([]);
      await main.release();
      await eventually(() => expect(result).toEqual([1]));
      await sleep(50);
      expect(result).toEqual([1]);
      const t3 = watch(h3.acquire().then((r) => (result.push(3), r)));
      await queued('lock', n, 2);
      await h1.release();
      await eventually(() => expect(result).toEqual([1, 2]));
      await h2.release();
      await eventually(() => expect(result).toEqual([1, 2, 3]));
      for (const t of [t1, t2, t3]) expect(t.value).toBe(true);
      await h3.release();
    });

    it('one handle shared by callers is one lock: a second acquire waits, release wakes the next (test_acquire, shared)', async () => {
      const l = lock(name('shared'));
      const result: number[] = [];
      await l.acquire();
      const waiters = [1, 2, 3].map((i) => l.acquire().then(() => result.push(i)));
      await sleep(100);
      expect(result).toEqual([]);
      for (let i = 1; i <= 3; i++) {
        await l.release();
        await eventually(() => expect(result).toHaveLength(i));
      }
      await Promise.all(waiters);
      expect(result).toEqual([1, 2, 3]);
      await l.release();
      expect(await l.locked()).toBe(false);
    });

    it('an aborted acquire rejects and leaves no waiter behind (test_acquire_cancel)', async () => {
      const n = name('cancel');
      const l = lock(n);
      await l.acquire();
      const ac = new AbortController();
      const p = l.acquire({ signal: ac.signal });
      await queued('lock', n, 1);
      ac.abort();
      await rejects(() => p, WaitAborted, 'ABORTED');
      await queued('lock', n, 0);
      await l.release();
      expect(await l.locked()).toBe(false);
    });

    it('a waiter aborted as the lock is released: the lock goes on, never to two (test_cancel_race)', async () => {
      const n = name('race');
      const [a, b, c] = [lock(n), lock(n), lock(n)];
      await a.acquire();
      const ac = new AbortController();
      const tb = watch(b.acquire({ signal: ac.signal }));
      await queued('lock', n, 1);
      const tc = watch(c.acquire());
      await queued('lock', n, 2);
      ac.abort();
      await a.release();
      await eventually(() => expect(tb.done).toBe(true));
      if (tb.error === undefined) {
        // Redis saw the release first: b was handed the lock (the abort came after the hand-off).
        expect(tc.done).toBe(false);
        await b.release();
      } else expect(tb.error).toBeInstanceOf(WaitAborted);
      await tc.p;
      expect(c.fencingToken).toBeGreaterThan(0);
      await c.release();
      await queued('lock', n, 0);
    });

    it('with three waiting, one aborted as the lock is released, exactly one gets it (test_cancel_release_race)', async () => {
      const n = name('crr');
      const l = lock(n);
      let locked = 0;
      await l.acquire();
      const ac = new AbortController();
      const t1 = watch(l.acquire({ signal: ac.signal }).then(() => locked++));
      const t2 = watch(l.acquire().then(() => locked++));
      const ac3 = new AbortController();
      const t3 = watch(l.acquire({ signal: ac3.signal }).then(() => locked++));
      await queued('lock', n, 3);
      // One handle: the abort's withdrawal and the release go out on one connection, in this order.
      ac.abort();
      await l.release();
      await eventually(() => expect(t2.done).toBe(true));
      await t1.p.catch(() => {});
      expect(t1.error).toBeInstanceOf(WaitAborted);
      expect(locked).toBe(1);
      ac3.abort();
      await eventually(() => expect(t3.error).toBeInstanceOf(WaitAborted));
      expect(locked).toBe(1);
      await l.release();
    });

    it('a waiter aborted just before the release does not keep the next one waiting (test_finished_waiter_cancelled)', async () => {
      const n = name('fwc');
      const l = lock(n);
      await l.acquire();
      const ac = new AbortController();
      const tb = watch(l.acquire({ signal: ac.signal }));
      await queued('lock', n, 1);
      const tc = watch(l.acquire());
      await queued('lock', n, 2);
      ac.abort();
      await l.release();
      await tc.p;
      await tb.p.catch(() => {});
      expect(tb.error).toBeInstanceOf(WaitAborted);
      expect(await l.locked()).toBe(true);
      await l.release();
    });

    it('release of a lock not held rejects with LockNotHeld, also from another handle (test_release_not_acquired)', async () => {
      const n = name('nh');
      const [l, other] = [lock(n), lock(n)];
      const e = await rejects(() => l.release(), LockNotHeld, 'LOCK_NOT_HELD');
      expect(e.message).toMatch(/^lock "nh-\w+" is not held by this handle/);
      await l.acquire();
      await rejects(() => other.release(), LockNotHeld);
      expect(await other.locked()).toBe(true);
      await l.release();
    });

    it('run() holds the lock for its function and releases it after, also on a throw (test_context_manager)', async () => {
      const l = lock(name('run'));
      const seen = await l.run(async ({ token, signal }) => {
        expect(await l.locked()).toBe(true);
        expect(signal.aborted).toBe(false);
        return token;
      });
      expect(seen).toBeGreaterThan(0);
      expect(await l.locked()).toBe(false);
      await expect(l.run(() => Promise.reject(new Error('boom')))).rejects.toThrow('boom');
      expect(await l.locked()).toBe(false);
    });

    it('fencing tokens strictly increase across handles and acquisitions', async () => {
      const n = name('fence');
      const handles = [lock(n), lock(n), lock(n)];
      const tokens: number[] = [];
      for (let round = 0; round < 3; round++) {
        for (const h of handles) tokens.push(await h.run(({ token }) => token));
      }
      for (let i = 1; i < tokens.length; i++) expect(tokens[i]).toBeGreaterThan(tokens[i - 1]!);
    });
  });

  describe(`${backend.name}: Event (test_locks.EventTests)`, () => {
    it('set wakes every waiter, in every handle (test_wait)', async () => {
      const n = name('ev');
      const [setter, ...waiters] = [event(n), event(n), event(n), event(n)];
      expect(await setter.isSet()).toBe(false);
      const result: number[] = [];
      const ts = waiters.map((w, i) => watch(w.wait().then((r) => (result.push(i + 1), r))));
      await sleep(100);
      expect(result).toEqual([]);
      await setter.set();
      await Promise.all(ts.map((t) => t.p));
      expect(result.sort()).toEqual([1, 2, 3]);
      for (const t of ts) expect(t.value).toBe(true);
    });

    it('wait on a set event resolves at once (test_wait_on_set)', async () => {
      const ev = event(name('evs'));
      await ev.set();
      expect(await ev.wait()).toBe(true);
    });

    it('an aborted wait rejects (test_wait_cancel)', async () => {
      const ev = event(name('evc'));
      const ac = new AbortController();
      const p = ev.wait({ signal: ac.signal });
      await sleep(50);
      ac.abort();
      await rejects(() => p, WaitAborted);
      await rejects(() => ev.wait({ timeout: 50 }), WaitAborted, 'TIMEOUT');
    });

    it('clear unsets it (test_clear)', async () => {
      const ev = event(name('evcl'));
      await ev.set();
      expect(await ev.isSet()).toBe(true);
      await ev.clear();
      expect(await ev.isSet()).toBe(false);
    });

    it('a waiter present at set() wakes even if clear() follows at once (test_clear_with_waiters)', async () => {
      const n = name('evw');
      const [ev, waiter] = [event(n), event(n)];
      const t = watch(waiter.wait());
      await sleep(100);
      await ev.set();
      await ev.clear();
      expect(await ev.isSet()).toBe(false);
      await ev.set();
      await ev.set();
      expect(await t.p).toBe(true);
      await ev.clear();
      await rejects(() => waiter.wait({ timeout: 100 }), WaitAborted);
    });
  });

}
