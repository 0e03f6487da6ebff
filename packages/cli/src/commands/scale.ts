import type { Argv } from 'yargs';
import { WorkerRegistry } from '@asyncq/core';
import { checkQueueName } from '@asyncq/core/internal';
import { connectionOf, wholeNumber, type CliContext, type GlobalOptions } from '../cli-context.js';
import { defineCommand } from '../grammar/command.js';
import { MAX_MAX_WORKERS } from '../fleet/fleet-supervisor.js';
import { queuePositional } from '../grammar/queue-flag.js';
import { printable } from '../terminal-text.js';

/** `asyncq scale <queue> <n>`: every fleet serving the queue converges to n workers between them. */
export async function scale(argv: GlobalOptions & { queue: string; n: unknown }, ctx: CliContext): Promise<void> {
  const n = wholeNumber('the worker count', argv.n, 0, MAX_MAX_WORKERS);
  checkQueueName(argv.queue);
  const registry = new WorkerRegistry(argv.queue, { connection: connectionOf(argv), prefix: argv.prefix });
  const fleets = await (async () => {
    await registry.setDesired(n);
    return registry.listFleets();
  })().finally(() => registry.close());
  ctx.out(`${printable(argv.queue)}: desired workers set to ${n}; ${fleets.length} running fleet${fleets.length === 1 ? '' : 's'} will share them`);
}

export function scaleCommand(ctx: CliContext) {
  return defineCommand(ctx, {
    command: 'scale <queue> <n>',
    describe: 'set how many workers serve the queue',
    builder: (y: Argv<GlobalOptions>) => queuePositional(y).positional('n', { demandOption: true, describe: `workers in all (0-${MAX_MAX_WORKERS})` }),
    run: scale,
  });
}
