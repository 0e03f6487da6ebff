import { hostname } from 'node:os';
import type { Argv } from 'yargs';
import { CliError, type CliContext, type GlobalOptions } from '../cli-context.js';
import { defineCommand } from '../grammar/command.js';
import { queuePositional } from '../grammar/queue-flag.js';
import { withQueue } from '../queues/queue-reader.js';
import { printable } from '../terminal-text.js';

/** What `asyncq cancel` says of each task, by what cancel-12.lua answered. */
const CANCEL_WORDS: Record<string, string> = {
  'cancelled:waiting': 'cancelled (it was waiting: it will never run)',
  'cancelled:delayed': 'cancelled (it was delayed: it will never run)',
  'cancelled:blocked': 'cancelled (a flow step still blocked: it will never run)',
  'cancelled:running': "cancelled (it was running: its handler's ctx.signal aborts with TaskCancelled)",
  'finished:completed': 'had already completed: nothing to cancel',
  'finished:failed': 'had already failed: nothing to cancel',
  'finished:cancelled': 'was already cancelled',
};

/**
 * `asyncq cancel <queue> <id...> [--reason]`: cancels tasks for good, running ones included, and
 * says what became of each. An id the queue does not have is one line on stderr and exit 1, after
 * the others are cancelled.
 */
export async function cancel(argv: GlobalOptions & { queue: string; ids?: unknown[]; reason?: string }, ctx: CliContext): Promise<void> {
  const ids = [...new Set((argv.ids ?? []).map(String))];
  if (ids.length === 0) throw new CliError('say which tasks to cancel: asyncq cancel <queue> <id...>');
  if (ids.length > 10_000) throw new CliError(`cancel takes at most 10,000 ids at once, got ${ids.length}: split them`);
  const name = printable(argv.queue);
  await withQueue(argv, argv.queue, async (q) => {
    const statuses = await q.admin.cancel(ids, { reason: argv.reason, by: `asyncq cancel on ${hostname()} (pid ${process.pid})` });
    const missing = ids.filter((id) => statuses.get(id) === 'missing');
    for (const id of ids) if (!missing.includes(id)) ctx.out(`${name}: task ${printable(id)} ${CANCEL_WORDS[statuses.get(id)!] ?? statuses.get(id)}`);
    if (missing.length > 0) {
      const list = missing.slice(0, 5).map((id) => JSON.stringify(printable(id))).join(', ');
      throw new CliError(`queue ${JSON.stringify(name)} has no task ${list}${missing.length > 5 ? ` (and ${missing.length - 5} more)` : ''} (never put, or finished and no longer kept)`);
    }
  });
}

export function cancelCommand(ctx: CliContext) {
  return defineCommand(ctx, {
    command: 'cancel <queue> <ids..>',
    describe: 'cancel tasks, running ones included',
    builder: (y: Argv<GlobalOptions>) =>
      queuePositional(y)
        .positional('ids', { type: 'string', array: true, describe: 'the tasks to cancel' })
        .option('reason', { type: 'string', describe: 'why, kept with the task (asyncq logs shows it)' }),
    run: cancel,
  });
}
