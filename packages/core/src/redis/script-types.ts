// The typed arguments and replies of asyncq's Lua scripts (lua/*.lua), used by scripts.ts.

/** What a consume call should also do now: each is asked for only when due. */
export interface Chores {
  /** Return expired leases' tasks to the queue. */
  reclaim: boolean;
  /** Make due delayed tasks ready. */
  promote: boolean;
  /** Push this handle's lease expiry forward. */
  renewLease: boolean;
}

/** Options of a consume call (`consume-18.lua`). */
export interface ConsumeArgs extends Chores {
  lease: string;
  leaseMs: number;
  /** The handle holds tasks under this lease (a missing lease then means it was lost). */
  holding: boolean;
  wanted: number;
  speculative: number;
  keepCompleted: number;
  keepFailed: number;
  maxStalls: number;
  lifo: boolean;
  interestMs: number;
  /** Acknowledgements: job id, result (JSON), attempts made. */
  acks: [string, string, number][];
  /** The job ids the handle knows it holds under the lease: others under it go back (see consume-18.lua). */
  keep?: string[];
}

/** How `consume-18.lua` answered. */
export interface ConsumeReply {
  /** False when the handle's lease on this partition was lost: nothing was applied. */
  leaseHeld: boolean;
  /** Acknowledged ids this handle no longer held. */
  lost: string[];
  /** Reserved tasks: id, name, data, opts, timestamp, delay, atm per task. */
  tasks: (string | null)[];
  /** When the next delayed task is due (ms since the epoch), 0 for none; read only when fewer than wanted were found. */
  nextDue: number;
  /** The shutdown mode, "" when open; read only when fewer than wanted were found. */
  shutdown: string;
  /** Ready and delayed tasks left; read only when fewer than wanted were found. */
  pending: number;
  paused: boolean;
  /** Tasks held under the lease in Redis after the call. */
  heldCount: number;
  /** Redis's time when the call ran (ms). */
  now: number;
  /** The partition's total of tasks ever put. */
  added: number;
  /** Every loss recorded on the partition (see `count-10.lua`). */
  lostTotal: number;
  /** Tasks cancelled under the lease: refused acknowledgements, and cancels the handle may not know of. */
  cancelled: CancelNotice[];
  /** Under a rate limit: Redis's time by which the tasks must start (they were counted so); 0 or absent: any time. */
  startBy?: number;
  /** Set by the client, not the script: when the call was sent (`monotonicNow()`), to tell how late its reply is. */
  sentAt?: number;
}

/** A task cancelled while a handle held it: its job id, why and by whom. */
export interface CancelNotice {
  jobId: string;
  reason: string;
  by: string;
}

/** What `count-10.lua` read. */
export interface CountReply {
  wait: number;
  paused: number;
  prioritized: number;
  delayed: number;
  active: number;
  waitingChildren: number;
  shutdown: string;
  epoch: string;
  added: number;
  /** Tasks back from a consumer, waiting for room under maxsize (unfinished, not yet ready). */
  stalled: number;
  /** Every loss recorded on the partition: written off, rolled back by a failover, vanished. */
  lostTotal: number;
  /** Tasks the ledger says are unfinished but no list holds: lost by Redis, not yet written off. */
  missing: number;
}

/** How a task ended, as `outcomes-1.lua` read it. */
export type OutcomeReply =
  | { state: 'missing' | 'pending' }
  | { state: 'completed'; returnvalue: string }
  | { state: 'failed'; reason: string; stacktrace: string }
  | { state: 'cancelled'; reason: string; by: string };

/** Where a task is, as `task-state-2.lua` read it. */
export type TaskStateReply = 'missing' | 'waiting' | 'delayed' | 'running' | 'completed' | 'failed' | 'cancelled';

/** How `cancel-12.lua` answered for one task. */
export type CancelStatus =
  | 'cancelled:waiting'
  | 'cancelled:delayed'
  | 'cancelled:blocked'
  | 'cancelled:running'
  | 'finished:completed'
  | 'finished:failed'
  | 'finished:cancelled'
  | 'missing';

/** One task of a flow for `flow-13.lua`: as an add item, with "" as the data of a step fed by its predecessors. */
export type FlowItem = Omit<AddItem, 'id'>;

/** One task for `add-12.lua`. */
export interface AddItem {
  /** A dedup id, or "" for the next counter value. */
  id: string;
  name: string;
  data: string;
  opts: string;
  delay: number;
  /** 0 for none, else asyncq priority + 1 (BullMQ's 0 means "no priority"). */
  priority: number;
  /** The task's group (`PutOptions.group`), or "" for none. */
  group: string;
}

/** One failed attempt for `fail-15.lua`. */
export interface FailItem {
  id: string;
  message: string;
  stack: string;
  /** ms until the retry, 0 for at once, -1 when the task failed for good. */
  retryIn: number;
  /** The handler threw `RateLimited`: back after `retryIn` without using an attempt. */
  rateLimited?: boolean;
}

/** What `figures-18.lua` read of one queue or partition, as it came (numbers and texts, "" when unset). */
export type FiguresReply = (number | string)[];

/** What `purge-10.lua` removes. */
export type PurgeWhich = 'waiting' | 'delayed' | 'both' | 'completed' | 'failed';
