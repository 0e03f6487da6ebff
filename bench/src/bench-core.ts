/**
 * `pnpm bench:core`: put -> get -> taskDone of no-op tasks through one Redis,
 * consumer concurrency 16, side by side with a plain BullMQ Worker doing the
 * same no-op work on the same Redis in the same run; then join wake-up
 * latency (last taskDone to join resolving).
 *
 * Uses REDIS_URL when set, else a private redis-server on a free port.
 * BENCH_TASKS (default 20000) and BENCH_ROUNDS (default 3) size the run.
 */
import { randomBytes } from 'node:crypto';
import { setMaxListeners } from 'node:events';
import { Queue as BullQueue, Worker as BullWorker } from 'bullmq';
import { Queue, startEmbeddedRedis } from '@asyncq/core';
import { cleanup, fmt, median, quantile, redisOptions } from './bench-redis.js';

const TASKS = Number(process.env.BENCH_TASKS ?? 20_000);
const ROUNDS = Number(process.env.BENCH_ROUNDS ?? 3);
const CONCURRENCY = 16;
const PRODUCERS = 64;
const JOIN_TRIALS = 200;
const KEEP_COMPLETED = 1000; // asyncq's default retention, given to BullMQ too so both trim alike

async function main(): Promise<void> {
  const embedded = process.env.REDIS_URL ? undefined : await startEmbeddedRedis();
  const url = process.env.REDIS_URL ?? embedded!.url;
  try {
    console.log(`asyncq core benchmark: ${TASKS} no-op tasks per round, consumer concurrency ${CONCURRENCY}, ${PRODUCERS} concurrent producers, ${ROUNDS} rounds each, Redis ${new URL(url).host}`);
    const bull: number[] = [];
    const asyncq: number[] = [];
    for (let r = 0; r < ROUNDS; r++) {
      // Alternate which goes first so neither always meets a warmer Redis.
      if (r % 2 === 0) {
        bull.push(await benchBullmq(url));
        asyncq.push(await benchAsyncq(url));
      } else {
        asyncq.push(await benchAsyncq(url));
        bull.push(await benchBullmq(url));
      }
      console.log(`  round ${r + 1}: BullMQ ${fmt(bull.at(-1)!)} tasks/s, asyncq ${fmt(asyncq.at(-1)!)} tasks/s`);
    }
    const b = median(bull);
    const a = median(asyncq);
    console.log(`plain BullMQ Worker: ${fmt(b)} tasks/s (median)`);
    console.log(`asyncq Queue:        ${fmt(a)} tasks/s (median)`);
    console.log(`ratio asyncq/BullMQ: ${(a / b).toFixed(2)} (target >= 0.8)`);
    const wake = await benchJoinWakeup(url);
    console.log(
      `join wake-up (last taskDone -> join resolved): p50 ${wake.p50.toFixed(2)} ms, p99 ${wake.p99.toFixed(2)} ms over ${JOIN_TRIALS} runs (target p99 <= 50 ms)`,
    );
  } finally {
    await embedded?.stop();
  }
}

async function benchAsyncq(url: string): Promise<number> {
  const name = `bench-${randomBytes(4).toString('hex')}`;
  const producer = new Queue<number>(name, { connection: url });
  const consumer = new Queue<number>(name, { connection: url });
  await producer.qsize(); // connect before the clock starts, as BullMQ's side does
  await consumer.getNowait().catch(() => {});
  const t0 = performance.now();
  let next = 0;
  const produce = async (): Promise<void> => {
    while (next < TASKS) await producer.put(next++);
  };
  // Consumers run until every task is done, then their waiting gets are aborted (not timed out),
  // just as BullMQ's side stops the clock on its last 'completed' event.
  const stop = new AbortController();
  setMaxListeners(CONCURRENCY + 1, stop.signal);
  let done = 0;
  const consume = async (): Promise<void> => {
    while (!stop.signal.aborted) {
      const task = await consumer.getTask({ signal: stop.signal }).catch(() => undefined);
      if (!task) continue;
      await task.done();
      if (++done === TASKS) stop.abort();
    }
  };
  await Promise.all([
    ...Array.from({ length: PRODUCERS }, produce),
    ...Array.from({ length: CONCURRENCY }, consume),
  ]);
  const elapsed = performance.now() - t0;
  await Promise.all([producer.close(), consumer.close()]);
  await cleanup(url, `asyncq:{${name}}:*`);
  return (TASKS / elapsed) * 1000;
}

async function benchBullmq(url: string): Promise<number> {
  const name = `bench-${randomBytes(4).toString('hex')}`;
  const connection = { ...redisOptions(url), maxRetriesPerRequest: null };
  const queue = new BullQueue(name, { connection, prefix: 'bullbench' });
  await queue.waitUntilReady();
  let done = 0;
  let finish: () => void = () => {};
  const finished = new Promise<void>((r) => (finish = r));
  const worker = new BullWorker(name, async () => undefined, { connection, prefix: 'bullbench', concurrency: CONCURRENCY, autorun: false });
  worker.on('completed', () => {
    if (++done === TASKS) finish();
  });
  await worker.waitUntilReady();
  const t0 = performance.now();
  void worker.run();
  let next = 0;
  const produce = async (): Promise<void> => {
    while (next < TASKS) await queue.add('task', next++, { removeOnComplete: KEEP_COMPLETED });
  };
  await Promise.all(Array.from({ length: PRODUCERS }, produce));
  await finished;
  const elapsed = performance.now() - t0;
  await worker.close();
  await queue.close();
  await cleanup(url, `bullbench:${name}:*`);
  return (TASKS / elapsed) * 1000;
}

/** Time from the consumer's last taskDone resolving to a waiting join (another handle) resolving. */
async function benchJoinWakeup(url: string): Promise<{ p50: number; p99: number }> {
  const name = `bench-join-${randomBytes(4).toString('hex')}`;
  const joiner = new Queue<number>(name, { connection: url });
  const consumer = new Queue<number>(name, { connection: url });
  const samples: number[] = [];
  for (let i = 0; i < JOIN_TRIALS; i++) {
    await joiner.put(i);
    let joinedAt = 0;
    const joined = joiner.join().then(() => (joinedAt = performance.now()));
    await new Promise((r) => setTimeout(r, 2)); // the join is waiting, as it would be in real use
    const task = await consumer.getTask();
    await task.done();
    const doneAt = performance.now();
    await joined;
    samples.push(Math.max(0, joinedAt - doneAt));
  }
  await Promise.all([joiner.close(), consumer.close()]);
  await cleanup(url, `asyncq:{${name}}:*`);
  samples.sort((a, b) => a - b);
  return { p50: quantile(samples, 0.5), p99: quantile(samples, 0.99) };
}






main().catch((e: unknown) => {
  console.error(e instanceof Error ? e.message : e);
  process.exitCode = 1;
});
