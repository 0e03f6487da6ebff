import type { Argv } from 'yargs';
import { AsyncqError } from '@asyncq/core';
import { checkQueueName, connectRedis, describeQueues, discoverQueues, type RedisClient } from '@asyncq/core/internal';
import { readSnapshots, stateWord } from '../queues/queue-snapshot.js';
import { ALLOW_MISSING_HINT, allowMissingOption, checkReads, missingQueue, openReader, queueExists } from '../queues/queue-reader.js';
import { connectionOf, type CliContext, type GlobalOptions } from '../cli-context.js';
import { defineCommand } from '../grammar/command.js';
import { plainTable } from '../grammar/plain-table.js';
import { printable } from '../terminal-text.js';

interface StatsArgs extends GlobalOptions {
  queues?: string[];
  json?: boolean;
  allowMissing?: boolean;
}

/** One queue's line of `asyncq stats`. */
export interface StatsRow {
  queue: string;
  waiting: number;
  delayed: number;
  active: number;
  completed: number;
  failed: number;
  cancelled: number;
  unfinished: number;
  workers: number;
  desired: number | null;
  paused: boolean;
  /** "graceful" or "immediate" once shut down, else "". */
  shutdown: string;
  /** Why the queue could not be read (its data is damaged), when listing every queue. */
  error?: string;
}

/**
 * Counts, live and desired workers, and whether it is paused or shut down, for the named queues
 * (default: every queue found). Only reads; a named queue that does not exist is an error unless
 * --allow-missing.
 */
export async function stats(argv: StatsArgs, ctx: CliContext): Promise<void> {
  for (const name of argv.queues ?? []) checkQueueName(name);
  // One connection for every queue, however many there are.
  const connection = await connectRedis(connectionOf(argv), { name: 'asyncq:stats' });
  let rows: StatsRow[];
  try {
    rows = await readRows(connection, argv);
  } finally {
    connection.disconnect();
  }
  if (argv.json) {
    ctx.out(JSON.stringify(rows));
    return;
  }
  if (rows.length === 0) {
    ctx.out(`no queues under prefix "${printable(argv.prefix)}"`);
    return;
  }
  const head = ['queue', 'waiting', 'delayed', 'active', 'completed', 'failed', 'unfinished', 'workers', 'state'];
  const rowsOut = [head, ...rows.map((r) => (r.error ? [printable(r.queue), '-', '-', '-', '-', '-', '-', '-', stateWord(r)] : [printable(r.queue), r.waiting, r.delayed, r.active, r.completed, r.failed, r.unfinished, r.workers, stateWord(r)].map(String)))];
  for (const line of plainTable(rowsOut, head.map((_, i) => (i === 0 || i === head.length - 1 ? 'left' : 'right')))) ctx.out(line);
}

async function readRows(connection: RedisClient, argv: StatsArgs): Promise<StatsRow[]> {
  const named = argv.queues?.length ? [...new Set(argv.queues)] : undefined;
  const found = named ? undefined : await discoverQueues(connection, argv.prefix);
  const firstName = named?.[0] ?? found?.[0]?.name;
  if (firstName !== undefined) {
    // A queue handle's first-read checks (ACL, memory policy), once for the connection, before
    // any other read: a right the user lacks is then named as the other commands name it.
    const first = openReader(firstName, connection, argv.prefix);
    await checkReads(first).finally(() => first.close());
  }
  const queues = found ?? (await describeQueues(connection, argv.prefix, named ?? []));
  const rows: StatsRow[] = [];
  const missing: string[] = [];
  for (const read of await readSnapshots(connection, argv.prefix, queues)) {
    const name = read.name;
    if ('snapshot' in read) {
      const { counts, state, workers, desired } = read.snapshot;
      rows.push({ queue: name, ...counts, workers, desired: desired?.count ?? null, paused: state.paused, shutdown: state.shutdown });
    } else if ('error' in read) {
      // One damaged queue must not hide the others: listing every queue, it gets a row saying so.
      if (named || !(read.error instanceof AsyncqError) || read.error.code !== 'QUEUE_CORRUPT') throw read.error;
      rows.push({ ...emptyRow(name), error: read.error.message });
    } else {
      // No tasks yet: a queue all the same when a worker, fleet or desired count is registered for it.
      const q = openReader(name, connection, argv.prefix);
      try {
        if (named && !argv.allowMissing && !(await queueExists(q))) missing.push(name);
        else {
          const [workers, desired] = await Promise.all([q.registry.list(), q.registry.desired()]);
          rows.push({ ...emptyRow(name), workers: workers.length, desired: desired ?? null });
        }
      } finally {
        await q.close();
      }
    }
  }
  if (missing.length > 0) throw await missingQueue(connection, argv.prefix, missing, ALLOW_MISSING_HINT);
  return rows;
}

function emptyRow(queue: string): StatsRow {
  return { queue, waiting: 0, delayed: 0, active: 0, completed: 0, failed: 0, cancelled: 0, unfinished: 0, workers: 0, desired: null, paused: false, shutdown: '' };
}

export function statsCommand(ctx: CliContext) {
  return defineCommand(ctx, {
    command: 'stats [queues..]',
    describe: 'task counts, workers and state per queue',
    builder: (y: Argv<GlobalOptions>) =>
      y
        .positional('queues', { type: 'string', array: true, describe: 'queue names, or -q <name> each (default: every queue)' })
        .option('json', { type: 'boolean', describe: 'one JSON array' })
        .option('allow-missing', allowMissingOption),
    run: stats,
  });
}
