import calculateSlot from 'cluster-key-slot';

/**
 * Every Redis key and channel of one queue (or one partition of a partitioned queue), in one place:
 * the only module that builds key strings and SCAN patterns. The queue's tag is wrapped in a
 * `{…}` hash tag, so BullMQ's keys and asyncq's own share one Redis Cluster slot and multi-key
 * scripts run unchanged on a cluster.
 */
export interface QueueKeys {
  /** The tag inside the braces: the queue name, or `name#i` for partition i. */
  readonly tag: string;
  /** The name BullMQ knows this (partition of the) queue by: `{tag}`. */
  readonly bullName: string;
  /** The key prefix, shared with BullMQ. */
  readonly prefix: string;
  /** What every key of this queue starts with, job hashes included: `prefix:{tag}:`. */
  readonly base: string;
  readonly wait: string;
  readonly paused: string;
  readonly prioritized: string;
  readonly delayed: string;
  readonly active: string;
  readonly waitingChildren: string;
  readonly completed: string;
  readonly failed: string;
  /** BullMQ's queue meta: its presence is what makes a queue exist. */
  readonly meta: string;
  /** BullMQ's job id counter. */
  readonly id: string;
  /** BullMQ's priority counter. */
  readonly pc: string;
  /** asyncq's state: the shutdown flag and the queue's epoch. */
  readonly state: string;
  /** Tasks back from a consumer (crashed, or handing back) that wait for room under maxsize. */
  readonly stalled: string;
  /** Leases of consumer handles: lease id -> expiry (ms). */
  readonly leases: string;
  /** Monotonic totals: added, completed, failed, retried, reclaimed, discarded, cancelled. */
  readonly stats: string;
  /** Cancelled tasks still kept: job id -> cancel time (ms). */
  readonly cancelled: string;
  readonly wantTask: string;
  readonly wantRoom: string;
  readonly wantJoin: string;
  readonly wantResult: string;
  /** Live workers: id -> JSON info. */
  readonly workers: string;
  /** Worker heartbeats: id -> expiry. */
  readonly heartbeats: string;
  /** The desired number of workers (`asyncq scale`). */
  readonly desired: string;
  /** Live fleet supervisors: id -> JSON info. */
  readonly fleets: string;
  /** Fleet heartbeats: id -> expiry. */
  readonly fleetBeats: string;
  /** Pub/sub channel for wake-ups between handles (task, room, drained, shutdown, ...). */
  readonly channel: string;
  /** Schedules (on partition 0 of a partitioned queue): schedule id -> next due time (ms), +inf once ended. */
  readonly schedules: string;
  /** Schedule occurrences claimed and not yet confirmed put: occurrence JSON -> claim time (ms). */
  readonly scheduleOutbox: string;
  /** Groups with tasks parked: group -> how many (see `groups-lib.lua`). */
  readonly groups: string;
  /** Tasks parked in all groups: waiting tasks in no list of BullMQ's. */
  readonly groupsParked: string;
  /** Each group's head: group -> the id of its task in the wait list. */
  readonly groupHeads: string;
  /** Groups whose perGroup concurrency holds their next task back: group -> when last found so (ms). */
  readonly groupsBlocked: string;
  /** Every key of this queue, as a SCAN MATCH pattern (its tag escaped). */
  readonly pattern: string;
  job(id: string): string;
  logs(id: string): string;
  /** The SET of job ids held under a consumer's lease. */
  held(lease: string): string;
  /** The HASH of tasks cancelled while held under a consumer's lease, until its holder reads it. */
  revoked(lease: string): string;
  /** The ZSET of the tasks parked in group `g` (see `groups-lib.lua`). */
  group(g: string): string;
  /** The HASH of one schedule (its timing, template, next and last due times, runs). */
  schedule(id: string): string;
  /** The HASH of the history rollup of minute (`m`) or hour (`h`) number `n` since the epoch (see `finish-lib.lua`). */
  history(unit: 'm' | 'h', n: number): string;
}

/** Builds the keys of the queue (or partition) tagged `tag` under `prefix`. */
export function queueKeys(prefix: string, tag: string): QueueKeys {
  const bullName = `{${tag}}`;
  const base = `${prefix}:${bullName}:`;
  // BullMQ forbids ':' in job ids, so the `aq:` names below can never collide with a job's key.
  return {
    tag,
    bullName,
    prefix,
    base,
    wait: `${base}wait`,
    paused: `${base}paused`,
    prioritized: `${base}prioritized`,
    delayed: `${base}delayed`,
    active: `${base}active`,
    waitingChildren: `${base}waiting-children`,
    completed: `${base}completed`,
    failed: `${base}failed`,
    meta: `${base}meta`,
    id: `${base}id`,
    pc: `${base}pc`,
    state: `${base}aq:state`,
    stalled: `${base}aq:stalled`,
    leases: `${base}aq:leases`,
    stats: `${base}aq:stats`,
    cancelled: `${base}aq:cancelled`,
    wantTask: `${base}aq:want-task`,
    wantRoom: `${base}aq:want-room`,
    wantJoin: `${base}aq:want-join`,
    wantResult: `${base}aq:want-result`,
    workers: `${base}aq:workers`,
    heartbeats: `${base}aq:heartbeats`,
    desired: `${base}aq:desired`,
    fleets: `${base}aq:fleets`,
    fleetBeats: `${base}aq:fleet-beats`,
    channel: `${base}aq:signals`,
    schedules: `${base}aq:schedules`,
    scheduleOutbox: `${base}aq:schedule-outbox`,
    groups: `${base}aq:groups`,
    groupsParked: `${base}aq:gparked`,
    groupHeads: `${base}aq:ghead`,
    groupsBlocked: `${base}aq:gblocked`,
    pattern: `${escapeGlob(base)}*`,
    job: (id) => `${base}${id}`,
    logs: (id) => `${base}${id}:logs`,
    held: (lease) => `${base}aq:held:${lease}`,
    revoked: (lease) => `${base}aq:revoked:${lease}`,
    schedule: (id) => `${base}aq:schedule:${id}`,
    group: (g) => `${base}aq:g:${g}`,
    history: (unit, n) => `${base}aq:hist:${unit}:${n}`,
  };
}

const SLOTS = 16384;

/**
 * The tags of a queue's partitions: the queue name itself for one partition; else `name#i`, with a
 * salt (`name#i.s`) where needed so that partition i's hash slot lies in the i-th K-th of the slot
 * space. An evenly split Redis Cluster with K masters then holds one partition on each, and every
 * process computes the same tags without asking the cluster.
 */
export function partitionTags(name: string, partitions: number): string[] {
  if (partitions === 1) return [name];
  return Array.from({ length: partitions }, (_, i) => {
    const low = Math.floor((i * SLOTS) / partitions);
    const high = Math.floor(((i + 1) * SLOTS) / partitions);
    for (let salt = 0; salt < 100_000; salt++) {
      const tag = salt === 0 ? `${name}#${i}` : `${name}#${i}.${salt}`;
      const slot = calculateSlot(`{${tag}}`);
      if (slot >= low && slot < high) return tag;
    }
    return `${name}#${i}`; // unreachable in practice: ~K tries find a slot in range
  });
}

/** The logical queue and partition of a tag found in Redis (`name`, `name#i` or `name#i.s`). */
export function parseTag(tag: string): { name: string; partition: number } {
  const m = /^(.*)#(\d+)(?:\.\d+)?$/.exec(tag);
  return m ? { name: m[1]!, partition: Number(m[2]) } : { name: tag, partition: 0 };
}

/**
 * Where a partitioned queue records its partition count, under its plain name's tag: how tools
 * that know only the name find the partitions, and how a handle opened with another count is refused.
 */
export function layoutKey(prefix: string, name: string): string {
  return `${prefix}:{${name}}:aq:partitions`;
}

/** SCAN MATCH pattern of every queue's meta key under `prefix`. */
export function metaPattern(prefix: string): string {
  return `${escapeGlob(prefix)}:{*}:meta`;
}

/** The tag of a key matched by {@link metaPattern}, or undefined. */
export function tagOfMetaKey(prefix: string, key: string): string | undefined {
  const head = `${prefix}:{`;
  if (!key.startsWith(head) || !key.endsWith('}:meta')) return undefined;
  const tag = key.slice(head.length, -'}:meta'.length);
  return tag.includes('{') || tag.includes('}') ? undefined : tag;
}

/** Escapes the characters SCAN MATCH treats as glob syntax, so a name only ever matches itself. */
export function escapeGlob(s: string): string {
  return s.replace(/[*?[\]\\]/g, (c) => `\\${c}`);
}
