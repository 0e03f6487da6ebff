import type { Argv } from 'yargs';
import type { Registry } from 'prom-client';
import { ConfigError, RedisRefused } from '@asyncq/core';
import { checkQueueName } from '@asyncq/core/internal';
import { connectionOf, untilStopSignal, wholeNumber, type CliContext, type GlobalOptions } from '../cli-context.js';
import { defineCommand } from '../grammar/command.js';
import { parseDuration } from '../grammar/durations.js';
import { serveExporter } from '../exporter/exporter-server.js';
import { QueueExporter } from '../exporter/queue-exporter.js';

interface MetricsArgs extends GlobalOptions {
  port: number;
  host: string;
  queue?: string[];
  scrapeTimeout: string;
}

/**
 * The exporter's registry for `argv` (queues named in `queue`, else every queue under the prefix):
 * reading it (`registry.metrics()`) reads Redis. See {@link QueueExporter}.
 */
export function queueMetricsRegistry(argv: GlobalOptions & { queue?: string[] }, timeoutMs?: number): { registry: Registry; exporter: QueueExporter; close: () => Promise<void> } {
  const exporter = new QueueExporter({ connection: connectionOf(argv), prefix: argv.prefix, ...(argv.queue?.length ? { queues: argv.queue } : {}), ...(timeoutMs ? { timeoutMs } : {}) });
  return { registry: exporter.registry, exporter, close: () => exporter.close() };
}

/** Serves the exporter until SIGTERM/SIGINT. A Redis that is down at start is reported, not fatal: `asyncq_up` says when it answers. */
export async function metrics(argv: MetricsArgs, ctx: CliContext): Promise<void> {
  for (const q of argv.queue ?? []) checkQueueName(q);
  const port = wholeNumber('--port', argv.port, 0, 65_535);
  const timeoutMs = parseDuration(argv.scrapeTimeout, { flag: '--scrape-timeout', bare: 'unit', min: 100, max: 600_000, warn: ctx.err });
  const { exporter, close } = queueMetricsRegistry(argv, timeoutMs);
  // A first read before serving: a wrong password or URL is one line now, and the first scrape has a rate.
  await exporter.collect();
  const failure = exporter.failure;
  if (failure instanceof RedisRefused || failure instanceof ConfigError) {
    await close();
    throw failure;
  }
  if (failure) ctx.err(`asyncq: ${failure.message}; serving asyncq_up 0 until Redis answers`);
  const server = await serveExporter(exporter, port, argv.host).catch(async (e: unknown) => {
    await close();
    throw e;
  });
  ctx.out(`asyncq metrics on http://${argv.host}:${server.port}/metrics (health: /healthz follows Redis, /livez does not)`);
  await untilStopSignal(async () => {
    await server.close();
    await close();
  });
}

export function metricsCommand(ctx: CliContext) {
  return defineCommand(ctx, {
    command: 'metrics',
    describe: 'serve queue gauges for Prometheus',
    builder: (y: Argv<GlobalOptions>) =>
      y
        .option('port', { alias: 'p', type: 'number', default: 9465 })
        .option('host', { type: 'string', default: '127.0.0.1', describe: 'address to bind (0.0.0.0 in containers)' })
        .option('queue', { alias: 'q', type: 'string', array: true, describe: 'queues to export (default: all)' })
        .option('scrape-timeout', {
          type: 'string',
          default: '6s',
          describe: 'how long a scrape reads queues before it answers with what it has (asyncq_scrape_partial 1); a shorter Prometheus scrape timeout wins',
        }),
    run: metrics, errors: { hostFlag: '--host' },
  });
}
