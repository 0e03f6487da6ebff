import type { Argv } from 'yargs';
import { Queue, type ScheduleCatchUp, type ScheduleInfo, type ScheduleSpec } from '@asyncq/core';
import { CliError, wholeNumber, type CliContext, type GlobalOptions } from '../cli-context.js';
import { defineCommand } from '../grammar/command.js';
import { oneOf } from '../grammar/flag-values.js';
import { plainTable } from '../grammar/plain-table.js';
import { missingQueue, withQueue, type OpenQueue } from '../queues/queue-reader.js';
import { printable, quoted } from '../terminal-text.js';

interface ScheduleArgs extends GlobalOptions {
  action: string;
  id?: string;
  queue?: string;
  cron?: string;
  tz?: string;
  every?: string;
  name?: string;
  data?: string;
  priority?: string;
  attempts?: string;
  startAt?: string;
  endAt?: string;
  limit?: string;
  catchUp?: string;
  json?: boolean;
}

const ACTIONS = ['add', 'list', 'remove'] as const;
const CATCH_UPS: readonly ScheduleCatchUp[] = ['none', 'one', 'all'];

/**
 * `asyncq schedule add|list|remove -q <queue> ...`: upserts a schedule (its occurrences are fired by
 * the queue's workers), lists the schedules with their next and last runs, or removes one. `list`
 * only reads; `remove` of a schedule that does not exist is an error.
 */
export async function schedule(argv: ScheduleArgs, ctx: CliContext): Promise<void> {
  const action = oneOf('the action', argv.action, ACTIONS);
  if (argv.queue === undefined || argv.queue === '') throw new CliError(`say which queue: asyncq schedule ${action} -q <queue>`);
  const id = argv.id;
  if (action !== 'list' && id === undefined) throw new CliError(`say which schedule: asyncq schedule ${action} -q ${argv.queue} <id>`);
  await withQueue(argv, argv.queue, async (q) => {
    const handle = await scheduleHandle(q, argv);
    try {
      if (action === 'add') {
        const info = await handle.schedule(id!, specOf(argv), templateOf(argv), optionsOf(argv));
        ctx.out(`${printable(argv.queue)}: schedule ${printable(id)} saved; next run ${when(info.next)}`);
      } else if (action === 'remove') {
        if (!(await handle.unschedule(id!))) throw new CliError(`queue ${quoted(argv.queue)} has no schedule ${quoted(id)} (asyncq schedule list -q ${printable(argv.queue)} lists them)`);
        ctx.out(`${printable(argv.queue)}: schedule ${printable(id)} removed`);
      } else {
        const rows = await handle.schedules();
        // A queue with schedules exists for this command even before its first task.
        if (!q.exists && rows.length === 0) throw await missingQueue(q.client, argv.prefix, [argv.queue!]);
        printList(rows, argv, ctx);
      }
    } finally {
      await handle.close();
    }
  }, { allowMissing: true });
}

/** A queue handle on the command's connection, with the queue's partition count. */
async function scheduleHandle(q: OpenQueue, argv: ScheduleArgs): Promise<Queue> {
  const partitions = q.exists ? await q.admin.partitions() : 1;
  return new Queue(argv.queue!, { connection: q.client, prefix: argv.prefix, partitions });
}

function specOf(argv: ScheduleArgs): ScheduleSpec {
  if ((argv.cron === undefined) === (argv.every === undefined)) throw new CliError(`give one of --cron '0 3 * * *' or --every 5m`);
  if (argv.cron !== undefined) return argv.tz === undefined ? { cron: argv.cron } : { cron: argv.cron, tz: argv.tz };
  if (argv.tz !== undefined) throw new CliError('--tz goes with --cron, not --every');
  return { every: argv.every! };
}

function templateOf(argv: ScheduleArgs): { data: unknown; name?: string; priority?: number; attempts?: number } {
  let data: unknown = null;
  if (argv.data !== undefined) {
    try {
      data = JSON.parse(argv.data);
    } catch {
      throw new CliError(`--data must be JSON, e.g. --data '{"report":"daily"}', got ${quoted(argv.data)}`);
    }
  }
  return {
    data,
    ...(argv.name !== undefined ? { name: argv.name } : {}),
    ...(argv.priority !== undefined ? { priority: wholeNumber('--priority', argv.priority) } : {}),
    ...(argv.attempts !== undefined ? { attempts: wholeNumber('--attempts', argv.attempts, 1) } : {}),
  };
}

function instant(flag: string, raw: string | undefined): number | undefined {
  if (raw === undefined) return undefined;
  const t = Date.parse(raw);
  if (Number.isNaN(t)) throw new CliError(`${flag} must be a date and time such as 2026-12-24T18:00:00Z, got ${quoted(raw)}`);
  return t;
}

function optionsOf(argv: ScheduleArgs): { startAt?: number; endAt?: number; limit?: number; catchUp?: ScheduleCatchUp } {
  const startAt = instant('--start-at', argv.startAt);
  const endAt = instant('--end-at', argv.endAt);
  return {
    ...(startAt !== undefined ? { startAt } : {}),
    ...(endAt !== undefined ? { endAt } : {}),
    ...(argv.limit !== undefined ? { limit: wholeNumber('--limit', argv.limit, 1) } : {}),
    ...(argv.catchUp !== undefined ? { catchUp: oneOf('--catch-up', argv.catchUp, CATCH_UPS) } : {}),
  };
}

function when(t: number | undefined): string {
  return t === undefined ? '-' : new Date(t).toISOString();
}

function printList(rows: ScheduleInfo[], argv: ScheduleArgs, ctx: CliContext): void {
  if (argv.json) {
    ctx.out(JSON.stringify(rows));
    return;
  }
  if (rows.length === 0) {
    ctx.out(`queue ${quoted(argv.queue)} has no schedules`);
    return;
  }
  const spec = (s: ScheduleInfo): string => ('cron' in s.spec ? `cron ${s.spec.cron}${s.spec.tz ? ` ${s.spec.tz}` : ''}` : `every ${s.spec.every}ms`);
  const lateness = (s: ScheduleInfo): string => (s.last !== undefined && s.lastAt !== undefined ? `${((s.lastAt - s.last) / 1000).toFixed(1)}s` : '-');
  const head = ['id', 'when', 'next run', 'last run', 'late by', 'runs', 'skipped', 'catch-up'];
  const table = [head, ...rows.map((s) => [printable(s.id), printable(spec(s)), when(s.next), when(s.last), lateness(s), String(s.runs), String(s.skipped), s.catchUp])];
  for (const line of plainTable(table)) ctx.out(line);
}

export function scheduleCommand(ctx: CliContext) {
  return defineCommand(ctx, {
    command: 'schedule <action> [id]',
    describe: 'recurring tasks: add (or update), list or remove a schedule; workers fire them',
    builder: (y: Argv<GlobalOptions>) =>
      y
        .positional('action', { type: 'string', demandOption: true, choices: ACTIONS, describe: 'add, list or remove' })
        .positional('id', { type: 'string', describe: 'the schedule id (add, remove)' })
        .option('queue', { alias: 'q', type: 'string', requiresArg: true, describe: 'queue name' })
        .option('cron', { type: 'string', requiresArg: true, describe: "add: a cron expression, e.g. '0 3 * * *'" })
        .option('tz', { type: 'string', requiresArg: true, describe: 'add: the time zone of --cron, e.g. Europe/Berlin (default UTC)' })
        .option('every', { type: 'string', requiresArg: true, describe: 'add: an interval, e.g. 30s or 5m (at least 100ms)' })
        .option('name', { alias: 'n', type: 'string', requiresArg: true, describe: "add: the task name (picks the worker's handler)" })
        .option('data', { type: 'string', requiresArg: true, describe: 'add: the item each run puts, as JSON' })
        .option('priority', { type: 'string', requiresArg: true, describe: 'add: the priority of each run (priority queues)' })
        .option('attempts', { type: 'string', requiresArg: true, describe: 'add: attempts per run' })
        .option('start-at', { type: 'string', requiresArg: true, describe: 'add: no run before this ISO date and time' })
        .option('end-at', { type: 'string', requiresArg: true, describe: 'add: no run after this ISO date and time' })
        .option('limit', { type: 'string', requiresArg: true, describe: 'add: at most this many runs in all' })
        .option('catch-up', { type: 'string', requiresArg: true, describe: 'add: runs missed while no worker ran: none, one (default) or all' })
        .option('json', { type: 'boolean', describe: 'list: print JSON' }),
    run: schedule,
  });
}
