import { hostname } from 'node:os';
import type { QueueAdmin } from '@asyncq/core';

/** What a user may do to one task from the dashboard (with `--allow-actions`). */
export type TaskAction = 'retry' | 'remove' | 'promote' | 'cancel';

/** The actions, for routes that check what they were given. */
export const TASK_ACTIONS: readonly TaskAction[] = ['retry', 'remove', 'promote', 'cancel'];

/** Why a request that would change something is refused. */
export const READ_ONLY_MESSAGE = 'read-only dashboard: restart it with --allow-actions to act on queues and tasks';

/** Why a user of the read-only role is refused. */
export const READ_ROLE_MESSAGE = 'read-only user: log in as the admin user (--auth) to act on queues and tasks';

/** The outcome of a {@link runTaskAction}. */
export interface ActionOutcome {
  ok: boolean;
  /** HTTP status to answer with: 200, or 409 when the task is not in a state the action applies to. */
  status: number;
  message: string;
}

const NEEDS: Record<TaskAction, string> = {
  retry: 'a failed or completed task',
  remove: 'a task that is not running',
  promote: 'a delayed task',
  cancel: 'an unfinished task',
};

/**
 * Runs `action` on task `id` through asyncq's own admin operations (the same as `asyncq retry`,
 * `remove`, `promote` and `cancel`), which also wake the consumers waiting on the queue, rather
 * than through BullMQ's job methods alone. A cancel reaches a running task's handler too.
 */
export async function runTaskAction(admin: QueueAdmin, action: TaskAction, id: string): Promise<ActionOutcome> {
  if (action === 'cancel') return cancelTask(admin, id);
  const done = action === 'retry' ? await admin.retry(id) : action === 'remove' ? await admin.remove(id) : await admin.promote(id);
  if (done) return { ok: true, status: 200, message: `${admin.name}: ${action === 'remove' ? 'removed' : action === 'retry' ? 'retrying' : 'promoted'} task ${id}` };
  return { ok: false, status: 409, message: `${admin.name}: cannot ${action} task ${id}: there is no such task, or it is not ${NEEDS[action]}` };
}

async function cancelTask(admin: QueueAdmin, id: string): Promise<ActionOutcome> {
  const status = (await admin.cancel([id], { reason: 'cancelled from the dashboard', by: `asyncq dashboard on ${hostname()}` })).get(id) ?? 'missing';
  if (status.startsWith('cancelled:')) return { ok: true, status: 200, message: `${admin.name}: cancelled task ${id} (it was ${status.slice('cancelled:'.length)})` };
  const why = status === 'missing' ? 'there is no such task' : `it has already ${status === 'finished:cancelled' ? 'been cancelled' : status.slice('finished:'.length)}`;
  return { ok: false, status: 409, message: `${admin.name}: cannot cancel task ${id}: ${why}` };
}

/**
 * The id asyncq gives job `jobId` of partition `partition` (BullMQ ids are per partition): the
 * same rule as core's partitioned queues, where partition i's numbered job n is `i.n`.
 */
export function taskIdOf(jobId: string, partition: number, partitions: number): string {
  return partitions > 1 && /^\d+$/.test(jobId) ? `${partition}.${jobId}` : jobId;
}
