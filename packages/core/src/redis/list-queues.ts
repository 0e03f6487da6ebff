import type { ConnectionOption } from '../types.js';
import { mastersOf } from './cluster-room.js';
import { connectRedis, resolveConnection, toAsyncqError, type RedisClient } from './connection.js';
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
    return await findQueues(client, prefix);
  } catch (e) {
    throw toAsyncqError(e, resolveConnection(client)) ?? e;
  } finally {
    if (client !== connection) client.disconnect();
  }
}

/**
 * The queues named, with the partition count each records (1 for a queue that records none, as an
 * unpartitioned or missing queue): for tools given queue names rather than discovering them. Reads
 * in batches, never a round trip per queue.
 */
export async function describeQueues(client: RedisClient, prefix: string, names: readonly string[]): Promise<FoundQueue[]> {
  const recorded = await recordedPartitions(client, prefix, names);
  return names.map((name, i) => ({ name, partitions: Math.max(1, recorded[i]!) }));
}

/** The partition count each queue records (0 where none is), read concurrently in batches. */
async function recordedPartitions(client: RedisClient, prefix: string, names: readonly string[]): Promise<number[]> {
  const out: number[] = [];
  for (let i = 0; i < names.length; i += 1000) {
    const values = await Promise.all(names.slice(i, i + 1000).map((name) => client.get(layoutKey(prefix, name))));
    for (const v of values) {
      const n = Number(v);
      out.push(v !== null && Number.isInteger(n) && n > 0 ? n : 0);
    }
  }
  return out;
}


async function findQueues(client: RedisClient, prefix: string): Promise<FoundQueue[]> {
  const found = new Map<string, number>();
  // Only a partitioned queue (tags `name#i`) records its partition count: a queue seen only by its
  // plain name has one, and costs no read here (discovery of 20,000 queues is a few SCANs).
  const partitioned = new Set<string>();
  for (const node of mastersOf(client)) {
    let cursor = '0';
    do {
      const [next, keys] = await node.scan(cursor, 'MATCH', metaPattern(prefix), 'COUNT', 1000);
      cursor = next;
      for (const key of keys) {
        const tag = tagOfMetaKey(prefix, key);
        if (tag === undefined) continue;
        const { name, partition } = parseTag(tag);
        found.set(name, Math.max(found.get(name) ?? 0, partition + 1));
        if (tag !== name) partitioned.add(name);
      }
    } while (cursor !== '0');
  }
  // A partitioned queue records its partition count: partitions that never had a task have no meta.
  const names = [...partitioned];
  const recorded = await recordedPartitions(client, prefix, names);
  names.forEach((name, i) => {
    if (recorded[i]! > found.get(name)!) found.set(name, recorded[i]!);
  });
  return [...found].map(([name, partitions]) => ({ name, partitions })).sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0));
}

/** The names of the queues under `prefix`, sorted: see {@link discoverQueues}. */
export async function listQueues(connection?: ConnectionOption, prefix = 'asyncq', connectTimeout = 5000): Promise<string[]> {
  return (await discoverQueues(connection, prefix, connectTimeout)).map((q) => q.name);
}
