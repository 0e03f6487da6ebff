import type { Argv } from 'yargs';
import { CliError, type CliContext, type GlobalOptions } from '../cli-context.js';
import { defineCommand } from '../grammar/command.js';
import { taskPositional } from '../grammar/queue-flag.js';
import { taskOrFail, withQueue } from '../queues/queue-reader.js';
import { printable } from '../terminal-text.js';

/** `asyncq promote <queue> <id>`: a delayed task is ready now. */
export async function promote(argv: GlobalOptions & { queue: string; id: string }, ctx: CliContext): Promise<void> {
  const id = String(argv.id);
  await withQueue(argv, argv.queue, async (q) => {
    if (!(await q.admin.promote(id))) {
      const task = await taskOrFail(q, id);
      throw new CliError(`task ${printable(id)} of ${printable(argv.queue)} is ${task.state}, not delayed: only a delayed task can be promoted`);
    }
    ctx.out(`${printable(argv.queue)}: task ${printable(id)} is ready now`);
  });
}

export function promoteCommand(ctx: CliContext) {
  return defineCommand(ctx, { command: 'promote <queue> <id>', describe: 'make a delayed task ready now', builder: (y: Argv<GlobalOptions>) => taskPositional(y), run: promote });
}
