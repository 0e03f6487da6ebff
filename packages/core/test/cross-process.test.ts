import { describe, expect, it } from 'vitest';
import { Queue } from '@asyncq/core';
import { redisUrl, sleep, spawnChild, track, uniqueName } from '@asyncq/test-support';

const CHILD = new URL('./fixtures/queue-child.mjs', import.meta.url);

function child(role: string, name: string, args: (string | number)[] = [], opts: object = {}) {
  return spawnChild(CHILD, [role, name, ...args.map(String)], { ASYNCQ_TEST_OPTS: JSON.stringify(opts) });
}

describe('Queue across real processes', () => {
  it('redelivers the task of a consumer killed with SIGKILL, and join in a third process waits for it', async () => {
    const name = uniqueName('crash');
    const lease = { lease: 1000, stalledInterval: 300 };
    const q = track(new Queue<number>(name, { connection: redisUrl(), ...lease }), name);
    const ids = [];
    for (let i = 0; i < 20; i++) ids.push(await q.put(i));

    const holder = child('hold', name, [1], lease);
    const [heldId] = (await holder.next('holding')).ids as string[];
    const joiner = child('join', name);
    await joiner.next('joining');
    holder.kill('SIGKILL');
    await holder.exited;

    const consumer = child('consume', name, [4000, 5], lease);
    const joined = await joiner.next('joined', 30_000);
    await consumer.next('exit', 45_000);

    const done = consumer.all('done');
    expect(done.map((e) => e.id).sort()).toEqual([...ids].sort());
    expect(done.some((e) => e.id === heldId)).toBe(true);
    // join resolved only after the redelivered task was being finished (clock read before done()).
    const finishing = consumer.all('finishing').find((e) => e.id === heldId)!;
    expect(joined.at).toBeGreaterThanOrEqual(finishing.at);
    expect(await q.counts()).toMatchObject({ completed: 20, active: 0, unfinished: 0 });
  });

  it('keeps the ready count at or under maxsize with 4 producer processes, and delivers every task exactly once', async () => {
    const name = uniqueName('bounded');
    const maxsize = 50;
    const perProducer = 500;
    const q = track(new Queue<{ producer: string; i: number }>(name, { connection: redisUrl(), maxsize }), name);

    // The consumer stops after 15 s without a task: starting four producer processes can take
    // several seconds on a loaded 2-core machine, and a 5 s idle limit let it quit before they put.
    const consumer = child('consume', name, [15_000, 2, 2]);
    await consumer.next('ready');
    const producers = ['a', 'b', 'c', 'd'].map((p) => child('produce', name, [p, perProducer], { maxsize }));

    let maxReady = 0;
    let samples = 0;
    const sampling = (async () => {
      while (producers.some((p) => p.all('produced').length === 0) && samples < 20_000) {
        const c = await q.counts();
        maxReady = Math.max(maxReady, c.waiting + c.delayed);
        samples++;
        await sleep(5);
      }
    })();
    await Promise.all(producers.map((p) => p.next('produced', 60_000)));
    await sampling;
    await q.join({ timeout: 60_000 });
    await consumer.next('exit', 30_000);

    expect(samples).toBeGreaterThan(10);
    expect(maxReady).toBeLessThanOrEqual(maxsize);
    expect(maxReady).toBeGreaterThan(maxsize / 2); // the producers really were held back by the bound
    const seen = consumer.all('done').map((e) => {
      const d = e.data as { producer: string; i: number };
      return `${d.producer}:${d.i}`;
    });
    expect(seen).toHaveLength(4 * perProducer);
    expect(new Set(seen).size).toBe(4 * perProducer);
  }, 90_000);

  it('close() hands held tasks back at once: another consumer gets them well under the lock timeout', async () => {
    const name = uniqueName('handback');
    const q = track(new Queue<number>(name, { connection: redisUrl() }), name); // default 30 s lock
    for (const n of [1, 2, 3]) await q.put(n);
    const holder = child('hold', name, [3]);
    await holder.next('holding');

    const got = Promise.all([q.get(), q.get(), q.get()]);
    await sleep(100);
    const closingAt = Date.now();
    holder.send('close');
    const items = await got;
    const tookMs = Date.now() - closingAt;
    expect(items.sort()).toEqual([1, 2, 3]);
    expect(tookMs).toBeLessThan(3000);
    await holder.next('closed');
    for (let i = 0; i < 3; i++) await q.taskDone();
    expect(await q.counts()).toMatchObject({ completed: 3, unfinished: 0 });
  });
});
