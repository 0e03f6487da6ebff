import type { Cluster, ClusterNode, ClusterOptions, Redis, RedisOptions } from 'ioredis';

/**
 * The order in which `get` hands out ready tasks.
 * - `fifo`: oldest first (asyncio `Queue`).
 * - `lifo`: newest first (asyncio `LifoQueue`).
 * - `priority`: lowest priority number first, FIFO among equals (asyncio `PriorityQueue`).
 */
export type QueueOrder = 'fifo' | 'lifo' | 'priority';

/** Retry delay between attempts of a failed task. */
export interface BackoffOptions {
  /** `fixed` waits `delay` every time; `exponential` waits `delay * 2^(attempt-1)`. */
  type: 'fixed' | 'exponential';
  /** Base delay in milliseconds. */
  delay: number;
  /** Spread the delay randomly by up to this fraction (0..1). @defaultValue 0 */
  jitter?: number;
}

/** Options for one `put`. */
export interface PutOptions {
  /** The task's name, which picks its handler in a worker. @defaultValue 'task' */
  name?: string;
  /** Lower runs first. An integer from 0 to 2,097,150. Required for `priority` queues unless the item carries it. */
  priority?: number;
  /** Milliseconds before the task becomes ready. @defaultValue 0 */
  delay?: number;
  /** How many times the task may be tried before it fails for good. @defaultValue 1 */
  attempts?: number;
  /** Delay between attempts; a number means a fixed delay in ms. */
  backoff?: number | BackoffOptions;
  /**
   * Deduplication id: a put with the id of a task that still exists (waiting,
   * held, delayed, or kept after finishing) adds nothing and returns that id.
   * Must not contain `:` and must not be an integer.
   */
  id?: string;
  /**
   * Ordering key of a partitioned queue: tasks with the same key go to the same partition, so
   * they keep their order among themselves. Without it (and without `id`), puts go round robin.
   */
  key?: string;
  /** The task's group (a tenant, say): groups are served round-robin, each under `setLimits({ perGroup })`. 1-200
   * characters without `:`, braces or whitespace. README, "Groups". */
  group?: string;
  /** Abort a `put` that is waiting for room. */
  signal?: AbortSignal;
  /** Give up waiting for room after this many ms (throws `WaitAborted` with code `TIMEOUT`); `Infinity` waits for ever. */
  timeout?: number;
}

/** Options for a waiting call (`get`, `getTask`, `join`). */
export interface WaitOptions {
  /** Abort the wait; nothing is lost or duplicated. */
  signal?: AbortSignal;
  /** Give up after this many ms (throws `WaitAborted` with code `TIMEOUT`); `Infinity` waits for ever. */
  timeout?: number;
}

/** Options for `shutdown`. */
export interface ShutdownOptions {
  /**
   * Also discard the tasks still waiting (they count as finished) and wake
   * every waiting `get` with `QueueShutDown`. @defaultValue false
   */
  immediate?: boolean;
}

/** Task counts by state, cluster-wide. */
export interface QueueCounts {
  /** Ready and not yet got (what `qsize` returns). */
  waiting: number;
  /** Waiting for their `delay` or retry backoff. */
  delayed: number;
  /** Held by a consumer. */
  active: number;
  /** Finished successfully and still kept. */
  completed: number;
  /** Failed for good and still kept (dead letters). */
  failed: number;
  /** Cancelled and still kept. */
  cancelled: number;
  /** Not finished: what `join` waits for (waiting + delayed + active, and flow steps not started yet). */
  unfinished: number;
}

/** One item of `putMany`. */
export interface PutManyItem<T> {
  item: T;
  opts?: Omit<PutOptions, 'signal' | 'timeout'>;
}

/** Options of `putMany`. */
export interface PutManyOptions extends WaitOptions {
  /** Called after each batch with how many items are in and how many there are in all. */
  onProgress?: (put: number, total: number) => void;
  /** Items per Redis round trip. @defaultValue 1000 */
  batchSize?: number;
}

/** A worker process as it registers itself in Redis. */
export interface WorkerInfo {
  id: string;
  host: string;
  pid: number;
  queue: string;
  concurrency: number;
  /** ms since the epoch */
  startedAt: number;
  /** Tasks done since start. */
  done: number;
  /** Task attempts failed since start. */
  failed: number;
  /** ms since the epoch; a worker whose heartbeat is older than its TTL drops out of the list. */
  lastHeartbeat: number;
  /** The id of the worker's queue handle: the prefix of the lease ids its tasks are held under. */
  handle?: string;
  /** Tasks running now. */
  running?: number;
  /** The tasks running now (at most a few), for operators. */
  current?: { id: string; name: string; startedAt: number }[];
  /** The worker package version. */
  version?: string;
  /** How often it beats, ms: a reader tells a worker that stopped reporting from one merely between beats. */
  heartbeatMs?: number;
}

/** A fleet supervisor (`asyncq fleet`) as it registers itself in Redis. */
export interface FleetInfo {
  id: string;
  host: string;
  pid: number;
  queue: string;
  /** Worker processes it runs now. */
  workers: number;
  startedAt: number;
  lastHeartbeat: number;
  /**
   * Which process table `pid` belongs to (the machine's boot and the pid namespace, on Linux):
   * another fleet with the same one can tell whether this fleet's process still runs.
   */
  processSpace?: string;
}

// A listed task and its states live in task-summary.ts (this file keeps to 300 lines); they are public types all the same.
export type { TaskState, TaskSummary } from './task-summary.js';

/**
 * Where Redis is:
 * - a URL: `redis://user:pass@host:6379/0`, `rediss://` for TLS (URL-encode special characters
 *   in the password);
 * - ioredis options, including a Sentinel group: `{ sentinels: [{ host, port }], name: 'mymaster' }`;
 * - a URL with more ioredis options: `{ url: 'rediss://host:6380', tls: { ca } }`;
 * - a Redis Cluster: `{ cluster: [{ host, port }, ...], clusterOptions? }`;
 * - an ioredis `Redis` or `Cluster` instance, which asyncq then shares and never closes.
 */
export type ConnectionOption = string | RedisOptions | UrlConnection | ClusterConnection | Redis | Cluster;

/** A URL plus ioredis options that a URL cannot say (a TLS CA, timeouts). */
export interface UrlConnection extends RedisOptions {
  url: string;
}

/** A Redis Cluster to connect to: some of its nodes, and ioredis cluster options. */
export interface ClusterConnection {
  cluster: (ClusterNode | string)[];
  clusterOptions?: ClusterOptions;
}

/** Options of a Redis-backed {@link Queue}. */
export interface QueueOptions {
  /** Where Redis is. @defaultValue `process.env.REDIS_URL` or `redis://127.0.0.1:6379` */
  connection?: ConnectionOption;
  /** Most tasks waiting at once (ready or delayed); `put` waits while full. 0 is unbounded. @defaultValue 0 */
  maxsize?: number;
  /** Order of `get`. @defaultValue 'fifo' */
  order?: QueueOrder;
  /** Prefix of every Redis key. @defaultValue 'asyncq' */
  prefix?: string;
  /**
   * Spread the queue over this many partitions, each in its own hash slot (so over the masters of
   * a Redis Cluster); `join`, `maxsize` and `shutdown` still hold for the queue as a whole.
   * Every handle of a queue must use the same count. @defaultValue 1
   */
  partitions?: number;
  /**
   * How long, in ms, the tasks a handle holds stay its own without a renewal. A live handle renews
   * them every third of this; when its process dies they go back to the queue after at most this
   * plus `stalledInterval`. Raise it if handlers block the event loop for longer. @defaultValue 7000
   */
  lease?: number;
  /** How often, in ms, an idle consumer looks for tasks of crashed consumers (busy ones look on every fetch). @defaultValue 2000 */
  stalledInterval?: number;
  /**
   * The clock schedules are fired and upserted by (ms since the epoch), for tests that move time;
   * every other part keeps Redis's clock. @defaultValue Redis's clock (`TIME`)
   */
  scheduleClock?: () => number;
  /**
   * Most tasks a consuming handle reserves ahead of its gets, so that a consumer loop finds its next
   * task at once instead of waiting a round trip: they come with its acknowledgements, in the same
   * call. Only a handle that acknowledges fetches ahead, and no more than its gets took in the last
   * 50 ms: a handle that gets once, or slowly, holds (nearly) none, and a task fetched ahead that no
   * get claims within 200 ms goes back to the front of the queue. Tasks fetched ahead are under the
   * handle's lease: when its process is killed they come back after `lease`, with the ones it was
   * running, so a kill delays at most `prefetch` more tasks. 0 fetches nothing ahead: every get that
   * finds nothing waits for its own round trip. @defaultValue 0 (64 measured faster at c=1, but its
   * fetched-ahead tasks pushed the kill storm's redelivery p99 past 10 s)
   */
  prefetch?: number;
  /** How many times a task may lose its consumer before it fails for good. @defaultValue 5 */
  maxStalls?: number;
  /** How many completed tasks to keep (for results and inspection). @defaultValue 1000 */
  keepCompleted?: number;
  /** How many failed tasks to keep as dead letters. @defaultValue 10000 */
  keepFailed?: number;
  /** How many `log` lines to keep per task. @defaultValue 1000 */
  keepLogs?: number;
  /** How many error stacks to keep per task (one per failed attempt). @defaultValue 10 */
  keepStacks?: number;
  /** Largest item, as JSON, that `put` accepts. @defaultValue 1048576 (1 MiB) */
  maxPayloadBytes?: number;
  /** Largest result, as JSON, that `done` accepts. @defaultValue 1048576 (1 MiB) */
  maxResultBytes?: number;
  /** Most bytes of error message and stack kept per failed attempt. @defaultValue 16384 */
  maxErrorBytes?: number;
  /** How long to wait for Redis at the first connection before failing with `RedisUnreachable`. @defaultValue 5000 */
  connectTimeout?: number;
  /**
   * How long one command may wait for Redis (through reconnects) before failing with
   * `RedisUnreachable`; waits (`get`, `join`, ...) keep retrying through an outage. @defaultValue 20000
   */
  commandTimeout?: number;
  /**
   * Refuse to run on a Redis that may evict keys (`maxmemory-policy` other than `noeviction`),
   * with a `RedisMisconfigured` error, instead of warning once per process.
   * @defaultValue false
   */
  strictRedis?: boolean;
}

/** Options of an in-process {@link LocalQueue}. */
export interface LocalQueueOptions {
  /** Most tasks waiting at once; `put` waits while full. 0 is unbounded. @defaultValue 0 */
  maxsize?: number;
  /** Order of `get`. @defaultValue 'fifo' */
  order?: QueueOrder;
  /** How many completed tasks to remember. @defaultValue 1000 */
  keepCompleted?: number;
  /** How many failed tasks to keep as dead letters. @defaultValue 10000 */
  keepFailed?: number;
  /** Largest item, as JSON, that `put` accepts. @defaultValue 1048576 (1 MiB) */
  maxPayloadBytes?: number;
  /** Largest result, as JSON, that `done` accepts. @defaultValue 1048576 (1 MiB) */
  maxResultBytes?: number;
  /** Most bytes of error message and stack kept per failed attempt. @defaultValue 16384 */
  maxErrorBytes?: number;
}

/** A dead letter: a task that failed for good. */
export interface FailedTask<T = unknown> {
  id: string;
  data: T;
  /** Attempts made. */
  attempts: number;
  /** The last error's message. */
  error: string;
  /** The last error's stack, when there was one. */
  stack?: string;
}

