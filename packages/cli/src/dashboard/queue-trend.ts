import type { QueueTotals } from '@asyncq/core';
import { DRAIN_WINDOW_MS, drainSeconds, SmoothedRate, ThroughputSeries, type ThroughputPoint } from '../queues/rates.js';

/** Options of a {@link QueueTrend}. */
export interface QueueTrendOptions {
  /** Time constant of the smoothing of the finish rate, in ms. @defaultValue DRAIN_WINDOW_MS (60000), as the exporter and watch */
  smoothingMs?: number;
  /** How much history the throughput series keeps, in ms. @defaultValue 300000 (5 minutes) */
  windowMs?: number;
}

/**
 * What the dashboard shows of a queue's flow, from successive reads of its Redis totals: the
 * throughput chart and the smoothed finish rate behind the drain time. Both are measured by the
 * CLI's one rate meter (rates.ts); this only feeds them the same reading.
 */
export class QueueTrend {
  private readonly finished: SmoothedRate;
  private readonly throughput: ThroughputSeries;

  constructor(opts: QueueTrendOptions = {}) {
    this.finished = new SmoothedRate(opts.smoothingMs ?? DRAIN_WINDOW_MS, 1000);
    this.throughput = new ThroughputSeries(opts.windowMs);
  }

  /** Records the totals read at `at` (ms). */
  observe(totals: Pick<QueueTotals, 'completed' | 'failed'>, at: number): void {
    this.finished.add(at, totals.completed + totals.failed);
    this.throughput.add(at, totals);
  }

  /** Tasks finished (completed or failed for good) per second, smoothed; 0 before two readings. */
  get finishRate(): number {
    return this.finished.perSecond ?? 0;
  }

  /** The throughput series over the window, oldest first. */
  series(): ThroughputPoint[] {
    return this.throughput.series();
  }

  /** The drain time of `unfinished` tasks at the smoothed rate: see {@link drainSeconds}. */
  drainSeconds(unfinished: number): number {
    return drainSeconds(unfinished, this.finishRate);
  }
}
