import type { Queue as BullQueue } from 'bullmq';
import { Lazy } from '../lazy.js';
import { checkQueueName } from '../options.js';
import { checkCancel, defaultCanceller, type CancelOptions } from '../task-ref.js';
import type { ConnectionOption, FailedTask, TaskState, TaskSummary } from '../types.js';
import { AdminActions } from './admin-actions.js';
import { AdminReads, type AdminCounts, type HistoryPoint, type QueueState, type QueueTotals, type TaskDetails } from './admin-reads.js';
import { connectRedis, resolveConnection, toAsyncqError, type RedisClient, type RedisTarget } from './connection.js';
import { resolveQueueConfig } from './queue-config.js';
import { layoutKey } from './queue-keys.js';
import { RedisSession } from './redis-session.js';
import { groupBacklog, limitsStatus, writeLimits, type GroupBacklog, type LimitsStatus, type QueueLimits } from './queue-limits.js';
import type { CancelStatus } from './scripts.js';

export type { AdminCounts, HistoryPoint, QueueState, QueueTotals, TaskDetails } from './admin-reads.js';

/** Options of a {@link QueueAdmin}. */
export interface QueueAdminOptions {
  /** Where Redis is; an ioredis client given here is shared and left open. @defaultValue `REDIS_URL` or localhost */
  connection?: ConnectionOption;
  /** Redis key prefix. @defaultValue 'asyncq' */
  prefix?: string;
  /** How long to wait for Redis at the first call. @defaultValue 5000 */
  connectTimeout?: number;
  /** Refuse a Redis that may evict keys instead of warning (see `QueueOptions.strictRedis`). @defaultValue false */
  strictRedis?: boolean;
}

/**
 * Reads and operates on a queue without consuming it: counts, tasks, dead letters, totals,
 * timings, retry, remove, promote, pause, purge, clean, destroy. It opens one command connection
 * (or uses the client given) and no subscriber. Methods that read never write to Redis, so
 * looking at a queue that does not exist leaves no trace (`exists()` says whether it does).
 *
 * @example
 * ```ts
 * const admin = new QueueAdmin('emails', { connection: 'redis://127.0.0.1:6379' });
 * console.log(await admin.counts(), await admin.totals());
 * await admin.retryFailed();
 * await admin.close();
 * ```
 */
export class QueueAdmin {
  // One layer over two parts: each method delegates in one line to AdminReads (admin-reads.ts) or
  // AdminActions (admin-actions.ts), and is documented here only; their comments say how.
  readonly name: string;
  readonly prefix: string;
  private client?: RedisClient;
  private readonly reads: AdminReads;
  private readonly actions: AdminActions;

  constructor(
    name: string,
    private readonly opts: QueueAdminOptions = {},
  ) {
    this.name = checkQueueName(name);
    this.prefix = opts.prefix ?? 'asyncq';
    this.reads = new AdminReads(this.session);
    this.actions = new AdminActions(this.name, this.session, this.bull, this.reads);
  }

  /** Connects, and reads how many partitions the queue has. */
  private readonly opened = new Lazy(async () => {
    const client = await connectRedis(this.opts.connection, { connectTimeout: this.opts.connectTimeout, name: `asyncq:${this.name}` });
    if (client !== this.opts.connection) this.client = client;
    const recorded = await client.get(layoutKey(this.prefix, this.name));
    const partitions = recorded === null ? 1 : Number(recorded);
    const config = resolveQueueConfig(this.name, { connection: client, prefix: this.prefix, partitions, strictRedis: this.opts.strictRedis });
    return RedisSession.open(config, { reader: true });
  });

  private readonly session = (): Promise<RedisSession> => this.opened.get();

  /** A BullMQ Queue per partition, for BullMQ's own scripts on the cold paths; it never writes queue meta. */
  private readonly bullQueues = new Lazy(async () => {
    // Loaded only here: consuming and producing never need BullMQ's code (about 15 MB of a process).
    const { Queue: BullQueue } = await import('bullmq');
    const s = await this.session();
    return s.config.partitions.map((k) => {
      const q = new BullQueue(k.bullName, { connection: s.client, prefix: this.prefix, skipMetasUpdate: true });
      q.on('error', () => {}); // surfaced by the failing call instead
      return q;
    });
  });

  private readonly bull = (): Promise<BullQueue[]> => this.bullQueues.get();

  /** True when the queue has ever had a task (its BullMQ meta exists). */
  exists(): Promise<boolean> {
    return this.run(() => this.reads.exists());
  }

  /** How many partitions the queue has. */
  partitions(): Promise<number> {
    return this.run(() => this.reads.partitions());
  }

  /** Counts by state for the whole queue. */
  counts(): Promise<AdminCounts> {
    return this.run(() => this.reads.counts());
  }

  /** Counts by state of each partition. */
  partitionCounts(): Promise<AdminCounts[]> {
    return this.run(() => this.reads.partitionCounts());
  }

  /** Shutdown, pause, the maxsize gate and who waits. */
  state(): Promise<QueueState> {
    return this.run(() => this.reads.state());
  }

  /** The rate and concurrency limits in force, whether each holds tasks back now, and how many. */
  limits(): Promise<LimitsStatus> {
    return this.run(async () => limitsStatus(await this.session()));
  }

  /** The `limit` groups with the most tasks waiting, largest first, and whether perGroup limits hold each back. */
  groups(limit = 20): Promise<GroupBacklog[]> {
    return this.run(async () => groupBacklog(await this.session(), limit));
  }

  /** Sets (or with `{}` clears) the queue's limits, as `Queue.setLimits` does. */
  setLimits(limits: QueueLimits): Promise<void> {
    return this.run(async () => writeLimits(await this.session(), limits));
  }

  /**
   * Monotonic totals: every task ever added, completed, failed for good, retried, reclaimed from a
   * crashed consumer, discarded by an immediate shutdown, cancelled.
   */
  totals(): Promise<QueueTotals> {
    return this.run(() => this.reads.totals());
  }

  /** Age in ms of the oldest ready task (0 when none is ready): how far behind the workers are. */
  oldestWaitingAge(): Promise<number> {
    return this.run(() => this.reads.oldestWaitingAge());
  }

  /** Tasks in `state`, newest first for finished ones, with the lease holding each active one. */
  tasks(state: TaskState, start = 0, end = 99): Promise<TaskSummary[]> {
    return this.run(() => this.reads.tasks(state, start, end));
  }

  /** One task with its data, state, result or error, stacks and log lines; undefined when there is none. */
  task(id: string): Promise<TaskDetails | undefined> {
    return this.run(() => this.reads.task(id));
  }

  /** A task's log lines (`ctx.log`), oldest first. */
  logs(id: string, start = 0, end = -1): Promise<string[]> {
    return this.run(() => this.reads.logs(id, start, end));
  }

  /** The dead letters, newest first. */
  failedTasks<T = unknown>(start = 0, end = -1): Promise<FailedTask<T>[]> {
    return this.run(() => this.reads.failedTasks<T>(start, end));
  }

  /**
   * Completed and failed counts and run-time p50/p95 per minute (the last `count`, up to 24 hours)
   * or per hour (up to 30 days), oldest first, from rollups the workers' completion scripts keep in
   * Redis as tasks finish.
   */
  history(unit: 'minute' | 'hour', count: number): Promise<HistoryPoint[]> {
    return this.run(() => this.reads.history(unit, count));
  }

  /** Wait (ready to started) and run (started to finished) times in ms of the last `n` completed tasks. */
  recentTimings(n = 100): Promise<{ wait: number[]; run: number[] }> {
    return this.run(() => this.reads.recentTimings(n));
  }

  /**
   * Cancels tasks, for good, running ones included (see `TaskRef.cancel`): resolves to each id's
   * status: `cancelled:<where it was>` (waiting, delayed, blocked, running), `finished:<state>`
   * (nothing to cancel) or `missing`. Parts of flows go with them.
   */
  async cancel(ids: readonly string[], opts?: CancelOptions): Promise<Map<string, CancelStatus>> {
    const { reason, by } = checkCancel(opts, defaultCanceller('QueueAdmin'));
    return (await this.run(() => this.actions.cancel(ids, reason, by))).statuses;
  }

  /** Moves every failed task back to waiting for another round of attempts; resolves to how many. */
  retryFailed(): Promise<number> {
    return this.run(() => this.actions.retryFailed());
  }

  /** Moves one failed (or completed) task back to waiting; false when there is no such finished task. */
  retry(id: string): Promise<boolean> {
    return this.run(() => this.actions.retry(id));
  }

  /** Makes a delayed task ready now; false when there is no such delayed task. */
  promote(id: string): Promise<boolean> {
    return this.run(() => this.actions.promote(id));
  }

  /** Removes a task that is not running (a running one must finish or fail first); false when there is none. */
  remove(id: string): Promise<boolean> {
    return this.run(() => this.actions.remove(id));
  }

  /** Stops delivery: gets wait, puts still go in, running tasks finish. */
  pause(): Promise<void> {
    return this.run(() => this.actions.pause());
  }

  /** Resumes delivery after `pause`. */
  resume(): Promise<void> {
    return this.run(() => this.actions.resume());
  }

  /**
   * Removes every task in the given states (never running ones); resolves to how many. Purged waiting
   * and delayed tasks count as finished for join. It works in slices, one short script each, so a
   * backlog of any size never blocks Redis for long.
   */
  purge(states: readonly ('waiting' | 'delayed' | 'failed' | 'completed')[]): Promise<number> {
    return this.run(() => this.actions.purge(states));
  }

  /** Removes tasks in `state` older than `olderThanMs`, at most `limit` (0: all), in slices; resolves to how many. */
  clean(olderThanMs: number, state: 'completed' | 'failed' | 'delayed' | 'wait', limit = 0): Promise<number> {
    return this.run(() => this.actions.clean(olderThanMs, state, limit));
  }

  /** Shuts the queue down everywhere (Python 3.13 semantics), or with `immediate` also discards waiting and delayed tasks. */
  shutdown(opts: { immediate?: boolean } = {}): Promise<void> {
    return this.run(() => this.actions.shutdown(opts));
  }

  /** Accepts puts again after a shutdown. */
  reopen(): Promise<void> {
    return this.run(() => this.actions.reopen());
  }

  /**
   * Deletes the queue and everything in it (tasks in every state, results, the registry, the
   * shutdown flag), for every process. Refused while workers are registered or tasks run, unless
   * `force`. Resolves to how many keys were removed.
   */
  destroy(opts: { force?: boolean } = {}): Promise<number> {
    return this.run(() => this.actions.destroy(opts));
  }

  /**
   * BullMQ `Queue` objects over this queue's partitions (one for an unpartitioned queue), for tools
   * built on BullMQ such as bull-board. They never write queue meta; this admin closes them.
   */
  bullmq(): Promise<BullQueue[]> {
    return this.bull();
  }

  /**
   * Runs one operation, giving a refusal of Redis (an ACL that lacks a command, a key or a channel)
   * or an outage as asyncq's error ({@link RedisRefused}, {@link RedisUnreachable}) whichever
   * command met it, BullMQ's included; any other failure comes out as it is.
   */
  private async run<R>(op: () => Promise<R>): Promise<R> {
    try {
      return await op();
    } catch (e) {
      let target: RedisTarget | undefined;
      try {
        target = (await this.opened.ifStarted())?.config.target ?? resolveConnection(this.opts.connection);
      } catch {
        throw e;
      }
      throw toAsyncqError(e, target) ?? e;
    }
  }

  /** Closes the connection (unless it was given) and BullMQ's objects. */
  async close(): Promise<void> {
    // Only what was opened: building BullMQ's objects or a session just to close them would connect
    // (or load BullMQ) on the way out, and fail noisily on a connection that is going away.
    const bull = (await this.bullQueues.ifStarted()) ?? [];
    await Promise.all(bull.map((q) => q.close().catch(() => {})));
    const s = await this.opened.ifStarted();
    await s?.close();
    if (this.client) await this.client.quit().catch(() => this.client?.disconnect());
  }
}
