// One logical queue over three partitions (`partitions: 3`), one on each master of the shared
// cluster. The partition keys are found by SCAN (`asyncq:{name#*`), not assumed; "ready" is
// LLEN wait + ZCARD prioritized + ZCARD delayed + LLEN paused summed over the partitions, read as
// one consistent state (see MasterAdmin.readySnapshot).
import { describe, expect, it } from 'vitest';
import { ConfigError, QueueFull, QueueShutDown } from '@asyncq/core';
import { eventually, settledWithin, sleep, uniqueName } from '@asyncq/test-support';
import { admin, clusterChild, duplicates, isRunning, itemKey, openCluster, openQueue, sharedCluster, whileRunning } from './cluster-helpers.js';

const PARTITIONS = 3;

/**
 * The partitions' tags and masters, once all three exist (they appear with the first puts). The
 * queue's plain `{name}` tag holds only its partition count and worker registry, not tasks.
 */
async function partitionTags(name: string): Promise<Map<string, number>> {
  let tags = new Map<string, number>();
  await eventually(async () => {
    tags = new Map([...(await admin().queueTags(name))].filter(([tag]) => tag !== `{${name}}`));
    expect(tags.size).toBe(PARTITIONS);
  }, 10_000);
  return tags;
}

describe('a partitions: 3 queue on three masters', () => {
  it('spreads puts round-robin over three partitions, one per master, and a consumer takes fairly from all', async () => {
    const { masters } = sharedCluster();
    const name = uniqueName('part');
    const cluster = openCluster();
    const q = openQueue<number>(name, { connection: cluster, partitions: PARTITIONS });
    const consumer = openQueue<number>(name, { connection: cluster, partitions: PARTITIONS });
    for (let i = 0; i < 30; i++) await q.put(i);

    const tags = await partitionTags(name);
    for (const tag of tags.keys()) expect(tag.startsWith(`{${name}#`)).toBe(true);
    expect([...new Set(tags.values())].sort()).toEqual(masters.map((m) => m.port).sort());
    // No task lives under the unpartitioned tag: it records only the partition count.
    expect([...(await admin().scan(`asyncq:{${name}}:*`)).values()].flat()).toEqual([`asyncq:{${name}}:aq:partitions`]);
    const before = await admin().readySnapshot(tags);
    expect(before.total).toBe(30);
    expect([...before.byTag.values()]).toEqual([10, 10, 10]); // one handle's puts, round-robin
    expect(await q.qsize()).toBe(30);
    expect(await q.counts()).toMatchObject({ waiting: 30, active: 0, unfinished: 30 });

    const got: number[] = [];
    for (let i = 0; i < 15; i++) got.push(await consumer.get({ timeout: 5000 }));
    // Fair: after 15 gets from three equal partitions, each gave 5; a handle may have fetched one
    // more ahead for its next get, hence a spread of at most 2.
    const mid = await admin().readySnapshot(tags);
    const taken = [...mid.byTag.values()].map((left) => 10 - left);
    expect(Math.max(...taken) - Math.min(...taken)).toBeLessThanOrEqual(2);
    for (let i = 0; i < 15; i++) got.push(await consumer.get({ timeout: 5000 }));
    expect([...got].sort((a, b) => a - b)).toEqual(Array.from({ length: 30 }, (_, i) => i));
    for (let i = 0; i < 30; i++) await consumer.taskDone();
    await q.join({ timeout: 10_000 });
    expect(await q.counts()).toEqual({ waiting: 0, delayed: 0, active: 0, completed: 30, failed: 0, cancelled: 0, unfinished: 0 });
  });

  it('join resolves only when every partition is finished', async () => {
    const name = uniqueName('pjoin');
    const cluster = openCluster();
    const q = openQueue<string>(name, { connection: cluster, partitions: PARTITIONS });
    const consumer = openQueue<string>(name, { connection: cluster, partitions: PARTITIONS });
    for (const x of ['a', 'b', 'c']) await q.put(x); // one in each partition
    await q.put('late', { delay: 700 });
    expect((await admin().readySnapshot(await partitionTags(name))).total).toBe(4);

    const joined = q.join({ timeout: 20_000 });
    const tasks = [await consumer.getTask(), await consumer.getTask(), await consumer.getTask()];
    expect(tasks.map((t) => t.data).sort()).toEqual(['a', 'b', 'c']);
    for (const t of tasks) {
      expect(await settledWithin(joined, 150)).toBe(false);
      await t.done();
    }
    expect(await settledWithin(joined, 150)).toBe(false); // the delayed one is not finished
    const late = await consumer.getTask({ timeout: 5000 });
    expect(late.data).toBe('late');
    expect(await settledWithin(joined, 150)).toBe(false);
    await late.done();
    await joined;
    expect(await q.counts()).toMatchObject({ completed: 4, unfinished: 0 });
  });

  it('maxsize is one exact ceiling over all partitions together', async () => {
    const name = uniqueName('pmax');
    const cluster = openCluster();
    const q = openQueue<number>(name, { connection: cluster, partitions: PARTITIONS, maxsize: 5 });
    const consumer = openQueue<number>(name, { connection: cluster, partitions: PARTITIONS, maxsize: 5 });
    for (let i = 0; i < 5; i++) await q.putNowait(i);
    await expect(q.putNowait(5)).rejects.toBeInstanceOf(QueueFull);
    expect(await q.full()).toBe(true);
    expect(await q.qsize()).toBe(5);
    const tags = await partitionTags(name);
    expect((await admin().readySnapshot(tags)).total).toBe(5);

    const waiting = q.put(6);
    expect(await settledWithin(waiting, 300)).toBe(false);
    const first = await consumer.get({ timeout: 5000 });
    expect(first).toBeGreaterThanOrEqual(0);
    await waiting;
    expect((await admin().readySnapshot(tags)).total).toBeLessThanOrEqual(5);
    expect(await q.qsize()).toBeLessThanOrEqual(5);
    await expect(q.putNowait(7)).rejects.toBeInstanceOf(QueueFull);
    const rest: number[] = [];
    while (rest.length < 5) rest.push(await consumer.get({ timeout: 5000 }));
    expect([first, ...rest].sort()).toEqual([0, 1, 2, 3, 4, 6]);
    for (let i = 0; i < 6; i++) await consumer.taskDone();
    await q.join({ timeout: 10_000 });
  });

  it('shutdown reaches every partition: every put throws, gets drain all partitions then throw, reopen clears it everywhere', async () => {
    const name = uniqueName('pshut');
    const cluster = openCluster();
    const q = openQueue<number>(name, { connection: cluster, partitions: PARTITIONS });
    const other = openQueue<number>(name, { connection: cluster, partitions: PARTITIONS });
    const consumer = openQueue<number>(name, { connection: cluster, partitions: PARTITIONS });
    for (let i = 0; i < 6; i++) await q.put(i);
    const tags = await partitionTags(name);
    await other.shutdown();
    // Round-robin would send these to each partition in turn: none may get in anywhere.
    for (let i = 0; i < PARTITIONS * 2; i++) {
      await expect(q.put(100 + i)).rejects.toBeInstanceOf(QueueShutDown);
      await expect(q.putNowait(200 + i)).rejects.toBeInstanceOf(QueueShutDown);
    }
    expect((await admin().readySnapshot(tags)).total).toBe(6);
    const got: number[] = [];
    for (let i = 0; i < 6; i++) got.push(await consumer.get({ timeout: 5000 }));
    expect(got.sort()).toEqual([0, 1, 2, 3, 4, 5]);
    await expect(consumer.get({ timeout: 3000 })).rejects.toBeInstanceOf(QueueShutDown);
    const joined = q.join({ timeout: 10_000 });
    expect(await settledWithin(joined, 150)).toBe(false);
    for (let i = 0; i < 6; i++) await consumer.taskDone();
    await joined;

    await q.reopen();
    for (let i = 0; i < PARTITIONS; i++) await other.put(300 + i);
    expect((await admin().readySnapshot(tags)).total).toBe(PARTITIONS);
    const after = (await admin().readySnapshot(tags)).byTag;
    expect([...after.values()]).toEqual([1, 1, 1]);
    await other.shutdown({ immediate: true });
    expect((await admin().readySnapshot(tags)).total).toBe(0); // discarded on every partition
    await expect(consumer.get({ timeout: 3000 })).rejects.toBeInstanceOf(QueueShutDown);
    await q.join({ timeout: 5000 });
  });

  it('keeps a queue named like a partition apart from the partitioned queue (or refuses the name)', async () => {
    const name = uniqueName('pname');
    const cluster = openCluster();
    const q = openQueue<string>(name, { connection: cluster, partitions: PARTITIONS });
    for (let i = 0; i < PARTITIONS; i++) await q.put(`mine-${i}`);
    const tags = await partitionTags(name);
    for (const tag of tags.keys()) {
      const lookalike = tag.slice(1, -1); // e.g. "name#0": a name a user could choose too
      let other;
      try {
        other = openQueue<string>(lookalike, { connection: cluster });
        await other.put('intruder');
      } catch (e) {
        if (e instanceof ConfigError) continue; // refusing such names is one way to keep them apart
        throw e;
      }
      // Accepted: then it is a queue of its own, sharing nothing with the partition it looks like.
      expect((await admin().readySnapshot(tags)).total).toBe(PARTITIONS);
      expect(await other.qsize()).toBe(1);
      expect(await other.get({ timeout: 3000 })).toBe('intruder');
      await other.taskDone();
    }
    expect((await admin().readySnapshot(tags)).total).toBe(PARTITIONS);
    const got = [];
    for (let i = 0; i < PARTITIONS; i++) got.push(await q.get({ timeout: 3000 }));
    expect(got.sort()).toEqual(['mine-0', 'mine-1', 'mine-2']);
    for (let i = 0; i < PARTITIONS; i++) await q.taskDone();
  });

  it('4 producer and 4 consumer processes: exact join, maxsize never exceeded over the partitions, shutdown seen by all', async () => {
    const { masters } = sharedCluster();
    const name = uniqueName('pbig');
    const maxsize = 30;
    const opts = { partitions: PARTITIONS, maxsize };
    const cluster = openCluster();
    const q = openQueue<unknown>(name, { connection: cluster, ...opts });

    // 10 ms of work per task keeps consumers slower than producers, so the bound is really reached.
    const consumers = Array.from({ length: 4 }, () => clusterChild('consume', [name], [10, 2], opts));
    await Promise.all(consumers.map((c) => c.next('ready', 30_000)));
    // Producers never run out of items (bounded at 100 000): only the shutdown stops them.
    const producers = ['a', 'b', 'c', 'd'].map((p) => clusterChild('produce', [name], [p, 100_000], opts));

    const tags = await whileRunning([...producers, ...consumers], partitionTags(name));
    expect([...new Set(tags.values())].sort()).toEqual(masters.map((m) => m.port).sort());
    let maxTotal = 0;
    let samples = 0;
    const everReady = new Set<string>();
    const until = Date.now() + 45_000;
    const acked = (): number => producers.reduce((n, p) => n + p.all('put').length, 0);
    while (acked() < 800 && samples < 3000 && Date.now() < until && [...producers, ...consumers].every(isRunning)) {
      const snap = await admin().readySnapshot(tags);
      maxTotal = Math.max(maxTotal, snap.total);
      for (const [tag, n] of snap.byTag) if (n > 0) everReady.add(tag);
      samples++;
      await sleep(10);
    }
    const shutdownAt = Date.now();
    await q.shutdown();
    await Promise.all(producers.map((p) => p.next('produced', 30_000)));
    await Promise.all(consumers.map((c) => c.next('exit', 30_000)));
    await q.join({ timeout: 30_000 });

    const ackedItems = producers.flatMap((p) => p.all('put').map(itemKey));
    const delivered = consumers.flatMap((c) => c.all('done').map((e) => itemKey(e.data)));
    console.log(
      `partitions: ${ackedItems.length} acknowledged puts, ${delivered.length} done, ${samples} samples, most ready at once ${maxTotal} of maxsize ${maxsize}`,
    );
    for (const c of [...producers, ...consumers]) {
      expect([...c.all('put-error'), ...c.all('get-error'), ...c.all('done-error'), ...c.all('gave-up')]).toEqual([]);
    }
    expect(samples).toBeGreaterThan(20);
    expect(maxTotal).toBeLessThanOrEqual(maxsize);
    expect(maxTotal).toBeGreaterThan(maxsize / 2); // the producers really were held back by the bound
    expect([...everReady].sort()).toEqual([...tags.keys()].sort()); // every partition was used
    // Join is exact: every acknowledged put done exactly once; a put refused by the shutdown added nothing.
    expect(duplicates(delivered)).toEqual(new Map());
    expect([...delivered].sort()).toEqual([...ackedItems].sort());
    // Shutdown seen everywhere: each producer's put threw QueueShutDown; each consumer loop drained, then got it.
    for (const p of producers) {
      const seen = p.all('shutdown');
      expect(seen).toHaveLength(1);
      expect(seen[0]!.at).toBeGreaterThanOrEqual(shutdownAt);
    }
    for (const c of consumers) expect(c.all('shutdown')).toHaveLength(2);
    expect(await q.counts()).toMatchObject({ waiting: 0, delayed: 0, active: 0, failed: 0, unfinished: 0 });
  });
});
