import type { Task } from './types.js';

/** What a backend does when a task it handed out is finished. */
export interface TaskFinisher<T> {
  complete(task: TaskHandle<T>, result: unknown): Promise<void>;
  failAttempt(task: TaskHandle<T>, error: unknown): Promise<void>;
}

/** The {@link Task} both backends hand out; `ref` is the backend's own record. */
export class TaskHandle<T, R = unknown> implements Task<T> {
  constructor(
    readonly id: string,
    readonly data: T,
    readonly attempt: number,
    readonly attempts: number,
    private readonly finisher: TaskFinisher<T>,
    /** The backend's record of the task (a BullMQ job and its lock token, or a local entry). */
    readonly ref: R,
  ) {}

  done(result?: unknown): Promise<void> {
    return this.finisher.complete(this, result);
  }

  fail(error: unknown): Promise<void> {
    return this.finisher.failAttempt(this, error);
  }
}

/** Reads an error's message and stack from anything thrown. */
export function describeError(error: unknown): { message: string; stack?: string; name: string } {
  if (error instanceof Error) return { message: error.message, stack: error.stack, name: error.name };
  return { message: typeof error === 'string' ? error : JSON.stringify(error) ?? String(error), name: 'Error' };
}
