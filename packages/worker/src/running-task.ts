import { format } from 'node:util';
import { AsyncqError, type Task } from '@asyncq/core';
import type { TaskContext } from './handlers.js';

/**
 * A task this worker runs now. Its AbortController is only made when the handler reads
 * `ctx.signal` (most never do), keeping the per-task path short.
 */
export class RunningTask {
  /** Set when the worker stopped it to hand it back: then the attempt does not count as failed. */
  handedBack = false;
  /** Why the attempt was ended early (timeout or stop), if it was. */
  abortReason: unknown;
  readonly context: TaskContext;
  private controller?: AbortController;
  private interrupt?: (reason: unknown) => void;
  private timer?: NodeJS.Timeout;
  readonly startedAt = Date.now();

  constructor(readonly task: Task<unknown>) {
    this.context = new HandlerContext(this);
  }

  /** ctx.signal, made on first read. */
  signal(): AbortSignal {
    this.controller ??= new AbortController();
    if (this.abortReason !== undefined) this.controller.abort(this.abortReason);
    return this.controller.signal;
  }

  /** Aborts ctx.signal and ends a timed attempt now. */
  abort(reason: unknown): void {
    if (this.abortReason !== undefined) return;
    this.abortReason = reason;
    this.controller?.abort(reason);
    this.interrupt?.(reason);
  }

  /** Resolves with the handler's result, or rejects once `ms` pass (aborting ctx.signal). */
  within<R>(result: R | Promise<R>, ms: number): Promise<R> {
    const interrupted = new Promise<never>((_, reject) => (this.interrupt = reject));
    this.timer = setTimeout(() => this.abort(new TaskTimeout(ms)), ms);
    return Promise.race([result, interrupted]);
  }

  clear(): void {
    clearTimeout(this.timer);
  }
}

/** What a handler sees as `ctx`: the task's facts, with the running task out of reach (`#run`). */
class HandlerContext implements TaskContext {
  readonly id: string;
  readonly name: string;
  readonly attempt: number;
  readonly attempts: number;
  readonly #run: RunningTask;

  constructor(run: RunningTask) {
    this.#run = run;
    this.id = run.task.id;
    this.name = run.task.name;
    this.attempt = run.task.attempt;
    this.attempts = run.task.attempts;
  }

  get signal(): AbortSignal {
    return this.#run.signal();
  }

  progress(value: number | object): Promise<void> {
    return this.#run.task.progress(value);
  }

  log(...args: unknown[]): Promise<void> {
    return this.#run.task.log(format(...args));
  }
}

/** Thrown into `ctx.signal` when an attempt runs past the worker's `timeout`. */
export class TaskTimeout extends AsyncqError {
  constructor(ms: number) {
    super('TASK_TIMEOUT', `task ran past its timeout of ${ms} ms`);
  }
}

/** The abort reason of tasks a stopping worker hands back to the queue. */
export class WorkerStopping extends AsyncqError {
  constructor() {
    super('WORKER_STOPPING', 'the worker is stopping; the task goes back to the queue');
  }
}

