// `asyncq cancel`, and what inspect and logs say of cancelled tasks and blocked flow steps (issue
// 20), as real subprocesses against a real Redis: a running task's worker is told, a waiting one
// never runs, an unknown id is one line and exit 1.
import { describe, expect, it, onTestFinished } from 'vitest';
import { Queue, TaskCancelled } from '@asyncq/core';
import { eventually, redisUrl, track, uniqueName } from '@asyncq/test-support';
import { oneLine } from './cli-test-helpers.js';
import { runCli, startCli } from './cli-process.js';

const HANDLERS = new URL('./fixtures/admin-handlers.mjs', import.meta.url).pathname;

describe('asyncq cancel', () => {
  it('cancels a running and a waiting task, says what became of each, and inspect and logs say who and why', async () => {
    const name = uniqueName('cancel');
    const q = track(new Queue(name, { connection: redisUrl() }), name);
    const env = { REDIS_URL: redisUrl() };
    const w = startCli(['worker', HANDLERS, '-q', name, '-c', '1', '--grace', '200ms'], env);
    onTestFinished(async () => {
      w.kill('SIGTERM');
      await w.exited;
    });
    await w.waitFor(/runs/);
    const running = await q.submit({ ms: 60_000 }, { name: 'hold' });
    await eventually(async () => expect(await running.state()).toBe('running'));
    const waiting = await q.submit({ ms: 60_000 }, { name: 'hold' }); // behind it: concurrency 1
    const done = await q.submit(null, { name: 'ok', delay: 0 });
    const out = await runCli(['cancel', '-q', name, running.id, waiting.id, '--reason', 'wrong input'], { env });
    expect(out.stderr).toBe('');
    expect(out.code).toBe(0);
    expect(out.stdout.trim().split('\n')).toEqual([
      `${name}: task ${running.id} cancelled (it was running: its handler's ctx.signal aborts with TaskCancelled)`,
      `${name}: task ${waiting.id} cancelled (it was waiting: it will never run)`,
    ]);
    const err = (await running.result({ timeout: 5000 }).catch((e: unknown) => e)) as TaskCancelled;
    expect(err).toBeInstanceOf(TaskCancelled);
    expect(err.reason).toBe('wrong input');
    expect(err.by).toMatch(/^asyncq cancel on .* \(pid \d+\)$/);
    expect(await done.result({ timeout: 10_000 })).toBe('fine');
    await q.join({ timeout: 10_000 });

    const again = await runCli(['cancel', name, done.id, running.id], { env });
    expect(again.stdout.trim().split('\n')).toEqual([`${name}: task ${done.id} had already completed: nothing to cancel`, `${name}: task ${running.id} was already cancelled`]);
    const listed = await runCli(['inspect', name, '--state', 'cancelled'], { env });
    expect(listed.stdout).toContain(': 0 waiting, 0 delayed, 0 active, 1 completed, 0 failed, 2 cancelled; cancelled:');
    expect(listed.stdout).toMatch(new RegExp(`\\n  ${running.id} hold .*\\n    cancelled by asyncq cancel on .*: wrong input\\n`));
    const logs = await runCli(['logs', name, running.id], { env });
    expect(logs.stdout).toMatch(/cancelled by asyncq cancel on .* \(pid \d+\): wrong input/);
  });

  it('an unknown id is one line and exit 1, after the known ones are cancelled; no id is a usage line', async () => {
    const name = uniqueName('cancel-bad');
    const q = track(new Queue(name, { connection: redisUrl() }), name);
    const ref = await q.submit(1);
    const env = { REDIS_URL: redisUrl() };
    const out = await runCli(['cancel', name, ref.id, '424242'], { env });
    expect(out.code).toBe(1);
    expect(out.stdout).toBe(`${name}: task ${ref.id} cancelled (it was waiting: it will never run)\n`);
    expect(oneLine(out.stderr)).toBe(`asyncq: queue "${name}" has no task "424242" (never put, or finished and no longer kept)`);
    expect(await ref.state()).toBe('cancelled');
    const none = await runCli(['cancel', name], { env });
    expect(none.code).toBe(1);
    expect(oneLine(none.stderr)).toBe('asyncq: missing argument: the usage is asyncq cancel <queue> <ids..> (asyncq cancel --help explains each)');
  });

  it('cancels tasks of a partitioned queue, whichever partition each is in', async () => {
    const name = uniqueName('cancel-parts');
    const q = track(new Queue(name, { connection: redisUrl(), partitions: 3 }), name);
    const refs = await Promise.all(Array.from({ length: 6 }, (_, i) => q.submit(i, { key: `k${i}` })));
    const parts = new Set(refs.map((r) => r.id.split('.')[0]));
    expect(parts.size).toBeGreaterThan(1);
    const victims = refs.filter((_, i) => i % 2 === 0);
    const env = { REDIS_URL: redisUrl() };
    const out = await runCli(['cancel', name, ...victims.map((r) => r.id), '--reason', 'by partition'], { env });
    expect([out.code, out.stderr]).toEqual([0, '']);
    expect(out.stdout.trim().split('\n')).toEqual(victims.map((r) => `${name}: task ${r.id} cancelled (it was waiting: it will never run)`));
    expect(await Promise.all(refs.map((r) => r.state()))).toEqual(refs.map((_, i) => (i % 2 === 0 ? 'cancelled' : 'waiting')));
    const listed = await runCli(['inspect', name, '--state', 'cancelled'], { env });
    expect(listed.stdout).toContain(': 3 waiting, 0 delayed, 0 active, 0 completed, 0 failed, 3 cancelled; cancelled:');
    for (const r of victims) expect(listed.stdout).toMatch(new RegExp(`\\n  ${r.id.replace('.', '\\.')} .*\\n    cancelled by asyncq cancel on .*: by partition\\n`));
  });

  it('inspect --state blocked says what a chain step waits for', async () => {
    const name = uniqueName('cancel-flow');
    const q = track(new Queue(name, { connection: redisUrl() }), name);
    const chain = await q.chain([{ name: 'ok', data: 1 }, { name: 'ok' }]);
    const out = await runCli(['inspect', name, '-s', 'blocked'], { env: { REDIS_URL: redisUrl() } });
    expect(out.stdout).toContain(', 1 blocked; blocked:');
    expect(out.stdout).toMatch(new RegExp(`\\n  ${chain.id} ok .*\\n    waits for chain: task ${chain.tasks[0]!.id} \\(ok, waiting\\) to complete`));
  });
});
