import { connectRedis } from './connection.js';
import type { ConnectionOption } from './types.js';

/**
 * The names of the queues under `prefix` in a Redis (every queue that ever had a task), sorted.
 * Scans keys in batches, so it is safe on a large Redis. A client given as `connection` is used
 * and left open.
 */
export async function listQueues(connection?: ConnectionOption, prefix = 'asyncq', connectTimeout = 5000): Promise<string[]> {
  const client = await connectRedis(connection, { connectTimeout, name: 'asyncq:list-queues' });
  try {
    const names = new Set<string>();
    let cursor = '0';
    do {
      const [next, keys] = await client.scan(cursor, 'MATCH', `${prefix}:{*}:meta`, 'COUNT', 1000);
      cursor = next;
      for (const k of keys) {
        const m = /^[^:]+:\{([^}]+)\}:meta$/.exec(k);
        if (m) names.add(m[1]!);
      }
    } while (cursor !== '0');
    return [...names].sort();
  } finally {
    if (client !== connection) client.disconnect();
  }
}
