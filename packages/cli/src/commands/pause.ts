import type { Argv } from 'yargs';
import type { CliContext, GlobalOptions } from '../cli-context.js';
import { defineCommand } from '../grammar/command.js';
import { queuePositional } from '../grammar/queue-flag.js';
import { withQueue } from '../queues/queue-reader.js';
import { commandHint, printable } from '../terminal-text.js';

/** `asyncq pause <queue>`: workers take no new tasks; running ones finish and puts still go in. */
export async function pause(argv: GlobalOptions & { queue: string }, ctx: CliContext): Promise<void> {
  await withQueue(argv, argv.queue, (q) => q.admin.pause());
  const name = printable(argv.queue);
  ctx.out(`${name}: paused: workers take no new tasks (running ones finish, puts still go in); ${commandHint('asyncq', 'resume', argv.queue)} resumes`);
}

export function pauseCommand(ctx: CliContext) {
  return defineCommand(ctx, { command: 'pause <queue>', describe: 'stop handing out tasks; puts still go in', builder: (y: Argv<GlobalOptions>) => queuePositional(y), run: pause });
}
