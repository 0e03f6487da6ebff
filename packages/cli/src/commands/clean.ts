import type { Argv } from 'yargs';
import { wholeNumber, type CliContext, type GlobalOptions } from '../cli-context.js';
import { defineCommand } from '../grammar/command.js';
import { withExamples } from '../grammar/help-examples.js';
import { confirm, requireConfirmable, yesOption } from '../grammar/confirm.js';
import { formatDuration, parseDuration } from '../grammar/durations.js';
import { durationOption, numberOption, oneOf } from '../grammar/flag-values.js';
import { queuePositional } from '../grammar/queue-flag.js';
import { withQueue } from '../queues/queue-reader.js';
import { plural, printable } from '../terminal-text.js';

const CLEAN_STATES: readonly ('completed' | 'failed' | 'delayed' | 'waiting')[] = ['completed', 'failed', 'delayed', 'waiting'];

/** `asyncq clean <queue> --older-than 1d [--state completed]`: old tasks in one state. */
export async function clean(argv: GlobalOptions & { queue: string; yes?: boolean; olderThan: string; state?: string; limit?: unknown }, ctx: CliContext): Promise<void> {
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

export function cleanCommand(ctx: CliContext) {
  return defineCommand(ctx, {
    command: 'clean <queue>',
    describe: 'remove old tasks in one state; asks first',
    builder: (y: Argv<GlobalOptions>) =>
      withExamples(queuePositional(y)
        .option('older-than', { ...durationOption('age, e.g. 1h, 7d'), demandOption: true })
        .option('state', { alias: 's', type: 'string', describe: CLEAN_STATES.join('|'), defaultDescription: 'completed' })
        .option('limit', numberOption('at most this many (default: all)'))
        .option('yes', yesOption)
        , [['$0 clean emails --older-than 7d --state failed', 'failed tasks older than a week']]),
    run: clean,
  });
}
