import { describe, expect, it } from 'vitest';
import { Queue, QueueAdmin } from '@asyncq/core';
import { queueKeys } from '@asyncq/core/internal';
import { adminClient, redisUrl, track, uniqueName } from '@asyncq/test-support';

function open<T>(name: string, opts: Record<string, unknown> = {}): Queue<T> {
  return track(new Queue<T>(name, { connection: redisUrl(), ...opts }), name);
}

// Per-attempt records (issue 23's triage): QueueAdmin.task(id).runs says, for each attempt, when
// it ran, under which lease, how it ended, its error and stack, and the log lines written in it.
describe('task runs', () => {
  it('records each attempt: a failure with its stack and lines, a lost worker, the running one, then the completed one', async () => {
    const name = uniqueName('runs');
    const first = open<string>(name, { lease: 60_000 });
    const other = open<string>(name, { stalledInterval: 100 });
    const admin = track(new QueueAdmin(name, { connection: redisUrl() }), name);
    const id = await first.put('job', { attempts: 3 });

    const a1 = await first.getTask();
    await a1.log('one: starting');
    await a1.log('one: about to fail');
    await a1.fail(new Error('the partner said 500'));

    const a2 = await first.getTask({ timeout: 5000 });
    await a2.log('two: starting');
    // Its worker is gone: the lease record is deleted, and another handle's stalled check takes it back.
    await adminClient().del(queueKeys('asyncq', name).leases);
    const a3 = await other.getTask({ timeout: 5000 });
    await a3.log('three: starting');

    const running = (await admin.task(id))!.runs;
    expect(running.map((r) => [r.outcome, r.logs])).toEqual([
      ['failed', ['one: starting', 'one: about to fail']],
      ['lost', ['two: starting']],
      ['running', ['three: starting']],
    ]);
    expect(running[0]).toMatchObject({ attempt: 1, error: 'the partner said 500', stack: expect.stringContaining('the partner said 500') });
    expect(running[0]!.durationMs).toBeGreaterThanOrEqual(0);
    expect(running[1]!.error).toMatch(/^its worker stopped renewing its lease/);
    expect(running[0]!.holder).toMatch(/^[0-9a-f]+\.\d+$/);
    expect(running[2]!.holder).not.toBe(running[0]!.holder);

    await a3.done('ok');
    const done = (await admin.task(id))!.runs;
    expect(done.map((r) => r.outcome)).toEqual(['failed', 'lost', 'completed']);
    expect(done[2]).toMatchObject({ logs: ['three: starting'], holder: running[2]!.holder });
    expect(done[2]!.endedAt! - done[2]!.startedAt!).toBe(done[2]!.durationMs);
  });
});
