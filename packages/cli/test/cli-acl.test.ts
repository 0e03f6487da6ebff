import { readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Redis } from 'ioredis';
import { describe, expect, it } from 'vitest';
import { Queue } from '@asyncq/core';
import { runCli, startCli, type CliProcess, type CliResult } from './cli-process.js';
import { HANDLERS } from './cli-test-helpers.js';
import { RedisServer } from '@asyncq/test-support';

// The README's "Redis permissions and TLS" section documents one ACL line. This file runs every
// command of the README as a user with exactly that ACL, then as users with one of its rights
// taken away: each command must then work (it did not need that right) or fail once, with one
// RedisRefused line naming a command the user really lacks, having changed nothing in Redis.

/** The rules of the README's ACL line, after `ACL SETUSER asyncq on >secret`. */
function readmeAcl(): string[] {
  const readme = readFileSync(new URL('../../../README.md', import.meta.url), 'utf8');
  const line = /^ACL SETUSER asyncq on >secret (.+)$/m.exec(readme);
  if (!line) throw new Error('no ACL SETUSER line in the README');
  return line[1]!.trim().split(/\s+/);
}

/** ioredis says this once per connection when INFO is refused; it is not asyncq's, and asyncq's line follows. */
const IOREDIS_READY_CHECK = /^Skipping the ready check because INFO command fails/;

/** asyncq's own stderr lines. */
function lines(stderr: string): string[] {
  return stderr.split('\n').filter((l) => l.trim() !== '' && !IOREDIS_READY_CHECK.test(l));
}

/**
 * Every key of queue `name` with its value, but a joiner's or consumer's short-lived announcements
 * and the request logs of the handles that seeded it (they expire 70 s after the seeding, during
 * a long variant). A hash's fields are sorted: Redis may return them in another order once the
 * hash is re-encoded, although nothing in it changed.
 */
async function snapshot(admin: Redis, name: string): Promise<string> {
  const keys = (await admin.keys(`asyncq:{${name}}:*`)).filter((k) => !/:aq:(want-|req:)/.test(k)).sort();
  const out: Record<string, unknown> = {};
  for (const k of keys) {
    const type = await admin.type(k);
    out[k] =
      type === 'string' ? await admin.get(k)
      : type === 'hash' ? Object.entries(await admin.hgetall(k)).sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0))
      : type === 'list' ? await admin.lrange(k, 0, -1)
      : type === 'zset' ? await admin.zrange(k, 0, -1, 'WITHSCORES')
      : type === 'set' ? (await admin.smembers(k)).sort()
      : type === 'stream' ? await admin.xlen(k)
      : type;
  }
  return JSON.stringify(out);
}

/** Runs `tasks` with at most `n` at once. */
async function limited<T>(n: number, tasks: (() => Promise<T>)[]): Promise<T[]> {
  const results: T[] = new Array(tasks.length);
  let next = 0;
  await Promise.all(
    Array.from({ length: n }, async () => {
      while (next < tasks.length) {
        const i = next++;
        results[i] = await tasks[i]!();
      }
    }),
  );
  return results;
}

/** A long-running command: how it ended within `ms`, once its ready line showed or it exited. */
async function runUntilReady(args: string[], env: Record<string, string>, ready: RegExp, ms = 25_000, until?: () => Promise<boolean>): Promise<CliResult> {
  const p: CliProcess = startCli(args, env);
  const t0 = Date.now();
  const exited = p.exited.then((code) => code ?? 1);
  const seen = p.waitFor(ready, ms).then(
    () => 'ready' as const,
    () => 'not ready' as const,
  );
  const first = await Promise.race([exited.then(() => 'exited' as const), seen]);
  for (let i = 0; first === 'ready' && until && i < 100 && !(await until()); i++) await new Promise((r) => setTimeout(r, 100));
  if (first !== 'exited') {
    p.kill('SIGTERM');
    await Promise.race([p.exited, new Promise((r) => setTimeout(r, 15_000))]);
    p.kill('SIGKILL');
  }
  const code = first === 'ready' ? 0 : first === 'exited' ? await exited : 124;
  return { code, stdout: p.stdout, stderr: p.stderr, ms: Date.now() - t0 };
}

/** A queue with a waiting, a delayed and a failed task; the ids of the last two. */
async function seed(url: string, name: string): Promise<{ delayed: string; failed: string }> {
  const q = new Queue(name, { connection: url });
  try {
    const failed = await q.put({ will: 'fail' }, { id: 'f1' });
    const got = await q.getTask();
    await got.fail(new Error('failed on purpose'));
    await q.put({ k: 'waiting' });
    const delayed = await q.put({ k: 'delayed' }, { delay: 3_600_000 });
    return { delayed, failed };
  } finally {
    await q.close();
  }
}

describe('the README ACL', () => {
  it('every command in the README works as a user with exactly the README\'s ACL', async () => {
    const redis = await RedisServer.start({ aof: true });
    const admin = new Redis(redis.url);
    try {
      const rules = readmeAcl();
      expect(rules).toContain('~asyncq:*');
      await admin.call('ACL', 'SETUSER', 'asyncq', 'on', '>secret', ...rules);
      const env = { REDIS_URL: `redis://asyncq:secret@127.0.0.1:${redis.port}` };
      const file = join(tmpdir(), `acl-items-${process.pid}.ndjson`);
      writeFileSync(file, '{"n":1}\n{"n":2}\n');
      const results: Record<string, { code: number; err: string[] }> = {};
      const run = async (label: string, args: string[], input?: string): Promise<CliResult> => {
        const r = await runCli(args, { env, ...(input === undefined ? {} : { input }) });
        results[label] = { code: r.code, err: lines(r.stderr) };
        return r;
      };
      await run('put', ['put', 'acl', '{"n":0}', '-n', 'noop']);
      await run('put --file', ['put', 'acl', '--file', file, '-n', 'noop']);
      await run('put stdin', ['put', 'acl', '-', '-n', 'noop'], '{"n":3}\n');
      await run('put --delay', ['put', 'acl', '{"n":4}', '--delay', '5m']);
      const failing = (await run('put fail', ['put', 'acl', '{}', '-n', 'fail', '--attempts', '1'])).stdout.trim();
      await run('stats', ['stats']);
      await run('stats acl', ['stats', 'acl']);
      await run('inspect', ['inspect', 'acl', '--state', 'delayed']);
      await run('watch --json', ['watch', 'acl', '--json', '--count', '1', '-i', '500ms']);
      const worker = await runUntilReady(['worker', HANDLERS, '-q', 'acl'], env, /worker \S+ runs acl/, 25_000, async () => (await admin.zscore('asyncq:{acl}:failed', failing)) !== null);
      results.worker = { code: worker.code, err: lines(worker.stderr).filter((l) => l.startsWith('asyncq:')) };
      await run('join', ['join', 'acl', '--timeout', '1s']); // the delayed task is unfinished: exit 2
      await run('logs', ['logs', 'acl', failing]);
      await run('retry id', ['retry', 'acl', failing]);
      await run('retry --failed', ['retry', 'acl', '--failed']);
      const delayed = (await admin.zrange('asyncq:{acl}:delayed', 0, 0))[0]!;
      await run('promote', ['promote', 'acl', delayed]);
      const later = (await run('put --delay again', ['put', 'acl', '{"n":5}', '--delay', '5m'])).stdout.trim();
      await run('remove', ['remove', 'acl', later]);
      await run('pause', ['pause', 'acl']);
      await run('resume', ['resume', 'acl']);
      await run('scale', ['scale', 'acl', '2']);
      const fleet = await runUntilReady(['fleet', HANDLERS, '-q', 'acl', '-w', '1', '--grace', '1s'], env, /fleet \S+ serves acl/);
      results.fleet = { code: fleet.code, err: lines(fleet.stderr).filter((l) => l.startsWith('asyncq:')) };
      await run('scale 0', ['scale', 'acl', '0']);
      const metrics = await runUntilReady(['metrics', '--port', '0'], env, /asyncq metrics on http/);
      results.metrics = { code: metrics.code, err: lines(metrics.stderr) };
      const dashboard = await runUntilReady(['dashboard', '--port', '0'], env, /asyncq dashboard on http/);
      results.dashboard = { code: dashboard.code, err: lines(dashboard.stderr) };
      await run('shutdown', ['shutdown', 'acl']);
      await run('reopen', ['reopen', 'acl']);
      await run('clean', ['clean', 'acl', '--older-than', '1s', '--state', 'completed', '--yes']);
      await run('purge', ['purge', 'acl', '--yes']);
      await run('delete', ['delete', 'acl', '--yes', '--force']);
      await run('demo', ['demo', '--tasks', '20', '--workers', '1']);
      // join --timeout prints what remains (the delayed task) on stdout and exits 2; nothing on stderr.
      const expected = Object.fromEntries(Object.keys(results).map((k) => [k, { code: k === 'join' ? 2 : 0, err: [] }]));
      expect(results).toEqual(expected);
    } finally {
      admin.disconnect();
    }
  }, 300_000);

  it('with any one right of the README\'s ACL taken away, each command works, or fails once naming the command it lacks, having changed nothing', async () => {
    const redis = await RedisServer.start({ aof: true });
    const admin = new Redis(redis.url);
    try {
      const rules = readmeAcl();
      // Each right the line grants, taken away in turn (a key pattern is narrowed instead).
      const variants = rules.filter((r) => !r.startsWith('-')).map((r) => ({ label: r, rules: r.startsWith('~') ? [...rules.filter((x) => x !== r), '~elsewhere:*'] : rules.filter((x) => x !== r) }));
      const commands: { label: string; args: (q: string, ids: { delayed: string; failed: string }) => string[]; ready?: RegExp }[] = [
        { label: 'put', args: (q) => ['put', q, '{"n":1}'] },
        { label: 'stats', args: (q) => ['stats', q] },
        { label: 'inspect', args: (q) => ['inspect', q] },
        { label: 'logs', args: (q, ids) => ['logs', q, ids.failed] },
        { label: 'join', args: (q) => ['join', q, '--timeout', '500ms'] },
        { label: 'watch', args: (q) => ['watch', q, '--json', '--count', '1', '-i', '500ms'] },
        { label: 'pause', args: (q) => ['pause', q] },
        { label: 'resume', args: (q) => ['resume', q] },
        { label: 'shutdown', args: (q) => ['shutdown', q] },
        { label: 'reopen', args: (q) => ['reopen', q] },
        { label: 'scale', args: (q) => ['scale', q, '1'] },
        { label: 'retry id', args: (q, ids) => ['retry', q, ids.failed] },
        { label: 'retry --failed', args: (q) => ['retry', q, '--failed'] },
        { label: 'promote', args: (q, ids) => ['promote', q, ids.delayed] },
        { label: 'remove', args: (q, ids) => ['remove', q, ids.delayed] },
        { label: 'purge', args: (q) => ['purge', q, '--yes'] },
        { label: 'clean', args: (q) => ['clean', q, '--older-than', '1s', '--state', 'failed', '--yes'] },
        { label: 'delete', args: (q) => ['delete', q, '--yes'] },
        { label: 'worker', args: (q) => ['worker', HANDLERS, '-q', q], ready: /worker \S+ runs/ },
        { label: 'fleet', args: (q) => ['fleet', HANDLERS, '-q', q, '-w', '1', '--grace', '1s'], ready: /fleet \S+ serves/ },
        { label: 'metrics', args: (q) => ['metrics', '--port', '0', '-q', q], ready: /asyncq metrics on http/ },
      ];
      const report: Record<string, Record<string, string>> = {};
      const problems: string[] = [];
      for (const [v, variant] of variants.entries()) {
        const user = `less${v}`;
        await admin.call('ACL', 'SETUSER', user, 'on', '>pw', ...variant.rules);
        const env = { REDIS_URL: `redis://${user}:pw@127.0.0.1:${redis.port}` };
        const queues = commands.map((_, c) => `v${v}c${c}`);
        const ids = await Promise.all(queues.map((q) => seed(redis.url, q)));
        const before = await Promise.all(queues.map((q) => snapshot(admin, q)));
        const runs = await limited(
          4,
          commands.map((cmd, c) => () => (cmd.ready ? runUntilReady(cmd.args(queues[c]!, ids[c]!), env, cmd.ready) : runCli(cmd.args(queues[c]!, ids[c]!), { env }))),
        );
        report[variant.label] = {};
        for (const [c, cmd] of commands.entries()) {
          const r = runs[c]!;
          const err = lines(r.stderr).filter((l) => !/^\d\d:\d\d:\d\d\.\d+ /.test(l)); // a worker's own log lines
          const worked = r.code === 0 || (cmd.label === 'join' && r.code === 2);
          const what = `${variant.label} ${cmd.label}`;
          if (worked) {
            report[variant.label]![cmd.label] = 'works';
            continue;
          }
          const refusal = /^asyncq: Redis at 127\.0\.0\.1:\d+ does not let this user run ([A-Z]+)\b/.exec(err[0] ?? '');
          report[variant.label]![cmd.label] = refusal ? `refused ${refusal[1]}` : `exit ${r.code}: ${err.join(' | ').slice(0, 160)}`;
          if (r.code !== 1 || err.length !== 1 || !refusal) {
            problems.push(`${what}: exit ${r.code}, ${err.length} lines: ${err.join(' | ').slice(0, 300)}`);
            continue;
          }
          // The command named is one this user really may not run (on the queue's keys or channel).
          const named = refusal[1]!;
          const arg = /PUBLISH|SUBSCRIBE/.test(named) ? `asyncq:{${queues[c]}}:aq:signals` : `asyncq:{${queues[c]}}:aq:state`;
          const dryArgs = /^EVAL/.test(named) ? ['EVAL', 'return 1', '1', arg] : [named, arg, arg];
          const dry = String(await admin.call('ACL', 'DRYRUN', user, ...dryArgs).catch((e: Error) => e.message));
          if (dry === 'OK') problems.push(`${what}: names ${named}, which the user may run`);
          const after = await snapshot(admin, queues[c]!);
          if (after !== before[c]) problems.push(`${what}: failed, and changed Redis first`);
        }
      }
      console.log(`[acl] ${JSON.stringify(report)}`);
      expect(problems).toEqual([]);
      // Taking away a right the commands need makes some of them fail.
      for (const needed of ['+@read', '+@write', '+@scripting', '+@pubsub', '+time', '~asyncq:*', '&*']) {
        expect(Object.values(report[needed] ?? {}).filter((r) => r.startsWith('refused ')).length, needed).toBeGreaterThan(0);
      }
    } finally {
      admin.disconnect();
    }
  }, 900_000);
});
