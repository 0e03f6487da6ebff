import type { Argv } from 'yargs';
import type { LimitsStatus, QueueLimits } from '@asyncq/core';
import { CliError, type CliContext, type GlobalOptions } from '../cli-context.js';
import { defineCommand } from '../grammar/command.js';
import { queuePositional } from '../grammar/queue-flag.js';
import { withQueue } from '../queues/queue-reader.js';
import { printable } from '../terminal-text.js';

interface LimitsArgs extends GlobalOptions {
  queue: string;
  rate?: string;
  concurrency?: number;
  clear?: boolean;
  json?: boolean;
}

/** `100/1s`, `100/s`, `20/500ms`, `6000/1m` as a rate; anything else is one clear line. */
export function parseRate(text: string): { max: number; per: string } {
  const m = /^\s*(\d+)\s*\/\s*(\d*(?:\.\d+)?)\s*(ms|s|m|h)\s*$/.exec(text);
  if (!m || Number(m[1]) < 1 || (m[2] !== '' && Number(m[2]) <= 0)) {
    throw new CliError(`--rate ${JSON.stringify(text)}: give tasks per window as <max>/<window>, with a max of 1 or more, e.g. 100/1s, 20/500ms or 6000/1m`);
  }
  return { max: Number(m[1]), per: `${m[2] === '' ? '1' : m[2]}${m[3]}` };
}

/**
 * Shows the queue's rate and concurrency limits, whether each holds tasks back now, and how many
 * ready tasks wait on them; with `--rate` or `--concurrency` it sets them first (the others stay),
 * and with `--clear` removes them all. Limits live in Redis: every worker follows them at once.
 */
export async function limits(argv: LimitsArgs, ctx: CliContext): Promise<void> {
  const changes = argv.rate !== undefined || argv.concurrency !== undefined || argv.clear === true;
  if (argv.clear && (argv.rate !== undefined || argv.concurrency !== undefined)) throw new CliError('--clear removes every limit: give it alone, or give --rate/--concurrency without it');
  const rate = argv.rate === undefined ? undefined : parseRate(argv.rate);
  const status = await withQueue(argv, argv.queue, async (q) => {
    if (changes) {
      const next: QueueLimits = argv.clear ? {} : { ...(await q.admin.limits()).limits };
      if (rate) next.rate = rate;
      if (argv.concurrency !== undefined) next.concurrency = argv.concurrency;
      await q.admin.setLimits(next);
    }
    return q.admin.limits();
  }, { allowMissing: changes });
  if (argv.json) {
    ctx.out(JSON.stringify(status));
    return;
  }
  for (const line of describeLimits(printable(argv.queue), status)) ctx.out(line);
}

/** The status in a few lines of text. */
export function describeLimits(name: string, s: LimitsStatus): string[] {
  const { rate, concurrency } = s.limits;
  if (!rate && concurrency === undefined) return [`${name}: no limits (asyncq limits ${name} --rate 100/1s --concurrency 5 sets them)`];
  const lines = [`${name}:`];
  if (rate) lines.push(`  rate         ${rate.max}/${typeof rate.per === 'number' ? `${rate.per}ms` : rate.per}: ${s.rateBinds ? 'binds now' : 'does not bind now'} (${s.inWindow} started in the current window)`);
  if (concurrency !== undefined) lines.push(`  concurrency  ${concurrency}: ${s.concurrencyBinds ? 'binds now' : 'does not bind now'} (${s.held} held)`);
  lines.push(`  waiting on them: ${s.waitingOnLimits} of ${s.ready} ready tasks`);
  return lines;
}

export function limitsCommand(ctx: CliContext) {
  return defineCommand(ctx, {
    command: 'limits <queue>',
    describe: 'show or set the rate and concurrency limits every worker follows',
    builder: (y: Argv<GlobalOptions>) =>
      queuePositional(y)
        .option('rate', { type: 'string', describe: 'at most <max> tasks started per <window>, e.g. 100/1s' })
        .option('concurrency', { alias: 'c', type: 'number', describe: 'at most this many tasks held at once, cluster-wide' })
        .option('clear', { type: 'boolean', describe: 'remove every limit' })
        .option('json', { type: 'boolean', describe: 'print the limits and their state as JSON' }),
    run: limits,
  });
}
