import { abortableWait } from '../abortable-wait.js';
import { ConfigError, LeaseLost, WaitAborted } from '../errors.js';
import { LockNotHeld, PrimitiveClosed } from './sync-errors.js';
import { checkInt, checkTimeout } from '../options.js';
import type { WaitOptions } from '../types.js';
import type { GrantFlavor, PendingGrant } from './grant-waits.js';
import { Lock } from './lock.js';
import { Permits } from './permits.js';
import { checkPrimitiveName, resolveSyncConfig, type HoldContext, type PrimitiveOptions } from './sync-options.js';
import type { SyncSession } from './sync-session.js';

/** Options of a {@link Condition}. */
export interface ConditionOptions extends PrimitiveOptions {
  /**
   * The lock the condition uses, shared with whoever else uses that Lock handle; the condition then
   * lives with it (its connection, prefix and lease). @defaultValue a lock of the condition's own
   */
  lock?: Lock;
}

/**
 * asyncio's `Condition` across processes: `wait()` (holding the lock) releases it and joins the
 * condition's waiters in one step, and returns holding the lock again after a `notify`; `notify(n)`
 * wakes the n oldest waiters, `notifyAll()` every one, both only while holding the lock. A wait
 * aborted by its signal or timeout re-acquires the lock before it rejects, as in asyncio.
 *
 * @example
 * ```ts
 * const cond = new Condition('stock', { connection });
 * await cond.acquire();
 * try {
 *   await cond.waitFor(async () => (await stockLevel()) > 0);
 * } finally {
 *   await cond.release();
 * }
 * ```
 */
export class Condition {
  private readonly permits: Permits;
  private readonly ownsLock: boolean;
  private readonly mine = new Set<PendingGrant>();
  private flavor?: GrantFlavor;

  constructor(
    readonly name: string,
    opts?: ConditionOptions,
  ) {
    checkPrimitiveName('condition', name);
    const lock = opts?.lock;
    if (lock !== undefined && !(lock instanceof Lock)) throw new ConfigError(`condition "${name}": lock must be an asyncq Lock, got ${typeof lock}`);
    this.ownsLock = lock === undefined;
    this.permits = lock ? Lock.permitsOf(lock) : new Permits(resolveSyncConfig('condition', 'condition', name, opts), 'lock', 1);
  }

  /** Waits until this caller holds the condition's lock (FIFO), then resolves to true. */
  async acquire(opts?: WaitOptions): Promise<true> {
    await this.permits.acquire(opts);
    return true;
  }

  /** Releases the condition's lock; rejects with `LockNotHeld` when this handle does not hold it. */
  release(): Promise<void> {
    return this.permits.release();
  }

  /** True while anyone holds the condition's lock. */
  locked(): Promise<boolean> {
    return this.permits.locked();
  }

  /** Acquires the lock, runs `fn({ token, signal })`, and releases it, also when `fn` throws. */
  run<R>(fn: (ctx: HoldContext) => R | Promise<R>, opts?: WaitOptions): Promise<R> {
    return this.permits.run(fn, opts);
  }

  /**
   * Releases the lock, waits for a notify, and resolves to true holding the lock again. Must be
   * called holding the lock (else `LockNotHeld`). Aborted by `signal` or `timeout`, it still
   * re-acquires the lock before it rejects.
   */
  async wait(opts?: WaitOptions): Promise<true> {
    checkTimeout(`condition "${this.name}" wait timeout`, opts?.timeout);
    const hold = this.heldOrThrow('wait()');
    const { session, waits } = await this.permits.parts.get();
    const flavor = this.flavorOf(session);
    const what = `condition "${this.name}" wait`;
    this.permits.take(hold);
    const id = this.permits.nextId();
    return abortableWait<true>(what, opts, (waiter) => {
      let notified: boolean | undefined;
      const p: PendingGrant = {
        id,
        flavor,
        onGrant: (token) => {
          this.mine.delete(p);
          this.permits.adopt(id, token);
          if (notified === false) waiter.reject(waiter.pendingAbort ?? new WaitAborted(what, 'signal'));
          else waiter.resolve(true);
        },
        // An aborted wait stays to re-acquire the lock; whether it was notified first decides how it ends.
        onWithdrawn: (result) => {
          notified = result === 0;
          return 'keep';
        },
        onError: (e) => {
          this.mine.delete(p);
          waiter.reject(e);
        },
      };
      this.mine.add(p);
      waits.add(p, async () => {
        if (!(await session.scripts.condWait(this.permits.config.keys, this.name, hold.id, id))) throw this.lost();
        return -1;
      });
      return () => {
        queueMicrotask(() => waits.abort(p));
        return false;
      };
    });
  }

  /** Waits until `predicate()` is truthy, and resolves to its value; `timeout` counts for the whole wait. */
  async waitFor<T>(predicate: () => T | Promise<T>, opts?: WaitOptions): Promise<T> {
    const timeout = checkTimeout(`condition "${this.name}" waitFor timeout`, opts?.timeout);
    const deadline = timeout === undefined ? undefined : Date.now() + timeout;
    let result = await predicate();
    while (!result) {
      await this.wait({ signal: opts?.signal, timeout: deadline === undefined ? undefined : Math.max(0, deadline - Date.now()) });
      result = await predicate();
    }
    return result;
  }

  /** Wakes the `n` oldest waiters (in every process); must be called holding the lock. */
  async notify(n = 1): Promise<void> {
    const count = checkInt('notify n', n, 1, 0, 2 ** 31 - 1);
    const hold = this.heldOrThrow('notify()');
    const { session } = await this.permits.parts.get();
    if ((await session.scripts.condNotify(this.permits.config.keys, this.name, hold.id, count, this.permits.nextId())) < 0) {
      this.permits.take(hold);
      throw this.lost();
    }
  }

  /** Wakes every waiter; must be called holding the lock. */
  notifyAll(): Promise<void> {
    return this.notify(2 ** 31 - 1);
  }

  /** Rejects this handle's waits and closes it; a lock of its own is released to the next waiter at once. */
  async close(): Promise<void> {
    const closed = new PrimitiveClosed('condition', this.name);
    const parts = await this.permits.parts.ifStarted();
    for (const p of [...this.mine]) {
      this.mine.delete(p);
      parts?.waits.forget(p);
      p.onError(closed);
    }
    if (!this.ownsLock) return;
    if (parts) await parts.session.scripts.dropConditionWaiters(this.permits.config.keys, this.name, this.permits.config.session).catch(() => {});
    await this.permits.close();
  }

  private heldOrThrow(what: string) {
    this.permits.checkOpen();
    const hold = this.permits.holds[0];
    if (!hold) throw new LockNotHeld(`condition "${this.name}": ${what} needs its lock held by this handle; acquire() it first`);
    if (hold.lost) {
      this.permits.take(hold);
      throw this.lost();
    }
    return hold;
  }

  private lost(): LeaseLost {
    return new LeaseLost({ kind: 'condition', name: this.name });
  }

  private flavorOf(session: SyncSession): GrantFlavor {
    const { keys, lease: leaseMs, info, session: id } = this.permits.config;
    this.flavor ??= {
      check: async (ids) => {
        const mark = this.permits.adopted;
        const r = await session.scripts.condCheck(keys, this.name, { session: id, leaseMs, info, holding: this.permits.holding() }, ids);
        if (r.lost) this.permits.lostBefore(mark);
        return r;
      },
      cancel: (ids) => session.scripts.condCancel(keys, this.name, 'abort', ids),
      drop: async (ids) => {
        await session.scripts.condCancel(keys, this.name, 'drop', ids);
      },
    };
    return this.flavor;
  }
}
