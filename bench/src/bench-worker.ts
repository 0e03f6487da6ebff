/**
 * `pnpm bench:worker`: a worker process with a no-op handler doing BENCH_TASKS (default 50,000)
 * prefilled tasks at concurrency 1, 16 and 64, each beside a plain BullMQ Worker process on the same
 * Redis in the same run; then Producer.enqueueMany beside BullMQ's addBulk; and the asyncq worker's
 * RSS at concurrency 64, idle and under load. Uses REDIS_URL when set, else a private redis-server.
 */
import { fork } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { Queue as BullQueue } from 'bullmq';
import { startEmbeddedRedis } from '@asyncq/core';
import { cleanup, fmt, median, redisOptions } from './bench-redis.js';
import { Producer } from '@asyncq/producer';

const TASKS = Number(process.env.BENCH_TASKS ?? 50_000);
const ROUNDS = Number(process.env.BENCH_ROUNDS ?? 3);
const BATCH = 1000;

interface Run {
  perSecond: number;
  /** Worker process CPU per task, µs. */
  cpuPerTask: number;
  idleRss: number;
  peakRss: number;
}

async function main(): Promise<void> {
  const embedded = process.env.REDIS_URL ? undefined : await startEmbeddedRedis();
  const url = process.env.REDIS_URL ?? embedded!.url;
  try {
    console.log(`asyncq worker benchmark: ${TASKS} prefilled no-op tasks per run, one worker process, median of ${ROUNDS} rounds, Redis ${new URL(url).host}`);
    let rss: Run | undefined;
    for (const concurrency of [1, 16, 64]) {
      const runs = { bullmq: [] as Run[], asyncq: [] as Run[] };
      for (let r = 0; r < ROUNDS; r++) {
        // Alternate which goes first so neither always meets a warmer Redis.
        const order = r % 2 === 0 ? (['bullmq', 'asyncq'] as const) : (['asyncq', 'bullmq'] as const);
        for (const engine of order) runs[engine].push(await workerRun(url, engine, concurrency));
      }
      const b = medianRun(runs.bullmq);
      const a = medianRun(runs.asyncq);
      if (concurrency === 64) rss = a;
      console.log(
        `concurrency ${String(concurrency).padStart(2)}: BullMQ ${fmt(b.perSecond)} tasks/s, asyncq ${fmt(a.perSecond)} tasks/s, ratio ${(a.perSecond / b.perSecond).toFixed(2)} (target >= 0.9); worker CPU per task ${b.cpuPerTask.toFixed(0)} vs ${a.cpuPerTask.toFixed(0)} µs`,
      );
    }
    const bulks: number[] = [];
    const manys: number[] = [];
    for (let r = 0; r < ROUNDS; r++) {
      bulks.push(await bullAddBulk(url));
      manys.push(await asyncqEnqueueMany(url));
    }
    const [bulk, many] = [median(bulks), median(manys)];
    console.log(`enqueue ${TASKS} in batches of ${BATCH}: BullMQ addBulk ${fmt(bulk)}/s, asyncq enqueueMany ${fmt(many)}/s, ratio ${(many / bulk).toFixed(2)} (target >= 0.9)`);
    console.log(`asyncq worker RSS at concurrency 64: idle ${mb(rss!.idleRss)}, under load ${mb(rss!.peakRss)} (peak)`);
  } finally {
    await embedded?.stop();
  }
}

/** Prefills TASKS tasks, starts a worker process, and times it from "go" to the last task done. */
async function workerRun(url: string, engine: 'bullmq' | 'asyncq', concurrency: number): Promise<Run> {
  const name = `bench-${randomBytes(4).toString('hex')}`;
  if (engine === 'bullmq') {
    const q = new BullQueue(name, { connection: redisOptions(url), prefix: 'bullbench' });
    for (let i = 0; i < TASKS; i += BATCH) {
      await q.addBulk(Array.from({ length: Math.min(BATCH, TASKS - i) }, (_, j) => ({ name: 'task', data: i + j, opts: { removeOnComplete: 1000 } })));
    }
    await q.close();
  } else {
    const p = new Producer({ queue: name, connection: url });
    await p.enqueueMany(Array.from({ length: TASKS }, (_, i) => ({ name: 'task', data: i })));
    await p.close();
  }
  const child = fork(new URL('./bench-worker-child.js', import.meta.url), [engine, name, String(concurrency), String(TASKS)], {
    env: { ...process.env, REDIS_URL: url },
  });
  const messages: { event: string; rss?: number; ms?: number; peakRss?: number; cpuUs?: number }[] = [];
  const next = (event: string): Promise<(typeof messages)[number]> =>
    new Promise((resolve, reject) => {
      const seen = messages.find((m) => m.event === event);
      if (seen) return resolve(seen);
      child.on('message', (m: (typeof messages)[number]) => m.event === event && resolve(m));
      child.on('exit', (code) => reject(new Error(`${engine} worker exited (${code}) before "${event}"`)));
    });
  child.on('message', (m: (typeof messages)[number]) => messages.push(m));
  const ready = await next('ready');
  child.send('go');
  const done = await next('done');
  await new Promise((r) => child.once('exit', r));
  await cleanup(url, engine === 'bullmq' ? `bullbench:${name}:*` : `asyncq:{${name}}:*`);
  return { perSecond: (TASKS / done.ms!) * 1000, cpuPerTask: done.cpuUs! / TASKS, idleRss: ready.rss!, peakRss: done.peakRss! };
}

async function bullAddBulk(url: string): Promise<number> {
  const name = `bench-${randomBytes(4).toString('hex')}`;
  const q = new BullQueue(name, { connection: redisOptions(url), prefix: 'bullbench' });
  await q.waitUntilReady();
  const t0 = performance.now();
  for (let i = 0; i < TASKS; i += BATCH) {
    await q.addBulk(Array.from({ length: Math.min(BATCH, TASKS - i) }, (_, j) => ({ name: 'task', data: { i: i + j }, opts: { removeOnComplete: 1000 } })));
  }
  const ms = performance.now() - t0;
  await q.close();
  await cleanup(url, `bullbench:${name}:*`);
  return (TASKS / ms) * 1000;
}

async function asyncqEnqueueMany(url: string): Promise<number> {
  const name = `bench-${randomBytes(4).toString('hex')}`;
  const p = new Producer({ queue: name, connection: url });
  await p.enqueueMany([]); // connect before the clock starts, as BullMQ's side does
  const items = Array.from({ length: TASKS }, (_, i) => ({ name: 'task', data: { i } }));
  const t0 = performance.now();
  await p.enqueueMany(items, { batchSize: BATCH });
  const ms = performance.now() - t0;
  await p.close();
  await cleanup(url, `asyncq:{${name}}:*`);
  return (TASKS / ms) * 1000;
}




/** The run with the median throughput. */
function medianRun(runs: Run[]): Run {
  return [...runs].sort((a, b) => a.perSecond - b.perSecond)[Math.floor(runs.length / 2)]!;
}

const mb = (bytes: number): string => `${(bytes / 1024 / 1024).toFixed(0)} MB`;

main().catch((e: unknown) => {
  console.error(e instanceof Error ? e.message : e);
  process.exitCode = 1;
});
