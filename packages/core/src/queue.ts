import type { AsyncQueue, QueueCapabilities, Task } from './async-queue.js';
import { QueueClosed, TaskNotFound } from './errors.js';
import { Lazy } from './lazy.js';
import { buildConsumeSide, type ConsumeSide } from './redis/consume-side.js';
import { CancelBatcher } from './redis/cancel-batcher.js';
import { FinishWaits } from './redis/finish-waits.js';
import { FlowGate } from './redis/flow-gate.js';
import { ResultWatch } from './redis/result-watch.js';
import { locate } from './redis/partitions.js';
import { checkCancel, taskIdFor, taskRef, type CancelOptions, type FlowOptions, type FlowRef, type FlowStep, type TaskRef, type TaskRefState } from './task-ref.js';
import { PutGate } from './redis/put-gate.js';
import { applyShutdown } from './redis/admin-actions.js';
import { QueueAdmin } from './redis/queue-admin.js';
import { resolveQueueConfig, type QueueConfig } from './redis/queue-config.js';
import { RedisSession } from './redis/redis-session.js';
import { readLimits, writeLimits, type QueueLimits } from './redis/queue-limits.js';
import { ScheduleBook, type ScheduleFiring } from './redis/schedule-book.js';
import type { ScheduleInfo, ScheduleOptions, ScheduleSpec, ScheduleTemplate } from './schedule-spec.js';
import type { FailedTask, PutManyItem, PutManyOptions, PutOptions, QueueCounts, QueueOptions, QueueOrder, ShutdownOptions, WaitOptions } from './types.js';

/**
 * A Redis-backed queue with asyncio.Queue semantics across processes and machines: a queue with
 * the same name (and prefix) is the same queue in every process. Tasks live in BullMQ's key
 * layout; asyncq's own Lua moves them in batches and adds `maxsize`, `join` and `shutdown`
 * cluster-wide, and wakes waiters through Redis pub/sub with a slow safety re-check instead of
 * polling.
 *
 * This class is a facade: each method hands over to one part with one job (see `redis/`): the put
 * gate, the consumer and completion (with the handle's lease and per-partition round-trip batchers), the
 * finish waits (join, result) and the admin reads. A handle opens a command connection at its
 * first call, and a subscriber once it waits or consumes.
 *
 * @example
 * ```ts
 * const q = new Queue<{ url: string }>('thumbnails', { connection: 'redis://127.0.0.1:6379', maxsize: 1000 });
 * await q.put({ url: 'https://example.com/a.png' });
 * const item = await q.get();   // held by this handle; its lease is renewed
 * await q.taskDone();
 * await q.join();               // every task put by anyone is finished
 * await q.close();
 * ```
 */
export class Queue<T = unknown> implements AsyncQueue<T> {
  readonly name: string;
  readonly maxsize: number;
  readonly order: QueueOrder;
  /** The Redis key prefix. */
  readonly prefix: string;
  /** How many partitions (hash slots) the queue spans. */
  readonly partitions: number;
  readonly capabilities: QueueCapabilities = { shared: true };
  readonly #config: QueueConfig;
  readonly #session: Lazy<RedisSession>;
  readonly #puts: PutGate;
  readonly #waits: FinishWaits;
  readonly #results: ResultWatch;
  readonly #cancels: CancelBatcher;
  readonly #flows: FlowGate;
  readonly #consume: Lazy<ConsumeSide<T>>;
  readonly #admin: Lazy<QueueAdmin>;
  readonly #schedules: ScheduleBook;
  #closing?: Promise<void>;

  constructor(name: string, opts: QueueOptions = {}) {
    this.#config = resolveQueueConfig(name, opts);
    this.name = name;
    this.maxsize = this.#config.maxsize;
    this.order = this.#config.order;
    this.prefix = this.#config.prefix;
    this.partitions = this.#config.partitions.length;
    this.#session = new Lazy(() => RedisSession.open(this.#config));
    const session = (): Promise<RedisSession> => this.#connected();
    this.#puts = new PutGate(this.#config, session);
    this.#waits = new FinishWaits(this.#config, session);
    this.#results = new ResultWatch(this.#config, session);
    this.#cancels = new CancelBatcher(session);
    this.#flows = new FlowGate(this.#config, session, this);
    this.#consume = new Lazy(async () => buildConsumeSide<T>(await session()));
    this.#admin = new Lazy(async () => new QueueAdmin(name, { connection: (await session()).client, prefix: this.prefix }));
    this.#schedules = new ScheduleBook(session, (data, o) => this.#puts.putNowait(data as T, o), opts.scheduleClock);
  }

  /** This handle's id: the prefix of the leases of the tasks it holds (what a worker registers as `handle`). */
  get handle(): string {
    return this.#config.handleId;
  }

  put(item: T, opts?: PutOptions): Promise<string> {
    return this.#puts.put(item, opts);
  }

  putNowait(item: T, opts?: Omit<PutOptions, 'signal' | 'timeout'>): Promise<string> {
    return this.#puts.putNowait(item, opts);
  }

  putMany(items: Iterable<PutManyItem<T>>, opts?: PutManyOptions): Promise<string[]> {
    return this.#puts.putMany(items, opts);
  }

  async get(opts?: WaitOptions): Promise<T> {
    return (await this.getTask(opts)).data;
  }

  async getNowait(): Promise<T> {
    return (await this.#consumeSide()).consumer.getNowait();
  }

  getTask(opts?: WaitOptions): Promise<Task<T>> {
    // Once consuming, straight to the consumer: a loop's get is registered in the same step.
    const side = this.#consume.value;
    if (side && !this.#closing) return side.consumer.getTask(opts);
    return this.#consumeSide().then((s) => s.consumer.getTask(opts));
  }

  taskDone(taskOrId?: Task<T> | string): Promise<void> {
    const side = this.#consume.value;
    if (side && !this.#closing) return side.completion.taskDone(taskOrId);
    return this.#consumeSide().then((s) => s.completion.taskDone(taskOrId));
  }

  async submit<R = unknown>(item: T, opts?: PutOptions): Promise<TaskRef<R>> {
    return taskRef<R>(this, await this.#puts.put(item, opts), opts?.name ?? 'task');
  }

  /** A ref to a task put earlier, by id (its name only labels the ref). */
  ref<R = unknown>(id: string, name = 'task'): TaskRef<R> {
    return taskRef<R>(this, taskIdFor(this.name, id, 'ref'), name);
  }

  async result(task: string | TaskRef, opts?: WaitOptions): Promise<unknown> {
    return this.#results.result(taskIdFor(this.name, task, 'result'), opts);
  }

  async cancel(task: string | TaskRef, opts?: CancelOptions): Promise<boolean> {
    const id = taskIdFor(this.name, task, 'cancel');
    const { reason, by } = checkCancel(opts);
    const status = await this.#cancels.cancel(id, reason, by);
    if (status === 'missing') throw new TaskNotFound(this.name, id);
    return status?.startsWith('cancelled') === true;
  }

  async taskState(task: string | TaskRef): Promise<TaskRefState> {
    const id = taskIdFor(this.name, task, 'taskState');
    const s = await this.#connected();
    const { partition, jobId } = locate(id, this.partitions);
    const state = await s.scripts.taskState(this.#config.partitions[partition]!, jobId);
    if (state === 'missing') throw new TaskNotFound(this.name, id);
    return state;
  }

  /**
   * A durable chain, in Redis: each step runs once the previous one completed, with its result as
   * its item. A step that fails for good (or is cancelled) ends the chain: the later steps fail (or
   * are cancelled) with it. Resolves to the chain's ref (its last step's), with every step's.
   */
  chain<R = unknown>(steps: readonly FlowStep[], opts?: FlowOptions): Promise<FlowRef<R>> {
    return this.#flows.chain(steps, opts) as Promise<FlowRef<R>>;
  }

  /**
   * A durable chord, in Redis: the group's tasks run, and once every one completed, the callback
   * runs exactly once with their results in order. Resolves to the chord's ref (its callback's).
   */
  chord<R = unknown>(group: readonly FlowStep[], callback: FlowStep, opts?: FlowOptions): Promise<FlowRef<R>> {
    return this.#flows.chord(group, callback, opts) as Promise<FlowRef<R>>;
  }

  /** Sets the rate and concurrency limits in Redis, which every worker follows at once; `setLimits({})` clears them. */
  async setLimits(limits: QueueLimits): Promise<void> {
    await writeLimits(await this.#connected(), limits);
  }

  /** The limits in force, as they were set ({} when none). */
  async limits(): Promise<QueueLimits> {
    return readLimits(await this.#connected());
  }

  /**
   * Creates or updates the schedule `id`: each occurrence puts `template.data` with the template's put options, exactly
   * once however many processes run; workers fire it. An update with the same timing keeps its next due time.
   */
  schedule(id: string, spec: ScheduleSpec, template: ScheduleTemplate & { data: T }, opts?: ScheduleOptions): Promise<ScheduleInfo> {
    return this.#schedules.upsert(id, spec, template, opts);
  }

  /** Removes the schedule `id` (occurrences already put stay); resolves to whether it existed. */
  unschedule(id: string): Promise<boolean> {
    return this.#schedules.remove(id);
  }

  /** Every schedule of the queue, with its next and last due times and its runs. */
  schedules(): Promise<ScheduleInfo[]> {
    return this.#schedules.list();
  }

  /** Enqueues the schedule occurrences due now, each once however many call it (workers do, on a timer). */
  fireDueSchedules(): Promise<ScheduleFiring> {
    return this.#schedules.fireDue();
  }

  join(opts?: WaitOptions): Promise<void> {
    return this.#waits.join(opts);
  }

  async qsize(): Promise<number> {
    return (await this.counts()).waiting;
  }

  async empty(): Promise<boolean> {
    return (await this.qsize()) === 0;
  }

  async full(): Promise<boolean> {
    const c = await this.counts();
    return this.maxsize > 0 && c.waiting + c.delayed >= this.maxsize;
  }

  async counts(): Promise<QueueCounts> {
    const { waiting, delayed, active, completed, failed, cancelled, unfinished } = await (await this.#reads()).counts();
    return { waiting, delayed, active, completed, failed, cancelled, unfinished };
  }

  async failedTasks(start = 0, end = -1): Promise<FailedTask<T>[]> {
    return (await this.#reads()).failedTasks<T>(start, end);
  }

  async shutdown(opts?: ShutdownOptions): Promise<void> {
    await applyShutdown(await this.#connected(), opts?.immediate === true ? 'immediate' : 'graceful');
  }

  async reopen(): Promise<void> {
    await applyShutdown(await this.#connected(), 'reopen');
  }

  /**
   * Connects now rather than at the first call (like BullMQ's `waitUntilReady`): an unreachable
   * Redis, or one that refuses the handle (an ACL without a command, an evicting Redis under
   * `strictRedis`), rejects here. Reads nothing from the queue, so a partition in trouble does not.
   */
  async connect(): Promise<void> {
    await this.#connected();
  }

  /** Releases the connections; tasks held and not done go back to the front of the queue at once. */
  close(): Promise<void> {
    this.#closing ??= this.#close();
    return this.#closing;
  }

  async #close(): Promise<void> {
    this.#puts.close();
    this.#waits.close();
    this.#results.close();
    this.#flows.close();
    await (await this.#consume.ifStarted())?.close();
    await (await this.#admin.ifStarted())?.close();
    await (await this.#session.ifStarted())?.close();
  }

  async #open(): Promise<void> {
    if (this.#closing) throw new QueueClosed(this.name);
  }

  /** The session, or QueueClosed; a session that finished connecting after close() is closed at once. */
  async #connected(): Promise<RedisSession> {
    await this.#open();
    const s = await this.#session.get();
    if (this.#closing) {
      await this.#closing;
      await s.close();
      throw new QueueClosed(this.name);
    }
    return s;
  }

  async #consumeSide(): Promise<ConsumeSide<T>> {
    await this.#open();
    return this.#consume.get();
  }

  async #reads(): Promise<QueueAdmin> {
    await this.#open();
    return this.#admin.get();
  }
}

/** Shorthand for `new Queue(name, { ...opts, order: 'priority' })`: lowest priority first. */
export class PriorityQueue<T = unknown> extends Queue<T> {
  constructor(name: string, opts: Omit<QueueOptions, 'order'> = {}) {
    super(name, { ...opts, order: 'priority' });
  }
}

/** Shorthand for `new Queue(name, { ...opts, order: 'lifo' })`: newest first. */
export class LifoQueue<T = unknown> extends Queue<T> {
  constructor(name: string, opts: Omit<QueueOptions, 'order'> = {}) {
    super(name, { ...opts, order: 'lifo' });
  }
}
