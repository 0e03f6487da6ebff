import { randomUUID } from 'node:crypto';
import { Job, Queue as BullQueue, Worker as BullWorker, type JobsOptions } from 'bullmq';
import type { Redis } from 'ioredis';
import { abortableWait, removeFrom, type Waiter } from './abortable-wait.js';
import { connectWithin, openClient, resolveConnection, type RedisTarget } from './connection.js';
import { ConfigError, LeaseLost, QueueClosed, QueueEmpty, QueueFull, QueueShutDown } from './errors.js';
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
  PutOptions,
  QueueCounts,
  QueueOptions,
  QueueOrder,
  ShutdownOptions,
  Task,
  WaitOptions,
} from './types.js';

/** The BullMQ job and the lock token this handle holds it with. */
interface HeldJob {
  job: Job;
  token: string;
  /** Set when a lease renewal found the lock gone. */
  lost?: boolean;
}

type RedisTask<T> = TaskHandle<T, HeldJob>;

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

  private readonly getters: Waiter<RedisTask<T>>[] = [];
  private readonly quickFetches = new Set<Promise<void>>();
  private readonly blockingFetches = new Set<Promise<void>>();
  private fetchesInFlight = 0;
  private blockingFetch = false;
  /** The last fetch found nothing ready: wait on BullMQ's marker instead of fetching. */
  private drained = false;
  private probing = false;
  /** Tasks fetched by `done()` that no get has claimed yet, oldest first. */
  private readonly prefetched: { held: HeldJob; timer: NodeJS.Timeout }[] = [];
  private readonly putters: Waiter<string>[] = [];
  private roomLoopRunning = false;
  private readonly joiners: Waiter<void>[] = [];
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
    if (this.maxsize === 0) return this.add(item, checked, undefined);
    const token = this.newToken();
    const r = await this.scripts!.reserve(this.maxsize, token, RESERVATION_MS, false);
    if (r < 0) throw new QueueShutDown(this.name);
    if (r > 0) return this.add(item, checked, token);
    await this.startSignals();
    const reserved = await abortableWait<string>('put', opts, (waiter) => {
      this.putters.push(waiter);
      void this.runRoomLoop();
      return () => removeFrom(this.putters, waiter);
    });
    return this.add(item, checked, reserved);
  }

  async putNowait(item: T, opts?: Omit<PutOptions, 'signal' | 'timeout'>): Promise<string> {
    const checked = this.checkPut(item, opts);
    await this.start();
    if (this.maxsize === 0) return this.add(item, checked, undefined);
    const token = this.newToken();
    const r = await this.scripts!.reserve(this.maxsize, token, RESERVATION_MS, false);
    if (r < 0) throw new QueueShutDown(this.name);
    if (r === 0) throw new QueueFull(this.name, this.maxsize);
    return this.add(item, checked, token);
  }

  private checkPut(item: T, opts: PutOptions | undefined): CheckedPut {
    this.checkOpen();
    assertJsonSafe(item);
    return checkPutOptions(this.order, item, opts);
  }

  /**
   * Adds the task through BullMQ, then drops the reservation and reads the
   * shutdown flag in one call. A put that raced a shutdown takes its task
   * back if nobody got it yet, so no put lands after a shutdown took effect.
   */
  private async add(item: T, c: CheckedPut, reservation: string | undefined): Promise<string> {
    let job: Job;
    try {
      job = await this.bull!.add(TASK_NAME, item, this.jobOptions(c));
    } catch (e) {
      if (reservation) void this.scripts!.release(reservation).catch(() => {});
      throw e;
    }
    const id = job.id!;
    const shutdown = reservation ? await this.scripts!.release(reservation) : await this.scripts!.shutdownMode();
    // A dedup id may name a task that was there before the shutdown: leave that one alone.
    if (shutdown && c.id === undefined && (await this.bull!.remove(id)) === 1) throw new QueueShutDown(this.name);
    return id;
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
        let r: number;
        try {
          r = await this.scripts!.reserve(this.maxsize, token, RESERVATION_MS, true);
        } catch (e) {
          for (const p of this.putters.splice(0)) p.reject(e);
          break;
        }
        if (r < 0) {
          for (const p of this.putters.splice(0)) p.reject(new QueueShutDown(this.name));
          break;
        }
        if (r > 0) {
          round = 0;
          if (head.settled) void this.scripts!.release(token).catch(() => {}); // aborted while reserving
          else {
            removeFrom(this.putters, head);
            head.resolve(token);
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
    await this.startConsumer();
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
      job.id!,
      job.data as T,
      job.attemptsMade + 1,
      job.opts.attempts ?? 1,
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
      const completing = held.ref.job.moveToCompleted(result ?? null, held.ref.token, fetchNext);
      // close() waits for it: the task it may bring must be handed back before the connections go.
      if (fetchNext) this.track(this.quickFetches, completing.then(() => {}, () => {}));
      next = await completing;
    } catch (e) {
      throw this.finishError(held, e);
    } finally {
      if (fetchNext) this.fetchesInFlight--;
    }
    this.finished();
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
    const entry = { held: { job, token }, timer: setTimeout(() => this.releasePrefetched(entry), PREFETCH_GRACE_MS) };
    this.prefetched.push(entry);
    if (this.closed) this.releasePrefetched(entry);
  }

  private takePrefetched(): RedisTask<T> | undefined {
    const entry = this.prefetched.shift();
    if (!entry) return undefined;
    clearTimeout(entry.timer);
    return this.hold(entry.held.job, entry.held.token);
  }

  private releasePrefetched(entry: { held: HeldJob; timer: NodeJS.Timeout }): Promise<void> {
    clearTimeout(entry.timer);
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
    this.finished();
  }

  private finishError(held: RedisTask<T>, e: unknown): unknown {
    const msg = (e as Error)?.message ?? '';
    if (held.ref.lost || /lock|not in the active state|does not exist/i.test(msg)) return new LeaseLost(this.name, held.id, e);
    this.held.add(held); // state unknown (Redis error): keep renewing it, the caller may retry
    return e;
  }

  private finished(): void {
    if (this.signals?.joinWanted) void this.scripts!.unfinished('notify').catch(() => {});
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
    for (const p of this.putters.splice(0)) p.reject(new QueueShutDown(this.name));
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
    for (const w of [...this.getters.splice(0), ...this.joiners.splice(0), ...this.putters.splice(0)]) w.reject(err);
    clearInterval(this.renewTimer);
    // Quick fetches in flight may still bring a task; they hand it back themselves since the handle is closed.
    while (this.quickFetches.size > 0) await Promise.allSettled([...this.quickFetches]);
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

function sum(c: Record<string, number>): number {
  return Object.values(c).reduce((a, b) => a + (b ?? 0), 0);
}
