import { Counter, Gauge, Registry } from 'prom-client';
import { type ConnectionOption } from '@asyncq/core';
import { connectRedis, type RedisClient } from '@asyncq/core/internal';
import { drainGauge, MAX_DRAIN_SECONDS } from '../queues/rates.js';
import { whereIs, withinTime } from '../queues/time-limit.js';
import { QueueFamily, registryText } from './queue-series.js';
import { LimitsSeries } from './limits-series.js';
import { DRAIN_RATE_TAU_MS, QueueSnapshots, type QueueSnapshot, type SnapshotRead } from './queue-snapshots.js';

/** Options of a {@link QueueExporter}. */
export interface QueueExporterOptions {
  connection: ConnectionOption;
  prefix: string;
  /** Queues to export. @defaultValue every queue under the prefix, found at each collect */
  queues?: readonly string[];
  /**
   * How long a collect may read queues, ms: past it, the scrape answers with what it has, queues it
   * did not reach keep their figures from the collect before, and `asyncq_scrape_partial` is 1. A
   * scrape's own `X-Prometheus-Scrape-Timeout-Seconds`, less the time answers take, shortens it. @defaultValue 6000
   */
  timeoutMs?: number;
  /** How long Redis has to answer a PING before it counts as down (`asyncq_up 0`), ms. @defaultValue 2000 */
  pingTimeoutMs?: number;
}

/**
 * Kept for the answer within a scrape's timeout after the collect, at least: printing and sending
 * 20,000 queues' series (270,000 lines, 14 MB) takes about a second on a busy two-core machine.
 * When the last answer took longer, half as much again as it took is kept.
 */
const ANSWER_MARGIN_MS = 2500;

const STATES = ['waiting', 'delayed', 'active', 'paused', 'completed', 'failed', 'cancelled'] as const;
type State = (typeof STATES)[number];

/**
 * The exporter's metrics, read from Redis at each scrape (PRODUCT.md, "Metrics"). Every metric
 * waits for the same collect, which reads everything first and then replaces every queue series
 * at once: a scrape shows one moment, and a queue that is gone leaves no series behind.
 *
 * `asyncq_up` says whether Redis answers (a PING on a connection of its own, so a long read does
 * not delay it): when it does not, the scrape still answers, with `asyncq_up 0`, one more
 * `asyncq_scrape_errors_total` and no queue series (stale figures would look live). A Redis that
 * answers but holds more queues than one collect can read in its time limit is not down: the
 * scrape answers in time with what it read, `asyncq_scrape_partial 1` and one more
 * `asyncq_scrape_timeouts_total`, and reads the rest first at the next collect.
 */
export class QueueExporter {
  readonly registry = new Registry();
  /** True when the last collect reached Redis. */
  up = false;
  /** Why the last collect failed. */
  failure?: Error;
  private readonly snapshots: QueueSnapshots;
  private readonly timeoutMs: number;
  private readonly pingTimeoutMs: number;
  private readonly where: string;
  private connecting?: Promise<RedisClient>;
  private probing?: Promise<RedisClient>;
  private collecting?: Promise<void>;
  /** The time limit the next collect gets, when a scrape asks for less than the default. */
  private nextLimitMs?: number;
  /** When the last collect ended, and how long the answer after it took, ms. */
  private collectEnded = 0;
  private answerMs = 0;
  private readonly scrape: {
    up: Gauge;
    errors: Counter;
    timeouts: Counter;
    partial: Gauge;
    duration: Gauge;
    unreadable: Counter;
  };
  private readonly perQueue: Record<
    'tasks' | 'partitionTasks' | 'completed' | 'failed' | 'cancelled' | 'enqueued' | 'unfinished' | 'workers' | 'desired' | 'oldest' | 'drain' | 'maxsize' | 'putsWaiting' | 'joinersWaiting' | 'paused' | 'shutdown' | 'slots' | 'busySlots',
    QueueFamily
  >;
  private readonly limits: LimitsSeries;

  constructor(private readonly opts: QueueExporterOptions) {
    this.snapshots = new QueueSnapshots(opts.prefix, opts.queues);
    this.timeoutMs = opts.timeoutMs ?? 6000;
    this.pingTimeoutMs = Math.min(opts.pingTimeoutMs ?? 2000, this.timeoutMs);
    this.where = whereIs(opts.connection);
    const registers = [this.registry];
    const collect = (): Promise<void> => this.collect();
    const gauge = <L extends string>(name: string, help: string, labelNames: L[]): Gauge<L> => new Gauge({ name, help, labelNames, registers, collect });
    const counter = <L extends string>(name: string, help: string, labelNames: L[]): Counter<L> => new Counter({ name, help, labelNames, registers, collect });
    this.scrape = {
      up: gauge('asyncq_up', 'Whether Redis answered the last collect (1) or not (0); a slow collect is not a down Redis: see asyncq_scrape_partial.', []),
      errors: counter('asyncq_scrape_errors_total', 'Collects that failed: Redis unreachable, or no answer to a PING within its time limit.', []),
      timeouts: counter('asyncq_scrape_timeouts_total', 'Collects that ran out of time while Redis answered: they exported what they had read (asyncq_scrape_partial).', []),
      partial: gauge(
        'asyncq_scrape_partial',
        'Whether the last collect ran out of time (1): queues it did not reach show their figures from an earlier collect, and are read first at the next.',
        [],
      ),
      duration: gauge('asyncq_scrape_duration_seconds', 'How long the last collect took to read Redis.', []),
      unreadable: counter('asyncq_scrape_queue_errors_total', 'Queue reads that failed on damaged data (a key of the wrong type): such a queue has no series.', []),
    };
    const family = (name: string, help: string, type: 'gauge' | 'counter', labelNames: string[]): QueueFamily =>
      new QueueFamily(name, help, type, labelNames, collect).registerWith(this.registry);
    this.perQueue = {
      tasks: family(
        'asyncq_queue_tasks',
        'Tasks by state now: waiting (ready, held-back ones included), delayed, active, paused (ready but held back by a pause; also in waiting), ' +
          'and completed, failed and cancelled: the finished tasks KEPT in Redis (trimmed to keepCompleted, and keepFailed for the other two), not all of them: ' +
          'see asyncq_queue_completed_total, asyncq_queue_failed_total and asyncq_queue_cancelled_total for those.',
        'gauge',
        ['queue', 'state'],
      ),
      partitionTasks: family('asyncq_queue_partition_tasks', 'Tasks by state in each partition of a partitioned queue (states as in asyncq_queue_tasks).', 'gauge', ['queue', 'partition', 'state']),
      completed: family('asyncq_queue_completed_total', 'Tasks completed since the queue was created (a counter kept in Redis).', 'counter', ['queue']),
      failed: family('asyncq_queue_failed_total', 'Tasks failed for good since the queue was created (a counter kept in Redis; retried attempts are not in it).', 'counter', ['queue']),
      cancelled: family(
        'asyncq_queue_cancelled_total',
        'Tasks cancelled before they finished since the queue was created (a counter kept in Redis; waiting, delayed and running ones alike).',
        'counter',
        ['queue'],
      ),
      enqueued: family('asyncq_queue_enqueued_total', 'Tasks put since the queue was created (a counter kept in Redis).', 'counter', ['queue']),
      unfinished: family('asyncq_queue_unfinished', 'Tasks not finished: waiting, delayed and running (what join waits for).', 'gauge', ['queue']),
      workers: family('asyncq_workers', 'Live workers, by heartbeat.', 'gauge', ['queue']),
      desired: family('asyncq_workers_desired', 'The worker count set with asyncq scale or by an autoscaling fleet; absent while none is set.', 'gauge', ['queue']),
      oldest: family('asyncq_queue_oldest_waiting_seconds', 'How long the oldest ready task has waited; 0 when none is ready.', 'gauge', ['queue']),
      drain: family(
        'asyncq_queue_drain_seconds',
        `Estimated seconds to finish the unfinished tasks: unfinished / the finish rate (completed plus failed for good per second, ` +
          `from the Redis counters, exponentially smoothed over ${DRAIN_RATE_TAU_MS / 1000} s); 0 when nothing is unfinished, at most ${MAX_DRAIN_SECONDS}.`,
        'gauge',
        ['queue'],
      ),
      maxsize: family('asyncq_queue_maxsize', 'The queue\'s maxsize: most tasks ready or delayed at once before put waits; 0 when unbounded.', 'gauge', ['queue']),
      putsWaiting: family(
        'asyncq_queue_puts_waiting',
        'Whether producers are blocked (1): a put waits for room because the queue is at its maxsize (backpressure).',
        'gauge',
        ['queue'],
      ),
      joinersWaiting: family('asyncq_queue_joiners_waiting', 'Whether some process waits in join() for every task to finish (1).', 'gauge', ['queue']),
      paused: family('asyncq_queue_paused', 'Whether the queue is paused (1): workers get no tasks until asyncq resume; an empty paused queue is not an idle one.', 'gauge', ['queue']),
      shutdown: family('asyncq_queue_shutdown', 'Whether the queue is shut down (1): puts are refused until asyncq reopen.', 'gauge', ['queue']),
      slots: family('asyncq_worker_slots', 'Task slots of the live workers: their concurrency added up (at their last heartbeat).', 'gauge', ['queue']),
      busySlots: family(
        'asyncq_worker_slots_busy',
        'Slots running a task at the workers\' last heartbeat; busy / slots is the utilisation.',
        'gauge',
        ['queue'],
      ),
    };
    this.limits = new LimitsSeries(opts.prefix, family);
  }

  /** The Prometheus text of every metric, after one collect: what `registry.metrics()` gives, in a fraction of the time at many queues. */
  metrics(): Promise<string> {
    return registryText(this.registry);
  }

  /** Reads Redis and updates every metric; concurrent calls (one per metric of a scrape) share one read. */
  collect(): Promise<void> {
    return (this.collecting ??= this.collectNow().finally(() => (this.collecting = undefined)));
  }

  /**
   * Reads for a scrape that must be answered within `limitMs` (Prometheus sends its scrape timeout):
   * the collect it starts gets that, less a margin for the answer, if it is less than the default.
   */
  limitNextCollect(limitMs: number): void {
    const margin = Math.max(ANSWER_MARGIN_MS, 1.5 * this.answerMs);
    if (Number.isFinite(limitMs) && limitMs > 0) this.nextLimitMs = Math.max(500, limitMs - margin);
  }

  /** Notes that a scrape's answer has been sent, so that the next collect keeps time for one as long. */
  answered(): void {
    if (this.collectEnded > 0) this.answerMs = Math.max(0, Date.now() - this.collectEnded);
  }

  /** Whether Redis answers a PING within the time limit: `/healthz`. */
  async health(): Promise<{ ok: true } | { ok: false; error: string }> {
    try {
      await this.ping();
      return { ok: true };
    } catch (e) {
      return { ok: false, error: (e as Error).message };
    }
  }

  async close(): Promise<void> {
    await this.collecting?.catch(() => {});
    this.snapshots.close();
    await this.limits.close();
    for (const c of await Promise.all([this.connecting?.catch(() => undefined), this.probing?.catch(() => undefined)])) c?.disconnect();
  }

  /**
   * The connection that reads queues, made at the first collect and retried at the next after a
   * failure. Its commands may take longer than a collect (one abandoned at the time limit is kept
   * when it arrives), so their own limit is long: a Redis that hangs is found by the PING.
   */
  private client(): Promise<RedisClient> {
    this.connecting ??= connectRedis(this.opts.connection, { name: 'asyncq:metrics', connectTimeout: this.pingTimeoutMs, commandTimeout: this.timeoutMs + 30_000 });
    this.connecting.catch(() => (this.connecting = undefined));
    return this.connecting;
  }

  /** A PING on a connection of its own: never queued behind a long read. */
  private async ping(): Promise<void> {
    // The PING's own limit is withinTime's below (which lets an answer already here in first).
    this.probing ??= connectRedis(this.opts.connection, { name: 'asyncq:metrics-probe', connectTimeout: this.pingTimeoutMs, commandTimeout: this.pingTimeoutMs + 5000 });
    this.probing.catch(() => (this.probing = undefined));
    const probe = this.probing;
    await withinTime(
      probe.then((c) => c.ping()),
      this.pingTimeoutMs,
      this.where,
    );
  }

  private async collectNow(): Promise<void> {
    const started = Date.now();
    const limitMs = Math.min(this.timeoutMs, this.nextLimitMs ?? Infinity);
    this.nextLimitMs = undefined;
    let read: SnapshotRead | undefined;
    try {
      await this.ping();
      const client = await withinTime(this.client(), this.pingTimeoutMs, this.where);
      read = await this.snapshots.read(client, started + limitMs);
      // Limits are a detail: a failure to read them leaves their series out, not Redis down.
      await this.limits.read(client, read.snapshots.map((q) => ({ name: q.name, partitions: q.partitions.length }))).catch(() => this.limits.reset());
      this.up = true;
      this.failure = undefined;
    } catch (e) {
      this.up = false;
      this.failure = e instanceof Error ? e : new Error(String(e));
      this.scrape.errors.inc();
    }
    this.scrape.up.set(this.up ? 1 : 0);
    this.scrape.partial.set(read?.partial ? 1 : 0);
    if (read?.partial) this.scrape.timeouts.inc();
    if (read?.unreadable) this.scrape.unreadable.inc(read.unreadable);
    this.collectEnded = Date.now();
    this.scrape.duration.set((this.collectEnded - started) / 1000);
    for (const m of Object.values(this.perQueue)) m.reset();
    for (const s of read?.snapshots ?? []) this.setSeries(s);
  }

  private setSeries(s: QueueSnapshot): void {
    const m = this.perQueue;
    const queue = s.name;
    const byState = (c: QueueSnapshot['partitions'][number]): Record<State, number> => ({
      waiting: c.waiting,
      delayed: c.delayed,
      active: c.active,
      paused: s.state.paused ? c.waiting : c.paused,
      completed: c.completed,
      failed: c.failed,
      cancelled: c.cancelled,
    });
    const total = { waiting: 0, delayed: 0, active: 0, paused: 0, completed: 0, failed: 0, cancelled: 0 };
    let unfinished = 0;
    s.partitions.forEach((c, partition) => {
      const counts = byState(c);
      for (const state of STATES) total[state] += counts[state];
      unfinished += c.unfinished;
      if (s.partitions.length > 1) for (const state of STATES) m.partitionTasks.add([queue, String(partition), state], counts[state]);
    });
    for (const state of STATES) m.tasks.add([queue, state], total[state]);
    // Counters mirror Redis' own totals: a queue created again starts from 0, which Prometheus reads as a counter reset.
    m.completed.add([queue], s.totals.completed);
    m.failed.add([queue], s.totals.failed);
    m.cancelled.add([queue], s.totals.cancelled);
    m.enqueued.add([queue], s.totals.added);
    m.unfinished.add([queue], unfinished);
    m.workers.add([queue], s.workers);
    if (s.desired !== undefined) m.desired.add([queue], s.desired.count);
    m.oldest.add([queue], s.oldestWaitingMs / 1000);
    m.drain.add([queue], drainGauge(s.drain, unfinished, s.finishedPerSec));
    m.maxsize.add([queue], s.state.maxsize);
    m.putsWaiting.add([queue], s.state.putsWaiting ? 1 : 0);
    m.joinersWaiting.add([queue], s.state.joinersWaiting ? 1 : 0);
    m.paused.add([queue], s.state.paused ? 1 : 0);
    m.shutdown.add([queue], s.state.shutdown ? 1 : 0);
    m.slots.add([queue], s.slots);
    m.busySlots.add([queue], s.busySlots);
  }
}
