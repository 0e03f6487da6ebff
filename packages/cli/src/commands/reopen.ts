import type { Argv } from 'yargs';
import type { CliContext, GlobalOptions } from '../cli-context.js';
import { defineCommand } from '../grammar/command.js';
import { queuePositional } from '../grammar/queue-flag.js';
import { withAdmin } from '../queues/queue-reader.js';
import { printable } from '../terminal-text.js';

/** `asyncq reopen <queue>`. */
export async function reopen(argv: GlobalOptions & { queue: string }, ctx: CliContext): Promise<void> {
  await withAdmin(argv, (q) => q.reopen());
  ctx.out(`${printable(argv.queue)}: open again`);
}

export function reopenCommand(ctx: CliContext) {
  return defineCommand(ctx, { command: 'reopen <queue>', describe: 'accept puts again after a shutdown', builder: (y: Argv<GlobalOptions>) => queuePositional(y), run: reopen });
}
