import { spawn } from 'node:child_process';
import { describe, expect, it } from 'vitest';
import { QueueClosed } from '@asyncq/core';
import { defineHandlers } from '@asyncq/worker';
import { eventually, sleep } from '@asyncq/test-support';
import { localWorker } from './local-worker.js';

/** A promise and the functions that settle it, for handlers a test releases by hand. */
function deferred(): { promise: Promise<void>; resolve: () => void; reject: (e: Error) => void } {
  let resolve = (): void => {};
  let reject = (_e: Error): void => {};
  const promise = new Promise<void>((res, rej) => ((resolve = res), (reject = rej)));
  return { promise, resolve, reject };
}

describe('graceful stop', () => {
  it('leaves no timer behind once its tasks finished within the grace: the process exits at once', async () => {
    const script = new URL('../fixtures/close-while-finishing.mjs', import.meta.url).pathname;
    const child = spawn(process.execPath, [script], { stdio: ['ignore', 'pipe', 'inherit'] });
    let closedAt = 0;
    child.stdout.on('data', (d: Buffer) => void (d.toString().includes('closed') && (closedAt = Date.now())));
    const exited = new Promise<number>((resolve) => child.on('exit', () => resolve(Date.now())));
    const killer = setTimeout(() => child.kill('SIGKILL'), 25_000);
    const exitAt = await exited;
    clearTimeout(killer);
    expect(closedAt, 'the script closed its worker').toBeGreaterThan(0);
    // With the grace's 30 s timer left running, the process lived on until it fired.
    expect(exitAt - closedAt).toBeLessThan(10_000);
  }, 30_000);

  it('lets running tasks finish within the grace', async () => {
    const { q, worker, lines } = localWorker(defineHandlers({ work: async () => sleep(150).then(() => 'ok') }), { concurrency: 4 });
    const stopped = new Promise((r) => worker.once('stopped', r));
    await q.putMany(Array.from({ length: 4 }, (_, i) => ({ item: i, opts: { name: 'work' } })));
    await eventually(async () => expect((await q.counts()).active).toBe(4));
    await worker.close({ graceMs: 5000 });
    expect(await stopped).toEqual({ handedBack: 0, abandoned: 0 });
    expect(await q.counts()).toMatchObject({ completed: 4, waiting: 0, active: 0 });
    expect(lines.map((l) => l.msg)).toEqual(expect.arrayContaining(['grace started: running tasks may finish', 'grace ended', 'worker stopped']));
  });

  it('after the grace, aborts ctx.signal and hands back a task once its handler threw: not a failed attempt', async () => {
    const { q, worker, lines } = localWorker(
      defineHandlers({
        polite: (_d, ctx) => new Promise((_resolve, reject) => ctx.signal.addEventListener('abort', () => reject(ctx.signal.reason), { once: true })),
      }),
    );
    await q.put({}, { name: 'polite', attempts: 1 });
    await eventually(async () => expect((await q.counts()).active).toBe(1));
    const stopped = new Promise((r) => worker.once('stopped', r));
    await worker.close({ graceMs: 50 });
    expect(await stopped).toEqual({ handedBack: 1, abandoned: 0 });
    expect(await q.counts()).toMatchObject({ waiting: 1, active: 0, failed: 0 });
    expect(lines.find((l) => l.msg === 'handed 1 task(s) back to the queue')).toBeDefined();
  });

  it('a handler that ignores the abort but returns within abandonMs has done its task: it completes, not handed back', async () => {
    const { q, worker } = localWorker(defineHandlers({ stubborn: async () => sleep(300).then(() => 'finished anyway') }), { abandonMs: 3000 });
    const id = await q.put({}, { name: 'stubborn' });
    await eventually(async () => expect((await q.counts()).active).toBe(1));
    const stopped = new Promise((r) => worker.once('stopped', r));
    await worker.close({ graceMs: 20 });
    expect(await stopped).toEqual({ handedBack: 0, abandoned: 0 });
    expect(await q.counts()).toMatchObject({ completed: 1, waiting: 0, active: 0 });
    expect(id).toBeTruthy();
  });

  it('abandons a handler still running abandonMs after the abort: close() resolves, the task is not handed back while it may run', async () => {
    const release = deferred();
    const { q, worker, running, lines } = localWorker(defineHandlers({ deaf: () => release.promise }), { abandonMs: 100 });
    const id = await q.put({}, { name: 'deaf' });
    await eventually(async () => expect((await q.counts()).active).toBe(1));
    const stopped = new Promise((r) => worker.once('stopped', r));
    const t0 = Date.now();
    await worker.close({ graceMs: 50 });
    await running;
    expect(Date.now() - t0).toBeLessThan(2000);
    expect(await stopped).toEqual({ handedBack: 0, abandoned: 1 });
    const abandonLine = lines.find((l) => /abandoned, not handed back/.test(l.msg));
    expect(abandonLine).toMatchObject({ level: 50, tasks: [id] });
    // Still held by this worker, so nobody else can run it while its handler may still be running.
    expect(await q.counts()).toMatchObject({ active: 1, waiting: 0 });
    await q.put({}, { name: 'deaf' }); // the queue stays open for now

    // Once the handler gives up, the queue is closed and the task handed back.
    release.reject(new Error('gave up at last'));
    await eventually(async () => expect(await q.counts()).toMatchObject({ active: 0, waiting: 2, failed: 0 }));
    await expect(q.put({}, { name: 'deaf' })).rejects.toThrow(QueueClosed);
  });

  it('an abandoned handler that returns later completes its task', async () => {
    const release = deferred();
    const { q, worker } = localWorker(defineHandlers({ deaf: () => release.promise.then(() => 'late but done') }), { abandonMs: 50 });
    const id = await q.put({}, { name: 'deaf' });
    await eventually(async () => expect((await q.counts()).active).toBe(1));
    await worker.close({ graceMs: 10 });
    release.resolve();
    await eventually(async () => expect(await q.counts()).toMatchObject({ completed: 1, active: 0, waiting: 0 }));
    expect(id).toBeTruthy();
  });

  it('a stop while tasks are still being recorded waits for them, within closeTimeoutMs', async () => {
    const { q, worker } = localWorker(defineHandlers({ quick: async () => 'q' }), { concurrency: 8 });
    await q.putMany(Array.from({ length: 200 }, (_, i) => ({ item: i, opts: { name: 'quick' } })));
    await worker.close({ graceMs: 1000 });
    const c = await q.counts();
    expect(c.completed + c.waiting).toBe(200);
    expect(c.active).toBe(0);
  });
});
