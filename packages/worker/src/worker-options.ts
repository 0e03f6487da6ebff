import { ConfigError, type AsyncQueue, type ConnectionOption, type WorkerRegistry } from '@asyncq/core';
import { checkInt, MAX_TIMER_MS } from '@asyncq/core/internal';
import type { Registry } from 'prom-client';
import type { WorkerLogger } from './worker-logger.js';

/** The most tasks one worker runs at once: each is a loop waiting on the queue, and memory is finite. */
export const MAX_CONCURRENCY = 10_000;

/** Options of a {@link Worker}. */
export interface WorkerOptions {
  /** Where Redis is. @defaultValue `process.env.REDIS_URL` or `redis://127.0.0.1:6379` */
  connection?: ConnectionOption;
  /** Tasks run at once, from 1 to 10,000. @defaultValue 1 */
  concurrency?: number;
  /**
   * Per-attempt time limit in ms: past it `ctx.signal` is aborted and the attempt fails, even if the
   * handler ignores the signal. `Infinity` for none; limits beyond a Node timer's ~24.8 days work.
   * @defaultValue none
   */
  timeout?: number;
  /** How long `close()` (and SIGTERM/SIGINT) lets running tasks finish before aborting them. @defaultValue 10000 */
  graceMs?: number;
  /**
   * After the grace, running tasks get `ctx.signal` aborted and this long to settle: a task is
   * handed back only once its handler returned or threw. Handlers still running after it are
   * abandoned: not handed back (their tasks return `lease` ms after the process exits), and the stop
   * goes on without them. @defaultValue 2000
   */
  abandonMs?: number;
  /**
   * How long a stop waits for Redis in all (finishing tasks, leaving the registry, handing back),
   * so that it ends even while Redis is down. @defaultValue 5000
   */
  closeTimeoutMs?: number;
  /** Serve `/metrics`, `/healthz` and `/livez` on this port (0 picks a free one). @defaultValue no server */
  metricsPort?: number;
  /** Address the metrics server binds to. @defaultValue '127.0.0.1' */
  metricsHost?: string;
  /** A prom-client registry to register the worker's metrics in. @defaultValue a new one with the default process metrics */
  registry?: Registry;
  /** `run()` stops gracefully on SIGTERM and SIGINT; a second SIGINT ends the grace at once. @defaultValue true */
  handleSignals?: boolean;
  /**
   * While `run()` runs, an error thrown in a timer or callback a handler started, or a promise it
   * rejected with nobody listening, fails that task instead of the process; one no task can be
   * blamed for is logged. @defaultValue true
   */
  catchProcessErrors?: boolean;
  /** Where the worker logs (a pino logger or one like it). @defaultValue silent */
  logger?: WorkerLogger;
  /** How often the worker refreshes its entry in the registry (it drops out after 3 missed beats). @defaultValue 5000 */
  heartbeatMs?: number;
  /** Redis key prefix. @defaultValue 'asyncq' */
  prefix?: string;
  /** How long the tasks this worker holds stay its own without a renewal (ms); a killed worker's tasks come back after about this. @defaultValue 7000 */
  lease?: number;
  /** How often an idle worker looks for tasks of crashed workers (ms). @defaultValue 2000 */
  stalledInterval?: number;
  /**
   * Most tasks the worker reserves ahead of its loops, so that a loop that finishes a task finds
   * its next one at once instead of waiting a round trip (the Queue option of the same name). A
   * killed worker's tasks fetched ahead come back after `lease`, with the ones it was running: a
   * kill delays at most `concurrency + prefetch` tasks. 0 fetches nothing ahead. @defaultValue 64
   */
  prefetch?: number;
  /**
   * The queue to consume, instead of a Redis `Queue` built from `connection` and `prefix`: any
   * {@link AsyncQueue}, e.g. a `LocalQueue` in tests. The worker closes it when it stops.
   */
  queue?: AsyncQueue<unknown>;
  /**
   * Where the worker registers itself and beats: by default a `WorkerRegistry` on the worker's Redis
   * when it builds its own queue, none when given a `queue`; `false` for none.
   */
  workerRegistry?: WorkerRegistry | false;
}

/** The numbers a worker runs by, checked. */
export interface WorkerSettings {
  concurrency: number;
  timeout: number | undefined;
  graceMs: number;
  abandonMs: number;
  closeTimeoutMs: number;
  heartbeatMs: number;
}

/** Checks a worker's numeric options; each mistake is one {@link ConfigError} line. */
export function checkWorkerOptions(opts: WorkerOptions): WorkerSettings {
  if (opts.metricsPort !== undefined) checkInt('metricsPort', opts.metricsPort, 0, 0, 65_535);
  return {
    concurrency: checkInt('concurrency', opts.concurrency, 1, 1, MAX_CONCURRENCY),
    timeout: checkTimeout(opts.timeout),
    graceMs: checkInt('graceMs', opts.graceMs, 10_000, 0, MAX_TIMER_MS),
    abandonMs: checkInt('abandonMs', opts.abandonMs, 2000, 0, MAX_TIMER_MS),
    closeTimeoutMs: checkInt('closeTimeoutMs', opts.closeTimeoutMs, 5000, 1, MAX_TIMER_MS),
    heartbeatMs: checkInt('heartbeatMs', opts.heartbeatMs, 5000, 10, MAX_TIMER_MS),
  };
}

function checkTimeout(value: unknown): number | undefined {
  if (value === undefined || value === Infinity) return undefined;
  if (typeof value !== 'number' || !Number.isInteger(value) || value < 1) {
    throw new ConfigError(`timeout must be a whole number >= 1 (ms), or Infinity for none, got ${typeof value === 'number' ? value : typeof value === 'string' ? JSON.stringify(value) : typeof value}`);
  }
  return value;
}
