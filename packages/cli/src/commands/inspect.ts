import type { Argv } from 'yargs';
import type { TaskState, TaskSummary } from '@asyncq/core';
import { ALLOW_MISSING_HINT, allowMissingOption, noSuchTask, withQueue } from '../queues/queue-reader.js';
import { fitted, readTaskRuns, taskAsJson, taskReport } from '../queues/task-runs.js';
import { CliError, wholeNumber, type CliContext, type GlobalOptions } from '../cli-context.js';
import { defineCommand } from '../grammar/command.js';
import { formatDuration } from '../grammar/durations.js';
import { numberOption, oneOf } from '../grammar/flag-values.js';
import { queuePositional } from '../grammar/queue-flag.js';
import { jsonOrNote, printable, quoted, TOO_DEEP } from '../terminal-text.js';
import { stateWord } from '../queues/queue-snapshot.js';
import { holderOf } from '../queues/worker-names.js';

interface InspectArgs extends GlobalOptions {
  queue: string;
  failed?: boolean;
  state?: string;
  id?: string;
  limit: unknown;
  json?: boolean;
  allowMissing?: boolean;
}

export const TASK_STATES: readonly TaskState[] = ['waiting', 'delayed', 'active', 'completed', 'failed', 'cancelled', 'blocked'];

/** Lists a queue's tasks in one state (failed ones with their errors), or shows one task whole (`--id`). Only reads. */
export async function inspect(argv: InspectArgs, ctx: CliContext): Promise<void> {
  if (argv.id !== undefined) return inspectOne(argv, String(argv.id), ctx);
  if (argv.failed && argv.state !== undefined && argv.state !== 'failed') {
    throw new CliError(`--failed lists the failed tasks and --state ${quoted(argv.state)} another state: give one of them`);
  }
  const state = argv.failed ? 'failed' : oneOf('--state', argv.state ?? 'waiting', TASK_STATES);
  const limit = wholeNumber('--limit', argv.limit, 1, 100_000);
  await withQueue(
    argv,
    argv.queue,
    async (q) => {
      const [listed, workers] = await Promise.all([q.admin.tasks(state, 0, limit - 1), state === 'active' ? q.registry.list() : Promise.resolve([])]);
      // An active task names its worker by the worker's id, as `asyncq workers` lists it, not by its lease.
      const tasks: InspectedTask[] = listed.map((t) => {
        const w = holderOf(t.holder, workers);
        return w ? { ...t, worker: w.id } : t;
      });
      if (argv.json) {
        ctx.out(tasksAsJson(tasks));
        return;
      }
      const [c, s] = await Promise.all([q.admin.counts(), q.admin.state()]);
      const mode = stateWord(s) === 'open' ? '' : ` (${stateWord(s)})`;
      ctx.out(`${printable(argv.queue)}${mode}: ${c.waiting} waiting, ${c.delayed} delayed, ${c.active} active, ${c.completed} completed, ${c.failed} failed, ${c.cancelled} cancelled${c.blocked ? `, ${c.blocked} blocked` : ''}; ${state}:`);
      if (tasks.length === 0) ctx.out('  (none)');
      for (const t of tasks) for (const line of taskLines(t)) ctx.out(line);
    },
    { allowMissing: argv.allowMissing, hint: ALLOW_MISSING_HINT },
  );
}

/**
 * `inspect --id`: one task whole, its data, times and each attempt with its worker, error, stack
 * and log lines; with `--json` one object, each run naming its worker (`worker`, null once gone).
 */
async function inspectOne(argv: InspectArgs, id: string, ctx: CliContext): Promise<void> {
  if (argv.failed || argv.state !== undefined) throw new CliError(`--id shows task ${quoted(id)} whatever its state: leave out ${argv.failed ? '--failed' : '--state'}`);
  await withQueue(
    argv,
    argv.queue,
    async (q) => {
      const task = q.exists ? await readTaskRuns(q, id) : undefined;
      if (!task) throw new CliError(noSuchTask(argv.queue, id));
      if (argv.json) ctx.out(taskAsJson(task));
      else for (const line of taskReport(argv.queue, task, { whole: true })) ctx.out(line);
    },
    { allowMissing: argv.allowMissing, hint: ALLOW_MISSING_HINT },
  );
}

/** A task as inspect lists it, with the id of the worker that runs it (active tasks). */
export interface InspectedTask extends TaskSummary {
  worker?: string;
}

/**
 * A task as inspect lists it: id, name, data (cut at 60 characters), attempts, put time; its
 * worker, its error, who cancelled it, what a flow step waits for; when it is due, and when its
 * last attempt started and how long it ran.
 */
export function taskLines(t: InspectedTask): string[] {
  const data = printable(jsonOrNote(t.data));
  const put = Number.isFinite(t.timestamp) && t.timestamp > 0 ? ` put ${new Date(t.timestamp).toISOString()}` : '';
  const lines = [`  ${printable(t.id)} ${printable(t.name)} ${data.length > 60 ? `${data.slice(0, 57)}...` : data}${t.attemptsMade ? ` attempts=${t.attemptsMade}` : ''}${put}`];
  const run = t.lastRun;
  const when = [
    t.dueAt !== undefined ? `due ${new Date(t.dueAt).toISOString()}` : '',
    run ? `last attempt started ${new Date(run.startedAt).toISOString()}, ${run.durationMs === undefined ? 'running' : `ran ${formatDuration(run.durationMs)}`}` : '',
  ].filter(Boolean);
  if (t.worker) lines.push(`    worker ${printable(t.worker)}`);
  if (t.error) lines.push(`    error: ${printable(t.error)}`);
  if (t.cancelled) lines.push(`    cancelled by ${printable(t.cancelled.by)}${t.cancelled.reason ? `: ${printable(t.cancelled.reason)}` : ''}`);
  if (t.waitsFor) lines.push(`    waits for ${printable(t.waitsFor)}`);
  if (when.length) lines.push(`    ${when.join(', ')}`);
  return lines;
}

/** The tasks as one JSON array; a task whose data or result is too deep to write shows a note in its place. */
function tasksAsJson(tasks: InspectedTask[]): string {
  const whole = jsonOrNote(tasks);
  return whole === TOO_DEEP ? jsonOrNote(tasks.map(fitted)) : whole;
}

export function inspectCommand(ctx: CliContext) {
  return defineCommand(ctx, {
    command: 'inspect <queue>',
    describe: 'list tasks in a state, failed ones with errors, or show one task with its attempts',
    builder: (y: Argv<GlobalOptions>) =>
      queuePositional(y)
        .option('state', { alias: 's', type: 'string', describe: TASK_STATES.join('|'), defaultDescription: 'waiting' })
        .option('failed', { type: 'boolean', describe: 'the failed ones, with errors' })
        .option('id', { type: 'string', requiresArg: true, describe: 'one task, whole: data, times and each attempt (worker, error, stack, log lines)' })
        .option('limit', numberOption('at most this many', { default: 20 }))
        .option('json', { type: 'boolean', describe: 'one JSON array of tasks (with --id: one object, runs naming their worker)' })
        .option('allow-missing', allowMissingOption),
    run: inspect,
  });
}
