import type { Argv, CommandModule } from 'yargs';
import { QueueAdmin, WorkerRegistry } from '@asyncq/core';
import { CliError, connectionOf, wholeNumber, wrapHandler, type CliContext, type GlobalOptions } from '../cli-context.js';

interface QueueArgs extends GlobalOptions {
  queue: string;
}

async function withQueue<R>(argv: QueueArgs, fn: (q: QueueAdmin) => Promise<R>): Promise<R> {
  const q = new QueueAdmin(argv.queue, { connection: connectionOf(argv), prefix: argv.prefix });
  try {
    return await fn(q);
  } finally {
    await q.close();
  }
}

/** `asyncq retry <queue> --failed`: failed tasks go back to waiting for another round of attempts. */
export async function retry(argv: QueueArgs & { failed?: boolean }, ctx: CliContext): Promise<void> {
  if (!argv.failed) throw new CliError('say which tasks to retry: asyncq retry <queue> --failed');
  const n = await withQueue(argv, (q) => q.retryFailed());
  ctx.out(`${argv.queue}: moved ${n} failed task${n === 1 ? '' : 's'} back to waiting`);
}

/** `asyncq shutdown <queue> [--immediate]`: Python 3.13 semantics, cluster-wide. */
export async function shutdown(argv: QueueArgs & { immediate?: boolean }, ctx: CliContext): Promise<void> {
  await withQueue(argv, (q) => q.shutdown({ immediate: argv.immediate }));
  ctx.out(`${argv.queue}: shut down${argv.immediate ? ' immediately (waiting tasks discarded)' : ''}; puts now fail everywhere; asyncq reopen ${argv.queue} undoes it`);
}

/** `asyncq reopen <queue>`. */
export async function reopen(argv: QueueArgs, ctx: CliContext): Promise<void> {
  await withQueue(argv, (q) => q.reopen());
  ctx.out(`${argv.queue}: open again`);
}

/** `asyncq scale <queue> <n>`: every fleet serving the queue converges to n workers between them. */
export async function scale(argv: QueueArgs & { n: number }, ctx: CliContext): Promise<void> {
  const n = wholeNumber('the worker count', argv.n, 0);
  const registry = new WorkerRegistry(argv.queue, { connection: connectionOf(argv), prefix: argv.prefix });
  const fleets = await (async () => {
    await registry.setDesired(n);
    return registry.listFleets();
  })().finally(() => registry.close());
  ctx.out(`${argv.queue}: desired workers set to ${n}; ${fleets.length} running fleet${fleets.length === 1 ? '' : 's'} will share them`);
}

const queuePositional = (y: Argv<GlobalOptions>) => y.positional('queue', { type: 'string', demandOption: true });

export function queueOpsCommands(ctx: CliContext): CommandModule<GlobalOptions, any>[] {
  return [
    {
      command: 'retry <queue>',
      describe: 'move failed tasks back to waiting',
      builder: (y: Argv<GlobalOptions>) => queuePositional(y).option('failed', { type: 'boolean', describe: 'retry the failed tasks' }),
      handler: wrapHandler(ctx, retry) as never,
    },
    {
      command: 'shutdown <queue>',
      describe: 'shut a queue down, everywhere',
      builder: (y: Argv<GlobalOptions>) => queuePositional(y).option('immediate', { type: 'boolean', describe: 'also discard waiting tasks' }),
      handler: wrapHandler(ctx, shutdown) as never,
    },
    {
      command: 'reopen <queue>',
      describe: 'accept puts again after a shutdown',
      builder: queuePositional,
      handler: wrapHandler(ctx, reopen) as never,
    },
    {
      command: 'scale <queue> <n>',
      describe: 'set how many workers serve the queue',
      builder: (y: Argv<GlobalOptions>) => queuePositional(y).positional('n', { type: 'number', demandOption: true, describe: 'workers in all' }),
      handler: wrapHandler(ctx, scale) as never,
    },
  ];
}
