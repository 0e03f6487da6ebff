import type { BackoffOptions } from '../types.js';
import { HeldTasks } from '../held-tasks.js';
import type { TaskHandle } from '../task-handle.js';
import { LeaseLost, TaskCancelled } from '../errors.js';
import { publicId } from './partitions.js';
import type { CancelNotice } from './scripts.js';
import type { RedisSession } from './redis-session.js';

/** Where Redis holds a task this handle got: its partition and the lease it is held under. */
export interface HeldJob {
  readonly partition: number;
  /** The job's id in its partition (the task id, less a partition prefix). */
  readonly jobId: string;
  readonly lease: string;
  /** The task's retry policy, read from its BullMQ options. */
  readonly attempts: number;
  readonly backoff: BackoffOptions | undefined;
  /** Set when the lease it was held under was lost: finishing it then does nothing. */
  lost: boolean;
  /** Set when the task was cancelled while held: finishing it is refused with this. */
  cancelled?: TaskCancelled;
}

/** A task of a Redis queue, as this handle holds it. */
export type RedisTask<T> = TaskHandle<T, HeldJob>;

/**
 * Keeps this handle's leases: one per partition it holds tasks in, renewed every third of the
 * lease while it holds any, so that no other consumer is handed a task this one still works on,
 * and so that a dead process loses all of them at once. In the spirit of BullMQ's LockManager, but
 * one lease per handle instead of a lock per task.
 */
export class LeaseKeeper<T> {
  /** Tasks handed to the user and not finished, oldest first. */
  readonly held: HeldTasks<RedisTask<T>>;
  /** Per partition: the job ids under the lease in Redis as far as this handle knows (held, stashed, being finished). */
  private readonly known: Set<string>[];
  private readonly gens: number[];
  private readonly lastRefresh: number[];
  private timer?: NodeJS.Timeout;

  constructor(
    private readonly session: RedisSession,
    private readonly onLost: (partition: number) => void,
    /** A task under the lease was cancelled: one fetched ahead must never reach a get. */
    private readonly onCancelled: (partition: number, jobId: string) => void = () => {},
  ) {
    const k = session.config.partitions.length;
    this.held = new HeldTasks(session.config.name);
    this.known = Array.from({ length: k }, () => new Set<string>());
    this.gens = new Array<number>(k).fill(0);
    this.lastRefresh = new Array<number>(k).fill(0);
  }

  /** The lease id this handle holds tasks of `partition` under now. */
  lease(partition: number): string {
    return `${this.session.config.handleId}.${this.gens[partition]}`;
  }

  /** True while Redis should know this handle's lease on `partition` (a missing one then means it was lost). */
  holding(partition: number): boolean {
    return this.known[partition]!.size > 0;
  }

  /** How many tasks this handle knows it holds under the partition's lease. */
  knownCount(partition: number): number {
    return this.known[partition]!.size;
  }

  /** The job ids this handle knows it holds under the partition's lease. */
  knownIds(partition: number): string[] {
    return [...this.known[partition]!];
  }

  /** Job `jobId` is held under the partition's lease (a reservation came back). */
  added(partition: number, jobId: string): void {
    // Not a refresh: only the calls that push the lease's expiry forward say so (refreshed()).
    this.known[partition]!.add(jobId);
    this.timer ??= setInterval(() => this.renew(), Math.max(50, Math.floor(this.session.config.lease / 3))).unref();
  }

  /** Tasks left the partition's lease (finished, failed, handed back). */
  removed(partition: number, jobIds: readonly string[]): void {
    const known = this.known[partition]!;
    for (const id of jobIds) known.delete(id);
  }

  /** ms since the lease on `partition` was last pushed forward. */
  refreshAge(partition: number): number {
    return monotonicNow() - (this.lastRefresh[partition] ?? 0);
  }

  /** A script call under the lease, sent at `sentAt` ({@link monotonicNow}), pushed its expiry forward. */
  refreshed(partition: number, sentAt: number): void {
    this.lastRefresh[partition] = Math.max(this.lastRefresh[partition] ?? 0, sentAt);
  }

  /**
   * The lease on `partition` is gone (Redis said so, or it was not renewed for a whole lease and
   * another consumer may have taken its tasks): every task held under it is lost, and told so
   * (its `signal` aborts with LeaseLost), and the next ones use a new lease.
   */
  lost(partition: number): void {
    const { name } = this.session.config;
    for (const t of this.held.values()) {
      if (t.ref.partition === partition && t.ref.lease === this.lease(partition)) {
        t.ref.lost = true;
        t.release(new LeaseLost(name, t.id));
      }
    }
    this.gens[partition] = (this.gens[partition] ?? 0) + 1;
    this.known[partition]!.clear();
    this.onLost(partition);
  }

  /**
   * Job `notice.jobId` of `partition` was cancelled while under this handle's lease (a `cancel:`
   * message, or the lease's revoked hash read by a call): it is no longer under the lease, and a
   * task this handle handed out is released with {@link TaskCancelled} (its `signal` aborts, and
   * finishing it is refused). Idempotent: the message and the durable record may both arrive.
   */
  cancelled(partition: number, notice: CancelNotice): void {
    this.known[partition]!.delete(notice.jobId);
    this.onCancelled(partition, notice.jobId);
    for (const t of this.held.values()) {
      if (t.ref.partition !== partition || t.ref.jobId !== notice.jobId || t.ref.cancelled) continue;
      const err = new TaskCancelled(publicId(partition, notice.jobId, this.session.config.partitions.length), notice.reason, notice.by);
      t.ref.cancelled = err;
      t.release(err);
      return;
    }
  }

  private renew(): void {
    const { lease, partitions } = this.session.config;
    const now = monotonicNow();
    if (this.known.every((ids) => ids.size === 0)) {
      clearInterval(this.timer);
      this.timer = undefined;
      return;
    }
    partitions.forEach((keys, p) => {
      if (this.known[p]!.size === 0) return;
      const since = now - (this.lastRefresh[p] ?? now);
      // The watchdog: no renewal has reached Redis for a whole lease (the process stalled, or Redis
      // was out of reach), so the lease may have expired and another consumer may run its tasks
      // now. They are lost to this handle: their handlers hear of it before a takeover can start.
      if (since >= lease) {
        this.lost(p);
        return;
      }
      if (since < lease / 3) return;
      const id = this.lease(p);
      this.session.scripts.renew(keys, id, lease).then(
        (cancelled) => {
          if (cancelled) {
            this.refreshed(p, now);
            if (this.lease(p) === id) for (const c of cancelled) this.cancelled(p, c);
          } else if (this.lease(p) === id && this.known[p]!.size > 0) this.lost(p);
        },
        () => {}, // a Redis hiccup: the next round tries again, well within the lease
      );
    });
  }

  stop(): void {
    clearInterval(this.timer);
    this.timer = undefined;
  }
}

/** A clock for durations (ms) that a change of the system's time cannot move. */
export function monotonicNow(): number {
  return performance.now();
}
