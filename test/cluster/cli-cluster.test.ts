// The CLI against the shared Redis Cluster, as a real subprocess: `--redis-cluster host:port,...`
// and its environment twin ASYNCQ_REDIS_CLUSTER.
import { describe, expect, it } from 'vitest';
import { uniqueName } from '@asyncq/test-support';
import { admin, keySlot, masterOfSlot, openCluster, openQueue, runCli, sharedCluster } from './cluster-helpers.js';

describe('asyncq CLI on a Redis Cluster', () => {
  it('puts through --redis-cluster and ASYNCQ_REDIS_CLUSTER into the master of the queue’s slot, and joins', async () => {
    const { nodes, masters } = sharedCluster();
    const name = uniqueName('cli');
    const list = nodes.map((n) => `${n.host}:${n.port}`).join(',');
    const put = await runCli(['put', name, '{"n":1}', '--redis-cluster', list]);
    expect(put.stderr).toBe('');
    expect(put.code).toBe(0);
    const put2 = await runCli(['put', name, '{"n":2}'], { ASYNCQ_REDIS_CLUSTER: list });
    expect(put2.stderr).toBe('');
    expect(put2.code).toBe(0);

    const home = masterOfSlot(masters, await keySlot(admin().client(masters[0]!.port), `{${name}}`)).port;
    const tags = await admin().queueTags(name);
    expect(Object.fromEntries(tags)).toEqual({ [`{${name}}`]: home });
    expect((await admin().readySnapshot(tags)).total).toBe(2);

    const q = openQueue<{ n: number }>(name, { connection: openCluster() });
    expect([await q.get({ timeout: 5000 }), await q.get({ timeout: 5000 })]).toEqual([{ n: 1 }, { n: 2 }]);
    await q.taskDone();
    await q.taskDone();
    const join = await runCli(['join', name, '--timeout', '10s', '--redis-cluster', list]);
    expect(join.code).toBe(0);
  });

  it('says in one line what is wrong with a bad --redis-cluster value, and exits non-zero without hanging', async () => {
    const name = uniqueName('clibad');
    // Each bad value, and the part of it the message must quote.
    for (const [bad, quoted] of [
      ['nonsense', 'nonsense'],
      ['127.0.0.1:', '127.0.0.1:'],
      ['127.0.0.1:99999', '99999'],
    ] as const) {
      const r = await runCli(['stats', name, '--redis-cluster', bad], {}, 20_000);
      expect(r.code).not.toBe(0);
      expect(r.stderr.trim().split('\n')).toHaveLength(1);
      expect(r.stderr).not.toMatch(/Unknown argument/); // the flag is known: its value is what is wrong
      expect(r.stderr).toMatch(/redis-cluster/);
      expect(r.stderr).toContain(quoted);
    }
  });
});
