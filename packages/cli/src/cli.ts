import yargs from 'yargs';
import { processContext, type CliContext, type GlobalOptions } from './cli-context.js';
import { dashboardCommand } from './commands/dashboard.js';
import { demoCommand } from './commands/demo.js';
import { fleetCommand } from './commands/fleet.js';
import { inspectCommand } from './commands/inspect.js';
import { joinCommand } from './commands/join.js';
import { metricsCommand } from './commands/metrics.js';
import { putCommand } from './commands/put.js';
import { queueOpsCommands } from './commands/queue-ops.js';
import { statsCommand } from './commands/stats.js';
import { watchCommand } from './commands/watch.js';
import { workerCommand } from './commands/worker.js';

/**
 * Runs the `asyncq` command line on `args` and resolves to the exit code. Flags come first, then
 * `ASYNCQ_*` environment variables (`ASYNCQ_REDIS_URL`, `ASYNCQ_PREFIX`, ...), then `REDIS_URL`.
 */
export async function main(args: string[], ctx: CliContext = processContext()): Promise<number> {
  let usageError: string | undefined;
  class UsageMistake extends Error {}
  const cli = yargs(args)
    .scriptName('asyncq')
    .env('ASYNCQ')
    .option('redis-url', { type: 'string', describe: 'Redis URL (default: $ASYNCQ_REDIS_URL, $REDIS_URL)' })
    .option('prefix', { type: 'string', default: 'asyncq', describe: 'Redis key prefix' })
    .command(workerCommand(ctx))
    .command(fleetCommand(ctx))
    .command(putCommand(ctx))
    .command(joinCommand(ctx))
    .command(watchCommand(ctx))
    .command(statsCommand(ctx))
    .command(inspectCommand(ctx))
    .command(queueOpsCommands(ctx) as never)
    .command(metricsCommand(ctx))
    .command(demoCommand(ctx))
    .command(dashboardCommand(ctx))
    .demandCommand(1, 'name a command; asyncq --help lists them')
    .recommendCommands()
    .strict()
    .completion('completion', 'print a bash/zsh completion script')
    .help()
    .alias('h', 'help')
    .version(false)
    .exitProcess(false)
    .fail((msg, err) => {
      // A usage mistake must stop yargs (returning would let it run the handler anyway).
      throw err ?? new UsageMistake(msg);
    });
  try {
    await cli.parseAsync();
  } catch (e) {
    usageError = (e as Error).message;
  }
  if (usageError !== undefined) {
    let line = usageError.split('\n')[0]!;
    const mistyped = /^Did you mean (\S+)\?/.exec(line);
    if (mistyped) line = `unknown command "${args.find((a) => !a.startsWith('-'))}"`;
    const hint = line.includes('--help') ? '' : ` (${suggestion(args) ?? 'asyncq --help shows the commands and their flags'})`;
    ctx.err(`asyncq: ${line}${hint}`);
    return 1;
  }
  return ctx.exitCode;
}

const COMMANDS = ['worker', 'fleet', 'watch', 'put', 'join', 'stats', 'inspect', 'retry', 'shutdown', 'reopen', 'scale', 'metrics', 'demo', 'completion'];

/** "did you mean" for a mistyped command name. */
function suggestion(args: string[]): string | undefined {
  const first = args.find((a) => !a.startsWith('-'));
  if (!first || COMMANDS.includes(first)) return undefined;
  const best = COMMANDS.map((c) => [c, distance(first, c)] as const).sort((a, b) => a[1] - b[1])[0]!;
  return best[1] <= 2 ? `did you mean asyncq ${best[0]}?` : undefined;
}

function distance(a: string, b: string): number {
  const d = Array.from({ length: a.length + 1 }, (_, i) => [i, ...Array<number>(b.length).fill(0)]);
  for (let j = 1; j <= b.length; j++) d[0]![j] = j;
  for (let i = 1; i <= a.length; i++) {
    for (let j = 1; j <= b.length; j++) {
      d[i]![j] = Math.min(d[i - 1]![j]! + 1, d[i]![j - 1]! + 1, d[i - 1]![j - 1]! + (a[i - 1] === b[j - 1] ? 0 : 1));
    }
  }
  return d[a.length]![b.length]!;
}

export type { GlobalOptions };
