/**
 * Rates from monotonic counters: the one rate meter of the CLI. `watch`, the exporter's drain
 * estimate and the fleet autoscaler all measure throughput here, from counters read with the time
 * they stood at that value (a Redis total read now, or a worker's `done` at its last heartbeat),
 * never from the time between two looks: a counter that only moves every heartbeat then gives a
 * steady rate instead of bursts and zeros.
 */

/** A counter's value and when it had it (ms since the epoch). */
export interface CounterReading {
  at: number;
  value: number;
}

/** The longest a drain or ETA estimate is said to be, in seconds (a day): finite, for dashboards and autoscalers. */
export const MAX_DRAIN_SECONDS = 86_400;

/**
 * Per second over `readings` (oldest first) within `windowMs` of the newest: the counter's growth
 * from the oldest reading still in the window (or the last one before it, so that a sparse counter
 * still spans the window) to the newest, over the time between them. `undefined` with fewer than
 * two distinct times.
 */
export function rateOver(readings: readonly CounterReading[], windowMs: number): number | undefined {
  const last = readings.at(-1);
  if (!last) return undefined;
  let first = 0;
  while (first + 1 < readings.length - 1 && readings[first + 1]!.at <= last.at - windowMs) first++;
  const from = readings[first]!;
  const seconds = (last.at - from.at) / 1000;
  return seconds > 0 ? Math.max(0, last.value - from.value) / seconds : undefined;
}

/**
 * Appends `reading` to `readings` in place and drops what `rateOver` no longer needs. A reading at
 * the time of the last one is skipped (a heartbeat not renewed yet); a counter that went down (a
 * queue deleted and created again, a restarted worker) starts the history over.
 */
export function addReading(readings: CounterReading[], reading: CounterReading, windowMs: number): void {
  const last = readings.at(-1);
  if (last && reading.at <= last.at) return;
  if (last && reading.value < last.value) readings.length = 0;
  readings.push(reading);
  while (readings.length > 2 && readings[1]!.at <= reading.at - windowMs) readings.shift();
}

/** The rate of one counter over a sliding window: {@link rateOver} on the readings it keeps. */
export class WindowRate {
  private readonly readings: CounterReading[] = [];

  constructor(readonly windowMs: number) {}

  /** Adds a reading: see {@link addReading}. */
  add(at: number, value: number): void {
    addReading(this.readings, { at, value }, this.windowMs);
  }

  /** Per second over the window, or `undefined` before two readings. */
  get perSecond(): number | undefined {
    return rateOver(this.readings, this.windowMs);
  }
}

/**
 * An exponentially smoothed rate of a counter: each interval's rate weighs `1 - exp(-dt / tauMs)`
 * against what came before, so irregular intervals (two Prometheus servers, a missed scrape, an
 * outage) count by the time they cover and the estimate forgets what happened more than a few
 * `tauMs` ago. The weights are normalised (a bias-corrected average), so the first minutes are the
 * time-weighted mean of what was seen rather than a pull towards zero, and a short first interval
 * does not stand for the whole history. Readings less than `minIntervalMs` after the last one used
 * are skipped: two scrapes at once add nothing but noise.
 */
export class SmoothedRate {
  private last?: CounterReading;
  private weighted = 0;
  private weight = 0;

  constructor(
    readonly tauMs: number,
    readonly minIntervalMs = 0,
  ) {}

  /** Adds a reading and returns the estimate (per second), `undefined` before two readings. */
  add(at: number, value: number): number | undefined {
    const last = this.last;
    if (last && at - last.at < Math.max(this.minIntervalMs, Number.MIN_VALUE)) return this.perSecond;
    this.last = { at, value };
    if (!last || value < last.value) {
      this.weighted = this.weight = 0; // first reading, or the counter started over
      return undefined;
    }
    const dt = at - last.at;
    const keep = Math.exp(-dt / this.tauMs);
    this.weighted = this.weighted * keep + (1 - keep) * ((value - last.value) / (dt / 1000));
    this.weight = this.weight * keep + (1 - keep);
    return this.perSecond;
  }

  /** The estimate, per second, or `undefined` before two readings. */
  get perSecond(): number | undefined {
    return this.weight > 0 ? this.weighted / this.weight : undefined;
  }
}

/**
 * Seconds to finish `remaining` tasks at `perSecond`: 0 when nothing remains, else
 * `min(cap, remaining / perSecond)`, the cap when nothing finishes (no rate, or 0). Always finite.
 * The exporter's `asyncq_queue_drain_seconds`; also an ETA for `join`.
 */
export function drainSeconds(remaining: number, perSecond: number | undefined, cap = MAX_DRAIN_SECONDS): number {
  if (!(remaining > 0)) return 0;
  if (perSecond === undefined || !(perSecond > 0)) return cap;
  return Math.min(cap, remaining / perSecond);
}

/** One interval of a queue's throughput, from its Redis totals. */
export interface ThroughputPoint {
  /** End of the interval, ms since the epoch. */
  at: number;
  /** Tasks completed per second over the interval. */
  done: number;
  /** Tasks failed for good per second over the interval. */
  failed: number;
}

/**
 * A throughput chart's points: each interval's completed/s and failed/s ({@link rateOver} between
 * two successive readings of the totals), over `windowMs` of history. A reading at or before the
 * last one adds nothing; a counter that went down (the queue was deleted and made again) starts
 * the series over rather than plot a negative rate.
 */
export class ThroughputSeries {
  private last?: { at: number; completed: number; failed: number };
  private readonly points: ThroughputPoint[] = [];

  constructor(readonly windowMs = 300_000) {}

  add(at: number, totals: { completed: number; failed: number }): void {
    const prev = this.last;
    if (prev && at <= prev.at) return;
    this.last = { at, completed: totals.completed, failed: totals.failed };
    if (!prev) return;
    if (totals.completed < prev.completed || totals.failed < prev.failed) {
      this.points.length = 0;
      return;
    }
    const over = (from: number, to: number): number => rateOver([{ at: prev.at, value: from }, { at, value: to }], Infinity) ?? 0;
    this.points.push({ at, done: over(prev.completed, totals.completed), failed: over(prev.failed, totals.failed) });
    while (this.points.length > 0 && this.points[0]!.at < at - this.windowMs) this.points.shift();
  }

  /** The points over the window, oldest first. */
  series(): ThroughputPoint[] {
    return [...this.points];
  }
}

/**
 * The one smoothing window of every finish rate and drain estimate the CLI shows (the exporter's
 * `asyncq_queue_drain_seconds`, the dashboard, `watch`, `join`'s ETA): the time constant of their
 * {@link SmoothedRate}, ms. Readings less than a second apart are skipped.
 */
export const DRAIN_WINDOW_MS = 60_000;

/** What a queue is in place of a drain time, or its drain time. */
export type DrainEstimate =
  /** Nothing unfinished. */
  | { state: 'drained'; seconds: 0 }
  /** Tasks finish: `seconds` to finish the unfinished ones at `perSecond`, at most a day. */
  | { state: 'draining'; seconds: number; perSecond: number }
  /** Not measured yet (one reading so far). */
  | { state: 'measuring' }
  /** Paused: workers get nothing until `asyncq resume`. */
  | { state: 'paused' }
  /** Shut down: `perSecond` > 0 while what is left still drains. */
  | { state: 'shut down'; seconds?: number; perSecond: number }
  /** Tasks wait and nothing finished for a whole window. */
  | { state: 'stuck'; sinceMs: number }
  /** No data any more: the queue was deleted, or Redis lost it. */
  | { state: 'gone' };

/** One reading of a queue, as the drain estimate needs it. */
export interface DrainReading {
  /** ms since the epoch */
  at: number;
  /** Whether the queue has data; false once deleted or lost. */
  exists: boolean;
  /** Tasks finished since the queue was made: completed plus failed for good. */
  finished: number;
  unfinished: number;
  /** Ready tasks not taken (they wait for a worker). */
  waiting: number;
  paused: boolean;
  shutdown: boolean;
}

/**
 * A queue's finish rate and drain estimate from successive readings of its counters: the one
 * computation behind every drain time the CLI shows, so the exporter, the dashboard and `watch`
 * fed the same readings say the same. The rate is {@link SmoothedRate} over
 * {@link DRAIN_WINDOW_MS}; a queue that is paused, shut down, stuck or gone says so instead of a
 * number.
 */
export class DrainMeter {
  private readonly rate = new SmoothedRate(DRAIN_WINDOW_MS, 1000);
  /** When the finished counter last moved (or the first reading). */
  private movedAt?: number;
  private lastFinished?: number;

  /** Adds a reading and returns the estimate at it. */
  observe(r: DrainReading): DrainEstimate {
    if (!r.exists) {
      this.movedAt = this.lastFinished = undefined;
      return { state: 'gone' };
    }
    const perSecond = this.rate.add(r.at, r.finished);
    if (this.lastFinished === undefined || r.finished !== this.lastFinished) this.movedAt = r.at;
    this.lastFinished = r.finished;
    return this.estimate(r, perSecond);
  }

  /** The estimate for the queue's state `r` at the rate measured so far, without adding a reading. */
  estimateAt(r: Omit<DrainReading, 'exists' | 'finished'>): DrainEstimate {
    return this.estimate(r, this.rate.perSecond);
  }

  /** Tasks finished per second, smoothed; undefined before two readings. */
  get perSecond(): number | undefined {
    return this.rate.perSecond;
  }

  private estimate(r: Omit<DrainReading, 'exists' | 'finished'>, perSecond: number | undefined): DrainEstimate {
    if (!(r.unfinished > 0)) return { state: 'drained', seconds: 0 };
    if (r.paused) return { state: 'paused' };
    const rate = perSecond ?? 0;
    if (r.shutdown) return rate > 0 ? { state: 'shut down', seconds: drainSeconds(r.unfinished, rate), perSecond: rate } : { state: 'shut down', perSecond: 0 };
    const still = r.at - (this.movedAt ?? r.at);
    if (r.waiting > 0 && still >= DRAIN_WINDOW_MS) return { state: 'stuck', sinceMs: still };
    if (perSecond === undefined) return { state: 'measuring' };
    if (!(rate > 0)) return still >= DRAIN_WINDOW_MS ? { state: 'stuck', sinceMs: still } : { state: 'measuring' };
    return { state: 'draining', seconds: drainSeconds(r.unfinished, rate), perSecond: rate };
  }
}

/** The estimate in words: `2 min 5 s`, `paused`, `stuck: nothing finished for 3 min`, `gone (deleted, or its data was lost)`. */
export function drainWords(e: DrainEstimate): string {
  switch (e.state) {
    case 'drained':
      return 'nothing to drain';
    case 'draining':
      return e.seconds >= MAX_DRAIN_SECONDS ? 'over a day' : spoken(e.seconds);
    case 'measuring':
      return 'measuring';
    case 'paused':
      return 'paused';
    case 'shut down':
      return e.seconds === undefined ? 'shut down' : `shut down, ${spoken(e.seconds)} left`;
    case 'stuck':
      return `stuck: nothing finished for ${spoken(e.sinceMs / 1000)}`;
    case 'gone':
      return 'gone (deleted, or its data was lost)';
  }
}

/** Seconds as `45 s`, `2 min 5 s`, `3 h 10 min`. */
function spoken(seconds: number): string {
  const s = Math.round(seconds);
  if (s < 60) return `${s} s`;
  if (s < 3600) return `${Math.floor(s / 60)} min${s % 60 ? ` ${s % 60} s` : ''}`;
  return `${Math.floor(s / 3600)} h${Math.floor((s % 3600) / 60) ? ` ${Math.floor((s % 3600) / 60)} min` : ''}`;
}

/**
 * The drain estimate as a gauge must be a number: the seconds while tasks finish, 0 when nothing
 * is unfinished, and the cap (a day) when nothing finishes (paused, stuck, shut down and idle, not
 * measured yet), with the paused and shutdown gauges saying which.
 */
export function drainGauge(e: DrainEstimate | undefined, unfinished: number, perSecond: number | undefined): number {
  if (!e) return drainSeconds(unfinished, perSecond);
  if (e.state === 'drained') return 0;
  if ((e.state === 'draining' || e.state === 'shut down') && e.seconds !== undefined) return e.seconds;
  return MAX_DRAIN_SECONDS;
}
