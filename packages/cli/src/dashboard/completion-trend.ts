import type { QueueTotals } from '@asyncq/core';

/** The longest drain time reported, a day: with work left and nothing finishing, the estimate is this cap, never infinite. */
export const DRAIN_CAP_S = 86_400;

/**
 * Seconds to finish `unfinished` tasks at `ratePerSec` tasks a second, as the README defines it:
 * `min(86400, unfinished / rate)`, 0 when nothing is unfinished, the cap when nothing finishes.
 */
export function drainSeconds(unfinished: number, ratePerSec: number): number {
  if (!(unfinished > 0)) return 0;
  if (!(ratePerSec > 0)) return DRAIN_CAP_S;
  return Math.min(DRAIN_CAP_S, unfinished / ratePerSec);
}

/** One interval of a queue's throughput, from the Redis totals. */
export interface ThroughputPoint {
  /** End of the interval, ms since the epoch. */
  at: number;
  /** Tasks completed per second over the interval. */
  done: number;
  /** Tasks failed for good per second over the interval. */
  failed: number;
}

/** Options of a {@link CompletionTrend}. */
export interface CompletionTrendOptions {
  /** Time constant of the exponential smoothing of the finish rate, in ms. @defaultValue 30000 */
  smoothingMs?: number;
  /** How much history the throughput series keeps, in ms. @defaultValue 300000 (5 minutes) */
  windowMs?: number;
}

/**
 * Turns successive reads of a queue's monotonic totals into a throughput series (done/s and
 * failed/s per interval, over a window) and an exponentially smoothed finish rate for the drain
 * time. The totals are counters kept in Redis, so the rate counts every consumer, whoever it is.
 */
export class CompletionTrend {
  private last?: { at: number; completed: number; failed: number };
  // Exponentially weighted sum and its total weight: their ratio is an average that starts at the
  // first reading instead of creeping up from 0 (which would report a huge drain time at start).
  private sum = 0;
  private weight = 0;
  private readonly points: ThroughputPoint[] = [];
  private readonly smoothingMs: number;
  private readonly windowMs: number;

  constructor(opts: CompletionTrendOptions = {}) {
    this.smoothingMs = opts.smoothingMs ?? 30_000;
    this.windowMs = opts.windowMs ?? 300_000;
  }

  /** Records the totals read at `at` (ms). The first read, and a read after a counter went back, only sets the baseline. */
  observe(totals: Pick<QueueTotals, 'completed' | 'failed'>, at: number): void {
    const prev = this.last;
    this.last = { at, completed: totals.completed, failed: totals.failed };
    if (!prev || at <= prev.at) return;
    // A counter going back means the queue was deleted and made again: start over rather than report a negative rate.
    if (totals.completed < prev.completed || totals.failed < prev.failed) {
      this.points.length = 0;
      this.sum = this.weight = 0;
      return;
    }
    const dt = (at - prev.at) / 1000;
    const done = (totals.completed - prev.completed) / dt;
    const failed = (totals.failed - prev.failed) / dt;
    // Irregular intervals: the weight of the new reading grows with the time it covers.
    const alpha = 1 - Math.exp(-(at - prev.at) / this.smoothingMs);
    this.sum += alpha * (done + failed - this.sum);
    this.weight += alpha * (1 - this.weight);
    this.points.push({ at, done, failed });
    while (this.points.length > 0 && this.points[0]!.at < at - this.windowMs) this.points.shift();
  }

  /** The smoothed rate at which tasks finish (completed or failed for good), per second. */
  get finishRate(): number {
    return this.weight > 0 ? this.sum / this.weight : 0;
  }

  /** The throughput series over the window, oldest first. */
  series(): ThroughputPoint[] {
    return [...this.points];
  }

  /** The drain time of `unfinished` tasks at the smoothed rate: see {@link drainSeconds}. */
  drainSeconds(unfinished: number): number {
    return drainSeconds(unfinished, this.finishRate);
  }
}
