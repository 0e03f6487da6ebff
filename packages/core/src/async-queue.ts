import type { CancelOptions, TaskRef, TaskRefState } from './task-ref.js';
import type {
  FailedTask,
  PutManyItem,
  PutManyOptions,
  PutOptions,
  QueueCounts,
  ShutdownOptions,
  WaitOptions,
} from './types.js';

/**
 * A task held by the handle that got it, until `done` or `fail`. The Redis {@link Queue} and the
 * in-process {@link LocalQueue} hand out the same kind of object.
 */
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
  /**
   * Aborts when this handle no longer holds the task: its lease was lost (the process stalled or
   * was cut off from Redis past `lease`, so another consumer may run it now), with a `LeaseLost`
   * reason, or when the task was cancelled, with a `TaskCancelled` reason. Stop working on the task
   * then: finishing it does nothing (a cancelled task's `done` rejects with `TaskCancelled`, its
   * `taskDone` resolves). Made on first read.
   */
  readonly signal: AbortSignal;
  /** Calls `fn` once when `signal` aborts, with its reason: the same news without an AbortController per task. */
  onRelease(fn: (reason: unknown) => void): void;
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

/** What a backend can do beyond the common contract; tests and tools branch on these, not on class names. */
export interface QueueCapabilities {
  /**
   * Other handles, in this process or any other, can open the same queue by name (the Redis
   * `Queue`). False for a `LocalQueue`, which lives in its one object.
   */
  readonly shared: boolean;
}

/**
 * The interface shared by {@link Queue} (Redis) and {@link LocalQueue}
 * (in-process): asyncio.Queue semantics, with every method async.
 *
 * @example
 * ```ts
 * async function drain(q: AsyncQueue<number>): Promise<number> {
 *   let sum = 0;
 *   while (!(await q.empty())) {
 *     sum += await q.get();
 *     await q.taskDone();
 *   }
 *   return sum;
 * }
 * ```
 */
export interface AsyncQueue<T> {
  /** The queue's name. */
  readonly name: string;
  /** The bound used by this handle's `put` (0 is unbounded). */
  readonly maxsize: number;
  /** What this backend can do beyond the common contract. */
  readonly capabilities: QueueCapabilities;
  /** Add an item, waiting while the queue is full. Resolves to the task id. */
  put(item: T, opts?: PutOptions): Promise<string>;
  /**
   * Add many items in batches of one round trip each, waiting for room when bounded. Every item is
   * checked before any is added: a bad one refuses the whole call. Resolves to the task ids in order.
   */
  putMany(items: Iterable<PutManyItem<T>>, opts?: PutManyOptions): Promise<string[]>;
  /** Add an item or throw `QueueFull` at once. */
  putNowait(item: T, opts?: Omit<PutOptions, 'signal' | 'timeout'>): Promise<string>;
  /**
   * Like `put`, but resolves to a {@link TaskRef}: await its result, ask its state, or cancel it
   * (asyncio's `create_task` across processes).
   */
  submit<R = unknown>(item: T, opts?: PutOptions): Promise<TaskRef<R>>;
  /**
   * Cancels a task, for good (see {@link TaskRef.cancel}); false when it had already finished.
   * `TaskNotFound` when there is no such task.
   */
  cancel(task: string | TaskRef, opts?: CancelOptions): Promise<boolean>;
  /** Where a task is now; `TaskNotFound` when there is no such task. */
  taskState(task: string | TaskRef): Promise<TaskRefState>;
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
   * with the remote error once it failed for good, or `TaskCancelled` once it was cancelled.
   */
  result(task: string | TaskRef, opts?: WaitOptions): Promise<unknown>;
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
