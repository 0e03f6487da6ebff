import { randomUUID } from 'node:crypto';
import { Job, Queue as BullQueue, Worker as BullWorker, type JobsOptions } from 'bullmq';
import type { Redis } from 'ioredis';
import { abortableWait, removeFrom, type Waiter } from './abortable-wait.js';
import { connectWithin, openClient, resolveConnection, type RedisTarget } from './connection.js';
import { ConfigError, LeaseLost, QueueClosed, QueueEmpty, QueueFull, QueueShutDown, TaskFailed, TaskNotFound } from './errors.js';
import { HeldTasks } from './held-tasks.js';
import { checkInt, checkOrder, checkPutOptions, checkQueueName, type CheckedPut } from './options.js';
import { assertJsonSafe } from './payload.js';
import { queueKeys, type QueueKeys } from './queue-keys.js';
import { QueueSignals, recheckDelay } from './queue-signals.js';
import { QueueScripts } from './scripts.js';
import { describeError, TaskHandle, type TaskFinisher } from './task-handle.js';
import type {
  AsyncQueue,
  FailedTask,
  PutManyItem,
  PutManyOptions,
  PutOptions,
  QueueCounts,
  QueueOptions,
  QueueOrder,
  ShutdownOptions,
  Task,
  TaskState,
  TaskSummary,
  WaitOptions,
  WorkerInfo,
  FleetInfo,
} from './types.js';

/** The BullMQ job and the lock token this handle holds it with. */
interface HeldJob {
  job: Job;
  token: string;
  /** Set when a lease renewal found the lock gone. */
  lost?: boolean;
}

type RedisTask<T> = TaskHandle<T, HeldJob>;

/** A task fetched ahead by `done()`, kept for this handle's next get until `until`. */
interface Prefetched {
  held: HeldJob;
  until: number;
}

/** Room reserved for puts under one token (no token on an unbounded queue). */
interface Room {
  token: string | undefined;
  granted: number;
}

/** How long a worker stays listed without a heartbeat, unless it says otherwise. */
const WORKER_TTL_MS = 15_000;

/** A producer that dies between reserving room and adding frees the room after this long. */
const RESERVATION_MS = 30_000;
/** How long an idle consumer blocks on Redis per round (BullMQ's marker wait), in seconds. */
const IDLE_BLOCK_SECONDS = 5;
/**
 * How long a task fetched by `done()` for this handle's next `get` waits for
 * that get before it is handed back (a consumer loop calls get right away).
 */
const PREFETCH_GRACE_MS = 50;
/** BullMQ job name for tasks put through the core API. */
const TASK_NAME = 'task';

/**
 * A Redis-backed queue with asyncio.Queue semantics across processes and
 * machines: a queue with the same name (and prefix) is the same queue in
 * every process. BullMQ stores and moves the tasks; asyncq adds `maxsize`,
 * `join` and `shutdown` cluster-wide, and wakes waiters through Redis pub/sub
 * with a slow safety re-check instead of polling.
 *
 * A handle opens connections only once needed: one for commands; a
 * subscriber once it waits or consumes; and, once it consumes, two for
 * BullMQ's worker (its commands and its blocking fetch).
 *
 * @example
 * ```ts
 * const q = new Queue<{ url: string }>('thumbnails', { connection: 'redis://127.0.0.1:6379', maxsize: 1000 });
 * await q.put({ url: 'https://example.com/a.png' });
 * const item = await q.get();   // held by this handle; its lease is renewed
 * await q.taskDone();
 * await q.join();               // every task put by anyone is finished
 * await q.close();
 * ```
 */
export class Queue<T = unknown> implements AsyncQueue<T>, TaskFinisher<T> {
  readonly name: string;
  readonly maxsize: number;
  readonly order: QueueOrder;
  /** The Redis key prefix. */
  readonly prefix: string;
  private readonly keys: QueueKeys;
  private readonly target: RedisTarget;
  private readonly lockDuration: number;
  private readonly stalledInterval: number;
  private readonly maxStalls: number;
  private readonly keepCompleted: number;
  private readonly keepFailed: number;
  private readonly connectTimeout: number;
  private readonly handleId = randomUUID().slice(0, 8);
  private readonly held: HeldTasks<RedisTask<T>>;

  private client?: Redis;
  private bull?: BullQueue;
  private scripts?: QueueScripts;
  private subscriber?: Redis;
  private signals?: QueueSignals;
  private worker?: BullWorker;
  private workerClient?: Redis;
  private consumerReady = false;

  private readonly getters: Waiter<RedisTask<T>>[] = [];
  private readonly quickFetches = new Set<Promise<void>>();
  /** done() calls in flight that fetch the next task. */
  private readonly completing = new Set<Promise<unknown>>();
  private readonly blockingFetches = new Set<Promise<void>>();
  private fetchesInFlight = 0;
  private blockingFetch = false;
  /** The last fetch found nothing ready: wait on BullMQ's marker instead of fetching. */
  private drained = false;
  private probing = false;
  /** Tasks fetched by `done()` that no get has claimed yet, oldest first. */
  private readonly prefetched: Prefetched[] = [];
  private prefetchSweeper?: NodeJS.Timeout;
  private readonly putters: { waiter: Waiter<Room>; count: number }[] = [];
  private roomLoopRunning = false;
  private readonly joiners: Waiter<void>[] = [];
  private readonly resultWaiters = new Map<string, Waiter<unknown>[]>();
  private resultLoopRunning = false;
  private joinLoopRunning = false;
  private renewTimer?: NodeJS.Timeout;
  private tokenSeq = 0;
  private closed = false;
  private closing?: Promise<void>;

  constructor(name: string, opts: QueueOptions = {}) {
    this.name = checkQueueName(name);
    this.maxsize = checkInt('maxsize', opts.maxsize, 0);
    this.order = checkOrder(opts.order);
    this.prefix = opts.prefix ?? 'asyncq';
    if (!/^[A-Za-z0-9_.-]+$/.test(this.prefix)) {
      throw new ConfigError(`prefix must be letters, digits, '_', '.' or '-', got ${JSON.stringify(this.prefix)}`);
    }
    this.lockDuration = checkInt('lockDuration', opts.lockDuration, 30_000, 200);
    this.stalledInterval = checkInt('stalledInterval', opts.stalledInterval, 30_000, 100);
    this.maxStalls = checkInt('maxStalls', opts.maxStalls, 5, 0);
    this.keepCompleted = checkInt('keepCompleted', opts.keepCompleted, 1000);
    this.keepFailed = checkInt('keepFailed', opts.keepFailed, 10_000);
    this.connectTimeout = checkInt('connectTimeout', opts.connectTimeout, 5000, 1);
    this.target = resolveConnection(opts.connection);
    this.keys = queueKeys(this.prefix, this.name);
    this.held = new HeldTasks(this.name);
  }

  // ---- put ----------------------------------------------------------------

  async put(item: T, opts?: PutOptions): Promise<string> {
    const checked = this.checkPut(item, opts);
    await this.start();
    const room = await this.reserveRoom(1, opts, false);
    const [id] = await this.add([item], [checked], room);
    return id!;
  }

  async putNowait(item: T, opts?: Omit<PutOptions, 'signal' | 'timeout'>): Promise<string> {
    const checked = this.checkPut(item, opts);
    await this.start();
    const room = await this.reserveRoom(1, undefined, true);
    const [id] = await this.add([item], [checked], room);
    return id!;
  }

  async putMany(items: Iterable<PutManyItem<T>>, opts?: PutManyOptions): Promise<string[]> {
    this.checkOpen();
    const all = [...items];
    // Every item is checked before any is added, so a bad one refuses the call with nothing enqueued.
    const checked = all.map(({ item, opts: o }, i) => {
      try {
        assertJsonSafe(item);
        return checkPutOptions(this.order, item, o);
      } catch (e) {
        (e as Error).message = `item ${i}: ${(e as Error).message}`;
        throw e;
      }
    });
    const batchSize = checkInt('batchSize', opts?.batchSize, 1000, 1);
    await this.start();
    const ids: string[] = [];
    while (ids.length < all.length) {
      const room = await this.reserveRoom(Math.min(batchSize, all.length - ids.length), opts, false);
      const from = ids.length;
      const to = from + room.granted;
      ids.push(...(await this.add(all.slice(from, to).map((x) => x.item), checked.slice(from, to), room)));
      opts?.onProgress?.(ids.length, all.length);
    }
    return ids;
  }

  private checkPut(item: T, opts: PutOptions | undefined): CheckedPut {
    this.checkOpen();
    assertJsonSafe(item);
    return checkPutOptions(this.order, item, opts);
  }

  /**
   * Room for up to `count` puts: all of it on an unbounded queue, else what the maxsize gate grants
   * (at least one), waiting for room unless `nowait`.
   */
  private async reserveRoom(count: number, opts: WaitOptions | undefined, nowait: boolean): Promise<Room> {
    if (this.maxsize === 0) return { token: undefined, granted: count };
    const token = this.newToken();
    const granted = await this.scripts!.reserve(this.maxsize, token, RESERVATION_MS, false, count);
    if (granted < 0) throw new QueueShutDown(this.name);
    if (granted > 0) return { token, granted };
    if (nowait) throw new QueueFull(this.name, this.maxsize);
    await this.startSignals();
    return abortableWait<Room>('put', opts, (waiter) => {
      const putter = { waiter, count };
      this.putters.push(putter);
      void this.runRoomLoop();
      return () => removeFrom(this.putters, putter);
    });
  }

  /**
   * Adds the tasks through BullMQ (one round trip for a batch), then drops the reservation and
   * reads the shutdown flag in one call. Tasks that raced a shutdown are taken back if nobody got
   * them yet, so no put lands after a shutdown took effect.
   */
  private async add(items: T[], checked: CheckedPut[], room: Room): Promise<string[]> {
    let jobs: Job[];
    try {
      jobs =
        items.length === 1
          ? [await this.bull!.add(checked[0]!.name, items[0], this.jobOptions(checked[0]!))]
          : await this.bull!.addBulk(items.map((data, i) => ({ name: checked[i]!.name, data, opts: this.jobOptions(checked[i]!) })));
    } catch (e) {
      if (room.token) void this.scripts!.release(room.token, room.granted).catch(() => {});
      throw e;
    }
    const ids = jobs.map((j) => j.id!);
    const shutdown = room.token ? await this.scripts!.release(room.token, room.granted) : await this.scripts!.shutdownMode();
    if (shutdown) {
      // A dedup id may name a task that was there before the shutdown: leave those alone.
      const removed = await Promise.all(ids.map((id, i) => (checked[i]!.id === undefined ? this.bull!.remove(id) : 0)));
      if (removed.some((r) => r === 1)) throw new QueueShutDown(this.name);
    }
    return ids;
  }

  private jobOptions(c: CheckedPut): JobsOptions {
    const o: JobsOptions = {
      attempts: c.attempts,
      removeOnComplete: this.keepCompleted === 0 ? true : this.keepCompleted,
      removeOnFail: this.keepFailed === 0 ? true : this.keepFailed,
    };
    if (c.id !== undefined) o.jobId = c.id;
    if (c.priority !== undefined) o.priority = c.priority + 1; // BullMQ's 0 means "no priority"
    if (c.delay > 0) o.delay = c.delay;
    if (c.backoff) o.backoff = c.backoff;
    if (this.order === 'lifo') o.lifo = true;
    return o;
  }

  /** Serves this handle's waiting puts in order, one reservation at a time, woken by "room" signals. */
  private async runRoomLoop(): Promise<void> {
    if (this.roomLoopRunning) return;
    this.roomLoopRunning = true;
    try {
      let round = 0;
      while (this.putters.length > 0 && !this.closed) {
        const head = this.putters[0]!;
        const token = this.newToken();
        let granted: number;
        try {
          granted = await this.scripts!.reserve(this.maxsize, token, RESERVATION_MS, true, head.count);
        } catch (e) {
          for (const p of this.putters.splice(0)) p.waiter.reject(e);
          break;
        }
        if (granted < 0) {
          for (const p of this.putters.splice(0)) p.waiter.reject(new QueueShutDown(this.name));
          break;
        }
        if (granted > 0) {
          round = 0;
          if (head.waiter.settled) void this.scripts!.release(token, granted).catch(() => {}); // aborted while reserving
          else {
            removeFrom(this.putters, head);
            head.waiter.resolve({ token, granted });
          }
          continue;
        }
        await this.signals!.next(['room', 'shutdown'], recheckDelay(round++));
      }
    } finally {
      this.roomLoopRunning = false;
    }
  }

  // ---- get ----------------------------------------------------------------

  async get(opts?: WaitOptions): Promise<T> {
    return (await this.getTask(opts)).data;
  }

  async getNowait(): Promise<T> {
    this.checkOpen();
    await this.startConsumer();
    const ready = this.takePrefetched();
    if (ready) return ready.data;
    const token = this.newToken();
    const job = await this.worker!.getNextJob(token, { block: false });
    if (job) {
      if (this.closed) {
        await this.handBack({ job, token });
        throw new QueueClosed(this.name);
      }
      return this.hold(job, token).data;
    }
    const { shutdown, pending } = await this.scripts!.probe();
    if (shutdown && pending === 0) throw new QueueShutDown(this.name);
    throw new QueueEmpty(this.name);
  }

  async getTask(opts?: WaitOptions): Promise<Task<T>> {
    this.checkOpen();
    if (!this.consumerReady) await this.startConsumer();
    const ready = this.takePrefetched();
    if (ready) return ready;
    return abortableWait<RedisTask<T>>('get', opts, (waiter) => {
      this.getters.push(waiter);
      if (this.drained) void this.probe(false);
      this.pump();
      return () => removeFrom(this.getters, waiter);
    });
  }

  /**
   * Starts as many fetches as there are unserved getters. While the queue
   * has tasks, fetches run side by side (ioredis pipelines them); once one
   * finds nothing, a single fetch blocks on BullMQ's marker until a task is
   * added, a delayed one comes due, or the idle round ends.
   */
  private pump(): void {
    if (this.closed) return;
    let demand = this.getters.length - this.fetchesInFlight - (this.blockingFetch ? 1 : 0);
    while (demand-- > 0) {
      if (this.drained) {
        if (!this.blockingFetch) this.track(this.blockingFetches, this.fetch(true));
        return;
      }
      this.track(this.quickFetches, this.fetch(false));
    }
  }

  private track(set: Set<Promise<void>>, p: Promise<void>): void {
    set.add(p);
    void p.finally(() => set.delete(p));
  }

  private async fetch(block: boolean): Promise<void> {
    if (block) this.blockingFetch = true;
    else this.fetchesInFlight++;
    const token = this.newToken();
    let job: Job | undefined;
    let failed = false;
    try {
      job = await this.worker!.getNextJob(token, { block });
    } catch {
      failed = true; // Redis went away: keep the getters waiting and try again shortly.
    } finally {
      if (block) this.blockingFetch = false;
      else this.fetchesInFlight--;
    }
    if (job) {
      this.drained = false;
      const waiter = this.getters.shift();
      if (waiter && !this.closed) waiter.resolve(this.hold(job, token));
      else await this.handBack({ job, token }); // its getter gave up meanwhile: back to the head of the queue
    } else if (failed) {
      if (this.closed) return;
      await new Promise((r) => setTimeout(r, 500));
    } else {
      this.drained = true;
      await this.probe(false);
    }
    this.pump();
  }

  /**
   * The slow safety net behind the "shutdown" signal: when nothing was ready,
   * checks whether the queue is shut down and empty, and if so fails every
   * waiting get with QueueShutDown (at once for an immediate shutdown).
   */
  private async probe(fromSignal: boolean): Promise<void> {
    if (this.probing || this.getters.length === 0 || this.closed) return;
    this.probing = true;
    try {
      const { shutdown, pending } = await this.scripts!.probe();
      if (shutdown && (pending === 0 || (fromSignal && shutdown === 'immediate'))) {
        for (const g of this.getters.splice(0)) g.reject(new QueueShutDown(this.name));
      }
    } catch {
      // The next fetch round probes again.
    } finally {
      this.probing = false;
    }
  }

  private hold(job: Job, token: string): RedisTask<T> {
    const task = new TaskHandle<T, HeldJob>(
      {
        id: job.id!,
        name: job.name,
        data: job.data as T,
        attempt: job.attemptsMade + 1,
        attempts: job.opts.attempts ?? 1,
        readyAt: job.timestamp + (job.opts.delay ?? 0),
      },
      this,
      { job, token },
    );
    this.held.add(task);
    this.renewTimer ??= setInterval(() => this.renewLeases(), Math.max(100, Math.floor(this.lockDuration / 2))).unref();
    if (this.signals?.roomWanted) void this.client!.publish(this.keys.channel, 'room').catch(() => {});
    return task;
  }

  /** Keeps every held task's lock alive, so no other consumer is handed a task this one still works on. */
  private renewLeases(): void {
    const tasks = this.held.values();
    if (tasks.length === 0) {
      clearInterval(this.renewTimer);
      this.renewTimer = undefined;
      return;
    }
    for (const t of tasks) {
      t.ref.job
        .extendLock(t.ref.token, this.lockDuration)
        .then((ok) => {
          if (!ok) t.ref.lost = true;
        })
        .catch(() => {}); // a Redis hiccup; the next round tries again well within the lock
    }
  }

  private async handBack(h: HeldJob): Promise<void> {
    try {
      await h.job.moveToWait(h.token);
    } catch {
      // Lock already gone: the stalled checker hands it out again.
    }
  }

  // ---- finishing ------------------------------------------------------------

  async taskDone(taskOrId?: Task<T> | string): Promise<void> {
    this.checkOpen();
    await this.complete(this.held.pick(taskOrId), undefined);
  }

  /** @internal Task.done and taskDone. */
  async complete(task: TaskHandle<T>, result: unknown): Promise<void> {
    if (result !== undefined) assertJsonSafe(result, 'result');
    this.checkOpen();
    const held = this.held.take(task);
    // Like BullMQ's own worker, finish and fetch the next task in one call while the queue has
    // tasks: the next get (a consumer loop's, typically) then needs no round trip of its own.
    const fetchNext = this.worker !== undefined && !this.drained && !this.closed;
    if (fetchNext) this.fetchesInFlight++;
    let next: unknown;
    try {
      const completing = held.ref.job.moveToCompleted(result ?? null, held.ref.token, fetchNext) as Promise<unknown>;
      // close() waits for it: the task it may bring must be handed back before the connections go.
      if (fetchNext) this.completing.add(completing);
      try {
        next = await completing;
      } finally {
        this.completing.delete(completing);
      }
    } catch (e) {
      throw this.finishError(held, e);
    } finally {
      if (fetchNext) this.fetchesInFlight--;
    }
    this.finished(held.id);
    if (fetchNext) this.deliverFetched(next, held.ref.token);
  }

  /** Routes a task that `done()` fetched: to a waiting get, else briefly to the prefetch stash. */
  private deliverFetched(next: unknown, token: string): void {
    const [data, id] = Array.isArray(next) ? (next as [unknown, string | undefined]) : [];
    if (!data || !id) {
      this.drained = true;
      this.pump();
      return;
    }
    const job = Job.fromJSON(this.worker!, data as Parameters<typeof Job.fromJSON>[1], id);
    const waiter = this.getters.shift();
    if (waiter && !this.closed) {
      waiter.resolve(this.hold(job, token));
      return;
    }
    const entry = { held: { job, token }, until: Date.now() + PREFETCH_GRACE_MS };
    this.prefetched.push(entry);
    if (this.closed) void this.releasePrefetched(entry);
    // One sweeper for all of them, rather than a timer per task on the hot path.
    this.prefetchSweeper ??= setInterval(() => this.sweepPrefetched(), PREFETCH_GRACE_MS).unref();
  }

  private sweepPrefetched(): void {
    const now = Date.now();
    for (const entry of [...this.prefetched]) if (entry.until <= now) void this.releasePrefetched(entry);
    if (this.prefetched.length === 0) {
      clearInterval(this.prefetchSweeper);
      this.prefetchSweeper = undefined;
    }
  }

  private takePrefetched(): RedisTask<T> | undefined {
    const entry = this.prefetched.shift();
    return entry && this.hold(entry.held.job, entry.held.token);
  }

  private releasePrefetched(entry: Prefetched): Promise<void> {
    removeFrom(this.prefetched, entry);
    const p = this.handBack(entry.held);
    this.track(this.quickFetches, p);
    return p;
  }

  /** @internal Task.fail: BullMQ retries per the task's attempts and backoff, else keeps it as a dead letter. */
  async failAttempt(task: TaskHandle<T>, error: unknown): Promise<void> {
    this.checkOpen();
    const held = this.held.take(task);
    const err = error instanceof Error ? error : Object.assign(new Error(describeError(error).message), { name: describeError(error).name });
    try {
      await held.ref.job.moveToFailed(err, held.ref.token, false);
    } catch (e) {
      throw this.finishError(held, e);
    }
    this.finished(held.id);
  }

  /** @internal Task.progress. */
  async progress(task: TaskHandle<T>, value: number | object): Promise<void> {
    this.checkOpen();
    await this.heldJob(task).updateProgress(value);
  }

  /** @internal Task.log. */
  async log(task: TaskHandle<T>, line: string): Promise<void> {
    this.checkOpen();
    await this.heldJob(task).log(line);
  }

  private heldJob(task: TaskHandle<T>): Job {
    return this.held.pick(task).ref.job;
  }

  private finishError(held: RedisTask<T>, e: unknown): unknown {
    const msg = (e as Error)?.message ?? '';
    if (held.ref.lost || /lock|not in the active state|does not exist/i.test(msg)) return new LeaseLost(this.name, held.id, e);
    this.held.add(held); // state unknown (Redis error): keep renewing it, the caller may retry
    return e;
  }

  /** Tells waiters, if there are any, that task `id` finished (or failed an attempt). */
  private finished(id: string): void {
    if (this.signals?.joinWanted) void this.scripts!.unfinished('notify').catch(() => {});
    if (this.signals?.resultWanted) void this.client!.publish(this.keys.channel, `done:${id}`).catch(() => {});
  }

  // ---- results ------------------------------------------------------------------

  async result(id: string, opts?: WaitOptions): Promise<unknown> {
    this.checkOpen();
    await this.startSignals();
    const outcome = await this.outcome(id);
    if (outcome) return settle(outcome);
    return abortableWait<unknown>('result', opts, (waiter) => {
      const list = this.resultWaiters.get(id) ?? [];
      list.push(waiter);
      this.resultWaiters.set(id, list);
      void this.runResultLoop();
      return () => {
        removeFrom(list, waiter);
        if (list.length === 0) this.resultWaiters.delete(id);
      };
    });
  }

  /** The finished task's result or failure, or undefined while it is not finished. */
  private async outcome(id: string): Promise<{ value: unknown } | { error: Error } | undefined> {
    const job = await this.bull!.getJob(id);
    if (!job) return { error: new TaskNotFound(this.name, id) };
    if (!job.finishedOn) return undefined;
    if ((await job.getState()) === 'failed') {
      return { error: new TaskFailed(id, job.failedReason, job.stacktrace?.at(-1) ?? undefined) };
    }
    return { value: job.returnvalue };
  }

  /** Checks waited-for tasks on every "done:<id>" and on the slow safety re-check, announcing the interest. */
  private async runResultLoop(): Promise<void> {
    if (this.resultLoopRunning) return;
    this.resultLoopRunning = true;
    const finishedIds = new Set<string>();
    let wake: (() => void) | undefined;
    const stopListening = this.signals!.on((s) => {
      if (s.startsWith('done:') && this.resultWaiters.has(s.slice(5))) {
        finishedIds.add(s.slice(5));
        wake?.();
      }
    });
    try {
      let round = 0;
      let ids = [...this.resultWaiters.keys()];
      while (this.resultWaiters.size > 0 && !this.closed) {
        for (const id of ids) {
          const outcome = await this.outcome(id).catch(() => undefined);
          if (!outcome) continue;
          for (const w of this.resultWaiters.get(id) ?? []) settleWaiter(w, outcome);
          this.resultWaiters.delete(id);
        }
        if (this.resultWaiters.size === 0) break;
        await this.client!.publish(this.keys.channel, 'want-result');
        if (finishedIds.size === 0) {
          await new Promise<void>((resolve) => {
            const timer = setTimeout(resolve, recheckDelay(round++));
            wake = () => {
              clearTimeout(timer);
              resolve();
            };
          });
          wake = undefined;
        }
        // Woken by "done:<id>": check just those; on the safety re-check, all of them.
        ids = finishedIds.size > 0 ? [...finishedIds] : [...this.resultWaiters.keys()];
        finishedIds.clear();
      }
    } finally {
      stopListening();
      this.resultLoopRunning = false;
    }
  }

  // ---- join, sizes, counts ----------------------------------------------------

  async join(opts?: WaitOptions): Promise<void> {
    this.checkOpen();
    await this.startSignals();
    return abortableWait<void>('join', opts, (waiter) => {
      this.joiners.push(waiter);
      void this.runJoinLoop();
      return () => removeFrom(this.joiners, waiter);
    });
  }

  /** Counts unfinished tasks (announcing this joiner), then waits for "drained" or the safety re-check. */
  private async runJoinLoop(): Promise<void> {
    if (this.joinLoopRunning) return;
    this.joinLoopRunning = true;
    try {
      let round = 0;
      while (this.joiners.length > 0 && !this.closed) {
        const left = await this.scripts!.unfinished('announce');
        if (left === 0) break;
        if ((await this.signals!.next(['drained'], recheckDelay(round++))) === 'drained') break;
      }
      for (const j of this.joiners.splice(0)) j.resolve();
    } catch (e) {
      for (const j of this.joiners.splice(0)) j.reject(e);
    } finally {
      this.joinLoopRunning = false;
    }
  }

  async qsize(): Promise<number> {
    const c = await this.rawCounts('wait', 'paused', 'prioritized');
    return sum(c);
  }

  async empty(): Promise<boolean> {
    return (await this.qsize()) === 0;
  }

  async full(): Promise<boolean> {
    if (this.maxsize === 0) return false;
    return sum(await this.rawCounts('wait', 'paused', 'prioritized', 'delayed')) >= this.maxsize;
  }

  async counts(): Promise<QueueCounts> {
    const c = await this.rawCounts('wait', 'paused', 'prioritized', 'delayed', 'active', 'waiting-children', 'completed', 'failed');
    const waiting = (c.wait ?? 0) + (c.paused ?? 0) + (c.prioritized ?? 0);
    const delayed = c.delayed ?? 0;
    const active = c.active ?? 0;
    return {
      waiting,
      delayed,
      active,
      completed: c.completed ?? 0,
      failed: c.failed ?? 0,
      unfinished: waiting + delayed + active + (c['waiting-children'] ?? 0),
    };
  }

  async failedTasks(start = 0, end = -1): Promise<FailedTask<T>[]> {
    this.checkOpen();
    await this.start();
    const jobs = await this.bull!.getFailed(start, end);
    return jobs.map((j) => ({
      id: j.id!,
      data: j.data as T,
      attempts: j.attemptsMade,
      error: j.failedReason,
      stack: j.stacktrace?.at(-1) ?? undefined,
    }));
  }

  private async rawCounts(...states: string[]): Promise<Record<string, number>> {
    this.checkOpen();
    await this.start();
    return (await this.bull!.getJobCounts(...(states as Parameters<BullQueue['getJobCounts']>))) as Record<string, number>;
  }

  // ---- worker and fleet registry, scaling -------------------------------------------

  /** The id of this handle: the prefix of the lock tokens of tasks it holds. */
  get handle(): string {
    return this.handleId;
  }

  /**
   * Registers a worker (or refreshes its heartbeat and counters). Used by `@asyncq/worker`; a
   * worker that stops beating for `ttlMs` drops out of {@link Queue.listWorkers}.
   */
  async registerWorker(info: WorkerInfo, ttlMs = WORKER_TTL_MS): Promise<void> {
    await this.ready();
    await this.scripts!.beat('workers', info.id, JSON.stringify(info), ttlMs);
  }

  /** Removes a worker from the registry (it stopped). */
  async unregisterWorker(id: string): Promise<void> {
    await this.ready();
    await this.scripts!.leave('workers', id);
  }

  /** The live workers of this queue, by their last heartbeat. */
  async listWorkers(): Promise<WorkerInfo[]> {
    await this.ready();
    return parseInfos<WorkerInfo>(await this.scripts!.list('workers'));
  }

  /** Registers a fleet supervisor (or refreshes it); it drops out after `ttlMs` without a beat. */
  async registerFleet(info: FleetInfo, ttlMs = WORKER_TTL_MS): Promise<void> {
    await this.ready();
    await this.scripts!.beat('fleets', info.id, JSON.stringify(info), ttlMs);
  }

  /** Removes a fleet supervisor from the registry. */
  async unregisterFleet(id: string): Promise<void> {
    await this.ready();
    await this.scripts!.leave('fleets', id);
  }

  /** The live fleet supervisors of this queue, oldest first. */
  async listFleets(): Promise<FleetInfo[]> {
    await this.ready();
    return parseInfos<FleetInfo>(await this.scripts!.list('fleets'));
  }

  /** Sets how many workers every fleet serving this queue should run between them, and tells them. */
  async setDesiredWorkers(n: number): Promise<void> {
    checkInt('desired workers', n, 0, 0, 10_000);
    await this.ready();
    await this.client!.set(this.keys.desired, String(n));
    await this.client!.publish(this.keys.channel, 'scale');
  }

  /** The desired number of workers set by {@link Queue.setDesiredWorkers}, or undefined. */
  async desiredWorkers(): Promise<number | undefined> {
    await this.ready();
    const v = await this.client!.get(this.keys.desired);
    return v === null ? undefined : Number(v);
  }

  /** Calls `fn` whenever the desired worker count is changed, until the returned function is called. */
  async onScale(fn: () => void): Promise<() => void> {
    this.checkOpen();
    await this.startSignals();
    return this.signals!.on((s) => {
      if (s === 'scale') fn();
    });
  }

  /** Tasks in `state`, newest first for finished ones, with the holder of each active one. */
  async tasks(state: TaskState, start = 0, end = 99): Promise<TaskSummary[]> {
    await this.ready();
    const bullState = state === 'waiting' ? ['wait', 'prioritized', 'paused'] : [state];
    const jobs = (await this.bull!.getJobs(bullState as Parameters<BullQueue['getJobs']>[0], start, end, state === 'waiting' || state === 'delayed')).filter(
      (j): j is Job => Boolean(j),
    );
    const holders = state === 'active' && jobs.length > 0 ? await this.client!.mget(...jobs.map((j) => this.keys.lock(j.id!))) : [];
    return jobs.map((j, i) => ({
      id: j.id!,
      name: j.name,
      data: j.data,
      state,
      attemptsMade: j.attemptsMade,
      timestamp: j.timestamp,
      ...(j.failedReason ? { error: j.failedReason } : {}),
      ...(state === 'completed' ? { result: j.returnvalue } : {}),
      ...(holders[i] ? { holder: holders[i]! } : {}),
    }));
  }

  /**
   * Deletes the queue and everything in it (tasks in every state, results, the registry, the
   * shutdown flag), for every process. Refused while workers are registered or tasks run, unless
   * `force`. Resolves to how many keys were removed.
   */
  async destroy(opts: { force?: boolean } = {}): Promise<number> {
    await this.ready();
    if (!opts.force) {
      const [workers, counts] = await Promise.all([this.listWorkers(), this.counts()]);
      if (workers.length > 0 || counts.active > 0) {
        throw new ConfigError(
          `queue "${this.name}" has ${workers.length} live workers and ${counts.active} running tasks; stop them first, or pass { force: true }`,
        );
      }
    }
    let removed = 0;
    let cursor = '0';
    do {
      const [next, keys] = await this.client!.scan(cursor, 'MATCH', `${this.prefix}:{${this.name}}:*`, 'COUNT', 1000);
      cursor = next;
      if (keys.length > 0) removed += await this.client!.unlink(...keys);
    } while (cursor !== '0');
    return removed;
  }

  /** How many tasks were ever put with an automatic id (a monotonic counter: its rate is the put rate). */
  async totalPut(): Promise<number> {
    await this.ready();
    return Number((await this.client!.get(this.keys.idCounter)) ?? 0);
  }

  /** Wait (ready to started) and run (started to finished) times in ms of the last `n` completed tasks. */
  async recentTimings(n = 100): Promise<{ wait: number[]; run: number[] }> {
    await this.ready();
    const jobs = (await this.bull!.getJobs(['completed'], 0, n - 1, false)).filter((j): j is Job => Boolean(j?.processedOn && j.finishedOn));
    return {
      wait: jobs.map((j) => Math.max(0, j.processedOn! - j.timestamp - (j.opts.delay ?? 0))),
      run: jobs.map((j) => j.finishedOn! - j.processedOn!),
    };
  }

  /** Moves every failed task back to waiting for another round of attempts; resolves to how many. */
  async retryFailed(): Promise<number> {
    await this.ready();
    const n = await this.bull!.getFailedCount();
    if (n > 0) await this.bull!.retryJobs({ state: 'failed', count: 1000 });
    return n;
  }

  private async ready(): Promise<void> {
    this.checkOpen();
    await this.start();
  }

  // ---- shutdown and lifecycle ------------------------------------------------

  async shutdown(opts?: ShutdownOptions): Promise<void> {
    this.checkOpen();
    await this.start();
    const immediate = opts?.immediate === true;
    await this.scripts!.setShutdown(immediate ? 'immediate' : 'graceful');
    if (immediate) {
      await this.bull!.drain(true);
      await this.scripts!.unfinished('notify');
    }
    // This handle's own waiters learn of it now; other handles through the "shutdown" signal.
    for (const p of this.putters.splice(0)) p.waiter.reject(new QueueShutDown(this.name));
    if (immediate) for (const g of this.getters.splice(0)) g.reject(new QueueShutDown(this.name));
    else await this.probe(true);
  }

  async reopen(): Promise<void> {
    this.checkOpen();
    await this.start();
    await this.scripts!.setShutdown('reopen');
  }

  async close(): Promise<void> {
    this.closing ??= this.doClose();
    return this.closing;
  }

  private async doClose(): Promise<void> {
    this.closed = true;
    const err = new QueueClosed(this.name);
    for (const w of [...this.getters.splice(0), ...this.joiners.splice(0), ...this.putters.splice(0).map((p) => p.waiter)]) {
      w.reject(err);
    }
    for (const waiters of this.resultWaiters.values()) for (const w of waiters) w.reject(err);
    this.resultWaiters.clear();
    clearInterval(this.renewTimer);
    clearInterval(this.prefetchSweeper);
    // Quick fetches in flight may still bring a task; they hand it back themselves since the handle is closed.
    while (this.quickFetches.size + this.completing.size > 0) {
      await Promise.allSettled([...this.quickFetches, ...this.completing]);
    }
    await Promise.all([
      ...this.held.values().map((t) => this.handBack(t.ref)),
      ...[...this.prefetched].map((e) => this.releasePrefetched(e)),
    ]);
    // BullMQ only interrupts its blocking fetch for its own run loop, so force it; a task that fetch
    // takes in the same instant is left to the stalled checker.
    await this.worker?.close(true).catch(() => {});
    await Promise.allSettled([...this.blockingFetches]);
    await this.bull?.close().catch(() => {});
    this.subscriber?.disconnect();
    await this.workerClient?.quit().catch(() => this.workerClient?.disconnect());
    if (this.client && this.client !== this.target.shared) await this.client.quit().catch(() => this.client?.disconnect());
  }

  private checkOpen(): void {
    if (this.closed) throw new QueueClosed(this.name);
  }

  private newToken(): string {
    return `${this.handleId}:${++this.tokenSeq}`;
  }

  // ---- lazy start ---------------------------------------------------------------

  /** Connects (failing within `connectTimeout` if Redis is unreachable) and sets up the BullMQ queue. */
  private readonly start = lazily(async () => {
    const client = this.target.shared ?? openClient(this.target, 'command', this.connectionName());
    this.client = client;
    await connectWithin(client, this.target, this.connectTimeout);
    this.scripts = new QueueScripts(client, this.keys);
    this.bull = new BullQueue(this.keys.bullName, { connection: client, prefix: this.prefix });
    this.bull.on('error', () => {}); // surfaced by the failing call instead
  });

  /** Subscribes to the queue's signals: needed to wait, and to consume (consumers signal waiters). */
  private readonly startSignals = lazily(async () => {
    await this.start();
    this.subscriber = openClient(this.target, 'subscriber', this.connectionName());
    await connectWithin(this.subscriber, this.target, this.connectTimeout);
    this.signals = new QueueSignals(this.subscriber, this.keys.channel);
    this.signals.on((s) => {
      if (s === 'shutdown') void this.probe(true);
    });
    await this.signals.start();
  });

  /** Sets up BullMQ's worker for manual fetching, with its stalled checker. */
  private readonly startConsumer = lazily(async () => {
    await this.startSignals();
    // BullMQ needs maxRetriesPerRequest: null on a worker's connections (it duplicates this one
    // for its blocking fetch), so the worker gets a client of its own.
    this.workerClient = openClient(this.target, 'blocking', this.connectionName());
    await connectWithin(this.workerClient, this.target, this.connectTimeout);
    const worker = new BullWorker(this.keys.bullName, null, {
      connection: this.workerClient,
      prefix: this.prefix,
      autorun: false,
      lockDuration: this.lockDuration,
      stalledInterval: this.stalledInterval,
      maxStalledCount: this.maxStalls,
      drainDelay: IDLE_BLOCK_SECONDS,
      name: this.connectionName(),
    });
    worker.on('error', () => {}); // fetch errors are retried by the fetch loop
    this.worker = worker;
    await worker.waitUntilReady();
    // Manual fetching: BullMQ only looks for crashed consumers' tasks if asked to.
    await worker.startStalledCheckTimer();
    this.consumerReady = true;
  });

  private connectionName(): string {
    return `asyncq:${this.name}`;
  }
}

/** Shorthand for `new Queue(name, { ...opts, order: 'priority' })`: lowest priority first. */
export class PriorityQueue<T = unknown> extends Queue<T> {
  constructor(name: string, opts: Omit<QueueOptions, 'order'> = {}) {
    super(name, { ...opts, order: 'priority' });
  }
}

/** Shorthand for `new Queue(name, { ...opts, order: 'lifo' })`: newest first. */
export class LifoQueue<T = unknown> extends Queue<T> {
  constructor(name: string, opts: Omit<QueueOptions, 'order'> = {}) {
    super(name, { ...opts, order: 'lifo' });
  }
}

/** Runs `init` on the first call and shares its promise; a failure is forgotten, so a later call retries. */
function lazily(init: () => Promise<void>): () => Promise<void> {
  let started: Promise<void> | undefined;
  return () =>
    (started ??= init().catch((e: unknown) => {
      started = undefined;
      throw e;
    }));
}

function settle(outcome: { value: unknown } | { error: Error }): unknown {
  if ('error' in outcome) throw outcome.error;
  return outcome.value;
}

function settleWaiter(w: Waiter<unknown>, outcome: { value: unknown } | { error: Error }): void {
  if ('error' in outcome) w.reject(outcome.error);
  else w.resolve(outcome.value);
}

function parseInfos<I extends { startedAt: number; id: string }>(json: string[]): I[] {
  return json.map((j) => JSON.parse(j) as I).sort((a, b) => a.startedAt - b.startedAt || (a.id < b.id ? -1 : a.id > b.id ? 1 : 0));
}

function sum(c: Record<string, number>): number {
  return Object.values(c).reduce((a, b) => a + (b ?? 0), 0);
}
