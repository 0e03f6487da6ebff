import { describe, expect, it } from 'vitest';
import { LeaseLost, LocalQueue, RedisUnreachable, AsyncqError, type AsyncQueue, type Task } from '@asyncq/core';
import { createWorkerLogger, defineHandlers, Worker, type WorkerEvents } from '@asyncq/worker';
import { eventually, sleep } from '@asyncq/test-support';
import { localWorker, memoryLogger } from './local-worker.js';

/** A LocalQueue whose getTask (or the tasks it hands out) can be made to fail, as a Redis queue's would. */
function flakyQueue(local: LocalQueue, faults: { getTask?: () => Error | undefined; done?: (t: Task<unknown>) => Error | undefined }): AsyncQueue<unknown> {
  const getTask = async (opts?: Parameters<LocalQueue['getTask']>[0]): Promise<Task<unknown>> => {
    const fault = faults.getTask?.();
    if (fault) throw fault;
    const task = await local.getTask(opts);
    const done = (result?: unknown): Promise<void> => {
      const e = faults.done?.(task);
      return e ? Promise.reject(e) : task.done(result);
    };
    return Object.assign(Object.create(task) as Task<unknown>, { done });
  };
  return new Proxy(local, {
    get: (target, key) => (key === 'getTask' ? getTask : (Reflect.get(target, key) as unknown)),
  }) as AsyncQueue<unknown>;
}

function record<K extends keyof WorkerEvents>(worker: Worker, ...events: K[]): { event: K; args: unknown[] }[] {
  const seen: { event: K; args: unknown[] }[] = [];
  for (const event of events) worker.on(event, ((...args: unknown[]) => seen.push({ event, args })) as never);
  return seen;
}

describe('events and logs', () => {
  it('emits started, active, completed, failed (with willRetry), drained, stopping and stopped with their payloads', async () => {
    const q = new LocalQueue({ name: 'ev' });
    const worker = new Worker('ev', defineHandlers({ ok: async (n: number) => n * 2, bad: async () => Promise.reject(new TypeError('bad input')) }), {
      queue: q,
      handleSignals: false,
    });
    const seen = record(worker, 'started', 'active', 'completed', 'failed', 'drained', 'stopping', 'stopped');
    const running = worker.run();
    await worker.started;
    const ok = await q.put(21, { name: 'ok' });
    const bad = await q.put(0, { name: 'bad', attempts: 2 });
    await q.join({ timeout: 5000 });
    await eventually(() => expect(seen.filter((s) => s.event === 'failed')).toHaveLength(2));
    await eventually(() => expect(seen.filter((s) => s.event === 'drained').length).toBeGreaterThanOrEqual(1), 3000);
    await worker.close();
    await running;
    const of = (e: string) => seen.filter((s) => s.event === e).map((s) => s.args[0]);
    expect(of('started')).toEqual([{ id: worker.id, queue: 'ev', concurrency: 1, pid: process.pid }]);
    expect(of('active')).toContainEqual({ id: ok, name: 'ok', attempt: 1, attempts: 1 });
    expect(of('completed')).toEqual([{ id: ok, name: 'ok', attempt: 1, attempts: 1, result: 42, durationMs: expect.any(Number) }]);
    expect(of('failed')).toEqual([
      { id: bad, name: 'bad', attempt: 1, attempts: 2, durationMs: expect.any(Number), willRetry: true, error: expect.objectContaining({ name: 'TypeError', message: 'bad input' }) },
      { id: bad, name: 'bad', attempt: 2, attempts: 2, durationMs: expect.any(Number), willRetry: false, error: expect.objectContaining({ name: 'TypeError', message: 'bad input' }) },
    ]);
    expect(of('stopping')).toEqual([{ reason: 'close', graceMs: 10_000, running: 0 }]);
    expect(of('stopped')).toEqual([{ handedBack: 0, abandoned: 0 }]);
    expect(seen.at(-1)?.event).toBe('stopped');
  });

  it('logs each task (started at debug, done with its duration, failed with its error and whether it will retry) and its lifecycle', async () => {
    const { q, worker, lines } = localWorker(defineHandlers({ ok: async () => 1, bad: async () => Promise.reject(new Error('it broke')) }), { concurrency: 3 });
    await worker.started;
    const ok = await q.put({}, { name: 'ok' });
    const bad = await q.put({}, { name: 'bad', attempts: 2 });
    await q.join({ timeout: 5000 });
    await eventually(() => expect(lines.find((l) => l.msg === 'task failed for good')).toBeDefined());
    await worker.close();
    expect(lines.find((l) => l.msg === 'worker started')).toMatchObject({ level: 30, queue: 'unit', concurrency: 3, pid: process.pid, worker: worker.id, version: expect.any(String) });
    expect(lines.find((l) => l.msg === 'task started' && l.taskId === ok)).toMatchObject({ level: 20, taskName: 'ok', attempt: 1 });
    expect(lines.find((l) => l.msg === 'task done')).toMatchObject({ level: 30, taskId: ok, taskName: 'ok', ms: expect.any(Number) });
    expect(lines.find((l) => l.msg === 'task failed, will retry')).toMatchObject({ level: 40, taskId: bad, taskName: 'bad', attempt: 1, attempts: 2, err: 'it broke' });
    expect(lines.find((l) => l.msg === 'task failed for good')).toMatchObject({ level: 50, taskId: bad, taskName: 'bad', attempt: 2, err: 'it broke' });
    expect(lines.map((l) => l.msg)).toEqual(expect.arrayContaining(['worker stopping: it takes no more tasks', 'worker stopped']));
    expect(lines.find((l) => l.msg === 'worker stopped')).toMatchObject({ done: 1, failed: 2, handedBack: 0, abandoned: 0 });
  });

  it('a lost lease is never fatal: logged, emitted as stalled, and the worker goes on', async () => {
    const local = new LocalQueue({ name: 'lease' });
    const { logger, lines } = memoryLogger();
    const queue = flakyQueue(local, { done: (t) => (t.name === 'lost' ? new LeaseLost('lease', t.id) : undefined) });
    const worker = new Worker('lease', defineHandlers({ lost: async () => 1, fine: async () => 2 }), { queue, logger, handleSignals: false });
    const seen = record(worker, 'stalled');
    const running = worker.run();
    const lost = await local.put({}, { name: 'lost' });
    const fine = await local.put({}, { name: 'fine' });
    expect(await local.result(fine, { timeout: 5000 })).toBe(2);
    expect(seen).toEqual([{ event: 'stalled', args: [expect.objectContaining({ id: lost, name: 'lost', reason: expect.stringMatching(/no longer held by this handle/) })] }]);
    expect(lines.find((l) => /lost its lease/.test(l.msg))).toMatchObject({ level: 40, taskId: lost });
    await worker.close({ graceMs: 0 });
    await running;
  });

  it('getTask failing while Redis is away does not end run(): it logs once, backs off, says when Redis is back; /healthz is 503 meanwhile, /livez 200', async () => {
    const local = new LocalQueue({ name: 'away' });
    let away = true;
    let calls = 0;
    const queue = flakyQueue(local, { getTask: () => (calls++, away ? new RedisUnreachable('127.0.0.1:1', 'ECONNREFUSED') : undefined) });
    const { logger, lines } = memoryLogger();
    const worker = new Worker('away', defineHandlers({ ok: async () => 'ok' }), { queue, logger, handleSignals: false, metricsPort: 0, concurrency: 4 });
    const errors = record(worker, 'error');
    const running = worker.run();
    await worker.started;
    await eventually(() => expect(calls).toBeGreaterThan(8));
    const base = `http://127.0.0.1:${worker.metricsPort}`;
    const down = await fetch(`${base}/healthz`);
    expect(down.status).toBe(503);
    expect(await down.json()).toMatchObject({ status: 'unavailable', reason: expect.stringMatching(/Redis unreachable: cannot reach Redis at 127\.0\.0\.1:1/) });
    expect((await fetch(`${base}/livez`)).status).toBe(200);
    away = false;
    const id = await local.put({}, { name: 'ok' });
    expect(await local.result(id, { timeout: 10_000 })).toBe('ok');
    expect((await fetch(`${base}/healthz`)).status).toBe(200);
    expect(lines.filter((l) => l.msg === 'Redis unreachable, retrying')).toHaveLength(1);
    expect(lines.filter((l) => l.msg === 'Redis back')).toHaveLength(1);
    expect(errors).toHaveLength(1);
    await worker.close();
    await running;
  });

  it('any other getTask failure is logged clearly, retried with backoff, and never a crash loop', async () => {
    const local = new LocalQueue({ name: 'wrongtype' });
    let broken = true;
    let calls = 0;
    const queue = flakyQueue(local, {
      getTask: () => (calls++, broken ? new AsyncqError('REDIS_ERROR', 'WRONGTYPE Operation against a key holding the wrong kind of value') : undefined),
    });
    const { logger, lines } = memoryLogger();
    const worker = new Worker('wrongtype', defineHandlers({ ok: async () => 'ok' }), { queue, logger, handleSignals: false });
    const running = worker.run();
    await sleep(700);
    // Backoff: a handful of tries in 700 ms, not thousands.
    expect(calls).toBeGreaterThan(1);
    expect(calls).toBeLessThan(15);
    expect(lines.filter((l) => l.msg === 'taking a task failed; retrying with backoff')).toEqual([expect.objectContaining({ level: 50, err: expect.stringMatching(/WRONGTYPE/) })]);
    broken = false;
    expect(await local.result(await local.put({}, { name: 'ok' }), { timeout: 10_000 })).toBe('ok');
    await worker.close();
    await running;
  });

  it('a library worker prints nothing unless given a logger; createWorkerLogger writes readable lines or JSON', async () => {
    const out: string[] = [];
    const pretty = createWorkerLogger({ format: 'pretty', level: 'info', destination: { write: (s) => void out.push(s) } });
    pretty.debug({ taskId: '1' }, 'hidden');
    pretty.warn({ taskId: '7', taskName: 'send email', err: 'boom' }, 'task failed, will retry');
    expect(out).toEqual([expect.stringMatching(/^\d\d:\d\d:\d\d\.\d{3} WARN {2}task failed, will retry taskId=7 taskName="send email" err=boom\n$/)]);
    const json: string[] = [];
    createWorkerLogger({ format: 'json', level: 'debug', destination: { write: (s) => void json.push(s) } }).debug({ taskId: '1' }, 'shown');
    expect(JSON.parse(json[0]!)).toMatchObject({ level: 20, taskId: '1', msg: 'shown', pid: process.pid });
    expect(() => createWorkerLogger({ format: 'xml' as never })).toThrow("log format must be 'pretty' or 'json', got \"xml\"");
    expect(() => createWorkerLogger({ level: 'loud' as never })).toThrow(/log level must be one of trace, debug, info, warn, error, fatal, silent, got "loud"/);
  });
});
