import type { Task } from './async-queue.js';

/** What a backend does with a task it handed out: a part of the backend, not the queue object itself. */
export interface TaskFinisher<T> {
  complete(task: TaskHandle<T>, result: unknown): Promise<void>;
  failAttempt(task: TaskHandle<T>, error: unknown): Promise<void>;
  progress(task: TaskHandle<T>, value: number | object): Promise<void>;
  log(task: TaskHandle<T>, line: string): Promise<void>;
}

/** The plain facts of a delivered task. */
export interface TaskFacts<T> {
  id: string;
  name: string;
  data: T;
  attempt: number;
  attempts: number;
  readyAt: number;
}

/** The {@link Task} both backends hand out; `ref` is the backend's own record. */
export class TaskHandle<T, R = unknown> implements Task<T> {
  readonly id: string;
  readonly name: string;
  readonly data: T;
  readonly attempt: number;
  readonly attempts: number;
  readonly readyAt: number;
  // Plain (not #) fields: runners may wrap a task in an object made with Object.create(task).
  private releaseController?: AbortController;
  private releaseReason?: unknown;
  private releaseListener?: (reason: unknown) => void;

  constructor(
    facts: TaskFacts<T>,
    private readonly finisher: TaskFinisher<T>,
    /** The backend's record of the task (where Redis holds it, or a local entry). */
    readonly ref: R,
  ) {
    this.id = facts.id;
    this.name = facts.name;
    this.data = facts.data;
    this.attempt = facts.attempt;
    this.attempts = facts.attempts;
    this.readyAt = facts.readyAt;
  }

  get signal(): AbortSignal {
    this.releaseController ??= new AbortController();
    if (this.releaseReason !== undefined && !this.releaseController.signal.aborted) this.releaseController.abort(this.releaseReason);
    return this.releaseController.signal;
  }

  /** Why this handle no longer holds the task, once it does not. */
  get released(): unknown {
    return this.releaseReason;
  }

  /**
   * Calls `fn` once, when this handle no longer holds the task (at once if it already does not):
   * the one listener a runner needs, without making `signal`'s AbortController for every task.
   */
  onRelease(fn: (reason: unknown) => void): void {
    if (this.releaseReason !== undefined) fn(this.releaseReason);
    else this.releaseListener = fn;
  }

  /** The backend lost the task (its lease): `signal` aborts with `reason`, and the listener hears of it. */
  release(reason: unknown): void {
    if (this.releaseReason !== undefined) return;
    this.releaseReason = reason;
    this.releaseController?.abort(reason);
    const fn = this.releaseListener;
    this.releaseListener = undefined;
    fn?.(reason);
  }

  done(result?: unknown): Promise<void> {
    return this.finisher.complete(this, result);
  }

  fail(error: unknown): Promise<void> {
    return this.finisher.failAttempt(this, error);
  }

  progress(value: number | object): Promise<void> {
    return this.finisher.progress(this, value);
  }

  log(line: string): Promise<void> {
    return this.finisher.log(this, line);
  }
}
