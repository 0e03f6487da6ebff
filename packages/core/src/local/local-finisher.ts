import { TaskCancelled } from '../errors.js';
import type { HeldTasks } from '../held-tasks.js';
import { backoffDelay } from '../options.js';
import { describeError, encodeJson } from '../payload.js';
import { rateLimitedDelay } from '../rate-limited.js';
import type { TaskFinisher, TaskHandle } from '../task-handle.js';
import type { KeyedWaiters } from '../waiters.js';
import type { Entry, LocalStore } from './local-store.js';

/** A task of a LocalQueue as its handle holds it. */
export type LocalTask<T> = TaskHandle<T, Entry<T>>;

/** What a {@link LocalFinisher} works on: the parts of its LocalQueue. */
export interface LocalParts<T> {
  store: LocalStore<T>;
  held: HeldTasks<LocalTask<T>>;
  results: KeyedWaiters<unknown>;
  maxResultBytes: number;
  maxErrorBytes: number;
  /** Throws QueueClosed once the queue is closed. */
  checkOpen(): void;
  /** Something finished: joiners may be done. */
  finished(): void;
}

/**
 * Finishes the tasks a LocalQueue handed out: done, failed attempts (retried per attempts and
 * backoff, or dead letters), progress and log lines, and cancels of held tasks. A task cancelled
 * while held stays held until its holder finishes it, as on Redis: `done` and `fail` are refused
 * with the `TaskCancelled`, `taskDone` resolves.
 */
export class LocalFinisher<T> implements TaskFinisher<T> {
  constructor(private readonly q: LocalParts<T>) {}

  async complete(task: TaskHandle<T>, result: unknown): Promise<void> {
    this.q.checkOpen();
    this.refuseCancelled(task);
    const value = result === undefined ? null : (JSON.parse(encodeJson(result, 'result', this.q.maxResultBytes, 'maxResultBytes')) as unknown);
    const held = this.q.held.take(task);
    this.q.store.complete(held.ref, value);
    this.q.results.settle(held.id, { value });
    this.q.finished();
  }

  async failAttempt(task: TaskHandle<T>, error: unknown): Promise<void> {
    this.q.checkOpen();
    this.refuseCancelled(task);
    const limitedFor = rateLimitedDelay(error);
    if (limitedFor !== undefined) {
      // RateLimited: back after its delay without using an attempt, as on Redis.
      this.q.store.schedule(this.q.held.take(task).ref, limitedFor);
      return;
    }
    const err = describeError(error, this.q.maxErrorBytes);
    const entry = this.q.held.take(task).ref;
    entry.attemptsMade++;
    if (entry.attemptsMade < entry.opts.attempts && err.name !== 'UnrecoverableError') {
      this.q.store.schedule(entry, backoffDelay(entry.opts.backoff, entry.attemptsMade));
      return;
    }
    this.q.store.failForGood(entry, err);
    const outcome = this.q.store.outcome(entry.id);
    if (outcome) this.q.results.settle(entry.id, outcome);
    this.q.finished();
  }

  async progress(task: TaskHandle<T>, value: number | object): Promise<void> {
    this.q.checkOpen();
    this.refuseCancelled(task);
    this.q.held.pick(task).ref.progress = JSON.parse(encodeJson(value, 'progress', this.q.maxResultBytes, 'maxResultBytes')) as object;
  }

  async log(task: TaskHandle<T>, line: string): Promise<void> {
    this.q.checkOpen();
    this.refuseCancelled(task);
    this.q.held.pick(task).ref.logs.push(String(line));
  }

  /** Cancels a held task: its signal aborts with `err` (a runner stops it); it is finished now. */
  cancelHeld(task: LocalTask<T>, err: TaskCancelled): void {
    task.release(err);
    this.q.store.cancel(task.ref, err);
  }

  /** Held tasks not cancelled: what counts as active. */
  activeCount(): number {
    return this.q.held.values().filter((t) => !(t.released instanceof TaskCancelled)).length;
  }

  /** A task cancelled while held is finished already: finishing it again is refused with why. */
  private refuseCancelled(task: TaskHandle<T>): void {
    if (task.released instanceof TaskCancelled) {
      this.q.held.delete(task as LocalTask<T>);
      throw task.released;
    }
  }
}
