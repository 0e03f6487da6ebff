import { describeQueues, discoverQueues, type FoundQueue, type RedisClient } from '@asyncq/core/internal';
import { readSnapshots, type QueueSnapshot as Snapshot } from '../queues/queue-snapshot.js';
import { SmoothedRate } from '../queues/rates.js';

/** What one collect read of one queue. */
export interface QueueSnapshot extends Snapshot {
  /** Tasks finished (completed + failed for good) per second, smoothed; undefined until measured. */
  finishedPerSec?: number;
}

/** What one collect gives: every queue's latest snapshot, and how complete the collect was. */
export interface SnapshotRead {
  /** The queues found, each with its latest snapshot, sorted by name. */
  snapshots: QueueSnapshot[];
  /** True when time ran out: some snapshots are from an earlier collect, or missing. */
  partial: boolean;
  /** Queues whose data could not be read (a key of the wrong type): they have no snapshot. */
  unreadable: number;
}

/** The smoothing of the finish rate behind the drain estimate, ms: the time constant of its average. */
export const DRAIN_RATE_TAU_MS = 60_000;

/** Queues read together: each batch is sent at once, and the time limit is checked between batches. */
const BATCH = 1000;

/** One queue's finish rate across collects, and its latest snapshot. */
interface Known {
  finished: SmoothedRate;
  last?: QueueSnapshot;
  /** When its latest read was asked for (0: never), so the stalest are read first. */
  askedAt: number;
}

/**
 * Reads every queue the exporter exports, on one shared client: the queues named, or every queue
 * under the prefix (found again at each collect, so a deleted queue leaves no snapshot and a new
 * one gets one), keeping each queue's finish rate across collects.
 *
 * Reads are batched (`readSnapshots`: a few commands per queue, all sent at once) and
 * bounded in time: when the deadline comes, the collect stops asking and answers with what it
 * has; the queues it did not reach keep their snapshot from the collect before (the stalest are
 * read first next time, so every queue is refreshed within a few collects), and `partial` says so.
 * A batch still on its way at the deadline is kept when it arrives.
 */
export class QueueSnapshots {
  private readonly known = new Map<string, Known>();
  private found?: FoundQueue[];
  private discovering?: Promise<FoundQueue[]>;

  constructor(
    private readonly prefix: string,
    private readonly named?: readonly string[],
  ) {}

  /** Reads the queues until `deadline` (ms since the epoch). Rejects when Redis fails to answer. */
  async read(client: RedisClient, deadline: number): Promise<SnapshotRead> {
    const started = Date.now();
    // Discovery (a SCAN of the keyspace) runs beside the reads of the queues found last time: a
    // large keyspace must not leave a collect no time to read queues. A queue deleted meanwhile
    // reads as missing; a new one is read once discovery has found it.
    let discovery: { found?: FoundQueue[]; error?: unknown } | undefined;
    const discovering = (this.discovering ??= this.discover(client).finally(() => (this.discovering = undefined)));
    const settled = discovering.then(
      (found) => (discovery = { found }),
      (error: unknown) => (discovery = { error }),
    );
    if (!this.found) await beforeDeadline(settled, deadline);
    let applied = false;
    let order = this.stalest(started);
    const apply = (): void => {
      if (applied || !discovery) return;
      applied = true;
      if (discovery.error !== undefined) throw discovery.error;
      this.found = discovery.found!;
      const names = new Set(this.found.map((q) => q.name));
      for (const name of this.known.keys()) if (!names.has(name)) this.known.delete(name);
      order = this.stalest(started);
    };
    let partial = false;
    let unreadable = 0;
    for (;;) {
      apply();
      const batch = order.splice(0, BATCH);
      if (batch.length === 0) {
        if (applied || !this.found) break;
        if ((await beforeDeadline(settled, deadline)) === undefined) break; // discovery still running
        continue;
      }
      if (Date.now() >= deadline) {
        partial = true;
        break;
      }
      const failed = await beforeDeadline(this.readBatch(client, batch), deadline);
      if (failed === undefined) {
        partial = true;
        break;
      }
      unreadable += failed;
    }
    if (!applied) partial = true; // new queues may be missing
    const snapshots = (this.found ?? []).flatMap((q) => this.known.get(q.name)?.last ?? []);
    return { snapshots, partial, unreadable };
  }

  /** Forgets every queue. */
  close(): void {
    this.known.clear();
  }

  /** The queues to read: those not asked for since `since`, the stalest first. */
  private stalest(since: number): FoundQueue[] {
    return (this.found ?? [])
      .map((q) => ({ q, askedAt: this.knownOf(q.name).askedAt }))
      .filter((x) => x.askedAt < since)
      .sort((a, b) => a.askedAt - b.askedAt)
      .map((x) => x.q);
  }

  /**
   * Reads `batch`, keeping each queue's snapshot (also when it arrives after the collect that asked
   * for it gave up waiting); resolves to how many could not be read.
   */
  private readBatch(client: RedisClient, batch: FoundQueue[]): Promise<number> {
    const asked = Date.now();
    for (const q of batch) this.knownOf(q.name).askedAt = asked;
    const reading = readSnapshots(client, this.prefix, batch).then((reads) => {
      let failed = 0;
      for (const r of reads) {
        const k = this.known.get(r.name);
        if (!k) continue; // gone meanwhile
        if ('snapshot' in r) {
          const finishedPerSec = k.finished.add(r.snapshot.at, r.snapshot.totals.completed + r.snapshot.totals.failed);
          k.last = { ...r.snapshot, ...(finishedPerSec === undefined ? {} : { finishedPerSec }) };
        } else {
          k.last = undefined; // deleted, named but never had a task, or unreadable: no series
          if ('error' in r) failed++;
        }
      }
      return failed;
    });
    reading.catch(() => {}); // one abandoned at the deadline may fail later, unobserved
    return reading;
  }

  private knownOf(name: string): Known {
    let k = this.known.get(name);
    if (!k) this.known.set(name, (k = { finished: new SmoothedRate(DRAIN_RATE_TAU_MS, 1000), askedAt: 0 }));
    return k;
  }

  private async discover(client: RedisClient): Promise<FoundQueue[]> {
    return this.named?.length ? describeQueues(client, this.prefix, this.named) : discoverQueues(client, this.prefix);
  }
}

/** `work`'s value, or undefined once `deadline` (ms since the epoch) passes first; its failure rejects. */
async function beforeDeadline<T>(work: Promise<T>, deadline: number): Promise<T | undefined> {
  let timer: NodeJS.Timeout | undefined;
  const late = new Promise<undefined>((resolve) => (timer = setTimeout(() => resolve(undefined), Math.max(0, deadline - Date.now()))));
  try {
    return await Promise.race([work, late]);
  } finally {
    clearTimeout(timer);
  }
}
