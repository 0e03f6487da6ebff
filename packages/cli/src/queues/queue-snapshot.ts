import { type AdminCounts, type QueueCounts } from '@asyncq/core';
import { describeQueues, readQueueFigures, type FoundQueue, type QueueFigures, type RedisClient } from '@asyncq/core/internal';

/**
 * One queue's figures at one moment: its counts (whole and per partition), state, totals, live
 * workers, desired count and oldest wait. What `stats`, `watch`, `join`, the exporter and the
 * dashboard show of a queue, all read here.
 */
export interface QueueSnapshot extends QueueFigures {
  /** The counts of every partition added up, without the legacy paused list (counted in waiting). */
  counts: QueueCounts;
}

/** What one read got for one queue: its snapshot, that it does not exist, or why it could not be read. */
export type SnapshotResult = { name: string; snapshot: QueueSnapshot } | { name: string; missing: true } | { name: string; error: Error };

/**
 * Reads the snapshots of `queues` at once: core's `readQueueFigures`, a command per queue (one
 * more per partition), all sent together, so many queues cost about what one does. Only reads.
 * A Redis that cannot be reached rejects; a queue whose data cannot be read is its own error.
 */
export async function readSnapshots(client: RedisClient, prefix: string, queues: readonly FoundQueue[]): Promise<SnapshotResult[]> {
  const reads = await readQueueFigures(client, prefix, queues);
  return reads.map((r) => ('figures' in r ? { name: r.name, snapshot: { ...r.figures, counts: countsOf(r.figures.partitions) } } : r));
}

/**
 * The snapshot of one queue (given by name, its partitions are looked up first), undefined when
 * it has no data; a queue whose data cannot be read rejects with why.
 */
export async function readSnapshot(client: RedisClient, prefix: string, queue: string | FoundQueue): Promise<QueueSnapshot | undefined> {
  const found = typeof queue === 'string' ? await describeQueues(client, prefix, [queue]) : [queue];
  const [read] = await readSnapshots(client, prefix, found);
  if (!read || 'missing' in read) return undefined;
  if ('error' in read) throw read.error;
  return read.snapshot;
}

/** Counts of some partitions added up, without the legacy paused list and the stalled list (counted in waiting and unfinished). */
export function countsOf(parts: readonly AdminCounts[]): QueueCounts {
  const t: QueueCounts = { waiting: 0, delayed: 0, active: 0, completed: 0, failed: 0, cancelled: 0, unfinished: 0 };
  for (const p of parts) {
    t.waiting += p.waiting;
    t.delayed += p.delayed;
    t.active += p.active;
    t.completed += p.completed;
    t.failed += p.failed;
    t.cancelled += p.cancelled;
    t.unfinished += p.unfinished;
  }
  return t;
}

/** The snapshot of a queue with no data (never put into, or deleted meanwhile): zeros, open, one partition. */
export function emptySnapshot(name: string, at = Date.now()): QueueSnapshot {
  const counts = { waiting: 0, delayed: 0, active: 0, completed: 0, failed: 0, cancelled: 0, unfinished: 0 };
  return {
    name,
    at,
    partitions: [{ ...counts, paused: 0, stalled: 0, blocked: 0 }],
    counts,
    state: { shutdown: '', paused: false, partitions: 1, maxsize: 0, putsWaiting: false, joinersWaiting: false },
    totals: { added: 0, completed: 0, failed: 0, retried: 0, reclaimed: 0, discarded: 0, cancelled: 0 },
    workers: 0,
    oldestWaitingMs: 0,
  };
}

/** "open", "paused", "shut down" or both: what a queue does besides its counts. */
export function stateWord(s: { paused: boolean; shutdown: string; error?: string }): string {
  if (s.error) return `damaged: ${s.error}`;
  const words = [s.paused ? 'paused' : '', s.shutdown ? 'shut down' : ''].filter(Boolean);
  return words.length ? words.join(', ') : 'open';
}
