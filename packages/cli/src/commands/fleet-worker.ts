import type { Argv, CommandModule } from 'yargs';
import type { ConnectionOption } from '@asyncq/core';
import { runWorkerProcess } from '@asyncq/worker';
import { CliError, wrapHandler, type CliContext, type GlobalOptions } from '../cli-context.js';

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
  /** The pid of the fleet that started this worker: a worker whose parent is another is an orphan. */
  fleetPid?: number;
}

/** The environment variable a fleet's worker process reads its {@link FleetWorkerSpec} from (JSON). */
export const FLEET_WORKER_ENV = 'ASYNCQ_FLEET_WORKER';

interface FleetWorkerArgs extends GlobalOptions {
  queue: string;
}

/** The body of a fleet's worker process: one worker, configured by the spec in its environment. */
export async function fleetWorker(argv: FleetWorkerArgs): Promise<void> {
  let spec: FleetWorkerSpec;
  try {
    spec = JSON.parse(process.env[FLEET_WORKER_ENV] ?? '') as FleetWorkerSpec;
  } catch {
    throw new CliError(`asyncq fleet-worker is started by asyncq fleet (its settings come in $${FLEET_WORKER_ENV}); to run one worker, use asyncq worker`);
  }
  if (spec?.queue !== argv.queue) throw new CliError(`$${FLEET_WORKER_ENV} is for queue ${JSON.stringify(spec?.queue)}, not ${JSON.stringify(argv.queue)}`);
  const { metricsPort, fleetPid, ...rest } = spec;
  // A fleet that dies without stopping its workers (SIGKILL, OOM) leaves them to init: they then
  // stop gracefully, as on SIGTERM, rather than run on beside the workers of a restarted fleet.
  // The fleet's pid comes with the spec: one that died while this process was still starting is
  // no longer its parent by the time this runs.
  const fleet = fleetPid ?? process.ppid;
  const orphaned = setInterval(() => process.ppid !== fleet && process.kill(process.pid, 'SIGTERM'), 1000).unref();
  try {
    await runWorkerProcess({ ...rest, ...(metricsPort === undefined ? {} : { metricsPort }) });
  } finally {
    clearInterval(orphaned);
  }
}

/** `asyncq fleet-worker <queue>`: hidden, started by `asyncq fleet` for each of its worker slots. */
export function fleetWorkerCommand(ctx: CliContext): CommandModule<GlobalOptions, FleetWorkerArgs> {
  return {
    command: 'fleet-worker <queue>',
    describe: false,
    builder: (y: Argv<GlobalOptions>) =>
      y.positional('queue', { type: 'string', demandOption: true }) as unknown as Argv<FleetWorkerArgs>,
    handler: wrapHandler(ctx, fleetWorker),
  };
}
