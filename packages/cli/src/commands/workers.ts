import type { Argv } from 'yargs';
import type { WorkerInfo } from '@asyncq/core';
import { ALLOW_MISSING_HINT, allowMissingOption, withQueue } from '../queues/queue-reader.js';
import { type CliContext, type GlobalOptions } from '../cli-context.js';
import { defineCommand } from '../grammar/command.js';
import { formatDuration } from '../grammar/durations.js';
import { plainTable } from '../grammar/plain-table.js';
import { queuePositional } from '../grammar/queue-flag.js';
import { printable } from '../terminal-text.js';

interface WorkersArgs extends GlobalOptions {
  queue: string;
  json?: boolean;
  allowMissing?: boolean;
}

/** One live worker as `asyncq workers --json` prints it. */
export interface WorkerRow {
  /** The worker's id: the one name inspect, join and watch give it. */
  id: string;
  host: string;
  pid: number;
  version: string | null;
  /** When it started, ms since the epoch. */
  startedAt: number;
  concurrency: number;
  /** Tasks running at its last heartbeat. */
  running: number | null;
  /** Tasks done and task attempts failed since it started. */
  done: number;
  failed: number;
  /** Its last heartbeat, ms since the epoch. */
  lastHeartbeat: number;
  /** Some of the tasks it runs now (id, name, started), from its last heartbeat. */
  current: { id: string; name: string; startedAt: number }[];
}

/**
 * The live workers of a queue, like Sidekiq's Busy page or `celery inspect active`: host, pid,
 * version, start time, concurrency, what each runs now and its counters. Only reads (the worker
 * registry its heartbeats keep).
 */
export async function workers(argv: WorkersArgs, ctx: CliContext): Promise<void> {
  await withQueue(
    argv,
    argv.queue,
    async (q) => {
      const rows = (await q.registry.list()).map(rowOf).sort((a, b) => a.startedAt - b.startedAt || a.id.localeCompare(b.id));
      if (argv.json) {
        ctx.out(JSON.stringify(rows));
        return;
      }
      if (rows.length === 0) {
        ctx.out(`${printable(argv.queue)}: no live workers`);
        return;
      }
      const now = Date.now();
      const ago = (ms: number): string => `${formatDuration(Math.max(0, Math.round((now - ms) / 1000) * 1000))} ago`;
      const head = ['worker', 'host', 'pid', 'version', 'started', 'concurrency', 'running', 'done', 'failed', 'heartbeat'];
      const table = plainTable(
        [
          head,
          ...rows.map((r) => [printable(r.id), printable(r.host), String(r.pid), printable(r.version ?? '-'), new Date(r.startedAt).toISOString(), String(r.concurrency), r.running === null ? '-' : String(r.running), String(r.done), String(r.failed), ago(r.lastHeartbeat)]),
        ],
        head.map((_, i) => (i <= 4 || i === head.length - 1 ? 'left' : 'right')),
      );
      ctx.out(`${printable(argv.queue)}: ${rows.length} live worker${rows.length === 1 ? '' : 's'}, ${rows.reduce((a, r) => a + (r.running ?? 0), 0)} of ${rows.reduce((a, r) => a + r.concurrency, 0)} slots busy`);
      for (const line of table) ctx.out(line);
      for (const r of rows.filter((x) => x.current.length > 0)) {
        ctx.out(`${printable(r.id)} runs:`);
        for (const t of r.current) ctx.out(`  ${printable(t.id)} (${printable(t.name)}) for ${formatDuration(Math.max(0, now - t.startedAt))}`);
      }
    },
    { allowMissing: argv.allowMissing, hint: ALLOW_MISSING_HINT },
  );
}

/** A registry entry as a row, each field checked (entries are JSON any process may have written). */
function rowOf(w: WorkerInfo): WorkerRow {
  const n = (v: unknown): number => (typeof v === 'number' && Number.isFinite(v) ? v : 0);
  return {
    id: String(w.id),
    host: String(w.host),
    pid: n(w.pid),
    version: typeof w.version === 'string' ? w.version : null,
    startedAt: n(w.startedAt),
    concurrency: n(w.concurrency),
    running: typeof w.running === 'number' ? w.running : null,
    done: n(w.done),
    failed: n(w.failed),
    lastHeartbeat: n(w.lastHeartbeat),
    current: Array.isArray(w.current) ? w.current.map((t) => ({ id: String(t.id), name: String(t.name), startedAt: n(t.startedAt) })) : [],
  };
}

/** `asyncq workers`, writing to `ctx`. */
export function workersCommand(ctx: CliContext) {
  return defineCommand(ctx, {
    command: 'workers <queue>',
    describe: "a queue's live workers: host, pid, version, start, concurrency, current tasks, counters",
    builder: (y: Argv<GlobalOptions>) =>
      queuePositional(y)
        .option('json', { type: 'boolean', describe: 'one JSON array of workers' })
        .option('allow-missing', allowMissingOption),
    run: workers,
  });
}
