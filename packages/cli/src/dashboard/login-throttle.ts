/** Options of a {@link LoginThrottle}. */
export interface LoginThrottleOptions {
  /** Failed logins a client may make before it has to wait. @defaultValue 5 */
  free?: number;
  /** The first wait, ms; each further failure doubles it. @defaultValue 1000 */
  firstWaitMs?: number;
  /** The longest wait, ms. @defaultValue 60000 */
  maxWaitMs?: number;
  /** A client with no failure for this long starts afresh, ms. @defaultValue 900000 (15 min) */
  forgetMs?: number;
  /** The most clients remembered (the oldest are forgotten first). @defaultValue 10000 */
  maxClients?: number;
}

interface Failures {
  count: number;
  last: number;
  until: number;
}

/**
 * Failed logins per client (its address): after `free` failures, each failure makes the client
 * wait before its next try, twice as long as the last time (1 s, 2 s, 4 s ... up to a minute), so
 * guessing a password takes days instead of seconds, while a user who mistyped a few times is not
 * held up. A success forgets the client's failures. Tries made while a client must wait are
 * answered without checking the password, and do not count.
 */
export class LoginThrottle {
  private readonly clients = new Map<string, Failures>();
  private readonly free: number;
  private readonly firstWaitMs: number;
  private readonly maxWaitMs: number;
  private readonly forgetMs: number;
  private readonly maxClients: number;

  constructor(opts: LoginThrottleOptions = {}) {
    this.free = opts.free ?? 5;
    this.firstWaitMs = opts.firstWaitMs ?? 1000;
    this.maxWaitMs = opts.maxWaitMs ?? 60_000;
    this.forgetMs = opts.forgetMs ?? 900_000;
    this.maxClients = opts.maxClients ?? 10_000;
  }

  /** How long `client` must still wait before it may try again, ms (0: it may try now). */
  waitMs(client: string, now = Date.now()): number {
    const f = this.clients.get(client);
    return f ? Math.max(0, f.until - now) : 0;
  }

  /** Records a failed login of `client`; returns how long it must now wait, ms. */
  failed(client: string, now = Date.now()): number {
    let f = this.clients.get(client);
    if (f && now - f.last > this.forgetMs) f = undefined;
    f ??= { count: 0, last: now, until: 0 };
    f.count++;
    f.last = now;
    const over = f.count - this.free;
    f.until = over > 0 ? now + Math.min(this.maxWaitMs, this.firstWaitMs * 2 ** Math.min(over - 1, 30)) : 0;
    this.clients.delete(client); // re-inserted last: the map stays in order of last failure
    this.clients.set(client, f);
    this.prune(now);
    return f.until - now > 0 ? f.until - now : 0;
  }

  /** Records a successful login: the client's failures are forgotten. */
  succeeded(client: string): void {
    this.clients.delete(client);
  }

  /** Forgets clients that have not failed for `forgetMs`, and the oldest beyond `maxClients`. */
  private prune(now: number): void {
    for (const [client, f] of this.clients) {
      if (now - f.last <= this.forgetMs && this.clients.size <= this.maxClients) break;
      this.clients.delete(client);
    }
  }
}
