import type { Argv } from 'yargs';
import { Queue, WaitAborted, type WorkerInfo } from '@asyncq/core';
import { connectionOf, type CliContext, type GlobalOptions } from '../cli-context.js';
import { defineCommand } from '../grammar/command.js';
import { describeConnection } from '../grammar/connection-flags.js';
import { durationOption } from '../grammar/flag-values.js';
import { formatDuration, parseDuration } from '../grammar/durations.js';
import { ProgressLine } from '../watch/progress-line.js';
import { DRAIN_WINDOW_MS, drainSeconds, SmoothedRate } from '../queues/rates.js';
import { queuePositional } from '../grammar/queue-flag.js';
import { ALLOW_MISSING_HINT, allowMissingOption, checkReads, withQueue, type OpenQueue } from '../queues/queue-reader.js';
import { emptySnapshot, readSnapshot, type QueueSnapshot } from '../queues/queue-snapshot.js';
import { messageOf, printable } from '../terminal-text.js';
import { holderOf } from '../queues/worker-names.js';

interface JoinArgs extends GlobalOptions {
  queue: string;
  timeout?: string;
  allowMissing?: boolean;
}

/**
 * Blocks until every task of the queue is finished (exit 0), showing what remains and an ETA on a
 * terminal. On --timeout exits 2 and lists what is outstanding: the held tasks and who holds them.
 * A Redis that goes away meanwhile is reported once, and the wait goes on until it is back.
 */
export async function join(argv: JoinArgs, ctx: CliContext): Promise<void> {
  const timeout = argv.timeout === undefined ? Infinity : parseDuration(argv.timeout, { flag: '--timeout', bare: 's', none: true, min: 1, warn: ctx.err });
  const name = printable(argv.queue);
  await withQueue(
    argv,
    argv.queue,
    async (reader) => {
      if (!reader.exists) {
        ctx.out(`${name}: no such queue; nothing to wait for`);
        return;
      }
      const connection = connectionOf(argv);
      const q = new Queue(argv.queue, { connection, prefix: argv.prefix });
      const ticker = new JoinTicker(reader, ctx, name, describeConnection(connection));
      await ticker.start();
      try {
        await q.join(timeout === Infinity ? {} : { timeout });
        ticker.stop();
        ctx.out(`${name}: every task is finished`);
      } catch (e) {
        ticker.stop();
        if (!(e instanceof WaitAborted)) throw e;
        await reportOutstanding(reader, ctx, name, timeout);
        ctx.exitCode = 2;
      } finally {
        ticker.stop();
        await q.close();
      }
    },
    { allowMissing: argv.allowMissing, hint: ALLOW_MISSING_HINT },
  );
}

/**
 * Every 500 ms: what remains and an ETA on a terminal. A failed read (Redis gone) is said once on
 * stderr, and its return once; reads never overlap, so an outage cannot pile them up.
 */
class JoinTicker {
  private timer?: NodeJS.Timeout;
  private busy = false;
  private down = false;
  private readonly progress: ProgressLine;
  /** Tasks finished per second, from the queue's Redis counters (completed + failed for good). */
  private readonly finished = new SmoothedRate(DRAIN_WINDOW_MS, 1000);

  constructor(
    private readonly reader: OpenQueue,
    private readonly ctx: CliContext,
    private readonly name: string,
    private readonly where: string,
  ) {
    this.progress = new ProgressLine(ctx, 'finished');
  }

  async start(): Promise<void> {
    // The user's rights are checked before anything, as every queue handle's first read does.
    await checkReads(this.reader);
    const t = (await this.read()).totals;
    this.finished.add(Date.now(), t.completed + t.failed);
    this.timer = setInterval(() => void this.tick(), 500);
  }

  /** The queue's snapshot, through the one reader stats, watch, the exporter and the dashboard use; zeros once it has no data. */
  private async read(): Promise<QueueSnapshot> {
    const { client, prefix, name } = this.reader;
    return (await readSnapshot(client, prefix, name)) ?? emptySnapshot(name);
  }

  stop(): void {
    if (!this.timer) return;
    clearInterval(this.timer);
    this.timer = undefined;
    this.progress.done();
  }

  private async tick(): Promise<void> {
    if (this.busy) return;
    this.busy = true;
    try {
      if (this.reader.client.status !== 'ready') throw new Error(`connection ${this.reader.client.status}`);
      const { counts: c, totals: t } = await this.read();
      if (this.down) this.ctx.err(`asyncq: Redis at ${this.where} answers again; still waiting for ${this.name}`);
      this.down = false;
      const rate = this.finished.add(Date.now(), t.completed + t.failed);
      const eta = rate && rate > 0 ? ` ETA ${Math.ceil(drainSeconds(c.unfinished, rate))} s` : '';
      if (this.timer) this.progress.show(`${c.unfinished} unfinished (${c.waiting} waiting, ${c.delayed} delayed, ${c.active} running)${eta}`);
    } catch (e) {
      if (!this.down) this.ctx.err(`asyncq: cannot reach Redis at ${this.where} (${printable(messageOf(e))}); still waiting for ${this.name}, until Redis is back`);
      this.down = true;
    } finally {
      this.busy = false;
    }
  }
}

async function reportOutstanding(reader: OpenQueue, ctx: CliContext, name: string, timeout: number): Promise<void> {
  const [snapshot, workers, active] = await Promise.all([readSnapshot(reader.client, reader.prefix, reader.name), reader.registry.list(), reader.admin.tasks('active', 0, 49)]);
  const c = snapshot?.counts ?? emptySnapshot(reader.name).counts;
  ctx.out(`${name}: ${c.unfinished} task${c.unfinished === 1 ? '' : 's'} still unfinished after ${formatDuration(timeout)} (${c.waiting} waiting, ${c.delayed} delayed, ${c.active} running)`);
  for (const t of active) ctx.out(`  ${printable(t.id)} (${printable(t.name)}) held by ${holderName(t.holder, workers)}`);
}

function holderName(token: string | undefined, workers: WorkerInfo[]): string {
  if (!token) return 'nobody (its lease expired: it goes back to the queue at the next stalled check)';
  const w = holderOf(token, workers);
  return w ? `worker ${printable(w.id)}` : `handle ${printable(token.split('.')[0])} (not a registered worker, or one that stopped beating)`;
}

export function joinCommand(ctx: CliContext) {
  return defineCommand(ctx, {
    command: 'join <queue>',
    describe: 'wait until every task is finished',
    builder: (y: Argv<GlobalOptions>) =>
      queuePositional(y)
        .option('timeout', durationOption('give up after e.g. 30s or 2h (none: never)', { alias: 't' }))
        .option('allow-missing', { ...allowMissingOption, describe: 'no such queue: nothing to wait for, exit 0' }),
    run: join,
  });
}
