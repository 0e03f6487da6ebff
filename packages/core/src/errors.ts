import { shellQuote } from './shell-quote.js';

/**
 * Every error asyncq throws on purpose is an {@link AsyncqError} with a stable
 * string `code`, so callers can branch on `err.code` across package versions.
 * The asyncio errors keep their Python names.
 */
export class AsyncqError extends Error {
  /** A stable machine-readable code, e.g. `QUEUE_EMPTY`. */
  readonly code: string;

  constructor(code: string, message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.code = code;
    this.name = new.target.name;
  }
}

/** `getNowait()` found no ready task (asyncio `QueueEmpty`). */
export class QueueEmpty extends AsyncqError {
  constructor(queue: string) {
    super('QUEUE_EMPTY', `queue "${queue}" has no ready task`);
  }
}

/** `putNowait()` found the queue at `maxsize` (asyncio `QueueFull`). */
export class QueueFull extends AsyncqError {
  constructor(queue: string, maxsize: number) {
    super('QUEUE_FULL', `queue "${queue}" is full (maxsize ${maxsize})`);
  }
}

/** The queue was shut down: `put` always, `get` once the queue is empty (asyncio `QueueShutDown`). */
export class QueueShutDown extends AsyncqError {
  constructor(queue: string) {
    super('QUEUE_SHUT_DOWN', `queue "${queue}" is shut down; call reopen() to accept tasks again`);
  }
}

/** `taskDone` was called more times than tasks were got, or for a task this handle does not hold. */
export class TaskDoneError extends AsyncqError {
  constructor(message: string) {
    super('TASK_DONE', message);
  }
}

/** The operation was aborted by its `signal` or ran past its `timeout`. Nothing was lost. */
export class WaitAborted extends AsyncqError {
  constructor(what: string, reason: 'signal' | 'timeout', cause?: unknown) {
    super(
      reason === 'timeout' ? 'TIMEOUT' : 'ABORTED',
      reason === 'timeout' ? `${what} timed out` : `${what} was aborted`,
      { cause },
    );
  }
}

/** The handle was closed; open a new one. */
export class QueueClosed extends AsyncqError {
  constructor(queue: string) {
    super('QUEUE_CLOSED', `this handle on queue "${queue}" is closed; create a new one`);
  }
}

/**
 * A held task is no longer this handle's: its lease expired (the process stalled past `lease`) or
 * its record vanished from Redis, so it may have gone to another consumer. Finishing it does nothing.
 */
export class LeaseLost extends AsyncqError {
  constructor(queue: string, id: string, cause?: unknown);
  /** A hold on a coordination primitive (a Lock, permits of a Semaphore, a place at a Barrier) was lost. */
  constructor(primitive: { kind: string; name: string }, cause?: unknown);
  constructor(what: string | { kind: string; name: string }, idOrCause?: unknown, cause?: unknown) {
    super(
      'LEASE_LOST',
      typeof what === 'string'
        ? `task ${String(idOrCause)} of queue "${what}" is no longer held by this handle (its lease expired, or Redis lost it); raise the lease option if handlers block the event loop that long`
        : `this handle no longer holds ${what.kind} "${what.name}" (its lease expired while the process stalled, or Redis lost it), so another may hold it now; raise the lease option if the event loop blocks that long`,
      { cause: typeof what === 'string' ? cause : idOrCause },
    );
  }
}

/** A user mistake in options or arguments; the message says what is allowed. */
export class ConfigError extends AsyncqError {
  constructor(message: string) {
    super('BAD_CONFIG', message);
  }
}

/** An item that JSON cannot carry faithfully was refused at `put`; nothing was enqueued. */
export class PayloadError extends AsyncqError {
  constructor(message: string) {
    super('BAD_PAYLOAD', message);
  }
}

/** Redis could not be reached within the connect timeout. The message names host and port, never a password. */
export class RedisUnreachable extends AsyncqError {
  constructor(target: string, detail: string, cause?: unknown) {
    super(
      'REDIS_UNREACHABLE',
      `cannot reach Redis at ${target} (${detail}); start Redis there or point REDIS_URL / the connection option at a running one`,
      { cause },
    );
  }
}

/**
 * Thrown by a handler (or passed to `Task.fail`) to fail a task for good, skipping its remaining
 * attempts. Recognized by its name, so a copy from another package version works too.
 */
export class UnrecoverableError extends Error {
  constructor(message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.name = 'UnrecoverableError';
  }
}

/** `result()` of a task that failed for good: carries the remote error's message and stack. */
export class TaskFailed extends AsyncqError {
  constructor(
    readonly taskId: string,
    readonly remoteMessage: string,
    readonly remoteStack?: string,
  ) {
    super('TASK_FAILED', `task ${taskId} failed: ${remoteMessage}`);
  }
}

/**
 * The task was cancelled (`TaskRef.cancel`, `Queue.cancel`, `asyncq cancel`, a `waitFor` timeout,
 * a task group): what `result()` rejects with, and the reason a running handler's `ctx.signal`
 * aborts with. Cancelled is a terminal state: the task is never retried, and a result its handler
 * still returns is discarded.
 */
export class TaskCancelled extends AsyncqError {
  constructor(
    readonly taskId: string,
    /** Why, as the canceller said ("" when it gave no reason). */
    readonly reason = '',
    /** Who cancelled it (host, pid and what). */
    readonly by = '',
  ) {
    super('TASK_CANCELLED', `task ${taskId} was cancelled${by ? ` by ${by}` : ''}${reason ? `: ${reason}` : ''}`);
  }
}

/** `result()` of a task that does not exist (never put, or no longer kept: see `keepCompleted`). */
export class TaskNotFound extends AsyncqError {
  constructor(queue: string, id: string) {
    super('TASK_NOT_FOUND', `queue "${queue}" has no task ${JSON.stringify(id)} (never put, or finished and no longer kept; raise keepCompleted to keep more)`);
  }
}

/**
 * Redis answered but refused: a wrong password or user, a database number it does not have, or
 * an ACL that forbids a command asyncq needs. Retrying will not help; the message says what to fix.
 */
export class RedisRefused extends AsyncqError {
  constructor(message: string, cause?: unknown) {
    super('REDIS_REFUSED', message, { cause });
  }
}

/** What a {@link QueueDataLost} knows of the loss. */
export interface DataLoss {
  /** The partition that lost tasks (0 on an unpartitioned queue). */
  partition?: number;
  /** How many tasks are missing, when known. */
  missing?: number;
  /** How many tasks were unfinished when the whole queue's data went (its epoch changed). */
  unfinished?: number;
}

/**
 * Redis is out of memory (`maxmemory` reached with `maxmemory-policy noeviction`) and refused to
 * store more: a put, usually. Consumers keep draining the queue (their calls are never refused for
 * memory), so the put can be retried once they have made room.
 */
export class RedisOutOfMemory extends AsyncqError {
  constructor(target: string, cause?: unknown) {
    super(
      'REDIS_OOM',
      `Redis at ${target} is out of memory (maxmemory reached) and refused to store more: retry once workers have drained some tasks, or raise Redis's maxmemory`,
      { cause },
    );
  }
}

/**
 * Redis is set up in a way that can lose tasks: a `maxmemory-policy` other than `noeviction` lets
 * it evict a queue's keys. Raised instead of a warning when the `strictRedis` option (CLI
 * `--strict-redis`) asks for it.
 */
export class RedisMisconfigured extends AsyncqError {
  constructor(message: string) {
    super('REDIS_MISCONFIGURED', message);
  }
}

/**
 * Redis lost tasks of the queue while this handle used it: the queue's whole data (Redis restarted
 * without persistence, or the queue was deleted), or some of its tasks (a failover to a replica
 * that had not caught up, an eviction, a key deleted by hand). They may not have run, so `join`
 * reports it instead of resolving as if they had finished.
 */
export class QueueDataLost extends AsyncqError {
  /** The partition that lost tasks (0 on an unpartitioned queue); undefined when the whole queue went. */
  readonly partition: number | undefined;
  /** How many tasks are missing, when known. */
  readonly missing: number | undefined;

  constructor(queue: string, loss: DataLoss) {
    super('QUEUE_DATA_LOST', dataLossMessage(queue, loss));
    this.partition = loss.partition;
    this.missing = loss.missing ?? loss.unfinished;
  }
}

function dataLossMessage(queue: string, loss: DataLoss): string {
  const tasks = (n: number): string => `${n} task${n === 1 ? '' : 's'}`;
  if (loss.unfinished !== undefined) {
    const n = loss.unfinished;
    const where = loss.partition === undefined ? '' : ` in partition ${loss.partition}`;
    return `queue "${queue}" lost its data in Redis${where} (restarted without persistence, evicted, or deleted) while ${tasks(n)} ${n === 1 ? 'was' : 'were'} unfinished; they may not have run: put them again if they must`;
  }
  const what = loss.missing === undefined ? 'tasks' : tasks(loss.missing);
  return `queue "${queue}" lost ${what} in partition ${loss.partition} (Redis failed over to a replica that had not caught up, evicted keys, or keys were deleted by hand); they may not have run: put them again if they must, and run Redis with maxmemory-policy noeviction`;
}

/**
 * A key of the queue holds a value of the wrong type (something other than asyncq or BullMQ wrote
 * it): the queue's data in Redis is damaged. Retrying will not help; the message says what to do.
 */
export class QueueCorrupt extends AsyncqError {
  constructor(queue: string, cause?: unknown) {
    super(
      'QUEUE_CORRUPT',
      `queue "${queue}" has a key in Redis holding the wrong type of value (WRONGTYPE), so its data is damaged: repair that key, or delete the queue (asyncq delete ${shellQuote(queue)} --force)`,
      { cause },
    );
  }
}

/** `e` as a {@link QueueCorrupt} of `queue` when Redis answered WRONGTYPE, else undefined. */
export function corruptionOf(queue: string, e: unknown): QueueCorrupt | undefined {
  return /WRONGTYPE/.test(String((e as Error)?.message)) ? new QueueCorrupt(queue, e) : undefined;
}

/**
 * `release()` of a Lock this handle does not hold, or `wait()`/`notify()` on a Condition without
 * holding its lock (asyncio raises `RuntimeError`).
 */
export class LockNotHeld extends AsyncqError {
  constructor(message: string) {
    super('LOCK_NOT_HELD', message);
  }
}

/** A `BoundedSemaphore` was released more times than it was acquired (asyncio raises `ValueError`). */
export class SemaphoreOverReleased extends AsyncqError {
  constructor(name: string, value: number) {
    super(
      'SEMAPHORE_OVER_RELEASED',
      `BoundedSemaphore "${name}" was released more times than acquired (it would exceed its value ${value}); release only permits you acquired`,
    );
  }
}

/** A `Barrier` was aborted or reset while a party waited, or is broken (asyncio `BrokenBarrierError`). */
export class BrokenBarrier extends AsyncqError {
  constructor(name: string, how: 'broken' | 'reset') {
    super(
      'BROKEN_BARRIER',
      how === 'reset' ? `barrier "${name}" was reset while this party waited; wait again` : `barrier "${name}" is broken (abort() was called); reset() it before waiting again`,
    );
  }
}

/** The coordination primitive's handle was closed; open a new one. */
export class PrimitiveClosed extends AsyncqError {
  constructor(kind: string, name: string) {
    super('PRIMITIVE_CLOSED', `this handle on ${kind} "${name}" is closed; create a new one`);
  }
}
