import { connectWithin, openClient, resolveConnection } from './connection.js';
import type { ConnectionOption } from './types.js';

/**
 * The names of the queues under `prefix` in a Redis (every queue that ever had a task), sorted.
 * Scans keys in batches, so it is safe on a large Redis.
 */
export async function listQueues(connection?: ConnectionOption, prefix = 'asyncq', connectTimeout = 5000): Promise<string[]> {
  const target = resolveConnection(connection);
  const client = target.shared ?? openClient(target, 'command', 'asyncq:list-queues');
  try {
    await connectWithin(client, target, connectTimeout);
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
    if (client !== target.shared) client.disconnect();
  }
}
