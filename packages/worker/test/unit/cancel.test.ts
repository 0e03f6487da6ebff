// A worker's side of a cancel (issue 20), on a LocalQueue: the handler is told through ctx.signal,
// nothing is recorded for the task, the worker counts and reports it, and a value a handler that
// ignored its signal still returns is discarded and logged.
import { describe, expect, it } from 'vitest';
import { TaskCancelled } from '@asyncq/core';
import { eventually, sleep } from '@asyncq/test-support';
import { localWorker } from './local-worker.js';

const cancelledTotal = async (text: Promise<string>): Promise<number> => Number(/asyncq_tasks_cancelled_total\{queue="unit",task="t"\} (\d+)/.exec(await text)?.[1] ?? 0);

describe('a worker whose task is cancelled', () => {
  it('tells the handler, emits cancelled, counts it, and records nothing', async () => {
    let reason: unknown;
    const { q, worker, lines } = localWorker({
      t: (_data, ctx) => new Promise((_r, reject) => ctx.signal.addEventListener('abort', () => ((reason = ctx.signal.reason), reject(ctx.signal.reason as Error)))),
    });
    const events: unknown[] = [];
    worker.on('cancelled', (e) => events.push(e));
    const failed: unknown[] = [];
    worker.on('failed', (e) => failed.push(e));
    const ref = await q.submit(1, { name: 't' });
    await eventually(async () => expect(await ref.state()).toBe('running'));
    expect(await ref.cancel({ reason: 'enough', by: 'test' })).toBe(true);
    await eventually(() => expect(events).toHaveLength(1));
    expect(reason).toBeInstanceOf(TaskCancelled);
    expect(events[0]).toMatchObject({ id: ref.id, name: 't', reason: 'enough', by: 'test', started: true });
    expect(failed).toEqual([]);
    expect(await cancelledTotal(worker.metrics.registry.metrics())).toBe(1);
    expect(lines.some((l) => l.msg === 'task cancelled: its handler was told through ctx.signal' && l.reason === 'enough')).toBe(true);
    await q.join({ timeout: 5000 });
    expect(await q.counts()).toMatchObject({ completed: 0, failed: 0, cancelled: 1, unfinished: 0 });
  });

  it('discards and logs what a handler that ignored its signal returns; the task stays cancelled', async () => {
    let finish = (): void => {};
    const { q, worker, lines } = localWorker({ t: () => new Promise((resolve) => (finish = () => resolve('late'))) });
    const completed: unknown[] = [];
    worker.on('completed', (e) => completed.push(e));
    const ref = await q.submit(1, { name: 't' });
    await eventually(async () => expect(await ref.state()).toBe('running'));
    expect(await ref.cancel()).toBe(true);
    finish();
    await eventually(() => expect(lines.some((l) => /its result was discarded, and the task stays cancelled/.test(l.msg))).toBe(true));
    await sleep(20);
    expect(completed).toEqual([]);
    await expect(ref.result()).rejects.toBeInstanceOf(TaskCancelled);
    expect(await ref.state()).toBe('cancelled');
  });
});
