import type { Argv } from 'yargs';
import { ALLOW_MISSING_HINT, allowMissingOption, withQueue } from '../queues/queue-reader.js';
import { workerEntry } from '../queues/worker-entry.js';
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
      const now = Date.now();
      const rows = (await q.registry.list()).map((w) => workerEntry(w, now)).sort((a, b) => a.startedAt - b.startedAt || a.id.localeCompare(b.id));
      if (argv.json) {
        ctx.out(JSON.stringify(rows));
        return;
      }
      if (rows.length === 0) {
        ctx.out(`${printable(argv.queue)}: no live workers`);
        return;
      }
      const ago = (ms: number): string => `${formatDuration(Math.max(0, Math.round((now - ms) / 1000) * 1000))} ago`;
      const head = ['worker', 'host', 'pid', 'version', 'started', 'concurrency', 'running', 'done', 'failed', 'heartbeat'];
      const table = plainTable(
        [
          head,
          ...rows.map((r) => [printable(r.id), printable(r.host), String(r.pid), printable(r.version ?? '-'), new Date(r.startedAt).toISOString(), String(r.concurrency), r.running === null ? '-' : String(r.running), String(r.done), String(r.failed), `${ago(r.lastHeartbeat)}${r.stale ? ', stale' : ''}`]),
        ],
        head.map((_, i) => (i <= 4 || i === head.length - 1 ? 'left' : 'right')),
      );
      ctx.out(`${printable(argv.queue)}: ${rows.length} live worker${rows.length === 1 ? '' : 's'}, ${rows.reduce((a, r) => a + (r.running ?? 0), 0)} of ${rows.reduce((a, r) => a + r.concurrency, 0)} slots busy`);
      for (const line of table) ctx.out(line);
      for (const r of rows.filter((x) => x.current.length > 0)) {
        ctx.out(`${printable(r.id)} runs:`);
        for (const t of r.current) ctx.out(`  ${printable(t.id)} (${printable(t.name)}) for ${formatDuration(Math.max(0, now - t.startedAt))}`);
        const unlisted = (r.running ?? 0) - r.current.length;
        if (unlisted > 0) ctx.out(`  and ${unlisted} more (a heartbeat names the first ${r.current.length})`);
      }
    },
    { allowMissing: argv.allowMissing, hint: ALLOW_MISSING_HINT },
  );
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
