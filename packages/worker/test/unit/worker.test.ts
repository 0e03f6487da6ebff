import { describe, expect, it } from 'vitest';
import { ConfigError, LocalQueue, UnrecoverableError } from '@asyncq/core';
import { defineHandlers, loadHandlers, MAX_CONCURRENCY, Worker } from '@asyncq/worker';
import { eventually, HANDLER_FIXTURES, sleep } from '@asyncq/test-support';
import { localWorker } from './local-worker.js';

const FIXTURES = new URL('../fixtures/', import.meta.url).pathname;

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

describe('Worker over a LocalQueue', () => {
  it('retries a throwing handler exactly `attempts` times with the backoff between, then keeps a dead letter', async () => {
    const starts: number[] = [];
    const { q } = localWorker(
      defineHandlers({
        flaky: async () => {
          starts.push(Date.now());
          throw new Error('flaky failure');
        },
      }),
    );
    await q.put({}, { name: 'flaky', attempts: 3, backoff: 100 });
    await q.join({ timeout: 5000 });
    expect(starts).toHaveLength(3);
    expect(starts[1]! - starts[0]!).toBeGreaterThanOrEqual(90);
    expect(starts[2]! - starts[1]!).toBeGreaterThanOrEqual(90);
    const [dead] = await q.failedTasks();
    expect(dead).toMatchObject({ attempts: 3, error: 'flaky failure' });
    expect(dead!.stack).toContain('flaky failure');
  });

  it('fails at once, skipping the remaining attempts, on UnrecoverableError', async () => {
    let calls = 0;
    const { q } = localWorker(
      defineHandlers({
        bad: async () => {
          calls++;
          throw new UnrecoverableError('no point retrying');
        },
      }),
    );
    await q.put({}, { name: 'bad', attempts: 5 });
    await q.join({ timeout: 5000 });
    expect(calls).toBe(1);
    expect((await q.failedTasks())[0]).toMatchObject({ attempts: 1, error: 'no point retrying' });
  });

  it('aborts ctx.signal of a handler that overruns its timeout and fails the attempt, even if the handler ignores it', async () => {
    let sawAbort: unknown;
    const { q } = localWorker(
      defineHandlers({
        slow: async (_data, ctx) => {
          await new Promise<void>((resolve) => ctx.signal.addEventListener('abort', () => resolve(), { once: true }));
          sawAbort = ctx.signal.reason;
          await sleep(10_000);
        },
      }),
      { timeout: 100, abandonMs: 10 },
    );
    const t0 = Date.now();
    await q.put({}, { name: 'slow' });
    await q.join({ timeout: 5000 });
    expect(Date.now() - t0).toBeLessThan(2000);
    expect((sawAbort as Error).message).toMatch(/timeout of 100 ms/);
    expect((await q.failedTasks())[0]?.error).toMatch(/ran past its timeout of 100 ms/);
  });

  it('takes timeout Infinity as none, and a timeout longer than a Node timer holds does not fire at once', async () => {
    for (const timeout of [Infinity, 30 * 24 * 3600 * 1000]) {
      const { q, worker } = localWorker(defineHandlers({ wait: async () => sleep(100).then(() => 'waited') }), { timeout });
      const id = await q.put({}, { name: 'wait' });
      expect(await q.result(id, { timeout: 5000 })).toBe('waited');
      await worker.close();
    }
    expect(() => new Worker('q', async () => 1, { timeout: 0 })).toThrow(/timeout must be a whole number >= 1 \(ms\), or Infinity for none, got 0/);
    expect(() => new Worker('q', async () => 1, { timeout: NaN })).toThrow(/timeout must be/);
  });

  it('fails a task whose name has no handler with a clear error, and keeps running', async () => {
    const { q } = localWorker(defineHandlers({ known: async (n: number) => n * 2 }));
    const unknown = await q.put(1, { name: 'mystery' });
    const known = await q.put(21, { name: 'known' });
    expect(await q.result(known, { timeout: 5000 })).toBe(42);
    await expect(q.result(unknown, { timeout: 5000 })).rejects.toThrow(/no handler for task "mystery"; this worker handles "known"/);
  });

  it('runs up to `concurrency` tasks at once; ctx carries the documented surface, progress and log', async () => {
    let active = 0;
    let peak = 0;
    const { q } = localWorker(
      defineHandlers({
        work: async (_d, ctx) => {
          expect(Object.keys(ctx).sort()).toEqual(['attempt', 'attempts', 'id', 'name']);
          peak = Math.max(peak, ++active);
          await ctx.progress(50);
          await ctx.log('working on', ctx.id);
          await sleep(30);
          active--;
        },
      }),
      { concurrency: 4 },
    );
    await q.putMany(Array.from({ length: 12 }, (_, i) => ({ item: i, opts: { name: 'work' } })));
    await q.join({ timeout: 5000 });
    expect(peak).toBe(4);
    expect((await q.counts()).completed).toBe(12);
  });

  it('runs every handler shape: one function for every task, sync results and sync throws', async () => {
    const { q } = localWorker((data: number, ctx) => {
      if (ctx.name === 'boom') throw new Error('sync boom');
      return data + 1;
    });
    const ok = await q.put(1, { name: 'anything' });
    const boom = await q.put(1, { name: 'boom' });
    expect(await q.result(ok, { timeout: 5000 })).toBe(2);
    await expect(q.result(boom, { timeout: 5000 })).rejects.toThrow(/sync boom/);
  });

  it('fails for good a task whose result JSON cannot carry', async () => {
    const { q } = localWorker(defineHandlers({ fn: async () => () => 1 }));
    const id = await q.put(1, { name: 'fn', attempts: 3 });
    await expect(q.result(id, { timeout: 5000 })).rejects.toThrow(/the handler's result cannot be stored: result is a function/);
    expect((await q.failedTasks())[0]).toMatchObject({ attempts: 1 });
  });

  it('counts the work in its metrics: completed, failed (final or not), retried, durations, waits', async () => {
    const { q, worker } = localWorker(
      defineHandlers({
        ok: async () => 'fine',
        bad: async () => {
          throw new Error('nope');
        },
      }),
    );
    for (let i = 0; i < 5; i++) await q.put(i, { name: 'ok' });
    await q.put(0, { name: 'bad', attempts: 2 });
    await q.join({ timeout: 5000 });
    // join resolves as the queue records the last failure; the worker counts it just after.
    await eventually(async () => expect(parseMetrics(await worker.metrics.registry.metrics()).get('asyncq_tasks_failed_total{queue="unit",task="bad",final="true"}')).toBe(1));
    const m = parseMetrics(await worker.metrics.registry.metrics());
    expect(m.get('asyncq_tasks_completed_total{queue="unit",task="ok"}')).toBe(5);
    expect(m.get('asyncq_tasks_failed_total{queue="unit",task="bad",final="false"}')).toBe(1);
    expect(m.get('asyncq_tasks_failed_total{queue="unit",task="bad",final="true"}')).toBe(1);
    expect(m.get('asyncq_tasks_retried_total{queue="unit",task="bad"}')).toBe(1);
    expect(m.get('asyncq_task_duration_seconds_count{queue="unit",task="ok"}')).toBe(5);
    expect(m.get('asyncq_task_duration_seconds_count{queue="unit",task="bad"}')).toBe(2);
    expect(m.get('asyncq_task_wait_seconds_count{queue="unit",task="ok"}')).toBe(5);
    expect(m.get('asyncq_tasks_active{queue="unit",task="ok"}')).toBe(0);
    expect([...m.keys()].some((k) => k.startsWith('process_cpu_user_seconds_total'))).toBe(true);
  });

  it('labels metrics only with handler names it knows, anything else as "other"', async () => {
    const { q, worker } = localWorker(defineHandlers({ known: async () => 1 }));
    await q.put(1, { name: 'known' });
    for (let i = 0; i < 30; i++) await q.put(i, { name: `spam-${i}` });
    await q.join({ timeout: 5000 });
    await eventually(async () => expect(await worker.metrics.registry.metrics()).toContain('task="other",final="true"} 30'));
    const text = await worker.metrics.registry.metrics();
    expect(text).not.toContain('spam-');
    const m = parseMetrics(text);
    expect(m.get('asyncq_tasks_completed_total{queue="unit",task="known"}')).toBe(1);
    expect(m.get('asyncq_tasks_failed_total{queue="unit",task="other",final="true"}')).toBe(30);
  });

  it('with one handler for every task, labels the first 20 names it sees, then "other"', async () => {
    const { q, worker } = localWorker(async () => 1);
    for (let i = 0; i < 25; i++) await q.put(i, { name: `n${i}` });
    await q.join({ timeout: 5000 });
    await eventually(async () => expect(await worker.metrics.registry.metrics()).toContain('task="other"} 5'));
    const m = parseMetrics(await worker.metrics.registry.metrics());
    expect(m.get('asyncq_tasks_completed_total{queue="unit",task="n19"}')).toBe(1);
    expect(m.get('asyncq_tasks_completed_total{queue="unit",task="n20"}')).toBeUndefined();
    expect(m.get('asyncq_tasks_completed_total{queue="unit",task="other"}')).toBe(5);
  });

  it('stops by itself once the queue is shut down and empty', async () => {
    const { q, running } = localWorker(defineHandlers({ ok: async () => 1 }));
    await q.put(1, { name: 'ok' });
    await q.join({ timeout: 5000 });
    await q.shutdown();
    await running;
  });

  it('rejects bad options and handler shapes with one line saying what is expected', async () => {
    const h = defineHandlers({ ok: async () => 1 });
    expect(() => new Worker('q', h, { concurrency: 0 })).toThrow('concurrency must be a whole number from 1 to 10000, got 0');
    // A concurrency past the bound used to run the process out of heap.
    expect(() => new Worker('q', h, { concurrency: 1e9 })).toThrow(ConfigError);
    expect(() => new Worker('q', h, { concurrency: MAX_CONCURRENCY + 1 })).toThrow(`concurrency must be a whole number from 1 to 10000, got 10001`);
    expect(() => new Worker('q', h, { timeout: -5 })).toThrow(/timeout must be a whole number >= 1/);
    expect(() => new Worker('q', h, { abandonMs: -1 })).toThrow(/abandonMs must be a whole number/);
    expect(() => new Worker('q', {} as never)).toThrow(/has no handlers: export default defineHandlers/);
    expect(() => defineHandlers({ x: 'nope' } as never)).toThrow(/handler "x" is a string, not a function/);
    await expect(new LocalQueue().put(1, { attempts: -1 })).rejects.toThrow(/attempts must be a whole number from 1/);
  });

  it('runs at the largest concurrency allowed without running out of memory', async () => {
    const { q } = localWorker(async () => 1, { concurrency: MAX_CONCURRENCY });
    await q.putMany(Array.from({ length: 100 }, (_, i) => ({ item: i })));
    await q.join({ timeout: 10_000 });
  });

  it('loads handler modules by path, with one clear line for each mistake', async () => {
    const handlers = await loadHandlers(`${HANDLER_FIXTURES}handlers.mjs`);
    expect(Object.keys(handlers)).toEqual(expect.arrayContaining(['sleep', 'noop', 'crash', 'fail', 'unrecoverable']));
    await expect(loadHandlers(`${FIXTURES}missing.mjs`)).rejects.toThrow(/handler module .*missing\.mjs not found/);
    await expect(loadHandlers(`${FIXTURES}no-default.mjs`)).rejects.toThrow(/no-default\.mjs has no default export: export default defineHandlers/);
    await expect(loadHandlers(`${FIXTURES}wrong-shape.mjs`)).rejects.toThrow(/default export of .*wrong-shape\.mjs is a number, not handlers/);
    await expect(loadHandlers(`${FIXTURES}handlers.ts`)).rejects.toThrow(/is TypeScript, which Node .* cannot load without a build step/);
  });

  it('a module that throws null, exits or never finishes loading is one ConfigError line, and the process lives on', async () => {
    await expect(loadHandlers(`${HANDLER_FIXTURES}throws-null.mjs`)).rejects.toThrow(/^handler module .*throws-null\.mjs failed to load: it threw null, not an Error$/);
    await expect(loadHandlers(`${HANDLER_FIXTURES}exits-at-import.mjs`)).rejects.toThrow(
      /^handler module .*exits-at-import\.mjs called process\.exit\(3\) while loading: a handler module must not end the process; throw an error instead$/,
    );
    // Here the test runner keeps the loop busy, so only the timeout can tell (a CLI worker is told at once: see the chaos bad-input test).
    const t0 = Date.now();
    await expect(loadHandlers(`${HANDLER_FIXTURES}never-loads.mjs`, { timeoutMs: 300 })).rejects.toThrow(
      /^handler module .*never-loads\.mjs did not finish loading within 0\.3 s \(a top-level await still waiting\?\): make it load faster, or allow longer with --load-timeout$/,
    );
    expect(Date.now() - t0).toBeLessThan(5000);
    expect(typeof process.exit).toBe('function');
    await expect(loadHandlers(`${HANDLER_FIXTURES}handlers.mjs`)).resolves.toBeDefined();
  });
});
