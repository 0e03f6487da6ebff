import type { BenchOptions } from './bench-options.js';
import type { QueueLimits } from '@asyncq/core';
import type { ChildRole, EngineId } from './protocol.js';

/** One side of a scenario: an engine doing a role, sometimes with a joiner waiting beside it. */
export interface Variant {
  /** The engine, or for asyncq-only scenarios what differs ('without' / 'with'). */
  key: string;
  engine: EngineId;
  role: ChildRole;
  concurrency: number;
  /** The queue is filled with the run's tasks before the clock starts. */
  prefill: boolean;
  /** A second asyncq handle waits in join() in the driver during the run. */
  joiner?: boolean;
  /** Limits the driver sets on the queue (setLimits) before the run. */
  limits?: QueueLimits;
  /** The prefilled tasks are spread over this many groups (put option `group`), round robin. */
  groups?: number;
  /** The row's name, when the key alone does not say it. */
  label?: string;
}

/** One row of the report. */
export interface Scenario {
  id: string;
  /** Short name for tables. */
  title: string;
  /** What runs, for the scenario's heading. */
  describe: string;
  variants: Variant[];
  /** Tasks (or trials) per run. */
  count: number;
  /** Runs of each variant; the bench's rounds when not set. */
  rounds?: number;
}

const ENGINES: EngineId[] = ['asyncq', 'bullmq', 'bee'];

/** Every scenario id, in the order they run. */
export const SCENARIO_IDS = ['worker-c1', 'worker-c16', 'worker-c64', 'handle-16', 'put-100', 'enqueue-many', 'joiner', 'limits', 'join-wakeup', 'gather-10k', 'cancel-latency', 'locks'] as const;

/** The scenarios, sized by the options. */
export function scenarios(o: BenchOptions): Scenario[] {
  const n = o.tasks.toLocaleString('en-US');
  const all = (role: ChildRole, concurrency: number, prefill: boolean): Variant[] =>
    ENGINES.map((engine) => ({ key: engine, engine, role, concurrency, prefill }));
  const worker = (c: number): Scenario => ({
    id: `worker-c${c}`,
    title: `worker c=${c}`,
    describe: `one worker process at concurrency ${c}, no-op handler, ${n} prefilled tasks, timed until all are finished (asyncq Worker until join(); BullMQ Worker until its last 'completed'; bee-queue process(${c}) until its last 'succeeded')`,
    variants: all('worker', c, true),
    count: o.tasks,
  });
  return [
    worker(1),
    worker(16),
    worker(64),
    {
      id: 'handle-16',
      title: 'one handle, 16 get/taskDone loops',
      describe: `asyncq: one Queue handle running 16 loops of get() then taskDone() over ${n} prefilled tasks, timed to join(); beside a BullMQ Worker and bee-queue process() at concurrency 16`,
      variants: [{ key: 'asyncq', engine: 'asyncq', role: 'handle', concurrency: 16, prefill: true }, ...all('worker', 16, true).slice(1)],
      count: o.tasks,
    },
    {
      id: 'put-100',
      title: `put(), ${o.putInFlight} in flight`,
      describe: `${n} single puts, ${o.putInFlight} in flight, into an unbounded queue: asyncq Queue.put, BullMQ queue.add, bee-queue job.save()`,
      variants: all('put', 1, false),
      count: o.tasks,
    },
    {
      id: 'enqueue-many',
      title: `enqueueMany, batches of ${o.batch.toLocaleString('en-US')}`,
      describe: `${n} tasks in batches of ${o.batch.toLocaleString('en-US')}: asyncq Producer.enqueueMany, BullMQ addBulk, bee-queue saveAll`,
      variants: all('bulk', 1, false),
      count: o.tasks,
    },
    {
      id: 'joiner',
      title: 'asyncq worker c=16, joiner waiting',
      describe: `the asyncq worker at concurrency 16 over ${n} prefilled tasks, without and with a second handle blocked in join() during the run (asyncq only: BullMQ and bee-queue have no join)`,
      variants: [
        { key: 'without', engine: 'asyncq', role: 'worker', concurrency: 16, prefill: true },
        { key: 'with', engine: 'asyncq', role: 'worker', concurrency: 16, prefill: true, joiner: true },
      ],
      count: o.tasks,
    },
    {
      id: 'limits',
      title: 'asyncq worker c=16, non-binding limits',
      describe: `the asyncq worker at concurrency 16 over ${n} prefilled tasks, on a queue with no limits and on one with a rate limit and a global concurrency that never bind (1,000,000 a second; 1,000 held): what the limits cost; and with the tasks spread over 100 groups (round-robin), what groups cost`,
      variants: [
        { key: 'without', label: 'no limits', engine: 'asyncq', role: 'worker', concurrency: 16, prefill: true },
        { key: 'with', label: 'rate + concurrency', engine: 'asyncq', role: 'worker', concurrency: 16, prefill: true, limits: { rate: { max: 1_000_000, per: '1s' }, concurrency: 1000 } },
        { key: 'groups', label: '100 groups', engine: 'asyncq', role: 'worker', concurrency: 16, prefill: true, groups: 100 },
      ],
      count: o.tasks,
    },
    {
      id: 'join-wakeup',
      title: 'join wake-up',
      describe: `${o.wakeupTrials} trials: from the last taskDone() resolving to a join() waiting in another handle resolving (asyncq only)`,
      variants: [{ key: 'asyncq', engine: 'asyncq', role: 'join-wakeup', concurrency: 1, prefill: false }],
      count: o.wakeupTrials,
      rounds: 1,
    },
    {
      id: 'gather-10k',
      title: `wait on ${gatherCount(o).toLocaleString('en-US')} results at once`,
      describe: `${gatherCount(o).toLocaleString('en-US')} tasks enqueued before the clock starts; then every result waited on at once while a worker at concurrency 64 runs them, timed until the last result arrived: asyncq gather(refs) (one subscription per handle), BullMQ job.waitUntilFinished(queueEvents) on every job. Redis cmds/task include the worker's; worker c=64's are the same work without the waits`,
      variants: (['asyncq', 'bullmq'] as const).map((engine) => ({ key: engine, engine, role: 'gather' as const, concurrency: 64, prefill: false })),
      count: gatherCount(o),
    },
    {
      id: 'cancel-latency',
      title: 'cancel latency',
      describe: `${o.wakeupTrials} trials: from ref.cancel() in one handle to the running handler's ctx.signal aborting in a Worker (another connection, through Redis; asyncq only: BullMQ cannot cancel an active job, bee-queue neither)`,
      variants: [{ key: 'asyncq', engine: 'asyncq', role: 'cancel-latency', concurrency: 1, prefill: false }],
      count: o.wakeupTrials,
      rounds: 1,
    },
  ];
}

/** The gather scenario's size: 10,000, or the run's task count when smaller (--quick). */
function gatherCount(o: BenchOptions): number {
  return Math.min(10_000, o.tasks);
}
