import type { Argv } from 'yargs';
import type { CliContext, GlobalOptions } from '../cli-context.js';
import { defineCommand } from '../grammar/command.js';
import { queuePositional } from '../grammar/queue-flag.js';
import { withQueue } from '../queues/queue-reader.js';
import { printable } from '../terminal-text.js';

/** `asyncq resume <queue>`: delivery again after `pause`. */
export async function resume(argv: GlobalOptions & { queue: string }, ctx: CliContext): Promise<void> {
  await withQueue(argv, argv.queue, (q) => q.admin.resume());
  ctx.out(`${printable(argv.queue)}: resumed`);
}

export function resumeCommand(ctx: CliContext) {
  return defineCommand(ctx, { command: 'resume <queue>', describe: 'hand out tasks again after pause', builder: (y: Argv<GlobalOptions>) => queuePositional(y), run: resume });
}
