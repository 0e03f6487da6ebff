import { abortableWait, type Waiter } from '../abortable-wait.js';
import { AsyncqError, QueueClosed, QueueEmpty, QueueShutDown } from '../errors.js';
import { lazily } from '../lazy.js';
import { TaskHandle, type TaskFinisher } from '../task-handle.js';
import type { WaitOptions } from '../types.js';
import { WaiterList } from '../waiters.js';
import { isTransient } from './connection.js';
import type { Exchange, ExchangeConsumer } from './exchange.js';
import type { HeldJob, LeaseKeeper, RedisTask } from './lease-keeper.js';
import { recheckDelay, type Signal } from './queue-signals.js';
import type { RedisSession } from './redis-session.js';
import { PrefetchStash } from './prefetch-stash.js';
import { readReserved } from './reserved-task.js';
import type { ConsumeReply } from './scripts.js';

/** Most tasks a handle fetches ahead of its gets. */
const MAX_PREFETCH = 256;
/** Fields per reserved task in a consume reply: id, name, data, opts, timestamp, delay, atm. */
const FIELDS = 7;

/**
 * The get side of a handle: waiting gets, reservations from the partitions in turn (through each
 * partition's {@link Exchange}), tasks fetched ahead, waiting without polling while the queue is
 * empty (woken by `task` signals, the next delayed task's due time, or a slow re-check that also
 * collects crashed consumers' tasks), shutdown, and handing tasks back.
 */
export class Consumer<T> implements ExchangeConsumer {
  private readonly getters = new WaiterList<RedisTask<T>>();
  /** getNowait callers among the getters: answered QueueEmpty once every partition came back empty. */
  private readonly nowait = new Set<Waiter<RedisTask<T>>>();
  private readonly stash: PrefetchStash<T>;
  private readonly requested: boolean[];
  private readonly inFlight: number[];
  private readonly drained: boolean[];
  /** Partitions that come back from an idle wait: their next reservation also does the chores at once. */
  private readonly waking: boolean[];
  private readonly nextDue: number[];
  private readonly shutdownMode: string[];
  private readonly pending: number[];
  private idleTimer?: NodeJS.Timeout;
  private idleRound = 0;
  private rr = 0;
  private closed = false;
  private stopListening = (): void => {};

  constructor(
    private readonly session: RedisSession,
    private readonly leases: LeaseKeeper<T>,
    private readonly exchanges: readonly Exchange[],
    private readonly finisher: TaskFinisher<T>,
  ) {
    const k = session.config.partitions.length;
    this.stash = new PrefetchStash<T>(session, leases);
    this.requested = new Array<boolean>(k).fill(false);
    this.inFlight = new Array<number>(k).fill(0);
    this.drained = new Array<boolean>(k).fill(false);
    this.waking = new Array<boolean>(k).fill(true);
    this.nextDue = new Array<number>(k).fill(0);
    this.shutdownMode = new Array<string>(k).fill('');
    this.pending = new Array<number>(k).fill(0);
  }

  async get(opts?: WaitOptions): Promise<T> {
    return (await this.getTask(opts)).data;
  }

  async getTask(opts?: WaitOptions): Promise<RedisTask<T>> {
    this.checkOpen();
    await this.listen();
    const ready = this.takeStashed();
    if (ready) return ready;
    return abortableWait<RedisTask<T>>('get', opts, (waiter) => {
      const off = this.getters.push(waiter);
      this.pump();
      return off;
    });
  }

  async getNowait(): Promise<T> {
    this.checkOpen();
    await this.listen();
    const ready = this.takeStashed();
    if (ready) return ready.data;
    // Look at every partition afresh: the answer is about now, not about the last idle round.
    this.drained.fill(false);
    this.waking.fill(true);
    const task = await abortableWait<RedisTask<T>>('get', undefined, (waiter) => {
      const off = this.getters.push(waiter);
      this.nowait.add(waiter);
      this.pump();
      return () => {
        off();
        this.nowait.delete(waiter);
      };
    });
    return task.data;
  }

  /** The partition's exchange: completion acknowledges through it. */
  exchange(partition: number): Exchange {
    return this.exchanges[partition]!;
  }

  demand(partition: number, acks: number): { wanted: number; speculative: number } {
    this.requested[partition] = false;
    const others = this.inFlight.reduce((a, b, i) => (i === partition ? a : a + b), 0);
    const wanted = this.closed ? 0 : Math.max(0, this.getters.length - this.stash.length - others);
    const room = MAX_PREFETCH - this.stash.length - wanted;
    const speculative = this.closed || this.drained[partition] ? 0 : Math.max(0, Math.min(acks, room));
    this.inFlight[partition] = wanted + speculative;
    return { wanted, speculative };
  }

  offer(partition: number, wanted: number, reply: ConsumeReply): void {
    this.inFlight[partition] = 0;
    if (!reply.leaseHeld) {
      this.pump(); // a new lease takes over; ask again
      return;
    }
    const now = Date.now();
    const got = reply.tasks.length / FIELDS;
    for (let i = 0; i < reply.tasks.length; i += FIELDS) {
      const task = this.makeTask(partition, reply.tasks.slice(i, i + FIELDS));
      if (!task) continue;
      if (this.closed) continue; // handed back with the rest of the lease on close
      const getter = this.getters.shift();
      if (getter) {
        this.nowait.delete(getter);
        this.leases.held.add(task);
        getter.resolve(task);
      } else {
        this.stash.push(task, now);
      }
    }
    if (got > 0) this.idleRound = 0;
    if (got < wanted) {
      this.drained[partition] = true;
      this.nextDue[partition] = reply.nextDue;
      this.shutdownMode[partition] = reply.shutdown;
      this.pending[partition] = reply.pending;
    } else if (got > 0) {
      this.drained[partition] = false;
    }
    if (reply.shutdown === 'immediate' || (this.drained.every(Boolean) && this.shutdownMode.every((m) => m !== '') && this.pending.every((n) => n === 0))) {
      this.rejectGetters(new QueueShutDown(this.session.config.name));
    }
    this.pump();
  }

  reservationFailed(partition: number, error: unknown): void {
    this.inFlight[partition] = 0;
    this.requested[partition] = false;
    if (isTransient(error)) {
      // Redis is away (a restart, a failover): gets keep waiting and the idle loop tries again.
      this.drained[partition] = true;
      this.armIdle();
      return;
    }
    this.rejectGetters(error instanceof AsyncqError ? error : new AsyncqError('REDIS_ERROR', `queue "${this.session.config.name}": ${String((error as Error)?.message ?? error)}`, { cause: error }));
  }

  /** The lease on a partition was lost: tasks fetched ahead under it are gone too. */
  leaseLost(partition: number): void {
    this.stash.drop(partition);
  }

  /** Hands every task back (held, fetched ahead) and stops: gets in progress fail with QueueClosed. */
  async close(): Promise<void> {
    this.closed = true;
    this.rejectGetters(new QueueClosed(this.session.config.name));
    clearTimeout(this.idleTimer);
    this.stash.clear();
    this.stopListening();
    await Promise.all(this.exchanges.map((e) => e.settle()));
    const { partitions, order } = this.session.config;
    await Promise.all(
      partitions.map((keys, p) =>
        this.leases.holding(p) ? this.session.scripts.handBack(keys, this.leases.lease(p), order === 'lifo', 'all').catch(() => 0) : 0,
      ),
    );
    this.leases.stop();
  }

  /**
   * Asks one partition at a time for what the waiting gets lack, in turn so that none is starved;
   * once every partition came back empty, answers getNowait callers and waits without polling.
   */
  private pump(): void {
    if (this.closed) return;
    const unmet = this.getters.length - this.stash.length - this.inFlight.reduce((a, b) => a + b, 0);
    if (unmet <= 0) return;
    if (this.requested.some(Boolean) || this.inFlight.some((n) => n > 0)) return;
    const k = this.drained.length;
    for (let i = 0; i < k; i++) {
      const p = (this.rr + i) % k;
      if (!this.drained[p]) {
        this.rr = (p + 1) % k;
        this.requested[p] = true;
        this.exchanges[p]!.request(this.waking[p]);
        this.waking[p] = false;
        return;
      }
    }
    this.answerNowait();
    this.armIdle();
  }

  private answerNowait(): void {
    if (this.nowait.size === 0) return;
    const shutDown = this.shutdownMode.every((m) => m !== '') && this.pending.every((n) => n === 0);
    const { name } = this.session.config;
    for (const w of this.nowait) {
      this.getters.remove(w);
      w.reject(shutDown ? new QueueShutDown(name) : new QueueEmpty(name));
    }
    this.nowait.clear();
  }

  /** Waits for a `task` signal, the next delayed task's due time, or the safety re-check. */
  private armIdle(): void {
    if (this.idleTimer || this.closed || this.getters.length === 0) return;
    let delay = recheckDelay(this.idleRound++, this.session.config.stalledInterval);
    const now = Date.now();
    for (const due of this.nextDue) if (due > 0) delay = Math.min(delay, Math.max(1, due - now + 1));
    this.idleTimer = setTimeout(() => {
      this.idleTimer = undefined;
      this.wake();
    }, delay);
  }

  private onSignal(s: Signal, partition: number): void {
    if (s === 'task' && partition >= 0) {
      this.drained[partition] = false;
      this.waking[partition] = true;
    } else if (s === 'shutdown' || s === 'reopen' || s === 'resume' || s === 'reconnected') this.drained.fill(false);
    else return;
    clearTimeout(this.idleTimer);
    this.idleTimer = undefined;
    this.pump();
  }

  /** Every partition is looked at afresh (after an idle wait, or for getNowait). */
  private wake(): void {
    this.drained.fill(false);
    this.waking.fill(true);
    this.pump();
  }

  /** Subscribes to the queue's signals once: a consumer must hear `task` while it idles. */
  private readonly listen = lazily(async () => {
    const signals = await this.session.signals();
    this.stopListening = signals.on((s, p) => this.onSignal(s, p));
  });

  private takeStashed(): RedisTask<T> | undefined {
    const task = this.stash.take();
    if (task) this.leases.held.add(task);
    return task;
  }

  /** A reserved task as a handle, or undefined for a poisoned one, which fails for good at once. */
  private makeTask(partition: number, fields: (string | null)[]): RedisTask<T> | undefined {
    this.leases.added(partition, 1);
    const r = readReserved<T>(fields, partition, this.session.config.partitions.length);
    if ('poisoned' in r) {
      this.poisoned(partition, r.jobId, r.poisoned);
      return undefined;
    }
    return new TaskHandle<T, HeldJob>(r.facts, this.finisher, { ...r.ref, lease: this.leases.lease(partition), lost: false });
  }

  private poisoned(partition: number, id: string, why: string): void {
    void this.exchanges[partition]!.fail({ id, message: `task ${id} is corrupt: ${why}`, stack: '', retryIn: -1 }).catch(() => {});
  }

  private rejectGetters(error: unknown): void {
    this.nowait.clear();
    this.getters.rejectAll(error);
  }

  private checkOpen(): void {
    if (this.closed) throw new QueueClosed(this.session.config.name);
  }
}
