import {
  ConfigError,
  Queue,
  taskGroup,
  type CancelOptions,
  type ConnectionOption,
  type FlowOptions,
  type FlowRef,
  type PutOptions,
  type QueueOptions,
  type TaskDefinition,
  type TaskGroupOptions,
  type TaskRef,
  type WaitOptions,
} from '@asyncq/core';
import { checkInt } from '@asyncq/core/internal';
import { flowSteps, type Step } from './flow-steps.js';
import type { Registry } from 'prom-client';

/** Options of a {@link Producer}. */
export interface ProducerOptions {
  /** The queue to enqueue into. */
  queue: string;
  /** Where Redis is. @defaultValue `process.env.REDIS_URL` or `redis://127.0.0.1:6379` */
  connection?: ConnectionOption;
  /** Most tasks waiting at once; `enqueue` waits while full. @defaultValue 0 (unbounded) */
  maxsize?: number;
  /** Redis key prefix. @defaultValue 'asyncq' */
  prefix?: string;
  /** The queue's partitions (see the core `QueueOptions.partitions`). @defaultValue 1 */
  partitions?: number;
  /** How many completed tasks to keep, with their results. @defaultValue 1000 */
  keepCompleted?: number;
  /** A prom-client registry: the producer then counts `asyncq_tasks_enqueued_total{queue,task}` in it. */
  registry?: Registry;
}

/** Options of one enqueue: the core `put` options less the name, which is the first argument. */
export type EnqueueOptions = Omit<PutOptions, 'name'>;

/** One item of {@link Producer.enqueueMany}. */
export interface EnqueueItem<Args = unknown> {
  name: string;
  data: Args;
  opts?: Omit<EnqueueOptions, 'signal' | 'timeout'>;
}

/** Options of {@link Producer.enqueueMany}. */
export interface EnqueueManyOptions extends WaitOptions {
  /** Called after each batch with how many are enqueued and how many there are in all. */
  onProgress?: (enqueued: number, total: number) => void;
  /** Tasks per Redis round trip. @defaultValue 1000 */
  batchSize?: number;
}

/** The group a {@link Producer.taskGroup} function gets: asyncio's `tg`, with `enqueue` for `create_task`. */
export interface ProducerTaskGroup {
  /** Aborts when the group shuts down early (a task failed, the function threw, the group was cancelled). */
  readonly signal: AbortSignal;
  /** Enqueues a task of the group; refused once the group is shutting down. */
  enqueue<Args, Result>(task: TaskDefinition<Args, Result>, data: Args, opts?: EnqueueOptions): Promise<TaskRef<Result>>;
  enqueue<Result = unknown>(name: string, data: unknown, opts?: EnqueueOptions): Promise<TaskRef<Result>>;
  /** Makes a task enqueued otherwise a task of the group. */
  adopt<Result>(ref: TaskRef<Result> | Promise<TaskRef<Result>>): Promise<TaskRef<Result>>;
}

/**
 * Enqueues tasks from application code: one at a time, typed by a shared
 * {@link TaskDefinition}, or in pipelined batches that honour `maxsize`.
 *
 * @example
 * ```ts
 * const producer = new Producer({ queue: 'emails', connection: 'redis://127.0.0.1:6379' });
 * const ref = await producer.enqueue('send', { to: 'a@b.c' }, { attempts: 3 });
 * console.log(await ref.result({ timeout: 30_000 }));
 * await producer.close();
 * ```
 */
export class Producer {
  private readonly queue: Queue<unknown>;
  private readonly counter: Promise<{ inc(labels: { queue: string; task: string }, n: number): void } | undefined>;

  constructor(opts: ProducerOptions) {
    if (!opts || typeof opts !== 'object') throw new ConfigError('new Producer({ queue, connection }) needs an options object');
    const queueOptions: QueueOptions = {
      connection: opts.connection,
      maxsize: opts.maxsize,
      prefix: opts.prefix,
      partitions: opts.partitions,
      keepCompleted: opts.keepCompleted,
    };
    this.queue = new Queue(opts.queue, queueOptions);
    this.counter = opts.registry ? enqueuedCounter(opts.registry) : Promise.resolve(undefined);
    this.counter.catch(() => {});
  }

  /** The queue's name. */
  get queueName(): string {
    return this.queue.name;
  }

  /** Enqueues one task (waiting while a bounded queue is full) and returns a reference to it. */
  enqueue<Args, Result>(task: TaskDefinition<Args, Result>, data: Args, opts?: EnqueueOptions): Promise<TaskRef<Result>>;
  enqueue<Result = unknown>(name: string, data: unknown, opts?: EnqueueOptions): Promise<TaskRef<Result>>;
  async enqueue(task: string | TaskDefinition<unknown, unknown>, data: unknown, opts?: EnqueueOptions): Promise<TaskRef> {
    const name = typeof task === 'string' ? task : task.name;
    const id = await this.queue.put(data, { ...opts, name });
    await this.count(name, 1);
    return this.ref(id, name);
  }

  /**
   * Enqueues many tasks in batches of one round trip each, waiting for room when the queue is
   * bounded. Every item is checked first: a bad one refuses the call with nothing enqueued.
   */
  async enqueueMany(items: Iterable<EnqueueItem>, opts?: EnqueueManyOptions): Promise<TaskRef[]> {
    const all = [...items];
    const names = all.map((x) => x.name);
    let counted = 0;
    const ids = await this.queue.putMany(
      all.map((x) => ({ item: x.data, opts: { ...x.opts, name: x.name } })),
      {
        ...opts,
        batchSize: checkInt('batchSize', opts?.batchSize, 1000, 1),
        onProgress: (n, total) => {
          void this.countNames(names.slice(counted, n));
          counted = n;
          opts?.onProgress?.(n, total);
        },
      },
    );
    return ids.map((id, i) => this.ref(id, names[i]!));
  }

  /** A reference to a task enqueued earlier, by id. */
  task<Result = unknown>(id: string, name = 'task'): TaskRef<Result> {
    return this.ref(id, name) as TaskRef<Result>;
  }

  /** Cancels a task of this producer's queue (see `TaskRef.cancel`); false when it had finished. */
  cancel(task: string | TaskRef, opts?: CancelOptions): Promise<boolean> {
    return this.queue.cancel(task, opts);
  }

  /**
   * asyncio.TaskGroup across processes: the tasks `fn` enqueues through `tg` run on any worker;
   * this resolves (with what `fn` returned) once all finished. When one fails for good, or `fn`
   * throws, the rest are cancelled (waiting ones removed, running ones signalled) and this rejects
   * with an `AggregateError` of the failures.
   */
  taskGroup<R>(fn: (tg: ProducerTaskGroup) => Promise<R>, opts?: TaskGroupOptions): Promise<R> {
    if (typeof fn !== 'function') return Promise.reject(new ConfigError('taskGroup takes an async function: producer.taskGroup(async (tg) => { ... })'));
    return taskGroup(
      (tg) =>
        fn({
          signal: tg.signal,
          enqueue: (task: string | TaskDefinition<unknown, unknown>, data: unknown, o?: EnqueueOptions) => tg.add(() => this.enqueue(task as string, data, o)),
          adopt: (ref) => tg.adopt(ref),
        }),
      opts,
    );
  }

  /**
   * A durable chain, kept in Redis: each step runs once the one before it completed, with its
   * result as the step's data (only the first step takes data). It survives this producer exiting,
   * workers dying and a Redis restart with AOF. A step that fails for good (or is cancelled) ends
   * it, and the chain's ref rejects with that. Resolves to the chain's ref, with each step's.
   */
  async chain<Result = unknown>(steps: readonly Step[], opts?: FlowOptions): Promise<FlowRef<Result>> {
    const ref = await this.queue.chain<Result>(flowSteps(steps, 'chain'), opts);
    await this.countNames(ref.tasks.map((t) => t.name));
    return ref;
  }

  /**
   * A durable chord, kept in Redis: the group's tasks run, and once every one completed, the
   * callback runs exactly once with their results in order (it takes no data of its own).
   */
  async chord<Result = unknown>(group: readonly Step[], callback: Step, opts?: FlowOptions): Promise<FlowRef<Result>> {
    const [cb] = flowSteps([callback], "chord's callback");
    const ref = await this.queue.chord<Result>(flowSteps(group, "chord's group"), cb!, opts);
    await this.countNames(ref.tasks.map((t) => t.name));
    return ref;
  }

  /** Resolves once every task put by anyone is finished (done, or failed for good). */
  join(opts?: WaitOptions): Promise<void> {
    return this.queue.join(opts);
  }

  /** Releases the producer's connections. */
  close(): Promise<void> {
    return this.queue.close();
  }

  private ref(id: string, name: string): TaskRef {
    return this.queue.ref(id, name);
  }

  private async count(name: string, n: number): Promise<void> {
    (await this.counter)?.inc({ queue: this.queue.name, task: name }, n);
  }

  private async countNames(names: string[]): Promise<void> {
    const c = await this.counter;
    if (!c) return;
    const byName = new Map<string, number>();
    for (const n of names) byName.set(n, (byName.get(n) ?? 0) + 1);
    for (const [task, n] of byName) c.inc({ queue: this.queue.name, task }, n);
  }
}

/** The enqueued counter in the caller's registry; prom-client is an optional peer, loaded only then. */
async function enqueuedCounter(registry: Registry): Promise<{ inc(labels: { queue: string; task: string }, n: number): void }> {
  let prom: typeof import('prom-client');
  try {
    prom = await import('prom-client');
  } catch {
    throw new ConfigError('a registry was given but prom-client is not installed: npm install prom-client');
  }
  const name = 'asyncq_tasks_enqueued_total';
  const existing = registry.getSingleMetric(name);
  if (existing) return existing as InstanceType<typeof prom.Counter<'queue' | 'task'>>;
  return new prom.Counter({ name, help: 'Tasks enqueued by producers.', labelNames: ['queue', 'task'], registers: [registry] });
}
