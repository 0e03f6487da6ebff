// Six unpartitioned queues on the shared Redis Cluster, two on each master: each queue lives in
// the one hash slot of its `{name}` tag, and everything asyncq promises on one Redis holds there.
// The test process connects with an ioredis Cluster instance, child processes with
// `{ cluster: [{ host, port }, ...] }`, so both forms of the `connection` option are exercised.
import { describe, expect, it } from 'vitest';
import type { Queue } from '@asyncq/core';
import { sleep } from '@asyncq/test-support';
import { admin, clusterChild, duplicates, isRunning, itemKey, namesOnEachMaster, openCluster, openQueue, sharedCluster } from './cluster-helpers.js';

/** Six fresh queue names, two whose slot is on each master, and the master of each. */
async function sixQueues(label: string): Promise<{ names: string[]; masterOf: Map<string, number> }> {
  const { masters } = sharedCluster();
  const byMaster = await namesOnEachMaster(admin().client(masters[0]!.port), masters, 2, label);
  const masterOf = new Map<string, number>();
  for (const [port, names] of byMaster) for (const n of names) masterOf.set(n, port);
  return { names: [...masterOf.keys()], masterOf };
}

describe('six unpartitioned queues over three masters', () => {
  it('put, get, taskDone and join on each; every key of a queue is on its own master', async () => {
    const { names, masterOf } = await sixQueues('six');
    const cluster = openCluster();
    const producers = names.map((n) => openQueue<number>(n, { connection: cluster }));
    const consumers = names.map((n) => openQueue<number>(n, { connection: cluster }));
    for (const [qi, q] of producers.entries()) for (let i = 0; i < 10; i++) await q.put(qi * 100 + i);

    const joined = new Set<number>();
    const joins = producers.map((q, qi) => q.join({ timeout: 20_000 }).then(() => joined.add(qi)));
    for (const [qi, c] of consumers.entries()) {
      const got: number[] = [];
      for (let i = 0; i < 10; i++) got.push(await c.get({ timeout: 5000 }));
      expect(got).toEqual(Array.from({ length: 10 }, (_, i) => qi * 100 + i));
      for (let i = 0; i < 9; i++) await c.taskDone();
      await sleep(50);
      expect(joined.has(qi)).toBe(false); // one task of this queue is still held
      await c.taskDone();
    }
    await Promise.all(joins);
    expect(joined.size).toBe(6);
    for (const q of producers) {
      expect(await q.counts()).toEqual({ waiting: 0, delayed: 0, active: 0, completed: 10, failed: 0, cancelled: 0, unfinished: 0 });
    }

    // Each queue's keys: one tag, `{name}`, and all of them on the master that serves its slot.
    for (const name of names) {
      expect(Object.fromEntries(await admin().queueTags(name))).toEqual({ [`{${name}}`]: masterOf.get(name) });
      const holders = [...(await admin().scan(`asyncq:{${name}}:*`))].filter(([, keys]) => keys.length > 0).map(([p]) => p);
      expect(holders).toEqual([masterOf.get(name)]);
    }
  });

  it('redelivers the tasks of a SIGKILLed consumer on every queue, and a joiner in another process waits for them', async () => {
    const { names } = await sixQueues('crash');
    const lease = { lockDuration: 1000, stalledInterval: 300 };
    const cluster = openCluster();
    const queues = names.map((n) => openQueue<number>(n, { connection: cluster, ...lease }));
    const ids: string[][] = [];
    for (const q of queues) {
      const qIds: string[] = [];
      for (let i = 0; i < 8; i++) qIds.push(await q.put(i));
      ids.push(qIds);
    }

    const holder = clusterChild('hold', names, [2], lease);
    const held = (await holder.next('holding', 30_000)).held as { q: number; id: string }[];
    expect(held).toHaveLength(12);
    const joiner = clusterChild('join', names);
    await joiner.next('joining', 30_000);
    holder.kill('SIGKILL');
    await holder.exited;

    const consumer = clusterChild('consume', names, [5, 2], lease);
    await joiner.next('joins-done', 60_000);
    consumer.send('stop');
    await consumer.next('exit', 30_000);

    expect(joiner.all('join-error')).toEqual([]);
    expect(joiner.all('joined').map((e) => e.q).sort()).toEqual([0, 1, 2, 3, 4, 5]);
    const done = consumer.all('done');
    for (const [qi, q] of queues.entries()) {
      const doneIds = done.filter((e) => e.q === qi).map((e) => e.id as string);
      expect(doneIds.sort()).toEqual([...ids[qi]!].sort()); // every task exactly once, the held ones included
      const joinedAt = joiner.all('joined').find((e) => e.q === qi)!.at;
      for (const h of held.filter((x) => x.q === qi)) {
        const finishing = consumer.all('finishing').find((e) => e.q === qi && e.id === h.id);
        expect(finishing, `held task ${h.id} of queue ${qi} was redelivered`).toBeDefined();
        expect(joinedAt).toBeGreaterThanOrEqual(finishing!.at);
      }
      expect(await q.counts()).toMatchObject({ active: 0, completed: 8, unfinished: 0 });
    }
  });

  it('keeps each queue at or under maxsize with 3 producer processes, and delivers every task exactly once', async () => {
    const { names, masterOf } = await sixQueues('bounded');
    const maxsize = 10;
    const perProducer = 60;
    const producerIds = ['a', 'b', 'c'];
    const cluster = openCluster();
    const queues: Queue<unknown>[] = names.map((n) => openQueue(n, { connection: cluster, maxsize }));

    const consumer = clusterChild('consume', names, [3, 1], { maxsize });
    await consumer.next('ready', 30_000);
    const producers = producerIds.map((p) => clusterChild('produce', names, [p, perProducer], { maxsize }));

    // Each queue is one slot on one master: one MULTI reads its ready tasks at one instant.
    const maxReady = names.map(() => 0);
    let samples = 0;
    const until = Date.now() + 90_000;
    while (producers.some((p) => p.all('produced').length === 0 && isRunning(p)) && samples < 5000 && Date.now() < until) {
      for (const [qi, name] of names.entries()) {
        const { total } = await admin().readySnapshot(new Map([[`{${name}}`, masterOf.get(name)!]]));
        maxReady[qi] = Math.max(maxReady[qi]!, total);
      }
      samples++;
      await sleep(5);
    }
    await Promise.all(producers.map((p) => p.next('produced', 60_000)));
    await Promise.all(queues.map((q) => q.join({ timeout: 60_000 })));
    consumer.send('stop');
    await consumer.next('exit', 30_000);

    expect(samples).toBeGreaterThan(10);
    for (const [qi] of names.entries()) {
      expect(maxReady[qi], `queue ${qi} ready tasks`).toBeLessThanOrEqual(maxsize);
      expect(maxReady[qi], `queue ${qi} was really held back by its bound`).toBeGreaterThan(maxsize / 2);
    }
    for (const p of producers) {
      expect(p.all('put-error')).toEqual([]);
      expect(p.all('put')).toHaveLength(names.length * perProducer);
    }
    const done = consumer.all('done');
    for (const [qi] of names.entries()) {
      const seen = done.filter((e) => e.q === qi).map((e) => itemKey(e.data));
      expect(seen).toHaveLength(producerIds.length * perProducer);
      expect(duplicates(seen)).toEqual(new Map());
    }
  });
});
