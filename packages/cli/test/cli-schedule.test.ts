// `asyncq schedule add|list|remove` (issue 22) as real subprocesses against a real Redis: a schedule
// added from the command line is the one the core reads; bad input is one line and a non-zero exit.
import { describe, expect, it } from 'vitest';
import { Queue } from '@asyncq/core';
import { redisUrl, track, uniqueName } from '@asyncq/test-support';
import { oneLine } from './cli-test-helpers.js';
import { runCli } from './cli-process.js';

describe('asyncq schedule', () => {
  it('adds, lists and removes schedules, and refuses bad input in one line', { timeout: 90_000 }, async () => {
    const name = uniqueName('cli-sched');
    const q = track(new Queue(name, { connection: redisUrl() }), name);
    const env = { REDIS_URL: redisUrl() };
    const add = await runCli(['schedule', 'add', '-q', name, 'nightly', '--cron', '0 3 * * *', '--tz', 'Europe/Berlin', '--name', 'report', '--data', '{"kind":"daily"}', '--catch-up', 'all'], { env });
    expect(add.stderr).toBe('');
    expect(add.code).toBe(0);
    expect(add.stdout).toMatch(new RegExp(`^${name}: schedule nightly saved; next run \\d{4}-\\d\\d-\\d\\dT0[12]:00:00.000Z\\n$`));
    await q.schedule('poll', { every: '5m' }, { data: null }, { limit: 3 });
    const [nightly, poll] = await q.schedules();
    expect(nightly).toMatchObject({ id: 'nightly', spec: { cron: '0 3 * * *', tz: 'Europe/Berlin' }, template: { name: 'report', data: { kind: 'daily' } }, catchUp: 'all', runs: 0 });
    expect(poll).toMatchObject({ id: 'poll', spec: { every: 300_000 }, limit: 3, catchUp: 'one' });

    const list = await runCli(['schedule', 'list', '-q', name], { env });
    expect(list.code).toBe(0);
    const lines = list.stdout.trim().split('\n');
    expect(lines[0]).toMatch(/^id\s+when\s+next run\s+last run\s+late by\s+runs\s+skipped\s+catch-up$/);
    expect(lines[1]).toMatch(/^nightly\s+cron 0 3 \* \* \* Europe\/Berlin\s+\S+Z\s+-\s+-\s+0\s+0\s+all$/);
    expect(lines[2]).toMatch(/^poll\s+every 300000ms\s+\S+Z\s+-\s+-\s+0\s+0\s+one$/);

    const removed = await runCli(['schedule', 'remove', '-q', name, 'poll'], { env });
    expect([removed.code, removed.stdout.trim()]).toEqual([0, `${name}: schedule poll removed`]);
    const again = await runCli(['schedule', 'remove', '-q', name, 'poll'], { env });
    expect([again.code, oneLine(again.stderr)]).toEqual([1, `asyncq: queue "${name}" has no schedule "poll" (asyncq schedule list -q ${name} lists them)`]);

    for (const [args, message] of [
      [['--cron', '61 * * * *'], /^asyncq: invalid cron "61 \* \* \* \*": .*minute/],
      [['--cron', '0 3 * * *', '--tz', 'Mars/Olympus'], /^asyncq: unknown time zone "Mars\/Olympus": use an IANA time zone/],
      [['--every', '1s', '--data', '{oops'], /^asyncq: --data must be JSON/],
    ] as const) {
      const r = await runCli(['schedule', 'add', '-q', name, 'bad', ...args], { env });
      expect(r.code, r.stderr).not.toBe(0);
      expect(r.stderr.trim().split('\n')).toHaveLength(1);
      expect(r.stderr.trim()).toMatch(message);
    }
    expect((await q.schedules()).map((s) => s.id)).toEqual(['nightly']);
    const missing = await runCli(['schedule', 'list', '-q', uniqueName('nope')], { env });
    expect([missing.code, missing.stderr]).toEqual([1, expect.stringMatching(/^asyncq: no queue named/)]);
  });
});
