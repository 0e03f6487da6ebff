import type { Argv, CommandModule } from 'yargs';
import { connectRedis, listQueues } from '@asyncq/core';
import { openReader } from '../queue-reader.js';
import { connectionOf, wrapHandler, type CliContext, type GlobalOptions } from '../cli-context.js';

interface StatsArgs extends GlobalOptions {
  queues?: string[];
  json?: boolean;
}

/** Counts, live workers and desired workers of the named queues (default: every queue found). */
export async function stats(argv: StatsArgs, ctx: CliContext): Promise<void> {
  // One connection for every queue, however many there are.
  const connection = await connectRedis(connectionOf(argv), { name: 'asyncq:stats' });
  const rows = [];
  try {
    const names = argv.queues?.length ? argv.queues : await listQueues(connection, argv.prefix);
    for (const name of names) {
      const q = openReader(name, connection, argv.prefix);
      try {
        const [{ paused: _paused, ...c }, workers, desired] = await Promise.all([q.admin.counts(), q.registry.list(), q.registry.desired()]);
        rows.push({ queue: name, ...c, workers: workers.length, desired: desired ?? null });
      } finally {
        await q.close();
      }
    }
  } finally {
    connection.disconnect();
  }
  if (argv.json) {
    ctx.out(JSON.stringify(rows));
    return;
  }
  if (rows.length === 0) {
    ctx.out(`no queues under prefix "${argv.prefix}"`);
    return;
  }
  const head = ['queue', 'waiting', 'delayed', 'active', 'completed', 'failed', 'unfinished', 'workers'];
  const table = [head, ...rows.map((r) => [r.queue, r.waiting, r.delayed, r.active, r.completed, r.failed, r.unfinished, r.workers].map(String))];
  const widths = head.map((_, i) => Math.max(...table.map((row) => row[i]!.length)));
  for (const row of table) ctx.out(row.map((cell, i) => (i === 0 ? cell.padEnd(widths[i]!) : cell.padStart(widths[i]!))).join('  '));
}

export function statsCommand(ctx: CliContext): CommandModule<GlobalOptions, StatsArgs> {
  return {
    command: 'stats [queues..]',
    describe: 'task counts and live workers per queue',
    builder: (y: Argv<GlobalOptions>) =>
      y
        .positional('queues', { type: 'string', array: true, describe: 'queue names (default: all)' })
        .option('json', { type: 'boolean', describe: 'one JSON array' }) as unknown as Argv<StatsArgs>,
    handler: wrapHandler(ctx, stats),
  };
}
