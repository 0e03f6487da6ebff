import type { ConnectionOption } from '@asyncq/core';
import { CliError } from '../cli-error.js';

/**
 * What a fleet tells each of its worker processes. It travels in the environment variable
 * {@link FLEET_WORKER_ENV}, never on the command line: it holds the Redis connection, password
 * included, and any user on the host can read a process's argv (`ps`, /proc/<pid>/cmdline).
 */
export interface FleetWorkerSpec {
  handlers: string;
  queue: string;
  prefix: string;
  /** A URL or ioredis options (plain JSON: cluster nodes, Sentinels). */
  connection: ConnectionOption;
  concurrency: number;
  graceMs?: number;
  heartbeatMs?: number;
  /** ms a held task stays the worker's without a renewal. */
  lease?: number;
  /** ms between an idle worker's looks for tasks of crashed workers. */
  stalledInterval?: number;
  metricsPort?: number;
  metricsHost?: string;
  /** ms the handler module may take to load. */
  loadTimeoutMs?: number;
  /** Tasks reserved ahead of the running ones. */
  prefetch?: number;
  /** The pid of the fleet that started this worker: a worker whose parent is another is an orphan. */
  fleetPid?: number;
  /** Refuse a Redis that may evict keys (the fleet's --strict-redis). */
  strictRedis?: boolean;
}

/** The environment variable a fleet's worker process reads its {@link FleetWorkerSpec} from (JSON). */
export const FLEET_WORKER_ENV = 'ASYNCQ_FLEET_WORKER';

/**
 * The spec of this fleet worker process, from its environment; a {@link CliError} saying what
 * `fleet-worker` is for when the variable is missing or is not JSON.
 */
export function readWorkerSpec(env: NodeJS.ProcessEnv = process.env): FleetWorkerSpec {
  try {
    const spec: unknown = JSON.parse(env[FLEET_WORKER_ENV] ?? '');
    // Written by this package's own fleet (worker-slots), so its shape is the one declared above.
    if (spec !== null && typeof spec === 'object' && 'queue' in spec) return spec as FleetWorkerSpec;
  } catch {
    // not JSON: reported below
  }
  throw new CliError(`asyncq fleet-worker is started by asyncq fleet (its settings come in $${FLEET_WORKER_ENV}); to run one worker, use asyncq worker`);
}
