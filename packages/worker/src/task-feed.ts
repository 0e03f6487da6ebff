import { QueueClosed, QueueShutDown, WaitAborted, type AsyncQueue, type Task } from '@asyncq/core';
import { safeMessage } from '@asyncq/core/internal';
import type { RedisHealth } from './redis-health.js';
import { asError, codeOf, isA, transient } from './safe-reads.js';
import { retryDelay, sleep } from './timers.js';
import type { WorkerLogger } from './worker-logger.js';

/** What a {@link TaskFeed} needs from its worker. */
export interface FeedOptions {
  queue: AsyncQueue<unknown>;
  /** Aborted when the worker stops taking tasks. */
  stop: AbortSignal;
  /** How many loops take tasks (the worker's concurrency). */
  loops: number;
  health: RedisHealth;
  log: WorkerLogger;
  onError(error: Error): void;
  onDrained(): void;
  /** Redis refused what taking a task needs (an ACL without a command): no retry will help. */
  onRefused(error: Error): void;
}

/** How long every loop must have waited with nothing running before the worker checks it is drained. */
const DRAIN_CHECK_MS = 50;
/** A failure that repeats with the same message is logged again only after this long. */
const REPEAT_LOG_MS = 60_000;

/**
 * The worker's loops take their tasks here. A failing `getTask` never ends a loop: a Redis that is
 * away (restarting, failing over) is retried with backoff, told once and told again when it is back;
 * any other failure (say a key of the wrong type) is logged and retried with backoff too, so a bad
 * state never turns into a crash loop. Also tells when the worker is drained: every loop waiting
 * and the queue empty.
 */
export class TaskFeed {
  private failures = 0;
  private waiting = 0;
  private drainTimer?: NodeJS.Timeout;
  private drainReported = false;
  private lastProblem?: { message: string; at: number };

  constructor(private readonly opts: FeedOptions) {}

  /** The next task, or undefined once the worker should stop taking (stopped, shut down and empty). */
  async next(): Promise<Task<unknown> | undefined> {
    const { queue, stop } = this.opts;
    while (!stop.aborted) {
      this.waiting++;
      if (this.waiting === this.opts.loops) this.armDrainCheck();
      let task: Task<unknown>;
      try {
        task = await queue.getTask({ signal: stop });
      } catch (e) {
        if (stop.aborted || isA(e, WaitAborted) || isA(e, QueueShutDown)) return undefined;
        if (isA(e, QueueClosed)) {
          this.opts.log.warn({ err: safeMessage(e) }, 'the queue was closed under the worker: it stops');
          return undefined;
        }
        // A refusal (a user whose ACL lacks a command or a channel), or a Redis this process was
        // told not to run on (--strict-redis), is the same at every retry.
        if (codeOf(e) === 'REDIS_REFUSED' || codeOf(e) === 'REDIS_MISCONFIGURED') {
          this.opts.onRefused(asError(e));
          return undefined;
        }
        this.trouble(e);
        await sleep(retryDelay(++this.failures), stop);
        continue;
      } finally {
        this.waiting--;
      }
      this.failures = 0;
      this.drainReported = false;
      this.opts.health.ok();
      // Got just as the stop began: not started, it stays held and the stop's close hands it back.
      return stop.aborted ? undefined : task;
    }
    return undefined;
  }

  /** Cancels a pending check for `drained` (the worker is stopping). */
  stopDrainChecks(): void {
    clearTimeout(this.drainTimer);
  }

  private trouble(e: unknown): void {
    const message = safeMessage(e);
    if (transient(e)) {
      this.opts.health.lost(message);
      return;
    }
    const now = Date.now();
    if (this.lastProblem?.message === message && now - this.lastProblem.at < REPEAT_LOG_MS) return;
    this.lastProblem = { message, at: now };
    this.opts.log.error({ err: message }, 'taking a task failed; retrying with backoff');
    this.opts.onError(asError(e));
  }

  private armDrainCheck(): void {
    if (this.drainReported || this.drainTimer) return;
    this.drainTimer = setTimeout(() => {
      this.drainTimer = undefined;
      if (this.waiting !== this.opts.loops || this.opts.stop.aborted) return;
      this.opts.queue.empty().then(
        (empty) => {
          if (!empty || this.waiting !== this.opts.loops || this.drainReported || this.opts.stop.aborted) return;
          this.drainReported = true;
          this.opts.onDrained();
        },
        () => {}, // Redis trouble shows through getTask and the heartbeat
      );
    }, DRAIN_CHECK_MS);
    this.drainTimer.unref();
  }
}
