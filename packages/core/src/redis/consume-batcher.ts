import { LeaseLost, TaskCancelled } from '../errors.js';
import { publicId } from './partitions.js';
import type { QueueKeys } from './queue-keys.js';
import { monotonicNow, type LeaseKeeper } from './lease-keeper.js';
import type { RedisSession } from './redis-session.js';
import type { Chores, ConsumeReply, FailItem } from './scripts.js';

/** What a flush asks the consumer for, and tells it back. */
export interface BatcherConsumer {
  /** How many tasks to reserve now: for waiting gets, and fetched ahead for gets about to come. */
  demand(partition: number, acks: number): { wanted: number; speculative: number };
  /** The reply of a reservation (tasks and what the queue looked like), to route to gets. */
  offer(partition: number, wanted: number, reply: ConsumeReply): void;
  /** A reservation failed (Redis unreachable): the consumer retries later. */
  reservationFailed(partition: number, error: unknown): void;
}

interface Pending<I> {
  item: I;
  resolve(): void;
  reject(e: unknown): void;
}

/** Most acknowledgements (or failures) per round trip. */
const BATCH = 500;

/**
 * One partition's round trips for a consumer handle: acknowledgements of finished tasks are
 * gathered for the current turn of the event loop and sent together, with the next reservation in
 * the same call (`consume-18.lua`); failed attempts go alongside (`fail-15.lua`). One batch
 * is in flight per partition at a time, so calls under the handle's lease never race each other;
 * what arrives meanwhile rides on the next one.
 */
export class ConsumeBatcher {
  private acks: Pending<[string, string, number]>[] = [];
  private fails: Pending<FailItem>[] = [];
  private wanted = false;
  private fresh = false;
  private lastPromote = 0;
  private lastReap = 0;
  private scheduled = false;
  /** The send scheduled for after this turn, until it goes (see hurry). */
  private pending?: NodeJS.Immediate;
  private inFlight?: Promise<void>;
  /**
   * Redis holds more tasks under this handle's lease than it knows of: a reservation whose reply
   * never arrived (a call that timed out, then ran). The next call names the ones it knows, and the
   * rest go back to the queue.
   */
  private reconcile = false;

  constructor(
    private readonly session: RedisSession,
    private readonly partition: number,
    private readonly leases: LeaseKeeper<unknown>,
    private readonly consumer: BatcherConsumer,
  ) {}

  private get keys(): QueueKeys {
    return this.session.config.partitions[this.partition]!;
  }

  /** Finishes a held task with its result (JSON) on its `attempt`-th attempt; resolves once Redis has it. */
  ack(id: string, resultJson: string, attempt: number): Promise<void> {
    return new Promise((resolve, reject) => {
      this.acks.push({ item: [id, resultJson, attempt], resolve, reject });
      this.schedule();
    });
  }

  /** Fails an attempt of a held task; resolves once Redis has it. */
  fail(item: FailItem): Promise<void> {
    return new Promise((resolve, reject) => {
      this.fails.push({ item, resolve, reject });
      this.schedule();
    });
  }

  /**
   * The consumer has gets to serve from this partition: reserve at the next flush. `fresh` after
   * an idle wait: also promote due delayed tasks and collect crashed consumers' tasks now.
   */
  request(fresh = false): void {
    this.wanted = true;
    if (fresh) this.fresh = true;
    this.schedule();
  }

  /** Resolves once nothing is pending or in flight (before a handle hands its tasks back on close). */
  async settle(): Promise<void> {
    while (this.inFlight || this.scheduled || this.acks.length + this.fails.length > 0) {
      if (!this.inFlight && !this.scheduled) this.schedule();
      await (this.inFlight ?? new Promise((r) => setImmediate(r)));
    }
  }

  private schedule(): void {
    if (this.scheduled || this.inFlight) return;
    this.scheduled = true;
    // Sent once the current turn of the event loop is done, its promise jobs included: a consumer
    // loop that acknowledges a task and then gets the next one asks for it in the same call, and
    // what arrives while a call is on its way rides on the next one, so batches form under load
    // without delaying a lone acknowledgement by more than a turn.
    this.pending = setImmediate(() => this.send());
  }

  /**
   * Sends what is pending now, among this turn's promise jobs, instead of after the turn: the
   * consumer's tasks fetched ahead run low, and their refill should be on its way while the rest
   * are worked, not after them (a consumer loop fed from its stash works through it without
   * yielding to the event loop).
   */
  hurry(): void {
    if (this.pending === undefined) return;
    clearImmediate(this.pending);
    this.pending = undefined;
    queueMicrotask(() => this.send());
  }

  private send(): void {
    this.scheduled = false;
    this.pending = undefined;
    this.inFlight = this.flush().finally(() => {
      this.inFlight = undefined;
      if (this.acks.length + this.fails.length > 0 || this.wanted || this.reconcile) this.schedule();
    });
  }

  private async flush(): Promise<void> {
    const acks = this.acks.splice(0, BATCH);
    const fails = this.fails.splice(0, BATCH);
    const wantedBefore = this.wanted;
    this.wanted = false;
    const { wanted, speculative } = this.consumer.demand(this.partition, acks.length);
    const calls: Promise<void>[] = [];
    if (fails.length > 0) calls.push(this.sendFails(fails));
    if (acks.length > 0 || wanted + speculative > 0 || this.reconcile) calls.push(this.sendConsume(acks, wanted, speculative));
    else if (wantedBefore) this.consumer.offer(this.partition, 0, emptyReply());
    await Promise.all(calls);
  }

  /** What the call should also do now: reclaim expired leases, promote due delayed tasks, refresh the lease. */
  private chores(): Chores {
    const c = this.session.config;
    const now = Date.now();
    const reclaim = this.fresh || now - this.lastReap >= c.stalledInterval / 2;
    if (reclaim) this.lastReap = now;
    // Busy consumers promote a few times a second; one waking from idle, at once.
    const promote = this.fresh || now - this.lastPromote >= 100;
    if (promote) this.lastPromote = now;
    const renewLease = this.leases.holding(this.partition) && this.leases.refreshAge(this.partition) >= c.lease / 4;
    this.fresh = false;
    return { reclaim, promote, renewLease };
  }

  private async sendConsume(acks: Pending<[string, string, number]>[], wanted: number, speculative: number): Promise<void> {
    const c = this.session.config;
    const lease = this.leases.lease(this.partition);
    const holding = this.leases.holding(this.partition);
    const chores = this.chores();
    const keep = this.reconcile ? this.leases.knownIds(this.partition) : undefined;
    const sentAt = monotonicNow();
    const log = this.session.requests[this.partition]!;
    let reply: ConsumeReply;
    try {
      reply = await this.session.request(this.partition, 'c', (req) => this.session.scripts.consume(this.keys, req, {
        lease,
        leaseMs: c.lease,
        holding,
        wanted,
        speculative,
        keepCompleted: c.keepCompleted,
        keepFailed: c.keepFailed,
        maxStalls: c.maxStalls,
        lifo: c.order === 'lifo',
        interestMs: 3 * c.stalledInterval,
        ...chores,
        acks: acks.map((a) => a.item),
        ...(keep ? { keep } : {}),
      }));
    } catch (e) {
      for (const a of acks) a.reject(e);
      if (wanted + speculative > 0) this.consumer.reservationFailed(this.partition, e);
      return;
    }
    if (!reply.leaseHeld) {
      // Every task under the lease went back to the queue while this handle could not renew it.
      this.leases.lost(this.partition);
      for (const a of acks) a.reject(new LeaseLost(c.name, a.item[0]));
      if (wanted + speculative > 0) this.consumer.offer(this.partition, wanted, emptyReply(true));
      return;
    }
    log.clock.observe(reply.now);
    this.session.noteTotals(this.partition, reply.added, reply.lostTotal);
    if (chores.renewLease || (reply.tasks.length > 0 && !holding)) this.leases.refreshed(this.partition, sentAt);
    if (keep) this.reconcile = false;
    const lost = new Set(reply.lost);
    const cancelled = new Map(reply.cancelled.map((n) => [n.jobId, n]));
    this.leases.removed(this.partition, acks.map((a) => a.item[0]));
    for (const a of acks) {
      const n = cancelled.get(a.item[0]);
      // Cancelled while its handler ran: the result is discarded, and the caller told why.
      if (n) a.reject(new TaskCancelled(this.publicId(n.jobId), n.reason, n.by));
      else if (lost.has(a.item[0])) a.reject(new LeaseLost(c.name, a.item[0]));
      else a.resolve();
      cancelled.delete(a.item[0]);
    }
    for (const n of cancelled.values()) this.leases.cancelled(this.partition, n);
    if (wanted + speculative > 0) this.consumer.offer(this.partition, wanted, { ...reply, sentAt });
    if (reply.heldCount > this.leases.knownCount(this.partition)) {
      this.reconcile = true;
      this.schedule();
    }
  }

  private publicId(jobId: string): string {
    return publicId(this.partition, jobId, this.session.config.partitions.length);
  }

  private async sendFails(fails: Pending<FailItem>[]): Promise<void> {
    const c = this.session.config;
    let lost: Set<string>;
    let cancelled: Set<string>;
    try {
      const r = await this.session.request(this.partition, 'f', (req) => this.session.scripts.fail(this.keys, req, {
        lease: this.leases.lease(this.partition),
        leaseMs: c.lease,
        keepFailed: c.keepFailed,
        lifo: c.order === 'lifo',
        keepStacks: c.keepStacks,
        items: fails.map((f) => f.item),
      }));
      lost = new Set(r.lost);
      cancelled = new Set(r.cancelled);
    } catch (e) {
      for (const f of fails) f.reject(e);
      return;
    }
    this.leases.removed(this.partition, fails.map((f) => f.item.id));
    for (const f of fails) {
      if (cancelled.has(f.item.id)) f.reject(new TaskCancelled(this.publicId(f.item.id)));
      else if (lost.has(f.item.id)) f.reject(new LeaseLost(c.name, f.item.id));
      else f.resolve();
    }
  }
}

/** A reply with nothing reserved: the consumer sees the partition as drained for now. */
function emptyReply(leaseLost = false): ConsumeReply {
  return { leaseHeld: !leaseLost, lost: [], tasks: [], nextDue: 0, shutdown: '', pending: 0, paused: false, heldCount: 0, now: 0, added: 0, lostTotal: 0, cancelled: [] };
}
