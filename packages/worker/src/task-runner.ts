import { AsyncqError, LeaseLost, TaskCancelled, UnrecoverableError, type Task } from '@asyncq/core';
import { describeError, safeMessage, type ErrorFacts } from '@asyncq/core/internal';
import type { Handler } from './handlers.js';
import type { RedisHealth } from './redis-health.js';
import { RunningTask, type Outcome } from './running-task.js';
import { asError, codeOf, isA, transient } from './safe-reads.js';
import { retryDelay, sleep } from './timers.js';
import type { TaskEventInfo, WorkerEvents } from './worker-events.js';
import type { WorkerLogger } from './worker-logger.js';
import type { TaskMetrics } from './worker-metrics.js';

/** What a {@link TaskRunner} needs from its worker. */
export interface RunnerOptions {
  handlerFor(name: string): Handler | undefined;
  /** The error a task whose name has no handler fails with. */
  noHandler(name: string): Error;
  metricsFor(name: string): TaskMetrics;
  timeout: number | undefined;
  guarded: boolean;
  health: RedisHealth;
  log: WorkerLogger;
  emit<K extends keyof WorkerEvents>(event: K, ...args: WorkerEvents[K]): void;
  /** Aborted when a stop gives up on Redis: finishing calls stop retrying. */
  giveUp: AbortSignal;
}

/** How often a finishing call (done or fail) that failed for want of Redis is tried in all. */
const FINISH_TRIES = 8;

/**
 * Runs tasks: the handler (timed, guarded), then the outcome recorded in the queue (done, failed and
 * retried, dead letter), counted in metrics, logged and emitted. Nothing a handler does or throws,
 * and no failure to record an outcome, escapes `execute`.
 */
export class TaskRunner {
  /** Tasks whose handler runs or whose outcome is being recorded. */
  readonly running = new Set<RunningTask>();
  /** Tasks completed since start. */
  done = 0;
  /** Attempts failed since start. */
  failed = 0;
  /** Tasks a stop aborted whose handler then threw: they go back to the queue. */
  handedBack = 0;
  /** Tasks cancelled while this worker had them. */
  cancelled = 0;
  private readonly executions = new Set<Promise<void>>();
  private waiters: { most: number; resolve: () => void }[] = [];

  constructor(private readonly opts: RunnerOptions) {}

  /**
   * Runs `task` to its end; never throws. Resolves once the task no longer needs its slot: its
   * handler settled and its outcome is on its way to the queue. Recording the outcome (waiting for
   * Redis to take it, retrying while Redis is away) goes on without the slot, so the worker takes
   * its next task while the acknowledgement of this one travels, and both go in one round trip.
   * Those outcomes still count for {@link whenIdle}.
   */
  execute(task: Task<unknown>): Promise<void> {
    let freeSlot!: () => void;
    const slot = new Promise<void>((resolve) => (freeSlot = resolve));
    const execution = this.run(task, freeSlot).finally(() => {
      freeSlot();
      this.executions.delete(execution);
      if (this.waiters.length > 0) this.waiters = this.waiters.filter((w) => (w.most >= this.executions.size ? (w.resolve(), false) : true));
    });
    this.executions.add(execution);
    return slot;
  }

  /** Resolves once no task is running or being recorded. */
  whenIdle(): Promise<void> {
    return this.whenAtMost(0);
  }

  /** Resolves once at most `most` tasks are running or being recorded (a stop's abandoned ones). */
  whenAtMost(most: number): Promise<void> {
    if (this.executions.size <= most) return Promise.resolve();
    return new Promise((resolve) => this.waiters.push({ most, resolve }));
  }

  private async run(task: Task<unknown>, freeSlot: () => void): Promise<void> {
    const m = this.opts.metricsFor(task.name);
    const info = taskInfo(task);
    const handler = this.opts.handlerFor(task.name);
    if (!handler) {
      await this.record(task, info, m, { error: this.opts.noHandler(task.name) }, 0, freeSlot);
      return;
    }
    const started = Date.now();
    m.wait.observe(Math.max(0, started - task.readyAt) / 1000);
    m.active.inc();
    this.opts.log.debug({ taskId: task.id, taskName: task.name, attempt: task.attempt }, 'task started');
    this.opts.emit('active', info);
    const run = RunningTask.start(task, handler, {
      timeout: this.opts.timeout,
      guarded: this.opts.guarded,
      onLateCrash: (r, error) => this.lateCrash(r, error),
      onLateResult: (r) => this.lateResult(r),
    });
    const whole = run.decided.then(async (outcome) => {
      const ms = Date.now() - started;
      m.duration.observe(ms / 1000);
      m.active.dec();
      if (isA(run.released, TaskCancelled)) {
        // Cancelled: a terminal state Redis already holds. Nothing to record; the handler was told.
        this.wasCancelled(task, info, m, run.released, run.begun);
        return;
      }
      if (run.stopping && 'error' in outcome) {
        // Closing the queue hands it back: aborted by a stop, it must not count as a failed attempt.
        this.handedBack++;
        this.opts.log.debug({ taskId: task.id, taskName: task.name, ms }, 'task aborted by the stop; it goes back to the queue');
        return;
      }
      await this.record(task, info, m, outcome, ms, freeSlot);
    });
    this.running.add(run);
    try {
      await whole;
    } finally {
      this.running.delete(run);
    }
  }

  /**
   * Records an attempt's outcome in the queue, counting, logging and emitting it. `sent` is called
   * once the outcome is on its way (the slot is free for the next task).
   */
  private async record(task: Task<unknown>, info: TaskEventInfo, m: TaskMetrics, outcome: Outcome, ms: number, sent: () => void): Promise<void> {
    const { log } = this.opts;
    try {
      let error = 'error' in outcome ? outcome.error : undefined;
      if ('value' in outcome) {
        try {
          await this.withRetries(() => task.done(outcome.value), sent);
          this.done++;
          m.completed.inc();
          log.info({ taskId: task.id, taskName: task.name, ms }, 'task done');
          this.opts.emit('completed', { ...info, result: outcome.value, durationMs: ms });
          return;
        } catch (e) {
          // A result JSON cannot carry (or one whose reading throws) fails the task for good: it would every time.
          if (codeOf(e) !== 'BAD_PAYLOAD' && isA(e, AsyncqError)) throw e;
          error = new UnrecoverableError(`the handler's result cannot be stored: ${safeMessage(e)}`);
        }
      }
      if (isRateLimited(error)) {
        // Not a failure: the queue takes it back for later without using an attempt.
        await this.withRetries(() => task.fail(error), sent);
        log.info({ taskId: task.id, taskName: task.name, ms, retryAfterMs: error.retryAfterMs }, 'task rate limited, back later');
        return;
      }
      // Whatever was thrown (a Proxy, a throwing getter) is read once, safely, into a plain Error.
      const facts = describeError(error);
      const willRetry = task.attempt < task.attempts && facts.name !== 'UnrecoverableError';
      await this.withRetries(() => task.fail(plainError(facts)), sent);
      this.failed++;
      if (willRetry) {
        m.failedRetrying.inc();
        m.retried.inc();
      } else m.failedFinal.inc();
      const fields = { taskId: task.id, taskName: task.name, attempt: task.attempt, attempts: task.attempts, ms, err: facts.message };
      if (willRetry) log.warn(fields, 'task failed, will retry');
      else log.error(fields, 'task failed for good');
      this.opts.emit('failed', { ...info, error: facts, durationMs: ms, willRetry });
    } catch (e) {
      this.unrecorded(task, info, e);
    }
  }

  /**
   * A finishing call that fails for want of Redis leaves the task held: try again for a while.
   * `sent` is called once the first call is made.
   */
  private async withRetries(finish: () => Promise<void>, sent: () => void): Promise<void> {
    for (let n = 1; ; n++) {
      try {
        const finishing = finish();
        if (n === 1) sent();
        await finishing;
        return;
      } catch (e) {
        if (!transient(e) || n >= FINISH_TRIES || this.opts.giveUp.aborted) throw e;
        this.opts.health.lost(safeMessage(e));
        await sleep(retryDelay(n), this.opts.giveUp);
      }
    }
  }

  private unrecorded(task: Task<unknown>, info: TaskEventInfo, e: unknown): void {
    const err = safeMessage(e);
    if (isA(e, LeaseLost)) {
      this.opts.log.warn(
        { taskId: task.id, taskName: task.name, err },
        'task lost its lease (the worker stalled or lost Redis for longer than the lease): its handler was told to stop through ctx.signal, its outcome was not recorded, and it runs again elsewhere',
      );
      this.opts.emit('stalled', { ...info, reason: err });
      return;
    }
    this.opts.log.error({ taskId: task.id, taskName: task.name, err }, 'could not record the outcome of a task; it stays held until the worker stops, then goes back');
    this.opts.emit('error', asError(e));
  }

  private wasCancelled(task: Task<unknown>, info: TaskEventInfo, m: TaskMetrics, why: TaskCancelled, started: boolean): void {
    this.cancelled++;
    m.cancelled.inc();
    const fields = { taskId: task.id, taskName: task.name, by: why.by, reason: why.reason };
    this.opts.log.info(fields, started ? "task cancelled: its handler was told through ctx.signal" : 'task cancelled before its handler started: it did not run');
    this.opts.emit('cancelled', { ...info, reason: why.reason, by: why.by, started });
  }

  private lateResult(run: RunningTask): void {
    if (!isA(run.released, TaskCancelled)) return;
    this.opts.log.warn(
      { taskId: run.task.id, taskName: run.task.name, by: run.released.by },
      'the handler of a cancelled task returned after all (it ignored ctx.signal): its result was discarded, and the task stays cancelled',
    );
  }

  private lateCrash(run: RunningTask, error: unknown): void {
    const err = safeMessage(error);
    this.opts.log.warn({ taskId: run.task.id, taskName: run.task.name, err }, "the code of a task threw after its attempt ended; the worker keeps running");
    this.opts.emit('error', new Error(`task ${run.task.id} (${run.task.name}): ${err}`));
  }
}

function taskInfo(task: Task<unknown>): TaskEventInfo {
  return { id: task.id, name: task.name, attempt: task.attempt, attempts: task.attempts };
}

/** An Error carrying what was read from a thrown value, for the queue to record. */
/** A `RateLimited` from any copy of @asyncq/core (recognized by name, as UnrecoverableError is). */
function isRateLimited(error: unknown): error is Error & { retryAfterMs: number } {
  try {
    return error instanceof Error && error.name === 'RateLimited' && typeof (error as { retryAfterMs?: unknown }).retryAfterMs === 'number';
  } catch {
    return false;
  }
}

function plainError(facts: ErrorFacts): Error {
  const e = new Error(facts.message);
  e.name = facts.name;
  e.stack = facts.stack ?? `${facts.name}: ${facts.message}`;
  return e;
}
