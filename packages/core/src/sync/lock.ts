import type { WaitOptions } from '../types.js';
import { resolveSyncConfig, type HoldContext, type PrimitiveOptions } from './sync-options.js';
import { Permits } from './permits.js';

/** Options of a {@link Lock}. */
export interface LockOptions extends PrimitiveOptions {}

/**
 * asyncio's `Lock` across processes: handles with the same name (in any process) are the same
 * lock. FIFO-fair across every handle; each acquisition gets a fencing token larger than every one
 * before it; the holder's lease is renewed while its process lives, so a dead holder's lock comes
 * back after `lease`, and a stalled one sees `run`'s `signal` abort and `release()` reject with
 * `LeaseLost`. One handle shared by several callers in a process is one lock: a second `acquire`
 * on it waits, as on an asyncio.Lock shared by coroutines.
 *
 * @example
 * ```ts
 * const lock = new Lock('token-refresh', { connection: 'redis://127.0.0.1:6379' });
 * await lock.run(async ({ token, signal }) => {
 *   await refreshToken({ fencingToken: token, signal });
 * });
 * await lock.close();
 * ```
 */
export class Lock {
  private readonly permits: Permits;

  constructor(name: string, opts?: LockOptions) {
    this.permits = new Permits(resolveSyncConfig('lock', 'lock', name, opts), 'lock', 1);
  }

  /** The lock's name. */
  get name(): string {
    return this.permits.config.name;
  }

  /**
   * The fencing token of this handle's current hold (undefined when it holds none): it strictly
   * increases with every acquisition by anyone, also after a holder crashed. Pass it to the
   * resource you protect, so it can refuse a write from an older holder.
   */
  get fencingToken(): number | undefined {
    return this.permits.holds.at(-1)?.token;
  }

  /** Waits until this caller holds the lock (FIFO), then resolves to true. */
  async acquire(opts?: WaitOptions): Promise<true> {
    await this.permits.acquire(opts);
    return true;
  }

  /**
   * Releases the lock, handing it to the next waiter in the same step. Rejects with `LockNotHeld`
   * when this handle does not hold it, and with `LeaseLost` when its hold lapsed meanwhile.
   */
  release(): Promise<void> {
    return this.permits.release();
  }

  /** True while anyone, anywhere, holds the lock. */
  locked(): Promise<boolean> {
    return this.permits.locked();
  }

  /** Acquires, runs `fn({ token, signal })`, and releases, also when `fn` throws. */
  run<R>(fn: (ctx: HoldContext) => R | Promise<R>, opts?: WaitOptions): Promise<R> {
    return this.permits.run(fn, opts);
  }

  /** Releases what this handle holds (to the next waiters, at once), rejects its waits, and closes its connections. */
  close(): Promise<void> {
    return this.permits.close();
  }

  /** @internal The permits a Condition over this lock shares. */
  static permitsOf(lock: Lock): Permits {
    return lock.permits;
  }

}
