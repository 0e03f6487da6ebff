import { describe, expect, it } from 'vitest';
import { LocalQueue, Queue, UnrecoverableError, WorkerRegistry } from '@asyncq/core';
import { defineHandlers, loadHandlers, Worker } from '@asyncq/worker';
import { eventually, redisUrl, sleep, track, uniqueName } from '../../../test/helpers.js';

const FIXTURES = new URL('./fixtures/', import.meta.url).pathname;

function setup(handlers: Parameters<typeof defineHandlers>[0], opts: ConstructorParameters<typeof Worker>[2] = {}) {
  const name = uniqueName('w');
  const q = track(new Queue(name, { connection: redisUrl() }), name);
  const worker = new Worker(name, defineHandlers(handlers), { connection: redisUrl(), handleSignals: false, ...opts });
  track({ close: () => worker.close({ graceMs: 0 }) }, name);
  const running = worker.run();
  return { name, q, worker, running };
}

/** Parses Prometheus text into `name{labels} -> value`. */
function parseMetrics(text: string): Map<string, number> {
  const out = new Map<string, number>();
  for (const line of text.split('\n')) {
    if (!line || line.startsWith('#')) continue;
    const i = line.lastIndexOf(' ');
    out.set(line.slice(0, i), Number(line.slice(i + 1)));
  }
  return out;
}

describe('Worker', () => {
  it('retries a throwing handler exactly `attempts` times with the backoff between, then keeps a dead letter', async () => {
    const starts: number[] = [];
    const { q } = setup({
      flaky: async () => {
        starts.push(Date.now());
        throw new Error('flaky failure');
      },
    });
    await q.put({}, { name: 'flaky', attempts: 3, backoff: 200 });
    await q.join({ timeout: 10_000 });
    expect(starts).toHaveLength(3);
    expect(starts[1]! - starts[0]!).toBeGreaterThanOrEqual(180);
    expect(starts[2]! - starts[1]!).toBeGreaterThanOrEqual(180);
    const [dead] = await q.failedTasks();
    expect(dead).toMatchObject({ attempts: 3, error: 'flaky failure' });
    expect(dead!.stack).toContain('flaky failure');
  });

  it('fails at once, skipping the remaining attempts, on UnrecoverableError', async () => {
    let calls = 0;
    const { q } = setup({
      bad: async () => {
        calls++;
        throw new UnrecoverableError('no point retrying');
      },
    });
    await q.put({}, { name: 'bad', attempts: 5 });
    await q.join({ timeout: 10_000 });
    expect(calls).toBe(1);
    expect((await q.failedTasks())[0]).toMatchObject({ attempts: 1, error: 'no point retrying' });
  });

  it('aborts ctx.signal of a handler that overruns its timeout and counts the attempt as failed', async () => {
    let sawAbort: unknown;
    const { q } = setup(
      {
        slow: async (_data, ctx) => {
          await new Promise<void>((resolve) => ctx.signal.addEventListener('abort', () => resolve(), { once: true }));
          sawAbort = ctx.signal.reason;
          await sleep(10_000); // ignores the abort past noticing it: the attempt must fail anyway
        },
      },
      { timeout: 200 },
    );
    const t0 = Date.now();
    await q.put({}, { name: 'slow' });
    await q.join({ timeout: 5000 });
    expect(Date.now() - t0).toBeLessThan(3000);
    expect((sawAbort as Error).message).toMatch(/timeout of 200 ms/);
    expect((await q.failedTasks())[0]?.error).toMatch(/ran past its timeout of 200 ms/);
  });

  it('fails a task whose name has no handler with a clear error, and keeps running', async () => {
    const { q } = setup({ known: async (n: number) => n * 2 });
    const unknown = await q.put(1, { name: 'mystery' });
    const known = await q.put(21, { name: 'known' });
    expect(await q.result(known, { timeout: 5000 })).toBe(42);
    await expect(q.result(unknown, { timeout: 5000 })).rejects.toThrow(/no handler for task "mystery"; this worker handles "known"/);
  });

  it('runs up to `concurrency` tasks at once; ctx.progress and ctx.log work', async () => {
    let active = 0;
    let peak = 0;
    const { q } = setup(
      {
        work: async (_d, ctx) => {
          // ctx is the documented surface only: nothing of the worker's internals leaks into handlers.
          expect(Object.keys(ctx).sort()).toEqual(['attempt', 'attempts', 'id', 'name']);
          expect(typeof ctx.progress).toBe('function');
          peak = Math.max(peak, ++active);
          await ctx.progress(50);
          await ctx.log('working on', ctx.id);
          await sleep(100);
          active--;
        },
      },
      { concurrency: 4 },
    );
    await q.putMany(Array.from({ length: 12 }, (_, i) => ({ item: i, opts: { name: 'work' } })));
    await q.join({ timeout: 10_000 });
    expect(peak).toBe(4);
    expect((await q.counts()).completed).toBe(12);
  });

  it('serves /metrics whose counters and histograms match the work done, and /healthz', async () => {
    const { name, q, worker } = setup(
      {
        ok: async () => 'fine',
        bad: async () => {
          throw new Error('nope');
        },
      },
      { metricsPort: 0 },
    );
    await worker.started;
    for (let i = 0; i < 5; i++) await q.put(i, { name: 'ok' });
    await q.put(0, { name: 'bad', attempts: 2 });
    await q.join({ timeout: 10_000 });
    const base = `http://127.0.0.1:${worker.metricsPort}`;
    const health = await fetch(`${base}/healthz`);
    expect(health.status).toBe(200);
    expect(await health.json()).toMatchObject({ status: 'ok', queue: name });
    const m = parseMetrics(await (await fetch(`${base}/metrics`)).text());
    expect(m.get(`asyncq_tasks_completed_total{queue="${name}",task="ok"}`)).toBe(5);
    expect(m.get(`asyncq_tasks_failed_total{queue="${name}",task="bad",final="false"}`)).toBe(1);
    expect(m.get(`asyncq_tasks_failed_total{queue="${name}",task="bad",final="true"}`)).toBe(1);
    expect(m.get(`asyncq_tasks_retried_total{queue="${name}",task="bad"}`)).toBe(1);
    expect(m.get(`asyncq_task_duration_seconds_count{queue="${name}",task="ok"}`)).toBe(5);
    expect(m.get(`asyncq_task_duration_seconds_count{queue="${name}",task="bad"}`)).toBe(2);
    expect(m.get(`asyncq_task_wait_seconds_count{queue="${name}",task="ok"}`)).toBe(5);
    expect(m.get(`asyncq_tasks_active{queue="${name}",task="ok"}`)).toBe(0);
    expect([...m.keys()].some((k) => k.startsWith('process_cpu_user_seconds_total'))).toBe(true);
  });

  it('registers itself while it runs, with counters, and drops out when it stops', async () => {
    const { name, q, worker, running } = setup({ ok: async () => 1 }, { concurrency: 3, heartbeatMs: 100 });
    await worker.started;
    await q.put(1, { name: 'ok' });
    await q.join({ timeout: 5000 });
    const registry = track(new WorkerRegistry(name, { connection: redisUrl() }), name);
    await eventually(async () => {
      const [w] = await registry.list();
      expect(w).toMatchObject({ id: worker.id, queue: name, concurrency: 3, pid: process.pid, done: 1, failed: 0 });
    });
    await worker.close();
    await running;
    expect(await registry.list()).toEqual([]);
  });

  it('stops by itself once the queue is shut down and empty', async () => {
    const { q, running } = setup({ ok: async () => 1 });
    await q.put(1, { name: 'ok' });
    await q.join({ timeout: 5000 });
    await q.shutdown();
    await running;
  });

  it('rejects bad options and handler shapes with what is expected', async () => {
    const h = defineHandlers({ ok: async () => 1 });
    expect(() => new Worker('q', h, { concurrency: 0 })).toThrow('concurrency must be a whole number from 1 to 10000, got 0');
    expect(() => new Worker('q', h, { timeout: -5 })).toThrow(/timeout must be a whole number >= 1/);
    expect(() => new Worker('q', {} as never)).toThrow(/has no handlers: export default defineHandlers/);
    expect(() => defineHandlers({ x: 'nope' } as never)).toThrow(/handler "x" is a string, not a function/);
    const local = new LocalQueue();
    await expect(local.put(1, { attempts: -1 })).rejects.toThrow(/attempts must be a whole number from 1/);
  });

  it('loads handler modules by path, with one clear line for each mistake', async () => {
    const handlers = await loadHandlers(`${FIXTURES}handlers.mjs`);
    expect(Object.keys(handlers)).toEqual(['sleep', 'noop', 'crash', 'fail', 'unrecoverable']);
    await expect(loadHandlers(`${FIXTURES}missing.mjs`)).rejects.toThrow(/handler module .*missing\.mjs not found/);
    await expect(loadHandlers(`${FIXTURES}no-default.mjs`)).rejects.toThrow(/no-default\.mjs has no default export: export default defineHandlers/);
    await expect(loadHandlers(`${FIXTURES}wrong-shape.mjs`)).rejects.toThrow(/default export of .*wrong-shape\.mjs is a number, not handlers/);
    await expect(loadHandlers(`${FIXTURES}handlers.ts`)).rejects.toThrow(/is TypeScript, which Node .* cannot load without a build step/);
  });
});
