import type { QueueTotals } from '@asyncq/core';
import { DrainMeter, drainSeconds, drainWords, ThroughputSeries, type DrainReading, type ThroughputPoint } from '../queues/rates.js';

/** A reading with no state known: the estimate is then a time, or stuck once nothing finished for a window. */
const NOT_KNOWN = { unfinished: 0, waiting: 0, paused: false, shutdown: false };

/** What a drain estimate needs of a queue's state when read. */
type QueueNow = Omit<DrainReading, 'at' | 'finished' | 'exists'>;

/** Options of a {@link QueueTrend}. */
export interface QueueTrendOptions {
  /** How much history the throughput series keeps, in ms. @defaultValue 300000 (5 minutes) */
  windowMs?: number;
}

/**
 * What the dashboard shows of a queue's flow, from successive reads of its Redis totals: the
 * throughput chart, and the finish rate and drain estimate from the CLI's one {@link DrainMeter}
 * (rates.ts), the exporter's and watch's: this only feeds it the same reading.
 */
export class QueueTrend {
  private readonly meter = new DrainMeter();
  private readonly throughput: ThroughputSeries;

  constructor(opts: QueueTrendOptions = {}) {
    this.throughput = new ThroughputSeries(opts.windowMs);
  }

  /** Records the totals read at `at` (ms), with what the drain estimate needs of the queue's state then. */
  observe(totals: Pick<QueueTotals, 'completed' | 'failed'>, at: number, now: QueueNow = NOT_KNOWN): void {
    this.meter.observe({ at, exists: true, finished: totals.completed + totals.failed, ...now });
    this.throughput.add(at, totals);
  }

  /** Tasks finished (completed or failed for good) per second, smoothed; 0 before two readings. */
  get finishRate(): number {
    return this.meter.perSecond ?? 0;
  }

  /**
   * The drain estimate in words for the queue as read at `at` (the counts the page shows beside it),
   * at the rate measured so far: a time, or `paused`, `shut down`, `stuck: ...`, `measuring`, `nothing to drain`.
   */
  drain(at: number, now: QueueNow): string {
    return drainWords(this.meter.estimateAt({ at, ...now }));
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
