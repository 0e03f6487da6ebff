import type { AsyncQueue, ConnectionOption, WorkerRegistry } from '@asyncq/core';
import type { Registry } from 'prom-client';

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
  /** How long the tasks this worker holds stay its own without a renewal (ms); a killed worker's tasks come back after about this. @defaultValue 7000 */
  lease?: number;
  /** How often an idle worker looks for tasks of crashed workers (ms). @defaultValue 2000 */
  stalledInterval?: number;
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
