import { RedisMisconfigured } from '../server-errors.js';
import { mastersOf } from './cluster-room.js';
import type { RedisClient, RedisTarget } from './connection.js';

/** Servers already checked by this process, by where they are: each is warned about once. */
const checked = new Set<string>();
let strictByDefault = false;

/**
 * Makes every handle of this process refuse a Redis that may evict keys (as if each had the
 * `strictRedis` option): what the command line's `--strict-redis` does.
 */
export function requireNoEviction(on = true): void {
  strictByDefault = on;
}

/**
 * asyncq needs Redis to keep every key it writes: with any `maxmemory-policy` but `noeviction`, a
 * full Redis evicts keys, and a queue loses tasks, leases or its lists without a word. Read once
 * per process and server (every master of a cluster), from `INFO memory` (which the documented
 * ACL allows; `CONFIG GET` is a dangerous command). Anything else is a warning naming the policy
 * and the fix, or with `strict` a {@link RedisMisconfigured} error.
 */
export async function checkMemoryPolicy(client: RedisClient, target: RedisTarget, strictOption: boolean): Promise<void> {
  const strict = strictOption || strictByDefault;
  if (!strict && checked.has(target.describe)) return;
  const policies = new Set<string>();
  for (const node of mastersOf(client)) {
    let info: string;
    try {
      info = await node.info('memory');
    } catch (e) {
      // A user whose ACL lacks INFO, or a cluster node down mid-failover, cannot tell now: only
      // strictRedis insists on knowing (and then the next handle asks again).
      if (!strict) return;
      throw e;
    }
    const policy = /^maxmemory_policy:(\S+)/m.exec(info)?.[1];
    if (policy) policies.add(policy);
  }
  checked.add(target.describe);
  const bad = [...policies].filter((p) => p !== 'noeviction');
  if (bad.length === 0) return;
  const message =
    `Redis at ${target.describe} has maxmemory-policy ${bad.join(', ')}: when it is full it evicts keys, and queues lose tasks. ` +
    `Set maxmemory-policy noeviction (redis.conf, or CONFIG SET maxmemory-policy noeviction)`;
  if (strict) throw new RedisMisconfigured(`${message}, or drop --strict-redis / strictRedis to run anyway`);
  process.emitWarning(message, { code: 'ASYNCQ_REDIS_EVICTION' });
}
