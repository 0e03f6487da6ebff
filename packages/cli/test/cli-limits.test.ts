// `asyncq limits` and the exporter's asyncq_queue_limited (issue 22), as real subprocesses against a
// real Redis: set, show whether each limit binds, bad input as one line and exit 1.
import { describe, expect, it, onTestFinished } from 'vitest';
import { Queue } from '@asyncq/core';
import { redisUrl, track, uniqueName } from '@asyncq/test-support';
import { runCli, startCli } from './cli-process.js';
import { get, oneLine, valueOf } from './cli-test-helpers.js';

describe('asyncq limits', () => {
  it('sets limits that a Queue reads back, shows whether they bind and what waits on them, and the exporter says which binds', async () => {
    const name = uniqueName('limits');
    const q = track(new Queue<number>(name, { connection: redisUrl() }), name);
    const env = { REDIS_URL: redisUrl() };
    await q.putMany([1, 2, 3].map((item) => ({ item })));
    const none = await runCli(['limits', '-q', name], { env });
    expect(none.stdout.trim()).toBe(`${name}: no limits (asyncq limits ${name} --rate 100/1s --concurrency 5 sets them)`);
    // A window of a minute: the reservation below is still in it when the next command reads it.
    const set = await runCli(['limits', '-q', name, '--rate', '100/1m', '--concurrency', '1'], { env });
    expect(set.code, set.stderr).toBe(0);
    expect(await q.limits()).toEqual({ rate: { max: 100, per: '1m' }, concurrency: 1 });
    const held = await q.getTask();
    const shown = await runCli(['limits', name], { env });
    expect(shown.stdout.trim().split('\n')).toEqual([
      `${name}:`,
      '  rate         100/1m: does not bind now (1 started in the current window)',
      '  concurrency  1: binds now (1 held)',
      '  waiting on them: 2 of 2 ready tasks',
    ]);
    // Setting one limit keeps the other.
    await runCli(['limits', name, '--rate', '50/500ms'], { env });
    expect(await q.limits()).toEqual({ rate: { max: 50, per: '500ms' }, concurrency: 1 });

    const exporter = startCli(['metrics', '--port', '0', '--queue', name]);
    onTestFinished(async () => {
      exporter.kill('SIGTERM');
      await exporter.exited;
    });
    const [, port] = await exporter.waitFor(/metrics on http:\/\/127\.0\.0\.1:(\d+)\/metrics/);
    const text = (await get(port!, '/metrics')).body;
    expect(valueOf(text, `asyncq_queue_limited{queue="${name}",limit="concurrency"}`)).toBe(1);
    expect(valueOf(text, `asyncq_queue_limited{queue="${name}",limit="rate"}`)).toBe(0);

    await held.done(null);
    const cleared = await runCli(['limits', name, '--clear'], { env });
    expect(cleared.stdout.trim()).toMatch(/no limits/);
    expect(await q.limits()).toEqual({});
  });

  it('bad input: one line, exit 1', async () => {
    const name = uniqueName('limits-bad');
    const env = { REDIS_URL: redisUrl() };
    for (const [args, message] of [
      [['--rate', '0/1s'], /--rate "0\/1s": give tasks per window as <max>\/<window>/],
      [['--rate=-5/1s'], /--rate "-5\/1s"/],
      [['--concurrency', '0'], /^asyncq: --concurrency must be a whole number >= 1, got "0"$/],
      [['--clear', '--concurrency', '2'], /--clear removes every limit: give it alone/],
    ] as const) {
      const r = await runCli(['limits', name, ...args], { env });
      expect(r.code).toBe(1);
      expect(oneLine(r.stderr)).toMatch(message);
      expect(r.stderr.trim().split('\n')).toHaveLength(1);
    }
  });
});
