import type { LeaseKeeper, RedisTask } from './lease-keeper.js';
import type { RedisSession } from './redis-session.js';
import { GetRate } from './get-rate.js';
import { monotonicNow } from './lease-keeper.js';

/**
 * How long a task fetched ahead (with an acknowledgement, for the get a consumer loop is about to
 * make) waits for that get before it goes back to the front of the queue. The consumer fetches
 * ahead no more than its gets took in the last 50 ms, so four times that leaves room for a loop
 * that slows down a little without handing tasks back and fetching them again.
 */
const GRACE_MS = 200;

/**
 * Tasks a handle reserved ahead of its gets, oldest first. A consumer loop claims them at once;
 * one that stops getting does not keep them from other consumers for longer than a moment.
 */
export class PrefetchStash<T> {
  /** Oldest first: `until` (wall clock) is when it goes back unclaimed; `startBy` (monotonic), under a rate limit, the last moment it may start. */
  private readonly entries: { task: RedisTask<T>; until: number; startBy?: number }[] = [];
  private sweeper?: NodeJS.Timeout;
  private readonly gets = new GetRate();

  constructor(
    private readonly session: RedisSession,
    private readonly leases: LeaseKeeper<T>,
  ) {}

  get length(): number {
    return this.entries.length;
  }

  /** A get was made: the stash fetches ahead no more than gets took lately. */
  noteGet(): void {
    this.gets.count();
  }

  /**
   * How many more tasks to fetch ahead, with `ahead` already on their way: up to `prefetch` in all,
   * and no more than the handle's gets took lately (so they are claimed well before they go back).
   */
  room(prefetch: number, ahead: number): number {
    return Math.max(0, Math.min(prefetch, this.gets.recent()) - this.entries.length - ahead);
  }

  /**
   * Keeps a task fetched ahead. Under a rate limit it was counted in the rate's window as starting by
   * `startBy` (this process's monotonic clock): taken later, it goes back unrun instead (see take).
   */
  push(task: RedisTask<T>, now: number, startBy?: number): void {
    this.entries.push({ task, until: now + GRACE_MS, ...(startBy === undefined ? {} : { startBy }) });
    this.sweeper ??= setInterval(() => this.sweep(), GRACE_MS).unref();
  }

  /**
   * The oldest task, if it may still start. Under a rate limit, once the oldest is past its
   * start-by (starting it now could put more starts in a window than the rate allows), every task
   * in the stash goes back to the front of the queue unrun, in order, as a sweep hands them back:
   * the later ones are no older than it, and keeping them would run them before it.
   */
  take(): RedisTask<T> | undefined {
    const first = this.entries[0];
    if (first?.startBy !== undefined && monotonicNow() > first.startBy) {
      this.handBack(this.entries.splice(0));
      return undefined;
    }
    return this.entries.shift()?.task;
  }

  /** Forgets the tasks of a partition whose lease was lost: they are no longer this handle's. */
  drop(partition: number): void {
    for (let i = this.entries.length - 1; i >= 0; i--) if (this.entries[i]!.task.ref.partition === partition) this.entries.splice(i, 1);
  }

  /** Forgets one task (it was cancelled: it is no longer under the lease). */
  dropTask(partition: number, jobId: string): void {
    const i = this.entries.findIndex((e) => e.task.ref.partition === partition && e.task.ref.jobId === jobId);
    if (i >= 0) this.entries.splice(i, 1);
  }

  /** Forgets everything (they go back with the lease, on close). */
  clear(): void {
    this.entries.length = 0;
    clearInterval(this.sweeper);
    this.sweeper = undefined;
  }

  /**
   * Once the oldest task fetched ahead waited too long for a get, every task in the stash goes back
   * to the front of the queue, in one call per partition and in their order: handing back only the
   * expired ones, sweep after sweep, would put each in front of the ones handed back before it, and
   * a get would take a newer task still in the stash before the older ones it handed back.
   */
  private sweep(): void {
    const now = Date.now();
    if (this.entries.length > 0 && this.entries[0]!.until <= now) {
      this.handBack(this.entries.splice(0));
    }
    if (this.entries.length === 0) {
      clearInterval(this.sweeper);
      this.sweeper = undefined;
    }
  }

  /** Hands `back` to the front of the queue, in their order, one call per partition. */
  private handBack(back: readonly { task: RedisTask<T> }[]): void {
    const { partitions, order } = this.session.config;
    partitions.forEach((keys, p) => {
      const mine = back.filter((e) => e.task.ref.partition === p && e.task.ref.lease === this.leases.lease(p));
      if (mine.length === 0) return;
      void this.session.scripts.handBack(keys, this.leases.lease(p), order === 'lifo', mine.map((e) => e.task.ref.jobId)).then(
        () => this.leases.removed(p, mine.map((e) => e.task.ref.jobId)),
        () => {}, // still under the lease: it goes back with the lease, on close or when it expires
      );
    });
  }
}
