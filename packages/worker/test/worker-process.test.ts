import { describe, expect, it } from 'vitest';
import { Queue } from '@asyncq/core';
import { spawnChild, type TestChild } from '../../../test/child-process.js';
import { redisUrl, track, uniqueName } from '../../../test/helpers.js';

const MAIN = new URL('./fixtures/worker-main.mjs', import.meta.url);
const HANDLERS = new URL('./fixtures/handlers.mjs', import.meta.url).pathname;

function workerProcess(queue: string, opts: object, env: Record<string, string> = {}): TestChild {
  return spawnChild(MAIN, [], { ASYNCQ_TEST_WORKER: JSON.stringify({ handlers: HANDLERS, queue, ...opts }), ...env });
}

async function runningTasks(child: TestChild, n: number): Promise<void> {
  const until = Date.now() + 20_000;
  while (child.all('task-start').length < n) {
    if (Date.now() > until) throw new Error(`only ${child.all('task-start').length} of ${n} tasks started`);
    await new Promise((r) => setTimeout(r, 20));
  }
}

describe('worker processes', () => {
  it('on SIGTERM lets its 16 running tasks finish within the grace: none lost, none done twice', async () => {
    const name = uniqueName('term');
    const q = track(new Queue(name, { connection: redisUrl() }), name);
    await q.putMany(Array.from({ length: 16 }, () => ({ item: { ms: 800 }, opts: { name: 'sleep' } })));
    const w = workerProcess(name, { concurrency: 16, graceMs: 10_000 });
    await w.next('started');
    await runningTasks(w, 16);
    w.kill('SIGTERM');
    expect(await w.exited).toBe(0);
    expect(w.all('task-done')).toHaveLength(16);
    expect(new Set(w.all('task-done').map((e) => e.id)).size).toBe(16);
    expect(await q.counts()).toMatchObject({ completed: 16, active: 0, unfinished: 0, failed: 0 });
  });

  it('with a grace too short, hands the unfinished tasks back; another worker does them', async () => {
    const name = uniqueName('short');
    const q = track(new Queue(name, { connection: redisUrl() }), name);
    await q.putMany(Array.from({ length: 16 }, () => ({ item: { ms: 3000 }, opts: { name: 'sleep' } })));
    const first = workerProcess(name, { concurrency: 16, graceMs: 200 });
    await first.next('started');
    await runningTasks(first, 16);
    first.kill('SIGTERM');
    expect(await first.exited).toBe(0);
    expect(first.all('task-done')).toHaveLength(0);
    expect((await q.counts()).waiting).toBe(16); // handed back at once, not after a lock timeout

    const second = workerProcess(name, { concurrency: 16 });
    await q.join({ timeout: 30_000 });
    expect(new Set(second.all('task-done').map((e) => e.id)).size).toBe(16);
    expect(second.all('task-start').every((e) => e.attempt === 1)).toBe(true); // a hand-back is not a failed attempt
    expect(await q.counts()).toMatchObject({ completed: 16, failed: 0 });
    second.kill('SIGTERM');
    await second.exited;
  });

  it('after SIGKILL its tasks are delivered again, and join waits for them', async () => {
    const name = uniqueName('kill');
    const lease = { lockDuration: 1000, stalledInterval: 300 };
    const q = track(new Queue(name, { connection: redisUrl(), ...lease }), name);
    const ids = (await q.putMany(Array.from({ length: 4 }, () => ({ item: { ms: 60_000 }, opts: { name: 'sleep' } })))).sort();
    const doomed = workerProcess(name, { concurrency: 4, ...lease });
    await runningTasks(doomed, 4);
    let joined = false;
    const join = q.join({ timeout: 30_000 }).then(() => (joined = true));
    doomed.kill('SIGKILL');
    await doomed.exited;
    expect(joined).toBe(false);
    // The rescuer's handler sleeps briefly whatever the task says.
    const rescuer = workerProcess(name, { concurrency: 4, ...lease }, { ASYNCQ_TEST_SLEEP_MS: '10' });
    await join;
    expect(rescuer.all('task-done').map((e) => e.id).sort()).toEqual(ids);
    expect(doomed.all('task-done')).toHaveLength(0);
    expect(await q.counts()).toMatchObject({ completed: 4, unfinished: 0, failed: 0 });
    rescuer.kill('SIGTERM');
    await rescuer.exited;
  });
});
