import type { Job, Queue as BullQueue } from 'bullmq';
import { ConfigError } from '../errors.js';
import { lazily } from '../lazy.js';
import { checkInt, couldBeTaskId } from '../options.js';
import { checkAccess } from './access-check.js';
import { cancelTasks, type CancelReport } from './cancellation.js';
import type { AdminReads } from './admin-reads.js';
import type { RedisClient } from './connection.js';
import { mastersOf } from './cluster-room.js';
import { locate } from './partitions.js';
import { queueKeys, type QueueKeys } from './queue-keys.js';
import { publishSignal } from './queue-signals.js';
import type { RedisSession } from './redis-session.js';
import type { PurgeWhich } from './scripts.js';
import { WorkerRegistry } from './worker-registry.js';

/**
 * The operations of {@link QueueAdmin}: cancel, retry, promote, remove, pause, purge, clean, shutdown and
 * destroy. The cold paths run BullMQ's own scripts on its layout, then wake asyncq's consumers.
 * Each method is the QueueAdmin method of the same name, documented there.
 */
export class AdminActions {
  constructor(
    private readonly name: string,
    private readonly session: () => Promise<RedisSession>,
    private readonly bull: () => Promise<BullQueue[]>,
    private readonly reads: AdminReads,
  ) {}

  private async keys(): Promise<{ s: RedisSession; parts: readonly QueueKeys[] }> {
    const s = await this.session();
    return { s, parts: s.config.partitions };
  }

  /** The session, once the user's ACL was found to allow every command of the operations here (checked once). */
  private readonly writable = lazily(async () => {
    const s = await this.session();
    await checkAccess(s.scripts, s.config.target, s.config.partitions[0]!, 'admin');
    return s;
  });

  async cancel(ids: readonly string[], reason: string, by: string): Promise<CancelReport> {
    return cancelTasks(await this.writable(), ids, reason, by);
  }

  async retryFailed(): Promise<number> {
    await this.writable();
    const { s, parts } = await this.keys();
    const bull = await this.bull();
    let n = 0;
    for (const [p, k] of parts.entries()) {
      const count = await s.client.zcard(k.failed);
      if (count === 0) continue;
      await bull[p]!.retryJobs({ state: 'failed', count: 1000 });
      // The ledger (count-10.lua): these are unfinished again.
      await s.client.hincrby(k.stats, 'revived', count);
      n += count;
      await this.signal(p, 'task');
    }
    return n;
  }

  async retry(id: string): Promise<boolean> {
    await this.writable();
    return this.onJob(id, ['failed', 'completed'], async (job, p) => {
      const { s, parts } = await this.keys();
      await job.retry((await job.isFailed()) ? 'failed' : 'completed');
      // The ledger (count-10.lua): unfinished again. Counted after the move: a count between the
      // two sees one task more than the ledger, never one missing.
      await s.client.hincrby(parts[p]!.stats, 'revived', 1);
      await this.signal(p, 'task');
    });
  }

  async promote(id: string): Promise<boolean> {
    await this.writable();
    return this.onJob(id, ['delayed'], async (job, p) => {
      await job.promote();
      await this.signal(p, 'task');
    });
  }

  async remove(id: string): Promise<boolean> {
    await this.writable();
    if (couldBeTaskId(id)) {
      // A waiting task of a group: BullMQ's remove cannot see a parked one (remove-grouped-4.lua).
      const { s, parts } = await this.keys();
      const { partition, jobId } = locate(id, parts.length);
      if (await s.scripts.removeGrouped(parts[partition]!, jobId)) return true;
    }
    return this.onJob(id, ['waiting', 'prioritized', 'delayed', 'completed', 'failed', 'paused', 'wait'], async (job, p) => {
      const { s, parts } = await this.keys();
      // The ledger (count-10.lua): an unfinished task removed is counted before it goes, so a count
      // between the two sees one task more than the ledger, never one missing.
      const unfinished = !(await job.isCompleted()) && !(await job.isFailed());
      if (unfinished) await s.client.hincrby(parts[p]!.stats, 'removed', 1);
      try {
        await job.remove();
      } catch (e) {
        if (unfinished) await s.client.hincrby(parts[p]!.stats, 'removed', -1);
        throw e;
      }
    });
  }

  async pause(): Promise<void> {
    await this.writable();
    for (const q of await this.bull()) await q.pause();
  }

  async resume(): Promise<void> {
    await this.writable();
    const { parts } = await this.keys();
    for (const q of await this.bull()) await q.resume();
    for (const p of parts.keys()) await this.signal(p, 'resume');
  }

  // Slices of at most SLICE tasks, one short script each (see SLICE).
  async purge(states: readonly ('waiting' | 'delayed' | 'failed' | 'completed')[]): Promise<number> {
    await this.writable();
    const { s, parts } = await this.keys();
    let n = 0;
    for (const k of parts) {
      const which = states.includes('waiting') ? (states.includes('delayed') ? 'both' : 'waiting') : states.includes('delayed') ? 'delayed' : undefined;
      if (which) n += await purgeInSlices(s, k, which, 0, 0);
      for (const st of ['failed', 'completed'] as const) if (states.includes(st)) n += await purgeInSlices(s, k, st, 0, 0);
    }
    return n;
  }

  async clean(olderThanMs: number, state: 'completed' | 'failed' | 'delayed' | 'wait', limit = 0): Promise<number> {
    checkInt('olderThanMs', olderThanMs, 0);
    checkInt('limit', limit, 0);
    await this.writable();
    const { s, parts } = await this.keys();
    const bull = await this.bull();
    const before = Date.now() - olderThanMs;
    let n = 0;
    for (const [p, k] of parts.entries()) {
      if (limit !== 0 && n >= limit) break;
      const most = limit === 0 ? 0 : limit - n;
      // BullMQ's clean of a list ends each call with an LREM over the whole list, and its removal of
      // a job looks through every state: asyncq's own script instead, but for delayed tasks by age.
      n += state === 'delayed' ? await cleanInSlices(bull[p]!, before, most, (m) => s.client.hincrby(k.stats, 'removed', m)) : await purgeInSlices(s, k, state === 'wait' ? 'waiting' : state, Math.max(1, before), most);
    }
    return n;
  }

  async shutdown(opts: { immediate?: boolean } = {}): Promise<void> {
    await this.writable();
    await applyShutdown(await this.session(), opts.immediate ? 'immediate' : 'graceful');
  }

  async reopen(): Promise<void> {
    await this.writable();
    await applyShutdown(await this.session(), 'reopen');
  }

  async destroy(opts: { force?: boolean } = {}): Promise<number> {
    await this.writable();
    const { s, parts } = await this.keys();
    if (!opts.force) {
      const registry = new WorkerRegistry(this.name, { connection: s.client, prefix: parts[0]!.prefix });
      const [workers, counts] = await Promise.all([registry.list(), this.reads.counts()]);
      await registry.close();
      if (workers.length > 0 || counts.active > 0) {
        throw new ConfigError(
          `queue "${this.name}" has ${workers.length} live workers and ${counts.active} running tasks; stop them first, or pass { force: true }`,
        );
      }
    }
    let removed = 0;
    const patterns = [...parts.map((k) => k.pattern), queueKeys(parts[0]!.prefix, this.name).pattern];
    for (const pattern of new Set(patterns)) removed += await unlinkMatching(s.client, pattern);
    return removed;
  }

  private async signal(partition: number, signal: 'task' | 'resume'): Promise<void> {
    const s = await this.session();
    await publishSignal(s.client, s.config.partitions[partition]!, signal, s.sharded);
  }

  /** Runs `fn` on the BullMQ job named `id` if it is in one of `states`; false otherwise. */
  private async onJob(id: string, states: string[], fn: (job: Job, partition: number) => Promise<void>): Promise<boolean> {
    if (!couldBeTaskId(id)) return false;
    const { parts } = await this.keys();
    const { partition, jobId } = locate(id, parts.length);
    const bull = (await this.bull())[partition]!;
    const job = await bull.getJob(jobId);
    if (!job) return false;
    if (!states.includes(await job.getState())) return false;
    await fn(job, partition);
    return true;
  }
}

/**
 * Tasks one script removes at most, asyncq's purge or BullMQ's clean: measured with SLOWLOG on a
 * 200,000-task queue (test/chaos/bad-input.test.ts), each such call stays well under 50 ms, so a
 * purge or a clean of any backlog never stalls Redis (a Sentinel would take a long stall for a
 * dead master).
 */
export const SLICE = 250;

/** `purge-8.lua` until it has nothing more to remove (or `limit` tasks, when not 0); resolves to how many. */
async function purgeInSlices(s: RedisSession, k: QueueKeys, which: PurgeWhich, cutoff: number, limit: number): Promise<number> {
  let n = 0;
  for (;;) {
    const budget = limit === 0 ? SLICE : Math.min(SLICE, limit - n);
    if (budget <= 0) return n;
    const { removed, more } = await s.scripts.purge(k, budget, which, cutoff);
    n += removed;
    if (!more) return n;
  }
}

/**
 * Removes delayed tasks put (or last tried) at or before `before` (ms since the epoch), at most
 * `limit` (0: all), with BullMQ's clean: their set is ordered by due time, not age. Its removal of
 * a job costs more than asyncq's, so its slices are smaller.
 */
async function cleanInSlices(q: BullQueue, before: number, limit: number, onRemoved: (n: number) => Promise<unknown>): Promise<number> {
  let n = 0;
  for (;;) {
    const want = limit === 0 ? SLICE / 5 : Math.min(SLICE / 5, limit - n);
    if (want <= 0) return n;
    // BullMQ measures its grace from its own clock reading: the cut-off stays where it was.
    const removed = (await q.clean(Math.max(0, Date.now() - before), want, 'delayed')).length;
    // The ledger (count-10.lua): delayed tasks are unfinished ones; each slice is counted as it goes.
    if (removed > 0) await onRemoved(removed);
    n += removed;
    if (removed === 0) return n;
  }
}

/** Sets the shutdown flag on every partition; an immediate one discards in batches until nothing is left. */
export async function applyShutdown(s: RedisSession, mode: 'graceful' | 'immediate' | 'reopen'): Promise<void> {
  for (const k of s.config.partitions) {
    for (let left = await s.scripts.shutdown(k, mode, 5000); left > 0; left = await s.scripts.shutdown(k, mode, 5000));
  }
}

/** SCAN with an escaped pattern (on every master of a cluster) and UNLINK what matches. */
async function unlinkMatching(client: RedisClient, pattern: string): Promise<number> {
  let removed = 0;
  for (const node of mastersOf(client)) {
    let cursor = '0';
    do {
      const [next, keys] = await node.scan(cursor, 'MATCH', pattern, 'COUNT', 1000);
      cursor = next;
      for (const key of keys) removed += await node.unlink(key);
    } while (cursor !== '0');
  }
  return removed;
}

