import { abortableWait, type Waiter } from '../abortable-wait.js';
import { ConfigError, QueueClosed, QueueFull, QueueShutDown } from '../errors.js';
import { checkInt } from '../options.js';
import { preparePut, preparePutMany, type PreparedPut, type PutLimits } from '../put-checks.js';
import type { PutManyItem, PutManyOptions, PutOptions, WaitOptions } from '../types.js';
import { publicId, quota, sharingPartitions } from './partitions.js';
import { checkShare, routeOf } from './put-route.js';
import { isUnsent } from './connection.js';
import { recheckDelay } from './queue-signals.js';
import type { QueueConfig } from './queue-config.js';
import type { RedisSession } from './redis-session.js';
import type { AddItem } from './scripts.js';

/** A put (or putMany) in this handle's line. */
interface Waiting {
  items: PreparedPut[];
  ids: string[];
  /** Items of it on their way to Redis now. */
  sending: number;
  batchSize: number;
  onProgress: ((put: number, total: number) => void) | undefined;
  waiter: Waiter<string[]>;
}

/** Most items per add call. */
const BATCH = 1000;
/** How long a partition that refused an add unrun is tried after the others. */
const STUCK_MS = 30_000;

/**
 * The put side of a handle: checks items before anything reaches Redis, then adds them through
 * `add-12.lua`, which applies the shutdown flag and the maxsize gate in the same atomic step, so a
 * put is one round trip. Puts wait in one line, in order; every add call takes as many as it can
 * from the front of the line, so concurrent puts share round trips. A bounded queue has one add in
 * flight at a time (so a full queue stops the line in order); an unbounded one several, kept in
 * order by the connection.
 *
 * On a partitioned queue, puts go round robin (or by key) and each partition admits up to its
 * share of maxsize; a batch that finds its partition full tries the others, so puts wait only when
 * the whole queue is at maxsize. Waiting puts are woken by `room` signals, with a slow re-check.
 */
export class PutGate {
  private readonly line: Waiting[] = [];
  private inFlight = 0;
  private waitingForRoom = false;
  /** Re-checks for room since the line last moved: quick at first, then every stalledInterval. */
  private roomRound = 0;
  private rr = 0;
  private closed = false;
  private readonly limits: PutLimits;
  /** Per partition: until when it counts as stuck (it refused an add unrun), so runs try it last. */
  private readonly stuckUntil: number[] = [];
  private readonly maxInFlight: number;

  constructor(
    private readonly config: QueueConfig,
    private readonly session: () => Promise<RedisSession>,
  ) {
    this.limits = { order: config.order, maxPayloadBytes: config.maxPayloadBytes };
    this.maxInFlight = config.maxsize === 0 ? 4 : 1;
  }

  async put(item: unknown, opts?: PutOptions): Promise<string> {
    this.checkOpen();
    const prepared = preparePut(this.limits, item, opts);
    checkShare(this.config, [prepared]);
    return (await this.enqueue([prepared], opts, 1, undefined))[0]!;
  }

  async putNowait(item: unknown, opts?: Omit<PutOptions, 'signal' | 'timeout'>): Promise<string> {
    this.checkOpen();
    const prepared = preparePut(this.limits, item, opts);
    checkShare(this.config, [prepared]);
    const s = await this.session();
    // Never ahead of puts already waiting in this handle's line.
    if (this.line.length > 0) throw new QueueFull(this.config.name, this.config.maxsize);
    const ids = await this.addRun(s, [prepared], false);
    if (ids.length === 0) throw new QueueFull(this.config.name, this.config.maxsize);
    return ids[0]!;
  }

  async putMany(items: Iterable<PutManyItem<unknown>>, opts?: PutManyOptions): Promise<string[]> {
    this.checkOpen();
    const prepared = preparePutMany(this.limits, items);
    const batchSize = checkInt('batchSize', opts?.batchSize, 1000, 1, 10_000);
    if (prepared.length === 0) return [];
    checkShare(this.config, prepared);
    return this.enqueue(prepared, opts, batchSize, opts?.onProgress);
  }

  /** Puts waiting for room fail with QueueClosed. */
  close(): void {
    this.closed = true;
    for (const w of this.line.splice(0)) w.waiter.reject(new QueueClosed(this.config.name));
  }

  private async enqueue(items: PreparedPut[], opts: WaitOptions | undefined, batchSize: number, onProgress: Waiting['onProgress']): Promise<string[]> {
    const s = await this.session();
    return abortableWait<string[]>('put', opts, (waiter) => {
      const w: Waiting = { items, ids: [], sending: 0, batchSize, onProgress, waiter };
      this.line.push(w);
      this.pump(s);
      return () => {
        if (w.sending > 0) return false; // its items are on their way: the answer settles it
        this.drop(w);
        return true;
      };
    });
  }

  /** Sends the next batch from the front of the line, while the in-flight limit allows. */
  private pump(s: RedisSession): void {
    while (!this.closed && !this.waitingForRoom && this.inFlight < this.maxInFlight) {
      const batch = this.nextBatch();
      if (batch.length === 0) return;
      this.inFlight++;
      void this.send(s, batch).finally(() => {
        this.inFlight--;
        this.pump(s);
      });
    }
  }

  /** The next items of the line not yet sent, in order, up to BATCH (a putMany sends `batchSize` at a time). */
  private nextBatch(): { w: Waiting; items: PreparedPut[] }[] {
    const batch: { w: Waiting; items: PreparedPut[] }[] = [];
    let n = 0;
    for (const w of this.line) {
      const from = w.ids.length + w.sending;
      if (from >= w.items.length || w.waiter.settled) continue;
      const take = w.items.slice(from, from + Math.min(w.batchSize, BATCH - n));
      if (take.length === 0) break;
      w.sending += take.length;
      batch.push({ w, items: take });
      n += take.length;
      if (n >= BATCH || w.items.length > from + take.length) break; // keep the line's order behind a partial one
    }
    return batch;
  }

  /** One add call for a batch (a few when it spans partitions); what does not fit waits in line for room. */
  private async send(s: RedisSession, batch: { w: Waiting; items: PreparedPut[] }[]): Promise<void> {
    const all = batch.flatMap((b) => b.items);
    let ids: string[] = [];
    let error: unknown;
    let full = false;
    try {
      while (ids.length < all.length) {
        const got = await this.addRun(s, all.slice(ids.length), this.maxInFlight === 1);
        if (got.length === 0) {
          full = true;
          break;
        }
        ids.push(...got);
      }
    } catch (e) {
      error = e;
    }
    for (const { w, items } of batch) {
      w.sending -= items.length;
      const mine = ids.splice(0, items.length);
      if (mine.length > 0) {
        this.roomRound = 0;
        w.ids.push(...mine);
        w.onProgress?.(w.ids.length, w.items.length);
      }
      if (w.ids.length === w.items.length) this.finish(w, undefined);
      else if (error !== undefined) this.finish(w, error);
      else if (w.waiter.pendingAbort && w.sending === 0) this.finish(w, w.waiter.pendingAbort);
    }
    // Shut down: every put waiting in line learns it now.
    if (error instanceof QueueShutDown) for (const w of [...this.line]) if (w.sending === 0) this.finish(w, error);
    if (full && !this.closed) await this.waitForRoom(s);
  }

  /** Resolves a waiter with its ids, or rejects it (its add failed, or its abort arrived meanwhile). */
  private finish(w: Waiting, error: unknown): void {
    this.drop(w);
    if (error === undefined) w.waiter.resolve(w.ids);
    else w.waiter.reject(w.items.length > 1 ? partly(error, w.ids, w.items.length) : error);
  }

  /** The queue is full: the line waits for a "room" signal (or the slow re-check), then goes on. */
  private async waitForRoom(s: RedisSession): Promise<void> {
    this.waitingForRoom = true;
    try {
      const signals = await s.signals();
      await signals.next(['room', 'shutdown'], recheckDelay(this.roomRound++, this.config.stalledInterval));
    } finally {
      this.waitingForRoom = false;
    }
  }

  /**
   * One add of `items` (as many as fit): to their key's partition, or else to the partitions in
   * turn until one has room. Resolves to the ids added or already there (a prefix of `items`);
   * empty when full. `announce` makes a full partition tell consumers that a put waits for room.
   */
  private async addRun(s: RedisSession, items: PreparedPut[], announce: boolean): Promise<string[]> {
    const k = this.config.partitions.length;
    const fixed = routeOf(items[0]!, k);
    // A run of items that go to the same place: all to one keyed partition, or all unkeyed.
    let n = 1;
    while (n < items.length && routeOf(items[n]!, k) === fixed) n++;
    const run = items.slice(0, n);
    // Below the partition count, maxsize gives a share only to the first partitions: the rest admit nothing.
    const open = sharingPartitions(this.config.maxsize, k);
    const inTurn = fixed === undefined ? Array.from({ length: open }, (_, i) => (this.rr + i) % open) : [fixed];
    const started = Date.now();
    for (let round = 0; ; round++) {
      // Partitions that refused lately (a slot stuck migrating, a failover) go last.
      const now = Date.now();
      const tries = [...inTurn.filter((p) => (this.stuckUntil[p] ?? 0) <= now), ...inTurn.filter((p) => (this.stuckUntil[p] ?? 0) > now)];
      let refused: unknown;
      for (const p of tries) {
        let ids: string[];
        try {
          ids = await this.addTo(s, p, run, announce);
        } catch (e) {
          // Refused unrun: another partition can take an unkeyed run, as when this one is full.
          if (!isUnsent(e)) throw e;
          this.stuckUntil[p] = Date.now() + STUCK_MS;
          refused = e;
          continue;
        }
        if (ids.length > 0) {
          if (fixed === undefined) this.rr = (p + 1) % open;
          return ids;
        }
      }
      if (refused === undefined) return [];
      // Every partition it may go to refused: ride it out (a failover, a reshard) up to the command timeout.
      if (Date.now() - started > this.config.commandTimeout) throw refused;
      await new Promise((r) => setTimeout(r, Math.min(100 * 2 ** round, 1000)));
    }
  }

  private async addTo(s: RedisSession, p: number, items: PreparedPut[], announce: boolean): Promise<string[]> {
    const c = this.config;
    const k = c.partitions.length;
    const r = await s.request(p, 'p', (req) =>
      s.scripts.add(c.partitions[p]!, req, quota(c.maxsize, p, k), s.nextEpoch(), c.order === 'lifo', announce ? 3 * c.stalledInterval : 0, items.map((x) => toAddItem(x, c))),
    );
    if (r.handled < 0) throw new QueueShutDown(c.name);
    s.noteTotals(p, r.added, r.lostTotal);
    return r.ids.map((id) => publicId(p, id, k));
  }

  private drop(w: Waiting): void {
    const i = this.line.indexOf(w);
    if (i >= 0) this.line.splice(i, 1);
  }

  private checkOpen(): void {
    if (this.closed) throw new QueueClosed(this.config.name);
  }
}

/** A checked put as the job hash stores it: BullMQ's fields and options. */
export function toAddItem(x: PreparedPut, c: QueueConfig): AddItem {
  const o = x.opts;
  const opts: Record<string, unknown> = {
    attempts: o.attempts,
    removeOnComplete: c.keepCompleted === 0 ? true : c.keepCompleted,
    removeOnFail: c.keepFailed === 0 ? true : c.keepFailed,
    stackTraceLimit: c.keepStacks,
  };
  if (o.id !== undefined) opts.jobId = o.id;
  if (o.priority !== undefined) opts.priority = o.priority + 1; // BullMQ's 0 means "no priority"
  if (o.delay > 0) opts.delay = o.delay;
  if (o.backoff) opts.backoff = o.backoff;
  if (c.order === 'lifo') opts.lifo = true;
  if (o.group !== undefined) opts.group = { id: o.group }; // BullMQ Pro's place for it
  return {
    id: o.id ?? '', name: o.name, data: x.json, opts: JSON.stringify(opts), delay: o.delay,
    priority: o.priority === undefined ? 0 : o.priority + 1, group: o.group ?? '',
  };
}

/**
 * The error of a putMany that stored some of its items first: the same kind of error (so
 * `instanceof` and `code` still tell what went wrong), saying how many were stored, with their ids
 * as `storedIds`, so a caller can put the rest and nothing twice.
 */
function partly(error: unknown, stored: readonly string[], total: number): unknown {
  if (!(error instanceof Error) || stored.length === 0) return error;
  const e = Object.assign(Object.create(Object.getPrototypeOf(error) as object) as Error, error, { storedIds: [...stored] });
  e.message = `${error.message} (putMany stored ${stored.length} of its ${total} items before this: their ids are on the error's storedIds)`;
  e.stack = `${e.name}: ${e.message}`;
  if (error.cause !== undefined) e.cause = error.cause;
  return e;
}
