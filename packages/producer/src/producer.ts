import {
  checkInt,
  ConfigError,
  Queue,
  type ConnectionOption,
  type PutOptions,
  type QueueOptions,
  type TaskDefinition,
  type WaitOptions,
} from '@asyncq/core';
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

/** An enqueued task: its id, and its result once a worker finished it. */
export interface TaskRef<Result = unknown> {
  readonly id: string;
  readonly name: string;
  /** Waits for the task to finish: its handler's value, or `TaskFailed` with the remote error. */
  result(opts?: WaitOptions): Promise<Result>;
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

  /** Resolves once every task put by anyone is finished (done, or failed for good). */
  join(opts?: WaitOptions): Promise<void> {
    return this.queue.join(opts);
  }

  /** Releases the producer's connections. */
  close(): Promise<void> {
    return this.queue.close();
  }

  private ref(id: string, name: string): TaskRef {
    return { id, name, result: (o?: WaitOptions) => this.queue.result(id, o) };
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
