import { abortableWait, type Waiter } from '../abortable-wait.js';
import { PrimitiveClosed } from './sync-errors.js';
import { Lazy } from '../lazy.js';
import { checkTimeout } from '../options.js';
import type { WaitOptions } from '../types.js';
import { resolveSyncConfig, type PrimitiveOptions, type SyncConfig } from './sync-options.js';
import { SyncSession } from './sync-session.js';

/** Options of an {@link Event}. */
export interface EventOptions extends PrimitiveOptions {}

/** The slow safety re-check of a waiter, ms (a set is announced; this only catches a lost message). */
const RECHECK_MS = 2000;

/**
 * asyncio's `Event` across processes: `set()` wakes every waiter in every process; a waiter
 * present at `set()` wakes even if `clear()` follows at once (each set of a clear event starts a
 * new generation, and a waiter compares generations, not the flag). Waiting costs a subscription
 * and a slow re-check, no polling.
 *
 * @example
 * ```ts
 * const ready = new Event('config-loaded', { connection });
 * await ready.wait();            // in any number of processes
 * await ready.set();             // in one of them
 * ```
 */
export class Event {
  private readonly config: SyncConfig;
  private readonly session: Lazy<SyncSession>;
  /** Local waiters and the generation each saw when it started waiting. */
  private readonly waiters: { waiter: Waiter<true>; gen: number }[] = [];
  private closed = false;
  private loop = false;
  private wake: () => void = () => {};
  private listening?: Promise<void>;

  constructor(name: string, opts?: EventOptions) {
    this.config = resolveSyncConfig('event', 'event', name, opts);
    this.session = new Lazy(() => SyncSession.open(this.config));
  }

  /** The event's name. */
  get name(): string {
    return this.config.name;
  }

  /** Resolves to true once the event is set (at once when it is set now). */
  async wait(opts?: WaitOptions): Promise<true> {
    checkTimeout(`event "${this.config.name}" wait timeout`, opts?.timeout);
    const s = await this.open();
    // Subscribed before reading, so a set between the read and the wait is not missed.
    await this.listen(s);
    const [set, gen] = await s.scripts.stateFields(this.config.keys, 'set', 'gen');
    if (set === '1') return true;
    this.checkOpen();
    const entry = { gen: Number(gen ?? 0) };
    return abortableWait<true>(`event "${this.config.name}" wait`, opts, (waiter) => {
      const w = { waiter, ...entry };
      this.waiters.push(w);
      void this.runLoop(s);
      return () => {
        const i = this.waiters.indexOf(w);
        if (i >= 0) this.waiters.splice(i, 1);
      };
    });
  }

  /** Sets the event: every waiter, in every process, wakes. */
  async set(): Promise<void> {
    const s = await this.open();
    this.wakeUpTo(await s.scripts.event(this.config.keys, 'set'));
  }

  /** Clears the event: later waits wait for the next set. */
  async clear(): Promise<void> {
    const s = await this.open();
    await s.scripts.event(this.config.keys, 'clear');
  }

  /** True while the event is set. */
  async isSet(): Promise<boolean> {
    const s = await this.open();
    const [set] = await s.scripts.stateFields(this.config.keys, 'set');
    return set === '1';
  }

  /** Rejects this handle's waits and closes its connections. */
  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    const closed = new PrimitiveClosed('event', this.config.name);
    for (const w of this.waiters.splice(0)) w.waiter.reject(closed);
    this.wake();
    await (await this.session.ifStarted())?.close();
  }

  private checkOpen(): void {
    if (this.closed) throw new PrimitiveClosed('event', this.config.name);
  }

  private async open(): Promise<SyncSession> {
    this.checkOpen();
    const s = await this.session.get();
    this.checkOpen();
    return s;
  }

  private listen(s: SyncSession): Promise<void> {
    this.listening ??= s.signals().then(
      (signals) => {
        signals.on((m) => {
          if (m.startsWith('s ')) this.wakeUpTo(Number(m.slice(2)));
          else if (m === 'reconnected') this.wake();
        });
      },
      (e: unknown) => {
        this.listening = undefined;
        throw e;
      },
    );
    return this.listening;
  }

  /** Wakes every waiter that started before generation `gen` was set. */
  private wakeUpTo(gen: number): void {
    for (const w of [...this.waiters]) {
      if (w.gen < gen) {
        this.waiters.splice(this.waiters.indexOf(w), 1);
        w.waiter.resolve(true);
      }
    }
  }

  /** The slow safety re-check, while anything waits. */
  private async runLoop(s: SyncSession): Promise<void> {
    if (this.loop) return;
    this.loop = true;
    try {
      while (this.waiters.length > 0 && !this.closed) {
        await new Promise<void>((resolve) => {
          const timer = setTimeout(done, RECHECK_MS);
          function done(): void {
            clearTimeout(timer);
            resolve();
          }
          this.wake = done;
        });
        try {
          const [set, gen] = await s.scripts.stateFields(this.config.keys, 'set', 'gen');
          this.wakeUpTo(set === '1' ? Infinity : Number(gen ?? 0));
        } catch {
          // Redis is away: waiters keep waiting through the blip.
        }
      }
    } finally {
      this.loop = false;
    }
  }
}
