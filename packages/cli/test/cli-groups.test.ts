// Groups in the CLI and the exporter (issue 22): `asyncq put --group`, `asyncq limits
// --per-group-concurrency` and what `asyncq limits` and /metrics say of groups, as real
// subprocesses against a real Redis; bad input as one line and exit 1.
import { spawnSync } from 'node:child_process';
import { describe, expect, it, onTestFinished } from 'vitest';
import { Queue, QueueAdmin } from '@asyncq/core';
import { eventually, redisUrl, track, uniqueName } from '@asyncq/test-support';
import { main } from '../src/cli.js';
import { runCli, startCli } from './cli-process.js';
import { get, oneLine, valueOf } from './cli-test-helpers.js';

/** `promtool check metrics` on `text`: its exit code and what it said. */
function promtool(text: string): { code: number | null; said: string } {
  const r = spawnSync('promtool', ['check', 'metrics'], { input: text, encoding: 'utf8' });
  return { code: r.status, said: `${r.stdout}${r.stderr}`.trim() };
}

describe('asyncq limits --per-group-concurrency', () => {
  it('sets the per-group limit that QueueAdmin reads back, keeps the other limits as --rate and --concurrency do, and --clear removes it', async () => {
    const name = uniqueName('groups-set');
    const admin = track(new QueueAdmin(name, { connection: redisUrl() }), name);
    const set = await runCli(['limits', '-q', name, '--per-group-concurrency', '2']);
    expect(set.code, set.stderr).toBe(0);
    expect((await admin.limits()).limits).toEqual({ perGroup: { concurrency: 2 } });
    expect(set.stdout.trim().split('\n')).toEqual([`${name}:`, '  per group    2: does not bind now (0 groups held back)']);
    // Setting another limit keeps it; setting it keeps the others.
    expect((await runCli(['limits', name, '--rate', '100/1m', '-c', '4'])).code).toBe(0);
    expect((await admin.limits()).limits).toEqual({ rate: { max: 100, per: '1m' }, concurrency: 4, perGroup: { concurrency: 2 } });
    expect((await runCli(['limits', name, '--per-group-concurrency', '3'])).code).toBe(0);
    expect((await admin.limits()).limits).toEqual({ rate: { max: 100, per: '1m' }, concurrency: 4, perGroup: { concurrency: 3 } });
    const json = JSON.parse((await runCli(['limits', name, '--json'])).stdout) as { limits: unknown; groupsBlocked: number; groupsWaiting: number; groups: unknown[] };
    expect(json).toMatchObject({ limits: { perGroup: { concurrency: 3 } }, groupsBlocked: 0, groupsWaiting: 0, groups: [] });
    expect((await runCli(['limits', name, '--clear'])).code).toBe(0);
    expect((await admin.limits()).limits).toEqual({});
  });

  it('puts tasks in a group; shows the group held back, in text and JSON; the exporter counts the groups waiting and says the per-group limit binds', async () => {
    const name = uniqueName('groups-held');
    const q = track(new Queue<number>(name, { connection: redisUrl() }), name);
    const admin = track(new QueueAdmin(name, { connection: redisUrl() }), name);
    expect((await runCli(['limits', name, '--per-group-concurrency', '1'])).code).toBe(0);
    for (const item of ['1', '2', '3']) {
      const r = await runCli(['put', name, item, '--group', 'tenant-a']);
      expect(r.code, r.stderr).toBe(0);
    }
    expect(await admin.groups()).toEqual([{ group: 'tenant-a', waiting: 3, blocked: false }]);
    const held = await q.getTask({ timeout: 5000 });
    expect(held.data).toBe(1);

    const shown = await runCli(['limits', name]);
    expect(shown.stdout.trim().split('\n')).toEqual([
      `${name}:`,
      '  per group    1: binds now (1 group held back)',
      '  groups with tasks waiting: 1; the largest:',
      '    tenant-a  2 waiting, held back',
    ]);
    const json = JSON.parse((await runCli(['limits', name, '--json'])).stdout) as Record<string, unknown>;
    expect(json).toMatchObject({ groupsBlocked: 1, groupsWaiting: 1, groups: [{ group: 'tenant-a', waiting: 2, blocked: true }] });

    const exporter = startCli(['metrics', '--port', '0', '--queue', name]);
    onTestFinished(async () => {
      exporter.kill('SIGTERM');
      await exporter.exited;
    });
    const [, port] = await exporter.waitFor(/metrics on http:\/\/127\.0\.0\.1:(\d+)\/metrics/);
    let text = (await get(port!, '/metrics')).body;
    expect(text).toContain(`\nasyncq_queue_group_tasks{queue="${name}"} 1\n`);
    expect(valueOf(text, `asyncq_queue_limited{queue="${name}",limit="per_group_concurrency"}`)).toBe(1);
    expect(promtool(text)).toEqual({ code: 0, said: '' });

    // Its task done, the group's next one is let in: nothing is held back any more.
    await held.done(null);
    await eventually(async () => {
      text = (await get(port!, '/metrics')).body;
      expect(valueOf(text, `asyncq_queue_limited{queue="${name}",limit="per_group_concurrency"}`)).toBe(0);
    }, 10_000);
    expect(valueOf(text, `asyncq_queue_group_tasks{queue="${name}"}`)).toBe(1);
    expect(promtool(text)).toEqual({ code: 0, said: '' });
  });

  it('the exporter counts the groups of a queue without limits, and has no per-group series for it', async () => {
    const name = uniqueName('groups-free');
    const q = track(new Queue<number>(name, { connection: redisUrl() }), name);
    await q.putMany([1, 2, 3].map((item) => ({ item, opts: { group: `g${item % 2}` } })));
    await q.put(4);
    const exporter = startCli(['metrics', '--port', '0', '--queue', name]);
    onTestFinished(async () => {
      exporter.kill('SIGTERM');
      await exporter.exited;
    });
    const [, port] = await exporter.waitFor(/metrics on http:\/\/127\.0\.0\.1:(\d+)\/metrics/);
    const text = (await get(port!, '/metrics')).body;
    expect(valueOf(text, `asyncq_queue_group_tasks{queue="${name}"}`)).toBe(2);
    expect(text).not.toContain(`asyncq_queue_limited{queue="${name}"`);
    expect(promtool(text)).toEqual({ code: 0, said: '' });
    const shown = await runCli(['limits', name]);
    expect(shown.stdout.trim().split('\n')).toEqual([
      `${name}: no limits (asyncq limits ${name} --rate 100/1s --concurrency 5 sets them)`,
      '  groups with tasks waiting: 2; the largest:',
      '    g1  2 waiting',
      '    g0  1 waiting',
    ]);
  });
});

describe('bad input: one line, exit 1', () => {
  it('a per-group concurrency that is not a whole number of at least 1, or given with --clear; a group name the core refuses', async () => {
    // In this process (main() as bin.ts runs it): none of these reaches Redis, nor may change it.
    const name = uniqueName('groups-bad');
    const q = track(new Queue(name, { connection: redisUrl() }), name);
    const cases: [string[], string][] = [
      [['limits', name, '--per-group-concurrency', '0'], 'asyncq: --per-group-concurrency must be a whole number >= 1, got "0"'],
      [['limits', name, '--per-group-concurrency=-2'], 'asyncq: --per-group-concurrency must be a whole number >= 1, got "-2"'],
      [['limits', name, '--per-group-concurrency', '1.5'], 'asyncq: --per-group-concurrency must be a whole number >= 1, got "1.5"'],
      [['limits', name, '--per-group-concurrency', 'two'], 'asyncq: --per-group-concurrency must be a whole number >= 1, got "two"'],
      // --concurrency reached the core as NaN ("got null") before it was read as a whole number here.
      [['limits', name, '--concurrency', 'abc'], 'asyncq: --concurrency must be a whole number >= 1, got "abc"'],
      [['limits', name, '-c', '0'], 'asyncq: --concurrency must be a whole number >= 1, got "0"'],
      [['limits', name, '--clear', '--per-group-concurrency', '2'], 'asyncq: --clear removes every limit: give it alone, or give --rate/--concurrency/--per-group-concurrency without it'],
      [['put', name, '1', '--group', 'a:b'], 'asyncq: invalid group "a:b": use 1-200 characters without \':\', \'{\', \'}\', whitespace or control characters, e.g. "tenant-42"'],
      [['put', name, '1', '--group', 'a b'], 'asyncq: invalid group "a b": use 1-200 characters without \':\', \'{\', \'}\', whitespace or control characters, e.g. "tenant-42"'],
    ];
    for (const [args, line] of cases) {
      const err: string[] = [];
      const ctx = { out: () => {}, err: (l: string) => err.push(l), tty: false, exitCode: 0 };
      expect(await main([...args, '--redis-url', redisUrl()], ctx), args.join(' ')).toBe(1);
      expect(err, args.join(' ')).toEqual([line]);
    }
    // And as a user meets it: a subprocess, one line on stderr, nothing put.
    const r = await runCli(['put', name, '1', '--group', 'x'.repeat(201)]);
    expect(r.code).toBe(1);
    expect(oneLine(r.stderr)).toMatch(/^asyncq: invalid group "x+\.\.\. \(203 characters\): use 1-200 characters/);
    expect(await q.qsize()).toBe(0);
    expect(await q.limits()).toEqual({});
  });
});
