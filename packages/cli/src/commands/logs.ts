import type { TaskRun } from '@asyncq/core';
import type { Argv } from 'yargs';
import { CliError, type CliContext, type GlobalOptions } from '../cli-context.js';
import { defineCommand } from '../grammar/command.js';
import { formatDuration } from '../grammar/durations.js';
import { queuePositional } from '../grammar/queue-flag.js';
import { ALLOW_MISSING_HINT, allowMissingOption, withQueue } from '../queues/queue-reader.js';
import { printable } from '../terminal-text.js';
import { holderOf } from '../queues/worker-names.js';

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
      const task = q.exists ? await q.admin.task(id) : undefined;
      if (!task) {
        if (argv.allowMissing && !q.exists) return;
        throw new CliError(`queue ${JSON.stringify(printable(argv.queue))} has no task ${JSON.stringify(printable(id))} (never put, or finished and no longer kept)`);
      }
      const times = {
        putAt: task.timestamp || null,
        startedAt: task.processedOn ?? null,
        finishedAt: task.finishedOn ?? null,
        runMs: task.processedOn !== undefined && task.finishedOn !== undefined ? Math.max(0, task.finishedOn - task.processedOn) : null,
      };
      // Each attempt names its worker as `asyncq workers` lists it while that worker lives, else its lease.
      const workers = task.runs.length > 0 ? await q.registry.list() : [];
      const runs = task.runs.map((r) => ({ ...r, worker: holderOf(r.holder, workers)?.id ?? null }));
      if (argv.json) {
        // stacks: one per failed attempt, oldest first (BullMQ's stacktrace, what bull-board shows);
        // runs: every attempt recorded, oldest first, with its own error, stack and log lines.
        ctx.out(JSON.stringify({ id: task.id, name: task.name, state: task.state, attemptsMade: task.attemptsMade, attempts: task.attempts, error: task.error ?? null, ...times, stacks: task.stacks, logs: task.logs, runs }));
        return;
      }
      ctx.out(`${printable(argv.queue)} task ${printable(task.id)} (${printable(task.name)}): ${task.state}, ${task.attemptsMade} of ${task.attempts} attempt${task.attempts === 1 ? '' : 's'} made`);
      const when = [
        times.putAt ? `put ${new Date(times.putAt).toISOString()}` : '',
        times.startedAt ? `last attempt started ${new Date(times.startedAt).toISOString()}` : '',
        times.finishedAt ? `finished ${new Date(times.finishedAt).toISOString()}` : '',
        times.runMs !== null ? `ran ${formatDuration(times.runMs)}` : '',
      ].filter(Boolean);
      if (when.length) ctx.out(when.join(', '));
      if (task.error) ctx.out(`error: ${printable(task.error)}`);
      if (runs.length === 0) {
        // Never run (waiting, delayed), or finished before attempts were recorded: the lines as kept.
        task.stacks.forEach((stack, i) => {
          ctx.out(`stack of failed attempt ${task.stacks.length > 1 ? `${i + 1} of ${task.stacks.length} kept` : 'kept'}:`);
          for (const line of String(stack).split('\n')) ctx.out(`  ${printable(line)}`);
        });
        if (task.logs.length === 0) ctx.out('(no log lines)');
        for (const line of task.logs) ctx.out(printable(line));
        return;
      }
      for (const r of runs) for (const line of runLines(r)) ctx.out(line);
    },
    { allowMissing: argv.allowMissing, hint: ALLOW_MISSING_HINT },
  );
}

/** One attempt as `logs` prints it: how it ended, when and where, then its error, stack and lines, indented. */
function runLines(r: TaskRun & { worker: string | null }): string[] {
  const took = r.durationMs !== undefined ? ` after ${formatDuration(Math.max(0, r.durationMs))}` : '';
  const started = r.startedAt !== undefined ? `, started ${new Date(r.startedAt).toISOString()}` : '';
  const where = r.worker ? `worker ${printable(r.worker)}` : r.holder ? `lease ${printable(r.holder)}` : 'no worker recorded';
  const out = [`attempt ${r.attempt}: ${r.outcome}${took}${started}, ${where}`];
  if (r.error) out.push(`  error: ${printable(r.error)}`);
  if (r.stack) out.push('  stack:', ...r.stack.split('\n').map((l) => `    ${printable(l)}`));
  if (r.logs.length === 0) out.push('  (no log lines)');
  else out.push('  log:', ...r.logs.map((l) => `    ${printable(l)}`));
  return out;
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
