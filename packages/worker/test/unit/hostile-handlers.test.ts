import { describe, expect, it } from 'vitest';
import { defineHandlers } from '@asyncq/worker';
import { eventually, spawnChild } from '@asyncq/test-support';
import { localWorker } from './local-worker.js';

/** A value whose every trap throws: reading anything off it (even `instanceof`) throws. */
function hostileProxy(): object {
  const boom = (): never => {
    throw new Error('trap!');
  };
  return new Proxy({}, { get: boom, has: boom, ownKeys: boom, getPrototypeOf: boom, getOwnPropertyDescriptor: boom });
}

describe('a hostile handler fails its own task, never the worker', () => {
  it('throwing a Proxy, an object whose toJSON throws, or an Error whose message getter throws', async () => {
    const badMessage = new Error('x');
    Object.defineProperty(badMessage, 'message', {
      get() {
        throw new Error('no message for you');
      },
    });
    const { q, lines } = localWorker(
      defineHandlers({
        proxy: async () => {
          throw hostileProxy();
        },
        toJSON: async () => {
          throw {
            toJSON() {
              throw new Error('toJSON says no');
            },
          };
        },
        message: async () => {
          throw badMessage;
        },
        fine: async () => 'still here',
      }),
      { concurrency: 2 },
    );
    const ids = await Promise.all(['proxy', 'toJSON', 'message'].map((name) => q.put({}, { name, attempts: 2 })));
    await q.join({ timeout: 5000 });
    for (const id of ids) await expect(q.result(id, { timeout: 1000 })).rejects.toThrow(/task \S+ failed: .+/);
    const failed = await q.failedTasks();
    expect(failed).toHaveLength(3);
    for (const f of failed) expect(typeof f.error).toBe('string');
    expect(failed.map((f) => f.attempts)).toEqual([2, 2, 2]); // retried as any failure, then dead letters
    expect(lines.filter((l) => l.msg === 'task failed for good')).toHaveLength(3);
    expect(await q.result(await q.put({}, { name: 'fine' }), { timeout: 5000 })).toBe('still here');
  });

  it('returning a value whose reading throws fails the task for good (its result cannot be stored); the worker goes on', async () => {
    // Not a thenable (so the handler's promise resolves to it), but every other read throws.
    const trap = (): never => {
      throw new Error('trap!');
    };
    const result = new Proxy({}, { get: (_t, key) => (key === 'then' ? undefined : trap()), getPrototypeOf: trap, ownKeys: trap });
    const { q } = localWorker(defineHandlers({ proxy: async () => ({ result }), fine: async () => 1 }));
    const id = await q.put({}, { name: 'proxy', attempts: 3 });
    await expect(q.result(id, { timeout: 5000 })).rejects.toThrow(/the handler's result cannot be stored: .*trap!/);
    expect((await q.failedTasks())[0]).toMatchObject({ attempts: 1 });
    expect(await q.result(await q.put({}, { name: 'fine' }), { timeout: 5000 })).toBe(1);
  });

  it('returning a thenable whose `then` throws fails the attempt with that error', async () => {
    const { q } = localWorker(
      defineHandlers({
        thenable: async () =>
          Object.defineProperty({}, 'then', {
            get() {
              throw new Error('then getter');
            },
          }),
      }),
    );
    const id = await q.put({}, { name: 'thenable' });
    await expect(q.result(id, { timeout: 5000 })).rejects.toThrow(/then getter/);
  });

  it('event listeners that throw are logged; the worker goes on', async () => {
    const { q, worker, lines } = localWorker(defineHandlers({ ok: async () => 1 }));
    worker.on('completed', () => {
      throw new Error('listener bug');
    });
    expect(await q.result(await q.put({}, { name: 'ok' }), { timeout: 5000 })).toBe(1);
    expect(await q.result(await q.put({}, { name: 'ok' }), { timeout: 5000 })).toBe(1);
    await eventually(() => expect(lines.filter((l) => l.msg === 'a "completed" listener threw' && l.err === 'listener bug')).toHaveLength(2));
  });
});

describe('errors thrown outside a handler promise (a worker process over a LocalQueue)', () => {
  // Node reports them to process-level handlers; vitest's own would fail the test run, so the worker
  // runs in a child process of its own.
  const CHILD = new URL('../fixtures/hostile-process.mjs', import.meta.url);

  it('a throw in a timer, an unhandled rejection, or an abort listener throwing: only that task fails, the others finish; stray errors are reported', async () => {
    const child = spawnChild(CHILD, []);
    const report = await child.next('report', 30_000);
    expect(await child.exited).toBe(0);
    expect(report.results).toEqual({
      timer: { failed: expect.stringMatching(/HANDLER_CRASHED|threw outside the handler.*timer boom/) },
      rejection: { failed: expect.stringMatching(/threw outside the handler.*lost promise/) },
      slow1: { done: 'slow done' },
      slow2: { done: 'slow done' },
      fussy: { failed: expect.stringMatching(/ran past its timeout of 1000 ms/) },
      after: { done: 'after' },
    });
    expect(report.stray).toEqual(expect.arrayContaining([expect.stringMatching(/outside any task/), expect.stringMatching(/abort listener threw/)]));
    expect(report.stopped).toEqual({ handedBack: 0, abandoned: 0 });
  });
});
