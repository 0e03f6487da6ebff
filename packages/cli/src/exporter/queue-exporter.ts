import { Counter, Gauge, Registry } from 'prom-client';
import { connectRedis, type ConnectionOption, type RedisClient } from '@asyncq/core';
import { drainSeconds, MAX_DRAIN_SECONDS } from '../rates.js';
import { whereIs, withinTime } from '../time-limit.js';
import { DRAIN_RATE_TAU_MS, QueueSnapshots, type QueueSnapshot } from './queue-snapshot.js';

/** Options of a {@link QueueExporter}. */
export interface QueueExporterOptions {
  connection: ConnectionOption;
  prefix: string;
  /** Queues to export. @defaultValue every queue under the prefix, found at each collect */
  queues?: readonly string[];
  /** How long a collect may take, ms; past it the scrape answers with `asyncq_up 0`. @defaultValue 3000 */
  timeoutMs?: number;
}

const STATES = ['waiting', 'delayed', 'active', 'paused', 'completed', 'failed'] as const;
type State = (typeof STATES)[number];

/**
 * The exporter's metrics, read from Redis at each scrape (PRODUCT.md, "Metrics"). Every metric
 * waits for the same collect, which reads everything first and then replaces every queue series
 * at once: a scrape shows one moment, and a queue that is gone leaves no series behind. When
 * Redis cannot be read within the time limit, the scrape still answers, with `asyncq_up 0`, one
 * more `asyncq_scrape_errors_total` and no queue series (stale figures would look live).
 */
export class QueueExporter {
  readonly registry = new Registry();
  /** True when the last collect reached Redis. */
  up = false;
  /** Why the last collect failed. */
  failure?: Error;
  private readonly snapshots: QueueSnapshots;
  private readonly timeoutMs: number;
  private readonly where: string;
  private connecting?: Promise<RedisClient>;
  private collecting?: Promise<void>;
  private readonly upGauge: Gauge;
  private readonly errors: Counter;
  private readonly perQueue: {
    tasks: Gauge<'queue' | 'state'>;
    partitionTasks: Gauge<'queue' | 'partition' | 'state'>;
    completed: Counter<'queue'>;
    failed: Counter<'queue'>;
    enqueued: Counter<'queue'>;
    unfinished: Gauge<'queue'>;
    workers: Gauge<'queue'>;
    desired: Gauge<'queue'>;
    oldest: Gauge<'queue'>;
    drain: Gauge<'queue'>;
  };

  constructor(private readonly opts: QueueExporterOptions) {
    this.snapshots = new QueueSnapshots(opts.prefix, opts.queues);
    this.timeoutMs = opts.timeoutMs ?? 3000;
    this.where = whereIs(opts.connection);
    const registers = [this.registry];
    const collect = (): Promise<void> => this.collect();
    const gauge = <L extends string>(name: string, help: string, labelNames: L[]): Gauge<L> => new Gauge({ name, help, labelNames, registers, collect });
    const counter = <L extends string>(name: string, help: string, labelNames: L[]): Counter<L> => new Counter({ name, help, labelNames, registers, collect });
    this.upGauge = gauge('asyncq_up', 'Whether the last collect reached Redis (1) or not (0).', []);
    this.errors = counter('asyncq_scrape_errors_total', 'Collects that failed: Redis unreachable, or no answer within the time limit.', []);
    this.perQueue = {
      tasks: gauge(
        'asyncq_queue_tasks',
        'Tasks by state now: waiting (ready, held-back ones included), delayed, active, paused (ready but held back by a pause; also in waiting), ' +
          'and completed and failed: the finished tasks KEPT in Redis (trimmed to keepCompleted/keepFailed), not all of them: ' +
          'see asyncq_queue_completed_total and asyncq_queue_failed_total for those.',
        ['queue', 'state'],
      ),
      partitionTasks: gauge('asyncq_queue_partition_tasks', 'Tasks by state in each partition of a partitioned queue (states as in asyncq_queue_tasks).', ['queue', 'partition', 'state']),
      completed: counter('asyncq_queue_completed_total', 'Tasks completed since the queue was created (a counter kept in Redis).', ['queue']),
      failed: counter('asyncq_queue_failed_total', 'Tasks failed for good since the queue was created (a counter kept in Redis; retried attempts are not in it).', ['queue']),
      enqueued: counter('asyncq_queue_enqueued_total', 'Tasks put since the queue was created (a counter kept in Redis).', ['queue']),
      unfinished: gauge('asyncq_queue_unfinished', 'Tasks not finished: waiting, delayed and running (what join waits for).', ['queue']),
      workers: gauge('asyncq_workers', 'Live workers, by heartbeat.', ['queue']),
      desired: gauge('asyncq_workers_desired', 'The worker count set with asyncq scale or by an autoscaling fleet; absent while none is set.', ['queue']),
      oldest: gauge('asyncq_queue_oldest_waiting_seconds', 'How long the oldest ready task has waited; 0 when none is ready.', ['queue']),
      drain: gauge(
        'asyncq_queue_drain_seconds',
        `Estimated seconds to finish the unfinished tasks: unfinished / the finish rate (completed plus failed for good per second, ` +
          `from the Redis counters, exponentially smoothed over ${DRAIN_RATE_TAU_MS / 1000} s); 0 when nothing is unfinished, at most ${MAX_DRAIN_SECONDS}.`,
        ['queue'],
      ),
    };
  }

  /** Reads Redis and updates every metric; concurrent calls (one per metric of a scrape) share one read. */
  collect(): Promise<void> {
    return (this.collecting ??= this.collectNow().finally(() => (this.collecting = undefined)));
  }

  /** Whether Redis answers a PING within the time limit: `/healthz`. */
  async health(): Promise<{ ok: true } | { ok: false; error: string }> {
    try {
      await withinTime(
        this.client().then((c) => c.ping()),
        Math.min(this.timeoutMs, 2000),
        this.where,
      );
      return { ok: true };
    } catch (e) {
      return { ok: false, error: (e as Error).message };
    }
  }

  async close(): Promise<void> {
    await this.collecting?.catch(() => {});
    await this.snapshots.close();
    const client = await this.connecting?.catch(() => undefined);
    client?.disconnect();
  }

  /** One shared connection, made at the first collect and retried at the next after a failure. */
  private client(): Promise<RedisClient> {
    this.connecting ??= connectRedis(this.opts.connection, { name: 'asyncq:metrics', connectTimeout: this.timeoutMs, commandTimeout: this.timeoutMs });
    this.connecting.catch(() => (this.connecting = undefined));
    return this.connecting;
  }

  private async collectNow(): Promise<void> {
    let snapshots: QueueSnapshot[] | undefined;
    try {
      snapshots = await withinTime(
        this.client().then((c) => this.snapshots.read(c)),
        this.timeoutMs,
        this.where,
      );
      this.up = true;
      this.failure = undefined;
    } catch (e) {
      this.up = false;
      this.failure = e instanceof Error ? e : new Error(String(e));
      this.errors.inc();
    }
    this.upGauge.set(this.up ? 1 : 0);
    for (const m of Object.values(this.perQueue)) m.reset();
    for (const s of snapshots ?? []) this.setSeries(s);
  }

  private setSeries(s: QueueSnapshot): void {
    const m = this.perQueue;
    const queue = s.name;
    const byState = (c: QueueSnapshot['partitions'][number]): Record<State, number> => ({
      waiting: c.waiting,
      delayed: c.delayed,
      active: c.active,
      paused: s.paused ? c.waiting : c.paused,
      completed: c.completed,
      failed: c.failed,
    });
    const total = { waiting: 0, delayed: 0, active: 0, paused: 0, completed: 0, failed: 0 };
    let unfinished = 0;
    s.partitions.forEach((c, partition) => {
      const counts = byState(c);
      for (const state of STATES) total[state] += counts[state];
      unfinished += c.unfinished;
      if (s.partitions.length > 1) for (const state of STATES) m.partitionTasks.set({ queue, partition: String(partition), state }, counts[state]);
    });
    for (const state of STATES) m.tasks.set({ queue, state }, total[state]);
    // Counters mirror Redis' own totals: a queue created again starts from 0, which Prometheus reads as a counter reset.
    m.completed.inc({ queue }, s.totals.completed);
    m.failed.inc({ queue }, s.totals.failed);
    m.enqueued.inc({ queue }, s.totals.added);
    m.unfinished.set({ queue }, unfinished);
    m.workers.set({ queue }, s.workers);
    if (s.desired !== undefined) m.desired.set({ queue }, s.desired);
    m.oldest.set({ queue }, s.oldestWaitingMs / 1000);
    m.drain.set({ queue }, drainSeconds(unfinished, s.finishedPerSec));
  }
}
