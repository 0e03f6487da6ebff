import type { Argv } from 'yargs';
import { CliError, type CliContext, type GlobalOptions } from '../cli-context.js';
import { defineCommand } from '../grammar/command.js';
import { queuePositional } from '../grammar/queue-flag.js';
import { noSuchTask, withQueue } from '../queues/queue-reader.js';
import { printable } from '../terminal-text.js';

/**
 * `asyncq retry <queue> <id>`: one failed (or completed) task back to waiting;
 * `asyncq retry <queue> --failed`: every failed task, for another round of attempts.
 */
export async function retry(argv: GlobalOptions & { queue: string; id?: string; failed?: boolean }, ctx: CliContext): Promise<void> {
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
      throw new CliError(task ? `task ${printable(id)} of ${name} is ${task.state}: only a failed or completed task can be retried` : noSuchTask(argv.queue, id));
    }
    ctx.out(`${name}: task ${printable(id)} is waiting again`);
  });
}

export function retryCommand(ctx: CliContext) {
  return defineCommand(ctx, {
    command: 'retry <queue> [id]',
    describe: 'retry a failed task, or all with --failed',
    builder: (y: Argv<GlobalOptions>) =>
      queuePositional(y)
        .positional('id', { type: 'string', describe: 'the task to retry (failed or completed)' })
        .option('failed', { type: 'boolean', describe: 'retry every failed task' }),
    run: retry,
  });
}
