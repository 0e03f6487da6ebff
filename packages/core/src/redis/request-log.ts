/**
 * Redis's clock as this process sees it, per partition (the masters of a cluster keep their own):
 * the offset of the last reading of Redis's `TIME` from the local clock. Idle timers and request
 * deadlines are set in Redis's time, so a process whose clock runs ahead or behind neither polls
 * nor oversleeps.
 */
export class RedisClock {
  private offset = 0;

  /** Redis's time now, as this process estimates it (ms since the epoch). */
  now(): number {
    return Date.now() + this.offset;
  }

  /** A reading of Redis's time (ms) that arrived just now. */
  observe(redisMs: number): void {
    if (Number.isFinite(redisMs) && redisMs > 0) this.offset = redisMs - Date.now();
  }
}

/** The request-log fields every script call that changes something carries (see `queue-lib.lua`). */
export interface RequestArgs {
  /** This handle's id: its log is `aq:req:<handle>`. */
  handle: string;
  /** This call's id, unique in the handle's log. */
  rid: string;
  /** Calls whose outcome the handle has: their records are dropped. */
  forget: string[];
  /** Redis's time after which a copy of this call does nothing: the caller has given up by then. */
  deadline: number;
  /** How long the log outlives the handle's last call. */
  logTtlMs: number;
}

/** Most forgotten ids sent with one call. */
const FORGET_BATCH = 200;

/**
 * The request log of a handle on one partition, from the client's side. ioredis re-sends a command
 * whose reply was lost to a dropped connection, so a script may run twice; each call carries an
 * id, and a script that finds its id in the log answers from the record instead of acting again.
 * Records are dropped once the handle has the answer; a call that failed is dropped only after its
 * deadline, since a copy of it may still be on its way until then (and does nothing after it).
 */
export class RequestLog {
  private seq = 0;
  private readonly answered: string[] = [];
  private readonly abandoned: { rid: string; after: number }[] = [];

  constructor(
    private readonly handle: string,
    readonly clock: RedisClock,
    private readonly commandTimeout: number,
  ) {}

  /** The log fields of a new call; `kind` is a letter naming the script, for operators reading the log. */
  begin(kind: string): RequestArgs {
    const now = this.clock.now();
    while (this.abandoned.length > 0 && this.abandoned[0]!.after < now && this.answered.length < FORGET_BATCH) {
      this.answered.push(this.abandoned.shift()!.rid);
    }
    return {
      handle: this.handle,
      rid: `${kind}${(this.seq++).toString(36)}`,
      forget: this.answered.splice(0, FORGET_BATCH),
      // ioredis gives up on a command after commandTimeout; a second of slack covers clock error.
      deadline: now + this.commandTimeout + 1000,
      logTtlMs: 3 * this.commandTimeout + 10_000,
    };
  }

  /** The call's answer arrived: its record can go. */
  answeredFor(req: RequestArgs): void {
    this.answered.push(req.rid);
  }

  /** The call failed (no answer in time): its record goes once no copy of it can act any more. */
  failedFor(req: RequestArgs): void {
    this.abandoned.push({ rid: req.rid, after: req.deadline + 1000 });
  }
}
