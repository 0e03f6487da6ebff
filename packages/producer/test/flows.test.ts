import { describe, expect, it } from 'vitest';
import { ConfigError, Queue, QueueAdmin, TaskCancelled, TaskFailed } from '@asyncq/core';
import { queueKeys } from '@asyncq/core/internal';
import { Producer } from '@asyncq/producer';
import { defineHandlers, Worker, type Handler } from '@asyncq/worker';
import { adminClient, eventually, redisUrl, sleep, track, uniqueName } from '@asyncq/test-support';

/** A queue with a producer and a worker whose handlers note what ran, in order. */
function setup(handlers: Record<string, Handler>, opts: { concurrency?: number; partitions?: number; maxsize?: number; worker?: boolean } = {}) {
  const name = uniqueName('flow');
  const ran: string[] = [];
  const noted = Object.fromEntries(
    Object.entries(handlers).map(([n, h]) => [
      n,
      async (data: unknown, ctx: Parameters<Handler>[1]) => {
        ran.push(`${n}:${JSON.stringify(data)}`);
        return h(data, ctx);
      },
    ]),
  );
  const producer = track(new Producer({ queue: name, connection: redisUrl(), maxsize: opts.maxsize, partitions: opts.partitions }), name);
  const q = track(new Queue(name, { connection: redisUrl(), partitions: opts.partitions }), name);
  let worker: Worker | undefined;
  if (opts.worker !== false) {
    const queue = opts.partitions ? track(new Queue(name, { connection: redisUrl(), partitions: opts.partitions }), name) : undefined;
    worker = new Worker(name, defineHandlers(noted), { connection: redisUrl(), concurrency: opts.concurrency ?? 4, handleSignals: false, ...(queue ? { queue, workerRegistry: false as const } : {}) });
    track({ close: () => worker!.close({ graceMs: 0 }) }, name);
    void worker.run();
  }
  return { name, producer, q, ran };
}

const add = (k: number): Handler => async (n) => (n as number) + k;

describe('durable chains', () => {
  it('runs each step once, in order, with the previous result; the ref gives the last result', async () => {
    const { producer, ran, q } = setup({ inc: add(1), double: async (n) => (n as number) * 2 });
    const ref = await producer.chain<number>([{ task: 'inc', data: 1 }, { task: 'double' }, { task: 'inc' }]);
    expect(ref.tasks).toHaveLength(3);
    expect(ref.id).toBe(ref.tasks[2]!.id);
    expect(await ref.result({ timeout: 10_000 })).toBe(5);
    expect(ran).toEqual(['inc:1', 'double:2', 'inc:4']);
    expect(await Promise.all(ref.tasks.map((t) => t.result()))).toEqual([2, 4, 5]);
    await q.join({ timeout: 5000 });
    expect(await q.counts()).toMatchObject({ completed: 3, unfinished: 0 });
  });

  it('lives in Redis: created with no worker and no producer left, it runs when a worker comes', async () => {
    const { name, producer, q } = setup({}, { worker: false });
    const ref = await producer.chain([{ task: 'inc', data: 10 }, { task: 'inc' }]);
    await producer.close();
    expect(await q.ref(ref.id).state()).toBe('waiting');
    expect((await q.counts()).unfinished).toBe(2); // the blocked step is unfinished too: join waits for it
    const worker = new Worker(name, defineHandlers({ inc: add(1) }), { connection: redisUrl(), handleSignals: false });
    track({ close: () => worker.close({ graceMs: 0 }) }, name);
    void worker.run();
    expect(await q.ref(ref.id).result({ timeout: 10_000 })).toBe(12);
    await q.join({ timeout: 5000 });
  });

  it('a step that fails for good ends the chain: the ref rejects with its error, later steps never run', async () => {
    const { producer, ran, q, name } = setup({
      inc: add(1),
      boom: async () => {
        throw new Error('step two broke');
      },
    });
    const ref = await producer.chain([{ task: 'inc', data: 1 }, { task: 'boom' }, { task: 'inc' }]);
    const err = (await ref.result({ timeout: 10_000 }).catch((e: unknown) => e)) as TaskFailed;
    expect(err).toBeInstanceOf(TaskFailed);
    expect(err.remoteMessage).toBe('step two broke');
    await q.join({ timeout: 5000 });
    expect(ran).toEqual(['inc:1', 'boom:2']);
    expect(await ref.tasks[2]!.state()).toBe('failed');
    expect((await adminClient().hget(queueKeys('asyncq', name).stats, 'lostMissing')) ?? '0').toBe('0');
  });

  it('cancelling the chain cancels its running step (its handler is told) and the steps after it', async () => {
    let told: unknown;
    const { producer, ran, q } = setup({
      inc: add(1),
      slow: async (_n, ctx) =>
        new Promise((_resolve, reject) =>
          ctx.signal.addEventListener('abort', () => {
            told = ctx.signal.reason;
            reject(ctx.signal.reason as Error);
          }),
        ),
    });
    const ref = await producer.chain([{ task: 'slow', data: 0 }, { task: 'inc' }, { task: 'inc' }]);
    await eventually(async () => expect(await ref.state()).toBe('running'));
    expect(await ref.cancel({ reason: 'changed my mind' })).toBe(true);
    await eventually(() => expect(told).toBeInstanceOf(TaskCancelled));
    await expect(ref.result()).rejects.toBeInstanceOf(TaskCancelled);
    for (const t of ref.tasks) expect(await t.state()).toBe('cancelled');
    await q.join({ timeout: 5000 });
    expect(ran).toEqual(['slow:0']);
    expect((await q.counts()).cancelled).toBe(3);
  });

  it('works on a partitioned queue and on a bounded one', async () => {
    const { producer, q } = setup({ inc: add(1) }, { partitions: 3 });
    const refs = await Promise.all([0, 1, 2, 3].map((i) => producer.chain<number>([{ task: 'inc', data: i * 10 }, { task: 'inc' }], i < 2 ? { key: `k${i}` } : {})));
    // Each flow lives in one partition, and its ids say which.
    for (const r of refs) expect(new Set(r.tasks.map((t) => t.id.split('.')[0])).size).toBe(1);
    expect(await Promise.all(refs.map((r) => q.ref(r.id).result({ timeout: 10_000 })))).toEqual([2, 12, 22, 32]);
    const bounded = setup({ inc: add(1) }, { maxsize: 1 });
    const chains = await Promise.all([0, 1, 2].map((i) => bounded.producer.chain<number>([{ task: 'inc', data: i }, { task: 'inc' }, { task: 'inc' }])));
    expect(await Promise.all(chains.map((c) => c.result({ timeout: 10_000 })))).toEqual([3, 4, 5]);
  });

  it('refuses bad steps in one line, with nothing created', async () => {
    const { producer, q } = setup({}, { worker: false });
    await expect(producer.chain([])).rejects.toThrow("a chain needs at least one step: producer.chain([{ task: 'a', data }, { task: 'b' }, ...])");
    await expect(producer.chain([{ task: 'a', data: 1 }, {} as never])).rejects.toThrow(/step 2 of the chain names no task/);
    await expect(producer.chain([{ task: 'a', data: 1 }, { task: 'b', data: 2 }])).rejects.toThrow(/step 2 of the chain gets step 1's result as its item: give it no data/);
    await expect(producer.chain([{ task: 'a', data: 1, opts: { id: 'x' } as never }])).rejects.toThrow(ConfigError);
    await expect(producer.chord([], { task: 'cb' })).rejects.toThrow("a chord needs at least one task in its group: producer.chord([{ task: 'a', data }, ...], { task: 'callback' })");
    await expect(producer.chord([{ task: 'a', data: 1 }], { task: 'cb', data: 1 })).rejects.toThrow(/the chord's callback gets the group's results as its item/);
    await expect(producer.chord([{ task: 'a', data: 1 }], {} as never)).rejects.toThrow(/the chord's callback names no task/);
    expect((await q.counts()).unfinished).toBe(0);
  });
});

describe('durable chords', () => {
  it('runs the callback once, with the group results in the group order, whatever order they finish in', async () => {
    const { producer, ran } = setup(
      {
        wait: async (ms) => {
          await sleep(ms as number);
          return ms;
        },
        sum: async (xs) => (xs as number[]).reduce((a, b) => a + b, 0),
        list: async (xs) => xs,
      },
      { concurrency: 8 },
    );
    const ref = await producer.chord([300, 10, 150, 0, 80].map((ms) => ({ task: 'wait', data: ms })), { task: 'list' });
    expect(await ref.result({ timeout: 10_000 })).toEqual([300, 10, 150, 0, 80]);
    expect(ran.filter((r) => r.startsWith('list:'))).toHaveLength(1);
    const total = await producer.chord([1, 2, 3].map((n) => ({ task: 'wait', data: n })), { task: 'sum' });
    expect(await total.result({ timeout: 10_000 })).toBe(6);
  });

  it('a group task that fails for good fails the chord: the callback never runs', async () => {
    const { producer, ran, q } = setup({
      ok: async (n) => n,
      bad: async () => {
        throw new Error('no good');
      },
      cb: async (xs) => xs,
    });
    const ref = await producer.chord([{ task: 'ok', data: 1 }, { task: 'bad', data: 2 }], { task: 'cb' });
    await expect(ref.result({ timeout: 10_000 })).rejects.toThrow(/no good/);
    await q.join({ timeout: 5000 });
    expect(ran.some((r) => r.startsWith('cb:'))).toBe(false);
  });

  it('cancelling the chord cancels its group (running ones told) and its callback; inspect shows what it waits for', async () => {
    const { producer, name, q } = setup({ hang: async (_n, ctx) => new Promise((_r, reject) => ctx.signal.addEventListener('abort', () => reject(new Error('stopped')))), cb: async (xs) => xs }, { concurrency: 2 });
    const ref = await producer.chord([1, 2, 3].map((n) => ({ task: 'hang', data: n })), { task: 'cb' });
    const admin = track(new QueueAdmin(name, { connection: redisUrl() }));
    await eventually(async () => expect((await admin.counts()).active).toBe(2));
    expect(await ref.state()).toBe('running');
    const [blocked] = await admin.tasks('blocked');
    expect(blocked?.id).toBe(ref.id);
    expect(blocked?.waitsFor).toMatch(/chord: 3 of 3 group tasks to complete/);
    expect(await ref.cancel()).toBe(true);
    await q.join({ timeout: 5000 });
    expect((await q.counts()).cancelled).toBe(4);
  });
});
