import type { Argv } from 'yargs';
import { emitKeypressEvents } from 'node:readline';
import logUpdate from 'log-update';
import { connectRedis, listQueues } from '@asyncq/core/internal';
import { CliError, connectionOf, wholeNumber, type CliContext, type GlobalOptions } from '../cli-context.js';
import { defineCommand } from '../grammar/command.js';
import { parseDuration } from '../grammar/durations.js';
import { openReader } from '../queues/queue-reader.js';
import { messageOf, printable } from '../terminal-text.js';
import { isOutage, whereIs, withinTime } from '../queues/time-limit.js';
import { QueueWatcher, type QueueSample } from '../watch/watch-model.js';
import { num, renderView } from '../watch/watch-view.js';

interface WatchArgs extends GlobalOptions {
  queues: string[];
  interval: string;
  json?: boolean;
  count?: number;
}

/** Redis not answering: since when, and the last reason. */
interface Outage {
  since: Date;
  why: string;
}

/**
 * A live view of queues, refreshed every interval: rates, depth by state, latency percentiles,
 * live workers and a throughput chart, fitted to the terminal. `--json` prints one JSON object per
 * queue per interval instead. While Redis does not answer (restarting, failing over) it says it is
 * reconnecting and carries on once Redis is back.
 */
export async function watch(argv: WatchArgs, ctx: CliContext): Promise<void> {
  const connection = connectionOf(argv);
  const interval = parseDuration(argv.interval, { flag: '--interval', bare: 'ms', min: 100, max: 3_600_000, warn: (l) => ctx.err(l) });
  const count = argv.count === undefined ? undefined : wholeNumber('--count', argv.count, 1);
  const known = await listQueues(connection, argv.prefix);
  const unknown = argv.queues.filter((q) => !known.includes(q));
  if (unknown.length > 0) {
    const some = known.length > 8 ? `${known.slice(0, 8).join(', ')} and ${known.length - 8} more (asyncq stats lists them)` : known.join(', ') || 'none yet';
    throw new CliError(`no queue named ${unknown.map((q) => `"${printable(q)}"`).join(', ')} (known: ${printable(some)}); a queue exists once a task was put`);
  }
  // A look at Redis gets this long; past it the view says it is reconnecting instead of freezing.
  const limit = Math.max(2000, interval);
  const where = whereIs(connection);
  const client = await connectRedis(connection, { name: 'asyncq:watch', commandTimeout: limit });
  const watchers = argv.queues.map((name) => new QueueWatcher(openReader(name, client, argv.prefix), Math.max(5000, 3 * interval)));
  const live = ctx.tty && !argv.json;
  let stopped = false;
  let wake = (): void => {};
  const stop = (): void => {
    stopped = true;
    wake();
  };
  const input = process.stdin;
  const onKey = (_: string, key: { name?: string; ctrl?: boolean }): void => {
    if (key?.name === 'q' || (key?.ctrl && key.name === 'c')) stop();
  };
  process.on('SIGINT', stop);
  process.on('SIGTERM', stop);
  if (live && input.isTTY) {
    emitKeypressEvents(input);
    input.setRawMode(true);
    input.on('keypress', onKey);
  }
  let last: QueueSample[] = [];
  let outage: Outage | undefined;
  try {
    for (let n = 0; !stopped && (count === undefined || n < count); n++) {
      try {
        last = await withinTime(Promise.all(watchers.map((w) => w.sample())), limit, where);
        outage = undefined;
      } catch (e) {
        if (!isOutage(e)) throw e;
        outage = { since: outage?.since ?? new Date(), why: printable(messageOf(e)) };
      }
      const status = outage && `reconnecting to Redis at ${where}... (no answer since ${outage.since.toLocaleTimeString()}: ${outage.why})`;
      if (live) {
        const rows = process.stdout.rows || 24;
        const cols = process.stdout.columns || 80;
        logUpdate(renderView(last, watchers.map((w) => w.history), { heading: 'asyncq watch', rows, cols, ...(status ? { status } : {}) }));
      } else if (outage) {
        for (const w of watchers) ctx.out(argv.json ? JSON.stringify({ queue: w.q.name, at: Date.now(), error: status }) : `${w.q.name}: ${status}`);
      } else if (argv.json) {
        for (const s of last) ctx.out(JSON.stringify(s));
      } else {
        for (const s of last) ctx.out(`${s.queue}: ${num(s.donePerSec)} done/s, ${s.counts.waiting} waiting, ${s.counts.active} active, ${s.counts.unfinished} unfinished, ${s.workers.length} workers`);
      }
      if (count !== undefined && n + 1 >= count) break;
      await new Promise<void>((r) => {
        const t = setTimeout(r, interval);
        wake = () => (clearTimeout(t), r());
      });
    }
  } finally {
    process.off('SIGINT', stop);
    process.off('SIGTERM', stop);
    if (live) {
      logUpdate.done(); // keeps the last frame, restores the cursor
      if (input.isTTY) {
        input.off('keypress', onKey);
        input.setRawMode(false);
        input.pause();
      }
    }
    await Promise.all(watchers.map((w) => w.q.close()));
    client.disconnect();
  }
}

export function watchCommand(ctx: CliContext) {
  return defineCommand(ctx, {
    command: 'watch <queues..>',
    describe: 'live view of queues (--json for scripts)',
    builder: (y: Argv<GlobalOptions>) =>
      y
        .positional('queues', { type: 'string', array: true, demandOption: true })
        .option('interval', { alias: 'i', type: 'string', default: '1s', describe: 'time between refreshes' })
        .option('json', { type: 'boolean', describe: 'a JSON object per queue and interval' })
        .option('count', { alias: 'n', type: 'number', describe: 'stop after this many intervals' })
        .example('$0 watch emails thumbnails', '')
        .example('$0 watch emails --json -i 5s', 'one JSON object per queue every 5 s'),
    run: watch,
  });
}
