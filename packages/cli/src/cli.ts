import { readFileSync } from 'node:fs';
import yargs from 'yargs';
import { AsyncqError } from '@asyncq/core';
import { processContext, redactSecrets, type CliContext, type GlobalOptions } from './cli-context.js';
import { cancelCommand } from './commands/cancel.js';
import { checkHandlersCommand } from './commands/check-handlers.js';
import { cleanCommand } from './commands/clean.js';
import { dashboardCommand } from './commands/dashboard.js';
import { deleteCommand } from './commands/delete.js';
import { demoCommand } from './commands/demo.js';
import { fleetCommand } from './commands/fleet.js';
import { fleetWorkerCommand } from './commands/fleet-worker.js';
import { inspectCommand } from './commands/inspect.js';
import { joinCommand } from './commands/join.js';
import { locksCommand } from './commands/locks.js';
import { limitsCommand } from './commands/limits.js';
import { logsCommand } from './commands/logs.js';
import { metricsCommand } from './commands/metrics.js';
import { pauseCommand } from './commands/pause.js';
import { promoteCommand } from './commands/promote.js';
import { purgeCommand } from './commands/purge.js';
import { putCommand, stdinDashes } from './commands/put.js';
import { removeCommand } from './commands/remove.js';
import { reopenCommand } from './commands/reopen.js';
import { resumeCommand } from './commands/resume.js';
import { retryCommand } from './commands/retry.js';
import { scaleCommand } from './commands/scale.js';
import { shutdownCommand } from './commands/shutdown.js';
import { statsCommand } from './commands/stats.js';
import { watchCommand } from './commands/watch.js';
import { workerCommand } from './commands/worker.js';
import { connectionOptions } from './grammar/connection-flags.js';
import { flagsFromEnvironment } from './grammar/env-flags.js';
import { queueFlagToArgument } from './grammar/queue-flag.js';
import { usageLine } from './grammar/usage-errors.js';

const VERSION = (JSON.parse(readFileSync(new URL('../package.json', import.meta.url), 'utf8')) as { version: string }).version;

const EPILOGUE = [
  'The queue: a command about a queue takes it as its first argument or as -q/--queue <name> (asyncq join emails = asyncq join -q emails); worker and fleet take the handler module first and the queue as -q.',
  'Durations take units: 500ms, 30s, 5m, 1h, 1d. Short flags mean one thing everywhere: -q queue, -c concurrency, -w workers, -t timeout, -n task name, -s state, -f file, -i interval, -p port, -y yes.',
  'Configuration: flags, then ASYNCQ_REDIS_URL, ASYNCQ_REDIS_CLUSTER, ASYNCQ_REDIS_SENTINELS, ASYNCQ_REDIS_MASTER, ASYNCQ_REDIS_CA, ASYNCQ_REDIS_PASSWORD and ASYNCQ_PREFIX, then REDIS_URL. ASYNCQ_DEBUG=1 adds stack traces to unexpected errors.',
  'In pipes, run npx asyncq or pnpm exec asyncq (pnpm asyncq prints a banner on stdout first).',
]
  .map((paragraph) => wrapWords(paragraph, 78))
  .join('\n\n');

/**
 * Runs the `asyncq` command line on `args` and resolves to the exit code. Flags come first, then
 * the `ASYNCQ_*` environment variables the CLI knows (`ASYNCQ_REDIS_URL`, `ASYNCQ_PREFIX`, ...),
 * then `REDIS_URL`; any other environment variable is left alone.
 */
export async function main(args: string[], ctx: CliContext = processContext()): Promise<number> {
  class UsageMistake extends Error {}
  const secrets = { redisUrl: flagValue(args, '--redis-url'), redisCluster: flagValue(args, '--redis-cluster'), redisSentinels: flagValue(args, '--redis-sentinels') };
  let usages: Record<string, string> = {};
  try {
    const cli = flagsFromEnvironment(connectionOptions(yargs(stdinDashes(queueFlagToArgument(args)))), args)
      .scriptName('asyncq')
      .parserConfiguration({ 'parse-numbers': false, 'parse-positional-numbers': false })
      .command(workerCommand(ctx))
      .command(fleetCommand(ctx))
      .command(fleetWorkerCommand(ctx))
      .command(checkHandlersCommand(ctx))
      .command(putCommand(ctx))
      .command(joinCommand(ctx))
      .command(watchCommand(ctx))
      .command(statsCommand(ctx))
      .command(inspectCommand(ctx))
      .command(logsCommand(ctx))
      .command(locksCommand(ctx))
      .command(limitsCommand(ctx))
      .command(retryCommand(ctx))
      .command(cancelCommand(ctx))
      .command(shutdownCommand(ctx))
      .command(reopenCommand(ctx))
      .command(scaleCommand(ctx))
      .command(pauseCommand(ctx))
      .command(resumeCommand(ctx))
      .command(removeCommand(ctx))
      .command(promoteCommand(ctx))
      .command(purgeCommand(ctx))
      .command(cleanCommand(ctx))
      .command(deleteCommand(ctx))
      .command(metricsCommand(ctx))
      .command(demoCommand(ctx))
      .command(dashboardCommand(ctx))
      .demandCommand(1, 'name a command; asyncq --help lists them')
      .recommendCommands()
      .strict()
      .completion('completion', 'print a bash/zsh completion script')
      .epilogue(EPILOGUE)
      .help()
      .alias('h', 'help')
      .version(VERSION)
      .exitProcess(false)
      .fail((msg, err) => {
        // A usage mistake must stop yargs (returning would let it run the handler anyway).
        throw err ?? new UsageMistake(msg);
      });
    usages = commandUsages(cli);
    await cli.parseAsync();
  } catch (e) {
    const line = e instanceof AsyncqError ? e.message : usageLine((e as Error).message, args, usages);
    ctx.err(redactSecrets(`asyncq: ${line}`, secrets));
    return 1;
  }
  return ctx.exitCode;
}

/** `text` in lines of at most `width` characters, broken between words (yargs' own wrap breaks words). */
function wrapWords(text: string, width: number): string {
  const lines: string[] = [];
  let line = '';
  for (const word of text.split(' ')) {
    if (line && line.length + 1 + word.length > width) {
      lines.push(line);
      line = word;
    } else line = line ? `${line} ${word}` : word;
  }
  return [...lines, line].join('\n');
}

/** Each command's usage (`put <queue> [json]`), for messages about a missing argument. */
function commandUsages(cli: unknown): Record<string, string> {
  // yargs keeps them internally; without them the message is yargs' own, which is still one line.
  type Internals = { getInternalMethods?: () => { getCommandInstance: () => { getCommandHandlers: () => Record<string, { original?: string }> } } };
  try {
    const handlers = (cli as Internals).getInternalMethods?.().getCommandInstance().getCommandHandlers() ?? {};
    return Object.fromEntries(Object.entries(handlers).map(([name, h]) => [name, h.original ?? name]));
  } catch {
    return {};
  }
}

/** The value of `flag` in `args` (`--flag v` or `--flag=v`), for redacting it from messages. */
function flagValue(args: readonly string[], flag: string): string | undefined {
  const i = args.indexOf(flag);
  if (i >= 0) return args[i + 1];
  return args.find((a) => a.startsWith(`${flag}=`))?.slice(flag.length + 1);
}

export type { GlobalOptions };
