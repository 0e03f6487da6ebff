import { resolve } from 'node:path';
import type { Argv } from 'yargs';
import type { AutoscalePolicy } from '../fleet/autoscale.js';
import { CliError, connectionOf, untilStopSignal, wholeNumber, type CliContext, type GlobalOptions } from '../cli-context.js';
import { defineCommand } from '../grammar/command.js';
import { withExamples } from '../grammar/help-examples.js';
import { parseWorkerFlags, WORKER_FLAGS, type WorkerFlagValues } from '../grammar/worker-flags.js';
import { parseDuration } from '../grammar/durations.js';
import { DEFAULT_MAX_WORKERS, FleetSupervisor, MAX_MAX_WORKERS } from '../fleet/fleet-supervisor.js';
import { numberOption } from '../grammar/flag-values.js';
import { checkHandlerModule } from '../fleet/handler-module-check.js';
import { checkListenAddress } from '../fleet/listen-address.js';
import { FleetMetrics } from '../fleet/fleet-metrics.js';
import { commandHint, printable, quoted } from '../terminal-text.js';

interface FleetArgs extends GlobalOptions, WorkerFlagValues {
  handlers: string;
  queue: string;
  workers: unknown;
  maxWorkers: unknown;
  autoscale?: string;
  drainTarget: string;
  cooldown: string;
  metricsPortBase?: unknown;
  metricsPort?: unknown;
  metricsHost: string;
}

const DAY_MS = 86_400_000;

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
  const shared = parseWorkerFlags(argv, warn);
  const autoscale = policyOf(argv, maxWorkers, warn);
  const metricsPort = argv.metricsPort === undefined ? undefined : wholeNumber('--metrics-port', argv.metricsPort, 1, 65_535 - maxWorkers);
  // The fleet's /metrics merges its workers': without a base, they serve on the ports after it.
  const metricsPortBase =
    argv.metricsPortBase === undefined ? (metricsPort === undefined ? undefined : metricsPort + 1) : wholeNumber('--metrics-port-base', argv.metricsPortBase, 1, 65_536 - maxWorkers);
  if (metricsPort !== undefined && metricsPortBase !== undefined && metricsPort >= metricsPortBase && metricsPort < metricsPortBase + maxWorkers) {
    throw new CliError(`--metrics-port ${metricsPort} is one of the workers' ports (--metrics-port-base ${metricsPortBase} to ${metricsPortBase + maxWorkers - 1}): choose another`);
  }
  if (metricsPortBase !== undefined) await checkListenAddress(argv.metricsHost, '--metrics-host');
  const connection = connectionOf(argv);
  // In a process of its own: a module that ends or hangs its process must not end this one.
  await checkHandlerModule(handlers, shared.loadTimeoutMs);
  const supervisor = new FleetSupervisor({
    handlers,
    queue: argv.queue,
    workers,
    maxWorkers,
    ...shared,
    connection,
    prefix: argv.prefix,
    ...(argv.strictRedis ? { strictRedis: true } : {}),
    log: (line) => ctx.err(line),
    ...(metricsPortBase === undefined ? {} : { metricsPortBase, metricsHost: argv.metricsHost }),
    ...(autoscale === undefined ? {} : { autoscale }),
  });
  await supervisor.start();
  const server = metricsPort === undefined ? undefined : await new FleetMetrics(supervisor).serve(metricsPort, argv.metricsHost).catch(async (e: unknown) => {
    await supervisor.stop();
    throw e;
  });
  if (server) ctx.out(`fleet ${supervisor.id}: metrics of every worker on ${argv.metricsHost}:${server.port}/metrics`);
  ctx.out(`fleet ${supervisor.id} serves ${printable(argv.queue)}; ${commandHint('asyncq', 'scale', argv.queue, '<n>')} changes its size live`);
  let done = false;
  const finished = supervisor.finished.then(() => {
    done = true;
    ctx.err(`fleet ${supervisor.id}: ${printable(argv.queue)} is shut down and its workers are done; the fleet stops`);
  });
  await untilStopSignal(() => {
    if (!done) ctx.err(`fleet ${supervisor.id}: stopping its ${supervisor.size} workers`);
    return Promise.all([supervisor.stop(), server?.close()]).then(() => {});
  }, finished);
}

/** `asyncq fleet`; its worker processes run the hidden `fleet-worker` and `check-handlers` commands. */
export function fleetCommand(ctx: CliContext) {
  return defineCommand(ctx, {
    command: 'fleet <handlers>',
    describe: 'run and scale worker processes for a queue',
    builder: (y: Argv<GlobalOptions>) =>
      withExamples(y
        .positional('handlers', { type: 'string', demandOption: true, describe: 'handler module' })
        .option('queue', { alias: 'q', type: 'string', demandOption: true })
        .option('workers', numberOption('worker processes (until asyncq scale)', { alias: 'w', default: 1 }))
        .option('max-workers', numberOption('the most workers it runs, whatever scale asks', { default: DEFAULT_MAX_WORKERS }))
        .option('concurrency', WORKER_FLAGS.concurrency(' per worker', 16))
        .option('grace', WORKER_FLAGS.grace)
        .option('lease', WORKER_FLAGS.lease)
        .option('stalled-interval', WORKER_FLAGS.stalledInterval)
        .option('load-timeout', WORKER_FLAGS.loadTimeout)
        .option('prefetch', WORKER_FLAGS.prefetch)
        .option('metrics-port', numberOption("serve one /metrics for the whole fleet here: its workers' merged (a slot label each), restarts"))
        .option('metrics-port-base', numberOption('the worker in slot i serves /metrics on this port + i (default with --metrics-port: that port + 1)'))
        .option('metrics-host', { type: 'string', default: '127.0.0.1', describe: 'address for them (0.0.0.0 in containers)' })
        .option('autoscale', { type: 'string', describe: 'min,max: follow the backlog and the flow of tasks' })
        .option('drain-target', { type: 'string', default: '60s', describe: 'time to drain the backlog in (--autoscale)' })
        .option('cooldown', { type: 'string', default: '30s', describe: 'time fewer workers must suffice to shrink' }), [
        ['$0 fleet ./handlers.js -q emails --autoscale 1,8', 'follow the backlog'],
        ['$0 fleet ./handlers.js -q emails --lease 30s', "a dead worker's tasks back in ~30 s"],
      ]),
    run: fleet,
    errors: { portFlag: '--metrics-port', hostFlag: '--metrics-host' },
  });
}
