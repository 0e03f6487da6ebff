/**
 * `pnpm bench:soak`: SOAK_TASKS (default 1,000,000) no-op tasks through asyncq as a steady flow:
 * a Producer streams them with enqueueMany into a queue bounded at SOAK_MAXSIZE (default 10,000)
 * while one Worker process at concurrency 64 finishes them. Every SOAK_REPORT_MS (default 5000)
 * it prints tasks done, the worker's RSS and Redis's used_memory; at the end the first, last and
 * largest of each, and whether they stayed flat. SOAK_TIMEOUT_MS (default 1 h) bounds the run.
 * Uses a private Redis unless BENCH_REDIS_URL names one.
 */
import { randomBytes } from 'node:crypto';
import { startEmbeddedRedis } from '@asyncq/core/testing';
import { Producer } from '@asyncq/producer';
import { positiveInt } from './bench-options.js';
import { ChildRun } from './child-runner.js';
import { RedisMeter } from './redis-meter.js';
import { fmtFixed, fmtInt, fmtMb } from './stats.js';

/** Items per enqueueMany call: the producer never holds the whole stream. */
const CHUNK = 10_000;
const BATCH = 1000;
const CONCURRENCY = 64;
/** A series is flat when its largest value in the second half is at most this much over the first half's. */
const FLAT_GROWTH = 1.2;

interface Sample {
  seconds: number;
  enqueued: number;
  done: number;
  workerRss: number;
  redisMemory: number;
}

async function main(): Promise<void> {
  const tasks = positiveInt('SOAK_TASKS', process.env.SOAK_TASKS, 1_000_000);
  const maxsize = positiveInt('SOAK_MAXSIZE', process.env.SOAK_MAXSIZE, 10_000);
  const reportMs = positiveInt('SOAK_REPORT_MS', process.env.SOAK_REPORT_MS, 5000);
  const timeoutMs = positiveInt('SOAK_TIMEOUT_MS', process.env.SOAK_TIMEOUT_MS, 3_600_000);
  const embedded = process.env.BENCH_REDIS_URL ? undefined : await startEmbeddedRedis();
  const url = process.env.BENCH_REDIS_URL ?? embedded!.url;
  const queue = `soak-${randomBytes(4).toString('hex')}`;
  const meter = new RedisMeter(url);
  const producer = new Producer({ queue, connection: url, maxsize });
  const stop = new AbortController();
  let child: ChildRun | undefined;
  let reporter: NodeJS.Timeout | undefined;
  try {
    console.log(
      `asyncq soak: ${fmtInt(tasks)} no-op tasks, Producer.enqueueMany in batches of ${BATCH} into a queue of maxsize ${fmtInt(maxsize)}, one Worker process at concurrency ${CONCURRENCY}, Redis ${new URL(url).host}${embedded ? ' (private)' : ''}`,
    );
    let progress = { done: 0, rss: NaN };
    child = await ChildRun.start(
      { engine: 'asyncq', role: 'worker', url, queue, count: tasks, concurrency: CONCURRENCY, inFlight: 1, batch: BATCH, progressMs: 1000, keepCompleted: 1000 },
      (m) => (progress = m),
    );
    progress.rss = child.idleRss;
    await producer.enqueueMany([]); // connects before the clock starts
    const before = await meter.sample();
    const t0 = performance.now();
    let enqueued = 0;
    const samples: Sample[] = [];
    reporter = setInterval(() => {
      void meter.sample().then((s) => {
        const sample = { seconds: (performance.now() - t0) / 1000, enqueued, done: progress.done, workerRss: progress.rss, redisMemory: s.usedMemory };
        samples.push(sample);
        console.log(
          `${fmtFixed(sample.seconds, 0).padStart(5)} s  enqueued ${fmtInt(enqueued).padStart(9)}  done ${fmtInt(sample.done).padStart(9)} (${fmtInt(sample.done / sample.seconds)}/s)  worker RSS ${fmtMb(sample.workerRss)}  Redis used_memory ${mb1(sample.redisMemory)}`,
        );
      }, () => {});
    }, reportMs);
    const finished = child.go(timeoutMs);
    finished.catch(() => stop.abort()); // a failed worker must not leave the producer waiting for room
    const producing = (async () => {
      for (let from = 0; from < tasks && !stop.signal.aborted; from += CHUNK) {
        const items = Array.from({ length: Math.min(CHUNK, tasks - from) }, (_, i) => ({ name: 'task', data: { i: from + i } }));
        await producer.enqueueMany(items, { batchSize: BATCH, signal: stop.signal, onProgress: (n) => (enqueued = from + n) });
      }
    })();
    const [done] = await Promise.all([finished, producing]);
    const after = await meter.sample();
    clearInterval(reporter);
    const cost = RedisMeter.cost(before, after, tasks);
    console.log(
      `\n${fmtInt(tasks)} tasks in ${fmtFixed(done.ms / 1000, 1)} s (${fmtInt((tasks / done.ms) * 1000)} tasks/s); Redis per task, enqueue and processing together: ${fmtFixed(cost.commandsPerTask, 1)} commands, ${fmtFixed(cost.scriptCallsPerTask, 2)} script calls, ${fmtFixed(cost.redisCpuUsPerTask, 1)} µs CPU`,
    );
    console.log(flatness('worker RSS', samples.map((s) => s.workerRss), fmtMb));
    console.log(flatness('Redis used_memory', samples.map((s) => s.redisMemory), mb1));
  } finally {
    clearInterval(reporter);
    stop.abort();
    await child?.kill();
    await producer.close().catch(() => {});
    await meter.close();
    await embedded?.stop();
  }
}

const mb1 = (bytes: number): string => `${fmtFixed(bytes / 1024 / 1024, 1)} MB`;

/** "first, last, max; flat or growing", by the rule in FLAT_GROWTH. */
function flatness(what: string, series: number[], fmt: (n: number) => string): string {
  const xs = series.filter(Number.isFinite);
  if (xs.length < 4) return `${what}: too few samples to tell (${xs.length}); run longer or lower SOAK_REPORT_MS`;
  const half = Math.floor(xs.length / 2);
  const firstMax = Math.max(...xs.slice(0, half));
  const secondMax = Math.max(...xs.slice(half));
  const verdict = secondMax <= firstMax * FLAT_GROWTH ? 'flat' : 'GROWING';
  return `${what}: first ${fmt(xs[0]!)}, last ${fmt(xs.at(-1)!)}, max ${fmt(Math.max(...xs))}; second half's max ${fmt(secondMax)} vs first half's ${fmt(firstMax)} -> ${verdict} (flat = at most ${Math.round((FLAT_GROWTH - 1) * 100)}% over)`;
}

main().catch((e: unknown) => {
  console.error(e instanceof Error ? e.message : e);
  process.exitCode = 1;
});
