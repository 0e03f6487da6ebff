import type { Argv, CommandModule } from 'yargs';
import { ConfigError } from '@asyncq/core';
import { CliError, wholeNumber, wrapHandler, type CliContext, type GlobalOptions } from '../cli-context.js';
import { confirm, requireConfirmable, yesOption } from '../grammar/confirm.js';
import { formatDuration, parseDuration } from '../grammar/durations.js';
import { durationOption, listOf, numberOption, oneOf } from '../grammar/flag-values.js';
import { queuePositional } from '../grammar/queue-flag.js';
import { withQueue, type OpenQueue } from '../queues/queue-reader.js';
import { printable } from '../terminal-text.js';

interface QueueArgs extends GlobalOptions {
  queue: string;
  yes?: boolean;
}

const PURGE_STATES = ['waiting', 'delayed', 'failed', 'completed'] as const;
const CLEAN_STATES = ['completed', 'failed', 'delayed', 'waiting'] as const;

const plural = (n: number, what: string): string => `${n} ${what}${n === 1 ? '' : 's'}`;

/** `asyncq purge <queue> [--state waiting,delayed,failed]`: every task in those states, never running ones. */
export async function purge(argv: QueueArgs & { state?: string }, ctx: CliContext): Promise<void> {
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

/** `asyncq clean <queue> --older-than 1d [--state completed]`: old tasks in one state. */
export async function clean(argv: QueueArgs & { olderThan: string; state?: string; limit?: unknown }, ctx: CliContext): Promise<void> {
  const age = parseDuration(argv.olderThan, { flag: '--older-than', bare: 'unit' });
  const state = oneOf('--state', argv.state ?? 'completed', CLEAN_STATES);
  const limit = argv.limit === undefined ? 0 : wholeNumber('--limit', argv.limit, 1, 1_000_000);
  requireConfirmable(argv, 'clean');
  const name = printable(argv.queue);
  await withQueue(argv, argv.queue, async (q) => {
    const most = limit ? ` (at most ${limit})` : '';
    await confirm(argv, 'clean', `remove ${state} tasks older than ${formatDuration(age)} from queue ${JSON.stringify(name)}${most}?`, `clean cancelled: nothing was removed from ${name}`);
    const n = await q.admin.clean(age, state === 'waiting' ? 'wait' : state, limit);
    ctx.out(`${name}: removed ${plural(n, `${state} task`)} older than ${formatDuration(age)}`);
  });
}

/** `asyncq delete <queue>`: the queue and everything in it; refused while workers live, unless --force. */
export async function deleteQueue(argv: QueueArgs & { force?: boolean }, ctx: CliContext): Promise<void> {
  requireConfirmable(argv, 'delete');
  const name = printable(argv.queue);
  await withQueue(argv, argv.queue, async (q) => {
    const c = await q.admin.counts();
    if (!argv.force) await refuseWhileInUse(q, name);
    const tasks = c.unfinished + c.completed + c.failed;
    await confirm(argv, 'delete', `delete queue ${JSON.stringify(name)} and everything in it (${plural(tasks, 'task')}: ${c.unfinished} unfinished, ${c.completed} completed, ${c.failed} failed)?`, `delete cancelled: ${name} is unchanged`);
    const keys = await q.admin.destroy({ force: argv.force }).catch(async (e: unknown) => {
      if (e instanceof ConfigError) await refuseWhileInUse(q, name); // workers arrived meanwhile
      throw e;
    });
    ctx.out(`${name}: deleted (${plural(keys, 'key')} removed)`);
  });
}

async function refuseWhileInUse(q: OpenQueue, name: string): Promise<void> {
  const [workers, c] = await Promise.all([q.registry.list(), q.admin.counts()]);
  if (workers.length > 0 || c.active > 0) {
    throw new CliError(`queue ${JSON.stringify(name)} has ${plural(workers.length, 'live worker')} and ${plural(c.active, 'running task')}: stop them first, or pass --force`);
  }
}

/** purge, clean and delete: each asks first unless --yes. */
export function removalCommands(ctx: CliContext): CommandModule<GlobalOptions, any>[] {
  return [
    {
      command: 'purge <queue>',
      describe: 'remove the tasks in some states; asks first',
      builder: (y: Argv<GlobalOptions>) =>
        queuePositional(y)
          .option('state', { alias: 's', type: 'string', describe: `some of ${PURGE_STATES.join(',')}`, defaultDescription: 'waiting,delayed,failed' })
          .option('yes', yesOption),
      handler: wrapHandler(ctx, purge) as never,
    },
    {
      command: 'clean <queue>',
      describe: 'remove old tasks in one state; asks first',
      builder: (y: Argv<GlobalOptions>) =>
        queuePositional(y)
          .option('older-than', { ...durationOption('age, e.g. 1h, 7d'), demandOption: true })
          .option('state', { alias: 's', type: 'string', describe: CLEAN_STATES.join('|'), defaultDescription: 'completed' })
          .option('limit', numberOption('at most this many (default: all)'))
          .option('yes', yesOption)
          .example('$0 clean emails --older-than 7d --state failed', ''),
      handler: wrapHandler(ctx, clean) as never,
    },
    {
      command: 'delete <queue>',
      describe: 'delete a queue and all in it; asks first',
      builder: (y: Argv<GlobalOptions>) =>
        queuePositional(y)
          .option('force', { type: 'boolean', describe: 'even while workers are registered or tasks run' })
          .option('yes', yesOption),
      handler: wrapHandler(ctx, deleteQueue) as never,
    },
  ];
}
