/**
 * asyncq's side of each bench role, through its public API only (`Queue`, `Worker`, `Producer`),
 * so the bench keeps working whatever the engine underneath becomes.
 */
import { Queue } from '@asyncq/core';
import { gather, Producer } from '@asyncq/producer';
import { Worker } from '@asyncq/worker';
import type { ChildContext } from './child-context.js';

/** Runs the role the spec names. */
export async function runAsyncq(ctx: ChildContext): Promise<void> {
  switch (ctx.spec.role) {
    case 'worker':
      return worker(ctx);
    case 'handle':
      return handle(ctx);
    case 'put':
      return put(ctx);
    case 'bulk':
      return bulk(ctx);
    case 'join-wakeup':
      return joinWakeup(ctx);
    case 'gather':
      return gatherAll(ctx);
    case 'cancel-latency':
      return cancelLatency(ctx);
  }
}

/** A Worker with a no-op handler, timed until a join() called once every task has started resolves. */
async function worker(ctx: ChildContext): Promise<void> {
  const { url, queue, count, concurrency } = ctx.spec;
  // join() is called only at the end: a join waiting during the run is the "joiner" scenario's variable.
  const joiner = new Queue(queue, { connection: url });
  await joiner.qsize();
  let allStarted = (): void => {};
  const everyTaskStarted = new Promise<void>((r) => (allStarted = r));
  const w = new Worker(
    queue,
    async () => {
      if (++ctx.done === count) allStarted();
    },
    // BENCH_PREFETCH (checked by bench-options, inherited by this process): the prefetch under test.
    { connection: url, concurrency, handleSignals: false, ...(process.env.BENCH_PREFETCH ? { prefetch: Number(process.env.BENCH_PREFETCH) } : {}) },
  );
  await ctx.ready();
  const running = w.run();
  const endedEarly = running.then(() => {
    throw new Error('Worker.run() ended before every task ran');
  });
  endedEarly.catch(() => {}); // it also ends, normally, after close() below
  await Promise.race([everyTaskStarted, endedEarly]);
  await joiner.join();
  ctx.finish();
  await w.close();
  await running;
  await joiner.close();
}

/** One handle, `concurrency` loops of get() then taskDone(), timed to join(). */
async function handle(ctx: ChildContext): Promise<void> {
  const { url, queue, count, concurrency } = ctx.spec;
  const q = new Queue<unknown>(queue, { connection: url });
  await q.getNowait().catch(() => {}); // the driver prefills only after "ready": this only connects the consumer
  await ctx.ready();
  let taken = 0;
  const loop = async (): Promise<void> => {
    while (taken < count) {
      taken++;
      await q.get();
      await q.taskDone();
      ctx.done++;
    }
  };
  await Promise.all(Array.from({ length: concurrency }, loop));
  await q.join();
  ctx.finish();
  await q.close();
}

/** `count` puts, `inFlight` at once. */
async function put(ctx: ChildContext): Promise<void> {
  const { url, queue, count, inFlight } = ctx.spec;
  const q = new Queue<{ i: number }>(queue, { connection: url });
  await q.qsize();
  await ctx.ready();
  let next = 0;
  const loop = async (): Promise<void> => {
    while (next < count) {
      await q.put({ i: next++ });
      ctx.done++;
    }
  };
  await Promise.all(Array.from({ length: inFlight }, loop));
  ctx.finish();
  await q.close();
}

/** One Producer.enqueueMany of `count` tasks in batches of `batch`. */
async function bulk(ctx: ChildContext): Promise<void> {
  const { url, queue, count, batch } = ctx.spec;
  const p = new Producer({ queue, connection: url });
  await p.enqueueMany([]); // connects, as the other engines do before their clock starts
  const items = Array.from({ length: count }, (_, i) => ({ name: 'task', data: { i } }));
  await ctx.ready();
  await p.enqueueMany(items, { batchSize: batch, onProgress: (n) => (ctx.done = n) });
  ctx.finish();
  await p.close();
}

/** `count` trials: from the consumer's taskDone resolving to a join() waiting in another handle resolving. */
async function joinWakeup(ctx: ChildContext): Promise<void> {
  const { url, queue, count } = ctx.spec;
  const joiner = new Queue<number>(queue, { connection: url });
  const consumer = new Queue<number>(queue, { connection: url });
  await joiner.qsize();
  await consumer.getNowait().catch(() => {}); // the queue is empty: this only connects the consumer
  await ctx.ready();
  const samples: number[] = [];
  for (let i = 0; i < count; i++) {
    await joiner.put(i);
    let joinedAt = 0;
    const joined = joiner.join({ timeout: 30_000 }).then(() => (joinedAt = performance.now()));
    await new Promise((r) => setTimeout(r, 5)); // the join is waiting, as it would be in real use
    await consumer.get({ timeout: 30_000 });
    await consumer.taskDone();
    const doneAt = performance.now();
    await joined;
    samples.push(Math.max(0, joinedAt - doneAt));
    ctx.done++;
  }
  ctx.finish(samples);
  await Promise.all([joiner.close(), consumer.close()]);
}

/** `count` tasks enqueued before "go"; then gather() on every ref while a Worker runs them. */
async function gatherAll(ctx: ChildContext): Promise<void> {
  const { url, queue, count, batch, concurrency } = ctx.spec;
  const p = new Producer({ queue, connection: url });
  const refs = await p.enqueueMany(
    Array.from({ length: count }, (_, i) => ({ name: 'task', data: { i } })),
    { batchSize: batch },
  );
  const w = new Worker(queue, async () => undefined, { connection: url, concurrency, handleSignals: false });
  await ctx.ready();
  const all = gather(refs);
  const running = w.run();
  ctx.done = (await all).length;
  ctx.finish();
  await w.close();
  await running;
  await p.close();
}

/** `count` trials: from `ref.cancel()` in one handle to the running handler's ctx.signal aborting in a Worker. */
async function cancelLatency(ctx: ChildContext): Promise<void> {
  const { url, queue, count } = ctx.spec;
  const canceller = new Queue<number>(queue, { connection: url });
  let started = (): void => {};
  let aborted = (): void => {};
  const w = new Worker(
    queue,
    (_data, task) =>
      new Promise((_resolve, reject) => {
        task.signal.addEventListener('abort', () => (aborted(), reject(task.signal.reason as Error)), { once: true });
        started();
      }),
    { connection: url, concurrency: 1, handleSignals: false },
  );
  const running = w.run();
  await canceller.qsize();
  await w.started;
  await ctx.ready();
  const samples: number[] = [];
  for (let i = 0; i < count; i++) {
    const isRunning = new Promise<void>((r) => (started = r));
    const ref = await canceller.submit(i, { name: 'task' });
    await isRunning;
    let at = 0;
    const isAborted = new Promise<void>((r) => (aborted = () => ((at = performance.now()), r())));
    const t0 = performance.now();
    await ref.cancel();
    await isAborted;
    samples.push(at - t0);
    ctx.done++;
  }
  ctx.finish(samples);
  await w.close();
  await running;
  await canceller.close();
}
