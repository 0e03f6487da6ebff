import type { Argv, CommandModule } from 'yargs';
import { runWorkerProcess } from '@asyncq/worker';
import { connectionOf, wholeNumber, wrapHandler, type CliContext, type GlobalOptions } from '../cli-context.js';

interface WorkerArgs extends GlobalOptions {
  handlers: string;
  queue: string;
  concurrency: number;
  metricsPort?: number;
  metricsHost: string;
  timeout?: number;
  grace: number;
  heartbeat: number;
}

/** One worker process: runs the handler module's handlers until SIGTERM/SIGINT (or the queue is shut down). */
export async function worker(argv: WorkerArgs, ctx: CliContext): Promise<void> {
  await runWorkerProcess({
    handlers: argv.handlers,
    queue: argv.queue,
    connection: connectionOf(argv),
    prefix: argv.prefix,
    concurrency: wholeNumber('--concurrency', argv.concurrency, 1),
    metricsPort: argv.metricsPort,
    metricsHost: argv.metricsHost,
    timeout: argv.timeout,
    graceMs: wholeNumber('--grace', argv.grace, 0),
    heartbeatMs: wholeNumber('--heartbeat', argv.heartbeat, 10),
    onStarted: ({ id, metricsPort }) =>
      ctx.out(`worker ${id} runs ${argv.queue} with concurrency ${argv.concurrency}${metricsPort === undefined ? '' : `; metrics on ${argv.metricsHost}:${metricsPort}/metrics`}`),
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
        .option('concurrency', { alias: 'c', type: 'number', default: 1, describe: 'tasks at once' })
        .option('metrics-port', { type: 'number', describe: 'serve /metrics, /healthz on this port' })
        .option('metrics-host', { type: 'string', default: '127.0.0.1', describe: 'address for it (0.0.0.0 in containers)' })
        .option('timeout', { type: 'number', describe: 'ms per attempt (then ctx.signal aborts)' })
        .option('grace', { type: 'number', default: 10_000, describe: 'ms tasks get to finish on SIGTERM' })
        .option('heartbeat', { type: 'number', default: 5000, describe: 'ms between registry heartbeats' })
        .example('$0 worker ./handlers.js -q emails -c 16', '') as unknown as Argv<WorkerArgs>,
    handler: wrapHandler(ctx, worker),
  };
}
