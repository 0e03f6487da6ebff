import { QueueAdmin } from '@asyncq/core';
import { partitionTags, queueKeys, type RedisClient } from '@asyncq/core/internal';
import type { QueueFamily } from './queue-series.js';

/**
 * `asyncq_queue_limited{queue,limit}`: 1 while a limit (rate or concurrency, set with
 * `setLimits`) holds ready tasks back, else 0; only queues with limits have the series. One
 * pipelined read of each queue's limits per collect finds them; only those get a full read.
 */
export class LimitsSeries {
  private readonly admins = new Map<string, QueueAdmin>();

  constructor(
    private readonly prefix: string,
    private readonly family: QueueFamily,
  ) {}

  /** Adds the samples of the queues `names` (each with its partition count) that have limits. */
  async read(client: RedisClient, queues: readonly { name: string; partitions: number }[]): Promise<void> {
    if (queues.length === 0) return;
    const pipe = client.pipeline();
    for (const q of queues) pipe.hmget(queueKeys(this.prefix, partitionTags(q.name, q.partitions)[0]!).meta, 'concurrency', 'max');
    const replies = (await pipe.exec()) ?? [];
    const limited = queues.filter((_, i) => {
      const v = replies[i]?.[1] as (string | null)[] | undefined;
      return v !== undefined && (v[0] !== null || v[1] !== null);
    });
    const names = new Set(limited.map((q) => q.name));
    for (const [name, admin] of this.admins) {
      if (!names.has(name)) {
        this.admins.delete(name);
        void admin.close().catch(() => {});
      }
    }
    await Promise.all(
      limited.map(async (q) => {
        let admin = this.admins.get(q.name);
        if (!admin) this.admins.set(q.name, (admin = new QueueAdmin(q.name, { connection: client, prefix: this.prefix })));
        const s = await admin.limits().catch(() => undefined);
        if (!s) return;
        if (s.limits.rate) this.family.add([q.name, 'rate'], s.rateBinds ? 1 : 0);
        if (s.limits.concurrency !== undefined) this.family.add([q.name, 'concurrency'], s.concurrencyBinds ? 1 : 0);
      }),
    );
  }

  async close(): Promise<void> {
    await Promise.all([...this.admins.values()].map((a) => a.close().catch(() => {})));
    this.admins.clear();
  }
}
