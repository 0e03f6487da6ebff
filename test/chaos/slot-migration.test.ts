import { describe, expect, it } from 'vitest';
import { Queue } from '@asyncq/core';
import { partitionTags } from '@asyncq/core/internal';
import { clientOutcome } from './harness/client-events.js';
import { report, secs } from './harness/figures.js';
import { ledgerDir, readLedger } from './harness/ledger.js';
import { outputProblems } from './harness/output-hygiene.js';
import { sleep, startRedisCluster } from '@asyncq/test-support';
import { startNode } from './harness/processes.js';
import { masterOfKey, slotOf, SlotMigration } from './harness/replication.js';

// Scenario 6 (issue 17): a Redis Cluster slot left migrating, as a reshard killed mid-slot leaves
// it: MIGRATING on the source, IMPORTING on the target, half its keys moved. Every script on that
// slot then gets TRYAGAIN (some of its keys are here, some there), which ioredis retries until
// "Too many Cluster redirections". Guarantee: MOVED/ASK/TRYAGAIN are transient: `join()` rides it
// out; puts to a partitioned queue go to the other partitions instead of stalling the line; and
// after the slot has moved, sharded subscriptions are renewed, so an idle consumer of a queue in
// that slot wakes within milliseconds of a put, not at its safety re-check.
const PARTS = 3;
const STUCK_MS = 25_000;
/**
 * The idle consumer's safety re-check: long, so that a wake-up only it delivers shows as seconds.
 * Its re-checks back off from 50 ms (at 0.05, 0.15, ... 12.75, 25.55 s of idling): the slot moves
 * and the put comes at about 16 s, between two of them.
 */
const RECHECK_MS = 30_000;
const WAKE_MOVE_AFTER_MS = 14_500;

describe('a cluster slot left migrating, then moved', () => {
  it('join rides it out, puts go to other partitions, and an idle consumer wakes at once after the move', { timeout: 240_000 }, async () => {
    const cluster = await startRedisCluster({ masters: 3, replicasPerMaster: 1 });
    try {
      const conn = { cluster: cluster.nodes };
      const masters = cluster.masters().map((m) => m.port);
      const name = 'migrating';
      const dir = ledgerDir(name);
      // A partitioned queue with a backlog, and a plain one whose idle consumer waits for a put.
      const first = startNode('producer.mjs', [], { env: { CHAOS: JSON.stringify({ connection: conn, queue: name, name: 'a', count: 300, ackDir: dir, partitions: PARTS }) } });
      await first.exitWithin(60_000);
      const wakeQueue = new Queue('wake', { connection: conn, stalledInterval: RECHECK_MS });
      const wakePut = new Queue('wake', { connection: conn });
      await wakePut.put({ k: 'exists' });
      await (await wakeQueue.getTask({ timeout: 10_000 })).done();

      // Partition 1's slot stuck half-way; the wake queue's slot will move cleanly later.
      const tag = partitionTags(name, PARTS)[1]!;
      const slot = await slotOf(masters[0]!, `{${tag}}`);
      const source = await masterOfKey(cluster, `{${tag}}`);
      const target = masters.find((p) => p !== source)!;
      const wakeSlot = await slotOf(masters[0]!, '{wake}');
      expect(wakeSlot, 'the two queues lie in different slots').not.toBe(slot);
      const joiner = startNode('queue-client.mjs', ['join'], { env: { CHAOS: JSON.stringify({ connection: conn, queue: name, partitions: PARTS }) }, label: 'joiner' });
      await joiner.waitFor(/"ready"/);
      // The wake queue's consumer idles from now on, across the move of its slot; twice, since a lost
      // subscription is a race today (ioredis re-subscribes after a slot refresh that may come too early).
      const wakeTrial = async (): Promise<{ ms: number; idle: number }> => {
        const idleSince = Date.now();
        const got = wakeQueue.getTask({ timeout: 3 * RECHECK_MS });
        await sleep(WAKE_MOVE_AFTER_MS);
        const wakeSource = await masterOfKey(cluster, '{wake}');
        const wakeMove = await SlotMigration.begin(wakeSlot, wakeSource, masters.find((p) => p !== wakeSource && p !== source)!, 1);
        await wakeMove.migration.finish(masters);
        await sleep(500);
        await wakePut.put({ k: 'wake-up' });
        const t0 = Date.now();
        const task = await got.catch(() => undefined);
        await task?.done();
        return { ms: task ? Date.now() - t0 : Infinity, idle: t0 - idleSince };
      };
      const wakeRun = (async () => [await wakeTrial(), await wakeTrial()])();
      await sleep(500);
      const { migration, keys, moved } = await SlotMigration.begin(slot, source, target, 0.5);
      const stuckAt = Date.now();
      const producer = startNode('producer.mjs', [], { env: { CHAOS: JSON.stringify({ connection: conn, queue: name, name: 'b', count: 100_000, ackDir: dir, partitions: PARTS }) }, label: 'producer' });
      const worker = startNode('worker.mjs', [], { env: { CHAOS_LEDGER_DIR: dir, CHAOS: JSON.stringify({ connection: conn, queue: name, partitions: PARTS, concurrency: 16 }) }, label: 'worker' });
      // Gaps between puts count from the producer's start line, not from its spawn: starting node
      // takes seconds on a loaded machine, and is no put waiting.
      await producer.waitFor(/producer b starts/, 30_000);
      const putsFrom = Date.now();
      await sleep(Math.max(0, STUCK_MS - (putsFrom - stuckAt)));
      const joinerDuringStuck = clientOutcome(joiner);
      const stuckEnd = Date.now();
      const acksStuck = [...readLedger(dir).acks].filter(([k, at]) => k.startsWith('b-') && at >= stuckAt).map(([, at]) => at).sort((a, b) => a - b);
      const gaps = [...acksStuck, stuckEnd].map((at, i) => at - (i === 0 ? putsFrom : acksStuck[i - 1]!));
      producer.signal('SIGTERM');
      await producer.exitWithin(10_000);

      // The reshard is finished (what `redis-cli --cluster fix` does).
      await migration.finish(masters);
      const movedAt = Date.now();
      const joined = await joiner.exitWithin(60_000);
      const outcome = clientOutcome(joiner);
      // Every acknowledged put runs, whatever the joiner said.
      const notRun = (): string[] => {
        const v = readLedger(dir);
        return [...v.acks.keys()].filter((k) => !v.byKey.has(k));
      };
      for (let i = 0; i < 300 && notRun().length > 0; i++) await sleep(100);
      const lost = notRun().length;
      worker.signal('SIGTERM');
      await worker.exitWithin(15_000);
      const wake = await wakeRun;
      await wakeQueue.close();
      await wakePut.close();

      report('slot-migrating', {
        slotKeys: keys,
        movedBeforeStuck: moved,
        stuck: secs(STUCK_MS),
        joinerWhileStuck: joinerDuringStuck ? `${joinerDuringStuck.event}:${joinerDuringStuck.code ?? joinerDuringStuck.name}` : 'waiting',
        joinerFailedAfter: secs(joinerDuringStuck ? joinerDuringStuck.at - stuckAt : undefined),
        putsWhileStuck: acksStuck.length,
        longestPutGap: secs(gaps.length ? Math.max(...gaps) : STUCK_MS),
        putGapsOver1s: gaps.map((g, i) => [g, (i === 0 ? putsFrom : acksStuck[i - 1]!) - stuckAt] as const).filter(([g]) => g > 1000).map(([g, at]) => `${secs(g)}@${secs(at)}`).join(',') || 'none',
        joiner: outcome ? (outcome.event === 'error' ? outcome.code ?? outcome.name : outcome.event) : 'still waiting',
        joinAfterMove: secs(joined ? joined.at - movedAt : undefined),
        lost,
        wakeAfterMove: wake.map((w) => (Number.isFinite(w.ms) ? `${w.ms}ms` : 'never')).join(','),
        consumerIdleFor: wake.map((w) => secs(w.idle)).join(','),
      });
      expect.soft(joinerDuringStuck, `join waits out the stuck slot: ${JSON.stringify(joinerDuringStuck)}`).toBeUndefined();
      expect.soft(outcome?.event, `join resolves once the slot is fixed: ${JSON.stringify(outcome)}`).toBe('joined');
      expect.soft(String(outcome?.message ?? ''), 'no raw redirection error').not.toMatch(/redirection/i);
      expect.soft(acksStuck.length, 'puts acknowledged while partition 1 was stuck (they go to partitions 0 and 2)').toBeGreaterThan(100);
      // A healthy put takes milliseconds; one that waits out ioredis' redirection retries takes ~5 s.
      expect.soft(gaps.length ? Math.max(...gaps) : STUCK_MS, 'no put waits on the stuck partition for seconds (gaps between acknowledged puts)').toBeLessThan(3000);
      expect.soft(producer.stderr.split('\n').filter((l) => /redirection/i.test(l)), 'the producer never sees a raw redirection error').toEqual([]);
      expect.soft(lost, 'acknowledged puts that never ran').toBe(0);
      expect.soft(Math.max(...wake.map((w) => w.ms)), `an idle consumer wakes within a second of a put after its slot moved, each time (its safety re-check: up to ${RECHECK_MS} ms)`).toBeLessThan(1000);
      expect.soft(outputProblems(worker.output), 'worker output').toEqual([]);
    } finally {
      await cluster.stop();
    }
  });
});
