import type { Argv } from 'yargs';
import { loadHandlers } from '@asyncq/worker';
import { type CliContext, type GlobalOptions } from '../cli-context.js';
import { defineCommand } from '../grammar/command.js';
import { parseDuration } from '../grammar/durations.js';
import { WORKER_FLAGS } from '../grammar/worker-flags.js';

/**
 * `asyncq check-handlers <module>`: hidden. A fleet runs it to load the handler module in a
 * process of its own before it starts any worker: a module that throws, ends the process or never
 * finishes loading is then one line from the fleet, and never the end of the fleet itself.
 */
export function checkHandlersCommand(ctx: CliContext) {
  return defineCommand(ctx, {
    command: 'check-handlers <handlers>',
    describe: false,
    builder: (y: Argv<GlobalOptions>) => y.positional('handlers', { type: 'string', demandOption: true }).option('load-timeout', WORKER_FLAGS.loadTimeout),
    run: async (argv) => {
      await loadHandlers(argv.handlers, { timeoutMs: parseDuration(argv.loadTimeout, { flag: '--load-timeout', bare: 'unit', min: 100, max: 3_600_000 }) });
    },
  });
}
