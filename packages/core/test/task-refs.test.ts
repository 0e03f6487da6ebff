import { describe, expect, it } from 'vitest';
import { ConfigError, Queue, TaskCancelled, TaskFailed, TaskNotFound } from '@asyncq/core';
import { queueKeys } from '@asyncq/core/internal';
import { adminClient, eventually, redisUrl, track, uniqueName } from '@asyncq/test-support';

function open<T>(name: string, opts: Record<string, unknown> = {}): Queue<T> {
  return track(new Queue<T>(name, { connection: redisUrl(), ...opts }), name);
}

// Tasks as futures on Redis (issue 20): cancel is durable and terminal, results come by message,
// and durable chains and chords advance inside the completion script.
describe('task refs on Redis', () => {
  it('cancels a waiting task: it never runs, it counts as finished and cancelled, and the ledger stays whole', async () => {
    const name = uniqueName('ref-cancel-wait');
    const q = open<number>(name);
    const a = await q.submit(1);
    const b = await q.submit(2);
    expect(await a.state()).toBe('waiting');
    expect(await a.cancel({ reason: 'not needed' })).toBe(true);
    expect(await a.cancel()).toBe(false);
    expect(await a.state()).toBe('cancelled');
    const err = (await a.result().catch((e: unknown) => e)) as TaskCancelled;
    expect(err).toBeInstanceOf(TaskCancelled);
    expect(err.reason).toBe('not needed');
    expect(err.message).toMatch(/task 1 was cancelled by .*: not needed/);
    const consumer = open<number>(name);
    expect(await consumer.get()).toBe(2);
    await consumer.taskDone();
    await expect(consumer.getNowait()).rejects.toThrow(/no ready task/);
    expect(await b.result()).toBe(null);
    await q.join({ timeout: 5000 });
    expect(await q.counts()).toMatchObject({ waiting: 0, active: 0, completed: 1, cancelled: 1, unfinished: 0 });
    expect((await adminClient().hget(queueKeys('asyncq', name).stats, 'lostMissing')) ?? '0').toBe('0');
  });

  it('cancels a delayed task', async () => {
    const name = uniqueName('ref-cancel-delayed');
    const q = open<number>(name);
    const a = await q.submit(1, { delay: 60_000 });
    expect(await a.state()).toBe('delayed');
    expect(await q.cancel(a.id)).toBe(true);
    await q.join({ timeout: 5000 });
    expect((await q.counts()).delayed).toBe(0);
  });

  it("cancels a running task: its holder's signal aborts with TaskCancelled, done is refused, taskDone resolves", async () => {
    const name = uniqueName('ref-cancel-run');
    const q = open<number>(name);
    const holder = open<number>(name);
    const ref = await q.submit(7);
    const t = await holder.getTask();
    expect(await ref.state()).toBe('running');
    expect(await ref.cancel({ reason: 'stop' })).toBe(true);
    await eventually(() => expect(t.signal.aborted).toBe(true), 3000);
    expect(t.signal.reason).toBeInstanceOf(TaskCancelled);
    await expect(t.done('late')).rejects.toBeInstanceOf(TaskCancelled);
    await q.join({ timeout: 5000 });
    await expect(ref.result()).rejects.toBeInstanceOf(TaskCancelled);
    expect(await ref.state()).toBe('cancelled');
  });

  it("records a running task's cancel under its holder's lease, for a holder that misses the message", async () => {
    const name = uniqueName('ref-cancel-record');
    const holder = open<number>(name, { lease: 60_000 }); // no renewal during the test
    const q = open<number>(name);
    await q.put(1);
    const t = await holder.getTask();
    const keys = queueKeys('asyncq', name);
    const [lease] = await adminClient().zrange(keys.leases, 0, -1);
    expect(await q.ref(t.id).cancel({ reason: 'why' })).toBe(true);
    const record = JSON.parse((await adminClient().hget(keys.revoked(lease!), t.id)) ?? 'null') as { reason: string; by: string };
    expect(record.reason).toBe('why');
    expect(await adminClient().sismember(keys.held(lease!), t.id)).toBe(0);
    expect(await adminClient().lpos(keys.active, t.id)).toBeNull();
    expect(await adminClient().pttl(keys.revoked(lease!))).toBeGreaterThan(60_000);
  });

  it('a holder that missed the message learns of the cancel from the record at its next call; its result is discarded', async () => {
    const name = uniqueName('ref-cancel-durable');
    // Renewed every second. A shorter lease let a loaded CI machine trip the handle's watchdog (no
    // renewal through for a whole lease: the task is given up as LeaseLost) before any renewal read the cancel.
    const holder = open<number>(name, { lease: 3000 });
    const q = open<number>(name);
    await q.put(1);
    const t = await holder.getTask();
    const keys = queueKeys('asyncq', name);
    const [lease] = await adminClient().zrange(keys.leases, 0, -1);
    // What cancel-12.lua does, without its message: as if the holder's subscriber had been away.
    await adminClient().srem(keys.held(lease!), t.id);
    await adminClient().lrem(keys.active, -1, t.id);
    await adminClient().hset(keys.job(t.id), 'finishedOn', Date.now(), 'cancelledOn', Date.now(), 'cancelReason', 'lost message', 'cancelBy', 'test');
    await adminClient().zadd(keys.cancelled, Date.now(), t.id);
    await adminClient().hincrby(keys.stats, 'cancelled', 1);
    await adminClient().hset(keys.revoked(lease!), t.id, JSON.stringify({ reason: 'lost message', by: 'test' }));
    await eventually(() => expect(t.signal.reason).toBeInstanceOf(TaskCancelled), 10_000);
    expect((t.signal.reason as TaskCancelled).reason).toBe('lost message');
    await expect(t.done(123)).rejects.toBeInstanceOf(TaskCancelled);
    expect(await adminClient().hget(keys.job(t.id), 'returnvalue')).toBeNull();
    expect(await adminClient().exists(keys.revoked(lease!))).toBe(0);
    await q.join({ timeout: 5000 });
  });

  it('refuses to cancel an unknown task, and a ref of another queue, in one line', async () => {
    const name = uniqueName('ref-bad');
    const q = open<number>(name);
    const other = open<number>(uniqueName('ref-other'));
    const ref = await other.submit(1);
    await expect(q.cancel('999')).rejects.toBeInstanceOf(TaskNotFound);
    const err = (await q.cancel(ref).catch((e: unknown) => e)) as ConfigError;
    expect(err).toBeInstanceOf(ConfigError);
    expect(err.message).toMatch(/is a task of queue "ref-other-.*", not of "ref-bad-/);
    await expect(q.taskState('999')).rejects.toBeInstanceOf(TaskNotFound);
  });

  it('a finished task cannot be cancelled: cancel resolves false', async () => {
    const name = uniqueName('ref-finished');
    const q = open<number>(name);
    const ok = await q.submit(1);
    const bad = await q.submit(2, { attempts: 1 });
    const c = open<number>(name);
    (await c.getTask()).done('yes');
    await (await c.getTask()).fail(new Error('boom'));
    await expect(ok.result()).resolves.toBe('yes');
    await expect(bad.result()).rejects.toBeInstanceOf(TaskFailed);
    expect(await ok.cancel()).toBe(false);
    expect(await bad.cancel()).toBe(false);
    expect(await ok.state()).toBe('completed');
    expect(await bad.state()).toBe('failed');
  });

  it('cancels made in one turn are answered each for its own task: a repeat finds it cancelled, each keeps its reason', async () => {
    const name = uniqueName('ref-batch');
    const q = open<number>(name);
    const refs = await Promise.all([1, 2, 3, 4].map((n) => q.submit(n)));
    const answers = await Promise.all([
      refs[0]!.cancel({ reason: 'one' }),
      refs[0]!.cancel({ reason: 'one' }),
      refs[1]!.cancel({ reason: 'two' }),
      refs[2]!.cancel({ reason: 'one' }),
      q.cancel('999999').catch((e: unknown) => e),
    ]);
    expect(answers.slice(0, 4)).toEqual([true, false, true, true]);
    expect(answers[4]).toBeInstanceOf(TaskNotFound);
    const reasons = await Promise.all(refs.slice(0, 3).map((r) => r.result().catch((e: unknown) => (e as TaskCancelled).reason)));
    expect(reasons).toEqual(['one', 'two', 'one']);
    expect(await refs[3]!.state()).toBe('waiting');
    expect((await q.counts()).cancelled).toBe(3);
  });
});
