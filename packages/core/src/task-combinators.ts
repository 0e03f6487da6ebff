import { setMaxListeners } from 'node:events';
import { ConfigError, TaskCancelled, WaitAborted } from './errors.js';
import { checkTimeout } from './options.js';
import type { TaskRef } from './task-ref.js';

// asyncio's ways of waiting on many tasks (gather, as_completed, wait, wait_for), for TaskRefs.
// Every wait here goes through `ref.result({ signal })`: waits on refs of one queue handle share
// its one subscription and its batched reads, and an abandoned wait is withdrawn, never left behind.

/** One signal that withdraws every wait of a call: one listener per ref, so no listener limit. */
function withdrawer(): AbortController {
  const c = new AbortController();
  setMaxListeners(0, c.signal);
  return c;
}

/** Options of {@link gather}. */
export interface GatherOptions {
  /** Put each failure (`TaskFailed`, `TaskCancelled`...) in its task's place instead of rejecting. @defaultValue false */
  returnExceptions?: boolean;
  /** Aborting it cancels the tasks not finished yet (as cancelling asyncio's gather does) and rejects. */
  signal?: AbortSignal;
}

/**
 * The results of `refs`, in their order (asyncio.gather). The first failure rejects the gather;
 * the other tasks keep running. With `returnExceptions`, failures take their task's place.
 */
export async function gather<R = unknown>(refs: Iterable<TaskRef<R>>, opts?: GatherOptions): Promise<R[]>;
export async function gather(refs: Iterable<TaskRef>, opts: GatherOptions = {}): Promise<unknown[]> {
  const list = refsOf(refs, 'gather');
  const { signal } = opts;
  if (signal?.aborted) throw await cancelling(list, 'gather', signal);
  const stop = withdrawer();
  const onAbort = (): void => stop.abort(signal?.reason);
  signal?.addEventListener('abort', onAbort, { once: true });
  try {
    const waits = list.map((r) => r.result({ signal: stop.signal }));
    if (opts.returnExceptions) return await Promise.all(waits.map((w) => w.catch((e: unknown) => (isOurAbort(e, stop) ? Promise.reject(e) : e))));
    return await Promise.all(waits);
  } catch (e) {
    if (isOurAbort(e, stop) && signal?.aborted) throw await cancelling(list, 'gather', signal);
    throw e;
  } finally {
    signal?.removeEventListener('abort', onAbort);
    stop.abort(); // withdraws the waits still out: the tasks keep running
  }
}

/** Options of {@link asCompleted}. */
export interface AsCompletedOptions {
  /** Give up after this many ms: the iteration throws `WaitAborted` with code `TIMEOUT`. */
  timeout?: number;
  signal?: AbortSignal;
}

/**
 * The refs, each once, in the order their tasks finish (asyncio.as_completed): `for await (const
 * ref of asCompleted(refs)) await ref.result()` (the ref keeps its result, so that costs nothing
 * more). A task that failed comes out in its turn too; its `result()` throws.
 */
export async function* asCompleted<R = unknown>(refs: Iterable<TaskRef<R>>, opts: AsCompletedOptions = {}): AsyncGenerator<TaskRef<R>, void, undefined> {
  const list = unique(refsOf(refs, 'asCompleted'));
  const timeout = checkTimeout('asCompleted timeout', opts.timeout);
  const stop = withdrawer();
  const finished: TaskRef<R>[] = [];
  let wake = (): void => {};
  let why: 'timeout' | 'signal' | undefined;
  for (const r of list) {
    r.result({ signal: stop.signal }).then(
      () => finished.push(r),
      (e: unknown) => void (isOurAbort(e, stop) || finished.push(r)),
    ).finally(() => wake());
  }
  const timer = timeout === undefined ? undefined : setTimeout(() => ((why = 'timeout'), wake()), timeout);
  const onAbort = (): void => ((why = 'signal'), wake());
  opts.signal?.addEventListener('abort', onAbort, { once: true });
  try {
    for (let n = 0; n < list.length; n++) {
      while (finished.length === 0) {
        if (why || opts.signal?.aborted) throw new WaitAborted('asCompleted', why ?? 'signal', opts.signal?.reason);
        await new Promise<void>((resolve) => (wake = resolve));
      }
      yield finished.shift()!;
    }
  } finally {
    clearTimeout(timer);
    opts.signal?.removeEventListener('abort', onAbort);
    stop.abort();
  }
}

/** When {@link wait} returns. */
export type ReturnWhen = 'FIRST_COMPLETED' | 'FIRST_EXCEPTION' | 'ALL_COMPLETED';

/** Options of {@link wait}. */
export interface WaitManyOptions {
  /** @defaultValue 'ALL_COMPLETED' */
  returnWhen?: ReturnWhen;
  /** Return after this many ms with what finished by then (no error, as asyncio.wait). */
  timeout?: number;
  signal?: AbortSignal;
}

const RETURN_WHEN: readonly ReturnWhen[] = ['FIRST_COMPLETED', 'FIRST_EXCEPTION', 'ALL_COMPLETED'];

/**
 * Waits for tasks (asyncio.wait): until the first finishes, the first fails (failed for good, not
 * cancelled), or all finish, or until `timeout`; resolves to which are done and which are pending.
 * It cancels nothing and throws nothing of the tasks'.
 */
export async function wait<R = unknown>(refs: Iterable<TaskRef<R>>, opts: WaitManyOptions = {}): Promise<{ done: Set<TaskRef<R>>; pending: Set<TaskRef<R>> }> {
  const list = unique(refsOf(refs, 'wait'));
  if (list.length === 0) throw new ConfigError('wait needs at least one task');
  const returnWhen = opts.returnWhen ?? 'ALL_COMPLETED';
  if (!RETURN_WHEN.includes(returnWhen)) throw new ConfigError(`returnWhen must be one of ${RETURN_WHEN.join(', ')}, got ${JSON.stringify(returnWhen)}`);
  const timeout = checkTimeout('wait timeout', opts.timeout);
  if (opts.signal?.aborted) throw new WaitAborted('wait', 'signal', opts.signal.reason);
  const stop = withdrawer();
  const done = new Set<TaskRef<R>>();
  await new Promise<void>((resolve, reject) => {
    const timer = timeout === undefined ? undefined : setTimeout(() => end(), timeout);
    const onAbort = (): void => end(new WaitAborted('wait', 'signal', opts.signal?.reason));
    opts.signal?.addEventListener('abort', onAbort, { once: true });
    function end(error?: unknown): void {
      clearTimeout(timer);
      opts.signal?.removeEventListener('abort', onAbort);
      stop.abort();
      if (error) reject(error);
      else resolve();
    }
    for (const r of list) {
      r.result({ signal: stop.signal }).then(
        () => {
          done.add(r);
          if (returnWhen === 'FIRST_COMPLETED' || done.size === list.length) end();
        },
        (e: unknown) => {
          if (isOurAbort(e, stop)) return;
          done.add(r);
          const failed = !(e instanceof TaskCancelled);
          if (returnWhen === 'FIRST_COMPLETED' || (returnWhen === 'FIRST_EXCEPTION' && failed) || done.size === list.length) end();
        },
      );
    }
  });
  return { done, pending: new Set(list.filter((r) => !done.has(r))) };
}

/** Options of {@link waitFor}. */
export interface WaitForOptions {
  /** Aborting it cancels the task (as cancelling asyncio's wait_for does) and rejects. */
  signal?: AbortSignal;
}

/**
 * The task's result within `timeout` ms, or else the task is cancelled and this rejects with
 * `WaitAborted` (code `TIMEOUT`, its `cause` the `TaskCancelled`), as asyncio.wait_for does.
 * `null`, `undefined` or `Infinity` waits for ever; 0 or less cancels at once unless the task has
 * already finished. A task that finishes as the deadline passes gives its result.
 */
export async function waitFor<R = unknown>(ref: TaskRef<R>, timeout: number | null | undefined, opts: WaitForOptions = {}): Promise<R> {
  const [r] = refsOf([ref], 'waitFor');
  const task = r as TaskRef<R>;
  if (timeout === null || timeout === undefined || timeout === Infinity) return withSignal(task, undefined, opts.signal);
  if (typeof timeout !== 'number' || Number.isNaN(timeout)) throw new ConfigError(`waitFor's timeout must be a number of ms, null or Infinity, got ${String(timeout)}`);
  const reason = `waitFor timed out after ${Math.max(0, timeout)} ms`;
  if (timeout <= 0) {
    const state = await task.state();
    if (state === 'completed' || state === 'failed' || state === 'cancelled') return task.result();
    return timedOut(task, reason);
  }
  try {
    return await withSignal(task, timeout, opts.signal);
  } catch (e) {
    if (e instanceof WaitAborted && e.code === 'TIMEOUT') return timedOut(task, reason);
    throw e;
  }
}

/** The wait of waitFor: aborting its signal cancels the task. */
async function withSignal<R>(task: TaskRef<R>, timeout: number | undefined, signal: AbortSignal | undefined): Promise<R> {
  try {
    return await task.result({ ...(timeout === undefined ? {} : { timeout }), ...(signal ? { signal } : {}) });
  } catch (e) {
    if (e instanceof WaitAborted && e.code === 'ABORTED' && signal?.aborted) {
      await task.cancel({ reason: 'waitFor was cancelled' }).catch(() => false);
    }
    throw e;
  }
}

/** Cancels a task whose deadline passed; one that finished meanwhile gives its result. */
async function timedOut<R>(task: TaskRef<R>, reason: string): Promise<R> {
  const cancelled = await task.cancel({ reason });
  if (!cancelled) return task.result();
  throw new WaitAborted('waitFor', 'timeout', new TaskCancelled(task.id, reason));
}

/** Cancels the unfinished tasks of an aborted gather; resolves to the error it rejects with. */
async function cancelling(list: readonly TaskRef[], what: string, signal: AbortSignal): Promise<WaitAborted> {
  await Promise.all(list.map((r) => r.cancel({ reason: `${what} was cancelled` }).catch(() => false)));
  return new WaitAborted(what, 'signal', signal.reason);
}

/** The refs as an array, or one clear line when they are not refs. */
function refsOf<R>(refs: Iterable<TaskRef<R>>, what: string): TaskRef<R>[] {
  if (refs === null || typeof refs !== 'object' || typeof (refs as Iterable<unknown>)[Symbol.iterator] !== 'function') {
    throw new ConfigError(`${what} takes an array of TaskRefs (from enqueue or submit), got ${refs === null ? 'null' : typeof refs}`);
  }
  const list = [...refs];
  list.forEach((r, i) => {
    if (r === null || typeof r !== 'object' || typeof r.result !== 'function' || typeof r.cancel !== 'function') {
      throw new ConfigError(`${what}: item ${i} is not a TaskRef (from enqueue or submit), got ${r === null ? 'null' : typeof r}`);
    }
  });
  return list;
}

function unique<R>(list: TaskRef<R>[]): TaskRef<R>[] {
  return [...new Set(list)];
}

/** A rejection caused by withdrawing our own waits, not by the task. */
function isOurAbort(e: unknown, stop: AbortController): boolean {
  return stop.signal.aborted && e instanceof WaitAborted;
}
