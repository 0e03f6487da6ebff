import type { Argv } from 'yargs';
import { checkPrimitiveName, connectRedis, listPrimitives, type PrimitiveInfo } from '@asyncq/core/internal';
import { CliError, connectionOf, type CliContext, type GlobalOptions } from '../cli-context.js';
import { defineCommand } from '../grammar/command.js';
import { formatDuration } from '../grammar/durations.js';
import { plainTable } from '../grammar/plain-table.js';
import { printable } from '../terminal-text.js';

interface LocksArgs extends GlobalOptions {
  names?: string[];
  json?: boolean;
}

/** The most holders a row names; the rest are counted. */
const SHOWN_HOLDERS = 3;

/**
 * The coordination primitives under the prefix (Lock, Semaphore, BoundedSemaphore, Condition,
 * Event, Barrier), or the named ones: holders with their host, pid and age, waiters, value, set
 * state, phase and fencing token. Only reads; a named primitive that does not exist is an error.
 */
export async function locks(argv: LocksArgs, ctx: CliContext): Promise<void> {
  const names = [...new Set(argv.names ?? [])];
  for (const n of names) checkPrimitiveName('primitive', n);
  const client = await connectRedis(connectionOf(argv), { name: 'asyncq:locks' });
  let rows: PrimitiveInfo[];
  try {
    rows = await listPrimitives(client, argv.prefix, names);
  } finally {
    client.disconnect();
  }
  const missing = names.filter((n) => !rows.some((r) => r.name === n));
  if (missing.length > 0) {
    throw new CliError(`no lock, semaphore, event, condition or barrier named ${missing.map((n) => JSON.stringify(printable(n))).join(', ')} under prefix "${printable(argv.prefix)}" (asyncq locks lists them all)`);
  }
  if (argv.json) {
    ctx.out(JSON.stringify(rows));
    return;
  }
  if (rows.length === 0) {
    ctx.out(`no locks, semaphores, events, conditions or barriers under prefix "${printable(argv.prefix)}"`);
    return;
  }
  const head = ['kind', 'name', 'state', 'waiters', 'fencing token', 'holders (host:pid, held for)'];
  const table = [head, ...rows.map((r) => [r.kind, printable(r.name), stateOf(r), String(r.waiters), r.fencingToken === undefined ? '-' : String(r.fencingToken), holdersOf(r)])];
  for (const line of plainTable(table)) ctx.out(line);
}

/** What a primitive is doing, in a few words. */
function stateOf(r: PrimitiveInfo): string {
  switch (r.kind) {
    case 'event':
      return r.set ? 'set' : 'clear';
    case 'barrier':
      return `${r.phase}, ${r.waiters}/${r.parties} in`;
    case 'semaphore':
    case 'bounded-semaphore':
      return `${Math.max(0, (r.value ?? 0) - r.holders.length)}/${r.value} free`;
    default: {
      const conds = (r.conditions ?? []).filter((c) => c.waiters > 0).map((c) => `${printable(c.name)}: ${c.waiters} waiting`);
      return [r.holders.length > 0 ? 'locked' : 'free', ...conds].join(', ');
    }
  }
}

function holdersOf(r: PrimitiveInfo): string {
  const shown = r.holders.slice(0, SHOWN_HOLDERS).map((h) => {
    const who = h.host !== undefined ? `${printable(h.host)}:${h.pid ?? '?'}` : printable(h.id);
    return `${who} ${formatDuration(Math.max(0, h.ageMs))}${h.leaseLeftMs < 0 ? ' (lease ran out)' : ''}`;
  });
  const more = r.holders.length - shown.length;
  return [...shown, ...(more > 0 ? [`+${more} more`] : [])].join(', ') || '-';
}

export function locksCommand(ctx: CliContext) {
  return defineCommand(ctx, {
    command: 'locks [names..]',
    describe: 'coordination primitives: holders, waiters, values, fencing tokens',
    builder: (y: Argv<GlobalOptions>) =>
      y
        .positional('names', { type: 'string', array: true, describe: 'primitive names (default: every one under the prefix)' })
        .option('json', { type: 'boolean', describe: 'one JSON array' }),
    run: locks,
  });
}
