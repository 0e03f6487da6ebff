import type { Argv } from 'yargs';
import { CliError, type CliContext, type GlobalOptions } from '../cli-context.js';
import { defineCommand } from '../grammar/command.js';
import { queuePositional } from '../grammar/queue-flag.js';
import { ALLOW_MISSING_HINT, allowMissingOption, withQueue } from '../queues/queue-reader.js';
import { printable } from '../terminal-text.js';

interface LogsArgs extends GlobalOptions {
  queue: string;
  id: string;
  json?: boolean;
  allowMissing?: boolean;
}

/**
 * A task's `ctx.log` lines, oldest first, after one line with its name, state and attempts and
 * one with its error when it has one. Only reads.
 */
export async function logs(argv: LogsArgs, ctx: CliContext): Promise<void> {
  const id = String(argv.id);
  await withQueue(
    argv,
    argv.queue,
    async (q) => {
      const task = q.exists ? await q.admin.task(id) : undefined;
      if (!task) {
        if (argv.allowMissing && !q.exists) return;
        throw new CliError(`queue ${JSON.stringify(printable(argv.queue))} has no task ${JSON.stringify(printable(id))} (never put, or finished and no longer kept)`);
      }
      if (argv.json) {
        ctx.out(JSON.stringify({ id: task.id, name: task.name, state: task.state, attemptsMade: task.attemptsMade, attempts: task.attempts, error: task.error ?? null, logs: task.logs }));
        return;
      }
      ctx.out(`${printable(argv.queue)} task ${printable(task.id)} (${printable(task.name)}): ${task.state}, ${task.attemptsMade} of ${task.attempts} attempt${task.attempts === 1 ? '' : 's'} made`);
      if (task.error) ctx.out(`error: ${printable(task.error)}`);
      if (task.logs.length === 0) ctx.out('(no log lines)');
      for (const line of task.logs) ctx.out(printable(line));
    },
    { allowMissing: argv.allowMissing, hint: ALLOW_MISSING_HINT },
  );
}

export function logsCommand(ctx: CliContext) {
  return defineCommand(ctx, {
    command: 'logs <queue> <id>',
    describe: "a task's log lines, state and error",
    builder: (y: Argv<GlobalOptions>) =>
      queuePositional(y)
        .positional('id', { type: 'string', demandOption: true, describe: 'task id (asyncq inspect lists them)' })
        .option('json', { type: 'boolean', describe: 'one JSON object: state, error, logs' })
        .option('allow-missing', allowMissingOption),
    run: logs,
  });
}
