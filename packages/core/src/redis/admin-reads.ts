import { readHistory, type HistoryPoint } from './history-reads.js';
import { couldBeTaskId } from '../options.js';
import { corruptionOf } from '../server-errors.js';
import type { FailedTask, QueueCounts, TaskState, TaskSummary } from '../types.js';
import { unfinishedOf } from './finish-waits.js';
import { locate } from './partitions.js';
import type { QueueKeys } from './queue-keys.js';
import type { RedisSession } from './redis-session.js';
import { delayOf, idsIn, parse, readTask, runsOf, stateOf, sumCounts, toSummary, withPlace, type TaskRun } from './task-records.js';

/** Counts of one partition, or of the whole queue. */
export interface AdminCounts extends QueueCounts {
  /** In BullMQ's legacy paused list (counted in `waiting` too). */
  paused: number;
  /**
   * Came back from a consumer (lease lost or handed back) while the queue was
   * full; delivered first as soon as maxsize has room. Counted in `unfinished`.
   */
  stalled: number;
  /** Flow steps waiting for earlier ones (a chain's later steps, a chord's callback). Counted in `unfinished`. */
  blocked: number;
}

/** What a queue is doing, beyond its counts. */
export interface QueueState {
  /** "graceful", "immediate", or "" when open. */
  shutdown: string;
  /** Delivery is paused (`pause`); puts still go in. */
  paused: boolean;
  partitions: number;
  /** The maxsize the last bounded put used (0 when none was bounded). */
  maxsize: number;
  /** Some producer waits for room now. */
  putsWaiting: boolean;
  /** Some handle waits in join now. */
  joinersWaiting: boolean;
}

/** Monotonic totals since the queue was created (they survive trimming of kept tasks). */
export type { HistoryPoint } from './history-reads.js';

export interface QueueTotals {
  added: number;
  completed: number;
  failed: number;
  retried: number;
  reclaimed: number;
  discarded: number;
  cancelled: number;
}

/** One task with everything kept about it. */
export interface TaskDetails extends TaskSummary {
  attempts: number;
  progress: unknown;
  processedOn?: number;
  finishedOn?: number;
  stacks: string[];
  logs: string[];
  /** Its attempts, oldest first: when each ran, under which lease, how it ended, its error, stack and log lines. */
  runs: TaskRun[];
}

const STATS = ['added', 'completed', 'failed', 'retried', 'reclaimed', 'discarded', 'cancelled'] as const;

/**
 * The reads of {@link QueueAdmin}: counts, state, totals, tasks, logs, dead letters and timings.
 * None of them writes, so looking at a queue that does not exist leaves no trace. Each method is
 * the QueueAdmin method of the same name, documented there.
 */
export class AdminReads {
  constructor(private readonly session: () => Promise<RedisSession>) {}

  /** A wrong-typed key (damaged data) becomes a QueueCorrupt naming the queue and the fix. */
  private async guard<R>(read: () => Promise<R>): Promise<R> {
    try {
      return await read();
    } catch (e) {
      throw corruptionOf((await this.session()).config.name, e) ?? e;
    }
  }

  private async keys(): Promise<{ s: RedisSession; parts: readonly QueueKeys[] }> {
    const s = await this.session();
    return { s, parts: s.config.partitions };
  }

  async exists(): Promise<boolean> {
    const { s, parts } = await this.keys();
    const found = await Promise.all(parts.map((k) => s.client.exists(k.meta)));
    return found.some((n) => n > 0);
  }

  async partitions(): Promise<number> {
    return (await this.keys()).parts.length;
  }

  async counts(): Promise<AdminCounts> {
    return sumCounts(await this.partitionCounts());
  }

  async partitionCounts(): Promise<AdminCounts[]> {
    return this.guard(async () => {
      const { s, parts } = await this.keys();
      return Promise.all(
        parts.map(async (k) => {
          const [c, completed, failed, cancelled] = await Promise.all([s.scripts.count(k, 0), s.client.zcard(k.completed), s.client.zcard(k.failed), s.client.zcard(k.cancelled)]);
          return {
            waiting: c.wait + c.paused + c.prioritized,
            delayed: c.delayed,
            active: c.active,
            completed,
            failed,
            cancelled,
            unfinished: unfinishedOf(c),
            paused: c.paused,
            stalled: c.stalled,
            blocked: c.waitingChildren,
          };
        }),
      );
    });
  }

  async state(): Promise<QueueState> {
    return this.guard(async () => {
      const { s, parts } = await this.keys();
      const per = await Promise.all(
        parts.map(async (k) => {
          const [state, paused, room, join] = await Promise.all([
            s.client.hmget(k.state, 'shutdown', 'maxsize'),
            s.client.hexists(k.meta, 'paused'),
            s.client.exists(k.wantRoom),
            s.client.exists(k.wantJoin),
          ]);
          return { shutdown: state[0] ?? '', maxsize: Number(state[1] ?? 0), paused: paused === 1, room: room === 1, join: join === 1 };
        }),
      );
      return {
        shutdown: per.find((p) => p.shutdown)?.shutdown ?? '',
        paused: per.some((p) => p.paused),
        partitions: parts.length,
        maxsize: per.reduce((a, p) => a + p.maxsize, 0),
        putsWaiting: per.some((p) => p.room),
        joinersWaiting: per.some((p) => p.join),
      };
    });
  }

  async totals(): Promise<QueueTotals> {
    return this.guard(async () => {
      const { s, parts } = await this.keys();
      const rows = await Promise.all(parts.map((k) => s.client.hmget(k.stats, ...STATS)));
      const t = { added: 0, completed: 0, failed: 0, retried: 0, reclaimed: 0, discarded: 0, cancelled: 0 };
      for (const row of rows) STATS.forEach((f, i) => (t[f] += Number(row[i] ?? 0) || 0));
      return t;
    });
  }

  async oldestWaitingAge(): Promise<number> {
    return this.guard(async () => {
      const { s, parts } = await this.keys();
      const now = Date.now();
      let oldest = 0;
      for (const k of parts) {
        const ids = [await s.client.lindex(k.wait, -1), await s.client.lindex(k.wait, 0), await s.client.lindex(k.paused, -1)];
        const top = await s.client.zrange(k.prioritized, 0, 0);
        for (const id of [...ids, ...top]) {
          if (!id) continue;
          const [ts, opts] = await s.client.hmget(k.job(id), 'timestamp', 'opts');
          const readyAt = Number(ts) + delayOf(opts);
          if (Number.isFinite(readyAt)) oldest = Math.max(oldest, now - readyAt);
        }
      }
      return oldest;
    });
  }

  async tasks(state: TaskState, start = 0, end = 99): Promise<TaskSummary[]> {
    return this.guard(async () => {
      const { s, parts } = await this.keys();
      const want = end - start + 1;
      const out: TaskSummary[] = [];
      for (const [p, k] of parts.entries()) {
        for (const id of await idsIn(s.client, k, state, 0, end)) {
          const t = await readTask(s.client, k, id, state, p, parts.length);
          if (t) out.push(t);
        }
      }
      return out.slice(start, start + want);
    });
  }

  async task(id: string): Promise<TaskDetails | undefined> {
    if (!couldBeTaskId(id)) return undefined;
    const { s, parts } = await this.keys();
    const { partition, jobId } = locate(id, parts.length);
    const k = parts[partition]!;
    const h = await s.client.hgetall(k.job(jobId));
    if (!h.name && !h.data) return undefined;
    const state = await stateOf(s.client, k, jobId);
    const summary = await withPlace(s.client, k, jobId, h, toSummary(id, h, state, partition, parts.length), parts.length);
    const stacks = parse(h.stacktrace ?? '[]', []);
    const logs = await s.client.lrange(k.logs(jobId), 0, -1);
    return {
      ...summary,
      attempts: Number(parse<{ attempts?: number }>(h.opts ?? '{}', {}).attempts ?? 1),
      progress: h.progress === undefined ? null : parse(h.progress, h.progress),
      ...(h.processedOn ? { processedOn: Number(h.processedOn) } : {}),
      ...(h.finishedOn ? { finishedOn: Number(h.finishedOn) } : {}),
      stacks: Array.isArray(stacks) ? stacks.map(String) : [],
      logs,
      runs: runsOf(h, state, logs),
    };
  }

  async logs(id: string, start = 0, end = -1): Promise<string[]> {
    if (!couldBeTaskId(id)) return [];
    const { s, parts } = await this.keys();
    const { partition, jobId } = locate(id, parts.length);
    return s.client.lrange(parts[partition]!.logs(jobId), start, end);
  }

  async failedTasks<T = unknown>(start = 0, end = -1): Promise<FailedTask<T>[]> {
    const tasks = await this.tasks('failed', start, end < 0 ? 100_000 : end);
    const { s, parts } = await this.keys();
    return Promise.all(
      tasks.map(async (t) => {
        const { partition, jobId } = locate(t.id, parts.length);
        const stacks = parse<unknown>((await s.client.hget(parts[partition]!.job(jobId), 'stacktrace')) ?? '[]', []);
        const last = Array.isArray(stacks) ? stacks.at(-1) : undefined;
        return { id: t.id, data: t.data as T, attempts: t.attemptsMade, error: t.error ?? '', ...(typeof last === 'string' ? { stack: last } : {}) };
      }),
    );
  }

  async history(unit: 'minute' | 'hour', count: number, now = Date.now()): Promise<HistoryPoint[]> {
    return this.guard(async () => {
      const { s, parts } = await this.keys();
      return readHistory(s.client, parts, unit, count, now);
    });
  }

  async recentTimings(n = 100): Promise<{ wait: number[]; run: number[] }> {
    return this.guard(async () => {
      const { s, parts } = await this.keys();
      const wait: number[] = [];
      const run: number[] = [];
      for (const k of parts) {
        for (const id of await s.client.zrevrange(k.completed, 0, n - 1)) {
          const [ts, processedOn, finishedOn, opts] = (await s.client.hmget(k.job(id), 'timestamp', 'processedOn', 'finishedOn', 'opts')).map((v) => v ?? '');
          const started = Number(processedOn);
          const finished = Number(finishedOn);
          if (!(started > 0 && finished > 0)) continue;
          wait.push(Math.max(0, started - Number(ts) - delayOf(opts)));
          run.push(Math.max(0, finished - started));
        }
      }
      return { wait, run };
    });
  }
}
