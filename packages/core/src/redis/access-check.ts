import { RedisRefused } from '../server-errors.js';
import { toAsyncqError, type RedisTarget } from './connection.js';
import type { QueueKeys } from './queue-keys.js';
import { luaCommands, type QueueScripts } from './scripts.js';

/**
 * What each kind of handle may send, checked by {@link checkAccess} before it changes anything:
 * - `queue`: a Queue handle (put, get, join, shutdown): asyncq's scripts, the partition layout
 *   key, its signals;
 * - `registry`: the worker registry's writes (heartbeats, `asyncq scale`) and its scale signal;
 * - `admin`: QueueAdmin's operations, which also run BullMQ's own scripts (listed here from
 *   BullMQ 6.7's pause, promote, removeJob, cleanJobsInSet, moveJobsToWait and reprocessJob, and
 *   the INFO its connection sends for the Redis version) and delete keys by SCAN;
 * - `reader`: what reads send (counts, tasks, the registry's listing, which reads Redis's clock):
 *   read commands only, so a read-only user can still look.
 */
export type AccessRole = 'queue' | 'registry' | 'admin' | 'reader';

const READS = ['GET', 'EXISTS', 'HGET', 'HGETALL', 'HMGET', 'LLEN', 'LPOS', 'LRANGE', 'SCAN', 'TIME', 'ZCARD', 'ZRANGE', 'ZRANGEBYSCORE', 'ZREVRANGE', 'ZSCORE'];

const SIGNALS = ['PUBLISH', 'SPUBLISH', 'SUBSCRIBE', 'SSUBSCRIBE'];
const BULLMQ = ['DEL', 'EXISTS', 'GET', 'HDEL', 'HGET', 'HGETALL', 'HMGET', 'HSET', 'INCR', 'INFO', 'LINDEX', 'LLEN', 'LPOP', 'LPUSH', 'LRANGE', 'LREM', 'LSET', 'LTRIM', 'RENAME', 'RPUSH', 'SADD', 'SCARD', 'SMEMBERS', 'SREM', 'XADD', 'ZADD', 'ZCARD', 'ZRANGE', 'ZRANGEBYSCORE', 'ZREM', 'ZSCORE'];

const cache = new Map<AccessRole, readonly string[]>();

/** The commands a handle of `role` needs, besides EVALSHA (which the check itself runs). */
export function accessCommands(role: AccessRole): readonly string[] {
  let list = cache.get(role);
  if (!list) {
    if (role === 'reader') return READS;
    const own = role === 'registry' ? [...luaCommands('asyncqRegistry'), 'GET', 'SET', 'DEL', ...SIGNALS] : [...luaCommands(), 'GET', 'SET', ...SIGNALS];
    list = [...new Set(role === 'admin' ? [...own, ...BULLMQ, 'SCAN', 'UNLINK'] : own)];
    cache.set(role, list);
  }
  return list;
}

/**
 * Resolves when the user asyncq connects as may run every command `role` needs on the queue's
 * keys and channel, else throws {@link RedisRefused} naming the first refused command. Run before
 * a handle's first write, so that a missing right is told once, with nothing changed: never
 * halfway through an operation (a purge that drained and then failed, a shutdown flag set whose
 * signal could not be sent).
 */
export async function checkAccess(scripts: QueueScripts, target: RedisTarget, k: QueueKeys, role: AccessRole): Promise<void> {
  let refused: string | undefined;
  try {
    refused = await scripts.checkAccess(k, accessCommands(role));
  } catch (e) {
    throw toAsyncqError(e, target) ?? e;
  }
  if (refused === undefined) return;
  const on = SIGNALS.includes(refused) ? `on channel ${k.channel}` : `on keys ${k.base}*`;
  throw new RedisRefused(
    `Redis at ${target.describe} does not let this user run ${refused} ${on}, which asyncq needs: grant the user the ACL in asyncq's README ("Redis permissions"); nothing was changed`,
  );
}
