import type { RedisClient } from './connection.js';
import { publicId } from './partitions.js';
import type { QueueKeys } from './queue-keys.js';
import type { TaskState, TaskSummary } from '../types.js';
import type { AdminCounts } from './admin-reads.js';

/** The ids of a queue's tasks in `state`, in the order an operator reads them. */
export async function idsIn(client: RedisClient, k: QueueKeys, state: TaskState, start: number, end: number): Promise<string[]> {
  switch (state) {
    case 'waiting':
      return [
        ...(await client.lrange(k.wait, 0, -1)).reverse(),
        ...(await client.zrange(k.prioritized, 0, -1)),
        ...(await client.lrange(k.paused, 0, -1)).reverse(),
        ...(await parkedIds(client, k, end + 1)),
      ].slice(start, end + 1);
    case 'active':
      return (await client.lrange(k.active, start, end)).reverse();
    case 'delayed':
      return client.zrange(k.delayed, start, end);
    case 'completed':
      return client.zrevrange(k.completed, start, end);
    case 'failed':
      return client.zrevrange(k.failed, start, end);
    case 'cancelled':
      return client.zrevrange(k.cancelled, start, end);
    case 'blocked':
      return client.zrange(k.waitingChildren, start, end);
  }
}

/** Up to `n` (0: every) task parked in groups (groups-lib.lua), group by group, largest group first. */
async function parkedIds(client: RedisClient, k: QueueKeys, n: number): Promise<string[]> {
  const out: string[] = [];
  for (const g of await client.zrevrange(k.groups, 0, n > 0 ? n - 1 : -1)) {
    if (n > 0 && out.length >= n) break;
    out.push(...(await client.zrange(k.group(g), 0, n > 0 ? n - out.length - 1 : -1)));
  }
  return out;
}

export async function stateOf(client: RedisClient, k: QueueKeys, id: string): Promise<TaskState> {
  if ((await client.zscore(k.completed, id)) !== null) return 'completed';
  if ((await client.zscore(k.failed, id)) !== null) return 'failed';
  if ((await client.zscore(k.cancelled, id)) !== null) return 'cancelled';
  if ((await client.zscore(k.waitingChildren, id)) !== null) return 'blocked';
  if ((await client.zscore(k.delayed, id)) !== null) return 'delayed';
  if ((await client.lpos(k.active, id)) !== null) return 'active';
  return 'waiting';
}

export async function readTask(client: RedisClient, k: QueueKeys, id: string, state: TaskState, partition: number, partitions: number): Promise<TaskSummary | undefined> {
  const h = await client.hgetall(k.job(id));
  if (!h.name && !h.data) return undefined;
  return withPlace(client, k, id, h, toSummary(publicId(partition, id, partitions), h, state, partition, partitions), partitions);
}

/** Adds what the task's hash does not say: what a blocked flow step waits for, when a delayed task is due. */
export async function withPlace(client: RedisClient, k: QueueKeys, id: string, h: Record<string, string>, summary: TaskSummary, partitions: number): Promise<TaskSummary> {
  if (summary.state === 'blocked') summary.waitsFor = await waitsFor(client, k, h, summary.partition ?? 0, partitions);
  if (summary.state === 'delayed') {
    // The delayed set's score is the due time times 0x1000 plus a tie-breaker (delayedScore, queue-lib.lua).
    const score = await client.zscore(k.delayed, id);
    if (score !== null) summary.dueAt = Math.floor(Number(score) / 0x1000);
  }
  return summary;
}

/**
 * What a blocked flow step waits for, in words: a chain step its previous step (and where that
 * is), a chord's callback the group tasks not completed yet.
 */
export async function waitsFor(client: RedisClient, k: QueueKeys, h: Record<string, string>, partition: number, partitions: number): Promise<string> {
  const name = (id: string): string => publicId(partition, id, partitions);
  if (h.pv) {
    const [prevName] = await client.hmget(k.job(h.pv), 'name');
    return `chain: task ${name(h.pv)} (${prevName ?? 'gone'}, ${await stateOf(client, k, h.pv)}) to complete`;
  }
  if (h.group) {
    const group = h.group.split(',');
    const open: string[] = [];
    for (const id of group) if ((await client.hexists(k.job(id), 'finishedOn')) === 0) open.push(name(id));
    const shown = open.slice(0, 10).join(', ') + (open.length > 10 ? `, and ${open.length - 10} more` : '');
    return `chord: ${open.length} of ${group.length} group tasks to complete (${shown})`;
  }
  return 'earlier tasks to finish';
}

export function toSummary(id: string, h: Record<string, string>, state: TaskState, partition: number, partitions: number): TaskSummary {
  return {
    id,
    name: h.name ?? 'task',
    data: parse(h.data ?? 'null', h.data),
    state,
    attemptsMade: Number(h.atm ?? h.attemptsMade ?? 0) || 0,
    timestamp: Number(h.timestamp) || 0,
    ...(Number(h.finishedOn) > 0 ? { finishedAt: Number(h.finishedOn) } : {}),
    // A completed task keeps the hash's failedReason of an earlier attempt: that attempt's, not the task's (runs has it).
    ...(h.failedReason && state !== 'completed' ? { error: h.failedReason } : {}),
    ...(state === 'completed' && h.returnvalue !== undefined ? { result: parse(h.returnvalue, h.returnvalue) } : {}),
    ...(state === 'active' && h.pb ? { holder: h.pb } : {}),
    ...(partitions > 1 ? { partition } : {}),
    ...(h.cancelledOn ? { cancelled: { at: Number(h.cancelledOn), reason: h.cancelReason ?? '', by: h.cancelBy ?? '' } } : {}),
    ...lastRunOf(h, state),
  };
}

/** When the task's last attempt started and how long it ran: from its attempts (runsOf), else from the hash's own times. */
function lastRunOf(h: Record<string, string>, state: TaskState): Pick<TaskSummary, 'lastRun'> {
  const last = runsOf(h, state, []).filter((r) => r.startedAt !== undefined).pop();
  const startedAt = last?.startedAt ?? (Number(h.processedOn) || undefined);
  if (startedAt === undefined) return {};
  const end = last ? last.endedAt : Number(h.finishedOn) || undefined;
  const running = last ? last.outcome === 'running' : state === 'active';
  return { lastRun: { startedAt, ...(end !== undefined && !running ? { durationMs: Math.max(0, end - startedAt) } : {}) } };
}

export function sumCounts(rows: AdminCounts[]): AdminCounts {
  const t: AdminCounts = { waiting: 0, delayed: 0, active: 0, completed: 0, failed: 0, cancelled: 0, unfinished: 0, paused: 0, stalled: 0, blocked: 0 };
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

/** One attempt of a task (`QueueAdmin.task(id).runs`), oldest first. */
export interface TaskRun {
  /** Its number: 1 for the first attempt. */
  attempt: number;
  /** How it ended, or `running`. `lost`: its worker stopped renewing its lease (crashed, killed, cut off). */
  outcome: 'completed' | 'failed' | 'lost' | 'running' | 'cancelled';
  startedAt?: number;
  endedAt?: number;
  durationMs?: number;
  /** The lease it ran under (`<handle>.<n>`): `asyncq workers` and `inspect` name the worker that holds it. */
  holder: string;
  error?: string;
  stack?: string;
  /** The `ctx.log` lines written during this attempt. */
  logs: string[];
}

interface AttemptRecord {
  n: number;
  s?: number;
  e: number;
  w: string;
  m: string;
  k?: string;
  l: number;
}

/**
 * A task's attempts, from its hash: the ended ones recorded in "aq:att" (see `finish-lib.lua`),
 * then the one its own fields describe (completed, running, or cancelled while running), each with
 * the log lines written during it.
 */
export function runsOf(h: Record<string, string>, state: TaskState, logs: readonly string[]): TaskRun[] {
  const records = parse<AttemptRecord[]>(h['aq:att'] ?? '[]', []);
  const runs: TaskRun[] = [];
  let from = 0;
  for (const r of Array.isArray(records) ? records : []) {
    const lost = r.m.startsWith('its worker stopped renewing its lease');
    runs.push({
      attempt: r.n,
      outcome: lost ? 'lost' : 'failed',
      ...(r.s ? { startedAt: r.s, durationMs: r.e - r.s } : {}),
      endedAt: r.e,
      holder: r.w,
      error: r.m,
      ...(r.k ? { stack: r.k } : {}),
      logs: logs.slice(from, r.l),
    });
    from = Math.max(from, r.l);
  }
  const start = Number(h.processedOn) || undefined;
  const end = Number(h.finishedOn) || undefined;
  const last = runs[runs.length - 1];
  const current = state === 'completed' || state === 'active' || (state === 'cancelled' && h.pb !== undefined && start !== undefined);
  if (current && start !== undefined && !(last && last.startedAt === start)) {
    runs.push({
      attempt: Math.max(Number(h.atm) || 0, (last?.attempt ?? 0) + (state === 'active' ? 1 : 0)) || 1,
      outcome: state === 'completed' ? 'completed' : state === 'active' ? 'running' : 'cancelled',
      startedAt: start,
      ...(end !== undefined ? { endedAt: end, durationMs: end - start } : {}),
      holder: h.pb ?? '',
      logs: logs.slice(from),
    });
  }
  return runs;
}
