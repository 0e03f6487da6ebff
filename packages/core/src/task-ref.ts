import { hostname } from 'node:os';
import { ConfigError, TaskCancelled, TaskFailed, TaskNotFound } from './errors.js';
import type { BackoffOptions, WaitOptions } from './types.js';

/** Where a task is: asyncio's pending split into waiting, delayed and running, then its end. */
export type TaskRefState = 'waiting' | 'delayed' | 'running' | 'completed' | 'failed' | 'cancelled';

/** Options of a cancel. */
export interface CancelOptions {
  /** Why, kept with the task and shown by `asyncq logs` and `inspect` (at most 1,000 characters). */
  reason?: string;
  /** Who cancels, for the same record. @defaultValue this host and process id */
  by?: string;
}

/**
 * A task put in a queue, as an asyncio Task is a coroutine scheduled on a loop: await its result,
 * ask its state, or cancel it, from any process. `producer.enqueue` and `q.submit` return one;
 * `gather`, `asCompleted`, `wait`, `waitFor` and `taskGroup` take them. Waiting on many refs of one
 * queue handle costs one subscription in all and about one Redis command per task.
 */
export interface TaskRef<Result = unknown> {
  /** The task id (what `put` returns). */
  readonly id: string;
  /** The task's name (the handler that runs it). */
  readonly name: string;
  /** The name of the queue it is in. */
  readonly queue: string;
  /**
   * Waits for the task to finish: its handler's value, or `TaskFailed` with the remote error once
   * it failed for good, or `TaskCancelled` once it was cancelled (`TaskNotFound` when there is no
   * such task, or it finished and is no longer kept).
   */
  result(opts?: WaitOptions): Promise<Result>;
  /** Where the task is now. */
  state(): Promise<TaskRefState>;
  /**
   * Cancels the task, for good: a waiting or delayed one never runs; a running one's handler sees
   * `ctx.signal` abort with `TaskCancelled`, in whichever process runs it. Resolves to false when
   * the task had already finished (completed, failed or cancelled).
   */
  cancel(opts?: CancelOptions): Promise<boolean>;
}

/** A durable flow's ref (`chain`, `chord`): its own task's, with every task of the flow. */
export interface FlowRef<Result = unknown> extends TaskRef<Result> {
  /** A chain's steps in order (the last is this ref's own task), or a chord's group then its callback. */
  readonly tasks: readonly TaskRef[];
}

/** What a {@link TaskRef} asks of the queue handle it came from. */
export interface TaskSource {
  readonly name: string;
  result(id: string, opts?: WaitOptions): Promise<unknown>;
  taskState(id: string): Promise<TaskRefState>;
  cancel(id: string, opts?: CancelOptions): Promise<boolean>;
}

/**
 * A TaskRef on a queue handle; the handle is kept out of reach of the ref's users. Once its result
 * arrived, the ref keeps it, as an asyncio Task does: asking again (after `asCompleted`, `wait`)
 * costs no round trip.
 */
class QueueTaskRef<Result> implements TaskRef<Result> {
  readonly #source: TaskSource;
  #settled?: { value: Result } | { error: unknown };

  constructor(
    source: TaskSource,
    readonly id: string,
    readonly name: string,
  ) {
    this.#source = source;
  }

  get queue(): string {
    return this.#source.name;
  }

  async result(opts?: WaitOptions): Promise<Result> {
    const known = this.#settled;
    if (known) {
      if ('error' in known) throw known.error;
      return known.value;
    }
    try {
      const value = (await this.#source.result(this.id, opts)) as Result;
      this.#settled = { value };
      return value;
    } catch (e) {
      // Only the task's own end is kept: a wait that was aborted or timed out may be tried again.
      if (e instanceof TaskFailed || e instanceof TaskCancelled || e instanceof TaskNotFound) this.#settled = { error: e };
      throw e;
    }
  }

  async state(): Promise<TaskRefState> {
    const known = this.#settled;
    if (known) return 'value' in known ? 'completed' : known.error instanceof TaskCancelled ? 'cancelled' : known.error instanceof TaskFailed ? 'failed' : this.#source.taskState(this.id);
    return this.#source.taskState(this.id);
  }

  cancel(opts?: CancelOptions): Promise<boolean> {
    return this.#source.cancel(this.id, opts);
  }

  toString(): string {
    return `task ${this.id} (${this.name}) of queue "${this.queue}"`;
  }
}

/** A ref to task `id` of the queue `source` is a handle on. */
export function taskRef<Result = unknown>(source: TaskSource, id: string, name: string): TaskRef<Result> {
  return new QueueTaskRef<Result>(source, id, name);
}

/** A flow's ref: its own task's ref, with the flow's tasks. */
export function flowRef<Result = unknown>(own: TaskRef, tasks: readonly TaskRef[]): FlowRef<Result> {
  const ref: FlowRef<Result> & { toString(): string } = {
    id: own.id,
    name: own.name,
    queue: own.queue,
    tasks,
    result: (opts) => own.result(opts) as Promise<Result>,
    state: () => own.state(),
    cancel: (opts) => own.cancel(opts),
    toString: () => String(own),
  };
  return ref;
}

/**
 * The id of `task` (a TaskRef or an id) for queue `queue`: a ref of another queue is a mistake,
 * one line saying so.
 */
export function taskIdFor(queue: string, task: string | TaskRef, what: string): string {
  if (typeof task === 'string') return task;
  if (task === null || typeof task !== 'object' || typeof task.id !== 'string') {
    throw new ConfigError(`${what} takes a task id or a TaskRef, got ${task === null ? 'null' : typeof task}`);
  }
  if (task.queue !== queue) {
    throw new ConfigError(`task ${task.id} is a task of queue "${task.queue}", not of "${queue}": use its own queue's handle (or the ref's own methods)`);
  }
  return task.id;
}

/** Checks a cancel's options: the reason and who, with who defaulting to this process. */
export function checkCancel(opts: CancelOptions | undefined, by = defaultCanceller()): { reason: string; by: string } {
  const reason = opts?.reason ?? '';
  if (typeof reason !== 'string') throw new ConfigError(`cancel's reason must be a string, got ${typeof reason}`);
  if (reason.length > 1000) throw new ConfigError(`cancel's reason is ${reason.length} characters long; keep it to 1,000`);
  const who = opts?.by ?? by;
  if (typeof who !== 'string' || who.length > 200) throw new ConfigError('cancel\'s "by" must be a string of at most 200 characters');
  return { reason, by: who };
}

/** Who cancels by default: this host and process. */
export function defaultCanceller(what?: string): string {
  return `${what ? `${what} on ` : ''}${hostname()} (pid ${process.pid})`;
}

/** Options of one task of a durable flow (`chain`, `chord`): the put options a flow step can take. */
export interface FlowStepOptions {
  /** Lower runs first (priority queues). */
  priority?: number;
  /** Milliseconds from when the step becomes ready (its predecessors done) to when it may run. */
  delay?: number;
  /** How many times the step may be tried before it fails for good (and ends the flow). @defaultValue 1 */
  attempts?: number;
  /** Delay between its attempts. */
  backoff?: number | BackoffOptions;
}

/**
 * One task of a durable flow: the handler name, and its item. A chain's later steps and a chord's
 * callback get their item from the flow (the previous step's result; the group's results), so they
 * take no `data`.
 */
export interface FlowStep {
  name: string;
  data?: unknown;
  opts?: FlowStepOptions;
}

/** Options of `chain` and `chord` as a whole. */
export interface FlowOptions extends WaitOptions {
  /**
   * On a partitioned queue, the partition the flow lives in (every task of a flow lives in one
   * partition, so its steps follow each other atomically): flows with the same key share one.
   */
  key?: string;
}
