import type { Argv } from 'yargs';
import { CliError, type CliContext, type GlobalOptions } from '../cli-context.js';
import { defineCommand } from '../grammar/command.js';
import { taskPositional } from '../grammar/queue-flag.js';
import { taskOrFail, withQueue } from '../queues/queue-reader.js';
import { printable } from '../terminal-text.js';

/** `asyncq remove <queue> <id>`: one task that is not running, gone for good. */
export async function remove(argv: GlobalOptions & { queue: string; id: string }, ctx: CliContext): Promise<void> {
  const id = String(argv.id);
  await withQueue(argv, argv.queue, async (q) => {
    const task = await taskOrFail(q, id);
    if (task.state === 'active') throw new CliError(`task ${printable(id)} of ${printable(argv.queue)} is running: remove it once it has finished or failed`);
    if (!(await q.admin.remove(id))) throw new CliError(`task ${printable(id)} of ${printable(argv.queue)} could not be removed: it started running meanwhile`);
    ctx.out(`${printable(argv.queue)}: removed task ${printable(id)} (it was ${task.state})`);
  });
}

export function removeCommand(ctx: CliContext) {
  return defineCommand(ctx, { command: 'remove <queue> <id>', describe: 'remove one task that is not running', builder: (y: Argv<GlobalOptions>) => taskPositional(y), run: remove });
}
