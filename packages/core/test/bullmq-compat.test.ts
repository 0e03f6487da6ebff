import { Queue as BullQueue } from 'bullmq';
import { describe, expect, it } from 'vitest';
import { Queue, QueueAdmin } from '@asyncq/core';
import { adminClient, redisUrl, sleep, track, uniqueName } from '@asyncq/test-support';

/** BullMQ's own read API on an asyncq queue, as bull-board opens it. */
function bullmq(name: string): BullQueue {
  const q = new BullQueue(`{${name}}`, { connection: { url: redisUrl() } as never, prefix: 'asyncq', skipMetasUpdate: true });
  return track({ close: () => q.close() }, name) && q;
}

describe("BullMQ's read API and tools on an asyncq queue", () => {
  it('reads a mixed run right: done, failed for good, retrying, delayed, waiting, running', async () => {
    const name = uniqueName('compat');
    const q = track(new Queue<{ n: number }>(name, { connection: redisUrl() }), name);
    const worker = track(new Queue<{ n: number }>(name, { connection: redisUrl() }), name);
    const done = await q.put({ n: 1 }, { name: 'resize' });
    const dead = await q.put({ n: 2 }, { attempts: 2 });
    const retrying = await q.put({ n: 3 }, { attempts: 3, backoff: 60_000 });
    const running = await q.put({ n: 4 });
    const waiting = await q.put({ n: 5 }, { priority: 7 });
    const delayed = await q.put({ n: 6 }, { delay: 60_000 });

    const t1 = await worker.getTask();
    expect(t1.id).toBe(done);
    await t1.progress(50);
    await t1.log('half way');
    await t1.done({ ok: true });
    // A failed attempt retries at the back of the queue: dead, retrying, running, then dead again.
    const d1 = await worker.getTask();
    expect(d1.id).toBe(dead);
    await d1.fail(new Error('boom 1'));
    const r1 = await worker.getTask();
    expect(r1.id).toBe(retrying);
    await r1.fail(new Error('try again later'));
    const held = await worker.getTask();
    expect(held.id).toBe(running);
    const d2 = await worker.getTask();
    expect(d2.id).toBe(dead);
    await d2.fail(new Error('boom 2'));

    const b = bullmq(name);
    expect(await b.getJobCounts('waiting', 'prioritized', 'delayed', 'active', 'completed', 'failed')).toEqual({
      waiting: 0,
      prioritized: 1,
      delayed: 2, // the delayed put and the retry in backoff
      active: 1,
      completed: 1,
      failed: 1,
    });

    const jDone = (await b.getJob(done))!;
    expect(jDone).toMatchObject({ name: 'resize', data: { n: 1 }, returnvalue: { ok: true }, attemptsMade: 1, progress: 50 });
    expect(await jDone.getState()).toBe('completed');
    expect(jDone.finishedOn).toBeGreaterThanOrEqual(jDone.processedOn!);
    expect((await b.getJobLogs(done)).logs).toEqual(['half way']);

    const jDead = (await b.getJob(dead))!;
    expect(jDead).toMatchObject({ data: { n: 2 }, attemptsMade: 2, failedReason: 'boom 2' });
    expect(jDead.opts.attempts).toBe(2);
    expect(jDead.stacktrace).toHaveLength(2);
    expect(jDead.stacktrace?.[1]).toMatch(/^Error: boom 2/);
    expect(await jDead.getState()).toBe('failed');

    const jRetry = (await b.getJob(retrying))!;
    expect(jRetry).toMatchObject({ attemptsMade: 1, failedReason: 'try again later' });
    expect(await jRetry.getState()).toBe('delayed');
    expect(await (await b.getJob(delayed))!.getState()).toBe('delayed');
    expect(await (await b.getJob(running))!.getState()).toBe('active');
    expect(await (await b.getJob(waiting))!.getState()).toBe('prioritized');
    expect((await b.getJob(waiting))!.priority).toBe(8); // asyncq priority 7 is BullMQ's 8 (its 0 means none)

    expect((await b.getJobs(['completed'])).map((j) => j.id)).toEqual([done]);
    expect((await b.getJobs(['failed'])).map((j) => j.id)).toEqual([dead]);
    expect((await b.getJobs(['delayed'])).map((j) => j.id).sort()).toEqual([delayed, retrying].sort());
    await held.done();
  });

  it("BullMQ's cold paths work on asyncq tasks: retrying a dead letter and promoting a delayed task deliver them", async () => {
    const name = uniqueName('compat-cold');
    const q = track(new Queue<string>(name, { connection: redisUrl() }), name);
    const dead = await q.put('dead');
    await (await q.getTask()).fail(new Error('no'));
    const later = await q.put('later', { delay: 60_000 });
    const b = bullmq(name);
    await (await b.getJob(dead))!.retry('failed');
    await (await b.getJob(later))!.promote();
    const got = [await q.get({ timeout: 5000 }), await q.get({ timeout: 5000 })];
    expect(got.sort()).toEqual(['dead', 'later']);
    await q.taskDone();
    await q.taskDone();
    await q.join({ timeout: 5000 });
    const admin = track(new QueueAdmin(name, { connection: redisUrl() }), name);
    expect(await admin.totals()).toMatchObject({ added: 2, completed: 2, failed: 1 });
  });

  it('consumes jobs BullMQ itself added, and a BullMQ job with corrupt data fails alone as a dead letter', async () => {
    const name = uniqueName('compat-in');
    const b = bullmq(name);
    await b.add('from-bullmq', { hello: 'asyncq' }, { attempts: 2 });
    const q = track(new Queue<unknown>(name, { connection: redisUrl() }), name);
    const t = await q.getTask({ timeout: 5000 });
    expect(t).toMatchObject({ name: 'from-bullmq', data: { hello: 'asyncq' }, attempt: 1, attempts: 2 });
    await t.done('thanks');
    expect(await (await b.getJob(t.id))!.returnvalue).toBe('thanks');
    // A job whose data is not JSON never reaches a consumer: it fails for good with a clear reason.
    const bad = await b.add('bad', { x: 1 });
    await adminClient().hset(`asyncq:{${name}}:${bad.id}`, 'data', '{not json');
    await q.put({ fine: true } as never);
    expect(await q.get({ timeout: 5000 })).toEqual({ fine: true });
    await q.taskDone();
    await sleep(50);
    const failed = await q.failedTasks();
    expect(failed).toHaveLength(1);
    expect(failed[0]!.error).toMatch(/is corrupt: its data is not valid JSON/);
  });
});
