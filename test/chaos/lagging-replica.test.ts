import { Redis } from 'ioredis';
import { describe, expect, it } from 'vitest';
import { Queue } from '@asyncq/core';
import { clientOutcome, type ClientEvent } from './harness/client-events.js';
import { report, secs } from './harness/figures.js';
import { ledgerDir, ledgerSettled } from './harness/ledger.js';
import { linesOf, outputProblems } from './harness/output-hygiene.js';
import { sleep, startRedisCluster } from '@asyncq/test-support';
import { FIXTURES, startCli, startNode, type ChaosProcess } from './harness/processes.js';
import { killClusterNode, LaggableSentinelGroup, startLaggableReplica, masterOfKey, proxyClusterReplication, stallReplication, waitForClusterPromotion } from './harness/replication.js';

// Scenario 2 (issue 17): a failover to a replica that had not caught up. The replica's replication
// link runs through the fault proxy; after a first batch of puts (replicated), the proxy stops the
// master's stream to it, a second batch of puts is acknowledged by the master alone, and the master
// is SIGKILLed: Sentinel (or the Cluster) promotes the replica, which never had the second batch.
// Guarantee: that loss is told, never hidden: a joiner gets QueueDataLost (code QUEUE_DATA_LOST)
// naming the partition and how many tasks are missing (`partition`, `missing`), and `asyncq join`
// exits non-zero with one line saying so.
const FIRST = 400;
const SECOND = 150;

/** Waits for a producer fixture to finish and returns how many puts it had acknowledged. */
async function produce(conn: unknown, queue: string, name: string, count: number, dir: string, partitions?: number): Promise<ChaosProcess> {
  const p = startNode('producer.mjs', [], { env: { CHAOS: JSON.stringify({ connection: conn, queue, name, count, ackDir: dir, ...(partitions ? { partitions } : {}) }) }, label: `producer ${name}` });
  await p.exitWithin(60_000);
  return p;
}

function outcomeText(o: ClientEvent | undefined, p: ChaosProcess): string {
  if (!o) return p.alive ? 'still waiting' : 'exited';
  return o.event === 'error' ? String(o.code ?? o.name) : o.event;
}

describe('a failover to a replica that had not caught up', () => {
  it('Sentinel: the joiner gets QueueDataLost with the partition and the count; asyncq join exits non-zero', { timeout: 150_000 }, async () => {
    const group = await LaggableSentinelGroup.start();
    const conn = group.connection();
    const name = 'lag-sentinel';
    const dir = ledgerDir(name);
    await produce(conn, name, 'a', FIRST, dir);
    const joiner = startNode('queue-client.mjs', ['join'], { env: { CHAOS: JSON.stringify({ connection: conn, queue: name }) }, label: 'joiner' });
    const cliJoiner = startCli(['join', name, ...group.cliFlags()], { label: 'asyncq join' });
    await joiner.waitFor(/"ready"/);
    await sleep(1000);
    group.stallReplication();
    const second = await produce(conn, name, 'b', SECOND, dir);
    // Joiners re-count every 2 s at the slowest: let them see the second batch before it is lost.
    await sleep(3000);
    const { ms: failoverMs } = await group.killMasterAndWaitForFailover();
    const worker = startCli(['worker', `${FIXTURES}ledger-handlers.mjs`, '-q', name, '-c', '16', ...group.cliFlags()], { env: { CHAOS_LEDGER_DIR: dir }, label: 'worker' });
    const [joined, cliJoined] = await Promise.all([joiner.exitWithin(60_000), cliJoiner.exitWithin(60_000)]);
    await worker.waitFor(/started|serves|runs/, 30_000).catch(() => {});
    const view = await ledgerSettled(dir);
    const acked = view.acks.size;
    const ran = [...view.acks.keys()].filter((k) => view.byKey.has(k)).length;
    const lost = acked - ran;
    const outcome = clientOutcome(joiner);
    const lossLines = linesOf(cliJoiner.stderr).filter((l) => /lost|QUEUE_DATA_LOST/i.test(l));

    report('lagging-replica-sentinel', {
      acknowledged: acked,
      secondBatchAcked: second.exit?.code === 0 ? SECOND : 'partly',
      lost,
      failover: secs(failoverMs),
      joiner: outcomeText(outcome, joiner),
      missing: outcome?.missing,
      partition: outcome?.partition,
      cliJoinExit: cliJoined ? cliJoined.code : 'still waiting',
      cliLossLines: lossLines.length,
    });
    expect(lost, 'acknowledged puts were lost by the failover (the scenario\'s premise)').toBeGreaterThan(0);
    expect.soft(ran, `the worker ran what the new master has: ${worker.output.slice(-600)}`).toBeGreaterThan(0);
    expect.soft(joined, 'the joiner ends (no hang)').toBeDefined();
    expect.soft(outcome?.code, `the joiner is told: ${JSON.stringify(outcome)}`).toBe('QUEUE_DATA_LOST');
    expect.soft(outcome?.partition, 'QueueDataLost names the partition').toBe(0);
    expect.soft(outcome?.missing, 'QueueDataLost says how many tasks are missing').toBe(lost);
    expect.soft(String(outcome?.message ?? ''), 'its message names the count').toContain(String(lost));
    expect.soft(cliJoined?.code, `asyncq join exits non-zero: ${cliJoiner.output.slice(-300)}`).not.toBe(0);
    expect.soft(cliJoined?.code === 0 ? [] : lossLines, 'asyncq join says it once, in one line').toHaveLength(1);
    for (const p of [cliJoiner, worker]) expect.soft(outputProblems(p.output), `${p.label} output`).toEqual([]);
    await group.stop();
  });

  it('Cluster: a partitioned queue loses tasks in one partition; the joiner is told which and how many', { timeout: 180_000 }, async () => {
    const cluster = await startRedisCluster({ masters: 3, replicasPerMaster: 1 });
    try {
      const conn = { cluster: cluster.nodes };
      const name = 'lag-cluster';
      const dir = ledgerDir(name);
      const PARTS = 3;
      await produce(conn, name, 'a', FIRST, dir, PARTS);
      // Partition 1's master: its replica is made to lag.
      const { partitionTags } = await import('@asyncq/core/internal');
      const tag = partitionTags(name, PARTS)[1]!;
      const masterPort = await masterOfKey(cluster, `{${tag}}`);
      const { proxy, replicaPort } = await proxyClusterReplication(cluster, masterPort);
      const otherPort = cluster.masters().find((m) => m.port !== masterPort)!.port;
      const joiner = startNode('queue-client.mjs', ['join'], { env: { CHAOS: JSON.stringify({ connection: conn, queue: name, partitions: PARTS }) }, label: 'joiner' });
      await joiner.waitFor(/"ready"/);
      await sleep(1000);
      stallReplication(proxy);
      await produce(conn, name, 'b', SECOND, dir, PARTS);
      await sleep(3000);
      const t0 = await killClusterNode(masterPort);
      await waitForClusterPromotion(replicaPort, otherPort);
      const failoverMs = Date.now() - t0;
      const worker = startNode('worker.mjs', [], { env: { CHAOS_LEDGER_DIR: dir, CHAOS: JSON.stringify({ connection: conn, queue: name, partitions: PARTS, concurrency: 16 }) }, label: 'worker' });
      const joined = await joiner.exitWithin(60_000);
      await worker.waitFor(/started/, 30_000).catch(() => {});
      const view = await ledgerSettled(dir);
      const acked = view.acks.size;
      const ran = [...view.acks.keys()].filter((k) => view.byKey.has(k)).length;
      const lost = acked - ran;
      const outcome = clientOutcome(joiner);

      report('lagging-replica-cluster', {
        acknowledged: acked,
        lost,
        failover: secs(failoverMs),
        joiner: outcomeText(outcome, joiner),
        missing: outcome?.missing,
        partition: outcome?.partition,
      });
      expect(lost, 'acknowledged puts were lost by the failover (the scenario\'s premise)').toBeGreaterThan(0);
      expect.soft(joined, 'the joiner ends (no hang)').toBeDefined();
      expect.soft(outcome?.code, `the joiner is told: ${JSON.stringify(outcome)}`).toBe('QUEUE_DATA_LOST');
      expect.soft(outcome?.partition, 'QueueDataLost names the partition whose master failed over').toBe(1);
      expect.soft(outcome?.missing, 'QueueDataLost says how many tasks are missing').toBe(lost);
      expect.soft(outputProblems(worker.output), 'worker output').toEqual([]);
      await proxy.close();
    } finally {
      await cluster.stop();
    }
  });

  it('closing the window: the cost of WAIT 1 after each put, and min-replicas-to-write (figures for the README)', { timeout: 90_000 }, async () => {
    const { master, link, replica } = await startLaggableReplica();
    const admin = master.client();
    // A client of the user's own, shared with the handle, so that WAIT follows the handle's writes.
    const client = new Redis(master.url, { maxRetriesPerRequest: null });
    const q = new Queue('wait-cost', { connection: client });
    const batch = Array.from({ length: 500 }, (_, i) => ({ item: { k: `w-${i}` } }));
    // Each way of putting in turn, 4 rounds of 500 ms, so that load from elsewhere hits them alike.
    const modes: Record<string, () => Promise<number>> = {
      put: async () => (await q.put({ k: 'x' }), 1),
      putWait: async () => (await q.put({ k: 'x' }), await client.wait(1, 1000), 1),
      many: async () => (await q.putMany(batch)).length,
      manyWait: async () => {
        const n = (await q.putMany(batch)).length;
        await client.wait(1, 1000);
        return n;
      },
    };
    const totals = new Map<string, { n: number; ms: number }>();
    const slice = async (mode: string): Promise<void> => {
      const t0 = Date.now();
      let n = 0;
      while (Date.now() - t0 < 500) n += await modes[mode]!();
      const t = totals.get(mode) ?? { n: 0, ms: 0 };
      totals.set(mode, { n: t.n + n, ms: t.ms + Date.now() - t0 });
    };
    for (let round = 0; round < 4; round++) for (const mode of Object.keys(modes)) await slice(mode);
    const perSec = (mode: string): number => Math.round((totals.get(mode)!.n * 1000) / totals.get(mode)!.ms);
    const [put, putWait, many, manyWait] = ['put', 'putWait', 'many', 'manyWait'].map(perSec) as [number, number, number, number];
    await admin.config('SET', 'min-replicas-to-write', '1');
    await admin.config('SET', 'min-replicas-max-lag', '10');
    modes.putMinReplicas = modes.put!;
    for (let round = 0; round < 4; round++) await slice('putMinReplicas');
    const putMinReplicas = perSec('putMinReplicas');
    const acksInSync = Number(await client.wait(1, 1000));
    // With the replica cut off, WAIT says so: 0 replicas have the put, after its timeout.
    stallReplication(link);
    await q.put({ k: 'during-stall' });
    const t0 = Date.now();
    const acksDuringStall = Number(await client.wait(1, 500));
    const waitStallMs = Date.now() - t0;
    link.resume();
    await q.close();
    client.disconnect();
    await replica.destroy();

    report('failover-window-cost', {
      putsPerSec: put,
      putsWithWaitPerSec: putWait,
      waitCost: `${Math.round((1 - putWait / put) * 100)}%`,
      putManyItemsPerSec: many,
      putManyWithWaitItemsPerSec: manyWait,
      putManyWaitCost: `${Math.round((1 - manyWait / many) * 100)}%`,
      putsPerSecMinReplicas1: putMinReplicas,
      waitAcksInSync: acksInSync,
      waitAcksDuringStall: acksDuringStall,
      waitDuringStall: `${waitStallMs}ms`,
    });
    expect(acksInSync, 'WAIT 1 confirms a put the replica has').toBe(1);
    expect(acksDuringStall, 'WAIT 1 tells a put the replica does not have').toBe(0);
  });
});
