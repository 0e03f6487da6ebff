import type { LeaseKeeper } from './lease-keeper.js';
import type { Signal } from './queue-signals.js';
import type { CancelNotice } from './scripts.js';

/** How long a `cancel:` message about a task this handle does not hold is remembered. */
const REMEMBER_MS = 10_000;

/**
 * The consumer's ear for cancels: a `cancel:` message on a partition's channel (`cancel-12.lua`
 * publishes one when it cancels a running task) releases the task if this handle holds it, and
 * drops it if it was fetched ahead. A message can also overtake the reply that reserved the task
 * (the cancel ran just after the reservation): it is remembered for a while, so that such a task
 * never reaches a get. The durable record (the lease's revoked hash, read by the next consume or
 * renewal) covers a message that never arrived.
 */
export class CancelListener {
  private readonly recent = new Map<string, number>();

  constructor(private readonly leases: LeaseKeeper<unknown>) {}

  /** Applies a `cancel:` signal; false for any other signal. */
  onSignal(s: Signal, partition: number): boolean {
    if (!s.startsWith('cancel:') || partition < 0) return false;
    const notice = parseCancel(s.slice('cancel:'.length));
    if (!notice) return true;
    this.leases.cancelled(partition, notice);
    const now = Date.now();
    for (const [key, until] of this.recent) {
      if (until > now) break;
      this.recent.delete(key);
    }
    this.recent.set(`${partition}:${notice.jobId}`, now + REMEMBER_MS);
    return true;
  }

  /** True when job `jobId` of `partition`, just reserved, was announced as cancelled meanwhile. */
  wasCancelled(partition: number, jobId: string): boolean {
    return this.recent.size > 0 && (this.recent.get(`${partition}:${jobId}`) ?? 0) > Date.now();
  }
}

/** The notice a `cancel:` message carries: a JSON array of job id, reason and who. */
export function parseCancel(json: string): CancelNotice | undefined {
  try {
    const [jobId, reason, by] = JSON.parse(json) as unknown[];
    if (typeof jobId !== 'string') return undefined;
    return { jobId, reason: typeof reason === 'string' ? reason : '', by: typeof by === 'string' ? by : '' };
  } catch {
    return undefined;
  }
}
