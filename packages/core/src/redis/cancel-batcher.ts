import { cancelTasks } from './cancellation.js';
import type { RedisSession } from './redis-session.js';
import type { CancelStatus } from './scripts.js';

interface Pending {
  id: string;
  resolve(status: CancelStatus): void;
  reject(e: unknown): void;
}

/**
 * Gathers the cancels a handle makes in one turn of the event loop into one `cancelTasks` call per
 * reason and canceller: a task group shutting down, or an aborted gather, cancels hundreds of refs
 * at once, and each call of `cancel-12.lua` takes up to 100 of them. One by one, 500 cancels were
 * 500 script runs and their handlers heard of the last one about a second later.
 */
export class CancelBatcher {
  private readonly queued = new Map<string, { reason: string; by: string; items: Pending[] }>();
  private scheduled = false;

  constructor(private readonly session: () => Promise<RedisSession>) {}

  /** Cancels task `id`; resolves to what `cancel-12.lua` said of it. */
  cancel(id: string, reason: string, by: string): Promise<CancelStatus> {
    return new Promise<CancelStatus>((resolve, reject) => {
      const key = `${reason}\u0000${by}`;
      const group = this.queued.get(key) ?? { reason, by, items: [] };
      group.items.push({ id, resolve, reject });
      this.queued.set(key, group);
      if (!this.scheduled) {
        this.scheduled = true;
        setImmediate(() => void this.flush());
      }
    });
  }

  private async flush(): Promise<void> {
    this.scheduled = false;
    const groups = [...this.queued.values()];
    this.queued.clear();
    await Promise.all(
      groups.map(async ({ reason, by, items }) => {
        try {
          const report = await cancelTasks(await this.session(), items.map((x) => x.id), reason, by);
          // Two cancels of one task in one turn: the first cancelled it, the second finds it cancelled.
          const answered = new Set<string>();
          for (const x of items) {
            const status = report.statuses.get(x.id) ?? 'missing';
            x.resolve(answered.has(x.id) && status.startsWith('cancelled') ? 'finished:cancelled' : status);
            answered.add(x.id);
          }
        } catch (e) {
          for (const x of items) x.reject(e);
        }
      }),
    );
  }
}
