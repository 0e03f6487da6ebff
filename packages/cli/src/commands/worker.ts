import type { Argv, CommandModule } from 'yargs';
import { MAX_TIMER_MS } from '@asyncq/core';
import { runWorkerProcess } from '@asyncq/worker';
import { connectionOf, wholeNumber, wrapHandler, type CliContext, type GlobalOptions } from '../cli-context.js';
import { parseDuration } from '../grammar/durations.js';
import { durationOption, numberOption, oneOf } from '../grammar/flag-values.js';
import { printable } from '../terminal-text.js';

interface WorkerArgs extends GlobalOptions {
  handlers: string;
  queue: string;
  concurrency: unknown;
  metricsPort?: unknown;
  metricsHost: string;
  timeout?: string;
  grace: string;
  heartbeat: string;
  lease?: string;
  stalledInterval?: string;
  logFormat?: string;
  logLevel?: string;
  loadTimeout: string;
}

/** The most tasks one worker process runs at once. */
export const MAX_CONCURRENCY = 10_000;

const LOG_FORMATS = ['json', 'pretty'] as const;
const LOG_LEVELS = ['trace', 'debug', 'info', 'warn', 'error', 'fatal', 'silent'] as const;

/** The worker's logging, as the worker package takes it (its `logFormat` and `logLevel` options). */
interface WorkerLogging {
  logFormat?: (typeof LOG_FORMATS)[number];
  logLevel?: (typeof LOG_LEVELS)[number];
}

/** One worker process: runs the handler module's handlers until SIGTERM/SIGINT (or the queue is shut down). */
export async function worker(argv: WorkerArgs, ctx: CliContext): Promise<void> {
  const warn = ctx.err;
  const concurrency = wholeNumber('--concurrency', argv.concurrency, 1, MAX_CONCURRENCY);
  const logging: WorkerLogging = {
    ...(argv.logFormat === undefined ? {} : { logFormat: oneOf('--log-format', argv.logFormat, LOG_FORMATS) }),
    // A worker started by hand says what it does: a line per finished and failed task.
    logLevel: argv.logLevel === undefined ? 'info' : oneOf('--log-level', argv.logLevel, LOG_LEVELS),
  };
  await runWorkerProcess({
    handlers: argv.handlers,
    queue: argv.queue,
    connection: connectionOf(argv),
    prefix: argv.prefix,
    concurrency,
    metricsPort: argv.metricsPort === undefined ? undefined : wholeNumber('--metrics-port', argv.metricsPort, 0, 65_535),
    metricsHost: argv.metricsHost,
    timeout: argv.timeout === undefined ? undefined : parseDuration(argv.timeout, { flag: '--timeout', bare: 'ms', min: 1, max: MAX_TIMER_MS, warn }),
    graceMs: parseDuration(argv.grace, { flag: '--grace', bare: 'ms', max: MAX_TIMER_MS, warn }),
    heartbeatMs: parseDuration(argv.heartbeat, { flag: '--heartbeat', bare: 'ms', min: 10, max: 3_600_000, warn }),
    ...(argv.lease === undefined ? {} : { lease: parseDuration(argv.lease, { flag: '--lease', bare: 'unit', min: 100, max: 86_400_000 }) }),
    ...(argv.stalledInterval === undefined ? {} : { stalledInterval: parseDuration(argv.stalledInterval, { flag: '--stalled-interval', bare: 'unit', min: 50, max: 3_600_000 }) }),
    ...logging,
    loadTimeoutMs: parseDuration(argv.loadTimeout, { flag: '--load-timeout', bare: 'unit', min: 100, max: 3_600_000 }),
    onStarted: ({ id, metricsPort }) =>
      ctx.out(`worker ${id} runs ${printable(argv.queue)} with concurrency ${concurrency}${metricsPort === undefined ? '' : `; metrics on ${argv.metricsHost}:${metricsPort}/metrics`}`),
  });
}

export function workerCommand(ctx: CliContext): CommandModule<GlobalOptions, WorkerArgs> {
  return {
    command: 'worker <handlers>',
    describe: 'run one worker process for a queue',
    builder: (y: Argv<GlobalOptions>) =>
      y
        .positional('handlers', { type: 'string', demandOption: true, describe: 'handler module (.js or .mjs)' })
        .option('queue', { alias: 'q', type: 'string', demandOption: true, describe: 'queue name' })
        .option('concurrency', numberOption(`tasks at once (1-${MAX_CONCURRENCY})`, { alias: 'c', default: 1 }))
        .option('timeout', durationOption('limit per attempt, e.g. 30s (ctx.signal aborts)', { alias: 't' }))
        .option('grace', durationOption('time to finish running tasks on SIGTERM', { default: '10s' }))
        .option('heartbeat', durationOption('time between registry heartbeats', { default: '5s' }))
        .option('lease', durationOption('a held task\'s lease without renewal (7s)'))
        .option('stalled-interval', durationOption('idle checks for crashed workers\' tasks (2s)'))
        .option('load-timeout', durationOption('time the handler module may take to load', { default: '30s' }))
        .option('log-format', { choices: LOG_FORMATS, describe: 'log lines as JSON or pretty text' })
        .option('log-level', { choices: LOG_LEVELS, describe: 'the least severe level logged (default info: a line per finished or failed task)' })
        .option('metrics-port', numberOption('serve /metrics, /healthz here (0: any port)'))
        .option('metrics-host', { type: 'string', default: '127.0.0.1', describe: 'address for it (0.0.0.0 in containers)' })
        .example('$0 worker ./handlers.js -q emails -c 16', '')
        .example('$0 worker ./handlers.js -q emails -t 30s', 'attempts of at most 30 s') as unknown as Argv<WorkerArgs>,
    handler: wrapHandler(ctx, worker, { portFlag: '--metrics-port', hostFlag: '--metrics-host' }),
  };
}
