import type { Redis, RedisOptions } from 'ioredis';

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
  /** Abort a `put` that is waiting for room. */
  signal?: AbortSignal;
  /** Give up waiting for room after this many ms (throws `WaitAborted` with code `TIMEOUT`). */
  timeout?: number;
}

/** Options for a waiting call (`get`, `getTask`, `join`). */
export interface WaitOptions {
  /** Abort the wait; nothing is lost or duplicated. */
  signal?: AbortSignal;
  /** Give up after this many ms (throws `WaitAborted` with code `TIMEOUT`). */
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
  /** Not finished: what `join` waits for (waiting + delayed + active). */
  unfinished: number;
}

/** A task held by the handle that got it, until `done` or `fail`. */
export interface Task<T> {
  /** The task id (also what `put` returned). */
  readonly id: string;
  /** The task's name (`put`'s `name` option). */
  readonly name: string;
  /** When the task became ready (ms since the epoch): put time plus its delay. */
  readonly readyAt: number;
  /** The item that was put. */
  readonly data: T;
  /** 1 for the first try, then one more after each failed attempt. */
  readonly attempt: number;
  /** How many attempts the task may have in all. */
  readonly attempts: number;
  /** Finish the task successfully, keeping `result` (JSON) with it. */
  done(result?: unknown): Promise<void>;
  /**
   * Fail this attempt: the task is retried per its `attempts`/`backoff`, else kept as a dead
   * letter. An error named `UnrecoverableError` skips the remaining attempts.
   */
  fail(error: unknown): Promise<void>;
  /** Record progress (a number, e.g. percent, or a JSON object) where producers and tools can read it. */
  progress(value: number | object): Promise<void>;
  /** Append a line to the task's log, kept with the task. */
  log(line: string): Promise<void>;
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
  /** The id of the worker's queue handle: the prefix of the lock tokens of the tasks it holds. */
  handle?: string;
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
}

/** The states a task can be listed in. */
export type TaskState = 'waiting' | 'delayed' | 'active' | 'completed' | 'failed';

/** A task as listed by `Queue.tasks`, for inspection. */
export interface TaskSummary {
  id: string;
  name: string;
  data: unknown;
  state: TaskState;
  /** Attempts made so far. */
  attemptsMade: number;
  /** Put time, ms since the epoch. */
  timestamp: number;
  /** The last error message, for failed (or retrying) tasks. */
  error?: string;
  /** The result, for completed tasks. */
  result?: unknown;
  /** For active tasks: the lock token of the handle holding it (its prefix is `WorkerInfo.handle`). */
  holder?: string;
}

/**
 * Where Redis is: a URL (`redis://user:pass@host:6379/0`, `rediss://` for
 * TLS), ioredis options, or an ioredis instance (which asyncq then shares and
 * never closes).
 */
export type ConnectionOption = string | RedisOptions | Redis;

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
  /** How long a held task's lease lasts; it is renewed every half of this while the process lives. @defaultValue 30000 */
  lockDuration?: number;
  /** How often leases of crashed consumers are looked for. @defaultValue 30000 */
  stalledInterval?: number;
  /** How many times a task may lose its consumer before it fails for good. @defaultValue 5 */
  maxStalls?: number;
  /** How many completed tasks to keep (for results and inspection). @defaultValue 1000 */
  keepCompleted?: number;
  /** How many failed tasks to keep as dead letters. @defaultValue 10000 */
  keepFailed?: number;
  /** How long to wait for Redis before failing with `RedisUnreachable`. @defaultValue 5000 */
  connectTimeout?: number;
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

/**
 * The interface shared by {@link Queue} (Redis) and {@link LocalQueue}
 * (in-process): asyncio.Queue semantics, with every method async.
 */
export interface AsyncQueue<T> {
  /** The queue's name. */
  readonly name: string;
  /** The bound used by this handle's `put` (0 is unbounded). */
  readonly maxsize: number;
  /** Add an item, waiting while the queue is full. Resolves to the task id. */
  put(item: T, opts?: PutOptions): Promise<string>;
  /**
   * Add many items in batches of one round trip each, waiting for room when bounded. Every item is
   * checked before any is added: a bad one refuses the whole call. Resolves to the task ids in order.
   */
  putMany(items: Iterable<PutManyItem<T>>, opts?: PutManyOptions): Promise<string[]>;
  /** Add an item or throw `QueueFull` at once. */
  putNowait(item: T, opts?: Omit<PutOptions, 'signal' | 'timeout'>): Promise<string>;
  /** Take the next ready item, waiting until there is one. This handle holds the task until `taskDone`. */
  get(opts?: WaitOptions): Promise<T>;
  /** Take the next ready item or throw `QueueEmpty` at once. */
  getNowait(): Promise<T>;
  /** Like `get`, but resolves to the {@link Task} handle. */
  getTask(opts?: WaitOptions): Promise<Task<T>>;
  /** Finish a held task: the oldest one this handle got, or the one given. */
  taskDone(taskOrId?: Task<T> | string): Promise<void>;
  /**
   * Wait for task `id` to finish: resolves to what `done(result)` kept, or throws `TaskFailed`
   * with the remote error once it failed for good.
   */
  result(id: string, opts?: WaitOptions): Promise<unknown>;
  /** Resolve once every task put by anyone is finished (done, or failed for good). */
  join(opts?: WaitOptions): Promise<void>;
  /** Ready tasks not yet got. */
  qsize(): Promise<number>;
  /** True when no task is ready. */
  empty(): Promise<boolean>;
  /** True when `put` would wait. */
  full(): Promise<boolean>;
  /** Counts by state. */
  counts(): Promise<QueueCounts>;
  /** The dead letters, newest first. */
  failedTasks(start?: number, end?: number): Promise<FailedTask<T>[]>;
  /** Shut the queue down (Python 3.13 semantics), cluster-wide for a Redis queue. */
  shutdown(opts?: ShutdownOptions): Promise<void>;
  /** Accept puts again after a shutdown. */
  reopen(): Promise<void>;
  /** Release resources; tasks held and not done go back to the queue at once. */
  close(): Promise<void>;
}
