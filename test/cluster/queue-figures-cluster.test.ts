// The exporter's bulk read (core's readQueueFigures) on the shared Redis Cluster: queues on every
// master, one partitioned over all three, each read with one script call per partition (its keys
// and the job hashes it reads share the partition's slot) and the registry under the plain name.
import { describe, expect, it } from 'vitest';
import { QueueAdmin, WorkerRegistry } from '@asyncq/core';
import { describeQueues, discoverQueues, readQueueFigures, type QueueFigures } from '@asyncq/core/internal';
import { admin, namesOnEachMaster, openCluster, openQueue, sharedCluster, track } from './cluster-helpers.js';

describe('readQueueFigures on a Redis Cluster', () => {
  it('reads queues on every master, and a partitioned queue over all of them, as QueueAdmin does one by one', async () => {
    const { masters } = sharedCluster();
    const byMaster = await namesOnEachMaster(admin().client(masters[0]!.port), masters, 1, 'figures');
    const names = [...byMaster.values()].flat();
    const cluster = openCluster();
    for (const [i, name] of names.entries()) {
      const q = openQueue<number>(name, { connection: cluster, maxsize: 10 + i });
      for (let n = 0; n <= i; n++) await q.put(n);
      await q.put(99, { delay: 600_000 });
    }
    const parted = `${names[0]}-parted`;
    const p = openQueue<number>(parted, { connection: cluster, partitions: 3 });
    for (let n = 0; n < 9; n++) await p.put(n);
    await (await p.getTask()).done();
    // The acknowledgement fetched the next task ahead (handed back 50 ms later if nobody takes it):
    // closing hands it back now, so the two reads below see the same figures.
    await p.close();
    const registry = track(new WorkerRegistry(parted, { connection: cluster }));
    await registry.setDesired(3);

    const found = (await discoverQueues(cluster, 'asyncq')).filter((q) => [...names, parted].includes(q.name));
    expect(found.find((q) => q.name === parted)?.partitions).toBe(3);
    expect(await describeQueues(cluster, 'asyncq', [parted, names[0]!])).toEqual([
      { name: parted, partitions: 3 },
      { name: names[0]!, partitions: 1 },
    ]);
    const reads = await readQueueFigures(cluster, 'asyncq', found);
    for (const r of reads) {
      if (!('figures' in r)) throw new Error(`${r.name}: ${JSON.stringify(r)}`);
      const a = track(new QueueAdmin(r.name, { connection: cluster }));
      const { at: _at, oldestWaitingMs, ...got } = r.figures;
      const want: Omit<QueueFigures, 'at' | 'oldestWaitingMs'> = {
        name: r.name,
        partitions: await a.partitionCounts(),
        state: await a.state(),
        totals: await a.totals(),
        workers: 0,
        ...(r.name === parted ? { desired: { count: 3, by: 'manual' as const } } : {}),
      };
      expect(got, r.name).toEqual(want);
      expect(oldestWaitingMs).toBeGreaterThanOrEqual(0);
    }
    const pf = (reads.find((r) => r.name === parted) as { figures: QueueFigures }).figures;
    expect(pf.partitions.map((c) => c.waiting + c.active + c.completed).reduce((x, y) => x + y, 0)).toBe(9);
  });
});
