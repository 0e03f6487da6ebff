import { abortableWait, type Waiter } from '../abortable-wait.js';
import type { AsyncQueue, QueueCapabilities, Task } from '../async-queue.js';
import { QueueClosed, QueueEmpty, QueueFull, QueueShutDown, TaskCancelled, TaskNotFound } from '../errors.js';
import { checkCancel, taskIdFor, taskRef, type CancelOptions, type TaskRef, type TaskRefState } from '../task-ref.js';
import { HeldTasks } from '../held-tasks.js';
import { checkInt, checkOrder } from '../options.js';
import { preparePut, preparePutMany, type PreparedPut, type PutLimits } from '../put-checks.js';
import { TaskHandle } from '../task-handle.js';
import type {
  FailedTask,
  LocalQueueOptions,
  PutManyItem,
  PutManyOptions,
  PutOptions,
  QueueCounts,
  QueueOrder,
  ShutdownOptions,
  WaitOptions,
} from '../types.js';
import { KeyedWaiters, unwrap, WaiterList } from '../waiters.js';
import { LocalFinisher, type LocalTask } from './local-finisher.js';
import { LocalStore, type Entry } from './local-store.js';


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
export class LocalQueue<T = unknown> implements AsyncQueue<T> {
  readonly name: string;
  readonly maxsize: number;
  readonly order: QueueOrder;
  readonly capabilities: QueueCapabilities = { shared: false };
  private readonly limits: PutLimits;
  private readonly store: LocalStore<T>;
  private readonly held: HeldTasks<LocalTask<T>>;
  private readonly finisher: LocalFinisher<T>;
  private readonly getters = new WaiterList<LocalTask<T>>();
  private readonly putters: { entry: Entry<T>; waiter: Waiter<string> }[] = [];
  private readonly joiners = new WaiterList<void>();
  private readonly results = new KeyedWaiters<unknown>();
  private shutdownMode: 'graceful' | 'immediate' | undefined;
  private closed = false;

  constructor(opts: LocalQueueOptions & { name?: string } = {}) {
    this.name = opts.name ?? 'local';
    this.maxsize = checkInt('maxsize', opts.maxsize, 0);
    this.order = checkOrder(opts.order);
    this.limits = { order: this.order, maxPayloadBytes: checkInt('maxPayloadBytes', opts.maxPayloadBytes, 1024 * 1024, 1) };
    const keepCompleted = checkInt('keepCompleted', opts.keepCompleted, 1000);
    const keepFailed = checkInt('keepFailed', opts.keepFailed, 10_000);
    this.store = new LocalStore<T>(this.order, keepCompleted, keepFailed, () => this.dispatch());
    this.held = new HeldTasks(this.name);
    this.finisher = new LocalFinisher<T>({
      store: this.store,
      held: this.held,
      results: this.results,
      maxResultBytes: checkInt('maxResultBytes', opts.maxResultBytes, 1024 * 1024, 1),
      maxErrorBytes: checkInt('maxErrorBytes', opts.maxErrorBytes, 16 * 1024, 256),
      checkOpen: () => this.checkOpen(),
      finished: () => this.wakeJoiners(),
    });
  }

  async put(item: T, opts?: PutOptions): Promise<string> {
    return this.putPrepared(preparePut(this.limits, item, opts), opts);
  }

  private async putPrepared(p: PreparedPut, opts: WaitOptions | undefined): Promise<string> {
    const entry = this.prepare(p);
    if (this.store.isDuplicate(entry)) return entry.id;
    if (!this.isFull()) return this.store.insert(entry);
    return abortableWait<string>('put', opts, (waiter) => {
      const slot = { entry, waiter };
      this.putters.push(slot);
      return () => {
        const i = this.putters.indexOf(slot);
        if (i >= 0) this.putters.splice(i, 1);
      };
    });
  }

  async putNowait(item: T, opts?: Omit<PutOptions, 'signal' | 'timeout'>): Promise<string> {
    const entry = this.prepare(preparePut(this.limits, item, opts));
    if (this.store.isDuplicate(entry)) return entry.id;
    if (this.isFull()) throw new QueueFull(this.name, this.maxsize);
    return this.store.insert(entry);
  }

  async putMany(items: Iterable<PutManyItem<T>>, opts?: PutManyOptions): Promise<string[]> {
    this.checkOpen();
    const batchSize = checkInt('batchSize', opts?.batchSize, 1000, 1, 10_000);
    const prepared = preparePutMany(this.limits, items);
    const ids: string[] = [];
    for (const p of prepared) {
      ids.push(await this.putPrepared(p, opts));
      if (ids.length % batchSize === 0 || ids.length === prepared.length) opts?.onProgress?.(ids.length, prepared.length);
    }
    return ids;
  }

  async submit<R = unknown>(item: T, opts?: PutOptions): Promise<TaskRef<R>> {
    return taskRef<R>(this, await this.put(item, opts), opts?.name ?? 'task');
  }

  async cancel(task: string | TaskRef, opts?: CancelOptions): Promise<boolean> {
    this.checkOpen();
    const id = taskIdFor(this.name, task, 'cancel');
    const { reason, by } = checkCancel(opts);
    const entry = this.store.unfinishedTask(id);
    if (!entry) {
      if (this.store.stateOf(id)) return false;
      throw new TaskNotFound(this.name, id);
    }
    const err = new TaskCancelled(id, reason, by);
    // A held task is released: its signal aborts, and a runner stops it (its result is discarded).
    const held = this.held.values().find((t) => t.ref === entry);
    if (held) this.finisher.cancelHeld(held, err);
    else this.store.cancel(entry, err);
    this.results.settle(id, { error: err });
    this.wakeJoiners();
    this.dispatch();
    return true;
  }

  async taskState(task: string | TaskRef): Promise<TaskRefState> {
    this.checkOpen();
    const id = taskIdFor(this.name, task, 'taskState');
    const state = this.store.stateOf(id);
    if (!state) throw new TaskNotFound(this.name, id);
    return state;
  }

  async result(task: string | TaskRef, opts?: WaitOptions): Promise<unknown> {
    this.checkOpen();
    const id = taskIdFor(this.name, task, 'result');
    const outcome = this.store.outcome(id);
    if (outcome) return unwrap(outcome);
    if (!this.store.knows(id)) throw new TaskNotFound(this.name, id);
    return abortableWait<unknown>('result', opts, (waiter) => this.results.add(id, waiter));
  }

  async get(opts?: WaitOptions): Promise<T> {
    return (await this.getTask(opts)).data;
  }

  async getNowait(): Promise<T> {
    this.checkOpen();
    const entry = this.store.popReady();
    if (entry) return this.hold(entry).data;
    throw this.isShutDownAndEmpty() ? new QueueShutDown(this.name) : new QueueEmpty(this.name);
  }

  async getTask(opts?: WaitOptions): Promise<Task<T>> {
    this.checkOpen();
    const entry = this.store.popReady();
    if (entry) return this.hold(entry);
    if (this.isShutDownAndEmpty()) throw new QueueShutDown(this.name);
    return abortableWait<LocalTask<T>>('get', opts, (waiter) => this.getters.push(waiter));
  }

  async taskDone(taskOrId?: Task<T> | string): Promise<void> {
    this.checkOpen();
    try {
      await this.finisher.complete(this.held.pick(taskOrId), undefined);
    } catch (e) {
      if (!(e instanceof TaskCancelled)) throw e; // cancelled: finished already, nothing to discard
    }
  }

  async join(opts?: WaitOptions): Promise<void> {
    this.checkOpen();
    if (this.store.unfinished === 0) return;
    return abortableWait<void>('join', opts, (waiter) => this.joiners.push(waiter));
  }

  async qsize(): Promise<number> {
    return this.store.readySize;
  }

  async empty(): Promise<boolean> {
    return this.store.readySize === 0;
  }

  async full(): Promise<boolean> {
    return this.isFull();
  }

  async counts(): Promise<QueueCounts> {
    const s = this.store;
    return {
      waiting: s.readySize,
      delayed: s.delayedSize,
      active: this.finisher.activeCount(),
      completed: s.completedCount,
      failed: s.failed(0, -1).length,
      cancelled: s.cancelledCount,
      unfinished: s.unfinished,
    };
  }

  async failedTasks(start = 0, end = -1): Promise<FailedTask<T>[]> {
    return this.store.failed(start, end);
  }

  async shutdown(opts?: ShutdownOptions): Promise<void> {
    this.checkOpen();
    if (opts?.immediate) {
      this.shutdownMode = 'immediate';
      this.store.discardPending();
      this.wakeJoiners();
    } else this.shutdownMode ??= 'graceful';
    for (const p of this.putters.splice(0)) p.waiter.reject(new QueueShutDown(this.name));
    if (this.isShutDownAndEmpty()) this.getters.rejectAll(new QueueShutDown(this.name));
  }

  async reopen(): Promise<void> {
    this.checkOpen();
    this.shutdownMode = undefined;
  }

  async close(): Promise<void> {
    if (this.closed) return;
    // Held tasks go back to the front of the queue, as a Redis consumer's do.
    for (const task of this.held.values()) {
      this.held.delete(task);
      this.store.returnToFront(task.ref);
    }
    this.closed = true;
    this.store.clearTimers();
    const err = new QueueClosed(this.name);
    this.getters.rejectAll(err);
    this.joiners.rejectAll(err);
    this.results.rejectAll(err);
    for (const p of this.putters.splice(0)) p.waiter.reject(err);
  }

  private prepare(p: PreparedPut): Entry<T> {
    this.checkOpen();
    if (this.shutdownMode) throw new QueueShutDown(this.name);
    return this.store.entry(p.json, p.opts);
  }

  private wakeJoiners(): void {
    if (this.store.unfinished === 0) this.joiners.drain((j) => j.resolve());
  }

  private isFull(): boolean {
    return this.maxsize > 0 && this.store.readySize + this.store.delayedSize >= this.maxsize;
  }

  private isShutDownAndEmpty(): boolean {
    return this.shutdownMode !== undefined && this.store.readySize === 0 && this.store.delayedSize === 0;
  }

  /** Hands ready tasks to waiting getters, then lets waiting putters in while there is room. */
  private dispatch(): void {
    while (this.getters.length > 0 && this.store.readySize > 0) {
      const g = this.getters.shift();
      if (!g) break;
      g.resolve(this.hold(this.store.popReady()!));
    }
    while (this.putters.length > 0 && !this.isFull()) {
      const { entry, waiter } = this.putters.shift()!;
      waiter.resolve(this.store.isDuplicate(entry) ? entry.id : this.store.insert(entry));
    }
    if (this.isShutDownAndEmpty()) this.getters.rejectAll(new QueueShutDown(this.name));
  }

  private hold(entry: Entry<T>): LocalTask<T> {
    const task = new TaskHandle<T, Entry<T>>(
      { id: entry.id, name: entry.opts.name, data: entry.data, attempt: entry.attemptsMade + 1, attempts: entry.opts.attempts, readyAt: entry.readyAt },
      this.finisher,
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
