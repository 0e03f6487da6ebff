// A master of a private cluster (3 masters, 3 replicas, node timeout 1 s) is SIGKILLed mid-run:
// first with plain ioredis, to show the cluster itself fails over within seconds, then under
// asyncq queues. After each test the killed node is started again and rejoins as a replica, so
// every test begins with a replica behind every master. The shared cluster is not touched.
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { type RedisCluster, sleep, startRedisCluster, uniqueName } from '@asyncq/test-support';
import { MasterAdmin, namesOnEachMaster, openCluster, openQueue } from './cluster-helpers.js';
import { expectFailoverGuarantees, runFailover } from './failover-run.js';

let cluster: RedisCluster;
const killed: number[] = [];

beforeAll(async () => {
  cluster = await startRedisCluster({ nodeTimeoutMs: 1000 });
});

afterAll(async () => {
  await cluster?.stop();
});

afterEach(async () => {
  // Heal: a killed master comes back as a replica of the one that took over.
  for (const port of killed.splice(0)) await cluster.restartNode(port);
  await cluster.waitHealthy(30_000);
});

/** Every node, for the leak check and key clean-up (masters change in these tests). */
function everywhere(): { nodes: number[]; masters: number[] } {
  const ports = cluster.nodes.map((n) => n.port);
  return { nodes: ports, masters: ports };
}

async function killMaster(port: number): Promise<{ killedAt: number; port: number }> {
  const { killedAt } = await cluster.killMaster(port);
  killed.push(port);
  return { killedAt, port };
}

describe('failover in a Redis Cluster', () => {
  it('plain ioredis: the killed master’s replica takes over and writes to its slots resume (infrastructure check)', async () => {
    const masters = cluster.masters();
    const admin = new MasterAdmin(masters.map((m) => m.port));
    try {
      const byMaster = await namesOnEachMaster(admin.client(masters[0]!.port), masters, 1, 'raw');
      const keys = masters.map((m) => `asyncq-test:{${byMaster.get(m.port)![0]}}:n`);
      const victim = masters[0]!;
      const c = openCluster(cluster.nodes);
      const acks = keys.map(() => [] as { v: number; at: number }[]);
      let errors = 0;
      let stop = false;
      let rounds = 0;
      const writer = (async () => {
        for (; !stop && rounds < 5000; rounds++) {
          await Promise.all(
            keys.map((k, ki) =>
              c.incr(k).then(
                (v) => void acks[ki]!.push({ v, at: Date.now() }),
                () => void errors++,
              ),
            ),
          );
          await sleep(10);
        }
      })();
      while (rounds < 30) await sleep(10);
      const { killedAt } = await killMaster(victim.port);
      const promotion = await cluster.waitForPromotion(victim.port);
      const promotedAt = killedAt + promotion.ms;
      for (let i = 0; i < 1500 && acks[0]!.filter((a) => a.at > promotedAt).length < 20; i++) await sleep(10);
      stop = true;
      await writer;

      const finals = await Promise.all(keys.map(async (k) => Number(await c.get(k))));
      const resumedAfter = (acks[0]!.find((a) => a.at > promotedAt)?.at ?? Number.NaN) - promotedAt;
      const maxAcked = acks.map((a) => Math.max(0, ...a.map((x) => x.v)));
      const lost = maxAcked.map((m, i) => Math.max(0, m - finals[i]!));
      console.log(
        `raw cluster failover: master ${victim.port} killed, replica ${promotion.newMasterPort} took over in ${promotion.ms} ms; ` +
          `ioredis wrote to it again ${resumedAfter} ms after; ${errors} command errors; increments lost per master: ${lost.join('/')}`,
      );
      expect(promotion.ms).toBeLessThan(15_000);
      expect(victim.replicas).toContain(promotion.newMasterPort);
      expect(resumedAfter).toBeGreaterThanOrEqual(0);
      expect(resumedAfter).toBeLessThan(10_000);
      // Masters that were not killed lose nothing; the killed one keeps everything acknowledged well before.
      expect(lost.slice(1)).toEqual([0, 0]);
      const settled = acks[0]!.filter((a) => a.at < killedAt - 1000);
      expect(finals[0]).toBeGreaterThanOrEqual(Math.max(0, ...settled.map((a) => a.v)));
      await c.del(...keys.slice(0, 1));
    } finally {
      admin.close();
    }
  });

  it('an unpartitioned queue on the killed master: producer, consumer and joiner resume unaided', async () => {
    const masters = cluster.masters();
    const victim = masters[1]!;
    const admin = new MasterAdmin(masters.map((m) => m.port));
    const name = (await namesOnEachMaster(admin.client(victim.port), masters, 1, 'fo')).get(victim.port)![0]!;
    admin.close();
    const queue = openQueue<unknown>(name, { connection: openCluster(cluster.nodes) }, everywhere());
    const report = await runFailover({
      label: 'cluster, unpartitioned',
      name,
      connection: { cluster: cluster.nodes },
      queueOptions: {},
      queue,
      kill: () => killMaster(victim.port),
      promoted: () => cluster.waitForPromotion(victim.port),
    });
    expectFailoverGuarantees(report);
  });

  it('a partitions: 3 queue with maxsize, one partition’s master killed: everything resumes unaided', async () => {
    const masters = cluster.masters();
    const victim = masters[2]!;
    const name = uniqueName('fop');
    const queueOptions = { partitions: 3, maxsize: 100 };
    const queue = openQueue<unknown>(name, { connection: openCluster(cluster.nodes), ...queueOptions }, everywhere());
    const report = await runFailover({
      label: 'cluster, partitions: 3, maxsize 100',
      name,
      connection: { cluster: cluster.nodes },
      queueOptions,
      queue,
      kill: () => killMaster(victim.port),
      promoted: () => cluster.waitForPromotion(victim.port),
    });
    expectFailoverGuarantees(report);
  });
});
