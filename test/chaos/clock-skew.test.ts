import { describe, expect, it } from 'vitest';
import { Queue } from '@asyncq/core';
import { queueKeys } from '@asyncq/core/internal';
import { FaultProxy } from './harness/fault-proxy.js';
import { skewedClockEnv } from './harness/faketime.js';
import { report } from './harness/figures.js';
import { ledgerDir, readLedger } from './harness/ledger.js';
import { RedisServer, sleep } from '@asyncq/test-support';
import { FIXTURES, startCli } from './harness/processes.js';

// Scenario 7 (issue 17): a worker whose clock is 30 s ahead of Redis's, or 30 s behind, idles
// with one delayed task due in 20 s. Redis decides when a delayed task is due (its TIME), so a
// worker that compares that due time with its own Date.now() either busy-loops (ahead: the task
// looks overdue until it is promoted) or sleeps past it (behind). Guarantee: no busy polling, the
// idle worker sends no more than the safety re-check's commands, and the task runs on time.
// The worker talks to Redis through a pass-through fault proxy, which counts its commands. Its
// safety re-check runs every 10 s (--stalled-interval), so a worker that trusts only the re-check
// shows as seconds late, not by luck within the default 2 s.
const DUE_MS = 20_000;
/** Commands per second an idle worker may send: the safety re-check (every 2 s), heartbeats, lease upkeep. */
const IDLE_RATE_LIMIT = 5;
/** How late the delayed task may start, by Redis's clock. */
const LATE_LIMIT_MS = 1000;

interface SkewRun {
  skew: string;
  idleRate: number;
  idleCommands: number;
  windowMs: number;
  lateMs: number | undefined;
  top: string;
}

async function idleWithSkew(skew: string): Promise<SkewRun> {
  const redis = await RedisServer.start();
  const proxy = await FaultProxy.start(redis.port);
  const name = `skew${skew.replace(/[+-]/, (c) => (c === '+' ? 'ahead' : 'behind'))}`;
  const dir = ledgerDir(name);
  const q = new Queue(name, { connection: redis.url });
  const id = await q.put({ k: 'delayed' }, { delay: DUE_MS });
  const admin = redis.client();
  const job = queueKeys('asyncq', name).job(id);
  const putAt = Number(await admin.hget(job, 'timestamp'));
  const env = { REDIS_URL: proxy.url(), CHAOS_LEDGER_DIR: dir, ...(skew === '0' ? {} : skewedClockEnv(skew)) };
  const worker = startCli(['worker', `${FIXTURES}ledger-handlers.mjs`, '-q', name, '-c', '4', '--stalled-interval', '10s'], { env, label: `worker ${skew}` });
  await worker.waitFor(new RegExp(`runs ${name}|started|serves`));
  await sleep(1000);
  // The idle window: from a second after start to 1.5 s before the task is due (by Redis's clock).
  const redisNow = async (): Promise<number> => {
    const [s, us] = await admin.time();
    return Number(s) * 1000 + Math.floor(Number(us) / 1000);
  };
  const from = proxy.totalCommands();
  const t0 = Date.now();
  const windowMs = putAt + DUE_MS - 1500 - (await redisNow());
  await sleep(Math.max(0, windowMs));
  const idleCommands = proxy.totalCommands() - from;
  const spent = Date.now() - t0;
  const counts = proxy.commandCounts();
  // Then the task: processedOn is written by the consume script, with Redis's clock.
  let processedOn: number | undefined;
  for (let i = 0; i < 100 && processedOn === undefined; i++) {
    const v = await admin.hget(job, 'processedOn');
    if (v) processedOn = Number(v);
    else await sleep(100);
  }
  for (let i = 0; i < 50 && (readLedger(dir).byKey.get('delayed') ?? []).every((e) => e.end === undefined); i++) await sleep(100);
  await q.close();
  const top = [...counts].sort((a, b) => b[1] - a[1]).slice(0, 3).map(([k, n]) => `${k}:${n}`).join(',');
  return {
    skew,
    idleRate: Math.round((idleCommands / (spent / 1000)) * 10) / 10,
    idleCommands,
    windowMs: spent,
    lateMs: processedOn === undefined ? undefined : processedOn - (putAt + DUE_MS),
    top,
  };
}

describe('a worker whose clock is skewed from Redis\'s', () => {
  it('30 s ahead and 30 s behind: idles at the safety re-check\'s rate, and runs a delayed task on time', { timeout: 120_000 }, async () => {
    // All three at once (each on its own Redis): the same 20 s of wall time.
    const runs = await Promise.all(['+30s', '-30s', '0'].map((s) => idleWithSkew(s)));
    for (const r of runs) {
      report(`clock-skew-${r.skew === '0' ? 'none' : r.skew}`, {
        idleCommandsPerSec: r.idleRate,
        idleCommands: r.idleCommands,
        window: `${(r.windowMs / 1000).toFixed(1)}s`,
        lateBy: r.lateMs === undefined ? 'never ran' : `${r.lateMs}ms`,
        top: r.top,
      });
    }
    for (const r of runs) {
      expect.soft(r.idleRate, `worker with clock ${r.skew}: commands per second while idle (limit ${IDLE_RATE_LIMIT}; most sent: ${r.top})`).toBeLessThanOrEqual(IDLE_RATE_LIMIT);
      expect.soft(r.lateMs, `worker with clock ${r.skew}: the delayed task ran (ms after its due time, by Redis's clock)`).toBeDefined();
      expect.soft(r.lateMs ?? Infinity, `worker with clock ${r.skew}: the delayed task starts within ${LATE_LIMIT_MS} ms of its due time`).toBeLessThanOrEqual(LATE_LIMIT_MS);
    }
  });
});
