import type { TaskSummary } from '@asyncq/core';
import type { QueueReader } from '../queues/queue-reader.js';
import { runQueueAction, type QueueAction, type QueueActionParams } from './queue-actions.js';
import { runTaskAction, taskIdOf, type TaskAction } from './task-actions.js';

/** Which asyncq queue (and partition) a BullMQ queue that bull-board shows belongs to. */
export interface BoardPartition {
  reader: QueueReader;
  partition: number;
  partitions: number;
}

/** What to answer bull-board's UI: an HTTP status and a JSON body (none with 204). */
export interface BoardAnswer {
  status: number;
  body?: unknown;
}

/** Why bull-board's other changes are refused, whoever asks. */
export const BOARD_REFUSED_MESSAGE =
  'bull-board here cannot add, duplicate or edit tasks, obliterate a queue, or set BullMQ concurrency, rate limits or job schedulers: ' +
  "they would go around asyncq's join and maxsize bookkeeping. Use asyncq put, delete and limits (or the asyncq page) instead";

/** bull-board's Clean all keeps what finished in its last 5 s (its `cleanAll` handler's grace), and so does this. */
const CLEAN_GRACE_MS = 5000;

/** The most tasks of one partition one click acts on task by task: the newest 10,000 of the state. */
const MAX_TASKS_A_CLICK = 10_000;

const RETRIABLE = ['failed', 'completed'] as const;
const CLEANABLE = ['failed', 'completed', 'delayed'] as const;
type Retriable = (typeof RETRIABLE)[number];
type Cleanable = (typeof CLEANABLE)[number];

/** bull-board's job actions, by the last segment of their route, and what asyncq does for each. */
const JOB_ROUTES: Record<string, TaskAction> = { retry: 'retry', clean: 'remove', promote: 'promote' };

/** bull-board's queue actions that are asyncq's queue actions as they are, whatever the partitions. */
const QUEUE_WIDE: Record<string, QueueAction> = { pause: 'pause', resume: 'resume' };

/**
 * Runs one change bull-board's API asks for (`method` and `path` below its `/api`) through asyncq's
 * admin, or refuses it with 403. `find` names the partition a bull-board queue is; `all` lists every
 * one shown. The routes are bull-board 9.10.1's (`@bull-board/api` dist/routes.js), matched in its
 * order: `/queues/:q/retry/:status` and `/queues/:q/clean/:status` before a job's `/:id/retry`.
 *
 * On a queue of one partition the queue's actions run as the asyncq page's do (`runQueueAction`):
 * Retry all failed, Clean all, Empty (a purge of waiting tasks), Pause and Resume. bull-board shows
 * each partition of a partitioned queue as a queue of its own, so there its Retry all, Promote all,
 * Clean all and Empty act on that partition's tasks one by one (newest 10,000). Pause and Resume
 * act on the whole asyncq queue, which has one pause for all its partitions.
 */
export async function runBoardChange(method: string, path: string, find: (bullName: string) => BoardPartition | undefined, all: () => BoardPartition[]): Promise<BoardAnswer> {
  const seg = path.split('/').slice(1).map(decodeURIComponent);
  if (method !== 'PUT' || seg[0] !== 'queues') return refused();
  if (seg.length === 2 && (seg[1] === 'pause' || seg[1] === 'resume')) {
    const readers = new Set(all().map((t) => t.reader));
    const messages: string[] = [];
    for (const reader of readers) messages.push((await runQueueAction(reader, seg[1], {})).message);
    return { status: 200, body: { message: messages.join('; ') } };
  }
  const target = seg[1] === undefined ? undefined : find(seg[1]);
  if (seg.length === 4 && (seg[2] === 'retry' || seg[2] === 'clean')) {
    if (!target) return notFound();
    if (seg[2] === 'retry') return oneOf(RETRIABLE, seg[3]) ? message(await retryAll(target, seg[3])) : badStatus('ERRORS.STATUS_NOT_RETRIABLE', seg[3]!, RETRIABLE);
    return oneOf(CLEANABLE, seg[3]) ? message(await cleanAll(target, seg[3])) : badStatus('ERRORS.STATUS_NOT_CLEANABLE', seg[3]!, CLEANABLE);
  }
  if (seg.length === 3) {
    const wide = QUEUE_WIDE[seg[2]!];
    if (!wide && seg[2] !== 'promote' && seg[2] !== 'empty') return refused();
    if (!target) return notFound();
    if (wide) return answer(await runQueueAction(target.reader, wide, {}));
    return message(seg[2] === 'promote' ? await promoteAll(target) : await emptyWaiting(target));
  }
  const action = seg.length === 4 ? JOB_ROUTES[seg[3]!] : undefined;
  if (!action) return refused();
  if (!target) return notFound();
  const id = taskIdOf(seg[2]!, target.partition, target.partitions);
  const outcome = await runTaskAction(target.reader.admin, action, id);
  if (outcome.ok) return { status: 204 };
  return { status: outcome.status, body: { error: { key: action === 'remove' ? 'ERRORS.JOB_IS_ACTIVE' : 'ERRORS.JOB_NOT_FOUND' }, message: outcome.message } };
}

/** Retry all: every failed task of the queue at once as `asyncq retry --failed` does, else task by task. */
async function retryAll(t: BoardPartition, state: Retriable): Promise<string> {
  if (state === 'failed' && t.partitions === 1) return (await runQueueAction(t.reader, 'retry-failed', {})).message;
  const n = await eachTask(t, state, (task) => t.reader.admin.retry(task.id));
  return `${where(t)}: retrying ${n} ${state} task${n === 1 ? '' : 's'}`;
}

/** Clean all: what finished (or, delayed, was put) over {@link CLEAN_GRACE_MS} ago, as `asyncq clean` does. */
async function cleanAll(t: BoardPartition, state: Cleanable): Promise<string> {
  const params: QueueActionParams = { state, olderThanMs: CLEAN_GRACE_MS };
  if (t.partitions === 1) return (await runQueueAction(t.reader, 'clean', params)).message;
  const before = Date.now() - CLEAN_GRACE_MS;
  const old = (task: TaskSummary): boolean => (state === 'delayed' ? task.timestamp : (task.finishedAt ?? Infinity)) < before;
  const n = await eachTask(t, state, (task) => (old(task) ? t.reader.admin.remove(task.id) : Promise.resolve(false)));
  return `${where(t)}: removed ${n} ${state} task${n === 1 ? '' : 's'}`;
}

/** Promote all: every delayed task ready now, each through `admin.promote` (which wakes the consumers). */
async function promoteAll(t: BoardPartition): Promise<string> {
  const n = await eachTask(t, 'delayed', (task) => t.reader.admin.promote(task.id));
  return `${where(t)}: promoted ${n} delayed task${n === 1 ? '' : 's'}`;
}

/** Empty: the waiting tasks go, as BullMQ's drain (which bull-board calls) takes them, and as `asyncq purge --state waiting` counts them for join. */
async function emptyWaiting(t: BoardPartition): Promise<string> {
  if (t.partitions === 1) return (await runQueueAction(t.reader, 'purge', { states: ['waiting'] })).message;
  const n = await eachTask(t, 'waiting', (task) => t.reader.admin.remove(task.id));
  return `${where(t)}: removed ${n} waiting task${n === 1 ? '' : 's'}`;
}

/** Runs `act` on each task in `state` of `t`'s partition (the newest {@link MAX_TASKS_A_CLICK} of the queue); resolves to how many it did. */
async function eachTask(t: BoardPartition, state: Retriable | Cleanable | 'waiting', act: (task: TaskSummary) => Promise<boolean>): Promise<number> {
  let n = 0;
  for (const task of await t.reader.admin.tasks(state, 0, MAX_TASKS_A_CLICK - 1)) {
    if (t.partitions > 1 && task.partition !== t.partition) continue;
    if (await act(task)) n++;
  }
  return n;
}

const where = (t: BoardPartition): string => (t.partitions > 1 ? `${t.reader.name} partition ${t.partition}` : t.reader.name);
const oneOf = <S extends string>(list: readonly S[], s: string | undefined): s is S => (list as readonly (string | undefined)[]).includes(s);
const message = (text: string): BoardAnswer => ({ status: 200, body: { message: text } });
const answer = (o: { ok: boolean; status: number; message: string }): BoardAnswer => ({ status: o.status, body: o.ok ? { message: o.message } : { error: o.message } });
const badStatus = (key: string, status: string, takes: readonly string[]): BoardAnswer => ({
  status: 400,
  body: { error: { key, options: { status } }, message: `not a state this takes (${takes.join(', ')}): ${status}` },
});
const notFound = (): BoardAnswer => ({ status: 404, body: { error: { key: 'ERRORS.QUEUE_NOT_FOUND' } } });
const refused = (): BoardAnswer => ({ status: 403, body: { error: { key: 'ERRORS.FORBIDDEN' }, message: BOARD_REFUSED_MESSAGE } });
