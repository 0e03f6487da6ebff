import type { Argv } from 'yargs';
import { randomBytes } from 'node:crypto';
import { connectRedis } from '@asyncq/core/internal';
import { startEmbeddedRedis, type EmbeddedRedis } from '@asyncq/core/testing';
import { openReader } from '../queues/queue-reader.js';
import { Producer } from '@asyncq/producer';
import { wholeNumber, type CliContext, type GlobalOptions } from '../cli-context.js';
import { defineCommand } from '../grammar/command.js';
import { numberOption } from '../grammar/flag-values.js';
import { FleetSupervisor } from '../fleet/fleet-supervisor.js';
import logUpdate from 'log-update';
import { QueueWatcher } from '../watch/watch-model.js';
import { renderView } from '../watch/watch-view.js';

interface DemoArgs extends GlobalOptions {
  workers: unknown;
  tasks: unknown;
}

const HANDLERS = new URL('../demo/demo-handlers.js', import.meta.url).pathname;

/**
 * The first thing to run: on a private redis-server (unless --redis-url or REDIS_URL names one), a
 * fleet of worker processes, a producer putting tasks that sleep 50-500 ms, the watch view on a
 * terminal (a plain progress line otherwise), join, and a summary. Cleans up after itself.
 */
export async function demo(argv: DemoArgs, ctx: CliContext): Promise<void> {
  const workers = wholeNumber('--workers', argv.workers, 1);
  const total = wholeNumber('--tasks', argv.tasks, 1);
  let embedded: EmbeddedRedis | undefined;
  const url = argv.redisUrl || process.env.REDIS_URL || (embedded = await startEmbeddedRedis()).url;
  if (embedded) ctx.out(`started a private redis-server at ${url}`);
  const name = `demo-${randomBytes(3).toString('hex')}`;
  const fleet = new FleetSupervisor({
    handlers: HANDLERS,
    queue: name,
    workers,
    concurrency: 16,
    connection: url,
    prefix: argv.prefix,
    workerHeartbeatMs: 1000, // a demo is short: its view's per-worker rates settle sooner
    log: () => {},
  });
  const producer = new Producer({ queue: name, connection: url, prefix: argv.prefix });
  const client = await connectRedis(url, { name: `asyncq:${name}` });
  const reader = openReader(name, client, argv.prefix);
  try {
    await fleet.start();
    const items = Array.from({ length: total }, () => ({ name: 'sleep', data: { ms: 50 + Math.floor(Math.random() * 451) } }));
    const workMs = items.reduce((a, i) => a + i.data.ms, 0);
    ctx.out(`queue ${name}: ${workers} workers (concurrency 16 each), ${total} tasks of 50-500 ms`);
    const t0 = performance.now();
    await producer.enqueueMany(items);
    // On a terminal, the watch view; otherwise a plain progress line every 2 s.
    const watcher = new QueueWatcher(reader);
    let lastPlain = 0;
    const ticker = setInterval(() => {
      if (ctx.tty) {
        const size = { rows: process.stdout.rows || 24, cols: process.stdout.columns || 80 };
        void watcher.sample().then((sample) => logUpdate(renderView([sample], [watcher.history], { heading: 'asyncq demo', ...size })), () => {});
        return;
      }
      void reader.admin.counts().then((c) => {
        if (Date.now() - lastPlain < 2000) return;
        lastPlain = Date.now();
        ctx.out(`${total - c.unfinished}/${total} done, ${c.active} held by workers (running or fetched ahead)`);
      }, () => {});
    }, ctx.tty ? 1000 : 250);
    await producer.join();
    clearInterval(ticker);
    if (ctx.tty) logUpdate.done();
    const s = (performance.now() - t0) / 1000;
    ctx.out(`${workers} workers did ${total.toLocaleString('en-US')} tasks (${Math.round(workMs / 1000)} s of work) in ${s.toFixed(1)} s`);
  } finally {
    await fleet.stop();
    await producer.close();
    // A private Redis goes away with everything in it; on a Redis the user named, remove the demo's queue.
    if (!embedded) await reader.admin.destroy({ force: true }).catch(() => {});
    await reader.close();
    client.disconnect();
    await embedded?.stop();
  }
}

export function demoCommand(ctx: CliContext) {
  return defineCommand(ctx, {
    command: 'demo',
    describe: 'see asyncq work, end to end',
    builder: (y: Argv<GlobalOptions>) =>
      y
        .option('workers', numberOption('worker processes', { alias: 'w', default: 4 }))
        // No -t: short flags mean one thing everywhere, and -t is --timeout.
        .option('tasks', numberOption('tasks to put', { default: 1000 })),
    run: demo,
  });
}
