import type { Argv } from 'yargs';
import { CliError } from '../cli-error.js';

/**
 * Commands whose first argument names a queue (or several: `stats`, `watch`). There
 * `-q/--queue <name>` means exactly that argument, so one spelling works in every command:
 * `asyncq join -q emails` is `asyncq join emails`. (`worker` and `fleet` take the handler module as
 * their argument and the queue as `-q`, and `metrics` takes `-q` to narrow what it exports.)
 */
export const QUEUE_FIRST: ReadonlySet<string> = new Set([
  'put',
  'join',
  'watch',
  'stats',
  'inspect',
  'logs',
  'retry',
  'cancel',
  'remove',
  'promote',
  'pause',
  'resume',
  'purge',
  'clean',
  'delete',
  'shutdown',
  'reopen',
  'scale',
  'limits',
]);

/** Commands that take any number of queues. */
const MANY_QUEUES: ReadonlySet<string> = new Set(['stats', 'watch']);

/** Global options that take a value, and so may stand between `asyncq` and the command with it. */
const GLOBAL_VALUE_FLAGS: ReadonlySet<string> = new Set(['--redis-url', '--redis-cluster', '--redis-sentinels', '--redis-master', '--redis-ca', '--prefix']);

/** What a queue argument says in `--help`. */
export const QUEUE_DESCRIBE = 'queue name (or -q <name>)';

/** Declares the `<queue>` argument of a command in {@link QUEUE_FIRST}. */
export function queuePositional<T>(y: Argv<T>): Argv<Omit<T, 'queue'> & { queue: string }> {
  return y.positional('queue', { type: 'string', demandOption: true, describe: QUEUE_DESCRIBE });
}

/** The command a command line runs: the first word that is not an option or an option's value. */
export function commandOf(args: readonly string[]): { name: string; index: number } | undefined {
  for (let i = 0; i < args.length; i++) {
    const a = args[i]!;
    if (a === '--') return undefined;
    if (GLOBAL_VALUE_FLAGS.has(a)) i++;
    else if (!a.startsWith('-')) return { name: a, index: i };
  }
  return undefined;
}

/**
 * Rewrites `-q <name>`, `--queue <name>`, `-q=<name>` and `--queue=<name>` into the queue
 * argument of the commands in {@link QUEUE_FIRST}; other command lines come back unchanged.
 */
export function queueFlagToArgument(args: readonly string[]): string[] {
  const command = commandOf(args);
  if (!command || !QUEUE_FIRST.has(command.name)) return [...args];
  const queues: string[] = [];
  const rest: string[] = [];
  let commandAt = -1;
  for (let i = 0; i < args.length; i++) {
    const a = args[i]!;
    if (a === '--') {
      rest.push(...args.slice(i));
      break;
    }
    if (i === command.index) commandAt = rest.length;
    if (a === '-q' || a === '--queue') {
      const value = args[i + 1];
      if (value === undefined || value === '' || value.startsWith('-')) throw new CliError(`${a} needs a queue name, e.g. asyncq ${command.name} ${a} emails`);
      queues.push(value);
      i++;
      continue;
    }
    const attached = /^(?:-q|--queue)=(.*)$/.exec(a);
    if (attached) {
      if (attached[1] === '') throw new CliError(`${a} needs a queue name, e.g. asyncq ${command.name} --queue=emails`);
      queues.push(attached[1]!);
      continue;
    }
    rest.push(a);
  }
  if (queues.length === 0) return rest;
  if (queues.length > 1 && !MANY_QUEUES.has(command.name)) {
    throw new CliError(`asyncq ${command.name} takes one queue; -q/--queue was given ${queues.length} times (${queues.join(', ')})`);
  }
  return [...rest.slice(0, commandAt + 1), ...queues, ...rest.slice(commandAt + 1)];
}

/** Declares `<queue> <id>`: a command about one task of a queue. */
export function taskPositional<T>(y: Argv<T>) {
  return queuePositional(y).positional('id', { type: 'string', demandOption: true, describe: 'task id (asyncq inspect lists them)' });
}
