import { randomUUID } from 'node:crypto';
import { setMaxListeners } from 'node:events';
import { hostname } from 'node:os';
import {
  AsyncqError,
  checkInt,
  Queue,
  QueueShutDown,
  UnrecoverableError,
  WaitAborted,
  WorkerRegistry,
  type AsyncQueue,
  type ConnectionOption,
  type Task,
  type WorkerInfo,
} from '@asyncq/core';
import type { Registry } from 'prom-client';
import { checkHandlers, type Handler, type Handlers } from './handlers.js';
import { RunningTask, WorkerStopping } from './running-task.js';
import type { WorkerOptions } from './worker-options.js';
import { WorkerMetrics, type TaskMetrics } from './worker-metrics.js';

/**
 * Runs handlers for a queue's tasks with concurrency, per-task timeouts, retries (from each task's
 * `attempts`/`backoff`), dead letters, a graceful stop, a heartbeat in the worker registry and
 * Prometheus metrics.
 *
 * @example
 * ```ts
 * const w = new Worker('emails', defineHandlers({ send: async (data, ctx) => mailer.send(data) }), {
 *   concurrency: 16,
 *   metricsPort: 9464,
 * });
 * await w.run(); // until close(), SIGTERM or SIGINT
 * ```
 */
export class Worker {
  /** This worker's id in the registry. */
  readonly id = `${hostname()}:${process.pid}:${randomUUID().slice(0, 8)}`;
  readonly queueName: string;
  readonly metrics: WorkerMetrics;
  private readonly queue: AsyncQueue<unknown>;
  private readonly registry: WorkerRegistry | undefined;
  private readonly handlers: Handlers;
  private readonly concurrency: number;
  private readonly timeout: number | undefined;
  private readonly graceMs: number;
  private readonly opts: WorkerOptions;
  private readonly running = new Set<RunningTask>();
  /** Resolves stop()'s wait once no task runs. */
  private whenIdle?: () => void;
  private readonly stopTaking = new AbortController();
  private readonly startedAt = Date.now();
  private done = 0;
  private failed = 0;
  private heartbeat?: NodeJS.Timeout;
  private metricsServer?: { port: number; close: () => Promise<void> };
  private closing?: Promise<void>;
  /** Ends the grace period of a stop in progress (a second SIGINT). */
  private cutGrace = (): void => {};
  private removeSignalHandlers?: () => void;

  constructor(queue: string, handlers: Handlers, opts: WorkerOptions = {}) {
    this.handlers = checkHandlers(handlers, 'the handlers given to Worker');
    this.concurrency = checkInt('concurrency', opts.concurrency, 1, 1);
    this.timeout = opts.timeout === undefined ? undefined : checkInt('timeout', opts.timeout, 0, 1);
    this.graceMs = checkInt('graceMs', opts.graceMs, 10_000);
    if (opts.metricsPort !== undefined) checkInt('metricsPort', opts.metricsPort, 0, 0, 65_535);
    checkInt('heartbeatMs', opts.heartbeatMs, 5000, 10);
    this.opts = opts;
    this.queue =
      opts.queue ??
      new Queue(queue, { connection: opts.connection, prefix: opts.prefix, lease: opts.lease, stalledInterval: opts.stalledInterval });
    this.registry =
      opts.workerRegistry === false
        ? undefined
        : (opts.workerRegistry ?? (opts.queue ? undefined : new WorkerRegistry(queue, { connection: opts.connection, prefix: opts.prefix })));
    this.queueName = this.queue.name;
    this.metrics = new WorkerMetrics(opts.registry);
    this.started = new Promise((resolve) => (this.markStarted = resolve));
    // Every task loop waits on this one signal.
    setMaxListeners(this.concurrency + 10, this.stopTaking.signal);
  }

  /** Resolves once `run()` has registered the worker and opened its metrics port (if any). */
  readonly started: Promise<void>;
  private markStarted = (): void => {};

  /** The metrics server's port, once `run()` started it. */
  get metricsPort(): number | undefined {
    return this.metricsServer?.port;
  }

  /**
   * Runs until `close()`, a signal, or the queue is shut down and empty. Resolves once the worker
   * has stopped and handed back what it did not finish.
   */
  async run(): Promise<void> {
    if (this.opts.handleSignals ?? true) this.installSignalHandlers();
    try {
      await this.beat(); // also the first connection: an unreachable Redis fails here, at once
      const every = this.opts.heartbeatMs ?? 5000;
      this.heartbeat = setInterval(() => void this.beat().catch(() => {}), every).unref();
      if (this.opts.metricsPort !== undefined) {
        this.metricsServer = await this.metrics.serve(this.opts.metricsPort, this.opts.metricsHost ?? '127.0.0.1', () => ({
          worker: this.id,
          queue: this.queueName,
          running: this.running.size,
        }));
      }
    } catch (e) {
      await this.close({ graceMs: 0 });
      throw e;
    }
    this.markStarted();
    await Promise.all(Array.from({ length: this.concurrency }, () => this.takeTasks()));
    // Every loop ended: closed, or the queue was shut down and is empty.
    await this.close();
  }

  /**
   * Stops taking tasks, lets running ones finish within `graceMs`, then aborts the rest through
   * `ctx.signal` and hands them back to the queue for another worker.
   */
  close(opts: { graceMs?: number } = {}): Promise<void> {
    this.closing ??= this.stop(opts.graceMs ?? this.graceMs);
    return this.closing;
  }

  private async stop(graceMs: number): Promise<void> {
    this.stopTaking.abort();
    clearInterval(this.heartbeat);
    const allFinished = new Promise<void>((resolve) => {
      this.whenIdle = resolve;
      if (this.running.size === 0) resolve();
    });
    let timer: NodeJS.Timeout | undefined;
    await Promise.race([
      allFinished,
      new Promise<void>((resolve) => {
        timer = setTimeout(resolve, graceMs);
        this.cutGrace = resolve;
      }),
    ]);
    clearTimeout(timer);
    for (const r of this.running) {
      r.handedBack = true;
      r.abort(new WorkerStopping());
    }
    await this.registry?.leave(this.id).catch(() => {});
    // Closing the queue hands every task still held back to the head of the queue.
    await this.queue.close();
    await this.registry?.close();
    await this.metricsServer?.close();
    this.removeSignalHandlers?.();
  }

  private async takeTasks(): Promise<void> {
    while (!this.stopTaking.signal.aborted) {
      let task: Task<unknown>;
      try {
        task = await this.queue.getTask({ signal: this.stopTaking.signal });
      } catch (e) {
        if (e instanceof WaitAborted || this.stopTaking.signal.aborted) return;
        if (e instanceof QueueShutDown) return; // shut down and empty: this worker's work is over
        throw e;
      }
      await this.execute(task);
    }
  }

  private async execute(task: Task<unknown>): Promise<void> {
    const m = this.metrics.forTask(this.queueName, task.name);
    const handler = this.handlerFor(task.name);
    if (!handler) {
      await this.settle(task, m, { error: new UnrecoverableError(`no handler for task "${task.name}"; this worker handles ${this.handledNames()}`) });
      return;
    }
    const run = new RunningTask(task);
    this.running.add(run);
    m.wait.observe(Math.max(0, Date.now() - task.readyAt) / 1000);
    m.active.inc();
    const endTimer = m.duration.startTimer();
    let outcome: { value: unknown } | { error: unknown };
    try {
      const result = handler(task.data, run.context);
      // With a timeout the handler races it, so a timed-out attempt ends even if the handler ignores
      // ctx.signal; without one, a stopping worker hands the task back without waiting for it.
      outcome = { value: this.timeout === undefined ? await result : await run.within(result, this.timeout) };
    } catch (error) {
      outcome = { error: run.abortReason ?? error };
    } finally {
      run.clear();
      endTimer();
      m.active.dec();
    }
    try {
      if (!run.handedBack) await this.settle(task, m, outcome);
    } finally {
      this.running.delete(run);
      if (this.running.size === 0) this.whenIdle?.();
    }
  }

  /** Finishes a task per its outcome, counting it; a result JSON cannot carry fails the attempt. */
  private async settle(task: Task<unknown>, m: TaskMetrics, outcome: { value: unknown } | { error: unknown }): Promise<void> {
    try {
      let error = 'error' in outcome ? outcome.error : undefined;
      if ('value' in outcome) {
        try {
          await task.done(outcome.value);
          this.done++;
          m.completed.inc();
          return;
        } catch (e) {
          if ((e as AsyncqError).code !== 'BAD_PAYLOAD') throw e;
          error = new UnrecoverableError(`the handler's result cannot be stored: ${(e as Error).message}`);
        }
      }
      const final = task.attempt >= task.attempts || (error as Error)?.name === 'UnrecoverableError';
      await task.fail(error);
      this.failed++;
      if (final) m.failedFinal.inc();
      else {
        m.failedRetrying.inc();
        m.retried.inc();
      }
    } catch (e) {
      // The lease was lost or Redis failed: the task is redelivered to some worker; keep running.
      if (!(e instanceof AsyncqError)) throw e;
    }
  }

  private handlerFor(name: string): Handler | undefined {
    return typeof this.handlers === 'function' ? this.handlers : Object.hasOwn(this.handlers, name) ? this.handlers[name] : undefined;
  }

  private handledNames(): string {
    return typeof this.handlers === 'function' ? 'every task' : Object.keys(this.handlers).map((n) => `"${n}"`).join(', ');
  }

  private async beat(): Promise<void> {
    if (!this.registry) return;
    const now = Date.now();
    const info: WorkerInfo = {
      id: this.id,
      host: hostname(),
      pid: process.pid,
      queue: this.queueName,
      concurrency: this.concurrency,
      startedAt: this.startedAt,
      done: this.done,
      failed: this.failed,
      lastHeartbeat: now,
      handle: (this.queue as { handle?: string }).handle,
      running: this.running.size,
      current: [...this.running].slice(0, 5).map((r) => ({ id: r.task.id, name: r.task.name, startedAt: r.startedAt })),
    };
    return this.registry.beat(info, 3 * (this.opts.heartbeatMs ?? 5000));
  }

  private installSignalHandlers(): void {
    let signals = 0;
    const onSignal = (signal: NodeJS.Signals): void => {
      signals++;
      if (signals === 1) void this.close();
      else if (signal === 'SIGINT') this.cutGrace(); // a second Ctrl-C: hand back at once
    };
    process.on('SIGTERM', onSignal);
    process.on('SIGINT', onSignal);
    this.removeSignalHandlers = () => {
      process.off('SIGTERM', onSignal);
      process.off('SIGINT', onSignal);
    };
  }
}

