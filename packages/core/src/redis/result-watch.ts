import { abortableWait } from '../abortable-wait.js';
import { QueueClosed, TaskCancelled, TaskFailed, TaskNotFound } from '../errors.js';
import type { WaitOptions } from '../types.js';
import { KeyedWaiters, type Outcome } from '../waiters.js';
import { isTransient } from './connection.js';
import { locate, publicId } from './partitions.js';
import type { QueueConfig } from './queue-config.js';
import type { Signal } from './queue-signals.js';
import type { RedisSession } from './redis-session.js';
import type { OutcomeReply } from './scripts.js';

/** Most ids one outcomes call reads. */
const BATCH = 1000;
/** The slow safety re-check of every waited-for task, in stalled intervals. */
const SWEEP_INTERVALS = 15;

/**
 * The result waits of a handle (`result()`, and through it every TaskRef, `gather`, `wait`...), at
 * a cost that does not grow with how many are waited for at once: one subscription per handle (its
 * queue's channels), and per task about one Redis command.
 *
 * - A task waited for is read once (`outcomes-1.lua`, many per call), which also announces the wait
 *   (the want-result flag): from then on, every script that finishes a task tells the channel, one
 *   `fin:` message per call with the ids it finished and each small result, so most results arrive
 *   in the message and need no read at all; a large one, a failure or a cancel is read then.
 * - The subscription starts before the first read, so a task that finishes after its read is told.
 * - The flag is refreshed every stalledInterval while anything is waited for (one SET per partition,
 *   not per task); if the process stalled past its expiry, or the subscription was re-established
 *   (messages may have been missed), every waited-for task is read again; so it is, slowly, every
 *   {@link SWEEP_INTERVALS} intervals, in case a message was lost some other way.
 */
export class ResultWatch {
  private readonly waiters = new KeyedWaiters<unknown>();
  private readonly toRead = new Set<string>();
  private reading = false;
  private listening?: Promise<void>;
  private stopListening = (): void => {};
  private timer?: NodeJS.Timeout;
  private lastAnnounce = 0;
  private lastSweep = 0;
  private closed = false;

  constructor(
    private readonly config: QueueConfig,
    private readonly session: () => Promise<RedisSession>,
  ) {}

  async result(id: string, opts?: WaitOptions): Promise<unknown> {
    this.checkOpen();
    const s = await this.session();
    await this.listen(s);
    return abortableWait<unknown>('result', opts, (waiter) => {
      if (this.waiters.size === 0) this.lastSweep = Date.now();
      const off = this.waiters.add(id, waiter);
      this.read(s, [id]);
      return off;
    });
  }

  close(): void {
    this.closed = true;
    clearTimeout(this.timer);
    this.stopListening();
    this.waiters.rejectAll(new QueueClosed(this.config.name));
  }

  private listen(s: RedisSession): Promise<void> {
    this.listening ??= (async () => {
      const signals = await s.signals();
      this.stopListening = signals.on((sig, p) => this.onSignal(s, sig, p));
    })();
    return this.listening;
  }

  private onSignal(s: RedisSession, sig: Signal, partition: number): void {
    if (this.waiters.size === 0) return;
    if (sig === 'reconnected') this.read(s, this.waiters.keys());
    else if (sig.startsWith('fin:')) this.onFinished(s, sig.slice(4), partition);
    else if (sig.startsWith('done:')) this.read(s, [publicId(partition, sig.slice(5), this.config.partitions.length)].filter((id) => this.waiters.has(id)));
  }

  /** A `fin:` message: small results settle at once, the rest are read. */
  private onFinished(s: RedisSession, json: string, partition: number): void {
    let entries: unknown;
    try {
      entries = JSON.parse(json);
    } catch {
      return;
    }
    if (!Array.isArray(entries)) return;
    const k = this.config.partitions.length;
    const unread: string[] = [];
    for (const e of entries as unknown[]) {
      if (!Array.isArray(e) || typeof e[0] !== 'string') continue;
      const id = publicId(partition, e[0], k);
      if (!this.waiters.has(id)) continue;
      if (typeof e[1] === 'string') this.waiters.settle(id, { value: parseOr(e[1], e[1]) });
      else unread.push(id);
    }
    if (unread.length > 0) this.read(s, unread);
  }

  /** Reads the outcomes of `ids` soon, in batches with any others asked for meanwhile. */
  private read(s: RedisSession, ids: readonly string[]): void {
    for (const id of ids) this.toRead.add(id);
    if (this.reading || this.toRead.size === 0) return;
    this.reading = true;
    setImmediate(() => void this.readAll(s));
  }

  private async readAll(s: RedisSession): Promise<void> {
    const announceMs = 3 * this.config.stalledInterval;
    try {
      while (this.toRead.size > 0 && !this.closed) {
        const ids = [...this.toRead].filter((id) => this.waiters.has(id));
        this.toRead.clear();
        const byPartition = new Map<number, { id: string; jobId: string }[]>();
        for (const id of ids) {
          const { partition, jobId } = locate(id, this.config.partitions.length);
          const list = byPartition.get(partition) ?? [];
          list.push({ id, jobId });
          byPartition.set(partition, list);
        }
        this.lastAnnounce = Date.now();
        await Promise.all(
          [...byPartition].map(async ([p, list]) => {
            for (let i = 0; i < list.length; i += BATCH) {
              const part = list.slice(i, i + BATCH);
              let replies: OutcomeReply[];
              try {
                replies = await s.scripts.outcomes(this.config.partitions[p]!, part.map((x) => x.jobId), announceMs);
              } catch (e) {
                // Redis is away: the next announcement round reads everything again.
                if (isTransient(e)) {
                  this.lastAnnounce = 0;
                  return;
                }
                for (const x of part) this.waiters.settle(x.id, { error: e instanceof Error ? e : new Error(String(e)) });
                continue;
              }
              part.forEach((x, j) => {
                const outcome = toOutcome(this.config.name, x.id, replies[j] ?? { state: 'pending' });
                if (outcome) this.waiters.settle(x.id, outcome);
              });
            }
          }),
        );
      }
    } finally {
      this.reading = false;
      this.keepAnnounced(s);
    }
  }

  /**
   * While tasks are waited for, the want-result flag is refreshed on the partitions they are in
   * (every stalledInterval, living three): finishing scripts keep telling. A refresh that comes late
   * (the process stalled), and the slow sweep, read every waited-for task again.
   */
  private keepAnnounced(s: RedisSession): void {
    if (this.timer || this.closed || this.waiters.size === 0) return;
    const interval = this.config.stalledInterval;
    this.timer = setTimeout(() => {
      this.timer = undefined;
      if (this.closed || this.waiters.size === 0) return;
      const now = Date.now();
      if (now - this.lastAnnounce >= 3 * interval || now - this.lastSweep >= SWEEP_INTERVALS * interval) {
        this.lastSweep = now;
        this.read(s, this.waiters.keys());
        return;
      }
      this.lastAnnounce = now;
      const parts = new Set(this.waiters.keys().map((id) => locate(id, this.config.partitions.length).partition));
      void Promise.all([...parts].map((p) => s.client.set(this.config.partitions[p]!.wantResult, '1', 'PX', 3 * interval))).catch(() => {
        this.lastAnnounce = 0; // not refreshed: read everything at the next round
      });
      this.keepAnnounced(s);
    }, interval);
    this.timer.unref();
  }

  private checkOpen(): void {
    if (this.closed) throw new QueueClosed(this.config.name);
  }
}

/** How a task ended, as `result()` reports it, or undefined while it is unfinished. */
export function toOutcome(queue: string, id: string, o: OutcomeReply): Outcome | undefined {
  switch (o.state) {
    case 'pending':
      return undefined;
    case 'missing':
      return { error: new TaskNotFound(queue, id) };
    case 'completed':
      return { value: parseOr(o.returnvalue, o.returnvalue) };
    case 'cancelled':
      return { error: new TaskCancelled(id, o.reason, o.by) };
    case 'failed': {
      const stacks = parseOr(o.stacktrace, []) as unknown;
      const last = Array.isArray(stacks) && typeof stacks.at(-1) === 'string' ? (stacks.at(-1) as string) : undefined;
      return { error: new TaskFailed(id, o.reason, last) };
    }
  }
}

function parseOr(json: string, fallback: unknown): unknown {
  try {
    return JSON.parse(json);
  } catch {
    return fallback;
  }
}
