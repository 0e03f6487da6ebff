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
