import type { Argv } from 'yargs';
import { CliError, type CliContext, type GlobalOptions } from '../cli-context.js';
import { defineCommand } from '../grammar/command.js';
import { queuePositional } from '../grammar/queue-flag.js';
import { ALLOW_MISSING_HINT, allowMissingOption, noSuchTask, withQueue } from '../queues/queue-reader.js';
import { readTaskRuns, taskReport } from '../queues/task-runs.js';

interface LogsArgs extends GlobalOptions {
  queue: string;
  id: string;
  json?: boolean;
  allowMissing?: boolean;
}

/**
 * A task's attempts, oldest first, each with how it ended, when, on which worker, its error, stack
 * and `ctx.log` lines, after one line with its name, state and attempts and one with its error when
 * it has one. A task that never ran shows its lines as kept. Only reads.
 */
export async function logs(argv: LogsArgs, ctx: CliContext): Promise<void> {
  const id = String(argv.id);
  await withQueue(
    argv,
    argv.queue,
    async (q) => {
      const task = q.exists ? await readTaskRuns(q, id) : undefined;
      if (!task) {
        if (argv.allowMissing && !q.exists) return;
        throw new CliError(noSuchTask(argv.queue, id));
      }
      if (argv.json) {
        const times = {
          putAt: task.timestamp || null,
          startedAt: task.processedOn ?? null,
          finishedAt: task.finishedOn ?? null,
          runMs: task.processedOn !== undefined && task.finishedOn !== undefined ? Math.max(0, task.finishedOn - task.processedOn) : null,
        };
        // stacks: one per failed attempt, oldest first (BullMQ's stacktrace, what bull-board shows);
        // runs: every attempt recorded, oldest first, with its own error, stack and log lines.
        ctx.out(JSON.stringify({ id: task.id, name: task.name, state: task.state, attemptsMade: task.attemptsMade, attempts: task.attempts, error: task.error ?? null, ...times, stacks: task.stacks, logs: task.logs, runs: task.runs }));
        return;
      }
      for (const line of taskReport(argv.queue, task)) ctx.out(line);
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
        .option('json', { type: 'boolean', describe: 'one JSON object: state, times, error, stacks, logs, and runs (each attempt)' })
        .option('allow-missing', allowMissingOption),
    run: logs,
  });
}
