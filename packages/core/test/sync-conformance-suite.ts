// The behaviour cases of CPython's Lib/test/test_asyncio/test_locks.py (Lock, Event, Condition,
// Semaphore, BoundedSemaphore, Barrier), ported to asyncq's primitives across processes. Handles
// of the same name stand for processes; where asyncio shares one object between coroutines, so do
// these tests (one handle shared by callers behaves as one asyncio object). repr and event-loop
// internals are left out. asyncio's `await asyncio.sleep(0)` ("let the others run") becomes waiting
// until Redis shows the state the case needs (a waiter queued), so no case depends on timing.
// Where an abort races a hand-off, Redis's order decides (see grant-waits.ts), and the cases
// assert the invariant both outcomes keep: never two holders, nothing lost.
import { randomBytes } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import {
  Barrier,
  BoundedSemaphore,
  BrokenBarrier,
  Condition,
  ConfigError,
  Event,
  Lock,
  LockNotHeld,
  Semaphore,
  SemaphoreOverReleased,
  WaitAborted,
  type PrimitiveOptions,
} from '@asyncq/core';
import { syncKeys, type SyncKind } from '@asyncq/core/internal';

/** Where a conformance run keeps its primitives. */
export interface SyncBackend {
  name: string;
  /** Options every handle is opened with (its connection). */
  options(): PrimitiveOptions;
  /** Closes `c` after the test; the connections of `tag` (`lock:name`) must be gone then, and its keys are removed. */
  track<C extends { close(): Promise<void> }>(c: C, tag: string): C;
  /** Reads Redis, for the cases that wait until a waiter is queued. */
  redis(): { zcard(key: string): Promise<number> };
}

export function sleep(ms: number): Promise<void> {
  return new Promise((r) => setTimeout(r, ms));
}

/** Resolves once `check` passes, or throws its last failure after `ms`. */
async function eventually(check: () => Promise<void> | void, ms = 10_000): Promise<void> {
  const until = Date.now() + ms;
  for (;;) {
    try {
      await check();
      return;
    } catch (e) {
      if (Date.now() > until) throw e;
      await sleep(10);
    }
  }
}

/** A promise whose state can be read synchronously. */
function watch<T>(p: Promise<T>): { p: Promise<T>; done: boolean; value?: T; error?: unknown } {
  const w: { p: Promise<T>; done: boolean; value?: T; error?: unknown } = { p, done: false };
  p.then(
    (v) => Object.assign(w, { done: true, value: v }),
    (e: unknown) => Object.assign(w, { done: true, error: e }),
  );
  return w;
}

/** `fn` rejects with an error of class `cls` (and, when given, this code). */
async function rejects(fn: () => Promise<unknown>, cls: abstract new (...args: never[]) => Error, code?: string): Promise<Error> {
  try {
    await fn();
  } catch (e) {
    expect(e).toBeInstanceOf(cls);
    if (code) expect((e as { code?: string }).code).toBe(code);
    return e as Error;
  }
  throw new Error(`expected a ${cls.name}, but it resolved`);
}

export function syncConformanceSuite(backend: SyncBackend): void {
  const name = (label: string): string => `${label}-${randomBytes(5).toString('hex')}`;
  const opts = (): PrimitiveOptions => backend.options();
  const lock = (n: string): Lock => backend.track(new Lock(n, opts()), `lock:${n}`);
  const event = (n: string): Event => backend.track(new Event(n, opts()), `event:${n}`);
  const cond = (n: string, o: { lock?: Lock } = {}): Condition => backend.track(new Condition(n, { ...opts(), ...o }), `cond:${n}`);
  const sem = (n: string, value?: number): Semaphore => backend.track(new Semaphore(n, { ...opts(), value }), `sem:${n}`);
  const bsem = (n: string, value?: number): BoundedSemaphore => backend.track(new BoundedSemaphore(n, { ...opts(), value }), `sem:${n}`);
  const barrier = (n: string, parties: number): Barrier => backend.track(new Barrier(n, { ...opts(), parties }), `barrier:${n}`);
  /** Waits until `n` waits are queued in Redis for primitive `kind:name`. */
  const queued = (kind: SyncKind, n: string, count: number, key: 'queue' | 'members' = 'queue'): Promise<void> =>
    eventually(async () => expect(await backend.redis().zcard(syncKeys('asyncq', kind, n)[key])).toBe(count));

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

  describe(`${backend.name}: Barrier (test_locks.BarrierTests)`, () => {
    const N = 5;
    const gather = async <T>(n: number, fn: (i: number) => Promise<T>): Promise<T[]> => Promise.all(Array.from({ length: n }, (_, i) => fn(i)));

    it('parties below 1 or not whole are refused with one line (test_barrier_parties)', () => {
      for (const p of [0, -4, 2.5]) expect(() => new Barrier(name('bp'), { ...opts(), parties: p })).toThrow(ConfigError);
      expect(() => new Barrier(name('bp'), { ...opts(), parties: 0 })).toThrow(/^barrier parties must be a whole number from 1 to 1000000, got 0$/);
      expect(() => new Barrier(name('bp'), { ...opts() } as never)).toThrow(/needs parties/);
      expect(barrier(name('bp'), N).parties).toBe(N);
    });

    it('N parties in N handles pass together, each with its own index (test_context_manager)', async () => {
      const n = name('b');
      const bs = Array.from({ length: 3 }, () => barrier(n, 3));
      const results = await gather(3, (i) => bs[i]!.wait());
      expect(results.sort()).toEqual([0, 1, 2]);
      expect(await bs[0]!.nWaiting()).toBe(0);
      expect(await bs[0]!.broken()).toBe(false);
    });

    it('a barrier of one passes at once, twice (test_filling_one_task, test_filling_one_task_twice)', async () => {
      const b = barrier(name('b1'), 1);
      expect(await b.wait()).toBe(0);
      expect(await b.wait()).toBe(0);
      expect(await b.nWaiting()).toBe(0);
      expect(await b.broken()).toBe(false);
    });

    it('counts the parties waiting as it fills (test_filling_task_by_task)', async () => {
      const n = name('bt');
      const b = barrier(n, 3);
      const t1 = watch(b.wait());
      await eventually(async () => expect(await b.nWaiting()).toBe(1));
      const t2 = watch(b.wait());
      await eventually(async () => expect(await b.nWaiting()).toBe(2));
      const t3 = watch(b.wait());
      await Promise.all([t1.p, t2.p, t3.p]);
      expect(await b.nWaiting()).toBe(0);
      expect(await b.broken()).toBe(false);
    });

    it('is reusable: every party passes twice, with indexes 0..N-1 each round (test_filling_tasks_wait_twice, test_filling_tasks_check_return_value)', async () => {
      const n = name('bw');
      const bs = Array.from({ length: N }, () => barrier(n, N));
      const results: boolean[] = [];
      const second = await gather(N, async (i) => {
        await bs[i]!.wait();
        results.push(true);
        const index = await bs[i]!.wait();
        results.push(false);
        return index;
      });
      expect(results.filter((r) => r)).toHaveLength(N);
      expect(results.filter((r) => !r)).toHaveLength(N);
      expect(second.sort()).toEqual([0, 1, 2, 3, 4]);
      expect(await bs[0]!.nWaiting()).toBe(0);
    });

    it('parties that come back while the last round drains wait for the next round (test_blocking_tasks_while_draining)', async () => {
      const n = name('bd');
      const bs = Array.from({ length: N }, () => barrier(n, N));
      const others = barrier(name('bdo'), N - 2);
      let rewait = 2;
      await gather(N, async (i) => {
        await bs[i]!.wait();
        if (rewait > 0) {
          rewait--;
          await bs[i]!.wait();
        } else {
          await others.wait();
          await bs[i]!.wait();
        }
      });
    });

    it('an aborted party leaves the count (test_filling_tasks_cancel_one)', async () => {
      const n = name('bc');
      const b = barrier(n, 3);
      const results: boolean[] = [];
      const go = (signal?: AbortSignal) => watch(b.wait({ signal }).then(() => results.push(true)));
      const ac = new AbortController();
      const t1 = go(ac.signal);
      await eventually(async () => expect(await b.nWaiting()).toBe(1));
      const t2 = go();
      await eventually(async () => expect(await b.nWaiting()).toBe(2));
      ac.abort();
      await rejects(() => t1.p, WaitAborted);
      expect(await b.nWaiting()).toBe(1);
      const t3 = go();
      await eventually(async () => expect(await b.nWaiting()).toBe(2));
      const t4 = go();
      await Promise.all([t2.p, t3.p, t4.p]);
      expect(results).toHaveLength(3);
      expect(await b.nWaiting()).toBe(0);
      expect(await b.broken()).toBe(false);
    });

    it('reset and abort of an empty barrier (test_reset_barrier, test_abort_barrier)', async () => {
      const b = barrier(name('br'), 1);
      await b.reset();
      expect(await b.nWaiting()).toBe(0);
      expect(await b.broken()).toBe(false);
      await b.abort();
      expect(await b.broken()).toBe(true);
      await rejects(() => b.wait(), BrokenBarrier, 'BROKEN_BARRIER');
      await b.reset();
      expect(await b.broken()).toBe(false);
      expect(await b.wait()).toBe(0);
    });

    it('reset wakes the waiting parties with BrokenBarrier, and the barrier works again (test_reset_barrier_while_tasks_waiting)', async () => {
      const n = name('brw');
      const bs = Array.from({ length: N }, () => barrier(n, N));
      const waiting = bs.slice(0, N - 1).map((b) => watch(b.wait()));
      await eventually(async () => expect(await bs[0]!.nWaiting()).toBe(N - 1));
      await bs[N - 1]!.reset();
      for (const w of waiting) await rejects(() => w.p, BrokenBarrier);
      expect(await bs[0]!.nWaiting()).toBe(0);
      expect(await bs[0]!.broken()).toBe(false);
      const again = await gather(N, (i) => bs[i]!.wait());
      expect(again.sort()).toEqual([0, 1, 2, 3, 4]);
    });

    it('parties broken by a reset wait again and pass with the one that comes later (test_reset_barrier_while_tasks_waiting_and_waiting_again)', async () => {
      const n = name('brwa');
      const bs = Array.from({ length: N }, () => barrier(n, N));
      const results1: boolean[] = [];
      const results2: boolean[] = [];
      const tasks = bs.slice(0, N - 1).map((b) =>
        (async () => {
          try {
            await b.wait();
          } catch (e) {
            if (e instanceof BrokenBarrier) results1.push(true);
          } finally {
            await b.wait();
            results2.push(true);
          }
        })(),
      );
      await eventually(async () => expect(await bs[0]!.nWaiting()).toBe(N - 1));
      await bs[N - 1]!.reset();
      await eventually(() => expect(results1).toHaveLength(N - 1));
      await bs[N - 1]!.wait().then(() => results2.push(true));
      await Promise.all(tasks);
      expect(await bs[0]!.broken()).toBe(false);
      expect(results2).toHaveLength(N);
    });

    it('abort breaks the parties still inside and those that wait again (test_abort_barrier_when_tasks_half_draining_half_blocking)', async () => {
      const n = name('bah');
      const bs = Array.from({ length: N }, () => barrier(n, N));
      const results1: boolean[] = [];
      const results2: boolean[] = [];
      const blocking = Math.floor(N / 2);
      let count = 0;
      await gather(N, async (i) => {
        const b = bs[i]!;
        try {
          await b.wait();
        } catch (e) {
          // still inside when the abort came: asyncio's tasks not yet resumed from the first round
          if (e instanceof BrokenBarrier) results1.push(true);
          return;
        }
        count++;
        if (count > blocking) await b.abort();
        else {
          try {
            await b.wait();
          } catch (e) {
            if (e instanceof BrokenBarrier) results2.push(true);
          }
        }
      });
      expect(await bs[0]!.broken()).toBe(true);
      // Which parties had left the first round when the abort came is up to scheduling (asyncio's
      // loop fixes it); every party either left and waited again (broken), aborted, or was broken inside.
      expect(results2).toHaveLength(blocking);
      expect(results1.length + count).toBe(N);
      expect(await bs[0]!.nWaiting()).toBe(0);
    });

    it('a party that fails aborts the barrier: every other party gets BrokenBarrier (test_abort_barrier_when_exception)', async () => {
      const n = name('bae');
      const bs = Array.from({ length: N }, () => barrier(n, N));
      const results1: boolean[] = [];
      const results2: boolean[] = [];
      await gather(N, async (i) => {
        const b = bs[i]!;
        try {
          const index = await b.wait();
          if (index === Math.floor(N / 2)) throw new Error('party failed');
          await b.wait();
          results1.push(true);
        } catch (e) {
          if (e instanceof BrokenBarrier) results2.push(true);
          else await b.abort();
        }
      });
      expect(await bs[0]!.broken()).toBe(true);
      expect(results1).toHaveLength(0);
      expect(results2).toHaveLength(N - 1);
      expect(await bs[0]!.nWaiting()).toBe(0);
    });

    it('after an abort, a reset between two other barriers lets every party pass again (test_abort_barrier_when_exception_then_resetting)', async () => {
      const n1 = name('bar1');
      const n2 = name('bar2');
      const b1s = Array.from({ length: N }, () => barrier(n1, N));
      const b2s = Array.from({ length: N }, () => barrier(n2, N));
      const results1: boolean[] = [];
      const results2: boolean[] = [];
      const results3: boolean[] = [];
      await gather(N, async (i) => {
        const [b1, b2] = [b1s[i]!, b2s[i]!];
        try {
          const index = await b1.wait();
          if (index === Math.floor(N / 2)) throw new Error('party failed');
          await b1.wait();
          results1.push(true);
        } catch (e) {
          if (e instanceof BrokenBarrier) results2.push(true);
          else await b1.abort();
        }
        if ((await b2.wait()) === Math.floor(N / 2)) await b1.reset();
        await b2.wait();
        await b1.wait();
        results3.push(true);
      });
      expect(await b1s[0]!.broken()).toBe(false);
      expect(results1).toHaveLength(0);
      expect(results2).toHaveLength(N - 1);
      expect(results3).toHaveLength(N);
      expect(await b1s[0]!.nWaiting()).toBe(0);
    });
  });
}
