import { abortableWait, removeFrom, type Waiter } from './abortable-wait.js';
import { QueueClosed, QueueEmpty, QueueFull, QueueShutDown, TaskFailed, TaskNotFound } from './errors.js';
import { HeldTasks } from './held-tasks.js';
import { MinHeap } from './min-heap.js';
import { backoffDelay, checkInt, checkOrder, checkPutOptions, type CheckedPut } from './options.js';
import { assertJsonSafe } from './payload.js';
import { describeError, TaskHandle, type TaskFinisher } from './task-handle.js';
import type {
  AsyncQueue,
  FailedTask,
  LocalQueueOptions,
  PutManyItem,
  PutManyOptions,
  PutOptions,
  QueueCounts,
  QueueOrder,
  ShutdownOptions,
  Task,
  WaitOptions,
} from './types.js';

interface Entry<T> {
  id: string;
  data: T;
  readyAt: number;
  progress?: number | object;
  logs: string[];
  /** 0 for tasks without a priority, else 1 + priority: unprioritized tasks go first, as in BullMQ. */
  klass: number;
  rank: number;
  opts: CheckedPut;
  attemptsMade: number;
  timer?: NodeJS.Timeout;
}

type LocalTask<T> = TaskHandle<T, Entry<T>>;

/** Ranks below this are tasks handed back to the head of the queue. */
const FRONT = -1e15;

/**
 * An in-process queue with exactly the interface and semantics of the Redis
 * {@link Queue}: maxsize, orders, delays, retries, dead letters, join and
 * shutdown. Use it in tests and in single-process programs.
 *
 * @example
 * ```ts
 * const q = new LocalQueue<number>({ maxsize: 10 });
 * await q.put(1);
 * const n = await q.get();
 * await q.taskDone();
 * await q.join();
 * ```
 */
export class LocalQueue<T = unknown> implements AsyncQueue<T>, TaskFinisher<T> {
  readonly name: string;
  readonly maxsize: number;
  readonly order: QueueOrder;
  private readonly keepCompleted: number;
  private readonly keepFailed: number;
  private readonly ready: MinHeap<Entry<T>>;
  private readonly delayed = new Set<Entry<T>>();
  private readonly held: HeldTasks<LocalTask<T>>;
  /** Every id that dedups a put: unfinished tasks and kept finished ones. */
  private readonly known = new Set<string>();
  private readonly completedIds: string[] = [];
  private readonly dead: FailedTask<T>[] = [];
  private readonly getters: Waiter<LocalTask<T>>[] = [];
  private readonly putters: { entry: Entry<T>; waiter: Waiter<string> }[] = [];
  private readonly joiners: Waiter<void>[] = [];
  /** Outcomes of finished tasks still kept, for `result`. */
  private readonly outcomes = new Map<string, { value: unknown } | { error: Error }>();
  private readonly resultWaiters = new Map<string, Waiter<unknown>[]>();
  private unfinished = 0;
  private completedCount = 0;
  private seq = 0;
  private frontSeq = 0;
  private shutdownMode: 'graceful' | 'immediate' | undefined;
  private closed = false;

  constructor(opts: LocalQueueOptions & { name?: string } = {}) {
    this.name = opts.name ?? 'local';
    this.maxsize = checkInt('maxsize', opts.maxsize, 0);
    this.order = checkOrder(opts.order);
    this.keepCompleted = checkInt('keepCompleted', opts.keepCompleted, 1000);
    this.keepFailed = checkInt('keepFailed', opts.keepFailed, 10_000);
    this.ready = new MinHeap((a, b) => a.klass < b.klass || (a.klass === b.klass && a.rank < b.rank));
    this.held = new HeldTasks(this.name);
  }

  async put(item: T, opts?: PutOptions): Promise<string> {
    const entry = this.prepare(item, opts);
    if (this.isDuplicate(entry)) return entry.id;
    if (!this.isFull()) return this.insert(entry);
    return this.waitForRoom(entry, opts);
  }

  private waitForRoom(entry: Entry<T>, opts: WaitOptions | undefined): Promise<string> {
    return abortableWait<string>('put', opts, (waiter) => {
      const slot = { entry, waiter };
      this.putters.push(slot);
      return () => removeFrom(this.putters, slot);
    });
  }

  async putNowait(item: T, opts?: Omit<PutOptions, 'signal' | 'timeout'>): Promise<string> {
    const entry = this.prepare(item, opts);
    if (this.isDuplicate(entry)) return entry.id;
    if (this.isFull()) throw new QueueFull(this.name, this.maxsize);
    return this.insert(entry);
  }

  async putMany(items: Iterable<PutManyItem<T>>, opts?: PutManyOptions): Promise<string[]> {
    this.checkOpen();
    const all = [...items];
    const batchSize = checkInt('batchSize', opts?.batchSize, 1000, 1);
    // Every item is checked before any is added, so a bad one refuses the call with nothing enqueued.
    const entries = all.map(({ item, opts: o }, i) => {
      try {
        return this.prepare(item, o);
      } catch (e) {
        (e as Error).message = `item ${i}: ${(e as Error).message}`;
        throw e;
      }
    });
    const ids: string[] = [];
    for (const entry of entries) {
      ids.push(this.isDuplicate(entry) ? entry.id : !this.isFull() ? this.insert(entry) : await this.waitForRoom(entry, opts));
      if (ids.length % batchSize === 0 || ids.length === entries.length) opts?.onProgress?.(ids.length, entries.length);
    }
    return ids;
  }

  async result(id: string, opts?: WaitOptions): Promise<unknown> {
    this.checkOpen();
    const outcome = this.outcomes.get(id);
    if (outcome) {
      if ('error' in outcome) throw outcome.error;
      return outcome.value;
    }
    if (!this.known.has(id)) throw new TaskNotFound(this.name, id);
    return abortableWait<unknown>('result', opts, (waiter) => {
      const list = this.resultWaiters.get(id) ?? [];
      list.push(waiter);
      this.resultWaiters.set(id, list);
      return () => removeFrom(list, waiter);
    });
  }

  async get(opts?: WaitOptions): Promise<T> {
    return (await this.getTask(opts)).data;
  }

  async getNowait(): Promise<T> {
    this.checkOpen();
    const entry = this.ready.pop();
    if (!entry) {
      if (this.isShutDownAndEmpty()) throw new QueueShutDown(this.name);
      throw new QueueEmpty(this.name);
    }
    return this.hold(entry).data;
  }

  async getTask(opts?: WaitOptions): Promise<Task<T>> {
    this.checkOpen();
    const entry = this.ready.pop();
    if (entry) return this.hold(entry);
    if (this.isShutDownAndEmpty()) throw new QueueShutDown(this.name);
    return abortableWait<LocalTask<T>>('get', opts, (waiter) => {
      this.getters.push(waiter);
      return () => removeFrom(this.getters, waiter);
    });
  }

  async taskDone(taskOrId?: Task<T> | string): Promise<void> {
    this.checkOpen();
    await this.complete(this.held.pick(taskOrId), undefined);
  }

  async join(opts?: WaitOptions): Promise<void> {
    this.checkOpen();
    if (this.unfinished === 0) return;
    return abortableWait<void>('join', opts, (waiter) => {
      this.joiners.push(waiter);
      return () => removeFrom(this.joiners, waiter);
    });
  }

  async qsize(): Promise<number> {
    return this.ready.size;
  }

  async empty(): Promise<boolean> {
    return this.ready.size === 0;
  }

  async full(): Promise<boolean> {
    return this.isFull();
  }

  async counts(): Promise<QueueCounts> {
    return {
      waiting: this.ready.size,
      delayed: this.delayed.size,
      active: this.held.size,
      completed: this.completedCount,
      failed: this.dead.length,
      unfinished: this.unfinished,
    };
  }

  async failedTasks(start = 0, end = -1): Promise<FailedTask<T>[]> {
    const newestFirst = [...this.dead].reverse();
    return newestFirst.slice(start, end < 0 ? undefined : end + 1);
  }

  async shutdown(opts?: ShutdownOptions): Promise<void> {
    this.checkOpen();
    if (opts?.immediate) {
      this.shutdownMode = 'immediate';
      const discarded = [...this.ready.drain(), ...this.delayed];
      for (const e of discarded) {
        clearTimeout(e.timer);
        this.known.delete(e.id);
      }
      this.delayed.clear();
      this.unfinished -= discarded.length;
      this.wakeJoiners();
    } else if (this.shutdownMode === undefined) {
      this.shutdownMode = 'graceful';
    }
    for (const p of this.putters.splice(0)) p.waiter.reject(new QueueShutDown(this.name));
    if (this.isShutDownAndEmpty()) for (const g of this.getters.splice(0)) g.reject(new QueueShutDown(this.name));
  }

  async reopen(): Promise<void> {
    this.checkOpen();
    this.shutdownMode = undefined;
  }

  async close(): Promise<void> {
    if (this.closed) return;
    // Held tasks go back to the head of the queue, as a Redis consumer's do.
    for (const task of this.held.values()) {
      this.held.delete(task);
      task.ref.rank = FRONT - ++this.frontSeq;
      this.ready.push(task.ref);
    }
    this.closed = true;
    for (const e of this.delayed) clearTimeout(e.timer);
    const err = new QueueClosed(this.name);
    for (const w of [...this.getters.splice(0), ...this.joiners.splice(0)]) w.reject(err);
    for (const waiters of this.resultWaiters.values()) for (const w of waiters) w.reject(err);
    this.resultWaiters.clear();
    for (const p of this.putters.splice(0)) p.waiter.reject(err);
  }

  /** @internal Finishes a held task (Task.done and taskDone). */
  async complete(task: TaskHandle<T>, result: unknown): Promise<void> {
    if (result !== undefined) assertJsonSafe(result, 'result');
    this.checkOpen();
    const held = this.held.take(task);
    this.remember(this.completedIds, held.id, this.keepCompleted);
    this.completedCount++;
    this.settle(held.id, { value: result === undefined ? null : JSON.parse(JSON.stringify(result)) });
    this.finished();
  }

  /** @internal Fails one attempt of a held task (Task.fail): retried per attempts/backoff, else a dead letter. */
  async failAttempt(task: TaskHandle<T>, error: unknown): Promise<void> {
    this.checkOpen();
    const held = this.held.take(task);
    const entry = held.ref;
    entry.attemptsMade++;
    const err = describeError(error);
    if (entry.attemptsMade < entry.opts.attempts && err.name !== 'UnrecoverableError') {
      this.schedule(entry, backoffDelay(entry.opts.backoff, entry.attemptsMade));
      return;
    }
    this.dead.push({ id: entry.id, data: entry.data, attempts: entry.attemptsMade, error: err.message, stack: err.stack });
    if (this.dead.length > this.keepFailed) this.forget(this.dead.shift()!.id);
    this.settle(entry.id, { error: new TaskFailed(entry.id, err.message, err.stack) });
    this.finished();
  }

  /** @internal Task.progress. */
  async progress(task: TaskHandle<T>, value: number | object): Promise<void> {
    this.checkOpen();
    this.held.pick(task).ref.progress = value;
  }

  /** @internal Task.log. */
  async log(task: TaskHandle<T>, line: string): Promise<void> {
    this.checkOpen();
    this.held.pick(task).ref.logs.push(line);
  }

  private settle(id: string, outcome: { value: unknown } | { error: Error }): void {
    if (this.known.has(id)) this.outcomes.set(id, outcome);
    for (const w of this.resultWaiters.get(id) ?? []) {
      if ('error' in outcome) w.reject(outcome.error);
      else w.resolve(outcome.value);
    }
    this.resultWaiters.delete(id);
  }

  private forget(id: string): void {
    this.known.delete(id);
    this.outcomes.delete(id);
  }

  private finished(): void {
    this.unfinished--;
    this.wakeJoiners();
  }

  private wakeJoiners(): void {
    if (this.unfinished === 0) for (const j of this.joiners.splice(0)) j.resolve();
  }

  private remember(list: string[], id: string, keep: number): void {
    list.push(id);
    if (list.length > keep) this.forget(list.shift()!);
    if (keep === 0) this.forget(id);
  }

  private prepare(item: T, opts: PutOptions | undefined): Entry<T> {
    this.checkOpen();
    if (this.shutdownMode) throw new QueueShutDown(this.name);
    assertJsonSafe(item);
    const checked = checkPutOptions(this.order, item, opts);
    return {
      id: checked.id ?? String(++this.seq),
      // A copy through JSON, so the consumer sees what a Redis queue would deliver.
      data: JSON.parse(JSON.stringify(item)) as T,
      readyAt: Date.now() + checked.delay,
      logs: [],
      klass: checked.priority === undefined ? 0 : checked.priority + 1,
      rank: 0,
      opts: checked,
      attemptsMade: 0,
    };
  }

  private isDuplicate(entry: Entry<T>): boolean {
    return entry.opts.id !== undefined && this.known.has(entry.id);
  }

  private isFull(): boolean {
    return this.maxsize > 0 && this.ready.size + this.delayed.size >= this.maxsize;
  }

  private isShutDownAndEmpty(): boolean {
    return this.shutdownMode !== undefined && this.ready.size === 0 && this.delayed.size === 0;
  }

  private insert(entry: Entry<T>): string {
    this.known.add(entry.id);
    this.unfinished++;
    this.schedule(entry, entry.opts.delay);
    return entry.id;
  }

  private schedule(entry: Entry<T>, delay: number): void {
    if (delay > 0) {
      this.delayed.add(entry);
      entry.timer = setTimeout(() => {
        this.delayed.delete(entry);
        entry.timer = undefined;
        this.makeReady(entry);
      }, delay);
      return;
    }
    this.makeReady(entry);
  }

  private makeReady(entry: Entry<T>): void {
    const seq = ++this.seq;
    entry.rank = this.order === 'lifo' ? -seq : seq;
    this.ready.push(entry);
    this.dispatch();
  }

  /** Hands ready tasks to waiting getters, then lets waiting putters in while there is room. */
  private dispatch(): void {
    while (this.getters.length > 0 && this.ready.size > 0) {
      this.getters.shift()!.resolve(this.hold(this.ready.pop()!));
    }
    while (this.putters.length > 0 && !this.isFull()) {
      const { entry, waiter } = this.putters.shift()!;
      waiter.resolve(this.isDuplicate(entry) ? entry.id : this.insert(entry));
    }
    if (this.isShutDownAndEmpty()) for (const g of this.getters.splice(0)) g.reject(new QueueShutDown(this.name));
  }

  private hold(entry: Entry<T>): LocalTask<T> {
    const task = new TaskHandle(
      {
        id: entry.id,
        name: entry.opts.name,
        data: entry.data,
        attempt: entry.attemptsMade + 1,
        attempts: entry.opts.attempts,
        readyAt: entry.readyAt,
      },
      this,
      entry,
    );
    this.held.add(task);
    // Taking a task makes room, which may let a waiting put in.
    if (this.putters.length > 0) queueMicrotask(() => this.dispatch());
    return task;
  }

  private checkOpen(): void {
    if (this.closed) throw new QueueClosed(this.name);
  }
}
