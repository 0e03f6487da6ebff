import { Counter, Gauge, Registry } from 'prom-client';
import type { Argv, CommandModule } from 'yargs';
import { connectRedis, listQueues } from '@asyncq/core';
import { openReader, type QueueReader } from '../queue-reader.js';
import { serveMetrics } from '@asyncq/worker';
import { connectionOf, untilStopSignal, wholeNumber, wrapHandler, type CliContext, type GlobalOptions } from '../cli-context.js';

interface MetricsArgs extends GlobalOptions {
  port: number;
  host: string;
  queue?: string[];
}

const STATES = ['waiting', 'delayed', 'active', 'completed', 'failed'] as const;

/**
 * Queue-level gauges for Prometheus, read from Redis on every scrape: tasks by state, live
 * workers, unfinished tasks, and a drain-time estimate (unfinished / the rate at which live workers
 * finished tasks since the previous scrape) that KEDA or an HPA can scale on.
 */
export function queueMetricsRegistry(argv: GlobalOptions & { queue?: string[] }): { registry: Registry; close: () => Promise<void> } {
  // One connection, made at the first scrape, shared by every queue's handle.
  let connecting: ReturnType<typeof connectRedis> | undefined;
  const connection = (): ReturnType<typeof connectRedis> => {
    connecting ??= connectRedis(connectionOf(argv), { name: 'asyncq:metrics' });
    connecting.catch(() => (connecting = undefined)); // a later scrape tries again
    return connecting;
  };
  const registry = new Registry();
  const handles = new Map<string, QueueReader>();
  const lastDone = new Map<string, { done: number; at: number }>();
  const lastPut = new Map<string, number>();
  const queueOf = async (name: string): Promise<QueueReader> => {
    let q = handles.get(name);
    if (!q) handles.set(name, (q = openReader(name, await connection(), argv.prefix)));
    return q;
  };
  const enqueued = new Counter({
    name: 'asyncq_queue_enqueued_total',
    help: 'Tasks put into the queue (automatic ids), counted from Redis: the enqueue rate without producer metrics.',
    labelNames: ['queue'],
    registers: [registry],
  });
  const tasks = new Gauge({ name: 'asyncq_queue_tasks', help: 'Tasks by state.', labelNames: ['queue', 'state'], registers: [registry] });
  const workers = new Gauge({ name: 'asyncq_workers', help: 'Live workers (by heartbeat).', labelNames: ['queue'], registers: [registry] });
  const unfinished = new Gauge({ name: 'asyncq_queue_unfinished', help: 'Tasks not finished: waiting, delayed and running.', labelNames: ['queue'], registers: [registry] });
  const drain = new Gauge({
    name: 'asyncq_queue_drain_seconds',
    help: 'Estimated seconds to finish the unfinished tasks at the recent completion rate (+Inf when nothing completes).',
    labelNames: ['queue'],
    registers: [registry],
    // One collect fills every gauge: prom-client calls collect() of each metric on a scrape.
    collect: async () => {
      const names = argv.queue?.length ? argv.queue : await listQueues(await connection(), argv.prefix);
      for (const name of names) {
        const q = await queueOf(name);
        const [c, live, put] = await Promise.all([q.admin.counts(), q.registry.list(), q.admin.totals().then((t) => t.added)]);
        enqueued.inc({ queue: name }, Math.max(0, put - (lastPut.get(name) ?? 0)));
        lastPut.set(name, put);
        for (const s of STATES) tasks.set({ queue: name, state: s }, c[s]);
        workers.set({ queue: name }, live.length);
        unfinished.set({ queue: name }, c.unfinished);
        const done = live.reduce((a, w) => a + w.done, 0);
        const now = Date.now();
        const prev = lastDone.get(name);
        lastDone.set(name, { done, at: now });
        const rate = prev && now > prev.at ? Math.max(0, done - prev.done) / ((now - prev.at) / 1000) : 0;
        drain.set({ queue: name }, c.unfinished === 0 ? 0 : rate > 0 ? c.unfinished / rate : Infinity);
      }
    },
  });
  return {
    registry,
    close: async () => {
      await Promise.all([...handles.values()].map((q) => q.close()));
      if (connecting) (await connecting.catch(() => undefined))?.disconnect();
    },
  };
}

export async function metrics(argv: MetricsArgs, ctx: CliContext): Promise<void> {
  const { registry, close } = queueMetricsRegistry(argv);
  await registry.metrics(); // reach Redis once before serving: an unreachable one fails here
  const server = await serveMetrics(registry, wholeNumber('--port', argv.port, 0), argv.host, () => ({}));
  ctx.out(`asyncq metrics on http://${argv.host}:${server.port}/metrics`);
  await untilStopSignal(async () => {
    await server.close();
    await close();
  });
}

export function metricsCommand(ctx: CliContext): CommandModule<GlobalOptions, MetricsArgs> {
  return {
    command: 'metrics',
    describe: 'serve queue gauges for Prometheus',
    builder: (y: Argv<GlobalOptions>) =>
      y
        .option('port', { alias: 'p', type: 'number', default: 9465 })
        .option('host', { type: 'string', default: '127.0.0.1', describe: 'address to bind (0.0.0.0 in containers)' })
        .option('queue', { alias: 'q', type: 'string', array: true, describe: 'queues to export (default: all)' }) as unknown as Argv<MetricsArgs>,
    handler: wrapHandler(ctx, metrics),
  };
}
