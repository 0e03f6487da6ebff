// The Worker against a real Redis: what depends on Redis itself (registry, a Redis outage, keys
// that go missing or have the wrong type). Everything else runs on a LocalQueue in test/unit.
import { afterEach, describe, expect, it } from 'vitest';
import { Queue, WorkerRegistry } from '@asyncq/core';
import { queueKeys } from '@asyncq/core/internal';
import { createWorkerLogger, defineHandlers, Worker, WORKER_VERSION } from '@asyncq/worker';
import { adminClient, eventually, RedisServer, redisUrl, sleep, stopRedisServers, track, uniqueName } from '@asyncq/test-support';

interface LogLine {
  msg: string;
  level: number;
  [k: string]: unknown;
}

function memoryLogger(): { logger: ReturnType<typeof createWorkerLogger>; lines: LogLine[] } {
  const lines: LogLine[] = [];
  return { lines, logger: createWorkerLogger({ format: 'json', level: 'debug', destination: { write: (s) => void lines.push(JSON.parse(s) as LogLine) } }) };
}

function setup(handlers: Parameters<typeof defineHandlers>[0], opts: ConstructorParameters<typeof Worker>[2] = {}) {
  const name = uniqueName('w');
  const q = track(new Queue(name, { connection: redisUrl() }), name);
  const { logger, lines } = memoryLogger();
  const worker = new Worker(name, defineHandlers(handlers), { connection: redisUrl(), handleSignals: false, logger, ...opts });
  track({ close: () => worker.close({ graceMs: 0 }) }, name);
  const running = worker.run();
  return { name, q, worker, running, lines };
}

afterEach(stopRedisServers);

describe('Worker on Redis', () => {
  it('a lost lease aborts ctx.signal with LeaseLost at once, and the worker logs it once', async () => {
    const effects: number[] = []; // the run each step belongs to
    let runs = 0;
    let reason: unknown;
    const { name, q, lines } = setup(
      {
        slow: async (_data, ctx) => {
          const run = ++runs;
          if (run === 1) ctx.signal.addEventListener('abort', () => (reason = ctx.signal.reason));
          for (let step = 0; step < 20; step++) {
            if (ctx.signal.aborted) return;
            effects.push(run);
            await sleep(50);
          }
        },
      },
      { lease: 600 },
    );
    await q.put({}, { name: 'slow' });
    await eventually(() => expect(effects.length).toBeGreaterThan(0));
    await adminClient().del(queueKeys('asyncq', name).leases);
    await eventually(() => expect((reason as Error | undefined)?.name).toBe('LeaseLost'), 3000);
    const firstRunSteps = effects.filter((r) => r === 1).length;
    await sleep(300);
    // The handler honoured its signal: no side effect of the first run after the abort (the task
    // then runs again, as a stalled one does).
    expect(effects.filter((r) => r === 1).length).toBe(firstRunSteps);
    await eventually(() => expect(lines.filter((l) => /lost its lease/.test(l.msg))).toHaveLength(1));
  });

  it('keeps dead letters in Redis with the error message and stack', async () => {
    const { q } = setup({
      flaky: async () => {
        throw new Error('flaky failure');
      },
    });
    await q.put({}, { name: 'flaky', attempts: 2, backoff: 50 });
    await q.join({ timeout: 10_000 });
    const [dead] = await q.failedTasks();
    expect(dead).toMatchObject({ attempts: 2, error: 'flaky failure' });
    expect(dead!.stack).toContain('flaky failure');
  });

  it('serves /metrics whose counters match the work done, /healthz and /livez', async () => {
    const { name, q, worker } = setup({ ok: async () => 'fine' }, { metricsPort: 0 });
    await worker.started;
    for (let i = 0; i < 5; i++) await q.put(i, { name: 'ok' });
    await q.join({ timeout: 10_000 });
    const base = `http://127.0.0.1:${worker.metricsPort}`;
    const health = await fetch(`${base}/healthz`);
    expect(health.status).toBe(200);
    expect(await health.json()).toMatchObject({ status: 'ok', queue: name, worker: worker.id, running: 0 });
    expect((await fetch(`${base}/livez`)).status).toBe(200);
    await eventually(async () => expect(await (await fetch(`${base}/metrics`)).text()).toContain(`asyncq_tasks_completed_total{queue="${name}",task="ok"} 5`));
  });

  it('registers itself while it runs, with counters, what it runs now and its version, and drops out when it stops', async () => {
    let release = (): void => {};
    const busy = new Promise<void>((r) => (release = r));
    const { name, q, worker, running } = setup({ ok: async () => 1, busy: () => busy }, { concurrency: 3, heartbeatMs: 100 });
    await worker.started;
    await q.put(1, { name: 'ok' });
    const busyId = await q.put(1, { name: 'busy' });
    const registry = track(new WorkerRegistry(name, { connection: redisUrl() }), name);
    await eventually(async () => {
      const [w] = await registry.list();
      expect(w).toMatchObject({ id: worker.id, queue: name, concurrency: 3, pid: process.pid, done: 1, failed: 0, running: 1, version: WORKER_VERSION, heartbeatMs: 100 });
      expect(w!.current).toEqual([{ id: busyId, name: 'busy', startedAt: expect.any(Number) }]);
    });
    release();
    await q.join({ timeout: 5000 });
    await eventually(async () => expect((await registry.list())[0]).toMatchObject({ running: 0, current: [], done: 2 }));
    await worker.close();
    await running;
    expect(await registry.list()).toEqual([]);
  });

  it('closed while it starts, run() resolves once closed: a stop asked for, not a failure to start', async () => {
    for (let i = 0; i < 5; i++) {
      const name = uniqueName('wc');
      const worker = new Worker(name, defineHandlers({ noop: async () => {} }), { connection: redisUrl(), handleSignals: false });
      const running = worker.run();
      await worker.close();
      // Before the fix, run() rejected with QueueClosed here (its session opened after close()).
      await expect(running).resolves.toBeUndefined();
    }
  });

  it('stops by itself once the queue is shut down and empty', async () => {
    const { q, running } = setup({ ok: async () => 1 });
    await q.put(1, { name: 'ok' });
    await q.join({ timeout: 5000 });
    await q.shutdown();
    await running;
  });

  it('a job hash that vanished (Redis lost it) is a lost lease: logged, emitted as stalled, and the worker goes on', async () => {
    let release = (): void => {};
    const gate = new Promise<void>((r) => (release = r));
    const { name, q, worker, lines } = setup({ doomed: () => gate.then(() => 'too late'), fine: async () => 'fine' });
    const stalled: unknown[] = [];
    worker.on('stalled', (t) => stalled.push(t));
    const id = await q.put({}, { name: 'doomed' });
    await eventually(async () => expect((await q.counts()).active).toBe(1));
    await adminClient().del(queueKeys('asyncq', name).job(id));
    release();
    await eventually(() => expect(stalled).toEqual([expect.objectContaining({ id, name: 'doomed' })]));
    expect(lines.find((l) => /lost its lease/.test(l.msg))).toMatchObject({ taskId: id });
    expect(await q.result(await q.put({}, { name: 'fine' }), { timeout: 5000 })).toBe('fine');
  });

  it('a queue key of the wrong type makes getTask fail: logged once, retried with backoff, and the worker resumes once fixed', async () => {
    const { name, q, worker, lines } = setup({ ok: async () => 'ok' });
    await worker.started;
    const keys = queueKeys('asyncq', name);
    const saved = await adminClient().dump(keys.wait);
    await adminClient().del(keys.wait);
    await adminClient().set(keys.wait, 'not a list');
    await q.put({}, { name: 'ok' }).catch(() => {}); // wakes the worker into the broken key
    await eventually(() => expect(lines.find((l) => l.msg === 'taking a task failed; retrying with backoff')).toBeDefined(), 10_000);
    await sleep(500);
    expect(lines.filter((l) => l.msg === 'taking a task failed; retrying with backoff')).toHaveLength(1);
    await adminClient().del(keys.wait);
    if (saved) await adminClient().restore(keys.wait, 0, saved);
    const id = await q.put({}, { name: 'ok' });
    expect(await q.result(id, { timeout: 15_000 })).toBe('ok');
  });

  it('rides out a Redis restart: run() does not reject, logs the outage once and the return, /healthz says 503 meanwhile', async () => {
    const redis = await RedisServer.start();
    const name = uniqueName('restart');
    const { logger, lines } = memoryLogger();
    const worker = new Worker(name, defineHandlers({ ok: async () => 'ok' }), {
      connection: redis.url,
      handleSignals: false,
      logger,
      heartbeatMs: 100,
      metricsPort: 0,
      concurrency: 4,
      closeTimeoutMs: 2000,
    });
    let failed: unknown;
    const running = worker.run().catch((e: unknown) => (failed = e));
    await worker.started;
    const base = `http://127.0.0.1:${worker.metricsPort}`;
    const producer = new Queue(name, { connection: redis.url });
    try {
      expect(await producer.result(await producer.put({}, { name: 'ok' }), { timeout: 5000 })).toBe('ok');
      await redis.kill();
      await eventually(async () => expect((await fetch(`${base}/healthz`)).status).toBe(503), 10_000);
      expect(await (await fetch(`${base}/healthz`)).json()).toMatchObject({ status: 'unavailable', reason: expect.stringMatching(/^Redis unreachable/) });
      expect((await fetch(`${base}/livez`)).status).toBe(200);
      await sleep(1000);
      await redis.relaunch();
      await eventually(async () => expect((await fetch(`${base}/healthz`)).status).toBe(200), 15_000);
      expect(await producer.result(await producer.put({}, { name: 'ok' }), { timeout: 15_000 })).toBe('ok');
      expect(failed).toBeUndefined();
      expect(lines.filter((l) => l.msg === 'Redis unreachable, retrying')).toHaveLength(1);
      expect(lines.filter((l) => l.msg === 'Redis back').length).toBeGreaterThanOrEqual(1);
    } finally {
      await producer.close();
      await worker.close({ graceMs: 0 });
      await running;
      await redis.kill();
    }
  });
});
