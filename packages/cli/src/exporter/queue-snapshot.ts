import { discoverQueues, type AdminCounts, type QueueTotals, type RedisClient } from '@asyncq/core';
import { openReader, type QueueReader } from '../queue-reader.js';
import { SmoothedRate } from '../rates.js';

/** What one collect read of one queue. */
export interface QueueSnapshot {
  name: string;
  at: number;
  /** Counts per partition (one entry for an unpartitioned queue). */
  partitions: AdminCounts[];
  /** Delivery is paused: every ready task is held back. */
  paused: boolean;
  totals: QueueTotals;
  workers: number;
  desired?: number;
  oldestWaitingMs: number;
  /** Tasks finished (completed + failed for good) per second, smoothed; undefined until measured. */
  finishedPerSec?: number;
}

/** The smoothing of the finish rate behind the drain estimate, ms: the time constant of its average. */
export const DRAIN_RATE_TAU_MS = 60_000;

/** One queue's reads, and its finish rate across collects. */
interface Watched {
  reader: QueueReader;
  finished: SmoothedRate;
}

/**
 * Reads every queue the exporter exports, on one shared client: the queues named, or every queue
 * under the prefix (found again at each collect, so a deleted queue stops being read and a new one
 * starts), keeping each queue's finish rate across collects.
 */
export class QueueSnapshots {
  private readonly watched = new Map<string, Watched>();

  constructor(
    private readonly prefix: string,
    private readonly named?: readonly string[],
  ) {}

  /** Reads every queue now. */
  async read(client: RedisClient): Promise<QueueSnapshot[]> {
    const found = this.named?.length ? this.named.map((name) => ({ name })) : await discoverQueues(client, this.prefix);
    const names = new Set(found.map((q) => q.name));
    for (const [name, w] of this.watched) {
      if (!names.has(name)) {
        this.watched.delete(name);
        await w.reader.close();
      }
    }
    const out = await Promise.all(found.map((q) => this.readOne(client, q.name)));
    return out.filter((s): s is QueueSnapshot => s !== undefined);
  }

  async close(): Promise<void> {
    await Promise.all([...this.watched.values()].map((w) => w.reader.close()));
    this.watched.clear();
  }

  private async readOne(client: RedisClient, name: string): Promise<QueueSnapshot | undefined> {
    // A reader reads the queue's partition layout once: a queue deleted (it drops out of
    // discovery, and its reader is closed) and created again gets a new one.
    let w = this.watched.get(name);
    if (!w) this.watched.set(name, (w = { reader: openReader(name, client, this.prefix), finished: new SmoothedRate(DRAIN_RATE_TAU_MS, 1000) }));
    const { admin, registry } = w.reader;
    if (this.named?.length && !(await admin.exists())) return undefined; // named, but no task ever put
    const [parts, state, totals, workers, desired, oldest] = await Promise.all([
      admin.partitionCounts(),
      admin.state(),
      admin.totals(),
      registry.list(),
      registry.desiredState(),
      admin.oldestWaitingAge(),
    ]);
    const at = Date.now();
    const finishedPerSec = w.finished.add(at, totals.completed + totals.failed);
    return {
      name,
      at,
      partitions: parts,
      paused: state.paused,
      totals,
      workers: workers.length,
      ...(desired ? { desired: desired.count } : {}),
      oldestWaitingMs: oldest,
      ...(finishedPerSec === undefined ? {} : { finishedPerSec }),
    };
  }
}
