/**
 * `pnpm demo`: two consumer processes and a producer process share one Redis
 * queue; this process joins it, shuts it down, and prints a summary. Uses
 * REDIS_URL when set, else a private redis-server that it starts and stops.
 */
import { fork } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { Queue, QueueAdmin } from '@asyncq/core';
import { startEmbeddedRedis, type EmbeddedRedis } from '@asyncq/core/testing';

const TASKS = 200;
const MAXSIZE = 20;

interface ConsumerReport {
  label: string;
  done: number;
  workMs: number;
}

function run<T>(script: string, args: string[], env: NodeJS.ProcessEnv): Promise<T> {
  return new Promise((resolve, reject) => {
    const child = fork(new URL(script, import.meta.url), args, { env });
    let report: T | undefined;
    child.on('message', (m: T) => (report = m));
    child.on('error', reject);
    child.on('exit', (code) => (code === 0 && report ? resolve(report) : reject(new Error(`${script} exited with code ${code}`))));
  });
}

async function main(): Promise<void> {
  let embedded: EmbeddedRedis | undefined;
  if (!process.env.REDIS_URL) {
    embedded = await startEmbeddedRedis();
    console.log(`started a private redis-server at ${embedded.url} (set REDIS_URL to use your own)`);
  }
  const url = process.env.REDIS_URL ?? embedded!.url;
  const env = { ...process.env, REDIS_URL: url };
  const name = `demo-${randomBytes(3).toString('hex')}`;
  const q = new Queue(name, { connection: url });
  try {
    const t0 = performance.now();
    const consumers = ['A', 'B'].map((label) => run<ConsumerReport>('./demo-consumer.js', [name, label], env));
    const producer = run<{ put: number }>('./demo-producer.js', [name, String(TASKS), String(MAXSIZE)], env);
    console.log(`queue "${name}": 2 consumer processes and 1 producer process putting ${TASKS} tasks (maxsize ${MAXSIZE})`);

    let maxReady = 0;
    const sampler = setInterval(() => {
      void q.qsize().then((n) => (maxReady = Math.max(maxReady, n)), () => {});
    }, 20);
    await producer;
    await q.join();
    const joinedAt = performance.now();
    clearInterval(sampler);
    await q.shutdown(); // consumers see QueueShutDown once the queue is empty, and exit
    const reports = await Promise.all(consumers);

    const done = reports.reduce((a, r) => a + r.done, 0);
    const workS = reports.reduce((a, r) => a + r.workMs, 0) / 1000;
    for (const r of reports) console.log(`  consumer ${r.label} did ${r.done} tasks`);
    console.log(
      `2 consumers did ${done} tasks (${workS.toFixed(1)} s of work) in ${((joinedAt - t0) / 1000).toFixed(1)} s; ` +
        `join returned when the last was done; the queue never held more than ${maxReady} ready tasks (maxsize ${MAXSIZE})`,
    );
    if (done !== TASKS) throw new Error(`expected ${TASKS} tasks done, got ${done}`);
  } finally {
    // Leave nothing behind in your Redis.
    if (!embedded) {
      const admin = new QueueAdmin(q.name, { connection: url });
      await admin.destroy({ force: true }).catch(() => {});
      await admin.close();
    }
    await q.close();
    await embedded?.stop();
  }
}

main().catch((e: unknown) => {
  console.error(`demo failed: ${e instanceof Error ? e.message : String(e)}`);
  process.exitCode = 1;
});
