// test_locks.ConditionTests, ported (see sync-conformance-suite.ts).
import { describe, expect, it } from 'vitest';
import { sleep } from '../timing.js';
import { Condition, Lock, LockNotHeld, WaitAborted } from '@asyncq/core';
import { syncKeys } from '@asyncq/core/internal';
import { eventually, rejects, watch, type SyncBackend, type SyncKit } from './sync-kit.js';

export function conditionConformance(backend: SyncBackend, kit: SyncKit): void {
  const { name, opts, lock, event, cond, sem, bsem, barrier, queued } = kit;

  describe(`${backend.name}: Condition (test_locks.ConditionTests)`, () => {
    it('wait releases the lock; notify wakes waiters in order, each holding the lock again (test_wait)', async () => {
      const n = name('cw');
      const [main, c1, c2, c3] = [cond(n), cond(n), cond(n), cond(n)];
      const result: number[] = [];
      const waitIn = (c: Condition, i: number) =>
        watch(
          (async () => {
            await c.acquire();
            if (await c.wait()) result.push(i);
            return true;
          })(),
        );
      const t1 = waitIn(c1, 1);
      await queued('condition', n, 0);
      await eventually(async () => expect(await backend.redis().zcard(syncKeys('asyncq', 'condition', n).conditionWaiters(n))).toBe(1));
      const t2 = waitIn(c2, 2);
      await eventually(async () => expect(await backend.redis().zcard(syncKeys('asyncq', 'condition', n).conditionWaiters(n))).toBe(2));
      const t3 = waitIn(c3, 3);
      await eventually(async () => expect(await backend.redis().zcard(syncKeys('asyncq', 'condition', n).conditionWaiters(n))).toBe(3));
      expect(await main.locked()).toBe(false);

      expect(await main.acquire()).toBe(true);
      await main.notify();
      await sleep(50);
      expect(result).toEqual([]);
      expect(await main.locked()).toBe(true);
      await main.release();
      await eventually(() => expect(result).toEqual([1]));
      expect(await main.locked()).toBe(true);
      // c1 holds the lock now: it notifies the other two (asyncio's main task shares c1's object).
      await c1.notify(2);
      await sleep(50);
      expect(result).toEqual([1]);
      await c1.release();
      await eventually(() => expect(result).toEqual([1, 2]));
      expect(await main.locked()).toBe(true);
      await c2.release();
      await eventually(() => expect(result).toEqual([1, 2, 3]));
      expect(await main.locked()).toBe(true);
      for (const t of [t1, t2, t3]) expect(await t.p).toBe(true);
      await c3.release();
    });

    it('an aborted wait re-acquires the lock before it rejects (test_wait_cancel, test_timeout_in_block)', async () => {
      const c = cond(name('cwc'));
      await c.acquire();
      const ac = new AbortController();
      const p = c.wait({ signal: ac.signal });
      await sleep(50);
      ac.abort();
      await rejects(() => p, WaitAborted, 'ABORTED');
      expect(await c.locked()).toBe(true);
      await rejects(() => c.wait({ timeout: 100 }), WaitAborted, 'TIMEOUT');
      expect(await c.locked()).toBe(true);
      await c.release();
      expect(await c.locked()).toBe(false);
    });

    it('a wait aborted while another holds the lock ends holding it, after that one releases (test_wait_cancel_contested)', async () => {
      const n = name('cwcc');
      const [c, other] = [cond(n), cond(n)];
      await c.acquire();
      const ac = new AbortController();
      const w = watch(c.wait({ signal: ac.signal }));
      await eventually(async () => expect(await c.locked()).toBe(false));
      await other.acquire();
      await other.notify();
      ac.abort();
      await sleep(50);
      expect(w.done).toBe(false);
      await other.release();
      await w.p.catch(() => {});
      // Notified before the abort reached Redis: the wait resolves (asyncio: no cancellation point was reached).
      expect(w.value).toBe(true);
      expect(await c.locked()).toBe(true);
      await c.release();
    });

    it('a waiter aborted after a notify still ends holding the lock (test_wait_cancel_after_notify)', async () => {
      const n = name('cwan');
      const [c, notifier] = [cond(n), cond(n)];
      let waited = false;
      const w = watch(
        (async () => {
          await c.acquire();
          waited = true;
          const ac = new AbortController();
          setTimeout(() => ac.abort(), 300);
          try {
            return await c.wait({ signal: ac.signal });
          } finally {
            expect(await c.locked()).toBe(true);
            await c.release();
          }
        })(),
      );
      await eventually(async () => expect(await backend.redis().zcard(syncKeys('asyncq', 'condition', n).conditionWaiters(n))).toBe(1));
      await notifier.acquire();
      await notifier.notify();
      await sleep(400); // the abort fires while the notifier holds the lock
      await notifier.release();
      await w.p.catch(() => {});
      expect(waited).toBe(true);
      expect(w.done).toBe(true);
      expect(await notifier.locked()).toBe(false);
    });

    it('wait, notify and notifyAll without holding the lock reject with LockNotHeld (test_wait_unacquired, test_notify_unacquired)', async () => {
      const c = cond(name('cun'));
      await rejects(() => c.wait(), LockNotHeld);
      await rejects(() => c.notify(), LockNotHeld);
      await rejects(() => c.notifyAll(), LockNotHeld);
      await rejects(() => c.release(), LockNotHeld);
    });

    it('waitFor waits until the predicate holds (test_wait_for)', async () => {
      const n = name('cwf');
      const [c, notifier] = [cond(n), cond(n)];
      let presult = false;
      const result: number[] = [];
      const t = watch(
        (async () => {
          await c.acquire();
          if (await c.waitFor(() => presult)) {
            result.push(1);
            await c.release();
          }
          return true;
        })(),
      );
      const waiters = (): Promise<number> => backend.redis().zcard(syncKeys('asyncq', 'condition', n).conditionWaiters(n));
      await eventually(async () => expect(await waiters()).toBe(1));
      await notifier.acquire();
      await notifier.notify();
      await notifier.release();
      // It woke, saw false, and waits again.
      await eventually(async () => expect(await waiters()).toBe(1));
      await sleep(50);
      expect(result).toEqual([]);
      presult = true;
      await notifier.acquire();
      await notifier.notify();
      await notifier.release();
      expect(await t.p).toBe(true);
      expect(result).toEqual([1]);
    });

    it('waitFor with a true predicate needs no lock; else it needs it (test_wait_for_unacquired)', async () => {
      const c = cond(name('cwfu'));
      expect(await c.waitFor(() => [1, 2, 3])).toEqual([1, 2, 3]);
      await rejects(() => c.waitFor(() => false), LockNotHeld);
    });

    it('notify(1) wakes one waiter, notify(n) more than there are wakes them all (test_notify)', async () => {
      const n = name('cn');
      const main = cond(n);
      const result: number[] = [];
      const waiters = (): Promise<number> => backend.redis().zcard(syncKeys('asyncq', 'condition', n).conditionWaiters(n));
      const ts = [1, 2, 3].map((i) => {
        const c = cond(n);
        return watch(
          (async () => {
            await c.acquire();
            if (await c.wait()) {
              result.push(i);
              await c.release();
            }
            return true;
          })(),
        );
      });
      await eventually(async () => expect(await waiters()).toBe(3));
      await main.acquire();
      await main.notify(1);
      await main.release();
      await eventually(() => expect(result).toHaveLength(1));
      await main.acquire();
      await main.notify(1);
      await main.notify(2048);
      await main.release();
      await eventually(() => expect(result).toHaveLength(3));
      for (const t of ts) expect(await t.p).toBe(true);
    });

    it('notifyAll wakes every waiter (test_notify_all)', async () => {
      const n = name('cna');
      const main = cond(n);
      const result: number[] = [];
      const ts = [1, 2].map((i) => {
        const c = cond(n);
        return watch(c.acquire().then(() => c.wait()).then(() => (result.push(i), c.release())));
      });
      await eventually(async () => expect(await backend.redis().zcard(syncKeys('asyncq', 'condition', n).conditionWaiters(n))).toBe(2));
      await main.acquire();
      await main.notifyAll();
      await main.release();
      await Promise.all(ts.map((t) => t.p));
      expect(result.sort()).toEqual([1, 2]);
    });

    it('run() holds the lock while its function runs (test_context_manager)', async () => {
      const c = cond(name('ccm'));
      expect(await c.locked()).toBe(false);
      await c.run(async () => expect(await c.locked()).toBe(true));
      expect(await c.locked()).toBe(false);
    });

    it('a condition over an explicit Lock shares that lock (test_explicit_lock)', async () => {
      const n = name('cel');
      const l = lock(n);
      const c = cond(name('celc'), { lock: l });
      expect(await l.locked()).toBe(false);
      expect(await c.locked()).toBe(false);
      await c.run(async () => {
        expect(await l.locked()).toBe(true);
        expect(await c.locked()).toBe(true);
      });
      expect(await l.locked()).toBe(false);
      await l.run(async () => expect(await c.locked()).toBe(true));
      expect(await c.locked()).toBe(false);
    });
  });

}
