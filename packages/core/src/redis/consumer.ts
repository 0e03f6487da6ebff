import { abortableWait, type Waiter } from '../abortable-wait.js';
import { AsyncqError, QueueClosed, QueueEmpty, QueueShutDown } from '../errors.js';
import { RedisError } from '../server-errors.js';
import { lazily } from '../lazy.js';
import { TaskHandle, type TaskFinisher } from '../task-handle.js';
import type { WaitOptions } from '../types.js';
import { WaiterList } from '../waiters.js';
import { isTransient } from './connection.js';
import type { ConsumeBatcher, BatcherConsumer } from './consume-batcher.js';
import type { HeldJob, LeaseKeeper, RedisTask } from './lease-keeper.js';
import { recheckDelay, type Signal } from './queue-signals.js';
import type { RedisSession } from './redis-session.js';
import { PrefetchStash } from './prefetch-stash.js';
import { CancelListener } from './cancel-listener.js';
import { readReserved, RESERVED_FIELDS } from './reserved-task.js';
import { handBackIfLate, startDeadline } from './queue-limits.js';
import type { ConsumeReply } from './scripts.js';
import { freshPartitions, PartitionTurn, shutDownAndEmpty, wakeAll, type PartitionState } from './partition-state.js';

/**
 * The get side of a handle: waiting gets, reservations from the partitions in turn (through each
 * partition's {@link ConsumeBatcher}), tasks fetched ahead, waiting without polling while the queue is
 * empty (woken by `task` signals, the next delayed task's due time, or a slow re-check that also
 * collects crashed consumers' tasks), shutdown, and handing tasks back.
 */
export class Consumer<T> implements BatcherConsumer {
  private readonly getters = new WaiterList<RedisTask<T>>();
  /** getNowait callers among the getters: answered QueueEmpty once every partition came back empty. */
  private readonly nowait = new Set<Waiter<RedisTask<T>>>();
  private readonly stash: PrefetchStash<T>;
  private readonly cancels: CancelListener;
  private readonly parts: PartitionState[];
  private idleTimer?: NodeJS.Timeout;
  private idleRound = 0;
  private readonly turn = new PartitionTurn();
  private closed = false;
  private listening = false;
  private stopListening = (): void => {};

  constructor(
    private readonly session: RedisSession,
    private readonly leases: LeaseKeeper<T>,
    private readonly batchers: readonly ConsumeBatcher[],
    private readonly finisher: TaskFinisher<T>,
  ) {
    this.stash = new PrefetchStash<T>(session, leases);
    this.cancels = new CancelListener(leases as LeaseKeeper<unknown>);
    this.parts = freshPartitions(session.config.partitions.length);
  }

  async get(opts?: WaitOptions): Promise<T> {
    return (await this.getTask(opts)).data;
  }

  // Not async: a consumer loop's get that finds a task fetched ahead is served in the same step, and
  // one that waits is registered before the loop's last acknowledgement leaves: both go in one call.
  getTask(opts?: WaitOptions): Promise<RedisTask<T>> {
    this.stash.noteGet();
    if (!this.listening) return this.listen().then(() => this.serveGet(opts));
    return this.serveGet(opts);
  }

  private serveGet(opts: WaitOptions | undefined): Promise<RedisTask<T>> {
    try {
      if (this.closed) throw new QueueClosed(this.session.config.name);
      const ready = this.takeStashed();
      return ready ? Promise.resolve(ready) : this.wait(opts, false);
    } catch (e) {
      return Promise.reject(e); // a bad timeout: a rejection, as from an async function
    }
  }

  async getNowait(): Promise<T> {
    this.checkOpen();
    this.stash.noteGet();
    await this.listen();
    const ready = this.takeStashed();
    if (ready) return ready.data;
    wakeAll(this.parts); // every partition afresh: the answer is about now, not the last idle round
    return (await this.wait(undefined, true)).data;
  }

  /** A get waiting for a reservation; a `nowait` one is answered QueueEmpty once every partition came back empty. */
  private wait(opts: WaitOptions | undefined, nowait: boolean): Promise<RedisTask<T>> {
    return abortableWait<RedisTask<T>>('get', opts, (waiter) => {
      const off = this.getters.push(waiter);
      if (nowait) this.nowait.add(waiter);
      this.pump();
      return () => {
        off();
        this.nowait.delete(waiter);
      };
    });
  }

  /** The partition's consume batcher: completion acknowledges through it. */
  batcher = (partition: number): ConsumeBatcher => this.batchers[partition]!;

  /**
   * What a call to `partition` reserves: what the waiting gets lack (a call the pump did not ask for,
   * which acknowledges tasks, only on its partition's turn: else a loop would stay on one partition
   * until it is empty), and, for a consumer loop, tasks fetched ahead, up to `prefetch` in all.
   */
  demand(partition: number, acks: number): { wanted: number; speculative: number } {
    const part = this.parts[partition]!;
    if (!part.requested && this.getters.length > this.stash.length && !this.turn.claim(this.parts, partition)) return this.notThisTurn(part);
    part.requested = false;
    let others = 0;
    let ahead = 0;
    for (let i = 0; i < this.parts.length; i++) {
      if (i !== partition) others += this.parts[i]!.inFlight;
      ahead += this.parts[i]!.aheadInFlight;
    }
    const wanted = this.closed ? 0 : Math.max(0, this.getters.length - this.stash.length - others);
    const speculative = acks > 0 && !this.closed && !part.drained ? this.stash.room(this.session.config.prefetch, ahead) : 0;
    part.inFlight = wanted + speculative;
    part.aheadInFlight = speculative;
    return { wanted, speculative };
  }

  offer(partition: number, wanted: number, reply: ConsumeReply): void {
    const part = this.parts[partition]!;
    part.inFlight = 0;
    part.aheadInFlight = 0;
    // A lease lost: a new one takes over; a reply too late for a rate limit: handed back. Ask again.
    if (!reply.leaseHeld || handBackIfLate(this.session, partition, this.leases.lease(partition), reply, RESERVED_FIELDS)) return this.pump();
    const now = Date.now();
    const startBy = startDeadline(reply);
    const got = reply.tasks.length / RESERVED_FIELDS;
    for (let i = 0; i < reply.tasks.length; i += RESERVED_FIELDS) {
      const task = this.makeTask(partition, reply.tasks.slice(i, i + RESERVED_FIELDS));
      if (!task) continue;
      if (this.closed) continue; // handed back with the rest of the lease on close
      const getter = this.getters.shift();
      if (getter) {
        this.nowait.delete(getter);
        this.leases.held.add(task);
        getter.resolve(task);
      } else {
        this.stash.push(task, now, startBy);
      }
    }
    if (got > 0) this.idleRound = 0;
    if (got < wanted) {
      part.drained = true;
      part.nextDue = reply.nextDue;
      part.shutdown = reply.shutdown;
      part.pending = reply.pending;
    } else if (got > 0) {
      part.drained = false;
    }
    if (reply.shutdown === 'immediate' || (this.parts.every((p) => p.drained) && shutDownAndEmpty(this.parts))) {
      this.rejectGetters(new QueueShutDown(this.session.config.name));
    }
    this.pump();
  }

  reservationFailed(partition: number, error: unknown): void {
    const part = this.parts[partition]!;
    part.inFlight = 0;
    part.aheadInFlight = 0;
    part.requested = false;
    if (isTransient(error)) {
      // Redis is away (a restart, a failover): gets keep waiting and the idle loop tries again.
      part.drained = true;
      this.armIdle();
      return;
    }
    this.rejectGetters(error instanceof AsyncqError ? error : new RedisError(this.session.config.name, error));
  }

  /** The lease on a partition was lost: tasks fetched ahead under it are gone too. */
  leaseLost(partition: number): void {
    this.stash.drop(partition);
  }

  /** A task under the lease was cancelled: if it was fetched ahead, no get may have it. */
  taskCancelled(partition: number, jobId: string): void {
    this.stash.dropTask(partition, jobId);
  }

  /** Hands every task back (held, fetched ahead) and stops: gets in progress fail with QueueClosed. */
  async close(): Promise<void> {
    this.closed = true;
    this.rejectGetters(new QueueClosed(this.session.config.name));
    clearTimeout(this.idleTimer);
    this.stash.clear();
    this.stopListening();
    await Promise.all(this.batchers.map((e) => e.settle()));
    const { partitions, order } = this.session.config;
    await Promise.all(
      partitions.map((keys, p) =>
        this.leases.holding(p) ? this.session.scripts.handBack(keys, this.leases.lease(p), order === 'lifo', 'all').catch(() => 0) : 0,
      ),
    );
    this.leases.stop();
  }

  private notThisTurn(part: PartitionState): { wanted: number; speculative: number } { // the gets go to the one whose turn it is
    part.inFlight = part.aheadInFlight = 0;
    queueMicrotask(() => this.pump());
    return { wanted: 0, speculative: 0 };
  }
  /**
   * Asks one partition at a time for what the waiting gets lack, in turn so that none is starved;
   * once every partition came back empty, answers getNowait callers and waits without polling.
   */
  private pump(): void {
    if (this.closed) return;
    const unmet = this.getters.length - this.stash.length - this.parts.reduce((a, p) => a + p.inFlight, 0);
    if (unmet <= 0) return;
    if (this.parts.some((p) => p.requested || p.inFlight > 0)) return;
    const p = this.turn.next(this.parts);
    if (p !== undefined) {
      const part = this.parts[p]!;
      part.requested = true;
      this.batchers[p]!.request(part.waking);
      part.waking = false;
      return;
    }
    this.answerNowait();
    this.armIdle();
  }

  private answerNowait(): void {
    if (this.nowait.size === 0) return;
    const shutDown = shutDownAndEmpty(this.parts);
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
    // Due times are Redis's, so compared with Redis's clock as seen here: a skewed clock wakes neither early nor late.
    this.parts.forEach(({ nextDue }, p) => {
      if (nextDue > 0) delay = Math.min(delay, Math.max(1, nextDue - this.session.requests[p]!.clock.now() + 1));
    });
    this.idleTimer = setTimeout(() => {
      this.idleTimer = undefined;
      wakeAll(this.parts); // every partition is looked at afresh after an idle wait
      this.pump();
    }, delay);
  }

  private onSignal(s: Signal, partition: number): void {
    if (s === 'task' && partition >= 0) {
      this.parts[partition]!.drained = false;
      this.parts[partition]!.waking = true;
    } else if (s === 'shutdown' || s === 'reopen' || s === 'resume' || s === 'reconnected') for (const p of this.parts) p.drained = false;
    else return;
    clearTimeout(this.idleTimer);
    this.idleTimer = undefined;
    this.pump();
  }

  /** Subscribes to the queue's signals once: a consumer must hear `task` while it idles. */
  private readonly listen = lazily(async () => {
    const signals = await this.session.signals();
    this.stopListening = signals.on((s, p) => this.cancels.onSignal(s, p) || this.onSignal(s, p));
    this.listening = true;
  });

  private takeStashed(): RedisTask<T> | undefined {
    const task = this.stash.take();
    if (!task) return undefined;
    this.leases.held.add(task);
    // Half of what is fetched ahead is left: the refill goes now, to arrive before the rest is worked.
    if (this.stash.length * 2 <= this.session.config.prefetch) this.batchers[task.ref.partition]!.hurry();
    return task;
  }

  /** A reserved task as a handle, or undefined for a poisoned one, which fails for good at once. */
  private makeTask(partition: number, fields: (string | null)[]): RedisTask<T> | undefined {
    this.leases.added(partition, fields[0]!);
    // Cancelled as it was reserved (its message came before this reply): it is not under the lease.
    if (this.cancels.wasCancelled(partition, fields[0]!)) return void this.leases.removed(partition, [fields[0]!]);
    const r = readReserved<T>(fields, partition, this.session.config.partitions.length);
    if ('poisoned' in r) {
      const message = `task ${r.jobId} is corrupt: ${r.poisoned}`;
      return void this.batchers[partition]!.fail({ id: r.jobId, message, stack: '', retryIn: -1 }).catch(() => {});
    }
    return new TaskHandle<T, HeldJob>(r.facts, this.finisher, { ...r.ref, lease: this.leases.lease(partition), lost: false });
  }

  private rejectGetters(error: unknown): void {
    this.nowait.clear();
    this.getters.rejectAll(error);
  }

  private checkOpen(): void {
    if (this.closed) throw new QueueClosed(this.session.config.name);
  }
}
