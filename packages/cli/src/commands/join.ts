import type { Argv, CommandModule } from 'yargs';
import { Queue, WorkerRegistry, QueueAdmin, WaitAborted, type WorkerInfo } from '@asyncq/core';
import { CliError, connectionOf, wrapHandler, type CliContext, type GlobalOptions } from '../cli-context.js';
import { ProgressLine } from '../progress-line.js';

interface JoinArgs extends GlobalOptions {
  queue: string;
  timeout?: number;
}

/**
 * Blocks until every task of the queue is finished (exit 0), showing what remains and an ETA on a
 * terminal. On --timeout exits 2 and lists what is outstanding: the held tasks and who holds them.
 */
export async function join(argv: JoinArgs, ctx: CliContext): Promise<void> {
  const q = new Queue(argv.queue, { connection: connectionOf(argv), prefix: argv.prefix });
  const progress = new ProgressLine(ctx, 'finished');
  const first = await q.counts();
  const t0 = Date.now();
  const ticker = setInterval(() => {
    void q.counts().then((c) => {
      const done = first.unfinished - c.unfinished;
      const rate = done / Math.max((Date.now() - t0) / 1000, 0.001);
      const eta = rate > 0 ? ` ETA ${Math.ceil(c.unfinished / rate)} s` : '';
      progress.show(`${c.unfinished} unfinished (${c.waiting} waiting, ${c.delayed} delayed, ${c.active} running)${eta}`);
    }, () => {});
  }, 500);
  try {
    await q.join(argv.timeout === undefined ? {} : { timeout: argv.timeout * 1000 });
    progress.done();
    ctx.out(`${argv.queue}: every task is finished`);
  } catch (e) {
    progress.done();
    if (!(e instanceof WaitAborted)) throw e;
    const c = await q.counts();
    const registry = new WorkerRegistry(argv.queue, { connection: connectionOf(argv), prefix: argv.prefix });
    const admin = new QueueAdmin(argv.queue, { connection: connectionOf(argv), prefix: argv.prefix });
    const workers = await registry.list().finally(() => registry.close());
    ctx.out(`${argv.queue}: ${c.unfinished} task${c.unfinished === 1 ? '' : 's'} still unfinished after ${argv.timeout} s (${c.waiting} waiting, ${c.delayed} delayed, ${c.active} running)`);
    for (const t of await admin.tasks('active', 0, 49).finally(() => admin.close())) ctx.out(`  ${t.id} (${t.name}) held by ${holderOf(t.holder, workers)}`);
    ctx.exitCode = 2;
  } finally {
    clearInterval(ticker);
    await q.close();
  }
}

function holderOf(token: string | undefined, workers: WorkerInfo[]): string {
  if (!token) return 'nobody (its lease expired: it goes back to the queue at the next stalled check)';
  const w = workers.find((x) => x.handle && token.startsWith(`${x.handle}.`));
  return w ? `worker ${w.host}:${w.pid} (${w.id})` : `handle ${token.split('.')[0]} (not a registered worker, or one that stopped beating)`;
}

export function joinCommand(ctx: CliContext): CommandModule<GlobalOptions, JoinArgs> {
  return {
    command: 'join <queue>',
    describe: 'wait until every task is finished',
    builder: (y: Argv<GlobalOptions>) =>
      y
        .positional('queue', { type: 'string', demandOption: true })
        .option('timeout', { alias: 't', type: 'number', describe: 'seconds to wait' })
        .check((a) => {
          if (a.timeout !== undefined && !(a.timeout > 0)) throw new CliError('--timeout must be a number of seconds > 0');
          return true;
        }) as unknown as Argv<JoinArgs>,
    handler: wrapHandler(ctx, join),
  };
}
