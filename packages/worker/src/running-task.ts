import { format } from 'node:util';
import { AsyncqError, type Task } from '@asyncq/core';
import { safeMessage } from '@asyncq/core/internal';
import type { Handler, TaskContext } from './handlers.js';
import { runAs, type GuardedTask } from './process-guard.js';
import { longTimeout, type Timer } from './timers.js';

/** How an attempt ended: the handler's value, or what it threw (or what ended it early). */
export type Outcome = { value: unknown } | { error: unknown };

/** How a {@link RunningTask} is run. */
export interface RunOptions {
  /** Per-attempt time limit in ms (undefined: none). */
  timeout: number | undefined;
  /** Run the handler as the task's code for the process guard (see process-guard.ts). */
  guarded: boolean;
  /** An error from the task's code that can no longer fail it (it ended, or is being handed back). */
  onLateCrash(run: RunningTask, error: unknown): void;
  /** A handler returned a value after the queue released its task (cancelled, lease lost): it is discarded. */
  onLateResult?(run: RunningTask, value: unknown): void;
}

/**
 * A task this worker runs now. `decided` resolves once the attempt's outcome is known: the
 * handler settled, or a timeout or a crash in the handler's timers ended it early. Its
 * AbortController is only made when the handler reads `ctx.signal` (most never do).
 */
export class RunningTask implements GuardedTask {
  readonly startedAt = Date.now();
  readonly context: TaskContext;
  /** Resolves with the attempt's outcome; never rejects. */
  readonly decided: Promise<Outcome>;
  /** Set when a stop aborted the task: if its handler then throws, the task is handed back. */
  stopping = false;
  /** True once the handler's own promise settled (returned or threw). */
  handlerSettled = false;
  private handlerStarted = false;
  /** Why the attempt was ended early (timeout, stop, crash, the queue's release), if it was. */
  private abortReason: unknown;
  /** Why the queue released the task (its lease lost, the task cancelled), if it did. */
  released: unknown;
  private isDecided = false;
  private decide!: (outcome: Outcome) => void;
  private controller?: AbortController;
  private timer?: Timer;

  private constructor(
    readonly task: Task<unknown>,
    private readonly opts: RunOptions,
  ) {
    this.context = new HandlerContext(this);
    this.decided = new Promise((resolve) => (this.decide = resolve));
  }

  /**
   * Starts `handler` on `task`, unless the queue released the task already (it was cancelled while
   * it waited to start): then the handler never runs, and the attempt is decided with the reason.
   */
  static start(task: Task<unknown>, handler: Handler, opts: RunOptions): RunningTask {
    const run = new RunningTask(task, opts);
    // The queue no longer holds the task (its lease was lost: another worker may run it now; or it
    // was cancelled): the attempt ends at once and ctx.signal aborts with the reason, so a handler
    // that honours it stops before a takeover does the same work, or soon after a cancel.
    task.onRelease((reason) => {
      run.released = reason;
      run.end(reason);
    });
    if (run.released === undefined) run.begin(handler);
    return run;
  }

  /** True once the handler was started (a task released before it started never runs). */
  get begun(): boolean {
    return this.handlerStarted;
  }

  private begin(handler: Handler): void {
    this.handlerStarted = true;
    let result: unknown;
    try {
      result = this.opts.guarded ? runAs(this, () => handler(this.task.data, this.context)) : handler(this.task.data, this.context);
    } catch (error) {
      result = Promise.reject(error);
    }
    // Promise.resolve reads a returned thenable's `then` itself: a hostile one rejects, never throws here.
    Promise.resolve(result).then(
      (value: unknown) => this.settled({ value }),
      (error: unknown) => this.settled({ error }),
    );
    const ms = this.opts.timeout;
    if (ms !== undefined && !this.isDecided) this.timer = longTimeout(() => this.end(new TaskTimeout(ms)), ms);
  }

  private settled(outcome: Outcome): void {
    this.handlerSettled = true;
    if (this.isDecided && this.released !== undefined && 'value' in outcome) this.opts.onLateResult?.(this, outcome.value);
    this.finish(outcome);
  }

  private finish(outcome: Outcome): void {
    if (this.isDecided) return;
    this.isDecided = true;
    this.timer?.clear();
    this.decide(outcome);
  }

  /** ctx.signal, made on first read. */
  signal(): AbortSignal {
    this.controller ??= new AbortController();
    if (this.abortReason !== undefined && !this.controller.signal.aborted) this.controller.abort(this.abortReason);
    return this.controller.signal;
  }

  /** Ends the attempt now with `reason` (a timeout, a crash), aborting ctx.signal. */
  private end(reason: unknown): void {
    if (this.isDecided || this.abortReason !== undefined) return;
    this.abortReason = reason;
    this.finish({ error: reason });
    this.abortSignal();
  }

  /**
   * A stop aborts ctx.signal and waits for the handler: the task is handed back only once the handler
   * settled, so it never runs twice at once. False when the attempt's outcome is already decided.
   */
  stopForHandBack(reason: unknown): boolean {
    if (this.isDecided || this.abortReason !== undefined) return false;
    this.stopping = true;
    this.abortReason = reason;
    this.abortSignal();
    return true;
  }

  /** The process guard blames this task for an error its code threw (in a timer, a lost promise). */
  crashed(error: unknown): void {
    if (this.isDecided || this.stopping) this.opts.onLateCrash(this, error);
    else this.end(new HandlerCrashed(error));
  }

  private abortSignal(): void {
    const controller = this.controller;
    if (!controller || controller.signal.aborted) return;
    // Abort listeners are the handler's code: what they throw is blamed on this task, not the worker.
    if (this.opts.guarded) runAs(this, () => controller.abort(this.abortReason));
    else controller.abort(this.abortReason);
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
  declare readonly code: 'TASK_TIMEOUT';

  constructor(ms: number) {
    super('TASK_TIMEOUT', `task ran past its timeout of ${ms} ms`);
  }
}

/** The abort reason of tasks a stopping worker hands back to the queue. */
export class WorkerStopping extends AsyncqError {
  declare readonly code: 'WORKER_STOPPING';

  constructor() {
    super('WORKER_STOPPING', 'the worker is stopping; the task goes back to the queue');
  }
}

/**
 * What a task fails with when its code threw outside the handler's own promise: in a timer or a
 * callback it started, or a promise it rejected with nobody listening.
 */
export class HandlerCrashed extends AsyncqError {
  declare readonly code: 'HANDLER_CRASHED';

  constructor(error: unknown) {
    super('HANDLER_CRASHED', `the handler's code threw outside the handler (in a timer, callback or unhandled promise): ${safeMessage(error)}`, {
      cause: error,
    });
  }
}
