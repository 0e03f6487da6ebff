import { AsyncLocalStorage } from 'node:async_hooks';

/** Where the error goes when it came from a task's code. */
export interface GuardedTask {
  crashed(error: unknown): void;
}

/** A running worker: told about errors no task can be blamed for. */
export interface GuardOwner {
  strayError(error: unknown, origin: 'uncaughtException' | 'unhandledRejection'): void;
}

/*
 * Why a process-level handler and not a sandbox (a child process or worker thread per handler):
 * a handler runs inside `current.run(task, ...)`, and Node keeps that store across every timer,
 * promise and callback the handler starts. So when one of them throws, or a promise it made is
 * rejected with nobody listening, Node's 'uncaughtException' / 'unhandledRejection' handler below
 * still sees which task it came from, and fails only that one; handlers keep sharing the process
 * (module state, connection pools, the `ctx` object) and stay plain functions.
 *
 * Its cost, measured on Node 20 (worker CPU per task, no-op handler, guard on vs `catchProcessErrors:
 * false`, medians of 5-9 runs each in a fresh process on a loaded 2-core VM): LocalQueue c=16 16.7 ->
 * 19.5 µs; Redis c=16 70-73 -> 78 µs (+7-11%); Redis c=1 359 -> 396 µs (+10%). Not the run() call
 * itself (~0.3 µs) but the promise hooks Node 20 turns on for the whole process once an
 * AsyncLocalStorage is used (Node 24's AsyncContextFrame drops them). A sandbox costs far more: a
 * thread started per task took 117-237 ms; a pool costs a message round trip per task (65 µs, near
 * a whole Redis task) plus structured clones of data, result and every ctx call, and no shared
 * state. What a sandbox would add, surviving process.exit() or an endless loop in a handler, is
 * left to the fleet supervisor, which restarts a worker process that dies. An error thrown by code
 * no task started (the app's own, a queueMicrotask callback) is logged, and the worker goes on.
 */
const current = new AsyncLocalStorage<GuardedTask>();
const owners = new Set<GuardOwner>();

function onError(error: unknown, origin: 'uncaughtException' | 'unhandledRejection'): void {
  const task = current.getStore();
  try {
    if (task) task.crashed(error);
    else owners.values().next().value?.strayError(error, origin);
  } catch {
    // Reporting must never throw out of a process handler: Node would exit.
  }
}

const onUncaught = (error: unknown): void => onError(error, 'uncaughtException');
const onRejection = (reason: unknown): void => onError(reason, 'unhandledRejection');

/**
 * Installs the process handlers while at least one worker runs (one pair for every worker of the
 * process); the returned function uninstalls this worker's share.
 */
export function guardProcess(owner: GuardOwner): () => void {
  if (owners.size === 0) {
    process.on('uncaughtException', onUncaught);
    process.on('unhandledRejection', onRejection);
  }
  owners.add(owner);
  return () => {
    if (!owners.delete(owner) || owners.size > 0) return;
    process.off('uncaughtException', onUncaught);
    process.off('unhandledRejection', onRejection);
  };
}

/** Runs `fn` as `task`'s code: whatever it starts that later throws is blamed on `task`. */
export function runAs<R>(task: GuardedTask, fn: () => R): R {
  return current.run(task, fn);
}
