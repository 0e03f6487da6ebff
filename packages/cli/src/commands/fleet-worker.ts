import type { Argv } from 'yargs';
import { requireNoEviction } from '@asyncq/core/internal';
import { runWorkerProcess } from '@asyncq/worker';
import { CliError, type CliContext, type GlobalOptions } from '../cli-context.js';
import { defineCommand } from '../grammar/command.js';
import { FLEET_WORKER_ENV, readWorkerSpec } from '../fleet/worker-spec.js';

interface FleetWorkerArgs extends GlobalOptions {
  queue: string;
}

/** The body of a fleet's worker process: one worker, configured by the spec in its environment. */
export async function fleetWorker(argv: FleetWorkerArgs): Promise<void> {
  const spec = readWorkerSpec();
  if (spec.queue !== argv.queue) throw new CliError(`$${FLEET_WORKER_ENV} is for queue ${JSON.stringify(spec.queue)}, not ${JSON.stringify(argv.queue)}`);
  const { metricsPort, fleetPid, strictRedis, ...rest } = spec;
  if (strictRedis) requireNoEviction();
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
export function fleetWorkerCommand(ctx: CliContext) {
  return defineCommand(ctx, {
    command: 'fleet-worker <queue>',
    describe: false,
    builder: (y: Argv<GlobalOptions>) =>
      y.positional('queue', { type: 'string', demandOption: true }),
    run: fleetWorker,
  });
}
