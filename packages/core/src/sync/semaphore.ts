import { checkInt } from '../options.js';
import type { WaitOptions } from '../types.js';
import { Permits, type PermitMode } from './permits.js';
import { resolveSyncConfig, type HoldContext, type SemaphoreOptions } from './sync-options.js';

/**
 * asyncio's `Semaphore` across processes: `value` permits shared by every handle of the same name,
 * handed out FIFO. A holder's permits come back after `lease` when its process dies. As in
 * asyncio, `release()` by a handle holding no permit adds one, so a Semaphore of value 0 is a
 * cross-process signal. The first handle to use a name fixes its value; a handle opened with
 * another value is refused.
 *
 * @example
 * ```ts
 * const api = new Semaphore('partner-api', { connection, value: 10 });
 * const answer = await api.run(() => fetch(url));   // at most 10 at once, fleet-wide
 * ```
 */
export class Semaphore {
  /** How releases count, and what messages call it: a subclass says `bounded`. */
  protected static readonly mode: PermitMode = 'semaphore';
  protected static readonly label: string = 'Semaphore';
  private readonly permits: Permits;

  constructor(name: string, opts?: SemaphoreOptions) {
    const { mode, label } = new.target as unknown as { mode: PermitMode; label: string };
    const config = resolveSyncConfig('semaphore', label, name, opts);
    this.permits = new Permits(config, mode, checkInt(`${label} value`, opts?.value, 1, 0, 1_000_000));
  }

  /** The semaphore's name. */
  get name(): string {
    return this.permits.config.name;
  }

  /** Waits (FIFO) until a permit is this caller's, then resolves to true. */
  async acquire(opts?: WaitOptions): Promise<true> {
    await this.permits.acquire(opts);
    return true;
  }

  /** Gives back this handle's oldest permit, or adds one when it holds none; the next waiter gets it in the same step. */
  release(): Promise<void> {
    return this.permits.release();
  }

  /** True when an acquire now would wait: no permit is free, or someone waits already. */
  locked(): Promise<boolean> {
    return this.permits.locked();
  }

  /** Acquires a permit, runs `fn({ token, signal })`, and releases it, also when `fn` throws. */
  run<R>(fn: (ctx: HoldContext) => R | Promise<R>, opts?: WaitOptions): Promise<R> {
    return this.permits.run(fn, opts);
  }

  /** Gives back what this handle holds (to the next waiters, at once), rejects its waits, and closes its connections. */
  close(): Promise<void> {
    return this.permits.close();
  }
}
