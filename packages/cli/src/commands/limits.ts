import type { Argv } from 'yargs';
import type { GroupBacklog, LimitsStatus, QueueLimits } from '@asyncq/core';
import { CliError, wholeNumber, type CliContext, type GlobalOptions } from '../cli-context.js';
import { defineCommand } from '../grammar/command.js';
import { numberOption } from '../grammar/flag-values.js';
import { queuePositional } from '../grammar/queue-flag.js';
import { withQueue } from '../queues/queue-reader.js';
import { printable } from '../terminal-text.js';

interface LimitsArgs extends GlobalOptions {
  queue: string;
  rate?: string;
  concurrency?: unknown;
  perGroupConcurrency?: unknown;
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

/** The groups `asyncq limits` lists, largest backlog first. */
const GROUPS_SHOWN = 5;

/** The limits in force and their state, with the largest groups' backlogs: what `--json` prints. */
export interface LimitsReport extends LimitsStatus {
  /** The {@link GROUPS_SHOWN} groups with the most tasks waiting (none when no group waits). */
  groups: GroupBacklog[];
}

/**
 * Shows the queue's rate, concurrency and per-group concurrency limits, whether each holds tasks
 * back now, how many ready tasks wait on them, and the largest groups' backlogs; with `--rate`,
 * `--concurrency` or `--per-group-concurrency` it sets those first (the limits not given stay),
 * and with `--clear` removes them all. Limits live in Redis: every worker follows them at once.
 */
export async function limits(argv: LimitsArgs, ctx: CliContext): Promise<void> {
  const perGroup = argv.perGroupConcurrency === undefined ? undefined : wholeNumber('--per-group-concurrency', argv.perGroupConcurrency, 1);
  const concurrency = argv.concurrency === undefined ? undefined : wholeNumber('--concurrency', argv.concurrency, 1);
  const changes = argv.rate !== undefined || concurrency !== undefined || perGroup !== undefined || argv.clear === true;
  if (argv.clear && (argv.rate !== undefined || concurrency !== undefined || perGroup !== undefined)) {
    throw new CliError('--clear removes every limit: give it alone, or give --rate/--concurrency/--per-group-concurrency without it');
  }
  const rate = argv.rate === undefined ? undefined : parseRate(argv.rate);
  const report = await withQueue(argv, argv.queue, async (q): Promise<LimitsReport> => {
    if (changes) {
      const next: QueueLimits = argv.clear ? {} : { ...(await q.admin.limits()).limits };
      if (rate) next.rate = rate;
      if (concurrency !== undefined) next.concurrency = concurrency;
      if (perGroup !== undefined) next.perGroup = { ...next.perGroup, concurrency: perGroup };
      await q.admin.setLimits(next);
    }
    const status = await q.admin.limits();
    // A queue without groups waiting has no backlog to list: one read less.
    return { ...status, groups: status.groupsWaiting > 0 ? await q.admin.groups(GROUPS_SHOWN) : [] };
  }, { allowMissing: changes });
  if (argv.json) {
    ctx.out(JSON.stringify(report));
    return;
  }
  for (const line of describeLimits(printable(argv.queue), report)) ctx.out(line);
}

/** The report in a few lines of text; group names made printable, as the queue's. */
export function describeLimits(name: string, s: LimitsReport): string[] {
  const { rate, concurrency, perGroup } = s.limits;
  const each = perGroup?.concurrency;
  const binds = (yes: boolean): string => (yes ? 'binds now' : 'does not bind now');
  const lines: string[] = [];
  if (!rate && concurrency === undefined && each === undefined) lines.push(`${name}: no limits (asyncq limits ${name} --rate 100/1s --concurrency 5 sets them)`);
  else {
    lines.push(`${name}:`);
    if (rate) lines.push(`  rate         ${rate.max}/${typeof rate.per === 'number' ? `${rate.per}ms` : rate.per}: ${binds(s.rateBinds)} (${s.inWindow} started in the current window)`);
    if (concurrency !== undefined) lines.push(`  concurrency  ${concurrency}: ${binds(s.concurrencyBinds)} (${s.held} held)`);
    if (each !== undefined) lines.push(`  per group    ${each}: ${binds(s.groupsBlocked > 0)} (${s.groupsBlocked} group${s.groupsBlocked === 1 ? '' : 's'} held back)`);
    // The core counts the tasks the rate and concurrency hold back; a group's held-back tasks are its backlog below.
    const queueWide = [rate ? 'rate' : '', concurrency !== undefined ? 'concurrency' : ''].filter(Boolean).join(' and ');
    if (queueWide) lines.push(`  waiting on ${each === undefined ? 'them' : `the ${queueWide}`}: ${s.waitingOnLimits} of ${s.ready} ready tasks`);
  }
  if (s.groupsWaiting === 0) return lines;
  lines.push(`  groups with tasks waiting: ${s.groupsWaiting}${s.groups.length > 0 ? '; the largest:' : ''}`);
  const names = s.groups.map((g) => printable(g.group));
  const width = Math.max(...names.map((g) => g.length));
  s.groups.forEach((g, i) => lines.push(`    ${names[i]!.padEnd(width)}  ${g.waiting} waiting${g.blocked ? ', held back' : ''}`));
  return lines;
}

export function limitsCommand(ctx: CliContext) {
  return defineCommand(ctx, {
    command: 'limits <queue>',
    describe: 'show or set the rate, concurrency and per-group limits every worker follows',
    builder: (y: Argv<GlobalOptions>) =>
      queuePositional(y)
        .option('rate', { type: 'string', describe: 'at most <max> tasks started per <window>, e.g. 100/1s' })
        .option('concurrency', numberOption('at most this many tasks held at once, cluster-wide', { alias: 'c' }))
        .option('per-group-concurrency', numberOption('at most this many tasks of each group (put --group) held at once'))
        .option('clear', { type: 'boolean', describe: 'remove every limit' })
        .option('json', { type: 'boolean', describe: 'print the limits, their state and the 5 largest groups as JSON' })
        .epilogue('Each of --rate, --concurrency and --per-group-concurrency sets its limit and keeps\nthe others as they are; --clear removes them all.'),
    run: limits,
  });
}
