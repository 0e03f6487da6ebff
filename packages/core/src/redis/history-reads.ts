import type { RedisClient } from './connection.js';
import type { QueueKeys } from './queue-keys.js';

/**
 * One minute or hour of a queue's history, from the rollups the completion scripts keep in Redis
 * (see `finish-lib.lua`): 24 hours of minutes, 30 days of hours.
 */
export interface HistoryPoint {
  /** Start of the minute or hour, ms since the epoch. */
  at: number;
  /** Tasks completed, and failed for good, in it. */
  completed: number;
  failed: number;
  /**
   * Median and 95th percentile of the completed tasks' run times (started to finished), ms: the
   * upper bound of the histogram bucket it falls in (5, 10, 25, 50, 100, 250, 500 ms, 1, 2.5, 5,
   * 10, 30, 60 s, 5 min; Infinity above), so an estimate from above. Null when none completed.
   */
  p50: number | null;
  p95: number | null;
}

/** The upper bounds (ms) of the run-time buckets of the history rollups; the last bucket holds the longer run times. Kept equal to `HISTORY_BOUNDS` in `finish-lib.lua`. */
export const HISTORY_BOUNDS_MS: readonly number[] = [5, 10, 25, 50, 100, 250, 500, 1000, 2500, 5000, 10_000, 30_000, 60_000, 300_000];

/** The `q` quantile (0 to 1) of a bucketed histogram: the upper bound of the bucket holding it; null when empty. */
export function bucketQuantile(buckets: readonly number[], q: number): number | null {
  const total = buckets.reduce((a, b) => a + b, 0);
  if (total === 0) return null;
  let seen = 0;
  for (const [i, n] of buckets.entries()) {
    seen += n;
    if (seen >= q * total) return HISTORY_BOUNDS_MS[i] ?? Infinity;
  }
  return Infinity;
}

/**
 * Reads the history rollups of every partition (`parts`) for the last `count` minutes or hours up
 * to `now`, in one pipeline, and sums them: partitions' histograms add up bucket by bucket.
 */
export async function readHistory(client: RedisClient, parts: readonly QueueKeys[], unit: 'minute' | 'hour', count: number, now: number): Promise<HistoryPoint[]> {
  const span = unit === 'minute' ? 60_000 : 3_600_000;
  const n = Math.max(1, Math.min(Math.floor(count), unit === 'minute' ? 1440 : 720));
  const last = Math.floor(now / span);
  const slots = Array.from({ length: n }, (_, i) => last - n + 1 + i);
  const pipe = client.pipeline();
  for (const k of parts) for (const slot of slots) pipe.hgetall(k.history(unit === 'minute' ? 'm' : 'h', slot));
  const replies = (await pipe.exec()) ?? [];
  return slots.map((slot, i) => {
    let completed = 0;
    let failed = 0;
    const buckets = new Array<number>(HISTORY_BOUNDS_MS.length + 1).fill(0);
    for (let p = 0; p < parts.length; p++) {
      const [err, h] = replies[p * n + i] ?? [null, {}];
      if (err) throw err;
      const row = (h ?? {}) as Record<string, string>;
      failed += Number(row.f ?? 0) || 0;
      let sum = 0;
      for (let b = 0; b < buckets.length; b++) {
        const n = Number(row[`b${b + 1}`] ?? 0) || 0;
        buckets[b]! += n;
        sum += n;
      }
      // The completed count is the buckets' sum; rollups written before 2026-12-07 also kept it in "c".
      completed += row.c === undefined ? sum : Number(row.c) || 0;
    }
    return { at: slot * span, completed, failed, p50: bucketQuantile(buckets, 0.5), p95: bucketQuantile(buckets, 0.95) };
  });
}
