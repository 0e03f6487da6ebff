import type { Redis } from 'ioredis';
import { queueKeys } from '@asyncq/core/internal';

/** Where a task sits, as read straight from the queue's keys (not through asyncq). */
export type Place = 'wait' | 'prioritized' | 'delayed' | 'active' | 'stalled' | 'paused' | 'completed' | 'failed';

/** One stored task: its job id, where it is listed, and the `k` of its data (the chaos fixtures' task key). */
export interface StoredTask {
  id: string;
  place: Place;
  k: string | undefined;
}

/**
 * Every task of queue `name` (one partition, the default prefix) that is listed in one of its
 * lists or sorted sets, with the `k` field of its data, read with plain commands, so a scenario can
 * count what Redis really holds: tasks stored twice, tasks listed nowhere, tasks whose hash is gone.
 */
export async function storedTasks(redis: Redis, name: string, tag = name): Promise<StoredTask[]> {
  const k = queueKeys('asyncq', tag);
  const lists: [Place, string][] = [['wait', k.wait], ['active', k.active], ['stalled', k.stalled], ['paused', k.paused]];
  const zsets: [Place, string][] = [['prioritized', k.prioritized], ['delayed', k.delayed], ['completed', k.completed], ['failed', k.failed]];
  const out: StoredTask[] = [];
  // A key of the wrong type (a task hash written over a list, say) holds no task: skipped, not fatal.
  const read = (p: Promise<string[]>): Promise<string[]> => p.catch(() => []);
  for (const [place, key] of lists) for (const id of await read(redis.lrange(key, 0, -1))) out.push({ id, place, k: undefined });
  for (const [place, key] of zsets) for (const id of await read(redis.zrange(key, 0, -1))) out.push({ id, place, k: undefined });
  const pipe = redis.pipeline();
  for (const t of out) pipe.hget(k.job(t.id), 'data');
  const datas = (await pipe.exec()) ?? [];
  out.forEach((t, i) => {
    const json = datas[i]?.[1];
    if (typeof json === 'string') {
      try {
        t.k = String((JSON.parse(json) as { k?: unknown }).k);
      } catch {
        // not the fixtures' data
      }
    }
  });
  return out;
}

/** How many stored tasks carry each `k`, and the keys stored more than once. */
export function duplicatesByKey(tasks: readonly StoredTask[]): { byKey: Map<string, number>; duplicated: string[] } {
  const byKey = new Map<string, number>();
  for (const t of tasks) if (t.k !== undefined) byKey.set(t.k, (byKey.get(t.k) ?? 0) + 1);
  return { byKey, duplicated: [...byKey].filter(([, n]) => n > 1).map(([key]) => key) };
}
