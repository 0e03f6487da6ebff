import type { QueueCounts, QueueTotals, WorkerInfo } from '@asyncq/core';
import { countsOf, emptySnapshot, readSnapshot } from '../queues/queue-snapshot.js';
import { checkReads, type QueueReader } from '../queues/queue-reader.js';
import { DrainMeter, drainWords, WindowRate, type DrainEstimate } from '../queues/rates.js';
import type { QueueSnapshot } from '../queues/queue-snapshot.js';

/** One live worker as `watch` shows it. */
export interface WorkerSample {
  /** The worker's id (`host:pid:xxxxxxxx`): the one name inspect, join and `asyncq workers` give it. */
  id: string;
  host: string;
  pid: number;
  concurrency: number;
  /** Tasks done since the worker started. */
  done: number;
  /** Its share of the queue's done/s: the queue's rate split by what its heartbeats say it finished over a window (the workers' rates add up to the queue's). */
  perSec: number;
  /** Tasks running now. */
  running?: number;
}

/** One partition of a partitioned queue. */
export interface PartitionSample extends QueueCounts {
  partition: number;
}

/** One interval's view of a queue: what `watch --json` prints, one object per queue per interval. */
export interface QueueSample {
  queue: string;
  /** ms since the epoch */
  at: number;
  /** Tasks put, completed and failed for good per second, from the queue's Redis counters over a window. */
  enqueuedPerSec: number;
  donePerSec: number;
  failedPerSec: number;
  counts: QueueCounts;
  /** The queue's counters since it was created. */
  totals: QueueTotals;
  /** How long the oldest ready task has waited, ms. */
  oldestWaitingMs: number;
  /** Seconds to finish the unfinished tasks at the smoothed finish rate (capped at a day); null when the queue is paused, stuck, gone, or not measured yet. */
  drainSeconds: number | null;
  /** The drain estimate (the exporter's and the dashboard's, from the same module): its state and, in words, what to show. */
  drain: DrainEstimate & { words: string };
  /** False once the queue has no data: deleted, or lost by Redis. */
  exists: boolean;
  paused: boolean;
  /** "graceful", "immediate", or "" when open. */
  shutdown: string;
  waitMs: { p50: number | null; p99: number | null };
  runMs: { p50: number | null; p99: number | null };
  workers: WorkerSample[];
  /** Counts per partition, for a queue over several partitions. */
  partitions?: PartitionSample[];
}

/** The samples a chart keeps. */
const HISTORY = 180;

/**
 * Samples a queue and turns its counters into rates: queue-wide rates from the Redis totals over
 * `windowMs`, each worker's rate from the done counter it reports at its heartbeats (read at the
 * heartbeat's time, over a window of a few heartbeats), so nothing flickers between heartbeats.
 */
export class QueueWatcher {
  /** done/s of each sample, oldest first, for the chart. */
  readonly history: number[] = [];
  private readonly put: WindowRate;
  private readonly completed: WindowRate;
  private readonly failed: WindowRate;
  private readonly drain = new DrainMeter();
  private readonly perWorker = new Map<string, WindowRate>();
  private checked = false;

  constructor(
    readonly q: QueueReader,
    windowMs = 5000,
    private readonly workerWindowMs = 15_000,
  ) {
    this.put = new WindowRate(windowMs);
    this.completed = new WindowRate(windowMs);
    this.failed = new WindowRate(windowMs);
  }

  async sample(): Promise<QueueSample> {
    const { admin, registry, client, prefix, name } = this.q;
    // The first look runs a queue handle's checks (ACL, memory policy) before anything else.
    if (!this.checked) await checkReads(this.q);
    this.checked = true;
    const [snapshot, workers, timings] = await Promise.all([readSnapshot(client, prefix, name), registry.list(), admin.recentTimings(100)]);
    return this.fromSnapshot(snapshot, workers, timings);
  }

  /** The sample of one reading (`undefined`: the queue has no data), the rates carried over from the readings before. */
  fromSnapshot(snapshot: QueueSnapshot | undefined, workers: WorkerInfo[], timings: { wait: readonly number[]; run: readonly number[] }): QueueSample {
    const { at, partitions: parts, counts, totals, state, oldestWaitingMs: oldest } = snapshot ?? emptySnapshot(this.q.name);
    this.put.add(at, totals.added);
    this.completed.add(at, totals.completed);
    this.failed.add(at, totals.failed);
    const drain = this.drain.observe({
      at,
      exists: snapshot !== undefined,
      finished: totals.completed + totals.failed,
      unfinished: counts.unfinished,
      waiting: counts.waiting,
      paused: state.paused,
      shutdown: state.shutdown !== '',
    });
    const donePerSec = this.completed.perSecond ?? 0;
    this.history.push(donePerSec);
    if (this.history.length > HISTORY) this.history.shift();
    return {
      queue: this.q.name,
      at,
      enqueuedPerSec: this.put.perSecond ?? 0,
      donePerSec,
      failedPerSec: this.failed.perSecond ?? 0,
      counts,
      totals,
      oldestWaitingMs: oldest,
      drainSeconds: 'seconds' in drain && drain.seconds !== undefined ? drain.seconds : null,
      drain: { ...drain, words: drainWords(drain) },
      exists: snapshot !== undefined,
      paused: state.paused,
      shutdown: state.shutdown,
      waitMs: percentiles(timings.wait),
      runMs: percentiles(timings.run),
      workers: this.workerRates(workers, donePerSec),
      ...(parts.length > 1 ? { partitions: parts.map((p, partition) => ({ partition, ...countsOf([p]) })) } : {}),
    };
  }

  /**
   * Each worker's done/s: the queue's done/s (from Redis, the figure above the list) split in
   * proportion to what each worker's heartbeats say it finished over its window, so the rates
   * listed add up to the queue's. Heartbeats arrive seconds apart and late, so their own rates
   * alone lag the queue's and never add up to it while the flow changes.
   */
  private workerRates(workers: WorkerInfo[], donePerSec: number): WorkerSample[] {
    const seen = new Set<string>();
    const out = workers.map((w) => {
      seen.add(w.id);
      let rate = this.perWorker.get(w.id);
      if (!rate) this.perWorker.set(w.id, (rate = new WindowRate(this.workerWindowMs)));
      rate.add(Number(w.lastHeartbeat) || 0, Number(w.done) || 0);
      return {
        id: String(w.id),
        host: String(w.host),
        pid: Number(w.pid),
        concurrency: Number(w.concurrency),
        done: Number(w.done) || 0,
        perSec: rate.perSecond ?? 0,
        ...(typeof w.running === 'number' ? { running: w.running } : {}),
      };
    });
    for (const id of this.perWorker.keys()) if (!seen.has(id)) this.perWorker.delete(id);
    const measured = out.reduce((a, w) => a + w.perSec, 0);
    if (measured > 0) for (const w of out) w.perSec = (donePerSec * w.perSec) / measured;
    return out;
  }
}


/** p50 and p99 of `xs` (nearest rank), null when empty. */
export function percentiles(xs: readonly number[]): { p50: number | null; p99: number | null } {
  if (xs.length === 0) return { p50: null, p99: null };
  const s = [...xs].sort((a, b) => a - b);
  const at = (q: number): number => s[Math.min(s.length - 1, Math.floor(q * s.length))]!;
  return { p50: at(0.5), p99: at(0.99) };
}
