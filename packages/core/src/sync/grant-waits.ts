import type { GrantResult } from './sync-scripts.js';
import type { SyncLease } from './sync-lease.js';
import type { SyncSession } from './sync-session.js';

/** How ids of one kind of wait are re-checked and withdrawn in Redis. */
export interface GrantFlavor {
  /** Where each id stands: its fencing token when it holds, else a number. `nextMs`: when to look again at the latest. */
  check(ids: string[]): Promise<{ nextMs: number; results: GrantResult[] }>;
  /** Withdraws aborted ids: per id its token when it was granted first (Redis's order decides), else a number. */
  cancel(ids: string[]): Promise<GrantResult[]>;
  /** Forgets ids nobody waits for any more, giving back whatever they were granted. */
  drop(ids: string[]): Promise<void>;
}

/** One wait of this handle for a permit (or a Lock held again after a Condition's wait), as Redis knows it by `id`. */
export interface PendingGrant {
  readonly id: string;
  readonly flavor: GrantFlavor;
  /** It holds: the grant and the wait's settling happen in this one call. */
  onGrant(token: string): void;
  /**
   * Its withdrawal answered `result` (a number): `'done'` ends the wait (the callback rejected it),
   * `'keep'` keeps waiting for a grant (a Condition's aborted wait re-acquires its lock first).
   */
  onWithdrawn(result: number): 'done' | 'keep';
  /** Its first script failed: the wait ends with `error` (the id is withdrawn in the background). */
  onError(error: unknown): void;
  /** A first script or a re-check about this id is on its way to Redis (no second re-check is sent meanwhile). */
  busy?: boolean;
  /** Its withdrawal is on its way to Redis: a grant seen meanwhile waits for the withdrawal's answer. */
  withdrawing?: boolean;
  /** A grant that came while withdrawing (the withdrawal's answer says how the wait ends). */
  granted?: string;
  /** The wait was aborted: withdraw it (again, if Redis did not answer the first time). */
  aborting?: boolean;
}

/** The slowest safety re-check of a waiter, ms: waiting is driven by messages, this only catches a lost one. */
const RECHECK_MS = 2000;

/**
 * The waits of one handle for grants on its primitive. A release in Redis hands a permit to the
 * queue's head and records it in the same step, then says so on the channel (`g <id> <token>`);
 * here, a grant settles its wait in one synchronous step. An abort is a request to Redis to
 * withdraw the id, sent at once (a handle's scripts travel on one connection, so Redis runs them
 * in the order they were sent), and Redis's order decides: an id granted before the withdrawal
 * arrived keeps its grant (the wait resolves), else it is withdrawn (the wait rejects). So an
 * abort never loses a permit and never doubles one. Waiters re-check on a slow timer, sooner when
 * a lease in the primitive runs out (a dead holder's permits come back then), at once after a
 * reconnect.
 */
export class GrantWaits {
  private readonly pending = new Map<string, PendingGrant>();
  /** Ids that may be queued or granted in Redis although nobody waits for them (a first script whose reply was lost). */
  private readonly orphans = new Map<string, GrantFlavor>();
  private loop = false;
  private wake: () => void = () => {};
  private nextMs = RECHECK_MS;
  private closed = false;
  private listening?: Promise<void>;

  constructor(
    private readonly session: SyncSession,
    private readonly lease: SyncLease,
  ) {}

  /** How many waits are pending. */
  get size(): number {
    return this.pending.size;
  }

  /** The ids Redis may have queued or granted for this handle: pending waits and orphans. */
  ids(): string[] {
    return [...this.pending.keys(), ...this.orphans.keys()];
  }

  /**
   * Starts waiting for `p`; `first` sends its first script, which may grant it at once. Only a wait
   * that has to queue subscribes to the channel, and then looks once more, since a grant may have
   * been published before the subscription.
   */
  add(p: PendingGrant, first: () => Promise<GrantResult>): void {
    this.pending.set(p.id, p);
    this.lease.use();
    this.send(p, first).then(
      () => {
        if (this.pending.has(p.id)) void this.listen().then(() => this.runLoop());
      },
      (e: unknown) => {
        if (this.pending.delete(p.id)) this.lease.unuse();
        this.orphans.set(p.id, p.flavor);
        p.onError(e);
        void this.runLoop();
      },
    );
  }

  /** The wait's signal or timeout fired: withdraw it as soon as no script about it is in flight. */
  abort(p: PendingGrant): void {
    if (!this.pending.has(p.id) || p.aborting) return;
    p.aborting = true;
    void this.withdraw(p);
  }

  /** Stops waiting for `p` (its owner closes): Redis forgets the id in the background, giving back what it was granted. */
  forget(p: PendingGrant): void {
    if (this.pending.delete(p.id)) this.lease.unuse();
    this.orphans.set(p.id, p.flavor);
    void this.runLoop();
  }

  /** Ends every wait (the handle closes), calling `reject` for each; the caller makes Redis forget them. */
  closeAll(reject: (p: PendingGrant) => void): string[] {
    this.closed = true;
    const ids = [...this.pending.keys(), ...this.orphans.keys()];
    for (const p of [...this.pending.values()]) {
      this.pending.delete(p.id);
      reject(p);
    }
    this.orphans.clear();
    this.wake();
    return ids;
  }

  /** A lease of the primitive runs out in `ms` (a dead holder's permits come back then): look again just after. */
  lookAgainIn(ms: number): void {
    if (ms >= 0 && ms + 5 < this.nextMs) this.nextMs = ms + 5;
  }

  /** The lease was lost or Redis came back: look again now. */
  recheckNow(): void {
    this.nextMs = 0;
    this.wake();
  }

  private async listen(): Promise<void> {
    if (!this.listening) {
      const started = this.session.signals().then((signals) => {
        signals.on((m) => this.onMessage(m));
        this.recheckNow();
      });
      this.listening = started;
      // Redis is away: the re-check loop keeps waiters going, and the next wait subscribes again.
      started.catch(() => (this.listening = undefined));
    }
    return this.listening.catch(() => {});
  }

  private onMessage(m: string): void {
    if (m === 'reconnected') return this.recheckNow();
    if (!m.startsWith('g ')) return;
    const [, id, token] = m.split(' ');
    const p = this.pending.get(id!);
    if (!p || token === undefined) return;
    if (p.withdrawing) p.granted = token;
    else this.grant(p, token);
  }

  private grant(p: PendingGrant, token: string): void {
    if (!this.pending.delete(p.id)) return;
    this.lease.unuse();
    p.onGrant(token);
  }

  /** Runs a script about `p` and applies its answer; a failure is the caller's. */
  private async send(p: PendingGrant, script: () => Promise<GrantResult>): Promise<void> {
    p.busy = true;
    let result: GrantResult;
    try {
      result = await script();
    } finally {
      p.busy = false;
    }
    this.apply(p, result);
  }

  /** The answer of a first script or a re-check: a token means the id holds. */
  private apply(p: PendingGrant, result: GrantResult): void {
    if (!this.pending.has(p.id) || typeof result !== 'string') return;
    if (p.withdrawing) p.granted = result;
    else this.grant(p, result);
  }

  private async withdraw(p: PendingGrant): Promise<void> {
    if (p.withdrawing) return;
    p.withdrawing = true;
    let result: GrantResult;
    try {
      [result = 0] = await p.flavor.cancel([p.id]);
    } catch {
      // Redis is away: the re-check loop withdraws it once Redis answers again.
      p.withdrawing = false;
      void this.runLoop();
      return;
    }
    p.withdrawing = false;
    p.aborting = false;
    if (!this.pending.has(p.id)) return;
    if (typeof result === 'string') return this.grant(p, result);
    if (p.granted !== undefined) return this.grant(p, p.granted);
    if (p.onWithdrawn(Number(result)) === 'done') {
      this.pending.delete(p.id);
      this.lease.unuse();
    }
  }

  /** The slow safety re-check, while anything waits. */
  private async runLoop(): Promise<void> {
    if (this.loop) return;
    this.loop = true;
    try {
      while ((this.pending.size > 0 || this.orphans.size > 0) && !this.closed) {
        const delay = Math.min(this.nextMs, RECHECK_MS);
        this.nextMs = RECHECK_MS;
        if (delay > 0) {
          await new Promise<void>((resolve) => {
            const timer = setTimeout(done, delay);
            function done(): void {
              clearTimeout(timer);
              resolve();
            }
            this.wake = done;
          });
        }
        this.wake = () => {};
        if (!this.closed) await this.recheck();
      }
    } finally {
      this.loop = false;
    }
  }

  private async recheck(): Promise<void> {
    const all = [...this.pending.values()];
    for (const p of all.filter((x) => x.aborting && !x.withdrawing)) void this.withdraw(p);
    const byFlavor = new Map<GrantFlavor, PendingGrant[]>();
    for (const p of all.filter((x) => !x.busy && !x.withdrawing && !x.aborting)) byFlavor.set(p.flavor, [...(byFlavor.get(p.flavor) ?? []), p]);
    const orphans = [...this.orphans];
    await Promise.all([
      ...[...byFlavor].map(async ([flavor, ps]) => {
        for (const p of ps) p.busy = true;
        const sentAt = Date.now();
        try {
          const { nextMs, results } = await flavor.check(ps.map((p) => p.id));
          this.lease.confirmed(sentAt);
          this.lookAgainIn(nextMs);
          ps.forEach((p, i) => {
            p.busy = false;
            this.apply(p, results[i] ?? 0);
          });
        } catch {
          // Redis is away: waiters keep waiting through the blip, and look again on the next round.
          for (const p of ps) p.busy = false;
        }
      }),
      ...orphans.map(async ([id, flavor]) => {
        try {
          await flavor.drop([id]);
          this.orphans.delete(id);
        } catch {
          // tried again on the next round
        }
      }),
    ]);
  }
}
