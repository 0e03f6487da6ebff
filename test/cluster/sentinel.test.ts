// Redis Sentinel: a master, one replica and three sentinels (quorum 2, down after 1 s), one group
// per test (each test kills its master). The connection is ioredis' own Sentinel spelling,
// `{ sentinels: [{ host, port }], name: 'mymaster' }`, in every process.
import { describe, expect, it, onTestFinished } from 'vitest';
import { Redis } from 'ioredis';
import { type SentinelGroup, sleep, startSentinelGroup, uniqueName } from '@asyncq/test-support';
import { openQueue, runCli } from './cluster-helpers.js';
import { expectFailoverGuarantees, runFailover } from './failover-run.js';

/** A fresh group, stopped after the test (after its queues are closed). */
async function sentinelGroup(): Promise<SentinelGroup> {
  const group = await startSentinelGroup();
  onTestFinished(() => group.stop());
  return group;
}

function where(group: SentinelGroup): { nodes: number[]; masters: number[] } {
  const ports = [group.masterPort, group.replicaPort];
  return { nodes: ports, masters: ports };
}

describe('failover under Redis Sentinel', () => {
  it('plain ioredis through the sentinels: writes resume on the promoted replica (infrastructure check)', async () => {
    const group = await sentinelGroup();
    const r = new Redis({ ...group.connectionOptions(), connectionName: 'asyncq-test-raw' });
    r.on('error', () => {});
    onTestFinished(() => r.disconnect());
    const oldMaster = group.masterPort;
    const acks: { v: number; at: number }[] = [];
    let errors = 0;
    let stop = false;
    const writer = (async () => {
      for (let i = 0; !stop && i < 5000; i++) {
        await r.incr('asyncq-test:n').then(
          (v) => void acks.push({ v, at: Date.now() }),
          () => void errors++,
        );
        await sleep(10);
      }
    })();
    while (acks.length < 30) await sleep(10);
    const { killedAt } = await group.killMaster();
    const promotion = await group.waitForFailover();
    const promotedAt = killedAt + promotion.ms;
    for (let i = 0; i < 1500 && acks.filter((a) => a.at > promotedAt).length < 20; i++) await sleep(10);
    stop = true;
    await writer;
    const final = Number(await r.get('asyncq-test:n'));
    const resumedAfter = (acks.find((a) => a.at > promotedAt)?.at ?? Number.NaN) - promotedAt;
    const maxAcked = Math.max(...acks.map((a) => a.v));
    console.log(
      `raw sentinel failover: master ${oldMaster} killed, replica ${promotion.newMasterPort} promoted in ${promotion.ms} ms; ` +
        `ioredis wrote again ${resumedAfter} ms after; ${errors} command errors; increments lost: ${Math.max(0, maxAcked - final)}`,
    );
    expect(promotion.ms).toBeLessThan(15_000);
    expect(resumedAfter).toBeGreaterThanOrEqual(0);
    expect(resumedAfter).toBeLessThan(10_000);
    expect(await r.call('ROLE').then((x) => (x as unknown[])[0])).toBe('master');
    expect(final).toBeGreaterThanOrEqual(Math.max(0, ...acks.filter((a) => a.at < killedAt - 1000).map((a) => a.v)));
  });

  it('an asyncq queue through the sentinels: producer, consumer and joiner resume unaided after a failover', async () => {
    const group = await sentinelGroup();
    const name = uniqueName('sent');
    const connection = group.connectionOptions();
    const queue = openQueue<unknown>(name, { connection }, where(group));
    const report = await runFailover({
      label: 'sentinel',
      name,
      connection,
      queueOptions: {},
      queue,
      kill: () => group.killMaster().then(({ killedAt, port }) => ({ killedAt, port })),
      promoted: () => group.waitForFailover(),
    });
    expectFailoverGuarantees(report);
  });

  it('the CLI finds the master through --redis-sentinels/--redis-master and ASYNCQ_REDIS_SENTINELS/ASYNCQ_REDIS_MASTER', async () => {
    const group = await sentinelGroup();
    const name = uniqueName('sentcli');
    const sentinels = group.sentinels.map((s) => `${s.host}:${s.port}`).join(',');
    const put = await runCli(['put', name, '{"n":1}', '--redis-sentinels', sentinels, '--redis-master', group.name]);
    expect(put.stderr).toBe('');
    expect(put.code).toBe(0);
    const put2 = await runCli(['put', name, '{"n":2}'], { ASYNCQ_REDIS_SENTINELS: sentinels, ASYNCQ_REDIS_MASTER: group.name });
    expect(put2.stderr).toBe('');
    expect(put2.code).toBe(0);
    // Straight on the master: both tasks are there.
    const direct = new Redis({ host: '127.0.0.1', port: group.masterPort });
    onTestFinished(() => direct.disconnect());
    expect(await direct.llen(`asyncq:{${name}}:wait`)).toBe(2);

    const q = openQueue<{ n: number }>(name, { connection: group.connectionOptions() }, where(group));
    expect([await q.get({ timeout: 5000 }), await q.get({ timeout: 5000 })]).toEqual([{ n: 1 }, { n: 2 }]);
    await q.taskDone();
    await q.taskDone();
    const join = await runCli(['join', name, '--timeout', '10s', '--redis-sentinels', sentinels, '--redis-master', group.name]);
    expect(join.code).toBe(0);
    // A master name the sentinels do not know: one line naming it, a non-zero exit, no hang.
    const wrong = await runCli(['stats', name, '--redis-sentinels', sentinels, '--redis-master', 'nosuchmaster'], {}, 20_000);
    expect(wrong.code).not.toBe(0);
    expect(wrong.stderr.trim().split('\n')).toHaveLength(1);
    expect(wrong.stderr).toMatch(/nosuchmaster/);
  });
});
