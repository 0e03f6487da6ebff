import { ConfigError } from './errors.js';

/**
 * Thrown by a handler when a partner said "too many requests" (an HTTP 429, say): the task comes
 * back after `retryAfterMs` without using an attempt (BullMQ's `RateLimitError`), and a queue with
 * a rate limit (`setLimits({ rate })`) lets no task through for that long, on every worker.
 * Recognized by its name and `retryAfterMs`, so a copy from another package version works too.
 *
 * @example
 * ```ts
 * if (res.status === 429) throw new RateLimited(Number(res.headers.get('retry-after') ?? 1) * 1000);
 * ```
 */
export class RateLimited extends Error {
  /** ms until the task may run again. */
  readonly retryAfterMs: number;

  constructor(retryAfterMs: number) {
    if (typeof retryAfterMs !== 'number' || !Number.isFinite(retryAfterMs) || retryAfterMs < 0) {
      throw new ConfigError(`RateLimited(retryAfterMs): got ${String(retryAfterMs)}; pass a finite number of ms, 0 or more (e.g. new RateLimited(30_000))`);
    }
    super(`rate limited: back in ${Math.round(retryAfterMs)} ms`);
    this.name = 'RateLimited';
    this.retryAfterMs = Math.round(retryAfterMs);
  }
}

/** The delay of a thrown `RateLimited` (any copy of the class), or undefined for any other error. */
export function rateLimitedDelay(error: unknown): number | undefined {
  if (!(error instanceof Error) || error.name !== 'RateLimited') return undefined;
  const ms = (error as { retryAfterMs?: unknown }).retryAfterMs;
  return typeof ms === 'number' && Number.isFinite(ms) && ms >= 0 ? ms : undefined;
}
