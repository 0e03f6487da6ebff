import { randomUUID } from 'node:crypto';
import { setMaxListeners } from 'node:events';
import { hostname } from 'node:os';
import { format } from 'node:util';
import {
  AsyncqError,
  checkInt,
  Queue,
  QueueShutDown,
  UnrecoverableError,
  WaitAborted,
  type ConnectionOption,
  type Task,
  type WorkerInfo,
} from '@asyncq/core';
import type { Registry } from 'prom-client';
import { checkHandlers, type Handler, type Handlers, type TaskContext } from './handlers.js';
import { WorkerMetrics, type TaskMetrics } from './worker-metrics.js';

/** Options of a {@link Worker}. */
export interface WorkerOptions {
  /** Where Redis is. @defaultValue `process.env.REDIS_URL` or `redis://127.0.0.1:6379` */
  connection?: ConnectionOption;
  /** Tasks run at once. @defaultValue 1 */
  concurrency?: number;
  /** Per-attempt time limit in ms: past it `ctx.signal` is aborted and the attempt fails. @defaultValue none */
  timeout?: number;
  /** How long `close()` (and SIGTERM/SIGINT) lets running tasks finish before handing them back. @defaultValue 10000 */
  graceMs?: number;
  /** Serve `/metrics` and `/healthz` on this port (0 picks a free one). @defaultValue no server */
  metricsPort?: number;
  /** Address the metrics server binds to. @defaultValue '127.0.0.1' */
  metricsHost?: string;
  /** A prom-client registry to register the worker's metrics in. @defaultValue a new one with the default process metrics */
  registry?: Registry;
  /** `run()` stops gracefully on SIGTERM and SIGINT; a second SIGINT stops at once. @defaultValue true */
  handleSignals?: boolean;
  /** How often the worker refreshes its entry in the registry (it drops out after 3 missed beats). @defaultValue 5000 */
  heartbeatMs?: number;
  /** Redis key prefix. @defaultValue 'asyncq' */
  prefix?: string;
  /** Lease of a running task, renewed while the worker lives. @defaultValue 30000 */
  lockDuration?: number;
  /** How often tasks of crashed workers are looked for. @defaultValue 30000 */
  stalledInterval?: number;
}

/**
 * A task this worker runs now. Its AbortController is only made when the handler reads
 * `ctx.signal` (most never do), keeping the per-task path short.
 */
class RunningTask {
  /** Set when the worker stopped it to hand it back: then the attempt does not count as failed. */
  handedBack = false;
  /** Why the attempt was ended early (timeout or stop), if it was. */
  abortReason: unknown;
  readonly context: TaskContext;
  private controller?: AbortController;
  private interrupt?: (reason: unknown) => void;
  private timer?: NodeJS.Timeout;

  constructor(readonly task: Task<unknown>) {
    this.context = new HandlerContext(this);
  }

  /** ctx.signal, made on first read. */
  signal(): AbortSignal {
    this.controller ??= new AbortController();
    if (this.abortReason !== undefined) this.controller.abort(this.abortReason);
    return this.controller.signal;
  }

  /** Aborts ctx.signal and ends a timed attempt now. */
  abort(reason: unknown): void {
    if (this.abortReason !== undefined) return;
    this.abortReason = reason;
    this.controller?.abort(reason);
    this.interrupt?.(reason);
  }

  /** Resolves with the handler's result, or rejects once `ms` pass (aborting ctx.signal). */
  within<R>(result: R | Promise<R>, ms: number): Promise<R> {
    const interrupted = new Promise<never>((_, reject) => (this.interrupt = reject));
    this.timer = setTimeout(() => this.abort(new TaskTimeout(ms)), ms);
    return Promise.race([result, interrupted]);
  }

  clear(): void {
    clearTimeout(this.timer);
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
  constructor(ms: number) {
    super('TASK_TIMEOUT', `task ran past its timeout of ${ms} ms`);
  }
}

/** The abort reason of tasks a stopping worker hands back to the queue. */
export class WorkerStopping extends AsyncqError {
  constructor() {
    super('WORKER_STOPPING', 'the worker is stopping; the task goes back to the queue');
  }
}

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
  private readonly queue: Queue<unknown>;
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
    this.queue = new Queue(queue, {
      connection: opts.connection,
      prefix: opts.prefix,
      lockDuration: opts.lockDuration,
      stalledInterval: opts.stalledInterval,
    });
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
    await this.queue.unregisterWorker(this.id).catch(() => {});
    // Closing the queue hands every task still held back to the head of the queue.
    await this.queue.close();
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

  private beat(): Promise<void> {
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
      handle: this.queue.handle,
    };
    return this.queue.registerWorker(info, 3 * (this.opts.heartbeatMs ?? 5000));
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

