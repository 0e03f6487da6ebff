import { resolve } from 'node:path';
import type { Argv, CommandModule } from 'yargs';
import { loadHandlers } from '@asyncq/worker';
import { CliError, connectionOf, untilStopSignal, wholeNumber, wrapHandler, type CliContext, type GlobalOptions } from '../cli-context.js';
import { FleetSupervisor } from '../fleet-supervisor.js';

interface FleetArgs extends GlobalOptions {
  handlers: string;
  queue: string;
  workers: number;
  concurrency: number;
  grace: number;
  autoscale?: string;
  drainTarget: number;
  cooldown: number;
  metricsPortBase?: number;
  metricsHost: string;
}

function minMax(value: string): { min: number; max: number } {
  const m = /^(\d+),(\d+)$/.exec(value.trim());
  if (!m || Number(m[1]) > Number(m[2]) || Number(m[2]) < 1) {
    throw new CliError(`--autoscale takes min,max worker counts with min <= max and max >= 1, e.g. --autoscale 1,8; got ${JSON.stringify(value)}`);
  }
  return { min: Number(m[1]), max: Number(m[2]) };
}

/** Runs a fleet of worker processes until SIGTERM/SIGINT, then stops them gracefully. */
export async function fleet(argv: FleetArgs, ctx: CliContext): Promise<void> {
  const handlers = resolve(argv.handlers);
  await loadHandlers(handlers); // a bad module is one clear line here, not a crash loop later
  const supervisor = new FleetSupervisor({
    handlers,
    queue: argv.queue,
    workers: wholeNumber('--workers', argv.workers, 0),
    concurrency: wholeNumber('--concurrency', argv.concurrency, 1),
    redisUrl: String(connectionOf(argv)),
    prefix: argv.prefix,
    graceMs: wholeNumber('--grace', argv.grace, 0),
    log: (line) => ctx.err(line),
    ...(argv.metricsPortBase === undefined ? {} : { metricsPortBase: wholeNumber('--metrics-port-base', argv.metricsPortBase, 1), metricsHost: argv.metricsHost }),
    ...(argv.autoscale === undefined
      ? {}
      : {
          autoscale: { ...minMax(argv.autoscale), drainTargetS: wholeNumber('--drain-target', argv.drainTarget, 1), cooldownS: wholeNumber('--cooldown', argv.cooldown, 0) },
          workerHeartbeatMs: 1000, // the autoscaler reads the workers' done counters from their heartbeats
        }),
  });
  await supervisor.start();
  ctx.out(`fleet ${supervisor.id} serves ${argv.queue}; asyncq scale ${argv.queue} <n> changes its size live`);
  await untilStopSignal(() => {
    ctx.err(`fleet ${supervisor.id}: stopping its ${supervisor.size} workers`);
    return supervisor.stop();
  });
}

export function fleetCommand(ctx: CliContext): CommandModule<GlobalOptions, FleetArgs> {
  return {
    command: 'fleet <handlers>',
    describe: 'run and scale worker processes for a queue',
    builder: (y: Argv<GlobalOptions>) =>
      y
        .positional('handlers', { type: 'string', demandOption: true, describe: 'handler module' })
        .option('queue', { alias: 'q', type: 'string', demandOption: true })
        .option('workers', { alias: 'w', type: 'number', default: 1, describe: 'worker processes (until asyncq scale)' })
        .option('concurrency', { alias: 'c', type: 'number', default: 16, describe: 'tasks at once per worker' })
        .option('grace', { type: 'number', default: 10_000, describe: 'ms workers get to finish on stop' })
        .option('metrics-port-base', { type: 'number', describe: 'worker i serves /metrics on this port + i' })
        .option('metrics-host', { type: 'string', default: '127.0.0.1', describe: 'address for them (0.0.0.0 in containers)' })
        .option('autoscale', { type: 'string', describe: 'min,max: follow the backlog' })
        .option('drain-target', { type: 'number', default: 60, describe: 'seconds to drain the backlog in' })
        .option('cooldown', { type: 'number', default: 30, describe: 'seconds before shrinking' })
        .example('$0 fleet ./handlers.js -q emails --autoscale 1,8', 'follow the backlog')
        .example('$0 fleet ./handlers.js -q emails -w 4', '') as unknown as Argv<FleetArgs>,
    handler: wrapHandler(ctx, fleet),
  };
}
