import { afterEach, describe, expect, it } from 'vitest';
import { Queue } from '@asyncq/core';
import { type ChildEvent, eventually, HANDLERS, RedisServer, redisUrl, sleep, spawnChild, stopRedisServers, type TestChild, track, uniqueName } from '@asyncq/test-support';

const MAIN = new URL('./fixtures/worker-main.mjs', import.meta.url);

interface WorkerChild extends TestChild {
  /** Everything the process wrote to stderr (its log lines), once its streams closed. */
  stderrText: Promise<string>;
  /** When it exited (ms since the epoch). */
  exitedAt: Promise<number>;
}

function workerProcess(queue: string, opts: object, env: Record<string, string> = {}): WorkerChild {
  const child = spawnChild(MAIN, [], { ASYNCQ_TEST_WORKER: JSON.stringify({ handlers: HANDLERS, queue, ...opts }), ...env }) as WorkerChild;
  let text = '';
  child.proc.stderr?.on('data', (d: Buffer) => (text += d.toString()));
  child.stderrText = new Promise((resolve) => child.proc.once('close', () => resolve(text)));
  child.exitedAt = child.exited.then(() => Date.now());
  return child;
}

/** For each task id, the intervals a worker process ran it in: from its start to its finish, or to the process's exit. */
async function runIntervals(child: WorkerChild): Promise<Map<string, [number, number][]>> {
  const exitedAt = await child.exitedAt;
  const out = new Map<string, [number, number][]>();
  const done = child.all('task-done');
  for (const start of child.all('task-start')) {
    const id = String(start.id);
    const end = done.find((d: ChildEvent) => d.id === id && d.at >= start.at)?.at ?? exitedAt;
    out.set(id, [...(out.get(id) ?? []), [start.at, end]]);
  }
  return out;
}

afterEach(stopRedisServers);

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
    const lease = { lease: 1000, stalledInterval: 300 };
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

  it('logs what it does on stderr: start, SIGTERM, the grace, the stop', async () => {
    const name = uniqueName('logs');
    track(new Queue(name, { connection: redisUrl() }), name);
    const w = workerProcess(name, { concurrency: 2, logLevel: 'info' });
    await w.next('started');
    w.kill('SIGTERM');
    expect(await w.exited).toBe(0);
    const text = await w.stderrText;
    expect(text).toMatch(/INFO {2}worker started .*concurrency=2 pid=\d+ /);
    expect(text).toMatch(/INFO {2}SIGTERM received/);
    expect(text).toMatch(/INFO {2}worker stopped /);
  });

  it('logs JSON lines with --log-format json, failed tasks with their id and error', async () => {
    const name = uniqueName('json');
    const q = track(new Queue(name, { connection: redisUrl() }), name);
    const id = await q.put({}, { name: 'fail' });
    const w = workerProcess(name, { logFormat: 'json', logLevel: 'debug' });
    await q.join({ timeout: 10_000 });
    w.kill('SIGTERM');
    expect(await w.exited).toBe(0);
    const lines = (await w.stderrText).trim().split('\n').map((l) => JSON.parse(l) as Record<string, unknown>);
    expect(lines.find((l) => l.msg === 'task failed for good')).toMatchObject({ level: 50, taskId: id, taskName: 'fail', err: 'always fails', queue: name });
    expect(lines.find((l) => l.msg === 'task started')).toMatchObject({ level: 20, taskId: id });
  });

  it('handlers that ignore ctx.signal: never run twice at once, however the stop goes; the process still exits', async () => {
    const name = uniqueName('deaf');
    const lease = { lease: 1500, stalledInterval: 300 };
    const q = track(new Queue(name, { connection: redisUrl() }), name);
    const ids = await q.putMany(Array.from({ length: 16 }, () => ({ item: { ms: 10_000 }, opts: { name: 'deaf' } })));
    const first = workerProcess(name, { concurrency: 16, graceMs: 200, abandonMs: 300, ...lease });
    await runningTasks(first, 16);
    // A second worker is already waiting: a task handed back while its handler still runs would go straight to it.
    const second = workerProcess(name, { concurrency: 16, ...lease }, { ASYNCQ_TEST_SLEEP_MS: '300' });
    await second.next('started');
    expect(first.all('task-done')).toHaveLength(0);
    const t0 = Date.now();
    first.kill('SIGTERM');
    expect(await first.exited).toBe(0);
    expect(Date.now() - t0).toBeLessThan(8000); // grace + abandon + a bound, though 16 handlers still ran
    await q.join({ timeout: 30_000 });
    const a = await runIntervals(first);
    second.kill('SIGTERM');
    const b = await runIntervals(second);
    for (const id of ids) {
      for (const [aStart, aEnd] of a.get(id) ?? []) {
        for (const [bStart, bEnd] of b.get(id) ?? []) expect(bEnd <= aStart || bStart >= aEnd, `task ${id} ran in both workers at once`).toBe(true);
      }
    }
    expect(new Set(second.all('task-done').map((e) => e.id)).size).toBe(16);
    expect(await q.counts()).toMatchObject({ completed: 16, failed: 0, unfinished: 0 });
    expect(await first.stderrText).toMatch(/16 handler\(s\) ignored the abort for 300 ms: abandoned, not handed back/);
  });

  it('a handler that ignores ctx.signal but finishes within abandonMs completes its task: nothing runs again', async () => {
    const name = uniqueName('late');
    const q = track(new Queue(name, { connection: redisUrl() }), name);
    await q.putMany(Array.from({ length: 16 }, () => ({ item: { ms: 700 }, opts: { name: 'deaf' } })));
    const w = workerProcess(name, { concurrency: 16, graceMs: 100, abandonMs: 5000 });
    await runningTasks(w, 16);
    w.kill('SIGTERM');
    expect(await w.exited).toBe(0);
    expect(new Set(w.all('task-done').map((e) => e.id)).size).toBe(16);
    expect(await q.counts()).toMatchObject({ completed: 16, waiting: 0, active: 0, failed: 0 });
  });

  it('SIGTERM while Redis is down: the process still exits, within grace + abandonMs + closeTimeoutMs', async () => {
    const redis = await RedisServer.start();
    const name = uniqueName('down');
    const q = new Queue(name, { connection: redis.url });
    await q.putMany(Array.from({ length: 4 }, () => ({ item: { ms: 60_000 }, opts: { name: 'sleep' } })));
    await q.close();
    const w = workerProcess(name, { concurrency: 4, graceMs: 500, abandonMs: 500, closeTimeoutMs: 2000, heartbeatMs: 200, logLevel: 'info' }, { REDIS_URL: redis.url });
    await runningTasks(w, 4);
    await redis.kill();
    await sleep(300);
    const t0 = Date.now();
    w.kill('SIGTERM');
    expect(await w.exited).toBe(0);
    expect(Date.now() - t0).toBeLessThan(500 + 500 + 2000 + 3000);
    const text = await w.stderrText;
    expect(text).toMatch(/SIGTERM received/);
    expect(text).toMatch(/Redis did not answer in time: tasks this worker held come back when their lease runs out/);
    expect(text).toMatch(/worker stopped .*handedBack=0 abandoned=0/);
  });

  it('a handler that crashes in a timer fails only its own task; the process keeps working', async () => {
    const name = uniqueName('crash');
    const q = track(new Queue(name, { connection: redisUrl() }), name);
    const w = workerProcess(name, { concurrency: 4 });
    await w.next('started');
    const slow = await q.put({ ms: 500 }, { name: 'sleep' });
    const bad = await q.put({}, { name: 'timerThrow' });
    await expect(q.result(bad, { timeout: 10_000 })).rejects.toThrow(/threw outside the handler.*thrown from a timer/);
    expect(await q.result(slow, { timeout: 10_000 })).toEqual({ slept: 500 });
    await eventually(async () => expect((await q.counts()).unfinished).toBe(0));
    w.kill('SIGTERM');
    expect(await w.exited).toBe(0);
  });
});
