import { locate } from './partitions.js';
import type { RedisSession } from './redis-session.js';
import type { CancelStatus } from './scripts.js';

/** Most ids one cancel call takes: each may search a list, so calls stay short. */
const BATCH = 100;

/** What cancelling some tasks did: each task's status, and how many parts of flows went with them. */
export interface CancelReport {
  statuses: Map<string, CancelStatus>;
  parts: number;
}

/**
 * Cancels tasks by id (`cancel-12.lua`), partition by partition, in short calls: each task is
 * cancelled, or found finished, or missing. The one path for `TaskRef.cancel`, `Queue.cancel`,
 * `QueueAdmin.cancel` (and so `asyncq cancel` and the dashboard).
 */
export async function cancelTasks(s: RedisSession, ids: readonly string[], reason: string, by: string): Promise<CancelReport> {
  const k = s.config.partitions.length;
  const byPartition = new Map<number, { id: string; jobId: string }[]>();
  for (const id of new Set(ids)) {
    const { partition, jobId } = locate(id, k);
    const list = byPartition.get(partition) ?? [];
    list.push({ id, jobId });
    byPartition.set(partition, list);
  }
  const statuses = new Map<string, CancelStatus>();
  let parts = 0;
  for (const [p, list] of byPartition) {
    for (let i = 0; i < list.length; i += BATCH) {
      const batch = list.slice(i, i + BATCH);
      const r = await s.request(p, 'x', (req) =>
        s.scripts.cancel(s.config.partitions[p]!, req, { reason, by, keep: Math.max(1, s.config.keepFailed), jobIds: batch.map((x) => x.jobId) }),
      );
      batch.forEach((x, j) => statuses.set(x.id, r.statuses[j] ?? 'missing'));
      parts += r.parts;
    }
  }
  return { statuses, parts };
}
