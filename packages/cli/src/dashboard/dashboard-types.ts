import type { AdminCounts, GroupBacklog, LimitsStatus, QueueState, QueueTotals } from '@asyncq/core';
import type { ThroughputPoint } from '../queues/rates.js';
import type { WorkerEntry } from '../queues/worker-entry.js';

/**
 * The JSON shapes of the dashboard's API (`GET /api/queues`, `GET /api/queues/:name`), gathered in
 * one place: what the asyncq page polls, and what scripts may rely on.
 */

/** Live workers of a queue against the count `asyncq scale` asked for. */
export interface FleetSummary {
  /** Workers heart-beating now. */
  live: number;
  /** Of those, the ones running at least one task. */
  busy: number;
  /** Task slots of the live workers (the sum of their concurrency). */
  slots: number;
  /** Tasks the live workers run now. */
  running: number;
  /** The desired worker count set with `asyncq scale` or by an autoscaler; null when never set. */
  desired: number | null;
  /** Who set `desired`. */
  desiredBy: 'manual' | 'autoscaler' | null;
  /** Fleet supervisors (`asyncq fleet`) serving the queue, and the worker processes they run. */
  supervisors: number;
  supervisedWorkers: number;
}

/** One queue as `GET /api/queues` lists it. */
export interface QueueSummary {
  name: string;
  partitions: number;
  /** When this was read, ms since the epoch. */
  at: number;
  counts: AdminCounts;
  state: QueueState;
  totals: QueueTotals;
  workers: FleetSummary;
  /** Age of the oldest ready task, ms (0 when none is ready). */
  oldestWaitingMs: number;
  /** Tasks finished (completed or failed for good) per second, smoothed. */
  finishRate: number;
  /** Completed per second over the last interval. */
  donePerSec: number;
  /** Estimated seconds to finish every unfinished task: unfinished / finishRate, capped at a day, 0 when idle. */
  drainSeconds: number;
  /**
   * The drain estimate as shown, from the CLI's one DrainMeter (the exporter's and watch's): a time,
   * or what the queue is instead (paused, shut down, stuck, measuring, nothing to drain), never a
   * number for a queue that is not draining.
   */
  drain: string;
}

/** A task a worker is running now. */
export interface RunningTask {
  id: string;
  name: string;
  startedAt: number;
}

/** A live worker, for the page. */
export interface WorkerRow {
  id: string;
  host: string;
  pid: number;
  concurrency: number;
  running: number;
  done: number;
  failed: number;
  lastHeartbeat: number;
  /** The tasks it runs now (a few at most). */
  current: RunningTask[];
}

/** One queue with everything the asyncq page shows: `GET /api/queues/:name`. */
export interface QueueDetail extends QueueSummary {
  /** Counts of each partition (one entry for an unpartitioned queue). */
  partitionCounts: AdminCounts[];
  workerList: WorkerRow[];
  /** done/s and failed/s per interval over the last minutes, oldest first. */
  throughput: ThroughputPoint[];
  /** Its limits (`asyncq limits`), whether each holds tasks back, and how many groups have tasks waiting. */
  limits: LimitsStatus;
  /** The 20 groups with the most tasks waiting, largest first; empty when no group has tasks waiting. */
  groups: GroupBacklog[];
}

/** The whole of `GET /api/queues`. */
export interface QueueList {
  /** The Redis key prefix the queues live under. */
  prefix: string;
  /** Whether the dashboard lets users retry, remove and promote tasks. */
  actions: boolean;
  queues: QueueSummary[];
}

/**
 * One worker: `GET /api/worker?queue=&id=` (404 with `state: 'gone'` and an `error` once it is not
 * listed). `live`: it beats; `stale`: still listed, but no heartbeat for two of its intervals (stuck,
 * stopped or dead); `gone`: not listed any more (it stopped, or missed three beats).
 */
export interface WorkerView {
  queue: string;
  id: string;
  /** When this was read, ms since the epoch: ages on the page are counted from here. */
  at: number;
  state: 'live' | 'stale' | 'gone';
  /** Its registry entry; null when gone. */
  worker: WorkerEntry | null;
}

/** A queue's live workers, oldest first: `GET /api/workers?queue=`, what `asyncq workers --json` lists. */
export interface WorkerList {
  queue: string;
  /** When this was read, ms since the epoch. */
  at: number;
  workers: WorkerEntry[];
}
