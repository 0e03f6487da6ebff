import type { SyncSession } from './sync-session.js';

/**
 * Keeps a handle's lease on its primitive: renewed every third of the lease while the handle holds
 * or waits for anything, so that a dead process loses everything at once after the lease, and a
 * live one nothing. In the spirit of BullMQ's LockManager, but one lease per handle. `onLost` runs
 * when Redis says the lease is gone (the process stalled past it: its holds went to others);
 * `onStale` when no renewal got through for a whole lease (Redis unreachable: they may have).
 */
export class SyncLease {
  private users = 0;
  private timer?: NodeJS.Timeout;
  /** When a renewal (or a script that renews) last went out and came back: ms since the epoch. */
  private confirmedAt = Date.now();
  private staleReported = false;

  constructor(
    private readonly session: SyncSession,
    /** Called with the `mark()` taken when the renewal that found the lease gone was sent. */
    private readonly onLost: (mark: number) => void,
    private readonly onStale: () => void,
    /** What the owner counts so far (its adoptions): only what came before a renewal can have been lost with it. */
    private readonly mark: () => number = () => 0,
    /** Every id the owner holds, waits for or still settles: Redis hands on the session's other holds (see renew-5.lua). */
    private readonly known?: () => string[],
  ) {}

  /** One more hold or wait needs the lease. */
  use(): void {
    if (this.users === 0) this.confirmedAt = Date.now();
    this.users++;
    this.timer ??= setInterval(() => this.renew(), Math.max(30, Math.floor(this.session.config.lease / 3))).unref();
  }

  /** One hold or wait less. */
  unuse(): void {
    this.users = Math.max(0, this.users - 1);
  }

  /** A script that pushes the lease forward was sent at `sentAt` and answered. */
  confirmed(sentAt: number): void {
    if (sentAt > this.confirmedAt) this.confirmedAt = sentAt;
    this.staleReported = false;
  }

  private renew(): void {
    if (this.users === 0) {
      this.stop();
      return;
    }
    const { config } = this.session;
    const sentAt = Date.now();
    const mark = this.mark();
    this.session.scripts.renew(config.keys, config.session, config.lease, this.known?.()).then(
      (ok) => {
        if (ok) this.confirmed(sentAt);
        else if (this.users > 0) this.onLost(mark);
      },
      () => {
        // Redis is away: the next round tries again; past a whole lease, holders are told.
        if (!this.staleReported && Date.now() - this.confirmedAt >= config.lease) {
          this.staleReported = true;
          this.onStale();
        }
      },
    );
  }

  stop(): void {
    clearInterval(this.timer);
    this.timer = undefined;
  }
}
