import { QueueAdmin } from '@asyncq/core';
import { partitionTags, queueKeys, type RedisClient } from '@asyncq/core/internal';
import type { QueueFamily } from './queue-series.js';

/** Makes a family of the exporter's registry (queue-exporter.ts' `family`). */
export type FamilyMaker = (name: string, help: string, type: 'gauge' | 'counter', labelNames: string[]) => QueueFamily;

/**
 * The meta fields that say a queue has limits or groups: BullMQ's `concurrency` and `max`, the
 * perGroup concurrency, and the flag the core sets once a grouped task was put (groups-lib.lua).
 * Only such queues get the full read of their limits.
 */
const MARKS = ['concurrency', 'max', 'aq:groupConcurrency', 'aq:grouped'] as const;

/**
 * `asyncq_queue_limited{queue,limit}`: 1 while a limit set with `setLimits` holds ready tasks back,
 * else 0 (`rate`, `concurrency`, and `per_group_concurrency`: 1 while it holds back at least one
 * group); only queues with limits have the series. `asyncq_queue_group_tasks{queue}`: the groups
 * with tasks waiting, for queues that have had grouped tasks or have a perGroup limit. One
 * pipelined read of each partition's meta per collect finds those queues; only they get a full
 * read of their limits (`QueueAdmin.limits`), which gives both.
 */
export class LimitsSeries {
  private readonly admins = new Map<string, QueueAdmin>();
  private readonly limited: QueueFamily;
  private readonly groups: QueueFamily;

  constructor(
    private readonly prefix: string,
    family: FamilyMaker,
  ) {
    this.limited = family(
      'asyncq_queue_limited',
      'Whether a limit set with setLimits holds ready tasks back now (1) or not (0): rate, concurrency, or per_group_concurrency (1 while it holds back at least one group); only queues with limits have it.',
      'gauge',
      ['queue', 'limit'],
    );
    this.groups = family(
      'asyncq_queue_group_tasks',
      'Groups (put with a group) that have tasks waiting now, those a per-group limit holds back included; only queues that have had grouped tasks or have a per-group limit have it.',
      'gauge',
      ['queue'],
    );
  }

  /** Forgets every sample: what a collect that could not read the limits exports. */
  reset(): void {
    this.limited.reset();
    this.groups.reset();
  }

  /** Replaces the samples with those of the queues `queues` (each with its partition count) that have limits or groups. */
  async read(client: RedisClient, queues: readonly { name: string; partitions: number }[]): Promise<void> {
    this.reset();
    if (queues.length === 0) return;
    const pipe = client.pipeline();
    // Every partition: a group's tasks go to the partition its name picks, so only that one is marked.
    for (const q of queues) for (const tag of partitionTags(q.name, q.partitions)) pipe.hmget(queueKeys(this.prefix, tag).meta, ...MARKS);
    const replies = (await pipe.exec()) ?? [];
    const marked = new Map<string, { limits: boolean; grouped: boolean }>();
    let i = 0;
    for (const q of queues) {
      const m = { limits: false, grouped: false };
      for (let p = 0; p < q.partitions; p++, i++) {
        const v = replies[i]?.[1] as (string | null)[] | undefined;
        if (!v) continue;
        m.limits ||= v[0] !== null || v[1] !== null || v[2] !== null;
        m.grouped ||= v[2] !== null || v[3] !== null;
      }
      if (m.limits || m.grouped) marked.set(q.name, m);
    }
    for (const [name, admin] of this.admins) {
      if (!marked.has(name)) {
        this.admins.delete(name);
        void admin.close().catch(() => {});
      }
    }
    await Promise.all(
      [...marked].map(async ([name, m]) => {
        let admin = this.admins.get(name);
        if (!admin) this.admins.set(name, (admin = new QueueAdmin(name, { connection: client, prefix: this.prefix })));
        const s = await admin.limits().catch(() => undefined);
        if (!s) return;
        if (s.limits.rate) this.limited.add([name, 'rate'], s.rateBinds ? 1 : 0);
        if (s.limits.concurrency !== undefined) this.limited.add([name, 'concurrency'], s.concurrencyBinds ? 1 : 0);
        if (s.limits.perGroup?.concurrency !== undefined) this.limited.add([name, 'per_group_concurrency'], s.groupsBlocked > 0 ? 1 : 0);
        if (m.grouped) this.groups.add([name], s.groupsWaiting);
      }),
    );
  }

  async close(): Promise<void> {
    await Promise.all([...this.admins.values()].map((a) => a.close().catch(() => {})));
    this.admins.clear();
  }
}
