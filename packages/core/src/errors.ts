/**
 * The codes an {@link AsyncqError} carries: a closed set, and each code has its class (so `instanceof`
 * and `err.code` agree). `WaitAborted` carries `TIMEOUT` or `ABORTED`. Four classes live with the
 * package that throws them: `TaskTimeout`, `WorkerStopping` and `HandlerCrashed` in
 * `@asyncq/worker`, the CLI's `CliError` in `@asyncq/cli`. A new code comes with its class.
 */
export type AsyncqErrorCode =
  | 'QUEUE_EMPTY'
  | 'QUEUE_FULL'
  | 'QUEUE_SHUT_DOWN'
  | 'TASK_DONE'
  | 'TIMEOUT'
  | 'ABORTED'
  | 'QUEUE_CLOSED'
  | 'LEASE_LOST'
  | 'BAD_CONFIG'
  | 'BAD_PAYLOAD'
  | 'REDIS_UNREACHABLE'
  | 'REDIS_REFUSED'
  | 'REDIS_OOM'
  | 'REDIS_MISCONFIGURED'
  | 'REDIS_ERROR'
  | 'NO_REDIS_SERVER'
  | 'QUEUE_DATA_LOST'
  | 'QUEUE_CORRUPT'
  | 'TASK_FAILED'
  | 'TASK_CANCELLED'
  | 'TASK_NOT_FOUND'
  | 'LOCK_NOT_HELD'
  | 'SEMAPHORE_OVER_RELEASED'
  | 'BROKEN_BARRIER'
  | 'PRIMITIVE_CLOSED'
  | 'TASK_TIMEOUT'
  | 'WORKER_STOPPING'
  | 'HANDLER_CRASHED'
  | 'CLI_USAGE';

/**
 * Every error asyncq throws on purpose is an {@link AsyncqError} with a stable
 * string `code`, so callers can branch on `err.code` across package versions.
 * The asyncio errors keep their Python names.
 */
export class AsyncqError extends Error {
  /** A stable machine-readable code, e.g. `QUEUE_EMPTY`: one of {@link AsyncqErrorCode}. */
  readonly code: AsyncqErrorCode;

  constructor(code: AsyncqErrorCode, message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.code = code;
    this.name = new.target.name;
  }
}

/** `getNowait()` found no ready task (asyncio `QueueEmpty`). */
export class QueueEmpty extends AsyncqError {
  declare readonly code: 'QUEUE_EMPTY';

  constructor(queue: string) {
    super('QUEUE_EMPTY', `queue "${queue}" has no ready task`);
  }
}

/** `putNowait()` found the queue at `maxsize` (asyncio `QueueFull`). */
export class QueueFull extends AsyncqError {
  declare readonly code: 'QUEUE_FULL';

  constructor(queue: string, maxsize: number) {
    super('QUEUE_FULL', `queue "${queue}" is full (maxsize ${maxsize})`);
  }
}

/** The queue was shut down: `put` always, `get` once the queue is empty (asyncio `QueueShutDown`). */
export class QueueShutDown extends AsyncqError {
  declare readonly code: 'QUEUE_SHUT_DOWN';

  constructor(queue: string) {
    super('QUEUE_SHUT_DOWN', `queue "${queue}" is shut down; call reopen() to accept tasks again`);
  }
}

/** `taskDone` was called more times than tasks were got, or for a task this handle does not hold. */
export class TaskDoneError extends AsyncqError {
  declare readonly code: 'TASK_DONE';

  constructor(message: string) {
    super('TASK_DONE', message);
  }
}

/** The operation was aborted by its `signal` or ran past its `timeout`. Nothing was lost. */
export class WaitAborted extends AsyncqError {
  declare readonly code: 'TIMEOUT' | 'ABORTED';

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
  declare readonly code: 'QUEUE_CLOSED';

  constructor(queue: string) {
    super('QUEUE_CLOSED', `this handle on queue "${queue}" is closed; create a new one`);
  }
}

/**
 * A held task is no longer this handle's: its lease expired (the process stalled past `lease`) or
 * its record vanished from Redis, so it may have gone to another consumer. Finishing it does nothing.
 */
export class LeaseLost extends AsyncqError {
  declare readonly code: 'LEASE_LOST';

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
  declare readonly code: 'BAD_CONFIG';

  constructor(message: string) {
    super('BAD_CONFIG', message);
  }
}

/** An item that JSON cannot carry faithfully was refused at `put`; nothing was enqueued. */
export class PayloadError extends AsyncqError {
  declare readonly code: 'BAD_PAYLOAD';

  constructor(message: string) {
    super('BAD_PAYLOAD', message);
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
  declare readonly code: 'TASK_FAILED';

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
  declare readonly code: 'TASK_CANCELLED';

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
  declare readonly code: 'TASK_NOT_FOUND';

  constructor(queue: string, id: string) {
    super('TASK_NOT_FOUND', `queue "${queue}" has no task ${JSON.stringify(id)} (never put, or finished and no longer kept; raise keepCompleted to keep more)`);
  }
}
