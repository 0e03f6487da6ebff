import type { AsyncQueue } from './async-queue.js';
import { ConfigError, TaskCancelled, WaitAborted } from './errors.js';
import type { TaskRef } from './task-ref.js';
import type { PutOptions } from './types.js';

/** Options of {@link taskGroup}. */
export interface TaskGroupOptions {
  /** Aborting it cancels every task of the group (as cancelling the task around an asyncio.TaskGroup does). */
  signal?: AbortSignal;
}

/**
 * The handle a {@link taskGroup}'s function gets, as `async with TaskGroup() as tg` gives `tg`:
 * tasks put through it (or adopted) belong to the group.
 */
export class TaskGroup {
  readonly #stop = new AbortController();
  readonly #open = new Set<Promise<unknown>>();
  readonly #refs = new Set<TaskRef>();
  readonly #errors: unknown[] = [];
  #state: 'running' | 'exiting' | 'aborting' | 'done' = 'running';
  #idle = (): void => {};

  /**
   * Aborts when the group shuts down early: a task failed, the function threw, or the group's own
   * signal aborted. Pass it to what the function awaits, so it stops too (asyncio cancels the
   * body of the `async with`).
   */
  get signal(): AbortSignal {
    return this.#stop.signal;
  }

  /** Puts `item` in `queue` as a task of the group (asyncio's `tg.create_task`). */
  submit<T, R = unknown>(queue: AsyncQueue<T>, item: T, opts?: PutOptions): Promise<TaskRef<R>> {
    return this.add(() => queue.submit<R>(item, opts));
  }

  /**
   * Starts a task with `start` (an enqueue of any kind) as a task of the group, after checking
   * that the group still takes tasks: a group shutting down refuses before anything is put.
   */
  add<R>(start: () => Promise<TaskRef<R>>): Promise<TaskRef<R>> {
    try {
      this.checkOpen();
    } catch (e) {
      return Promise.reject(e);
    }
    return this.adopt(start());
  }

  /**
   * Makes a task the group's: it is awaited before the group ends, and cancelled if the group
   * shuts down early. Takes a ref, or the promise of one (an enqueue on its way).
   */
  async adopt<R>(ref: TaskRef<R> | Promise<TaskRef<R>>): Promise<TaskRef<R>> {
    if (this.#state === 'done') this.checkOpen();
    const pending = Promise.resolve(ref);
    const tracked = pending.then(
      (r) => this.watch(r),
      (e: unknown) => this.fail(e), // an enqueue that failed fails the group too
    );
    this.track(tracked);
    return pending;
  }

  /** Runs `fn` with a new group, then waits for every task of it; see {@link taskGroup}. */
  static run<R>(fn: (tg: TaskGroup) => Promise<R>, signal?: AbortSignal): Promise<R> {
    return new TaskGroup().#run(fn, signal);
  }

  async #run<R>(fn: (tg: TaskGroup) => Promise<R>, signal: AbortSignal | undefined): Promise<R> {
    const onAbort = (): void => this.abort(signal?.reason);
    if (signal?.aborted) onAbort();
    else signal?.addEventListener('abort', onAbort, { once: true });
    let value: R | undefined;
    try {
      try {
        value = await fn(this);
      } catch (e) {
        // What the function throws because the group shut down is the shutdown, not a new error.
        if (!(this.#stop.signal.aborted && (e === this.#stop.signal.reason || e instanceof WaitAborted))) this.fail(e);
      }
      if (this.#state === 'running') this.#state = 'exiting';
      while (this.#open.size > 0) await new Promise<void>((resolve) => (this.#idle = resolve));
    } finally {
      signal?.removeEventListener('abort', onAbort);
      this.#state = 'done';
    }
    if (this.#errors.length > 0) throw new AggregateError(this.#errors, groupMessage(this.#errors));
    if (signal?.aborted) throw new WaitAborted('taskGroup', 'signal', signal.reason);
    return value as R;
  }

  private checkOpen(): void {
    if (this.#state === 'done') throw new ConfigError('this task group has finished: add tasks inside its function');
    if (this.#state === 'aborting') throw new ConfigError('this task group is shutting down (a task failed, or it was cancelled): it takes no new tasks');
  }

  private track(p: Promise<unknown>): void {
    this.#open.add(p);
    void p.finally(() => {
      this.#open.delete(p);
      if (this.#open.size === 0) this.#idle();
    });
  }

  /** Waits for a task of the group; one that fails for good shuts the group down. */
  private async watch(ref: TaskRef): Promise<void> {
    this.#refs.add(ref);
    if (this.#state === 'aborting') void this.cancel(ref);
    try {
      await ref.result();
    } catch (e) {
      // A task cancelled (by the group, or by anyone) is not a failure of the group.
      if (!(e instanceof TaskCancelled)) this.fail(e);
    } finally {
      this.#refs.delete(ref);
    }
  }

  private fail(e: unknown): void {
    this.#errors.push(e);
    this.abort(e);
  }

  /** Shuts the group down: its signal aborts and every unfinished task is cancelled. */
  private abort(reason: unknown): void {
    if (this.#state === 'aborting' || this.#state === 'done') return;
    this.#state = 'aborting';
    this.#stop.abort(reason);
    for (const ref of this.#refs) void this.cancel(ref);
  }

  private async cancel(ref: TaskRef): Promise<void> {
    const why = this.#stop.signal.reason as { message?: unknown } | undefined;
    const reason = `task group shut down${typeof why?.message === 'string' ? `: ${why.message}` : ''}`;
    await ref.cancel({ reason: reason.slice(0, 1000) }).catch(() => false);
  }
}

/**
 * asyncio.TaskGroup for remote tasks: runs `fn` with a group; tasks put through the group run
 * anywhere; the call resolves (with what `fn` returned) once every one of them finished. When one
 * fails for good, or `fn` throws, the group shuts down: the other tasks are cancelled (waiting ones
 * removed, running ones signalled), `tg.signal` aborts, and once all settled the call rejects with
 * an `AggregateError` of the failures (cancelled tasks are not failures). Aborting `opts.signal`
 * cancels the group the same way, and rejects with `WaitAborted` unless tasks failed too.
 *
 * @example
 * ```ts
 * await taskGroup(async (tg) => {
 *   await tg.submit(q, { url: a });
 *   await tg.submit(q, { url: b });
 * });
 * ```
 */
export function taskGroup<R>(fn: (tg: TaskGroup) => Promise<R>, opts: TaskGroupOptions = {}): Promise<R> {
  if (typeof fn !== 'function') return Promise.reject(new ConfigError('taskGroup takes an async function: taskGroup(async (tg) => { ... })'));
  return TaskGroup.run(fn, opts.signal);
}

function groupMessage(errors: unknown[]): string {
  const first = errors[0] as { message?: unknown } | undefined;
  const what = typeof first?.message === 'string' ? first.message : String(first);
  return `task group failed: ${errors.length} error${errors.length === 1 ? '' : 's'} (first: ${what})`;
}
