import { TaskCancelled, TaskFailed } from '../errors.js';
import type { TaskRefState } from '../task-ref.js';
import type { CheckedPut } from '../options.js';
import type { ErrorFacts } from '../payload.js';
import type { FailedTask, QueueOrder } from '../types.js';
import type { Outcome } from '../waiters.js';
import { MinHeap } from './min-heap.js';

/** A task of a LocalQueue, in whatever state it is. */
export interface Entry<T> {
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
  /** Where it is while unfinished. */
  where?: 'ready' | 'delayed' | 'held';
  /** Cancelled while ready: skipped when it comes up (the heap removes lazily). */
  cancelled?: boolean;
}

/** Ranks below this are tasks handed back to the front of the queue. */
const FRONT = -1e15;

/**
 * Where a {@link LocalQueue} keeps its tasks: ready ones in order (FIFO, LIFO or priority),
 * delayed ones on timers, the ids a dedup put must find, outcomes kept for `result`, and dead
 * letters. It knows nothing of waiters: it calls `onReady` when a task becomes ready.
 */
export class LocalStore<T> {
  private readonly ready: MinHeap<Entry<T>>;
  private readonly delayed = new Set<Entry<T>>();
  /** Every id that dedups a put: unfinished tasks and kept finished ones. */
  private readonly known = new Set<string>();
  private readonly completedIds: string[] = [];
  private readonly dead: FailedTask<T>[] = [];
  private readonly outcomes = new Map<string, Outcome>();
  /** Unfinished tasks by id. */
  private readonly open = new Map<string, Entry<T>>();
  private readonly cancelledIds: string[] = [];
  /** Cancelled entries still in the ready heap. */
  private cancelledReady = 0;
  /** Tasks put and not finished: what join waits for. */
  unfinished = 0;
  completedCount = 0;
  private seq = 0;
  private frontSeq = 0;

  constructor(
    private readonly order: QueueOrder,
    private readonly keepCompleted: number,
    private readonly keepFailed: number,
    private readonly onReady: () => void,
  ) {
    this.ready = new MinHeap((a, b) => a.klass < b.klass || (a.klass === b.klass && a.rank < b.rank));
  }

  get readySize(): number {
    return this.ready.size - this.cancelledReady;
  }

  /** Cancelled tasks still kept. */
  get cancelledCount(): number {
    return this.cancelledIds.length;
  }

  get delayedSize(): number {
    return this.delayed.size;
  }

  /** A new entry for a checked put (its item already JSON, so the consumer sees what Redis would deliver). */
  entry(json: string, opts: CheckedPut): Entry<T> {
    return {
      id: opts.id ?? String(++this.seq),
      data: JSON.parse(json) as T,
      readyAt: Date.now() + opts.delay,
      logs: [],
      klass: opts.priority === undefined ? 0 : opts.priority + 1,
      rank: 0,
      opts,
      attemptsMade: 0,
    };
  }

  isDuplicate(entry: Entry<T>): boolean {
    return entry.opts.id !== undefined && this.known.has(entry.id);
  }

  knows(id: string): boolean {
    return this.known.has(id);
  }

  insert(entry: Entry<T>): string {
    this.known.add(entry.id);
    this.open.set(entry.id, entry);
    this.unfinished++;
    this.schedule(entry, entry.opts.delay);
    return entry.id;
  }

  /** Ready at once, or after `delay` ms. */
  schedule(entry: Entry<T>, delay: number): void {
    if (delay <= 0) return this.makeReady(entry);
    entry.where = 'delayed';
    this.delayed.add(entry);
    entry.timer = setTimeout(() => {
      this.delayed.delete(entry);
      entry.timer = undefined;
      this.makeReady(entry);
    }, delay);
  }

  popReady(): Entry<T> | undefined {
    for (let e = this.ready.pop(); e; e = this.ready.pop()) {
      if (e.cancelled) {
        this.cancelledReady--;
        continue;
      }
      e.where = 'held';
      return e;
    }
    return undefined;
  }

  /** A held task goes back to the front of the queue (its handle closed). */
  returnToFront(entry: Entry<T>): void {
    entry.where = 'ready';
    entry.rank = FRONT - ++this.frontSeq;
    this.ready.push(entry);
  }

  complete(entry: Entry<T>, value: unknown): void {
    this.open.delete(entry.id);
    this.remember(entry.id);
    this.completedCount++;
    this.settle(entry.id, { value });
    this.unfinished--;
  }

  /** Fails an entry for good: a dead letter, kept up to `keepFailed`. */
  failForGood(entry: Entry<T>, err: ErrorFacts): void {
    this.open.delete(entry.id);
    this.dead.push({ id: entry.id, data: entry.data, attempts: entry.attemptsMade, error: err.message, ...(err.stack ? { stack: err.stack } : {}) });
    if (this.dead.length > this.keepFailed) this.forget(this.dead.shift()!.id);
    this.settle(entry.id, { error: new TaskFailed(entry.id, err.message, err.stack) });
    this.unfinished--;
  }

  /** Immediate shutdown: every ready and delayed task is dropped and counts as finished. */
  discardPending(): void {
    const discarded = [...this.ready.drain(), ...this.delayed];
    let cancelled = 0;
    for (const e of discarded) {
      clearTimeout(e.timer);
      if (e.cancelled) cancelled++;
      else this.known.delete(e.id);
      this.open.delete(e.id);
    }
    this.delayed.clear();
    this.cancelledReady = 0;
    this.unfinished -= discarded.length - cancelled;
  }

  /** The unfinished task `id`, if there is one. */
  unfinishedTask(id: string): Entry<T> | undefined {
    return this.open.get(id);
  }

  /** Cancels an unfinished task: out of the ready heap or its timer, finished, its outcome kept. */
  cancel(entry: Entry<T>, err: TaskCancelled): void {
    if (entry.where === 'ready') {
      entry.cancelled = true;
      this.cancelledReady++;
    } else if (entry.where === 'delayed') {
      clearTimeout(entry.timer);
      this.delayed.delete(entry);
    }
    this.open.delete(entry.id);
    this.cancelledIds.push(entry.id);
    if (this.cancelledIds.length > this.keepFailed) this.forget(this.cancelledIds.shift()!);
    this.settle(entry.id, { error: err });
    this.unfinished--;
  }

  /** Where task `id` is, or undefined when there is no such task (or it is no longer kept). */
  stateOf(id: string): TaskRefState | undefined {
    const e = this.open.get(id);
    if (e) return e.where === 'held' ? 'running' : e.where === 'delayed' ? 'delayed' : 'waiting';
    const o = this.outcomes.get(id);
    if (!o) return undefined;
    if (!('error' in o)) return 'completed';
    return o.error instanceof TaskCancelled ? 'cancelled' : 'failed';
  }

  outcome(id: string): Outcome | undefined {
    return this.outcomes.get(id);
  }

  failed(start: number, end: number): FailedTask<T>[] {
    return [...this.dead].reverse().slice(start, end < 0 ? undefined : end + 1);
  }

  clearTimers(): void {
    for (const e of this.delayed) clearTimeout(e.timer);
  }

  private makeReady(entry: Entry<T>): void {
    entry.where = 'ready';
    const seq = ++this.seq;
    entry.rank = this.order === 'lifo' ? -seq : seq;
    this.ready.push(entry);
    this.onReady();
  }

  private settle(id: string, outcome: Outcome): void {
    if (this.known.has(id)) this.outcomes.set(id, outcome);
  }

  private remember(id: string): void {
    this.completedIds.push(id);
    if (this.completedIds.length > this.keepCompleted) this.forget(this.completedIds.shift()!);
    if (this.keepCompleted === 0) this.forget(id);
  }

  private forget(id: string): void {
    this.known.delete(id);
    this.outcomes.delete(id);
  }
}
