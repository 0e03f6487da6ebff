import { Registry } from 'prom-client';
import { describe, expect, it } from 'vitest';
import { defineTask, PayloadError, Queue, TaskFailed } from '@asyncq/core';
import { Producer } from '@asyncq/producer';
import { defineHandlers, implement, Worker } from '@asyncq/worker';
import { redisUrl, track, uniqueName } from '@asyncq/test-support';

const double = defineTask<{ n: number }, { doubled: number }>('double');

function producerAndWorker(handlers: Parameters<typeof defineHandlers>[0], concurrency = 4, registry?: Registry) {
  const name = uniqueName('p');
  const producer = track(new Producer({ queue: name, connection: redisUrl(), registry }), name);
  const worker = new Worker(name, defineHandlers(handlers), { connection: redisUrl(), concurrency, handleSignals: false });
  track({ close: () => worker.close({ graceMs: 0 }) }, name);
  void worker.run();
  return { name, producer, worker };
}

describe('Producer', () => {
  it("result() resolves to the handler's value, typed by a shared task definition", async () => {
    const received: unknown[] = [];
    const { producer } = producerAndWorker({
      [double.name]: implement(double, async (args) => {
        received.push(args);
        return { doubled: args.n * 2 };
      }),
    });
    const ref = await producer.enqueue(double, { n: 21 });
    const result: { doubled: number } = await ref.result({ timeout: 5000 });
    expect(result).toEqual({ doubled: 42 });
    // The types are the definition's only check (`pnpm typecheck` fails if this line compiles): at run
    // time the arguments travel to the definition's handler exactly as given, and its NaN is refused.
    // @ts-expect-error the definition types the arguments
    const wrong = await producer.enqueue(double, { wrong: true });
    await expect(wrong.result({ timeout: 5000 })).rejects.toThrow(/result\.doubled is the number NaN/);
    expect(received).toEqual([{ n: 21 }, { wrong: true }]);
  });

  it('result() throws TaskFailed carrying the remote error message after the last attempt', async () => {
    const { producer } = producerAndWorker({
      charge: async () => {
        throw new Error('card declined');
      },
    });
    const ref = await producer.enqueue('charge', { amount: 5 }, { attempts: 2 });
    const err = await ref.result({ timeout: 5000 }).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(TaskFailed);
    expect(err).toMatchObject({ taskId: ref.id, remoteMessage: 'card declined' });
    expect((err as TaskFailed).remoteStack).toContain('card declined');
  });

  it('enqueueMany of 100,000 items reports progress and every item arrives exactly once', async () => {
    const seen = new Map<number, number>();
    const { producer } = producerAndWorker(
      {
        item: async (data: { i: number }) => {
          seen.set(data.i, (seen.get(data.i) ?? 0) + 1);
        },
      },
      64,
    );
    const total = 100_000;
    const progress: number[] = [];
    const refs = await producer.enqueueMany(
      Array.from({ length: total }, (_, i) => ({ name: 'item', data: { i } })),
      { onProgress: (n) => progress.push(n) },
    );
    expect(refs).toHaveLength(total);
    expect(progress.length).toBeGreaterThanOrEqual(100);
    expect(progress.at(-1)).toBe(total);
    await producer.join({ timeout: 120_000 });
    expect(seen.size).toBe(total);
    expect([...seen.values()].every((n) => n === 1)).toBe(true);
  }, 150_000);

  it('counts asyncq_tasks_enqueued_total in the registry it is given', async () => {
    const registry = new Registry();
    const name = uniqueName('count');
    const producer = track(new Producer({ queue: name, connection: redisUrl(), registry }), name);
    await producer.enqueue('a', 1);
    await producer.enqueue('a', 2);
    await producer.enqueueMany([{ name: 'b', data: 3 }, { name: 'a', data: 4 }]);
    const text = await registry.metrics();
    expect(text).toContain(`asyncq_tasks_enqueued_total{queue="${name}",task="a"} 3`);
    expect(text).toContain(`asyncq_tasks_enqueued_total{queue="${name}",task="b"} 1`);
  });

  it('refuses a payload JSON cannot carry, enqueuing nothing', async () => {
    const name = uniqueName('bad');
    const producer = track(new Producer({ queue: name, connection: redisUrl() }), name);
    const q = track(new Queue(name, { connection: redisUrl() }), name);
    await expect(producer.enqueue('x', { when: 10n })).rejects.toBeInstanceOf(PayloadError);
    await expect(producer.enqueueMany([{ name: 'x', data: 1 }, { name: 'x', data: { f: () => 1 } }])).rejects.toThrow(
      /^item 1: item\.f is a function/,
    );
    expect(await q.qsize()).toBe(0);
  });
});
