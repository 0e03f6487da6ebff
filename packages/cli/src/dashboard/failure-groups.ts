import type { TaskSummary } from '@asyncq/core';
import type { QueueReader } from '../queues/queue-reader.js';
import type { ActionOutcome } from './task-actions.js';

/** Failed tasks of one queue sharing one normalised error message. */
export interface FailureGroup {
  /** The normalised message: numbers as `<n>`, ids (UUIDs, long hex, ids with digits) as `<id>`. It names the group. */
  key: string;
  queue: string;
  /** Failed tasks in the group (among the newest read, see {@link MAX_FAILED_READ}). */
  count: number;
  /** When the earliest and latest of them failed, ms since the epoch (their put time when Redis has no finish time). */
  firstSeen: number;
  lastSeen: number;
  /** One message as it was, and up to five task ids, newest first. */
  example: string;
  taskIds: string[];
}

/** The whole of `GET /api/failures`. */
export interface FailureReport {
  groups: FailureGroup[];
  /** Failed tasks read, and whether some queue had more than {@link MAX_FAILED_READ} (the groups then cover the newest only). */
  read: number;
  truncated: boolean;
}

/** The newest failed tasks read per queue: grouping reads each one, so the view stays quick with millions failed. */
export const MAX_FAILED_READ = 1000;

/**
 * An error message with what varies between occurrences taken out, so "timeout after 3012 ms on
 * job 7f3a..." and "timeout after 2990 ms on job 81bc..." fall in one group: UUIDs, hex runs of 8
 * or more, words mixing letters and digits (ids), then numbers. Only the first line counts (a
 * message may carry a stack or a dump), cut at 200 characters.
 */
export function normaliseError(message: string): string {
  const first = (message.split('\n')[0] ?? '').trim().slice(0, 200);
  return (
    first
      .replace(/\b[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}\b/gi, '<id>')
      .replace(/\b(0x)?[0-9a-f]{8,}\b/gi, '<id>')
      .replace(/\b(?=[A-Za-z_-]*\d)(?=\d*[A-Za-z_-])[A-Za-z0-9_-]{6,}\b/g, '<id>')
      .replace(/\d+(\.\d+)?/g, '<n>')
      .replace(/(?<![\w>])-<n>/g, '<n>') || '(no message)'
  );
}

/** Groups the failed tasks of each queue by {@link normaliseError}, biggest group first. */
export function groupFailures(byQueue: ReadonlyMap<string, readonly TaskSummary[]>): FailureGroup[] {
  const groups = new Map<string, FailureGroup>();
  for (const [queue, tasks] of byQueue) {
    for (const t of tasks) {
      const message = t.error ?? '';
      const key = normaliseError(message);
      const at = t.finishedAt ?? t.timestamp;
      const id = `${queue}\u0000${key}`;
      const g = groups.get(id);
      if (!g) {
        groups.set(id, { key, queue, count: 1, firstSeen: at, lastSeen: at, example: message.split('\n')[0]!.slice(0, 500), taskIds: [t.id] });
        continue;
      }
      g.count++;
      g.firstSeen = Math.min(g.firstSeen, at);
      if (at > g.lastSeen) {
        g.lastSeen = at;
        g.example = message.split('\n')[0]!.slice(0, 500);
      }
      if (g.taskIds.length < 5) g.taskIds.push(t.id);
    }
  }
  return [...groups.values()].sort((a, b) => b.count - a.count || b.lastSeen - a.lastSeen || a.queue.localeCompare(b.queue));
}

/** The newest failed tasks of a queue, at most {@link MAX_FAILED_READ}. */
export async function readFailed(q: QueueReader): Promise<{ tasks: TaskSummary[]; truncated: boolean }> {
  const tasks = await q.admin.tasks('failed', 0, MAX_FAILED_READ);
  return { tasks: tasks.slice(0, MAX_FAILED_READ), truncated: tasks.length > MAX_FAILED_READ };
}

/** Reads and groups the failures of `readers` (one queue, or every queue). */
export async function failureReport(readers: readonly QueueReader[]): Promise<FailureReport> {
  const reads = await Promise.all(readers.map(async (q) => [q.name, await readFailed(q)] as const));
  return {
    groups: groupFailures(new Map(reads.map(([name, r]) => [name, r.tasks]))),
    read: reads.reduce((a, [, r]) => a + r.tasks.length, 0),
    truncated: reads.some(([, r]) => r.truncated),
  };
}

/**
 * Retries or removes every failed task of queue `q` in the group `key` (as grouped now, among the
 * newest {@link MAX_FAILED_READ}), each through asyncq's admin as `asyncq retry` and `remove` do.
 */
export async function actOnGroup(q: QueueReader, key: string, action: 'retry' | 'remove'): Promise<ActionOutcome> {
  const { tasks } = await readFailed(q);
  const ids = tasks.filter((t) => normaliseError(t.error ?? '') === key).map((t) => t.id);
  if (ids.length === 0) return { ok: false, status: 409, message: `${q.name}: no failed task has the error ${JSON.stringify(key)} any more` };
  let done = 0;
  for (const id of ids) if (action === 'retry' ? await q.admin.retry(id) : await q.admin.remove(id)) done++;
  const verb = action === 'retry' ? 'retrying' : 'removed';
  return { ok: true, status: 200, message: `${q.name}: ${verb} ${done.toLocaleString('en-US')} failed task${done === 1 ? '' : 's'} with the error ${JSON.stringify(key)}` };
}
