/** Plain BullMQ 6.7's side of each bench role, with the settings asyncq uses by default. */
import { Queue, QueueEvents, Worker, type JobsOptions } from 'bullmq';
import type { ChildContext } from './child-context.js';
import { chunk } from './chunk.js';
import { bullConnection, BULL_PREFIX } from './connections.js';

/** Runs the role the spec names ('handle' is the Worker at the same concurrency). */
export async function runBullmq(ctx: ChildContext): Promise<void> {
  switch (ctx.spec.role) {
    case 'worker':
    case 'handle':
      return worker(ctx);
    case 'put':
      return add(ctx);
    case 'bulk':
      return addBulk(ctx);
    case 'gather':
      return waitAll(ctx);
    case 'join-wakeup':
      throw new Error('BullMQ has no join');
    case 'cancel-latency':
      throw new Error('BullMQ cannot cancel an active job');
  }
}

/** A Worker with a no-op handler, timed until its `completed` event has fired for every task. */
async function worker(ctx: ChildContext): Promise<void> {
  const { url, queue, count, concurrency } = ctx.spec;
  let finish = (): void => {};
  const finished = new Promise<void>((r) => (finish = r));
  const w = new Worker(queue, async () => undefined, { connection: bullConnection(url), prefix: BULL_PREFIX, concurrency, autorun: false });
  w.on('completed', () => {
    if (++ctx.done === count) finish();
  });
  w.on('failed', (job, e) => {
    throw new Error(`BullMQ job ${job?.id} failed: ${e.message}`);
  });
  await w.waitUntilReady();
  await ctx.ready();
  void w.run();
  await finished;
  ctx.finish();
  await w.close();
}

/** `count` queue.add calls, `inFlight` at once. */
async function add(ctx: ChildContext): Promise<void> {
  const { url, queue, count, inFlight } = ctx.spec;
  const q = new Queue(queue, { connection: bullConnection(url), prefix: BULL_PREFIX });
  await q.waitUntilReady();
  const opts = jobOptions(ctx);
  await ctx.ready();
  let next = 0;
  const loop = async (): Promise<void> => {
    while (next < count) {
      await q.add('task', { i: next++ }, opts);
      ctx.done++;
    }
  };
  await Promise.all(Array.from({ length: inFlight }, loop));
  ctx.finish();
  await q.close();
}

/** addBulk in batches of `batch`, one after another. */
async function addBulk(ctx: ChildContext): Promise<void> {
  const { url, queue, count, batch } = ctx.spec;
  const q = new Queue(queue, { connection: bullConnection(url), prefix: BULL_PREFIX });
  await q.waitUntilReady();
  const opts = jobOptions(ctx);
  const batches = chunk(count, batch, (i) => ({ name: 'task', data: { i }, opts }));
  await ctx.ready();
  for (const b of batches) {
    await q.addBulk(b);
    ctx.done += b.length;
  }
  ctx.finish();
  await q.close();
}

/** `count` jobs added before "go"; then job.waitUntilFinished(queueEvents) on every one while a Worker runs them. */
async function waitAll(ctx: ChildContext): Promise<void> {
  const { url, queue, count, batch, concurrency } = ctx.spec;
  const q = new Queue(queue, { connection: bullConnection(url), prefix: BULL_PREFIX });
  const events = new QueueEvents(queue, { connection: bullConnection(url), prefix: BULL_PREFIX });
  // One listener per job waited on, on the events and (its 'closing') on the queue: BullMQ's way.
  events.setMaxListeners(0);
  q.setMaxListeners(0);
  await Promise.all([q.waitUntilReady(), events.waitUntilReady()]);
  const opts = jobOptions(ctx);
  const jobs = [];
  for (const b of chunk(count, batch, (i) => ({ name: 'task', data: { i }, opts }))) jobs.push(...(await q.addBulk(b)));
  const w = new Worker(queue, async () => undefined, { connection: bullConnection(url), prefix: BULL_PREFIX, concurrency, autorun: false });
  await w.waitUntilReady();
  await ctx.ready();
  const waits = jobs.map((j) => j.waitUntilFinished(events).then(() => void ctx.done++));
  void w.run();
  await Promise.all(waits);
  ctx.finish();
  await w.close();
  await events.close();
  await q.close();
}

function jobOptions(ctx: ChildContext): JobsOptions {
  return { removeOnComplete: ctx.spec.keepCompleted };
}
