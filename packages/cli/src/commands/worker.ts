import type { Argv } from 'yargs';
import { MAX_TIMER_MS } from '@asyncq/core/internal';
import { LOG_LEVELS, runWorkerProcess, type LogFormat } from '@asyncq/worker';
import { connectionOf, wholeNumber, type CliContext, type GlobalOptions } from '../cli-context.js';
import { defineCommand } from '../grammar/command.js';
import { withExamples } from '../grammar/help-examples.js';
import { parseDuration } from '../grammar/durations.js';
import { durationOption, numberOption, oneOf } from '../grammar/flag-values.js';
import { parseWorkerFlags, WORKER_FLAGS, type WorkerFlagValues } from '../grammar/worker-flags.js';
import { printable } from '../terminal-text.js';

interface WorkerArgs extends GlobalOptions, WorkerFlagValues {
  handlers: string;
  queue: string;
  metricsPort?: unknown;
  metricsHost: string;
  timeout?: string;
  heartbeat: string;
  logFormat?: string;
  logLevel?: string;
}

/** The worker package's log formats (its `LogFormat`), as `--log-format` offers them. */
const LOG_FORMATS: readonly LogFormat[] = ['json', 'pretty'];

/** One worker process: runs the handler module's handlers until SIGTERM/SIGINT (or the queue is shut down). */
export async function worker(argv: WorkerArgs, ctx: CliContext): Promise<void> {
  const warn = ctx.err;
  const shared = parseWorkerFlags(argv, warn);
  await runWorkerProcess({
    handlers: argv.handlers,
    queue: argv.queue,
    connection: connectionOf(argv),
    prefix: argv.prefix,
    ...shared,
    metricsPort: argv.metricsPort === undefined ? undefined : wholeNumber('--metrics-port', argv.metricsPort, 0, 65_535),
    metricsHost: argv.metricsHost,
    timeout: argv.timeout === undefined ? undefined : parseDuration(argv.timeout, { flag: '--timeout', bare: 'ms', min: 1, max: MAX_TIMER_MS, warn }),
    heartbeatMs: parseDuration(argv.heartbeat, { flag: '--heartbeat', bare: 'ms', min: 10, max: 3_600_000, warn }),
    ...(argv.logFormat === undefined ? {} : { logFormat: oneOf('--log-format', argv.logFormat, LOG_FORMATS) }),
    // A worker started by hand says what it does: a line per finished and failed task.
    logLevel: argv.logLevel === undefined ? 'info' : oneOf('--log-level', argv.logLevel, LOG_LEVELS),
    onStarted: ({ id, metricsPort }) =>
      ctx.out(`worker ${id} runs ${printable(argv.queue)} with concurrency ${shared.concurrency}${metricsPort === undefined ? '' : `; metrics on ${argv.metricsHost}:${metricsPort}/metrics`}`),
  });
}

export function workerCommand(ctx: CliContext) {
  return defineCommand(ctx, {
    command: 'worker <handlers>',
    describe: 'run one worker process for a queue',
    builder: (y: Argv<GlobalOptions>) =>
      withExamples(y
        .positional('handlers', { type: 'string', demandOption: true, describe: 'handler module (.js or .mjs)' })
        .option('queue', { alias: 'q', type: 'string', demandOption: true, describe: 'queue name' })
        .option('concurrency', WORKER_FLAGS.concurrency('', 1))
        .option('timeout', durationOption('limit per attempt, e.g. 30s (ctx.signal aborts)', { alias: 't' }))
        .option('grace', WORKER_FLAGS.grace)
        .option('heartbeat', durationOption('time between registry heartbeats', { default: '5s' }))
        .option('lease', WORKER_FLAGS.lease)
        .option('stalled-interval', WORKER_FLAGS.stalledInterval)
        .option('load-timeout', WORKER_FLAGS.loadTimeout)
        .option('prefetch', WORKER_FLAGS.prefetch)
        .option('log-format', { choices: LOG_FORMATS, describe: 'log lines as JSON or pretty text' })
        .option('log-level', { choices: LOG_LEVELS, describe: 'the least severe level logged (default info: a line per finished or failed task)' })
        .option('metrics-port', numberOption('serve /metrics, /healthz here (0: any port)'))
        .option('metrics-host', { type: 'string', default: '127.0.0.1', describe: 'address for it (0.0.0.0 in containers)' }), [
        ['$0 worker ./handlers.js -q emails -c 16', '16 tasks at once'],
        ['$0 worker ./handlers.js -q emails -t 30s', 'attempts of at most 30 s'],
      ]),
    run: worker,
    errors: { portFlag: '--metrics-port', hostFlag: '--metrics-host' },
  });
}
