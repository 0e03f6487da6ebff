import type { Argv, CommandModule } from 'yargs';
import { checkQueueName, QueueAdmin, WorkerRegistry } from '@asyncq/core';
import { CliError, connectionOf, wholeNumber, wrapHandler, type CliContext, type GlobalOptions } from '../cli-context.js';
import { queuePositional } from '../grammar/queue-flag.js';
import { withQueue } from '../queues/queue-reader.js';
import { commandHint, printable } from '../terminal-text.js';

interface QueueArgs extends GlobalOptions {
  queue: string;
}

/** The queue's admin on its own connection, closed afterwards: for commands that may create a queue's state. */
async function withAdmin<R>(argv: QueueArgs, fn: (q: QueueAdmin) => Promise<R>): Promise<R> {
  const q = new QueueAdmin(argv.queue, { connection: connectionOf(argv), prefix: argv.prefix });
  try {
    return await fn(q);
  } finally {
    await q.close();
  }
}

/**
 * `asyncq retry <queue> <id>`: one failed (or completed) task back to waiting;
 * `asyncq retry <queue> --failed`: every failed task, for another round of attempts.
 */
export async function retry(argv: QueueArgs & { id?: string; failed?: boolean }, ctx: CliContext): Promise<void> {
  if ((argv.id === undefined) === !argv.failed) throw new CliError('say which tasks to retry: asyncq retry <queue> <id>, or asyncq retry <queue> --failed for every failed one');
  const name = printable(argv.queue);
  await withQueue(argv, argv.queue, async (q) => {
    if (argv.failed) {
      const n = await q.admin.retryFailed();
      ctx.out(`${name}: moved ${n} failed task${n === 1 ? '' : 's'} back to waiting`);
      return;
    }
    const id = String(argv.id);
    if (!(await q.admin.retry(id))) {
      const task = await q.admin.task(id);
      throw new CliError(
        task
          ? `task ${printable(id)} of ${name} is ${task.state}: only a failed or completed task can be retried`
          : `queue ${JSON.stringify(name)} has no task ${JSON.stringify(printable(id))} (never put, or finished and no longer kept)`,
      );
    }
    ctx.out(`${name}: task ${printable(id)} is waiting again`);
  });
}

/** `asyncq shutdown <queue> [--immediate]`: Python 3.13 semantics, cluster-wide. */
export async function shutdown(argv: QueueArgs & { immediate?: boolean }, ctx: CliContext): Promise<void> {
  await withAdmin(argv, (q) => q.shutdown({ immediate: argv.immediate }));
  const name = printable(argv.queue);
  ctx.out(`${name}: shut down${argv.immediate ? ' immediately (waiting tasks discarded)' : ''}; puts now fail everywhere; ${commandHint('asyncq', 'reopen', argv.queue)} undoes it`);
}

/** `asyncq reopen <queue>`. */
export async function reopen(argv: QueueArgs, ctx: CliContext): Promise<void> {
  await withAdmin(argv, (q) => q.reopen());
  ctx.out(`${printable(argv.queue)}: open again`);
}

/** `asyncq scale <queue> <n>`: every fleet serving the queue converges to n workers between them. */
export async function scale(argv: QueueArgs & { n: unknown }, ctx: CliContext): Promise<void> {
  const n = wholeNumber('the worker count', argv.n, 0, 10_000);
  checkQueueName(argv.queue);
  const registry = new WorkerRegistry(argv.queue, { connection: connectionOf(argv), prefix: argv.prefix });
  const fleets = await (async () => {
    await registry.setDesired(n);
    return registry.listFleets();
  })().finally(() => registry.close());
  ctx.out(`${printable(argv.queue)}: desired workers set to ${n}; ${fleets.length} running fleet${fleets.length === 1 ? '' : 's'} will share them`);
}

export function queueOpsCommands(ctx: CliContext): CommandModule<GlobalOptions, any>[] {
  return [
    {
      command: 'retry <queue> [id]',
      describe: 'retry a failed task, or all with --failed',
      builder: (y: Argv<GlobalOptions>) =>
        queuePositional(y)
          .positional('id', { type: 'string', describe: 'the task to retry (failed or completed)' })
          .option('failed', { type: 'boolean', describe: 'retry every failed task' }),
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
      builder: (y: Argv<GlobalOptions>) => queuePositional(y).positional('n', { demandOption: true, describe: 'workers in all (0-10000)' }),
      handler: wrapHandler(ctx, scale) as never,
    },
  ];
}
