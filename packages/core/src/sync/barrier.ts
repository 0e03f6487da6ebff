import { abortableWait, type Waiter } from '../abortable-wait.js';
import { BrokenBarrier, PrimitiveClosed } from './sync-errors.js';
import { ConfigError, LeaseLost, WaitAborted } from '../errors.js';
import { Lazy } from '../lazy.js';
import { checkInt, checkTimeout } from '../options.js';
import type { WaitOptions } from '../types.js';
import { resolveSyncConfig, type BarrierOptions, type SyncConfig } from './sync-options.js';
import { SyncLease } from './sync-lease.js';
import { SyncSession } from './sync-session.js';

/** One party of this handle at the barrier. */
interface Party {
  readonly id: string;
  readonly waiter: Waiter<number>;
  /** Where it stands: arriving (script in flight or turned back while the barrier drains), or inside. */
  inside: boolean;
  busy: boolean;
  aborting: boolean;
}

const RECHECK_MS = 2000;

/**
 * asyncio's `Barrier` across processes: `wait()` resolves to the party's index (0 … parties − 1)
 * once `parties` parties wait, in any processes, and the barrier is reusable round after round
 * (parties of the next round wait until every party of the last one has left). `abort()` breaks
 * it and `reset()` mends it, both waking the waiters with `BrokenBarrier`. A party's place is
 * leased: a party whose process died leaves after `lease`, as if its wait was cancelled.
 *
 * @example
 * ```ts
 * const phase2 = new Barrier('phase-2', { connection, parties: 5 });
 * const index = await phase2.wait();   // every worker starts phase 2 together
 * ```
 */
export class Barrier {
  /** Parties each round waits for. */
  readonly parties: number;
  private readonly config: SyncConfig;
  private readonly mine = new Set<Party>();
  /** Parties whose arrival's reply was lost: they may be inside, so they leave on the next re-check. */
  private readonly orphans = new Set<string>();
  private seq = 0;
  /** Phase messages seen so far: a script's answer older than the last one is looked at again. */
  private phaseEvents = 0;
  private closed = false;
  private loop = false;
  private wake: () => void = () => {};
  private listening?: Promise<void>;
  private readonly parts = new Lazy(async () => {
    const session = await SyncSession.open(this.config);
    const lease = new SyncLease(session, () => this.wake(), () => {});
    return { session, lease };
  });

  constructor(name: string, opts: BarrierOptions) {
    this.config = resolveSyncConfig('barrier', 'barrier', name, opts);
    if (opts?.parties === undefined) throw new ConfigError(`barrier "${name}" needs parties: new Barrier(name, { parties: 5 })`);
    this.parties = checkInt('barrier parties', opts.parties, 1, 1, 1_000_000);
  }

  /** The barrier's name. */
  get name(): string {
    return this.config.name;
  }

  /** Waits until `parties` parties wait, and resolves to this party's index; rejects with `BrokenBarrier` when broken or reset meanwhile. */
  async wait(opts?: WaitOptions): Promise<number> {
    checkTimeout(`barrier "${this.config.name}" wait timeout`, opts?.timeout);
    const { session, lease } = await this.open();
    await this.listen(session);
    this.checkOpen();
    return abortableWait<number>(`barrier "${this.config.name}" wait`, opts, (waiter) => {
      const party: Party = { id: `${this.config.session}.${(this.seq++).toString(36)}`, waiter, inside: false, busy: false, aborting: false };
      this.mine.add(party);
      lease.use();
      void this.arrive(session, party);
      return () => {
        queueMicrotask(() => {
          party.aborting = true;
          if (!party.busy) void (party.inside ? this.check(session, [party], true) : this.settle(party, new WaitAborted(`barrier "${this.config.name}" wait`, 'signal')));
        });
        return false;
      };
    });
  }

  /** Breaks the barrier: every party waiting or arriving gets `BrokenBarrier`, until `reset()`. */
  async abort(): Promise<void> {
    const { session } = await this.open();
    await session.scripts.barrierControl(this.config.keys, 'abort', this.parties, this.config.session);
  }

  /** Mends the barrier: parties inside get `BrokenBarrier`, and it fills again once they have left. */
  async reset(): Promise<void> {
    const { session } = await this.open();
    await session.scripts.barrierControl(this.config.keys, 'reset', this.parties, this.config.session);
  }

  /** True while the barrier is broken (aborted and not reset). */
  async broken(): Promise<boolean> {
    const { session } = await this.open();
    return (await session.scripts.stateFields(this.config.keys, 'phase'))[0] === 'broken';
  }

  /** How many parties wait in the barrier as it fills (0 while it drains, resets or is broken). */
  async nWaiting(): Promise<number> {
    const { session } = await this.open();
    const [phase] = await session.scripts.stateFields(this.config.keys, 'phase');
    return phase === 'filling' || phase === null ? session.scripts.memberCount(this.config.keys) : 0;
  }

  /** Rejects this handle's waits (its parties leave the barrier) and closes its connections. */
  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    const closed = new PrimitiveClosed('barrier', this.config.name);
    for (const p of [...this.mine]) this.settle(p, closed);
    this.wake();
    const parts = await this.parts.ifStarted();
    if (!parts) return;
    parts.lease.stop();
    await parts.session.scripts.barrierControl(this.config.keys, 'leave', this.parties, this.config.session).catch(() => {});
    await parts.session.close();
  }

  private checkOpen(): void {
    if (this.closed) throw new PrimitiveClosed('barrier', this.config.name);
  }

  private async open(): Promise<{ session: SyncSession; lease: SyncLease }> {
    this.checkOpen();
    const parts = await this.parts.get();
    this.checkOpen();
    return parts;
  }

  private listen(session: SyncSession): Promise<void> {
    this.listening ??= session.signals().then(
      (signals) => void signals.on((m) => (m.startsWith('b ') || m === 'reconnected' ? this.onPhase(session, m.slice(2)) : undefined)),
      (e: unknown) => {
        this.listening = undefined;
        throw e;
      },
    );
    return this.listening;
  }

  /** A new phase: parties turned back arrive again once it fills (or learn it broke); parties inside look where they stand. */
  private onPhase(session: SyncSession, phase: string): void {
    this.phaseEvents++;
    const idle = [...this.mine].filter((p) => !p.busy);
    for (const p of idle.filter((x) => !x.inside)) if (phase !== 'draining' && phase !== 'resetting') void this.arrive(session, p);
    const inside = idle.filter((x) => x.inside);
    if (inside.length > 0 && phase !== 'filling') void this.check(session, inside, false);
  }

  private settle(p: Party, outcome: number | Error): void {
    if (!this.mine.delete(p)) return;
    void this.parts.ifStarted().then((parts) => parts?.lease.unuse());
    if (typeof outcome === 'number') p.waiter.resolve(outcome);
    else p.waiter.reject(outcome);
  }

  private async arrive(session: SyncSession, p: Party): Promise<void> {
    const { keys, session: id, lease: leaseMs, info } = this.config;
    p.busy = true;
    const seen = this.phaseEvents;
    let r: Awaited<ReturnType<typeof session.scripts.barrierArrive>>;
    try {
      r = await session.scripts.barrierArrive(keys, { parties: this.parties, session: id, leaseMs, info, id: p.id });
    } catch (e) {
      // Not known whether it arrived: if it did, it leaves on the next re-check.
      p.busy = false;
      this.orphans.add(p.id);
      void this.runLoop(session);
      return this.settle(p, e as Error);
    }
    p.busy = false;
    if (r.outcome === 'mismatch') return this.settle(p, new ConfigError(`barrier "${this.config.name}" exists in Redis with ${r.parties} parties: open it with parties: ${r.parties}, or use another name`));
    if (r.outcome === 'broken') return this.settle(p, new BrokenBarrier(this.config.name, 'broken'));
    if (r.outcome === 'passed') return this.settle(p, r.index);
    if (r.outcome === 'waiting') p.inside = true;
    if (p.aborting) return void (p.inside ? this.check(session, [p], true) : this.settle(p, p.waiter.pendingAbort ?? new WaitAborted(`barrier "${this.config.name}" wait`, 'signal')));
    // A phase message that came while the script was on its way may be about this party's round.
    if (this.phaseEvents !== seen) void (p.inside ? this.check(session, [p], false) : this.arrive(session, p));
    void this.runLoop(session);
  }

  /** Where parties inside stand; with `leave`, an aborted party leaves unless its round is over (Redis's order decides). */
  private async check(session: SyncSession, ps: Party[], leave: boolean): Promise<void> {
    const { keys, session: id, lease: leaseMs, info } = this.config;
    for (const p of ps) p.busy = true;
    const seen = this.phaseEvents;
    let results: string[];
    try {
      results = await session.scripts.barrierCheck(keys, { session: id, leaseMs, info, leave }, ps.map((p) => p.id));
    } catch {
      for (const p of ps) p.busy = false;
      return; // Redis is away: the re-check loop looks again
    }
    ps.forEach((p, i) => {
      p.busy = false;
      const r = results[i] ?? 'w';
      if (r.startsWith('p')) this.settle(p, Number(r.slice(1)));
      else if (r === 'r' || r === 'b') this.settle(p, new BrokenBarrier(this.config.name, r === 'r' ? 'reset' : 'broken'));
      else if (r === 'a') this.settle(p, p.waiter.pendingAbort ?? new WaitAborted(`barrier "${this.config.name}" wait`, 'signal'));
      else if (r === 'g') this.settle(p, new LeaseLost({ kind: 'barrier', name: this.config.name }));
      else if (p.aborting) void this.check(session, [p], true);
      else if (this.phaseEvents !== seen) void this.check(session, [p], false);
    });
  }

  private async leaveOrphans(session: SyncSession): Promise<void> {
    if (this.orphans.size === 0) return;
    const ids = [...this.orphans];
    const { keys, session: id, lease: leaseMs, info } = this.config;
    try {
      await session.scripts.barrierCheck(keys, { session: id, leaseMs, info, leave: true }, ids);
      for (const x of ids) this.orphans.delete(x);
    } catch {
      // tried again on the next round
    }
  }

  /** The slow safety re-check, while any party of this handle waits. */
  private async runLoop(session: SyncSession): Promise<void> {
    if (this.loop) return;
    this.loop = true;
    try {
      while ((this.mine.size > 0 || this.orphans.size > 0) && !this.closed) {
        await new Promise<void>((resolve) => {
          const timer = setTimeout(done, RECHECK_MS);
          function done(): void {
            clearTimeout(timer);
            resolve();
          }
          this.wake = done;
        });
        if (this.closed) break;
        const idle = [...this.mine].filter((p) => !p.busy);
        for (const p of idle.filter((x) => !x.inside)) void this.arrive(session, p);
        const inside = idle.filter((x) => x.inside);
        if (inside.length > 0) await this.check(session, inside, false);
        await this.leaveOrphans(session);
      }
    } finally {
      this.loop = false;
    }
  }
}
