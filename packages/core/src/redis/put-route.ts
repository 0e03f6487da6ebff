import { ConfigError } from '../errors.js';
import type { PreparedPut } from '../put-checks.js';
import { partitionOfKey, sharingPartitions } from './partitions.js';
import type { QueueConfig } from './queue-config.js';

/**
 * An item whose key (or dedup id) picks a partition with no share of maxsize could never be
 * admitted: refused at once, in one line, not left waiting forever.
 */
export function checkShare(config: QueueConfig, items: readonly PreparedPut[]): void {
  const k = config.partitions.length;
  const open = sharingPartitions(config.maxsize, k);
  if (open === k) return;
  for (const item of items) {
    const p = routeOf(item, k);
    if (p === undefined || p < open) continue;
    const what = item.opts.key !== undefined ? `key ${JSON.stringify(item.opts.key)}` : item.opts.id !== undefined ? `id ${JSON.stringify(item.opts.id)}` : `group ${JSON.stringify(item.opts.group)}`;
    throw new ConfigError(`${what} maps to partition ${p}, which has no share of maxsize ${config.maxsize} (only the first ${open} of ${k} partitions admit tasks): raise maxsize to at least ${k}, or put it without a key, id or group`);
  }
}

/**
 * The partition an item must go to (by its key, else its dedup id, else its group, so that a
 * group's tasks share a partition and its per-group limit is exact), or undefined for any.
 */
export function routeOf(item: PreparedPut, partitions: number): number | undefined {
  if (partitions === 1) return 0;
  const key = item.opts.key ?? item.opts.id ?? item.opts.group;
  return key === undefined ? undefined : partitionOfKey(key, partitions);
}
