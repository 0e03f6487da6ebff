import { type AdminCounts, type QueueAdmin, type WorkerInfo } from '@asyncq/core';
import { discoverQueues, type FoundQueue, type RedisClient } from '@asyncq/core/internal';
import { countsOf, emptySnapshot, readSnapshot, readSnapshots } from '../queues/queue-snapshot.js';
import { checkReads, openReader, type QueueReader } from '../queues/queue-reader.js';
import { QueueTrend } from './queue-trend.js';
import type { FleetSummary, QueueDetail, QueueSummary, WorkerRow } from './dashboard-types.js';

/** Options of a {@link QueueMonitor}. */
export interface QueueMonitorOptions {
  /** The one connection every queue's reads share; the caller closes it. */
  connection: RedisClient;
  prefix: string;
  /** How often the totals of every queue are read for the throughput series. @defaultValue 2000 */
  intervalMs?: number;
  /** How often the queues are discovered again (a SCAN of the keyspace, so less often than the totals). @defaultValue 5 × intervalMs */
  discoverMs?: number;
  /** Called after a discovery that found queues appear or vanish (and after the first). */
  onQueues?: (queues: readonly FoundQueue[], readers: ReadonlyMap<string, QueueReader>) => Promise<void>;
}

/** The groups a queue's page lists, largest backlog first. */
const GROUPS_SHOWN = 20;

/** What the home page's rows need: a queue's detail less its limits and groups, which only its own page shows. */
type QueueBase = Omit<QueueDetail, 'limits' | 'groups'>;
/** What only the queue's own page reads: its limits and largest groups. */
type QueueLimitsView = Pick<QueueDetail, 'limits' | 'groups'>;
/** Reads shared for a moment by every request that asks for them, by queue name. */
type SharedReads<T> = Map<string, { at: number; read: Promise<T> }>;

interface Watched {
  found: FoundQueue;
  reader: QueueReader;
  trend: QueueTrend;
}

/**
 * Watches every queue under a prefix for the dashboard: discovers queues periodically (one reader
 * per queue on the shared connection, closed when the queue vanishes), reads their totals every
 * interval into a {@link QueueTrend}, and answers the API's reads. Reads made for requests
 * are shared for a moment, so many open pages cost Redis no more than one. It only reads.
 */
export class QueueMonitor {
  private readonly watched = new Map<string, Watched>();
  private readonly cache: SharedReads<QueueBase> = new Map();
  private readonly limitsCache: SharedReads<QueueLimitsView> = new Map();
  private timer?: NodeJS.Timeout;
  private ticking?: Promise<void>;
  private lastDiscovery = 0;
  private closed = false;
  private readonly intervalMs: number;
  private readonly discoverMs: number;

  private constructor(private readonly opts: QueueMonitorOptions) {
    this.intervalMs = opts.intervalMs ?? 2000;
    this.discoverMs = opts.discoverMs ?? 5 * this.intervalMs;
  }

  /** Discovers the queues once (so an unreachable Redis fails here), then keeps watching. */
  static async start(opts: QueueMonitorOptions): Promise<QueueMonitor> {
    const m = new QueueMonitor(opts);
    await m.tick(true);
    m.schedule();
    return m;
  }

  /** The queues watched now, sorted by name. */
  queues(): FoundQueue[] {
    return [...this.watched.values()].map((w) => w.found);
  }

  /** The reads of queue `name`, if it is watched. */
  reader(name: string): QueueReader | undefined {
    return this.watched.get(name)?.reader;
  }

  /** The reads of every queue watched, by name. */
  readers(): QueueReader[] {
    return [...this.watched.values()].map((w) => w.reader);
  }

  /** Drops the shared read of queue `name`, so the next request sees what an action just changed. */
  forget(name: string): void {
    this.cache.delete(name);
    this.limitsCache.delete(name);
  }

  /** Every queue with its counts, state and totals (not its limits and groups: the home page shows none). */
  async list(): Promise<QueueSummary[]> {
    const bases = await Promise.all([...this.watched.values()].map((w) => this.shared(this.cache, w, () => readDetail(w, this.opts.connection, this.opts.prefix))));
    return bases.map(summaryOf);
  }

  /** Everything the page shows about queue `name`, in one answer; undefined when no such queue is watched. */
  detail(name: string): Promise<QueueDetail> | undefined {
    const w = this.watched.get(name);
    if (!w) return undefined;
    const base = this.shared(this.cache, w, () => readDetail(w, this.opts.connection, this.opts.prefix));
    const limits = this.shared(this.limitsCache, w, () => readLimitsView(w.reader.admin));
    return Promise.all([base, limits]).then(([b, l]) => ({ ...b, ...l }));
  }

  /** `read()` of queue `w`, or the same read made less than a moment ago (at most 1 s, half the interval). */
  private shared<T>(cache: SharedReads<T>, w: Watched, read: () => Promise<T>): Promise<T> {
    const name = w.found.name;
    const now = Date.now();
    const hit = cache.get(name);
    if (hit && now - hit.at < Math.min(1000, this.intervalMs / 2)) return hit.read;
    const fresh = read();
    cache.set(name, { at: now, read: fresh });
    fresh.catch(() => cache.delete(name));
    return fresh;
  }

  /** Stops watching and closes every reader (not the shared connection). */
  async close(): Promise<void> {
    this.closed = true;
    clearTimeout(this.timer);
    await this.ticking?.catch(() => {});
    await Promise.all([...this.watched.values()].map((w) => w.reader.close()));
    this.watched.clear();
  }

  private schedule(): void {
    if (this.closed) return;
    this.timer = setTimeout(() => {
      this.ticking = this.tick(false)
        .catch(() => {}) // Redis away for a moment: the API answers 503 meanwhile, and the next tick tries again
        .finally(() => this.schedule());
    }, this.intervalMs);
  }

  /** Discovers when due, then reads every queue's totals into its trend. */
  private async tick(first: boolean): Promise<void> {
    const now = Date.now();
    if (first || now - this.lastDiscovery >= this.discoverMs) {
      this.lastDiscovery = now;
      await this.discover(first);
    }
    // Every queue's totals in one batch of reads, whatever the number of queues.
    const watched = [...this.watched.values()];
    const reads = await readSnapshots(this.opts.connection, this.opts.prefix, watched.map((w) => w.found));
    for (const r of reads) {
      if (!('snapshot' in r)) continue;
      const c = sumCounts(r.snapshot.partitions);
      const now = { unfinished: c.unfinished, waiting: c.waiting, paused: r.snapshot.state.paused, shutdown: r.snapshot.state.shutdown !== '' };
      this.watched.get(r.name)?.trend.observe(r.snapshot.totals, r.snapshot.at, now);
    }
  }

  private async discover(first: boolean): Promise<void> {
    const found = await discoverQueues(this.opts.connection, this.opts.prefix);
    let changed = first;
    const seen = new Set(found.map((q) => q.name));
    for (const [name, w] of this.watched) {
      if (seen.has(name)) continue;
      this.watched.delete(name);
      this.forget(name);
      await w.reader.close();
      changed = true;
    }
    const readable: FoundQueue[] = [];
    for (const q of found) {
      const w = this.watched.get(q.name);
      if (w && w.found.partitions === q.partitions) {
        readable.push(q);
        continue;
      }
      if (w) await w.reader.close(); // repartitioned: its BullMQ objects are stale
      let reader: QueueReader;
      try {
        reader = openReader(q.name, this.opts.connection, this.opts.prefix);
      } catch {
        // A queue in Redis that this version cannot open (a name it no longer accepts) is left out,
        // rather than taking every other queue's page down with it.
        if (this.watched.delete(q.name)) changed = true;
        continue;
      }
      // What the first read of a queue handle checks (ACL, memory policy), once per queue: the
      // snapshot reads that follow skip it.
      await checkReads(reader).catch(async (e: unknown) => {
        await reader.close();
        throw e;
      });
      this.watched.set(q.name, { found: q, reader, trend: w?.trend ?? new QueueTrend() });
      readable.push(q);
      changed = true;
    }
    if (changed) {
      // Keep the map in name order, as discovery returns it.
      const sorted = readable.map((q) => [q.name, this.watched.get(q.name)!] as const);
      this.watched.clear();
      for (const [name, w] of sorted) this.watched.set(name, w);
      await this.opts.onQueues?.(readable, new Map(sorted.map(([name, w]) => [name, w.reader])));
    }
  }
}

/** Reads one queue from Redis. */
async function readDetail(w: Watched, connection: RedisClient, prefix: string): Promise<QueueBase> {
  const { registry } = w.reader;
  const [snapshot, workers, fleets] = await Promise.all([readSnapshot(connection, prefix, w.found), registry.list(), registry.listFleets()]);
  const { at, partitions, state, totals, desired, oldestWaitingMs } = snapshot ?? emptySnapshot(w.found.name);
  const counts = sumCounts(partitions);
  const throughput = w.trend.series();
  const summary: QueueSummary = {
    name: w.found.name,
    partitions: state.partitions,
    at,
    counts,
    state,
    totals,
    workers: fleetOf(workers, desired, fleets.length, fleets.reduce((a, f) => a + f.workers, 0)),
    oldestWaitingMs,
    finishRate: w.trend.finishRate,
    donePerSec: throughput.at(-1)?.done ?? 0,
    drainSeconds: w.trend.drainSeconds(counts.unfinished),
    drain: w.trend.drain(at, { unfinished: counts.unfinished, waiting: counts.waiting, paused: state.paused, shutdown: state.shutdown !== '' }),
  };
  return { ...summary, partitionCounts: state.partitions > 1 ? partitions : [counts], workerList: workers.map(rowOf), throughput };
}

/** A queue's limits and, when groups have tasks waiting, its largest groups (a queue without any costs one read less). */
async function readLimitsView(admin: QueueAdmin): Promise<QueueLimitsView> {
  const limits = await admin.limits();
  return { limits, groups: limits.groupsWaiting > 0 ? await admin.groups(GROUPS_SHOWN) : [] };
}

/** The counts of the whole queue, from its partitions', with the legacy paused and stalled lists and the blocked flow steps. */
function sumCounts(parts: readonly AdminCounts[]): AdminCounts {
  const paused = parts.reduce((a, p) => a + p.paused, 0);
  const stalled = parts.reduce((a, p) => a + p.stalled, 0);
  const blocked = parts.reduce((a, p) => a + p.blocked, 0);
  return { ...countsOf(parts), paused, stalled, blocked };
}

function fleetOf(workers: WorkerInfo[], desired: { count: number; by: 'manual' | 'autoscaler' } | undefined, supervisors: number, supervisedWorkers: number): FleetSummary {
  const running = (w: WorkerInfo): number => w.running ?? w.current?.length ?? 0;
  return {
    live: workers.length,
    busy: workers.filter((w) => running(w) > 0).length,
    slots: workers.reduce((a, w) => a + w.concurrency, 0),
    running: workers.reduce((a, w) => a + running(w), 0),
    desired: desired?.count ?? null,
    desiredBy: desired?.by ?? null,
    supervisors,
    supervisedWorkers,
  };
}

function rowOf(w: WorkerInfo): WorkerRow {
  return {
    id: w.id,
    host: w.host,
    pid: w.pid,
    concurrency: w.concurrency,
    running: w.running ?? w.current?.length ?? 0,
    done: w.done,
    failed: w.failed,
    lastHeartbeat: w.lastHeartbeat,
    current: (w.current ?? []).map((t) => ({ id: t.id, name: t.name, startedAt: t.startedAt })),
  };
}

/** A detail without the parts only the queue's own page needs. */
function summaryOf(d: QueueBase): QueueSummary {
  const { partitionCounts: _p, workerList: _w, throughput: _t, ...summary } = d;
  return summary;
}
