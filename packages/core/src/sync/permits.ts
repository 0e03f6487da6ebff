import { abortableWait } from '../abortable-wait.js';
import { ConfigError, LeaseLost, WaitAborted } from '../errors.js';
import { LockNotHeld, PrimitiveClosed, SemaphoreOverReleased } from './sync-errors.js';
import { Lazy } from '../lazy.js';
import { checkTimeout } from '../options.js';
import { isTransient } from '../redis/connection.js';
import type { WaitOptions } from '../types.js';
import { GrantWaits, type GrantFlavor, type PendingGrant } from './grant-waits.js';
import type { HoldContext, SyncConfig } from './sync-options.js';
import { SyncLease } from './sync-lease.js';
import { SyncSession } from './sync-session.js';

/** How releases count: a Lock refuses a release by a non-holder; a BoundedSemaphore one past its value. */
export type PermitMode = 'lock' | 'semaphore' | 'bounded';

/** One permit (or the Lock) held by this handle. */
export interface Hold {
  readonly id: string;
  readonly token: number;
  /** Aborted when the hold is lost or the handle closes: `run`'s `signal`. */
  readonly controller: AbortController;
  /** Redis said the lease it was held under is gone: releasing it does nothing. */
  lost: boolean;
  /** When it was adopted, in this handle's count of adoptions (see {@link Permits.lostBefore}). */
  readonly seq: number;
}

/** The parts a handle builds once connected. */
export interface PermitParts {
  readonly session: SyncSession;
  readonly lease: SyncLease;
  readonly waits: GrantWaits;
  /** Re-checks and withdraws waits for a permit. */
  readonly flavor: GrantFlavor;
}

/**
 * The permits of a Lock or Semaphore as one handle holds and waits for them: FIFO-fair across
 * every handle (Redis queues each wait), with fencing tokens, leases renewed while the process
 * lives, and waits that abort without losing or doubling a permit (see grant-waits.ts).
 */
export class Permits {
  /** Holds of this handle, oldest first. */
  readonly holds: Hold[] = [];
  /** Ids of holds taken out of `holds` for a release not answered yet: still this handle's in Redis. */
  private readonly releasing = new Set<string>();
  private seq = 0;
  /** Adoptions so far: a script's answer that the lease was lost concerns only holds adopted before it was sent. */
  private adoptions = 0;
  private closed = false;
  /** The parts, once built: holds exist only then. */
  private live?: PermitParts;
  readonly parts = new Lazy<PermitParts>(async () => {
    const session = await SyncSession.open(this.config);
    const lease = new SyncLease(session, (mark) => this.leaseLost(mark), () => this.leaseStale(), () => this.adoptions, () => this.knownIds());
    this.live = { session, lease, waits: new GrantWaits(session, lease), flavor: this.flavorOf(session) };
    return this.live;
  });

  constructor(
    readonly config: SyncConfig,
    readonly mode: PermitMode,
    readonly value: number,
  ) {}

  /** A fresh id for a hold or wait of this handle: `<session>.<n>`. */
  nextId(): string {
    return `${this.config.session}.${(this.seq++).toString(36)}`;
  }

  /** The error for a closed handle, thrown before anything is sent. */
  checkOpen(): void {
    if (this.closed) throw new PrimitiveClosed(this.config.label, this.config.name);
  }

  async acquire(opts?: WaitOptions): Promise<Hold> {
    this.checkOpen();
    const what = `${this.config.label} "${this.config.name}" acquire`;
    checkTimeout(`${what} timeout`, opts?.timeout);
    const { session, lease, waits, flavor } = await this.parts.get();
    this.checkOpen();
    const { keys, lease: leaseMs, info } = this.config;
    return abortableWait<Hold>(what, opts, (waiter) => {
      const id = this.nextId();
      const p: PendingGrant = {
        id,
        flavor,
        onGrant: (token) => waiter.resolve(this.adopt(id, token)),
        onWithdrawn: () => {
          waiter.reject(waiter.pendingAbort ?? new WaitAborted(what, 'signal'));
          return 'done';
        },
        onError: (e) => waiter.reject(e),
      };
      waits.add(p, async () => {
        const sentAt = Date.now();
        const mark = this.adoptions;
        const r = await session.scripts.acquire(keys, { kind: this.mode, value: this.value, session: this.config.session, leaseMs, info, fresh: true, holding: this.holding() }, [id]);
        if ('mismatch' in r) throw this.mismatch(r.mismatch);
        if (r.lost) this.lostBefore(mark);
        lease.confirmed(sentAt);
        waits.lookAgainIn(r.nextMs);
        return r.results[0] ?? 0;
      });
      // The abort settles once Redis has said whether the grant came first (unregister runs before pendingAbort is set).
      return () => {
        queueMicrotask(() => waits.abort(p));
        return false;
      };
    });
  }

  /** Records a grant as a hold of this handle. */
  adopt(id: string, token: string): Hold {
    const hold: Hold = { id, token: Number(token), controller: new AbortController(), lost: false, seq: this.adoptions++ };
    this.holds.push(hold);
    this.live?.lease.use();
    return hold;
  }

  /** Takes `hold` (default: the oldest) out of this handle's holds, for a release or a Condition's wait. */
  take(hold: Hold | undefined = this.holds[0]): Hold | undefined {
    const i = hold ? this.holds.indexOf(hold) : -1;
    if (i < 0) return undefined;
    this.holds.splice(i, 1);
    this.live?.lease.unuse();
    return hold;
  }

  /**
   * Releases `hold`, or (none given) the oldest hold of this handle; a Semaphore handle holding
   * none adds a permit, as asyncio does.
   */
  async release(hold?: Hold): Promise<void> {
    this.checkOpen();
    const { label, name } = this.config;
    const taken = this.take(hold ?? this.holds[0]);
    if (!taken && (this.mode === 'lock' || hold)) {
      throw new LockNotHeld(`${label} "${name}" is not held by this handle: call release() only after acquire() succeeded, once per acquire`);
    }
    if (taken?.lost) throw new LeaseLost({ kind: label, name });
    let r: number;
    if (taken) this.releasing.add(taken.id);
    try {
      const { session } = await this.parts.get();
      r = await session.scripts.release(this.config.keys, taken?.id ?? '', taken?.id ?? this.nextId(), this.mode);
    } catch (e) {
      // Not released (Redis did not answer): the hold stays this handle's, to release again.
      if (taken && isTransient(e)) {
        this.holds.unshift(taken);
        this.live?.lease.use();
      }
      throw e;
    } finally {
      if (taken) this.releasing.delete(taken.id);
    }
    if (r === 0) throw new LeaseLost({ kind: label, name });
    if (r === -1) throw new SemaphoreOverReleased(name, this.value);
  }

  /** `fn` while holding a permit, released after it, also when it throws. */
  async run<R>(fn: (ctx: HoldContext) => R | Promise<R>, opts?: WaitOptions): Promise<R> {
    const hold = await this.acquire(opts);
    let result: R;
    try {
      result = await fn({ token: hold.token, signal: hold.controller.signal });
    } catch (e) {
      await this.release(hold).catch(() => {});
      throw e;
    }
    await this.release(hold);
    return result;
  }

  /** True when an acquire now would wait: no permit is free, or someone waits already. */
  async locked(): Promise<boolean> {
    this.checkOpen();
    const { session } = await this.parts.get();
    const p = await session.scripts.peek(this.config.keys);
    const value = p.value < 0 ? this.value : p.value;
    return this.mode === 'lock' ? p.held > 0 : value + p.extra - p.held <= 0 || p.waiting > 0;
  }

  /** Closes the handle: its waits reject, its holds and waits in Redis go to others at once. */
  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    const parts = await this.parts.ifStarted();
    const closed = new PrimitiveClosed(this.config.label, this.config.name);
    for (const h of this.holds.splice(0)) h.controller.abort(closed);
    if (!parts) return;
    parts.waits.closeAll((p) => p.onError(closed));
    parts.lease.stop();
    // Best effort: when Redis is away, the lease runs out and others get them then.
    await parts.session.scripts.leave(this.config.keys, this.config.session).catch(() => {});
    await parts.session.close();
  }

  /**
   * Every id Redis may record for this handle: its holds, holds on their way back, waits and
   * orphans. A renewal hands on the session's other holds in Redis (see renew-5.lua); a hold taken
   * for a Condition's wait is sent in the same step, so Redis sees it go before any renewal.
   */
  knownIds(): string[] {
    return [...this.holds.map((h) => h.id), ...this.releasing, ...(this.live?.waits.ids() ?? [])];
  }

  /** True while this handle holds a permit Redis has not said it lost. */
  holding(): boolean {
    return this.holds.some((h) => !h.lost);
  }

  /** A script sent after `mark` adoptions found this handle's lease gone: those holds went to others. */
  lostBefore(mark: number): void {
    if (this.holds.some((h) => h.seq < mark && !h.lost)) this.leaseLost(mark);
  }

  /** The adoptions so far, for {@link lostBefore}. */
  get adopted(): number {
    return this.adoptions;
  }

  private flavorOf(session: SyncSession): GrantFlavor {
    const { keys, lease: leaseMs, info } = this.config;
    return {
      check: async (ids) => {
        const mark = this.adoptions;
        const r = await session.scripts.acquire(keys, { kind: this.mode, value: this.value, session: this.config.session, leaseMs, info, fresh: false, holding: this.holding() }, ids);
        if ('mismatch' in r) throw this.mismatch(r.mismatch);
        if (r.lost) this.lostBefore(mark);
        return r;
      },
      cancel: (ids) => session.scripts.cancel(keys, ids),
      drop: async (ids) => {
        const r = await session.scripts.cancel(keys, ids);
        for (const [i, token] of r.entries()) if (typeof token === 'string') await session.scripts.release(keys, ids[i]!, ids[i]!, this.mode);
      },
    };
  }

  private mismatch(have: { kind: string; value: number }): ConfigError {
    const { label, name } = this.config;
    if (have.kind !== this.mode) {
      const other = have.kind === 'bounded' ? 'a BoundedSemaphore' : have.kind === 'lock' ? 'a Lock' : 'a Semaphore';
      return new ConfigError(`${label} "${name}" exists in Redis as ${other}: open it with that class, or use another name`);
    }
    return new ConfigError(`${label} "${name}" exists in Redis with value ${have.value}: open it with value: ${have.value}, or use another name`);
  }

  private leaseLost(before = Infinity): void {
    const lost = new LeaseLost({ kind: this.config.label, name: this.config.name });
    for (const h of this.holds.filter((x) => x.seq < before)) {
      h.lost = true;
      h.controller.abort(lost);
    }
    this.live?.waits.recheckNow();
  }

  private leaseStale(): void {
    // Redis has not confirmed the lease for a whole lease: others may hold it now. Holders stop;
    // a release still asks Redis, which knows.
    const lost = new LeaseLost({ kind: this.config.label, name: this.config.name });
    for (const h of this.holds) h.controller.abort(lost);
  }
}
