import { emitKeypressEvents } from 'node:readline';
import asciichart from 'asciichart';
import logUpdate from 'log-update';
import pc from 'picocolors';
import type { Argv, CommandModule } from 'yargs';
import { connectRedis, listQueues, type QueueCounts, type WorkerInfo } from '@asyncq/core';
import { openReader, type QueueReader } from '../queue-reader.js';
import { CliError, connectionOf, wholeNumber, wrapHandler, type CliContext, type GlobalOptions } from '../cli-context.js';

interface WatchArgs extends GlobalOptions {
  queues: string[];
  interval: number;
  json?: boolean;
  count?: number;
}

/** One interval's view of a queue. */
export interface QueueSample {
  queue: string;
  at: number;
  enqueuedPerSec: number;
  donePerSec: number;
  failedPerSec: number;
  counts: QueueCounts;
  waitMs: { p50: number | null; p99: number | null };
  runMs: { p50: number | null; p99: number | null };
  workers: { host: string; pid: number; concurrency: number; done: number; perSec: number }[];
}

/** Turns successive reads of a queue into rates: puts from BullMQ's id counter, finishes from unfinished counts. */
export class QueueWatcher {
  private last?: { at: number; put: number; unfinished: number; failed: number; done: Map<string, number> };
  readonly history: number[] = [];

  constructor(readonly q: QueueReader) {}

  async sample(): Promise<QueueSample> {
    const [{ paused: _paused, ...counts }, totals, workers, timings] = await Promise.all([
      this.q.admin.counts(),
      this.q.admin.totals(),
      this.q.registry.list(),
      this.q.admin.recentTimings(100),
    ]);
    const put = totals.added;
    const at = Date.now();
    const prev = this.last;
    const dt = prev ? Math.max((at - prev.at) / 1000, 0.001) : 0;
    const rate = (now: number, before: number | undefined): number => (prev && before !== undefined ? Math.max(0, now - before) / dt : 0);
    const enqueuedPerSec = rate(put, prev?.put);
    // Finished = put minus the growth of unfinished; failed tasks are kept, so their count grows with failures.
    const finishedPerSec = prev ? Math.max(0, put - prev.put - (counts.unfinished - prev.unfinished)) / dt : 0;
    const failedPerSec = rate(counts.failed, prev?.failed);
    const donePerSec = Math.max(0, finishedPerSec - failedPerSec);
    this.last = { at, put, unfinished: counts.unfinished, failed: counts.failed, done: new Map(workers.map((w) => [w.id, w.done])) };
    this.history.push(donePerSec);
    if (this.history.length > 180) this.history.shift();
    return {
      queue: this.q.name,
      at,
      enqueuedPerSec,
      donePerSec,
      failedPerSec,
      counts,
      waitMs: percentiles(timings.wait),
      runMs: percentiles(timings.run),
      workers: workers.map((w: WorkerInfo) => ({
        host: w.host,
        pid: w.pid,
        concurrency: w.concurrency,
        done: w.done,
        perSec: rate(w.done, prev?.done.get(w.id)),
      })),
    };
  }
}

function percentiles(xs: number[]): { p50: number | null; p99: number | null } {
  if (xs.length === 0) return { p50: null, p99: null };
  const s = [...xs].sort((a, b) => a - b);
  const at = (q: number): number => s[Math.min(s.length - 1, Math.floor(q * s.length))]!;
  return { p50: at(0.5), p99: at(0.99) };
}

const num = (n: number): string => (n >= 100 ? Math.round(n).toLocaleString('en-US') : n.toFixed(1));
const ms = (n: number | null): string => (n === null ? '-' : n >= 1000 ? `${(n / 1000).toFixed(1)}s` : `${Math.round(n)}ms`);

/** The terminal view of one interval: fits 80 columns. */
export function renderView(samples: QueueSample[], histories: number[][], heading = 'asyncq watch'): string {
  const quit = heading === 'asyncq watch' ? '  (q or Ctrl-C quits)' : '';
  const out: string[] = [pc.bold(`${heading}  ${new Date().toLocaleTimeString()}${quit}`)];
  samples.forEach((s, i) => {
    const c = s.counts;
    out.push('');
    out.push(pc.bold(pc.cyan(s.queue)));
    out.push(`  enqueued/s ${num(s.enqueuedPerSec).padStart(7)}   done/s ${num(s.donePerSec).padStart(7)}   failed/s ${num(s.failedPerSec).padStart(6)}`);
    out.push(`  waiting ${c.waiting}  delayed ${c.delayed}  active ${c.active}  unfinished ${c.unfinished}  completed ${c.completed}  failed ${c.failed}`);
    out.push(`  wait p50 ${ms(s.waitMs.p50)} p99 ${ms(s.waitMs.p99)}   run p50 ${ms(s.runMs.p50)} p99 ${ms(s.runMs.p99)}   workers ${s.workers.length}`);
    for (const w of s.workers.slice(0, 6)) out.push(`    ${`${w.host}:${w.pid}`.padEnd(30).slice(0, 30)} c=${w.concurrency}  done ${w.done}  ${num(w.perSec)}/s`);
    if (s.workers.length > 6) out.push(`    ... and ${s.workers.length - 6} more`);
    const h = histories[i]!;
    if (h.length >= 2) {
      out.push(`  done/s over the last ${h.length} samples:`);
      out.push(asciichart.plot(h.slice(-60), { height: 6, format: (x: number) => num(x).padStart(7) }));
    }
  });
  return out.join('\n');
}

/**
 * A live view of queues, refreshed every interval: rates, depth by state, latency percentiles,
 * live workers and a throughput chart. `--json` prints one JSON object per interval instead.
 */
export async function watch(argv: WatchArgs, ctx: CliContext): Promise<void> {
  const connection = connectionOf(argv);
  const interval = wholeNumber('--interval', argv.interval, 100);
  const known = await listQueues(connection, argv.prefix);
  const unknown = argv.queues.filter((q) => !known.includes(q));
  if (unknown.length > 0) {
    const some = known.length > 8 ? `${known.slice(0, 8).join(', ')} and ${known.length - 8} more (asyncq stats lists them)` : known.join(', ') || 'none yet';
    throw new CliError(`no queue named ${unknown.map((q) => `"${q}"`).join(', ')} (known: ${some}); a queue exists once a task was put`);
  }
  const client = await connectRedis(connection, { name: 'asyncq:watch' });
  const watchers = argv.queues.map((name) => new QueueWatcher(openReader(name, client, argv.prefix)));
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
  try {
    for (let n = 0; !stopped && (argv.count === undefined || n < argv.count); n++) {
      const samples = await Promise.all(watchers.map((w) => w.sample()));
      if (live) logUpdate(renderView(samples, watchers.map((w) => w.history)));
      else if (argv.json) for (const s of samples) ctx.out(JSON.stringify(s));
      else for (const s of samples) ctx.out(`${s.queue}: ${num(s.donePerSec)} done/s, ${s.counts.waiting} waiting, ${s.counts.active} active, ${s.counts.unfinished} unfinished, ${s.workers.length} workers`);
      if (argv.count !== undefined && n + 1 >= argv.count) break;
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

export function watchCommand(ctx: CliContext): CommandModule<GlobalOptions, WatchArgs> {
  return {
    command: 'watch <queues..>',
    describe: 'live view of queues (--json for scripts)',
    builder: (y: Argv<GlobalOptions>) =>
      y
        .positional('queues', { type: 'string', array: true, demandOption: true })
        .option('interval', { alias: 'i', type: 'number', default: 1000, describe: 'ms between refreshes' })
        .option('json', { type: 'boolean', describe: 'a JSON object per queue and interval' })
        .option('count', { alias: 'n', type: 'number', describe: 'stop after this many intervals' })
        .example('$0 watch emails thumbnails', '') as unknown as Argv<WatchArgs>,
    handler: wrapHandler(ctx, watch),
  };
}
