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
 * still sees which task it came from, and fails only that one. It costs one AsyncLocalStorage.run
 * per task (measured: about 0.3 µs, against 1-2 µs for the rest of a LocalQueue task and ~100 µs
 * for a Redis round trip), and handlers keep sharing the process: module state, connection pools,
 * and the `ctx` object itself. A sandbox would also survive process.exit() and an endless loop
 * in a handler, which this cannot; but it costs a thread start per task (measured: ~15 ms here)
 * or a pool with messaging and structured clones of every task's data, result and ctx call, and
 * handlers could no longer be plain functions given to the Worker. An error thrown in code that no
 * task started (the app's own, a queueMicrotask callback) is logged and the worker keeps running.
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
