import type { ConnectionOption } from '../types.js';
import { connectRedis, type RedisClient } from './connection.js';
import { layoutKey, metaPattern, parseTag, tagOfMetaKey } from './queue-keys.js';

/** A queue found in Redis: its name and how many partitions hold it. */
export interface FoundQueue {
  name: string;
  partitions: number;
}

/**
 * The queues under `prefix` in a Redis (every queue that ever had a task), sorted by name, with
 * their partitions gathered into one logical queue. Scans keys in batches (every master of a
 * cluster), so it is safe on a large Redis, and only reads. A client given as `connection` is used
 * and left open.
 */
export async function discoverQueues(connection?: ConnectionOption, prefix = 'asyncq', connectTimeout = 5000): Promise<FoundQueue[]> {
  const client = await connectRedis(connection, { connectTimeout, name: 'asyncq:list-queues' });
  try {
    const found = new Map<string, number>();
    for (const node of masters(client)) {
      let cursor = '0';
      do {
        const [next, keys] = await node.scan(cursor, 'MATCH', metaPattern(prefix), 'COUNT', 1000);
        cursor = next;
        for (const key of keys) {
          const tag = tagOfMetaKey(prefix, key);
          if (tag === undefined) continue;
          const { name, partition } = parseTag(tag);
          found.set(name, Math.max(found.get(name) ?? 0, partition + 1));
        }
      } while (cursor !== '0');
    }
    // A partitioned queue records its partition count: partitions that never had a task have no meta.
    for (const [name, seen] of found) {
      const recorded = Number(await client.get(layoutKey(prefix, name)));
      if (Number.isInteger(recorded) && recorded > seen) found.set(name, recorded);
    }
    return [...found].map(([name, partitions]) => ({ name, partitions })).sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0));
  } finally {
    if (client !== connection) client.disconnect();
  }
}

/** The names of the queues under `prefix`, sorted: see {@link discoverQueues}. */
export async function listQueues(connection?: ConnectionOption, prefix = 'asyncq', connectTimeout = 5000): Promise<string[]> {
  return (await discoverQueues(connection, prefix, connectTimeout)).map((q) => q.name);
}

/** The servers to scan: every master of a cluster, else the one server. */
export function masters(client: RedisClient): RedisClient[] {
  const c = client as { isCluster?: boolean; nodes?: (role: 'master') => RedisClient[] };
  return c.isCluster && c.nodes ? c.nodes('master') : [client];
}
