import { describe, expect, it } from 'vitest';
import { ConfigError, LeaseLost, Queue, QueueAdmin, QueueDataLost, QueueShutDown } from '@asyncq/core';
import { queueKeys } from '@asyncq/core/internal';
import { adminClient, eventually, redisUrl, sleep, track, uniqueName } from '@asyncq/test-support';

function open<T>(name: string, opts: Record<string, unknown> = {}): Queue<T> {
  return track(new Queue<T>(name, { connection: redisUrl(), ...opts }), name);
}

// Issue 17's guarantees that need no fault proxy: a lost lease is told to the task, a loss of
// tasks is told to joiners, and what Redis keeps can always be accounted for. The chaos suite
// (test/chaos/) covers the same with real faults.
describe('integrity', () => {
  it("a task's signal aborts with LeaseLost when Redis says its lease is gone", async () => {
    const name = uniqueName('int-lease-gone');
    const q = open<number>(name, { lease: 600 });
    await q.put(1);
    const t = await q.getTask();
    expect(t.signal.aborted).toBe(false);
    await adminClient().del(queueKeys('asyncq', name).leases);
    await eventually(() => expect(t.signal.aborted).toBe(true), 3000);
    expect(t.signal.reason).toBeInstanceOf(LeaseLost);
    await expect(t.done()).rejects.toBeInstanceOf(LeaseLost);
  });

  it("a task's signal aborts when no renewal reached Redis for a whole lease, before anyone else can take it", async () => {
    const name = uniqueName('int-watchdog');
    const q = open<number>(name, { lease: 400 });
    const other = open<number>(name, { lease: 400, stalledInterval: 100 });
    await q.put(1);
    const t = await q.getTask();
    let released: unknown;
    t.onRelease((reason) => (released = reason));
    // Writes (scripts) wait while Redis is paused: the holder cannot renew, nobody can reclaim.
    await adminClient().call('CLIENT', 'PAUSE', '1500', 'WRITE');
    const pausedAt = Date.now();
    await eventually(() => expect(released).toBeInstanceOf(LeaseLost), 3000);
    // Told while Redis still paused everyone: before the other consumer could have been handed it.
    expect(Date.now() - pausedAt).toBeLessThan(1500);
    const taken = await other.getTask({ timeout: 5000 });
    expect(taken.data).toBe(1);
    expect(taken.attempt).toBe(1);
    await taken.done();
    await q.join({ timeout: 5000 });
  });

  it('a task whose held set was deleted can still be finished by its holder, and join resolves', async () => {
    const name = uniqueName('int-held-deleted');
    const q = open<number>(name);
    await q.put(1);
    const t = await q.getTask();
    const keys = queueKeys('asyncq', name);
    const leases = await adminClient().zrange(keys.leases, 0, -1);
    expect(leases).toHaveLength(1);
    await adminClient().del(keys.held(leases[0]!));
    await t.done();
    await q.join({ timeout: 5000 });
    expect((await q.counts()).completed).toBe(1);
  });

  it('a task stranded in active with no live lease comes back through the stalled check', async () => {
    const name = uniqueName('int-stranded');
    const holder = open<number>(name, { lease: 60_000 });
    const other = open<number>(name, { stalledInterval: 100 });
    await holder.put(7);
    await holder.getTask();
    // The lease record goes (deleted by hand, or evicted): no reclaim would ever find the task.
    await adminClient().del(queueKeys('asyncq', name).leases);
    const again = await other.getTask({ timeout: 5000 });
    expect(again.data).toBe(7);
    await again.done();
    await other.join({ timeout: 5000 });
  });

  it('tasks deleted from a list are missing: a joiner gets QueueDataLost naming the partition and the count, once', async () => {
    const name = uniqueName('int-missing');
    const q = open<number>(name);
    await q.putMany([1, 2, 3, 4, 5].map((item) => ({ item })));
    const keys = queueKeys('asyncq', name);
    await adminClient().ltrim(keys.wait, 0, 1); // 3 of 5 vanish from the wait list
    const err = (await q.join({ timeout: 10_000 }).catch((e: unknown) => e)) as QueueDataLost;
    expect(err).toBeInstanceOf(QueueDataLost);
    expect(err.code).toBe('QUEUE_DATA_LOST');
    expect(err.partition).toBe(0);
    expect(err.missing).toBe(3);
    expect(err.message).toMatch(/lost 3 tasks in partition 0/);
    // Written off once told: the two left can be joined.
    const consumer = open<number>(name);
    for (let i = 0; i < 2; i++) {
      await consumer.get({ timeout: 5000 });
      await consumer.taskDone();
    }
    await open<number>(name).join({ timeout: 5000 });
  });

  it('a total of tasks put that goes down (a failover to a lagging replica) is a loss told to a joiner', async () => {
    const name = uniqueName('int-rollback');
    const q = open<number>(name);
    const stats = queueKeys('asyncq', name).stats;
    await q.putMany([1, 2, 3].map((item) => ({ item })));
    // Redis goes back in time: the last put's record and its task are gone, as on a lagging replica.
    await adminClient().hincrby(stats, 'added', -1);
    await adminClient().lpop(queueKeys('asyncq', name).wait);
    const err = (await q.join({ timeout: 10_000 }).catch((e: unknown) => e)) as QueueDataLost;
    expect(err).toBeInstanceOf(QueueDataLost);
    expect(err.missing).toBe(1);
  });

  it("an operator's removals and retries keep the ledger: no loss is reported", async () => {
    const name = uniqueName('int-ledger-admin');
    const admin = track(new QueueAdmin(name, { connection: redisUrl() }), name);
    const q = open<number>(name);
    const ids = await q.putMany([1, 2, 3, 4].map((item) => ({ item, attempts: 1 })));
    expect(await admin.remove(ids[0]!)).toBe(true);
    const t = await q.getTask();
    await t.fail(new Error('boom'));
    expect(await admin.retry(t.id)).toBe(true);
    expect(await admin.purge(['waiting'])).toBe(3);
    await q.join({ timeout: 5000 });
    expect((await adminClient().hget(queueKeys('asyncq', name).stats, 'lostMissing')) ?? '0').toBe('0');
  });

  it('a putMany that fails after storing some items says how many, with their ids', async () => {
    const name = uniqueName('int-partial');
    const q = open<number>(name, { maxsize: 3 });
    const putting = q.putMany([1, 2, 3, 4, 5].map((item) => ({ item }))).catch((e: unknown) => e);
    await eventually(async () => expect(await q.qsize()).toBe(3));
    await open<number>(name).shutdown();
    const err = (await putting) as QueueShutDown & { storedIds?: string[] };
    expect(err).toBeInstanceOf(QueueShutDown);
    expect(err.code).toBe('QUEUE_SHUT_DOWN');
    expect(err.storedIds).toHaveLength(3);
    expect(err.message).toMatch(/stored 3 of its 5 items/);
  });

  it('refuses custom task ids that are the names of the queue\'s own keys', async () => {
    const q = open<number>(uniqueName('int-ids'));
    for (const id of ['meta', 'wait', 'id', 'delayed', 'active', 'failed', 'completed', 'paused', 'prioritized', 'pc', 'events', 'marker', 'stalled-check', 'waiting-children']) {
      const err = await q.put(1, { id }).catch((e: unknown) => e);
      expect(err, id).toBeInstanceOf(ConfigError);
      expect((err as Error).message).toMatch(/reserved/);
    }
    expect(await q.qsize()).toBe(0);
  });

  it('dedup asks whether a task with that id exists, not whether any key does', async () => {
    const name = uniqueName('int-dedup');
    const q = open<number>(name);
    await adminClient().set(queueKeys('asyncq', name).job('not-a-task'), 'x');
    const err = await q.put(1, { id: 'not-a-task' }).catch((e: unknown) => e);
    // Refused with a clear line rather than reported as enqueued while nothing was.
    expect(err).toBeInstanceOf(Error);
    expect(await q.qsize()).toBe(0);
    await sleep(0);
  });
});
