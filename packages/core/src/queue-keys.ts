/**
 * Every Redis key and channel of one queue, in one place. The queue name is
 * wrapped in a `{…}` hash tag, so BullMQ's keys and asyncq's own land in one
 * Redis Cluster slot and multi-key scripts run unchanged on a cluster.
 */
export interface QueueKeys {
  /** The name BullMQ knows the queue by: `{name}`. */
  readonly bullName: string;
  /** The key prefix, shared with BullMQ. */
  readonly prefix: string;
  readonly wait: string;
  readonly paused: string;
  readonly prioritized: string;
  readonly delayed: string;
  readonly active: string;
  readonly waitingChildren: string;
  /** asyncq's own state: the shutdown flag. */
  readonly state: string;
  /** Room reserved by producers between checking maxsize and adding (ZSET token → expiry). */
  readonly reservations: string;
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
  /** BullMQ's id counter: how many tasks were ever put with an automatic id. */
  readonly idCounter: string;
  /** A job's lock key (its value is the holder's token). */
  lock(id: string): string;
  /** Pub/sub channel for wake-ups between handles (room, drained, shutdown, reopen). */
  readonly channel: string;
}

/** Builds the keys of queue `name` under `prefix`. */
export function queueKeys(prefix: string, name: string): QueueKeys {
  const bullName = `{${name}}`;
  const base = `${prefix}:${bullName}`;
  // BullMQ forbids ':' in job ids, so the `aq:` names below can never collide with a job's key.
  return {
    bullName,
    prefix,
    wait: `${base}:wait`,
    paused: `${base}:paused`,
    prioritized: `${base}:prioritized`,
    delayed: `${base}:delayed`,
    active: `${base}:active`,
    waitingChildren: `${base}:waiting-children`,
    state: `${base}:aq:state`,
    reservations: `${base}:aq:reservations`,
    workers: `${base}:aq:workers`,
    heartbeats: `${base}:aq:heartbeats`,
    desired: `${base}:aq:desired`,
    fleets: `${base}:aq:fleets`,
    fleetBeats: `${base}:aq:fleet-beats`,
    idCounter: `${base}:id`,
    lock: (id: string) => `${base}:${id}:lock`,
    channel: `${base}:aq:signals`,
  };
}
