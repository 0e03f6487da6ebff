import { AsyncqError } from './errors.js';
import { shellQuote } from './shell-quote.js';

// What Redis did to a call: unreachable, refused, full, misconfigured, an error reply, the queue's
// data lost or damaged; and no redis-server to start. Their codes are in errors.ts's AsyncqErrorCode.

/** Redis could not be reached within the connect timeout. The message names host and port, never a password. */
export class RedisUnreachable extends AsyncqError {
  declare readonly code: 'REDIS_UNREACHABLE';

  constructor(target: string, detail: string, cause?: unknown);
  /** A running worker lost Redis and retries; `reason` says how its calls failed. */
  constructor(lost: { reason: string }, cause?: unknown);
  constructor(what: string | { reason: string }, detailOrCause?: unknown, cause?: unknown) {
    super(
      'REDIS_UNREACHABLE',
      typeof what === 'string'
        ? `cannot reach Redis at ${what} (${String(detailOrCause)}); start Redis there or point REDIS_URL / the connection option at a running one`
        : `Redis unreachable: ${what.reason}`,
      { cause: typeof what === 'string' ? cause : detailOrCause },
    );
  }
}

/**
 * Redis answered a queue's call with an error asyncq has no better name for (the message is
 * Redis's own, after the queue's name): consumers waiting in `get()` are rejected with it.
 */
export class RedisError extends AsyncqError {
  declare readonly code: 'REDIS_ERROR';

  constructor(queue: string, cause: unknown) {
    super('REDIS_ERROR', `queue "${queue}": ${String((cause as Error)?.message ?? cause)}`, { cause });
  }
}

/** `startEmbeddedRedis` found no `redis-server` binary to start. */
export class NoRedisServer extends AsyncqError {
  declare readonly code: 'NO_REDIS_SERVER';

  constructor(binary: string, cause?: unknown) {
    super('NO_REDIS_SERVER', `${binary} is not installed: install Redis (apt-get install redis-server, brew install redis) or set REDIS_URL to a running Redis`, { cause });
  }
}


/**
 * Redis answered but refused: a wrong password or user, a database number it does not have, or
 * an ACL that forbids a command asyncq needs. Retrying will not help; the message says what to fix.
 */
export class RedisRefused extends AsyncqError {
  declare readonly code: 'REDIS_REFUSED';

  constructor(message: string, cause?: unknown) {
    super('REDIS_REFUSED', message, { cause });
  }
}

/** What a {@link QueueDataLost} knows of the loss. */
export interface DataLoss {
  /** The partition that lost tasks (0 on an unpartitioned queue). */
  partition?: number;
  /** How many tasks are missing, when known. */
  missing?: number;
  /** How many tasks were unfinished when the whole queue's data went (its epoch changed). */
  unfinished?: number;
}

/**
 * Redis is out of memory (`maxmemory` reached with `maxmemory-policy noeviction`) and refused to
 * store more: a put, usually. Consumers keep draining the queue (their calls are never refused for
 * memory), so the put can be retried once they have made room.
 */
export class RedisOutOfMemory extends AsyncqError {
  declare readonly code: 'REDIS_OOM';

  constructor(target: string, cause?: unknown) {
    super(
      'REDIS_OOM',
      `Redis at ${target} is out of memory (maxmemory reached) and refused to store more: retry once workers have drained some tasks, or raise Redis's maxmemory`,
      { cause },
    );
  }
}

/**
 * Redis is set up in a way that can lose tasks: a `maxmemory-policy` other than `noeviction` lets
 * it evict a queue's keys. Raised instead of a warning when the `strictRedis` option (CLI
 * `--strict-redis`) asks for it.
 */
export class RedisMisconfigured extends AsyncqError {
  declare readonly code: 'REDIS_MISCONFIGURED';

  constructor(message: string) {
    super('REDIS_MISCONFIGURED', message);
  }
}

/**
 * Redis lost tasks of the queue while this handle used it: the queue's whole data (Redis restarted
 * without persistence, or the queue was deleted), or some of its tasks (a failover to a replica
 * that had not caught up, an eviction, a key deleted by hand). They may not have run, so `join`
 * reports it instead of resolving as if they had finished.
 */
export class QueueDataLost extends AsyncqError {
  declare readonly code: 'QUEUE_DATA_LOST';

  /** The partition that lost tasks (0 on an unpartitioned queue); undefined when the whole queue went. */
  readonly partition: number | undefined;
  /** How many tasks are missing, when known. */
  readonly missing: number | undefined;

  constructor(queue: string, loss: DataLoss) {
    super('QUEUE_DATA_LOST', dataLossMessage(queue, loss));
    this.partition = loss.partition;
    this.missing = loss.missing ?? loss.unfinished;
  }
}

function dataLossMessage(queue: string, loss: DataLoss): string {
  const tasks = (n: number): string => `${n} task${n === 1 ? '' : 's'}`;
  if (loss.unfinished !== undefined) {
    const n = loss.unfinished;
    const where = loss.partition === undefined ? '' : ` in partition ${loss.partition}`;
    return `queue "${queue}" lost its data in Redis${where} (restarted without persistence, evicted, or deleted) while ${tasks(n)} ${n === 1 ? 'was' : 'were'} unfinished; they may not have run: put them again if they must`;
  }
  const what = loss.missing === undefined ? 'tasks' : tasks(loss.missing);
  return `queue "${queue}" lost ${what} in partition ${loss.partition} (Redis failed over to a replica that had not caught up, evicted keys, or keys were deleted by hand); they may not have run: put them again if they must, and run Redis with maxmemory-policy noeviction`;
}

/**
 * A key of the queue holds a value of the wrong type (something other than asyncq or BullMQ wrote
 * it): the queue's data in Redis is damaged. Retrying will not help; the message says what to do.
 */
export class QueueCorrupt extends AsyncqError {
  declare readonly code: 'QUEUE_CORRUPT';

  constructor(queue: string, cause?: unknown) {
    super(
      'QUEUE_CORRUPT',
      `queue "${queue}" has a key in Redis holding the wrong type of value (WRONGTYPE), so its data is damaged: repair that key, or delete the queue (asyncq delete ${shellQuote(queue)} --force)`,
      { cause },
    );
  }
}

/** `e` as a {@link QueueCorrupt} of `queue` when Redis answered WRONGTYPE, else undefined. */
export function corruptionOf(queue: string, e: unknown): QueueCorrupt | undefined {
  return /WRONGTYPE/.test(String((e as Error)?.message)) ? new QueueCorrupt(queue, e) : undefined;
}
