import type { Argv } from 'yargs';
import { createReadStream, statSync } from 'node:fs';
import { createInterface } from 'node:readline';
import { type BackoffOptions } from '@asyncq/core';
import { MAX_TIMER_MS } from '@asyncq/core/internal';
import { Producer } from '@asyncq/producer';
import { CliError, connectionOf, wholeNumber, type CliContext, type GlobalOptions } from '../cli-context.js';
import { defineCommand } from '../grammar/command.js';
import { withExamples } from '../grammar/help-examples.js';
import { parseDuration } from '../grammar/durations.js';
import { durationOption, numberOption } from '../grammar/flag-values.js';
import { ProgressLine } from '../watch/progress-line.js';
import { commandOf, QUEUE_DESCRIBE } from '../grammar/queue-flag.js';
import { messageOf, printable, quoted } from '../terminal-text.js';

/** The largest priority (core's MAX_PRIORITY: BullMQ's range, shifted so that 0 is allowed). */
const MAX_PRIORITY = 2_097_150;

interface PutArgs extends GlobalOptions {
  queue: string;
  json?: string;
  file?: string | string[];
  name: string;
  priority?: unknown;
  delay?: string;
  attempts?: unknown;
  id?: string;
  backoff?: string;
  group?: string;
}

/** The put options the flags give, each checked with its flag's name and bounds (the core checks a group's name). */
function putOptions(argv: PutArgs, ctx: CliContext): { priority?: number; delay?: number; attempts?: number; backoff?: BackoffOptions; group?: string } {
  return {
    ...(argv.priority === undefined ? {} : { priority: wholeNumber('--priority', argv.priority, 0, MAX_PRIORITY) }),
    ...(argv.delay === undefined ? {} : { delay: parseDuration(argv.delay, { flag: '--delay', bare: 'ms', warn: ctx.err }) }),
    ...(argv.attempts === undefined ? {} : { attempts: wholeNumber('--attempts', argv.attempts, 1, 1_000_000) }),
    ...(argv.backoff === undefined ? {} : { backoff: parseBackoff(argv.backoff) }),
    ...(argv.group === undefined ? {} : { group: String(argv.group) }),
  };
}

/** `--backoff 5s` (the same wait before every retry), `fixed:5s`, or `exponential:1s` (1 s, 2 s, 4 s, ...). */
export function parseBackoff(raw: unknown): BackoffOptions {
  const text = typeof raw === 'string' ? raw.trim() : '';
  const m = /^(?:(fixed|exponential):)?(.+)$/i.exec(text);
  if (!m || !m[2]) throw new CliError(`--backoff must be a duration, fixed:<duration> or exponential:<duration>, e.g. 5s or exponential:1s; got ${raw === undefined ? 'nothing' : quoted(raw)}`);
  const type: BackoffOptions['type'] = m[1]?.toLowerCase() === 'exponential' ? 'exponential' : 'fixed';
  return { type, delay: parseDuration(m[2], { flag: '--backoff', bare: 'unit', max: MAX_TIMER_MS }) };
}

/** `--id`: a dedup id, checked as the queue checks it, for one task only. */
function dedupId(argv: PutArgs, json: string | undefined): { id?: string } {
  if (argv.id === undefined) return {};
  if (json === undefined) throw new CliError('--id names one task: give the item as a JSON argument, or put an NDJSON file without --id');
  return { id: String(argv.id) };
}

/**
 * Enqueues one JSON item, or every line of an NDJSON file (or stdin with `-`). A file is read and
 * checked whole before anything is enqueued: a bad line refuses it with its line number.
 */
export async function put(argv: PutArgs, ctx: CliContext): Promise<void> {
  const { json, file } = sourceOf(argv);
  const opts = putOptions(argv, ctx);
  const id = dedupId(argv, json);
  const items = json !== undefined ? [parseJson(json, 'the item')] : await readNdjson(file!);
  const producer = new Producer({ queue: argv.queue, connection: connectionOf(argv), prefix: argv.prefix });
  try {
    if (json !== undefined) {
      const ref = await producer.enqueue(argv.name, items[0], { ...opts, ...id });
      ctx.out(ref.id);
      return;
    }
    const t0 = performance.now();
    const progress = new ProgressLine(ctx, 'enqueued');
    await producer.enqueueMany(
      items.map((data) => ({ name: argv.name, data, opts })),
      { onProgress: (n, total) => progress.update(n, total) },
    );
    progress.done();
    const s = (performance.now() - t0) / 1000;
    ctx.out(`enqueued ${items.length} task${items.length === 1 ? '' : 's'} into ${printable(argv.queue)} in ${s.toFixed(1)} s (${Math.round(items.length / Math.max(s, 0.001))}/s)`);
  } finally {
    await producer.close();
  }
}

/**
 * Where the items come from: one JSON argument, or a file (`-` for stdin). Two sources at once
 * (`put q - --file x`, `put q 1 --file x`) and an empty item (`put q ''`) are mistakes, not a
 * silent choice; `put q -` reaches here as `--file=-` (see {@link stdinDashes}).
 */
function sourceOf(argv: PutArgs): { json?: string; file?: string } {
  const files = [argv.file ?? []].flat();
  // yargs may hand over a boolean for a flag-like argument, whatever its declared type.
  const json: unknown = argv.json;
  const usage = 'give the item as JSON, or - or --file <x.ndjson> for many, e.g. asyncq put emails \'{"to":"a@b.c"}\'';
  if (files.length + (json === undefined ? 0 : 1) > 1) {
    throw new CliError(`asyncq put takes its items one way, got ${[...(json === undefined ? [] : ['a JSON argument']), ...files.map((f) => (f === '-' ? '- (stdin)' : `--file ${quoted(f)}`))].join(' and ')}: ${usage}`);
  }
  if (json === '' || json === true) throw new CliError(`the item is empty: ${usage}`);
  if (files[0] === '') throw new CliError(`--file needs a file name, or - for stdin: ${usage}`);
  if (json === undefined && files.length === 0) throw new CliError(usage);
  return json === undefined ? { file: files[0]! } : { json: String(json) };
}

/**
 * yargs reads a lone `-` as an empty string, the same as an empty argument. Before it parses,
 * `asyncq put q -` and `--file -` / `-f -` become `--file=-`, so `put q ''` stays an empty item
 * (a mistake) and `put q - --file x` stays two sources (a conflict). Other commands are unchanged.
 */
export function stdinDashes(args: readonly string[]): string[] {
  const command = commandOf(args);
  if (command?.name !== 'put') return [...args];
  const out: string[] = [];
  for (let i = 0; i < args.length; i++) {
    const a = args[i]!;
    if (a === '--') {
      out.push(...args.slice(i));
      break;
    }
    if ((a === '--file' || a === '-f') && args[i + 1] === '-') {
      out.push('--file=-');
      i++;
    } else out.push(i > command.index + 1 && a === '-' ? '--file=-' : a); // right after `put`, a queue named -
  }
  return out;
}

function parseJson(text: string, what: string): unknown {
  try {
    return JSON.parse(text);
  } catch (e) {
    throw new CliError(`${what} is not JSON (${messageOf(e)}); quote it for the shell, e.g. '{"to":"a@b.c"}'`);
  }
}

async function readNdjson(path: string): Promise<unknown[]> {
  if (path !== '-') {
    const stat = statSync(path, { throwIfNoEntry: false });
    if (!stat) throw new CliError(`file ${path} does not exist; give an NDJSON file (one JSON item per line) or - for stdin`);
    if (stat.isDirectory()) throw new CliError(`file ${path} is a directory; give an NDJSON file (one JSON item per line) or - for stdin`);
  }
  const lines = createInterface({ input: path === '-' ? process.stdin : createReadStream(path), crlfDelay: Infinity });
  const items: unknown[] = [];
  let n = 0;
  for await (const line of lines) {
    n++;
    if (line.trim() === '') continue;
    items.push(parseJson(line, `line ${n} of ${path === '-' ? 'stdin' : path} (nothing was enqueued)`));
  }
  if (items.length === 0) throw new CliError(`${path === '-' ? 'stdin' : path} has no items; nothing was enqueued`);
  return items;
}

export function putCommand(ctx: CliContext) {
  return defineCommand(ctx, {
    command: 'put <queue> [json]',
    describe: 'enqueue a JSON item or an NDJSON file',
    builder: (y: Argv<GlobalOptions>) =>
      withExamples(y
        .positional('queue', { type: 'string', demandOption: true, describe: QUEUE_DESCRIBE })
        .positional('json', { type: 'string', describe: 'the item, as JSON' })
        .option('file', { alias: 'f', type: 'string', describe: 'NDJSON file; - for stdin' })
        .option('name', { alias: 'n', type: 'string', default: 'task', describe: 'task name (picks the handler)' })
        .option('priority', numberOption(`0 to ${MAX_PRIORITY}; lower runs first, after every task put without one (BullMQ's order)`))
        .option('delay', durationOption('wait this long before the task is ready, e.g. 30s'))
        .option('attempts', numberOption('tries before it fails for good'))
        .option('backoff', { type: 'string', requiresArg: true, describe: 'wait before a retry: 5s, fixed:5s or exponential:1s (1s, 2s, 4s...)' })
        .option('id', { type: 'string', requiresArg: true, describe: 'dedup id: while a task with this id exists, the put adds nothing and prints it' })
        .option('group', { type: 'string', requiresArg: true, describe: 'the tasks\' group (a tenant, say): groups are served in turn, each under asyncq limits --per-group-concurrency' })
        , [
        ['$0 put emails \'{"to":"a@b.c"}\'', 'one task'],
        ['$0 put emails --file batch.ndjson', 'many, with a progress bar'],
        ['cat batch.ndjson | $0 put emails -', 'many, from stdin'],
        ['$0 put -q emails 42 --delay 5m', 'ready in 5 minutes'],
        ['$0 put emails 42 --id order-42 --attempts 5 --backoff exponential:1s', 'once, retried'],
        ['$0 put emails 42 --group tenant-42', 'served in turn with the other groups'],
      ])
        .epilogue('A file is read and checked whole before anything is enqueued: a bad line\nrefuses the file, naming the line, with nothing enqueued.'),
    run: put,
  });
}
