/**
 * One timed run of the `locks` scenario, in a process of its own: `node locks-child.js <variant>
 * <redis url> <ops> <trials>`. It prints one JSON line: uncontended acquire+release per second on
 * one handle, Redis commands and script calls per acquire+release (INFO commandstats deltas, the
 * calls scripts make included), and every hand-off latency (ms from the holder's release() call to
 * the waiter's acquire resolving, two handles on two connections).
 */
import { randomBytes } from 'node:crypto';
import { performance } from 'node:perf_hooks';
import { Redis } from 'ioredis';
import { Mutex, Semaphore as RsSemaphore } from 'redis-semaphore';
import { Lock, Semaphore } from '@asyncq/core';
import type { LockRunResult, LockVariant } from './locks-protocol.js';
import { RedisMeter } from './redis-meter.js';


interface Handle {
  acquire(): Promise<unknown>;
  release(): Promise<void>;
  close(): Promise<void>;
}

/** A handle of `variant` on `key`, on a connection of its own; `value`: permits of a semaphore. */
function open(variant: LockVariant, url: string, key: string, value: number): Handle {
  if (variant === 'asyncq Lock') return new Lock(key, { connection: url });
  if (variant === 'asyncq Semaphore') return new Semaphore(key, { connection: url, value });
  const client = new Redis(url, { maxRetriesPerRequest: null });
  const lock = variant === 'redis-semaphore Mutex' ? new Mutex(client, key) : new RsSemaphore(client, key, value);
  return {
    acquire: () => lock.acquire(),
    release: () => lock.release(),
    close: async () => void (await client.quit()),
  };
}

const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

async function main(): Promise<void> {
  const [variant, url, opsArg, trialsArg] = process.argv.slice(2) as [LockVariant, string, string, string];
  const [ops, trials] = [Number(opsArg), Number(trialsArg)];
  const meter = new RedisMeter(url);
  const tag = `bench-locks-${randomBytes(4).toString('hex')}`;
  try {
    // Uncontended: one handle acquires and releases, one at a time (a semaphore of 10: permits to spare).
    const one = open(variant, url, `${tag}-u`, 10);
    for (let i = 0; i < 20; i++) await one.acquire().then(() => one.release()); // connect, load scripts
    const before = await meter.sample();
    const t0 = performance.now();
    for (let i = 0; i < ops; i++) {
      await one.acquire();
      await one.release();
    }
    const ms = performance.now() - t0;
    const after = await meter.sample();
    await one.close();
    const cost = RedisMeter.cost(before, after, ops);

    // Hand-off: a holds, b waits (given time to start waiting), a releases; how long until b holds.
    const a = open(variant, url, `${tag}-h`, 1);
    const b = open(variant, url, `${tag}-h`, 1);
    await a.acquire().then(() => a.release());
    await b.acquire().then(() => b.release());
    const latenciesMs: number[] = [];
    for (let i = 0; i < trials; i++) {
      await a.acquire();
      let held = 0;
      const waiting = b.acquire().then(() => (held = performance.now()));
      await sleep(15);
      const released = performance.now();
      await a.release();
      await waiting;
      latenciesMs.push(held - released);
      await b.release();
    }
    await a.close();
    await b.close();
    const result: LockRunResult = { perSecond: (ops / ms) * 1000, commandsPerOp: cost.commandsPerTask, scriptCallsPerOp: cost.scriptCallsPerTask, latenciesMs };
    console.log(JSON.stringify(result));
  } finally {
    await meter.close();
  }
}

main().catch((e: unknown) => {
  console.error(e instanceof Error ? e.message : String(e));
  process.exitCode = 1;
});
