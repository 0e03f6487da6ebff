/**
 * bee-queue 2.0's side of each bench role. Its worker removes jobs on success (it can keep all
 * or none; asyncq and BullMQ keep the last 1,000); its producers neither store jobs nor listen
 * for their events, as BullMQ's and asyncq's producers don't.
 */
import BeeQueue from 'bee-queue';
import type { ChildContext } from './child-context.js';
import { chunk } from './chunk.js';
import { beeRedis, BEE_PREFIX } from './connections.js';

/** Runs the role the spec names ('handle' is the worker at the same concurrency). */
export async function runBee(ctx: ChildContext): Promise<void> {
  switch (ctx.spec.role) {
    case 'worker':
    case 'handle':
      return worker(ctx);
    case 'put':
      return save(ctx);
    case 'bulk':
      return saveAll(ctx);
    case 'join-wakeup':
      throw new Error('bee-queue has no join');
    case 'gather':
    case 'cancel-latency':
      throw new Error(`bee-queue has no ${ctx.spec.role} scenario here`);
  }
}

/** The settings of a queue that only enqueues. */
export function beeProducer(url: string, queue: string): BeeQueue {
  return new BeeQueue(queue, { redis: beeRedis(url), prefix: BEE_PREFIX, isWorker: false, getEvents: false, sendEvents: false, storeJobs: false });
}

/** queue.process(concurrency, no-op), timed until its `succeeded` event has fired for every task. */
async function worker(ctx: ChildContext): Promise<void> {
  const { url, queue, count, concurrency } = ctx.spec;
  const q = new BeeQueue(queue, { redis: beeRedis(url), prefix: BEE_PREFIX, isWorker: true, getEvents: false, removeOnSuccess: true });
  let finish = (): void => {};
  const finished = new Promise<void>((r) => (finish = r));
  q.on('succeeded', () => {
    if (++ctx.done === count) finish();
  });
  q.on('failed', (job, e) => {
    throw new Error(`bee-queue job ${job.id} failed: ${e.message}`);
  });
  await q.ready();
  await ctx.ready();
  q.process(concurrency, async () => undefined);
  await finished;
  ctx.finish();
  await q.close();
}

/** `count` job.save() calls, `inFlight` at once. */
async function save(ctx: ChildContext): Promise<void> {
  const { url, queue, count, inFlight } = ctx.spec;
  const q = beeProducer(url, queue);
  await q.ready();
  await ctx.ready();
  let next = 0;
  const loop = async (): Promise<void> => {
    while (next < count) {
      await q.createJob({ i: next++ }).save();
      ctx.done++;
    }
  };
  await Promise.all(Array.from({ length: inFlight }, loop));
  ctx.finish();
  await q.close();
}

/** saveAll in batches of `batch`, one after another. */
async function saveAll(ctx: ChildContext): Promise<void> {
  const { url, queue, count, batch } = ctx.spec;
  const q = beeProducer(url, queue);
  await q.ready();
  const batches = chunk(count, batch, (i) => ({ i }));
  await ctx.ready();
  for (const b of batches) {
    const errors = await q.saveAll(b.map((data) => q.createJob(data)));
    if (errors.size > 0) throw new Error(`bee-queue saveAll: ${[...errors.values()][0]?.message}`);
    ctx.done += b.length;
  }
  ctx.finish();
  await q.close();
}
