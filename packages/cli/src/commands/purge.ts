import type { Argv } from 'yargs';
import type { CliContext, GlobalOptions } from '../cli-context.js';
import { defineCommand } from '../grammar/command.js';
import { confirm, requireConfirmable, yesOption } from '../grammar/confirm.js';
import { listOf } from '../grammar/flag-values.js';
import { queuePositional } from '../grammar/queue-flag.js';
import { withQueue } from '../queues/queue-reader.js';
import { plural, printable } from '../terminal-text.js';

const PURGE_STATES: readonly ('waiting' | 'delayed' | 'failed' | 'completed')[] = ['waiting', 'delayed', 'failed', 'completed'];

/** `asyncq purge <queue> [--state waiting,delayed,failed]`: every task in those states, never running ones. */
export async function purge(argv: GlobalOptions & { queue: string; yes?: boolean; state?: string }, ctx: CliContext): Promise<void> {
  const states = listOf('--state', argv.state ?? 'waiting,delayed,failed', PURGE_STATES);
  requireConfirmable(argv, 'purge');
  const name = printable(argv.queue);
  await withQueue(argv, argv.queue, async (q) => {
    const c = await q.admin.counts();
    const total = states.reduce((a, s) => a + c[s], 0);
    const what = states.map((s) => `${c[s]} ${s}`).join(', ');
    await confirm(argv, 'purge', `remove ${plural(total, 'task')} from queue ${JSON.stringify(name)} (${what})? Running tasks are left alone.`, `purge cancelled: nothing was removed from ${name}`);
    const n = await q.admin.purge(states);
    ctx.out(`${name}: removed ${plural(n, 'task')} (${states.join(', ')})`);
  });
}

export function purgeCommand(ctx: CliContext) {
  return defineCommand(ctx, {
    command: 'purge <queue>',
    describe: 'remove the tasks in some states; asks first',
    builder: (y: Argv<GlobalOptions>) =>
      queuePositional(y)
        .option('state', { alias: 's', type: 'string', describe: `some of ${PURGE_STATES.join(',')}`, defaultDescription: 'waiting,delayed,failed' })
        .option('yes', yesOption),
    run: purge,
  });
}
