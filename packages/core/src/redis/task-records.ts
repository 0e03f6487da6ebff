import type { RedisClient } from './connection.js';
import { publicId } from './partitions.js';
import type { QueueKeys } from './queue-keys.js';
import type { TaskState, TaskSummary } from '../types.js';
import type { AdminCounts } from './admin-reads.js';

/** The ids of a queue's tasks in `state`, in the order an operator reads them. */
export async function idsIn(client: RedisClient, k: QueueKeys, state: TaskState, start: number, end: number): Promise<string[]> {
  switch (state) {
    case 'waiting':
      return [...(await client.lrange(k.wait, 0, -1)).reverse(), ...(await client.zrange(k.prioritized, 0, -1)), ...(await client.lrange(k.paused, 0, -1)).reverse()].slice(start, end + 1);
    case 'active':
      return (await client.lrange(k.active, start, end)).reverse();
    case 'delayed':
      return client.zrange(k.delayed, start, end);
    case 'completed':
      return client.zrevrange(k.completed, start, end);
    case 'failed':
      return client.zrevrange(k.failed, start, end);
  }
}

export async function stateOf(client: RedisClient, k: QueueKeys, id: string): Promise<TaskState> {
  if ((await client.zscore(k.completed, id)) !== null) return 'completed';
  if ((await client.zscore(k.failed, id)) !== null) return 'failed';
  if ((await client.zscore(k.delayed, id)) !== null) return 'delayed';
  if ((await client.lpos(k.active, id)) !== null) return 'active';
  return 'waiting';
}

export async function readTask(client: RedisClient, k: QueueKeys, id: string, state: TaskState, partition: number, partitions: number): Promise<TaskSummary | undefined> {
  const h = await client.hgetall(k.job(id));
  if (!h.name && !h.data) return undefined;
  return toSummary(publicId(partition, id, partitions), h, state, partition, partitions);
}

export function toSummary(id: string, h: Record<string, string>, state: TaskState, partition: number, partitions: number): TaskSummary {
  return {
    id,
    name: h.name ?? 'task',
    data: parse(h.data ?? 'null', h.data),
    state,
    attemptsMade: Number(h.atm ?? h.attemptsMade ?? 0) || 0,
    timestamp: Number(h.timestamp) || 0,
    ...(h.failedReason ? { error: h.failedReason } : {}),
    ...(state === 'completed' && h.returnvalue !== undefined ? { result: parse(h.returnvalue, h.returnvalue) } : {}),
    ...(state === 'active' && h.pb ? { holder: h.pb } : {}),
    ...(partitions > 1 ? { partition } : {}),
  };
}

export function sumCounts(rows: AdminCounts[]): AdminCounts {
  const t: AdminCounts = { waiting: 0, delayed: 0, active: 0, completed: 0, failed: 0, unfinished: 0, paused: 0, stalled: 0 };
  for (const r of rows) for (const f of Object.keys(t) as (keyof AdminCounts)[]) t[f] += r[f];
  return t;
}

export function delayOf(opts: string | null | undefined): number {
  const d = Number(parse<{ delay?: number }>(opts ?? '{}', {}).delay ?? 0);
  return Number.isFinite(d) ? d : 0;
}

export function parse<V>(json: string, fallback: V): V {
  try {
    return JSON.parse(json) as V;
  } catch {
    return fallback;
  }
}
