import type { Argv } from 'yargs';
import type { CliContext, GlobalOptions } from '../cli-context.js';
import { defineCommand } from '../grammar/command.js';
import { queuePositional } from '../grammar/queue-flag.js';
import { withAdmin } from '../queues/queue-reader.js';
import { commandHint, printable } from '../terminal-text.js';

/** `asyncq shutdown <queue> [--immediate]`: Python 3.13 semantics, cluster-wide. */
export async function shutdown(argv: GlobalOptions & { queue: string; immediate?: boolean }, ctx: CliContext): Promise<void> {
  await withAdmin(argv, (q) => q.shutdown({ immediate: argv.immediate }));
  const name = printable(argv.queue);
  ctx.out(`${name}: shut down${argv.immediate ? ' immediately (waiting tasks discarded)' : ''}; puts now fail everywhere; ${commandHint('asyncq', 'reopen', argv.queue)} undoes it`);
}

export function shutdownCommand(ctx: CliContext) {
  return defineCommand(ctx, {
    command: 'shutdown <queue>',
    describe: 'shut a queue down, everywhere',
    builder: (y: Argv<GlobalOptions>) => queuePositional(y).option('immediate', { type: 'boolean', describe: 'also discard waiting tasks' }),
    run: shutdown,
  });
}
