import { ConfigError } from '../errors.js';
import { publishSignal } from './queue-signals.js';
import type { RedisSession } from './redis-session.js';
import { monotonicNow } from './lease-keeper.js';
import type { ConsumeReply } from './script-types.js';

/** A rate: at most `max` tasks started in any `per` (ms, or a text like `'1s'`, `'500ms'`, `'1m'`). */
export interface RateLimit {
  max: number;
  per: number | string;
}

/**
 * A queue's limits, kept in Redis (`Queue.setLimits`): every worker follows the same ones, at once.
 * `rate` bounds how many tasks start in any window of `per`; `concurrency` how many are held at once
 * across the whole cluster (a crashed holder's slots come back with its lease).
 */
export interface QueueLimits {
  rate?: RateLimit;
  concurrency?: number;
  /** Limits for each group (`put(item, { group })`): `concurrency` bounds the tasks of one group held at once. */
  perGroup?: { concurrency?: number };
}

/** Whether each limit holds tasks back now, and how many ready tasks wait. */
export interface LimitsStatus {
  limits: QueueLimits;
  /** The rate window is full (or paused by a `RateLimited`) while tasks are ready. */
  rateBinds: boolean;
  /** Every slot is taken while tasks are ready. */
  concurrencyBinds: boolean;
  /** Groups whose perGroup concurrency holds their next task back, over every partition. */
  groupsBlocked: number;
  /** Groups with tasks waiting (parked, ready or held back), over every partition. */
  groupsWaiting: number;
  /** Tasks started in the current rate window, over every partition. */
  inWindow: number;
  /** Tasks held now, over every partition. */
  held: number;
  /** Ready tasks (waiting and prioritized). */
  ready: number;
  /** Ready tasks a binding limit holds back (0 when none binds). */
  waitingOnLimits: number;
}

const UNITS: Record<string, number> = { ms: 1, s: 1000, m: 60_000, h: 3_600_000 };
/** Limits a Node timer can wait for; a window longer than a day is surely a mistake. */
const MAX_WINDOW_MS = 86_400_000;
/** The meta fields of the limits: BullMQ's own names, read by consume-18.lua (see limits-lib.lua). */
const FIELDS = ['concurrency', 'max', 'duration', 'aq:rateUntil', 'aq:limits'] as const;
/** The perGroup concurrency's meta field (groups-lib.lua). */
const GROUP_CONCURRENCY = 'aq:groupConcurrency';

/** A window as ms: a whole number of ms, or `<n>ms|s|m|h`. */
export function parseWindow(per: unknown): number {
  let ms: number | undefined;
  if (typeof per === 'number') ms = per;
  else if (typeof per === 'string') {
    const m = /^\s*(\d+(?:\.\d+)?)\s*(ms|s|m|h)\s*$/.exec(per);
    if (m) ms = Number(m[1]) * UNITS[m[2]!]!;
  }
  if (ms === undefined || !Number.isFinite(ms) || Math.round(ms) < 1 || ms > MAX_WINDOW_MS) {
    throw new ConfigError(`rate.per must be a window from 1ms to 24h, as ms or a text like '1s', '500ms', '1m'; got ${JSON.stringify(per)}`);
  }
  return Math.round(ms);
}

/** The limits checked, with the window as ms; one clear line for each mistake. */
export function checkLimits(limits: unknown, partitions: number): { concurrency?: number; max?: number; duration?: number; groupConcurrency?: number; spec: QueueLimits } {
  if (limits === null || typeof limits !== 'object' || Array.isArray(limits)) {
    throw new ConfigError(`setLimits takes an object such as { rate: { max: 100, per: '1s' }, concurrency: 5 }, or {} to clear them; got ${JSON.stringify(limits)}`);
  }
  const { rate, concurrency, perGroup, ...rest } = limits as QueueLimits;
  const unknown = Object.keys(rest);
  if (unknown.length > 0) throw new ConfigError(`setLimits: unknown option ${unknown.join(', ')}; the options are rate, concurrency and perGroup`);
  const out: { concurrency?: number; max?: number; duration?: number; groupConcurrency?: number; spec: QueueLimits } = { spec: {} };
  if (perGroup !== undefined) {
    if (perGroup === null || typeof perGroup !== 'object') throw new ConfigError(`perGroup must be { concurrency }, e.g. { concurrency: 2 }; got ${JSON.stringify(perGroup)}`);
    const { concurrency: each, ...others } = perGroup as { concurrency?: unknown; rate?: unknown };
    if ('rate' in others) throw new ConfigError('perGroup.rate is not supported yet: a rate applies to the whole queue (rate); give perGroup.concurrency only');
    if (Object.keys(others).length > 0) throw new ConfigError(`perGroup: unknown option ${Object.keys(others).join(', ')}; the option is concurrency`);
    if (each !== undefined) {
      if (typeof each !== 'number' || !Number.isInteger(each) || each < 1) throw new ConfigError(`perGroup.concurrency must be a whole number of at least 1; got ${JSON.stringify(each)}`);
      out.groupConcurrency = each;
      out.spec.perGroup = { concurrency: each };
    }
  }
  const share = partitions > 1 ? ` (the queue has ${partitions} partitions and each enforces its share, so give at least ${partitions})` : '';
  if (concurrency !== undefined) {
    if (typeof concurrency !== 'number' || !Number.isInteger(concurrency) || concurrency < Math.max(1, partitions)) {
      throw new ConfigError(`concurrency must be a whole number of at least ${Math.max(1, partitions)}${share}; got ${JSON.stringify(concurrency)}`);
    }
    out.concurrency = concurrency;
    out.spec.concurrency = concurrency;
  }
  if (rate !== undefined) {
    if (rate === null || typeof rate !== 'object') throw new ConfigError(`rate must be { max, per }, e.g. { max: 100, per: '1s' }; got ${JSON.stringify(rate)}`);
    const { max, per } = rate;
    if (typeof max !== 'number' || !Number.isInteger(max) || max < Math.max(1, partitions)) {
      throw new ConfigError(`rate.max must be a whole number of at least ${Math.max(1, partitions)}${share}; got ${JSON.stringify(max)}`);
    }
    out.max = max;
    out.duration = parseWindow(per);
    out.spec.rate = { max, per };
  }
  return out;
}

/** Partition `p`'s share of `total` over `n` partitions: the shares add up to the total exactly. */
export function shareOf(total: number, n: number, p: number): number {
  return Math.floor(total / n) + (p < total % n ? 1 : 0);
}

/**
 * Writes the limits to every partition's meta (each its share), clearing those not given, and
 * wakes every consumer so a looser limit applies at once.
 */
export async function writeLimits(s: RedisSession, limits: QueueLimits): Promise<void> {
  const parts = s.config.partitions;
  const c = checkLimits(limits, parts.length);
  for (const [p, k] of parts.entries()) {
    const set: (string | number)[] = [];
    const del: string[] = ['aq:rateUntil'];
    if (c.concurrency !== undefined) set.push('concurrency', shareOf(c.concurrency, parts.length, p));
    else del.push('concurrency');
    if (c.max !== undefined && c.duration !== undefined) set.push('max', shareOf(c.max, parts.length, p), 'duration', c.duration);
    else del.push('max', 'duration');
    // A group's tasks share a partition (put-route.ts): each partition enforces the whole limit.
    if (c.groupConcurrency !== undefined) set.push(GROUP_CONCURRENCY, c.groupConcurrency);
    else del.push(GROUP_CONCURRENCY);
    if (set.length > 0) set.push('aq:limits', JSON.stringify(c.spec));
    else del.push('aq:limits');
    // No MULTI (the README's ACL does not grant it): the new values go in before the old ones go,
    // so a consumer in between sees the old limits or the new ones, never none of them.
    if (set.length > 0) await s.client.hset(k.meta, ...set);
    await s.client.hdel(k.meta, ...del);
    await publishSignal(s.client, k, 'resume', s.sharded);
  }
}

/** The limits in force ({} when none), as they were given. */
export async function readLimits(s: RedisSession): Promise<QueueLimits> {
  const raw = await s.client.hget(s.config.partitions[0]!.meta, 'aq:limits');
  if (raw === null) return {};
  try {
    return JSON.parse(raw) as QueueLimits;
  } catch {
    return {};
  }
}

/** The limits in force and whether they hold tasks back now (for the CLI, the exporter and the dashboard). */
export async function limitsStatus(s: RedisSession): Promise<LimitsStatus> {
  const limits = await readLimits(s);
  let rateBinds = false;
  let concurrencyBinds = false;
  let inWindow = 0;
  let held = 0;
  let ready = 0;
  let waitingOnLimits = 0;
  let groupsBlocked = 0;
  let groupsWaiting = 0;
  for (const k of s.config.partitions) {
    const t = await s.client.time();
    const now = Number(t[0]) * 1000 + Math.floor(Number(t[1]) / 1000);
    const [meta, active, wait, prioritized, parked, blocked, heads] = await Promise.all([
      s.client.hmget(k.meta, ...FIELDS),
      s.client.llen(k.active),
      s.client.llen(k.wait),
      s.client.zcard(k.prioritized),
      s.client.get(k.groupsParked),
      s.client.zcard(k.groupsBlocked),
      s.client.hlen(k.groupHeads),
    ]);
    groupsBlocked += blocked;
    groupsWaiting += blocked + heads;
    const [concurrency, max, duration, until] = meta.map((v) => (v === null ? undefined : Number(v)));
    const count = max !== undefined && duration !== undefined ? await s.client.zcount(`${k.base}aq:rate`, `(${now - duration}`, '+inf') : 0;
    const partReady = wait + prioritized + Number(parked ?? 0);
    const rateFull = max !== undefined && (count >= max || (until ?? 0) > now);
    const slotsFull = concurrency !== undefined && active >= concurrency;
    if (partReady > 0 && rateFull) rateBinds = true;
    if (partReady > 0 && slotsFull) concurrencyBinds = true;
    if (rateFull || slotsFull) waitingOnLimits += partReady;
    inWindow += count;
    held += active;
    ready += partReady;
  }
  return { limits, rateBinds, concurrencyBinds, groupsBlocked, groupsWaiting, inWindow, held, ready, waitingOnLimits };
}

/** A group's backlog (`QueueAdmin.groups`). */
export interface GroupBacklog {
  group: string;
  /** Its tasks waiting: parked in the group, and its head when one waits in the queue. */
  waiting: number;
  /** Its perGroup concurrency holds its next task back now. */
  blocked: boolean;
}

/**
 * The `limit` groups with the most tasks waiting, over every partition, largest first (see
 * groups-lib.lua: each group's parked tasks are counted in "aq:groups", its head in "aq:ghead").
 */
export async function groupBacklog(s: RedisSession, limit = 20): Promise<GroupBacklog[]> {
  const all = new Map<string, GroupBacklog>();
  for (const k of s.config.partitions) {
    const top = await s.client.zrevrange(k.groups, 0, limit - 1, 'WITHSCORES');
    const parked = new Map<string, number>();
    for (let i = 0; i < top.length; i += 2) parked.set(top[i]!, Number(top[i + 1]));
    const names = [...parked.keys()];
    // Groups with only their head waiting (one task each), when the parked ones do not fill the list.
    if (names.length < limit) {
      const [, flat] = await s.client.hscan(k.groupHeads, '0', 'COUNT', String(limit));
      for (let i = 0; i < flat.length && names.length < limit; i += 2) if (!names.includes(flat[i]!)) names.push(flat[i]!);
    }
    if (names.length === 0) continue;
    const heads = await s.client.hmget(k.groupHeads, ...names);
    const blocked = await Promise.all(names.map((g) => s.client.zscore(k.groupsBlocked, g)));
    names.forEach((g, i) => {
      const was = all.get(g) ?? { group: g, waiting: 0, blocked: false };
      all.set(g, { group: g, waiting: was.waiting + (parked.get(g) ?? 0) + (heads[i] !== null ? 1 : 0), blocked: was.blocked || blocked[i] !== null });
    });
  }
  return [...all.values()].sort((a, b) => b.waiting - a.waiting || a.group.localeCompare(b.group)).slice(0, limit);
}

/**
 * A rate limit counted a reply's tasks as starting by `reply.startBy` (Redis's time). When the
 * reply reaches the handle later than that (a busy process, a slow network), starting them now
 * could exceed the limit in the window they start in: they go back to the front of the queue,
 * still counted (never more starts than the limit; at worst fewer), and true is returned so the
 * gets ask again.
 */
export function handBackIfLate(s: RedisSession, partition: number, lease: string, reply: ConsumeReply, fields: number): boolean {
  if (!reply.startBy || reply.tasks.length === 0) return false;
  // Redis reserved them after the call was sent, so no more than the time since then has passed in
  // Redis's time: on this process's own clock, with no estimate of Redis's (an estimate taken from
  // this very reply would call any reply on time, however late).
  const elapsed = reply.sentAt === undefined ? s.requests[partition]!.clock.now() - reply.now : monotonicNow() - reply.sentAt;
  if (elapsed <= reply.startBy - reply.now) return false;
  const ids: string[] = [];
  for (let i = 0; i < reply.tasks.length; i += fields) ids.push(reply.tasks[i]!);
  void s.scripts.handBack(s.config.partitions[partition]!, lease, s.config.order === 'lifo', ids).catch(() => 0);
  return true;
}

/**
 * Under a rate limit, the moment by which a task of `reply` fetched ahead must start, on this
 * process's monotonic clock: no later than the reply's margin after the call was sent, as Redis
 * counted it. Undefined without a rate limit (`startBy` 0).
 */
export function startDeadline(reply: ConsumeReply): number | undefined {
  if (!reply.startBy) return undefined;
  return reply.sentAt === undefined ? 0 : reply.sentAt + (reply.startBy - reply.now);
}
