import { resolve } from 'node:path';
import type { Argv, CommandModule } from 'yargs';
import type { AutoscalePolicy } from '../fleet/autoscale.js';
import { CliError, connectionOf, untilStopSignal, wholeNumber, wrapHandler, type CliContext, type GlobalOptions } from '../cli-context.js';
import { parseDuration } from '../grammar/durations.js';
import { FleetSupervisor } from '../fleet/fleet-supervisor.js';
import { durationOption, numberOption } from '../grammar/flag-values.js';
import { checkHandlerModule } from '../fleet/handler-module-check.js';
import { checkListenAddress } from '../fleet/listen-address.js';
import { commandHint, printable, quoted } from '../terminal-text.js';
import { checkHandlersCommand } from './check-handlers.js';
import { fleetWorkerCommand } from './fleet-worker.js';
import { MAX_CONCURRENCY } from './worker.js';

interface FleetArgs extends GlobalOptions {
  handlers: string;
  queue: string;
  workers: unknown;
  maxWorkers: unknown;
  concurrency: unknown;
  loadTimeout: string;
  grace: string;
  lease?: string;
  stalledInterval?: string;
  autoscale?: string;
  drainTarget: string;
  cooldown: string;
  metricsPortBase?: unknown;
  metricsHost: string;
}

const DAY_MS = 86_400_000;
/** The most workers one fleet runs unless `--max-workers` says otherwise, whatever `asyncq scale` asks. */
export const DEFAULT_MAX_WORKERS = 256;
/** The highest `--max-workers` (and the highest count `asyncq scale` takes). */
const MAX_MAX_WORKERS = 10_000;

function minMax(value: string, cap: number): { min: number; max: number } {
  const m = /^(\d+),(\d+)$/.exec(value.trim());
  if (!m || Number(m[1]) > Number(m[2]) || Number(m[2]) < 1) {
    throw new CliError(`--autoscale takes min,max worker counts with min <= max and max >= 1, e.g. --autoscale 1,8; got ${quoted(value)}`);
  }
  if (Number(m[2]) > cap) throw new CliError(`--autoscale max ${m[2]} is over the fleet's cap of ${cap} workers: lower it, or raise the cap with --max-workers`);
  return { min: Number(m[1]), max: Number(m[2]) };
}

/** The autoscaling policy the flags ask for, or undefined without --autoscale. */
function policyOf(argv: FleetArgs, cap: number, warn: (line: string) => void): AutoscalePolicy | undefined {
  if (argv.autoscale === undefined) return undefined;
  return {
    ...minMax(argv.autoscale, cap),
    drainTargetS: parseDuration(argv.drainTarget, { flag: '--drain-target', bare: 's', min: 1000, max: DAY_MS, warn }) / 1000,
    cooldownS: parseDuration(argv.cooldown, { flag: '--cooldown', bare: 's', max: DAY_MS, warn }) / 1000,
  };
}

/** The fleet's size bounds: `--max-workers`, and `-w` within it. */
function sizeOf(argv: FleetArgs): { workers: number; maxWorkers: number } {
  const maxWorkers = wholeNumber('--max-workers', argv.maxWorkers, 1, MAX_MAX_WORKERS);
  const workers = wholeNumber('--workers', argv.workers, 0, MAX_MAX_WORKERS);
  if (workers > maxWorkers) throw new CliError(`--workers ${workers} is over the fleet's cap of ${maxWorkers} workers: ask for fewer, or raise the cap with --max-workers ${workers}`);
  return { workers, maxWorkers };
}

/** Runs a fleet of worker processes until SIGTERM/SIGINT, then stops them gracefully. */
export async function fleet(argv: FleetArgs, ctx: CliContext): Promise<void> {
  const warn = (line: string): void => ctx.err(line);
  // Every setting is checked before anything starts: a wrong one is one line, never a worker
  // that dies at start and is restarted for ever.
  const handlers = resolve(argv.handlers);
  const { workers, maxWorkers } = sizeOf(argv);
  const concurrency = wholeNumber('--concurrency', argv.concurrency, 1, MAX_CONCURRENCY);
  const autoscale = policyOf(argv, maxWorkers, warn);
  const lease = argv.lease === undefined ? undefined : parseDuration(argv.lease, { flag: '--lease', bare: 'ms', min: 100, max: DAY_MS, warn });
  const stalled = argv.stalledInterval === undefined ? undefined : parseDuration(argv.stalledInterval, { flag: '--stalled-interval', bare: 'ms', min: 50, max: DAY_MS, warn });
  const graceMs = parseDuration(argv.grace, { flag: '--grace', bare: 'ms', max: DAY_MS, warn });
  const loadTimeoutMs = parseDuration(argv.loadTimeout, { flag: '--load-timeout', bare: 'unit', min: 100, max: 3_600_000 });
  const metricsPortBase = argv.metricsPortBase === undefined ? undefined : wholeNumber('--metrics-port-base', argv.metricsPortBase, 1, 65_536 - maxWorkers);
  if (metricsPortBase !== undefined) await checkListenAddress(argv.metricsHost, '--metrics-host');
  const connection = connectionOf(argv);
  // In a process of its own: a module that ends or hangs its process must not end this one.
  await checkHandlerModule(handlers, loadTimeoutMs);
  const supervisor = new FleetSupervisor({
    handlers,
    queue: argv.queue,
    workers,
    maxWorkers,
    concurrency,
    connection,
    prefix: argv.prefix,
    graceMs,
    loadTimeoutMs,
    ...(argv.strictRedis ? { strictRedis: true } : {}),
    log: (line) => ctx.err(line),
    ...(lease === undefined ? {} : { lease }),
    ...(stalled === undefined ? {} : { stalledInterval: stalled }),
    ...(metricsPortBase === undefined ? {} : { metricsPortBase, metricsHost: argv.metricsHost }),
    ...(autoscale === undefined ? {} : { autoscale }),
  });
  await supervisor.start();
  ctx.out(`fleet ${supervisor.id} serves ${printable(argv.queue)}; ${commandHint('asyncq', 'scale', argv.queue, '<n>')} changes its size live`);
  let done = false;
  const finished = supervisor.finished.then(() => {
    done = true;
    ctx.err(`fleet ${supervisor.id}: ${printable(argv.queue)} is shut down and its workers are done; the fleet stops`);
  });
  await untilStopSignal(() => {
    if (!done) ctx.err(`fleet ${supervisor.id}: stopping its ${supervisor.size} workers`);
    return supervisor.stop();
  }, finished);
}

/**
 * `asyncq fleet`, and the hidden `asyncq fleet-worker` that each of its worker processes runs (the
 * two travel together, so the fleet's children always have the command they are started with).
 */
export function fleetCommand(ctx: CliContext): CommandModule<GlobalOptions, object>[] {
  const command: CommandModule<GlobalOptions, FleetArgs> = {
    command: 'fleet <handlers>',
    describe: 'run and scale worker processes for a queue',
    builder: (y: Argv<GlobalOptions>) =>
      y
        .positional('handlers', { type: 'string', demandOption: true, describe: 'handler module' })
        .option('queue', { alias: 'q', type: 'string', demandOption: true })
        .option('workers', numberOption('worker processes (until asyncq scale)', { alias: 'w', default: 1 }))
        .option('max-workers', numberOption('the most workers it runs, whatever scale asks', { default: DEFAULT_MAX_WORKERS }))
        .option('concurrency', numberOption(`tasks at once per worker (1-${MAX_CONCURRENCY})`, { alias: 'c', default: 16 }))
        .option('grace', { type: 'string', default: '10s', describe: 'time workers get to finish on stop' })
        .option('lease', { type: 'string', describe: 'lease on held tasks (default 7s)' })
        .option('stalled-interval', { type: 'string', describe: "check for dead workers' tasks (default 2s)" })
        .option('load-timeout', durationOption('time the handler module may take to load', { default: '30s' }))
        .option('metrics-port-base', numberOption('the worker in slot i serves /metrics on this port + i'))
        .option('metrics-host', { type: 'string', default: '127.0.0.1', describe: 'address for them (0.0.0.0 in containers)' })
        .option('autoscale', { type: 'string', describe: 'min,max: follow the backlog and the flow of tasks' })
        .option('drain-target', { type: 'string', default: '60s', describe: 'time to drain the backlog in (--autoscale)' })
        .option('cooldown', { type: 'string', default: '30s', describe: 'time fewer workers must suffice to shrink' })
        .example('$0 fleet ./handlers.js -q emails --autoscale 1,8', 'follow the backlog')
        .example('$0 fleet ./handlers.js -q emails --lease 30s', "a dead worker's tasks back in ~30 s") as unknown as Argv<FleetArgs>,
    handler: wrapHandler(ctx, fleet, { hostFlag: '--metrics-host' }),
  };
  return [command, fleetWorkerCommand(ctx), checkHandlersCommand(ctx)] as unknown as CommandModule<GlobalOptions, object>[];
}
