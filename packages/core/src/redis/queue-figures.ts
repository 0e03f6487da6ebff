import { corruptionOf } from '../server-errors.js';
import { type AsyncqError } from '../errors.js';
import type { AdminCounts, QueueState, QueueTotals } from './admin-reads.js';
import { isTransient, resolveConnection, toAsyncqError, type RedisClient } from './connection.js';
import type { FoundQueue } from './list-queues.js';
import { partitionTags, queueKeys } from './queue-keys.js';
import { QueueScripts, type FiguresReply } from './scripts.js';
import { delayOf } from './task-records.js';
import { isRegistryEntry, parseDesired } from './worker-registry.js';

/** One queue's figures, as {@link readQueueFigures} reads them for many queues at once. */
export interface QueueFigures {
  name: string;
  /** When they were read, ms since the epoch. */
  at: number;
  /** Counts of each partition (one entry for an unpartitioned queue). */
  partitions: AdminCounts[];
  state: QueueState;
  totals: QueueTotals;
  /** Live workers, by heartbeat. */
  workers: number;
  /** The desired worker count and who set it; absent while none is set. */
  desired?: { count: number; by: 'manual' | 'autoscaler' };
  /** Age in ms of the oldest ready task, 0 when none is ready. */
  oldestWaitingMs: number;
}

/** What {@link readQueueFigures} got for one queue: its figures, that it does not exist, or why it could not be read. */
export type QueueFiguresRead =
  | { name: string; figures: QueueFigures }
  | { name: string; missing: true }
  | { name: string; error: AsyncqError | Error };

const TOTALS = ['added', 'completed', 'failed', 'retried', 'reclaimed', 'discarded', 'cancelled'] as const;

/**
 * The figures of many queues (what `QueueAdmin`'s `partitionCounts`, `state`, `totals` and
 * `oldestWaitingAge` and `WorkerRegistry`'s `list` and `desiredState` give, the same numbers),
 * read with one command per queue (one more per partition of a partitioned queue), all sent at
 * once: no round trip waits for another, so a thousand queues cost about what one does. Only reads.
 *
 * A queue whose data cannot be read (a key of the wrong type) is reported as an error of its own;
 * a Redis that cannot be reached rejects the whole call. The caller bounds how many queues it
 * asks for at a time.
 */
export async function readQueueFigures(client: RedisClient, prefix: string, queues: readonly FoundQueue[]): Promise<QueueFiguresRead[]> {
  const target = resolveConnection(client);
  const read = (q: FoundQueue): Promise<QueueFiguresRead> => readOne(new QueueScripts(client, target, q.name), prefix, q);
  // The first alone: a connection that has not run the script yet gets it loaded once, rather than
  // a thousand calls at once each answered NOSCRIPT and sent again with the whole script.
  const first = await Promise.allSettled(queues.slice(0, 1).map(read));
  const settled = [...first, ...(await Promise.allSettled(queues.slice(1).map(read)))];
  return settled.map((s, i) => {
    if (s.status === 'fulfilled') return s.value;
    const e = s.reason as unknown;
    if (isTransient(e)) throw e;
    const name = queues[i]!.name;
    return { name, error: corruptionOf(name, e) ?? toAsyncqError(e, target) ?? (e instanceof Error ? e : new Error(String(e))) };
  });
}

async function readOne(scripts: QueueScripts, prefix: string, q: FoundQueue): Promise<QueueFiguresRead> {
  const tags = partitionTags(q.name, q.partitions);
  // The worker registry lives under the plain name's tag: read with partition 0 when that is the
  // plain name, else with one more call there (whose queue keys are empty for a partitioned queue).
  if (tags[0] !== q.name) tags.push(q.name);
  const replies = await Promise.all(tags.map((tag) => scripts.figures(queueKeys(prefix, tag))));
  const at = Date.now();
  const registry = replies.length > q.partitions ? replies.pop()! : replies[0]!;
  const read = replies.map((r) => partitionOf(r, at));
  if (!read.some((p) => p.exists)) return { name: q.name, missing: true };
  const { desired, workers } = registryOf(registry);
  const totals = { added: 0, completed: 0, failed: 0, retried: 0, reclaimed: 0, discarded: 0, cancelled: 0 };
  for (const p of read) for (const f of TOTALS) totals[f] += p.totals[f];
  return {
    name: q.name,
    figures: {
      name: q.name,
      at,
      partitions: read.map((p) => p.counts),
      state: {
        shutdown: read.find((p) => p.shutdown)?.shutdown ?? '',
        paused: read.some((p) => p.paused),
        partitions: read.length,
        maxsize: read.reduce((a, p) => a + p.maxsize, 0),
        putsWaiting: read.some((p) => p.room),
        joinersWaiting: read.some((p) => p.join),
      },
      totals,
      workers,
      ...(desired ? { desired } : {}),
      oldestWaitingMs: Math.max(0, ...read.map((p) => p.oldestWaitingMs)),
    },
  };
}

/** Where the parts of a `figures-18.lua` reply start. */
const DESIRED = 23;
const WORKERS = 24;

/** One partition's figures, in the shapes `QueueAdmin`'s reads give. */
interface PartitionFigures {
  exists: boolean;
  counts: AdminCounts;
  paused: boolean;
  shutdown: string;
  maxsize: number;
  room: boolean;
  join: boolean;
  totals: QueueTotals;
  oldestWaitingMs: number;
}

function partitionOf(r: FiguresReply, now: number): PartitionFigures {
  const n = (i: number): number => Number(r[i]) || 0;
  const [wait, paused, prioritized, delayed, active, waitingChildren, stalled] = [n(1), n(2), n(3), n(4), n(5), n(6), n(7)];
  const counts: AdminCounts = {
    waiting: wait + paused + prioritized,
    delayed,
    active,
    completed: n(8),
    failed: n(9),
    cancelled: n(10),
    unfinished: wait + paused + prioritized + delayed + active + waitingChildren + stalled,
    paused,
    stalled,
    blocked: waitingChildren,
  };
  const totals = Object.fromEntries(TOTALS.map((f, i) => [f, n(16 + i)])) as unknown as QueueTotals;
  let oldestWaitingMs = 0;
  for (let i = WORKERS + 1 + n(WORKERS); i + 1 < r.length; i += 2) {
    const readyAt = (r[i] === '' ? NaN : Number(r[i])) + delayOf(String(r[i + 1]) || '{}');
    if (Number.isFinite(readyAt)) oldestWaitingMs = Math.max(oldestWaitingMs, now - readyAt);
  }
  return { exists: n(0) === 1, counts, paused: n(11) === 1, shutdown: String(r[12] ?? ''), maxsize: n(13), room: n(14) === 1, join: n(15) === 1, totals, oldestWaitingMs };
}

/** The registry part of a reply: the desired count, and the live workers whose entries are readable. */
function registryOf(r: FiguresReply): { desired?: { count: number; by: 'manual' | 'autoscaler' }; workers: number } {
  const infos = r.slice(WORKERS + 1, WORKERS + 1 + (Number(r[WORKERS]) || 0)).map(String);
  const desired = parseDesired(String(r[DESIRED] ?? '') || null);
  return { ...(desired ? { desired } : {}), workers: infos.filter(isEntryJson).length };
}

function isEntryJson(json: string): boolean {
  try {
    return isRegistryEntry(JSON.parse(json));
  } catch {
    return false;
  }
}
