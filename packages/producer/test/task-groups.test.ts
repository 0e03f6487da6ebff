// The producer's side of tasks as futures (issue 20): taskGroup through tg.enqueue, cancel by id
// or ref, the free functions it re-exports, and the bad input of each in one line.
import { describe, expect, it } from 'vitest';
import { ConfigError, TaskNotFound } from '@asyncq/core';
import { gather, Producer, TaskCancelled, TaskFailed, waitFor } from '@asyncq/producer';
import { defineHandlers, Worker, type Handler } from '@asyncq/worker';
import { eventually, redisUrl, track, uniqueName } from '@asyncq/test-support';

function setup(handlers: Record<string, Handler>, concurrency = 8) {
  const name = uniqueName('ptg');
  const producer = track(new Producer({ queue: name, connection: redisUrl() }), name);
  const worker = new Worker(name, defineHandlers(handlers), { connection: redisUrl(), concurrency, handleSignals: false });
  track({ close: () => worker.close({ graceMs: 0 }) }, name);
  void worker.run();
  return { name, producer };
}

/** Handlers that note what started and what saw its signal abort with TaskCancelled. */
function noting() {
  const started: number[] = [];
  const cancelled: number[] = [];
  const handlers: Record<string, Handler> = {
    hang: (n, ctx) => {
      started.push(n as number);
      return new Promise((_r, reject) =>
        ctx.signal.addEventListener('abort', () => {
          if (ctx.signal.reason instanceof TaskCancelled) cancelled.push(n as number);
          reject(ctx.signal.reason as Error);
        }),
      );
    },
    fail: async (m) => {
      throw new Error(m as string);
    },
    echo: async (x) => x,
  };
  return { started, cancelled, handlers };
}

describe('producer.taskGroup', () => {
  it('resolves once all its tasks are done, with the function\'s value', async () => {
    const { producer } = setup({ echo: async (x) => x });
    const refs: Awaited<ReturnType<typeof producer.enqueue>>[] = [];
    const value = await producer.taskGroup(async (tg) => {
      for (const i of [1, 2, 3]) refs.push(await tg.enqueue('echo', i));
      return 'ok';
    });
    expect(value).toBe('ok');
    expect(await gather(refs)).toEqual([1, 2, 3]);
  });

  it('the first failure cancels the running siblings (their handlers told) and rejects with an AggregateError', async () => {
    const n = noting();
    const { producer } = setup(n.handlers);
    const p = producer.taskGroup(async (tg) => {
      for (const i of [1, 2, 3]) await tg.enqueue('hang', i);
      await eventually(() => expect(n.started).toHaveLength(3));
      await tg.enqueue('fail', 'it broke');
    });
    const err = (await p.catch((e: unknown) => e)) as AggregateError;
    expect(err).toBeInstanceOf(AggregateError);
    expect(err.message).toMatch(/^task group failed: 1 error \(first: .*it broke\)$/);
    expect(err.errors).toHaveLength(1);
    expect((err.errors[0] as TaskFailed).remoteMessage).toBe('it broke');
    await eventually(() => expect(n.cancelled.sort()).toEqual([1, 2, 3]));
    await producer.join({ timeout: 5000 });
  });

  it('refuses a function that is not one', async () => {
    const { producer } = setup({ echo: async (x) => x });
    await expect(producer.taskGroup(null as never)).rejects.toThrow(/taskGroup takes an async function/);
  });
});

describe('gather over many refs', () => {
  it('waits on 50 refs with one signal and no MaxListenersExceededWarning', async () => {
    const { producer } = setup({ echo: async (x) => x });
    const warnings: string[] = [];
    const onWarning = (w: Error): void => void warnings.push(w.name);
    process.on('warning', onWarning);
    try {
      const refs = await producer.enqueueMany(Array.from({ length: 50 }, (_, i) => ({ name: 'echo', data: i })));
      expect(await gather(refs)).toEqual(Array.from({ length: 50 }, (_, i) => i));
      await new Promise((r) => setImmediate(r)); // warnings are emitted on the next tick
    } finally {
      process.off('warning', onWarning);
    }
    expect(warnings).not.toContain('MaxListenersExceededWarning');
  });
});

describe('producer.cancel and waitFor', () => {
  it('cancel by id or by ref; waitFor cancels a task past its deadline', async () => {
    const n = noting();
    const { producer } = setup(n.handlers);
    const a = await producer.enqueue('hang', 1);
    await eventually(() => expect(n.started).toEqual([1]));
    expect(await producer.cancel(a.id, { reason: 'by id' })).toBe(true);
    expect(await producer.cancel(a)).toBe(false);
    const err = (await a.result().catch((e: unknown) => e)) as TaskCancelled;
    expect(err.reason).toBe('by id');
    const b = await producer.enqueue('hang', 2);
    await expect(waitFor(b, 200)).rejects.toMatchObject({ code: 'TIMEOUT' });
    await eventually(() => expect(n.cancelled).toEqual([1, 2]));
  });

  it('an unknown id, a ref of another queue, and a bad reason are each one line', async () => {
    const { producer, name } = setup({ echo: async (x) => x });
    const other = track(new Producer({ queue: uniqueName('other'), connection: redisUrl() }));
    const foreign = await other.enqueue('echo', 1);
    const unknown = (await producer.cancel('12345').catch((e: unknown) => e)) as TaskNotFound;
    expect(unknown).toBeInstanceOf(TaskNotFound);
    expect(unknown.message).toBe(`queue "${name}" has no task "12345" (never put, or finished and no longer kept; raise keepCompleted to keep more)`);
    const wrong = (await producer.cancel(foreign).catch((e: unknown) => e)) as ConfigError;
    expect(wrong).toBeInstanceOf(ConfigError);
    expect(wrong.message).toMatch(/^task \S+ is a task of queue "other-\w+", not of "ptg-\w+": use its own queue's handle \(or the ref's own methods\)$/);
    await expect(producer.cancel(foreign.id.concat('x'), { reason: 5 as never })).rejects.toThrow(/cancel's reason must be a string, got number/);
    for (const e of [unknown, wrong]) expect(e.message).not.toContain('\n');
  });

  it('a chain step naming no handler a worker has fails the chain in one line, and the later steps never run', async () => {
    const ran: string[] = [];
    const { producer } = setup({ inc: async (x) => (ran.push(`inc:${String(x)}`), (x as number) + 1) });
    const ref = await producer.chain([{ task: 'inc', data: 1 }, { task: 'nope' }, { task: 'inc' }]);
    const err = (await ref.result({ timeout: 10_000 }).catch((e: unknown) => e)) as TaskFailed;
    expect(err).toBeInstanceOf(TaskFailed);
    expect(err.remoteMessage).toBe('no handler for task "nope"; this worker handles "inc"');
    await producer.join({ timeout: 5000 });
    expect(ran).toEqual(['inc:1']);
    expect(await ref.tasks[2]!.state()).toBe('failed');
  });
});
