import type { Argv } from 'yargs';
import { ConfigError } from '@asyncq/core';
import { CliError, type CliContext, type GlobalOptions } from '../cli-context.js';
import { defineCommand } from '../grammar/command.js';
import { confirm, requireConfirmable, yesOption } from '../grammar/confirm.js';
import { queuePositional } from '../grammar/queue-flag.js';
import { withQueue, type OpenQueue } from '../queues/queue-reader.js';
import { plural, printable } from '../terminal-text.js';

/** `asyncq delete <queue>`: the queue and everything in it; refused while workers live, unless --force. */
export async function deleteQueue(argv: GlobalOptions & { queue: string; yes?: boolean; force?: boolean }, ctx: CliContext): Promise<void> {
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

export function deleteCommand(ctx: CliContext) {
  return defineCommand(ctx, {
    command: 'delete <queue>',
    describe: 'delete a queue and all in it; asks first',
    builder: (y: Argv<GlobalOptions>) =>
      queuePositional(y)
        .option('force', { type: 'boolean', describe: 'even while workers are registered or tasks run' })
        .option('yes', yesOption),
    run: deleteQueue,
  });
}
