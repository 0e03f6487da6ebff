/**
 * One worker process of `pnpm bench:worker`: a plain BullMQ Worker or an asyncq Worker with a
 * no-op handler. Reports "ready" (with idle RSS), waits for "go", then reports the time to finish
 * `count` tasks and the largest RSS seen meanwhile. Args: <bullmq|asyncq> <queue> <concurrency> <count>.
 */
import { Worker as BullWorker } from 'bullmq';
import { Queue } from '@asyncq/core';
import { Worker } from '@asyncq/worker';

const [engine, queue, concurrencyArg, countArg] = process.argv.slice(2) as [string, string, string, string];
const concurrency = Number(concurrencyArg);
const count = Number(countArg);
const url = new URL(process.env.REDIS_URL!);
const send = (m: object): void => void process.send!(m);
const go = new Promise<void>((r) => process.once('message', () => r()));
let peakRss = 0;
const cpuOf = (since: NodeJS.CpuUsage): number => {
  const u = process.cpuUsage(since);
  return u.user + u.system;
};
const sampler = setInterval(() => (peakRss = Math.max(peakRss, process.memoryUsage().rss)), 50);

if (engine === 'bullmq') {
  const connection = { host: url.hostname, port: Number(url.port), maxRetriesPerRequest: null };
  let done = 0;
  let finish = (): void => {};
  const finished = new Promise<void>((r) => (finish = r));
  const worker = new BullWorker(queue, async () => undefined, { connection, concurrency, autorun: false, prefix: 'bullbench' });
  worker.on('completed', () => {
    if (++done === count) finish();
  });
  await worker.waitUntilReady();
  send({ event: 'ready', rss: process.memoryUsage().rss });
  await go;
  const t0 = performance.now();
  const cpu0 = process.cpuUsage();
  void worker.run();
  await finished;
  send({ event: 'done', ms: performance.now() - t0, peakRss, cpuUs: cpuOf(cpu0) });
  await worker.close();
} else {
  const q = new Queue(queue, { connection: process.env.REDIS_URL });
  let started = 0;
  let allStarted = (): void => {};
  const everyTaskStarted = new Promise<void>((r) => (allStarted = r));
  const worker = new Worker(
    queue,
    async () => {
      if (++started === count) allStarted();
    },
    { connection: process.env.REDIS_URL, concurrency, handleSignals: false },
  );
  await q.qsize();
  await q.close();
  send({ event: 'ready', rss: process.memoryUsage().rss });
  await go;
  const t0 = performance.now();
  const cpu0 = process.cpuUsage();
  const running = worker.run();
  await everyTaskStarted;
  await worker.close(); // lets the last tasks' done() finish (no join: a joiner makes workers signal it per task)
  send({ event: 'done', ms: performance.now() - t0, peakRss, cpuUs: cpuOf(cpu0) });
  await running;
}
clearInterval(sampler);
process.disconnect();
