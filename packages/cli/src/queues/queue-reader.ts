import { AsyncqError, QueueAdmin, WorkerRegistry } from '@asyncq/core';
import { checkQueueName, connectRedis, listQueues, type RedisClient } from '@asyncq/core/internal';
import { CliError } from '../cli-error.js';
import { connectionOf, type ConnectionFlags } from '../grammar/connection-flags.js';
import { printable, quoted } from '../terminal-text.js';

/**
 * What read-only commands open on a queue: its admin reads and its worker registry, on one shared
 * connection, with no subscriber and no consumer.
 */
export interface QueueReader {
  readonly name: string;
  /** The connection its reads share (the caller's to close), and the key prefix. */
  readonly client: RedisClient;
  readonly prefix: string;
  readonly admin: QueueAdmin;
  readonly registry: WorkerRegistry;
  close(): Promise<void>;
}

/** Opens the reads of queue `name` on `client` (which stays the caller's to close). */
export function openReader(name: string, client: RedisClient, prefix: string): QueueReader {
  const admin = new QueueAdmin(name, { connection: client, prefix });
  const registry = new WorkerRegistry(name, { connection: client, prefix });
  return { name, client, prefix, admin, registry, close: async () => void (await Promise.all([admin.close(), registry.close()])) };
}

/** What read-only commands add to "no queue named ...". */
export const ALLOW_MISSING_HINT = '; --allow-missing treats a missing queue as empty';

/** The `--allow-missing` option of read-only commands. */
export const allowMissingOption = { type: 'boolean', describe: 'no such queue: empty, not an error' } as const;

/**
 * True when the queue exists: it has had a task, or a worker, fleet or desired count is
 * registered for it (a worker may wait on a queue nobody has put into yet). Only reads.
 */
export async function queueExists(q: QueueReader): Promise<boolean> {
  if (await q.admin.exists()) return true;
  const [workers, fleets, desired] = await Promise.all([q.registry.list(), q.registry.listFleets(), q.registry.desired()]);
  return workers.length > 0 || fleets.length > 0 || desired !== undefined;
}

/**
 * The error for a queue that does not exist: its name and the queues that do (the first eight),
 * so a typo or a wrong `--prefix` shows at once. `hint` follows, e.g. what --allow-missing does.
 */
export async function missingQueue(client: RedisClient, prefix: string, names: readonly string[], hint = ''): Promise<CliError> {
  const known = (await listQueues(client, prefix)).map((q) => printable(q));
  const some =
    known.length === 0
      ? `none under prefix "${printable(prefix)}"`
      : known.length > 8
        ? `${known.slice(0, 8).join(', ')} and ${known.length - 8} more: asyncq stats lists them`
        : known.join(', ');
  return new CliError(`no queue named ${names.map((n) => quoted(n)).join(', ')} (known: ${some})${hint}`);
}

/** A connected reader of one queue for a command, with the command's one connection. */
export interface OpenQueue extends QueueReader {
  /** False only when the command allowed a missing queue and it is missing. */
  readonly exists: boolean;
}

/**
 * Connects once and opens queue `name`; a queue that does not exist is a {@link CliError} listing
 * the known ones, unless `allowMissing` (then `exists` is false). Nothing here writes to Redis.
 */
export async function openQueue(argv: ConnectionFlags, name: string, opts: { allowMissing?: boolean; hint?: string } = {}): Promise<OpenQueue> {
  checkQueueName(name);
  const client = await connectRedis(connectionOf(argv), { name: `asyncq:cli:${name}` });
  const reader = openReader(name, client, argv.prefix);
  const close = async (): Promise<void> => {
    await reader.close();
    client.disconnect();
  };
  try {
    const exists = await queueExists(reader);
    if (!exists && !opts.allowMissing) throw await missingQueue(client, argv.prefix, [name], opts.hint);
    return { ...reader, client, exists, close };
  } catch (e) {
    await close();
    throw e;
  }
}

/** Runs `fn` on queue `name` opened by {@link openQueue}, and closes it whatever happens. */
export async function withQueue<R>(argv: ConnectionFlags, name: string, fn: (q: OpenQueue) => Promise<R>, opts: { allowMissing?: boolean; hint?: string } = {}): Promise<R> {
  const q = await openQueue(argv, name, opts);
  try {
    return await fn(q);
  } finally {
    await q.close();
  }
}

/** Task `id` of the open queue, or a {@link CliError} saying it has no such task. */
export async function taskOrFail(q: OpenQueue, id: string): Promise<{ state: string }> {
  const task = await q.admin.task(id);
  if (!task) throw new CliError(noSuchTask(q.name, id));
  return task;
}

/** "queue x has no task y": the one wording of a task id that is not there. */
export function noSuchTask(queue: string, id: string): string {
  return `queue ${JSON.stringify(printable(queue))} has no task ${JSON.stringify(printable(id))} (never put, or finished and no longer kept)`;
}

/** Runs `fn` on the queue's admin on a connection of its own, closed afterwards: for commands that may create a queue's state. */
export async function withAdmin<R>(argv: ConnectionFlags & { queue: string }, fn: (q: QueueAdmin) => Promise<R>): Promise<R> {
  const q = new QueueAdmin(argv.queue, { connection: connectionOf(argv), prefix: argv.prefix });
  try {
    return await fn(q);
  } finally {
    await q.close();
  }
}

/**
 * Runs the checks a queue handle makes when it first reads (its admin session opens once; later
 * reads reuse it): that the user's ACL allows the reads, and Redis's memory policy (one warning
 * line, or a refusal under --strict-redis). The batched snapshot read makes none of them, so a
 * command that reads only snapshots runs them here first. A queue whose data is damaged is left
 * to the snapshot read, which reports it as that queue's own error.
 */
export async function checkReads(q: QueueReader): Promise<void> {
  try {
    await q.admin.exists();
  } catch (e) {
    if (!(e instanceof AsyncqError && e.code === 'QUEUE_CORRUPT')) throw e;
  }
}
