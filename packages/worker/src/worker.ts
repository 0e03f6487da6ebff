import { randomUUID } from 'node:crypto';
import { EventEmitter, setMaxListeners } from 'node:events';
import { hostname } from 'node:os';
import { Queue, UnrecoverableError, WorkerRegistry, type AsyncQueue, type WorkerInfo } from '@asyncq/core';
import { DEFAULT_WORKER_PREFETCH, safeMessage } from '@asyncq/core/internal';
import { stopGracefully } from './graceful-stop.js';
import { checkHandlers, type Handler, type Handlers } from './handlers.js';
import { Heartbeat } from './heartbeat.js';
import { guardProcess } from './process-guard.js';
import { RedisHealth } from './redis-health.js';
import { asError } from './safe-reads.js';
import { TaskFeed } from './task-feed.js';
import { TaskRunner } from './task-runner.js';
import { emitSafely, type StopReason, type WorkerEvents } from './worker-events.js';
import { silentLogger, type WorkerLogger } from './worker-logger.js';
import { WorkerMetrics, taskLabeler, type MetricsServer } from './worker-metrics.js';
import { ScheduleTimer, type ScheduleSource } from './schedule-timer.js';
import { checkWorkerOptions, type WorkerOptions, type WorkerSettings } from './worker-options.js';
import { WORKER_VERSION } from './worker-version.js';

/**
 * Runs handlers for a queue's tasks with concurrency, per-task timeouts, retries (from each task's
 * `attempts`/`backoff`), dead letters, a graceful stop, a heartbeat in the worker registry,
 * Prometheus metrics, logs (through the `logger` option) and events ({@link WorkerEvents}).
 * Nothing a handler throws, and no Redis outage, stops it: see the README's "What a worker does".
 *
 * @example
 * ```ts
 * const w = new Worker('emails', defineHandlers({ send: async (data, ctx) => mailer.send(data) }), {
 *   concurrency: 16,
 *   metricsPort: 9464,
 * });
 * w.on('failed', (t) => console.warn(t.id, t.error.message, t.willRetry ? 'will retry' : 'for good'));
 * await w.run(); // until close(), SIGTERM or SIGINT
 * ```
 */
export class Worker extends EventEmitter<WorkerEvents> {
  /** This worker's id in the registry. */
  readonly id = `${hostname()}:${process.pid}:${randomUUID().slice(0, 8)}`;
  /** The name of the queue it consumes. */
  readonly queueName: string;
  /** Its Prometheus metrics (and their registry). */
  readonly metrics: WorkerMetrics;
  /** Resolves once `run()` has registered the worker and opened its metrics port (if any). */
  readonly started: Promise<void>;
  private markStarted = (): void => {};
  private readonly queue: AsyncQueue<unknown>;
  private readonly registry: WorkerRegistry | undefined;
  private readonly handlers: Handlers;
  private readonly settings: WorkerSettings;
  private readonly opts: WorkerOptions;
  private readonly log: WorkerLogger;
  private readonly health: RedisHealth;
  private readonly runner: TaskRunner;
  private readonly feed: TaskFeed;
  private readonly heartbeat: Heartbeat | undefined;
  /** Fires the queue's schedules (a Redis queue's; a LocalQueue has none). */
  private readonly schedules: ScheduleTimer | undefined;
  private readonly stopTaking = new AbortController();
  private readonly hurry = new AbortController();
  private readonly giveUp = new AbortController();
  private readonly startedAt = Date.now();
  private metricsServer?: MetricsServer;
  private registered = false;
  /** run() failed before the worker started: its stop is silent (run() rejects with the reason). */
  private startFailed = false;
  private running?: Promise<void>;
  private closing?: Promise<void>;
  private requestStop = (): void => {};
  /** What Redis refused, once it did: the worker stops, and run() rejects with it. */
  private refusal?: Error;
  private readonly stopRequested = new Promise<void>((resolve) => (this.requestStop = resolve));
  private unguard = (): void => {};
  private removeSignalHandlers = (): void => {};

  constructor(queue: string, handlers: Handlers, opts: WorkerOptions = {}) {
    super();
    this.handlers = checkHandlers(handlers, 'the handlers given to Worker');
    this.settings = checkWorkerOptions(opts);
    this.opts = opts;
    this.queue =
      opts.queue ??
      new Queue(queue, { connection: opts.connection, prefix: opts.prefix, lease: opts.lease, stalledInterval: opts.stalledInterval, prefetch: opts.prefetch ?? DEFAULT_WORKER_PREFETCH });
    this.registry =
      opts.workerRegistry === false
        ? undefined
        : (opts.workerRegistry ?? (opts.queue ? undefined : new WorkerRegistry(queue, { connection: opts.connection, prefix: opts.prefix })));
    this.queueName = this.queue.name;
    const base = opts.logger ?? silentLogger;
    this.log = base.child?.({ queue: this.queueName }) ?? base;
    this.metrics = new WorkerMetrics(opts.registry);
    const emit = this.emitSafely.bind(this);
    this.health = new RedisHealth(this.log, (e) => emit('error', e));
    const label = taskLabeler(typeof this.handlers === 'function' ? undefined : Object.keys(this.handlers));
    this.runner = new TaskRunner({
      handlerFor: (name) => this.handlerFor(name),
      noHandler: (name) => new UnrecoverableError(`no handler for task "${name}"; this worker handles ${this.handledNames()}`),
      metricsFor: (name) => this.metrics.forTask(this.queueName, label(name)),
      timeout: this.settings.timeout,
      guarded: opts.catchProcessErrors ?? true,
      health: this.health,
      log: this.log,
      emit,
      giveUp: this.giveUp.signal,
    });
    this.feed = new TaskFeed({
      queue: this.queue,
      stop: this.stopTaking.signal,
      loops: this.settings.concurrency,
      health: this.health,
      log: this.log,
      onError: (e) => emit('error', e),
      onDrained: () => emit('drained'),
      onRefused: (e) => this.refused(e),
    });
    this.heartbeat = this.registry && new Heartbeat(this.registry, () => this.info(), this.settings.heartbeatMs, this.health, this.log);
    const fires = (this.queue as Partial<ScheduleSource>).fireDueSchedules ? (this.queue as unknown as ScheduleSource) : undefined;
    this.schedules = fires && new ScheduleTimer(fires, (f) => this.metrics.scheduleFired(this.queueName, f), this.log);
    this.started = new Promise((resolve) => (this.markStarted = resolve));
    // Every task loop waits on this one signal.
    setMaxListeners(this.settings.concurrency + 10, this.stopTaking.signal);
  }

  /** The metrics server's port, once `run()` started it. */
  get metricsPort(): number | undefined {
    return this.metricsServer?.port;
  }

  /**
   * Runs until `close()`, a signal, or the queue is shut down and empty. Resolves once the worker
   * has stopped (see `close()`); rejects when it cannot start (Redis unreachable at start, the
   * metrics port taken), and after stopping when Redis refuses what it needs (`RedisRefused`: an
   * ACL without a command or a channel), which no retry mends. Other failures while running are
   * logged and emitted as `error`, never thrown.
   */
  run(): Promise<void> {
    this.running ??= this.runUntilStopped();
    return this.running;
  }

  private async runUntilStopped(): Promise<void> {
    if (this.closing) return this.closing;
    if (this.opts.handleSignals ?? true) this.installSignalHandlers();
    if (this.opts.catchProcessErrors ?? true) this.unguard = guardProcess({ strayError: (e, origin) => this.strayError(e, origin) });
    try {
      await this.heartbeat?.first(); // also the first connection: an unreachable Redis fails here, at once
      // Opens the queue's own session: a Redis it refuses (an ACL without a command, a memory policy
      // that evicts under strictRedis) fails the start with one reason, before 'worker started'.
      await (this.queue as { connect?: () => Promise<void> }).connect?.();
      this.registered = this.heartbeat !== undefined;
      this.heartbeat?.start();
      if (this.opts.metricsPort !== undefined) {
        this.metricsServer = await this.metrics.serve(this.opts.metricsPort, this.opts.metricsHost ?? '127.0.0.1', () => ({
          ...this.health.report(),
          worker: this.id,
          queue: this.queueName,
          running: this.runner.running.size,
        }));
      }
    } catch (e) {
      // Closed while it started (close() closes the queue, so its session fails to open): that is a
      // stop asked for, not a failure, and run() resolves once the close is done.
      if (this.closing) return this.closing;
      // run() rejects with the reason (the CLI prints it as its one line); a worker that never
      // started has no stop to narrate, so it releases what it opened without logging.
      this.startFailed = true;
      await this.close({ graceMs: 0 });
      throw e;
    }
    const { concurrency } = this.settings;
    this.log.info({ worker: this.id, concurrency, pid: process.pid, version: WORKER_VERSION }, 'worker started');
    this.emitSafely('started', { id: this.id, queue: this.queueName, concurrency, pid: process.pid });
    this.schedules?.start();
    this.markStarted();
    // A loop running an abandoned handler never ends: a stop (close(), a signal) ends run() without them.
    const loops = Promise.all(Array.from({ length: concurrency }, () => this.takeTasks()));
    await Promise.race([loops, this.stopRequested]);
    await this.stop(this.stopTaking.signal.aborted ? 'close' : 'queue shut down', this.settings.graceMs);
    if (this.refusal) throw this.refusal;
  }

  /** Redis refused what the worker needs: said once, and the worker stops rather than retry for ever. */
  private refused(e: Error): void {
    if (this.refusal) return;
    this.refusal = e;
    this.log.error({ err: safeMessage(e) }, 'Redis refused what the worker needs; it stops');
    void this.stop('Redis refused', this.settings.graceMs);
  }

  /**
   * Stops taking tasks, lets running ones finish within `graceMs`, then aborts the rest through
   * `ctx.signal` and hands each back once its handler settled; handlers still running `abandonMs`
   * later are abandoned (not handed back). Resolves within about `graceMs + abandonMs +
   * closeTimeoutMs`, even while Redis is down.
   */
  close(opts: { graceMs?: number } = {}): Promise<void> {
    return this.stop('close', opts.graceMs ?? this.settings.graceMs);
  }

  private stop(reason: StopReason, graceMs: number): Promise<void> {
    this.closing ??= this.stopOnce(reason, graceMs);
    this.requestStop();
    return this.closing;
  }

  private async stopOnce(reason: StopReason, graceMs: number): Promise<void> {
    this.stopTaking.abort();
    this.feed.stopDrainChecks();
    this.heartbeat?.stop();
    void this.schedules?.stop();
    const { handedBack, abandoned } = await stopGracefully(
      {
        id: this.id,
        queue: this.queue,
        registry: this.registry,
        registered: this.registered,
        runner: this.runner,
        settings: this.settings,
        leaseMs: this.opts.lease ?? 7000,
        log: this.startFailed ? silentLogger : this.log,
        emit: this.emitSafely.bind(this),
        hurry: this.hurry.signal,
        giveUp: this.giveUp,
        released: () => this.unguard(),
      },
      reason,
      graceMs,
    );
    await this.metricsServer?.close();
    this.removeSignalHandlers();
    if (!this.startFailed) this.log.info({ done: this.runner.done, failed: this.runner.failed, handedBack, abandoned }, 'worker stopped');
    this.emitSafely('stopped', { handedBack, abandoned });
  }

  private async takeTasks(): Promise<void> {
    for (;;) {
      const task = await this.feed.next();
      if (!task) return;
      await this.runner.execute(task);
    }
  }

  private handlerFor(name: string): Handler | undefined {
    return typeof this.handlers === 'function' ? this.handlers : Object.hasOwn(this.handlers, name) ? this.handlers[name] : undefined;
  }

  private handledNames(): string {
    return typeof this.handlers === 'function' ? 'every task' : Object.keys(this.handlers).map((n) => `"${n}"`).join(', ');
  }

  /** What the registry shows about this worker: the dashboard and `asyncq watch` read it. */
  private info(): WorkerInfo {
    return {
      id: this.id,
      host: hostname(),
      pid: process.pid,
      queue: this.queueName,
      concurrency: this.settings.concurrency,
      startedAt: this.startedAt,
      done: this.runner.done,
      failed: this.runner.failed,
      lastHeartbeat: Date.now(),
      handle: (this.queue as { handle?: string }).handle,
      running: this.runner.running.size,
      current: [...this.runner.running].slice(0, 5).map((r) => ({ id: r.task.id, name: r.task.name, startedAt: r.startedAt })),
      version: WORKER_VERSION,
      heartbeatMs: this.settings.heartbeatMs,
    };
  }

  private strayError(error: unknown, origin: 'uncaughtException' | 'unhandledRejection'): void {
    this.log.error({ err: safeMessage(error), origin }, 'an error no task can be blamed for (not from a handler); the worker keeps running');
    this.emitSafely('error', asError(error));
  }

  private emitSafely<K extends keyof WorkerEvents>(event: K, ...args: WorkerEvents[K]): void {
    emitSafely(this, this.log, event, ...args);
  }

  private installSignalHandlers(): void {
    let signals = 0;
    const onSignal = (signal: NodeJS.Signals): void => {
      signals++;
      this.log.info({ signal }, `${signal} received`);
      if (signals === 1) void this.stop(signal === 'SIGINT' ? 'SIGINT' : 'SIGTERM', this.settings.graceMs);
      else if (signal === 'SIGINT') {
        this.log.info({}, 'second SIGINT: ending the grace now');
        this.hurry.abort();
      }
    };
    process.on('SIGTERM', onSignal);
    process.on('SIGINT', onSignal);
    this.removeSignalHandlers = () => {
      process.off('SIGTERM', onSignal);
      process.off('SIGINT', onSignal);
    };
  }
}
