import { abortableWait, type Waiter } from '../abortable-wait.js';
import { QueueClosed, QueueFull, QueueShutDown } from '../errors.js';
import { checkInt } from '../options.js';
import { preparePut, preparePutMany, type PreparedPut, type PutLimits } from '../put-checks.js';
import type { PutManyItem, PutManyOptions, PutOptions, WaitOptions } from '../types.js';
import { isTransient } from './connection.js';
import { partitionOfKey, publicId, quota } from './partitions.js';
import { recheckDelay } from './queue-signals.js';
import type { QueueConfig } from './queue-config.js';
import type { RedisSession } from './redis-session.js';
import type { AddItem } from './scripts.js';

/** A put (or putMany) waiting in this handle's line for room. */
interface Waiting {
  items: PreparedPut[];
  ids: string[];
  batchSize: number;
  onProgress: ((put: number, total: number) => void) | undefined;
  waiter: Waiter<string[]>;
  /** An add for it is on its way to Redis: an abort then waits for the answer. */
  busy: boolean;
}

/**
 * The put side of a handle: checks items before anything reaches Redis, then adds them through
 * `add-11.lua`, which applies the shutdown flag and the maxsize gate in the same atomic step, so
 * a put is one round trip. On a partitioned queue, puts go round robin (or by key) and each
 * partition admits up to its share of maxsize; a put that finds its partition full tries the
 * others, so it waits only when the whole queue is at maxsize. Waiting puts are served in order,
 * woken by `room` signals with a slow safety re-check.
 */
export class PutGate {
  private readonly line: Waiting[] = [];
  private loopRunning = false;
  private rr = 0;
  private closed = false;
  private readonly limits: PutLimits;

  constructor(
    private readonly config: QueueConfig,
    private readonly session: () => Promise<RedisSession>,
  ) {
    this.limits = { order: config.order, maxPayloadBytes: config.maxPayloadBytes };
  }

  async put(item: unknown, opts?: PutOptions): Promise<string> {
    this.checkOpen();
    const prepared = preparePut(this.limits, item, opts);
    const ids = await this.submit([prepared], opts, 1, undefined);
    return ids[0]!;
  }

  async putNowait(item: unknown, opts?: Omit<PutOptions, 'signal' | 'timeout'>): Promise<string> {
    this.checkOpen();
    const prepared = preparePut(this.limits, item, opts);
    const ids = await this.tryAdd(await this.session(), [prepared], false);
    if (ids.length === 0) throw new QueueFull(this.config.name, this.config.maxsize);
    return ids[0]!;
  }

  async putMany(items: Iterable<PutManyItem<unknown>>, opts?: PutManyOptions): Promise<string[]> {
    this.checkOpen();
    const prepared = preparePutMany(this.limits, items);
    const batchSize = checkInt('batchSize', opts?.batchSize, 1000, 1, 10_000);
    return this.submit(prepared, opts, batchSize, opts?.onProgress);
  }

  /** Puts waiting for room fail with QueueClosed. */
  close(): void {
    this.closed = true;
    for (const w of this.line.splice(0)) w.waiter.reject(new QueueClosed(this.config.name));
  }

  /** Adds while there is room; once the queue is full, waits in line. */
  private async submit(
    items: PreparedPut[],
    opts: WaitOptions | undefined,
    batchSize: number,
    onProgress: ((put: number, total: number) => void) | undefined,
  ): Promise<string[]> {
    const s = await this.session();
    const ids: string[] = [];
    while (ids.length < items.length && this.line.length === 0) {
      const got = await this.tryAdd(s, items.slice(ids.length, ids.length + batchSize), false);
      if (got.length === 0) break;
      ids.push(...got);
      onProgress?.(ids.length, items.length);
    }
    if (ids.length === items.length) return ids;
    await s.signals(); // subscribed before announcing, so no "room" can be missed
    return abortableWait<string[]>('put', opts, (waiter) => {
      const w: Waiting = { items, ids, batchSize, onProgress, waiter, busy: false };
      this.line.push(w);
      void this.serveLine(s);
      return () => {
        if (w.busy) return false;
        const i = this.line.indexOf(w);
        if (i >= 0) this.line.splice(i, 1);
        return true;
      };
    });
  }

  /** Serves the waiting puts in order, one add at a time, woken by "room" signals. */
  private async serveLine(s: RedisSession): Promise<void> {
    if (this.loopRunning) return;
    this.loopRunning = true;
    try {
      const signals = await s.signals();
      let round = 0;
      while (this.line.length > 0 && !this.closed) {
        const head = this.line[0]!;
        if (head.waiter.settled) {
          this.line.shift();
          continue;
        }
        head.busy = true;
        let got: string[] = [];
        try {
          got = await this.tryAdd(s, head.items.slice(head.ids.length, head.ids.length + head.batchSize), true);
        } catch (e) {
          head.busy = false;
          if (!isTransient(e)) {
            // Shut down (or a mistake that will not go away): every waiting put learns it now.
            for (const w of this.line.splice(0)) w.waiter.reject(e);
            break;
          }
        }
        head.busy = false;
        if (got.length > 0) {
          round = 0;
          head.ids.push(...got);
          head.onProgress?.(head.ids.length, head.items.length);
          if (head.ids.length === head.items.length) {
            this.line.shift();
            head.waiter.resolve(head.ids);
            continue;
          }
        }
        if (head.waiter.pendingAbort) {
          this.line.shift();
          head.waiter.reject(head.waiter.pendingAbort);
          continue;
        }
        if (got.length === 0) await signals.next(['room', 'shutdown'], recheckDelay(round++, this.config.stalledInterval));
      }
    } finally {
      this.loopRunning = false;
    }
  }

  /**
   * One add of `items` (as many as fit): to their key's partition, or else to the partitions in
   * turn until one has room. Resolves to the ids added or already there (a prefix of `items`);
   * empty when full. `announce` makes a full partition tell consumers that a put waits for room.
   */
  private async tryAdd(s: RedisSession, items: PreparedPut[], announce: boolean): Promise<string[]> {
    const k = this.config.partitions.length;
    const fixed = routeOf(items[0]!, k);
    // A run of items that go to the same place: all to one keyed partition, or all unkeyed.
    let n = 1;
    while (n < items.length && routeOf(items[n]!, k) === fixed) n++;
    const run = items.slice(0, n);
    const tries = fixed === undefined ? Array.from({ length: k }, (_, i) => (this.rr + i) % k) : [fixed];
    for (const p of tries) {
      const ids = await this.addTo(s, p, run, announce);
      if (ids.length > 0) {
        if (fixed === undefined) this.rr = (p + 1) % k;
        return ids;
      }
    }
    return [];
  }

  private async addTo(s: RedisSession, p: number, items: PreparedPut[], announce: boolean): Promise<string[]> {
    const c = this.config;
    const k = c.partitions.length;
    const r = await s.scripts.add(
      c.partitions[p]!,
      quota(c.maxsize, p, k),
      s.epoch,
      c.order === 'lifo',
      announce ? 3 * c.stalledInterval : 0,
      items.map((x) => toAddItem(x, c)),
    );
    if (r.handled < 0) throw new QueueShutDown(c.name);
    return r.ids.map((id) => publicId(p, id, k));
  }

  private checkOpen(): void {
    if (this.closed) throw new QueueClosed(this.config.name);
  }
}

/** The partition an item must go to (by its key, else its dedup id), or undefined for any. */
function routeOf(item: PreparedPut, partitions: number): number | undefined {
  if (partitions === 1) return 0;
  const key = item.opts.key ?? item.opts.id;
  return key === undefined ? undefined : partitionOfKey(key, partitions);
}

/** A checked put as the job hash stores it: BullMQ's fields and options. */
function toAddItem(x: PreparedPut, c: QueueConfig): AddItem {
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
  return { id: o.id ?? '', name: o.name, data: x.json, opts: JSON.stringify(opts), delay: o.delay, priority: o.priority === undefined ? 0 : o.priority + 1 };
}
