// Queue admin from the shell (issue 13): missing queues, pause/resume, purge, clean, delete,
// retry/remove/promote by id and logs, as real `asyncq` subprocesses against a real Redis;
// confirmations answered on a terminal (through `script`) and with --yes.
import { Redis } from 'ioredis';
import { describe, expect, it, onTestFinished } from 'vitest';
import { Queue } from '@asyncq/core';
import { adminClient, eventually, freePort, RedisServer, redisUrl, sleep, track, uniqueName } from '@asyncq/test-support';
import { runCli, startCli, type CliProcess } from './cli-process.js';
import { runCliInTty } from './tty-process.js';

const HANDLERS = new URL('./fixtures/admin-handlers.mjs', import.meta.url).pathname;

function queue(name: string): Queue {
  return track(new Queue(name, { connection: redisUrl() }), name);
}

/** The one line on stderr. */
function oneLine(stderr: string): string {
  const lines = stderr.trim().split('\n');
  expect(lines, stderr).toHaveLength(1);
  return lines[0]!;
}

/** A worker on `name` running the admin handlers, stopped (SIGTERM) after the test. */
async function worker(name: string): Promise<CliProcess> {
  const w = startCli(['worker', HANDLERS, '-q', name, '-c', '2', '--grace', '200ms']);
  onTestFinished(async () => {
    w.kill('SIGTERM');
    await w.exited;
  });
  await w.waitFor(/runs/);
  return w;
}

async function stop(w: CliProcess): Promise<void> {
  w.kill('SIGTERM');
  expect(await w.exited).toBe(0);
}

describe('queue admin commands', () => {
  it('read-only commands never write: on a missing queue they exit 1 naming the known queues, or with --allow-missing see it empty', async () => {
    // A database of its own, so that DBSIZE counts only what this test (and the commands) do.
    const url = new URL(redisUrl());
    url.pathname = `/${2 + Math.floor(Math.random() * 14)}`;
    const db = url.toString();
    const direct = new Redis(db);
    onTestFinished(() => void direct.disconnect());
    const prefix = uniqueName('ro');
    const [a, b, missing] = [uniqueName('known-a'), uniqueName('known-b'), uniqueName('missing')];
    const env = { REDIS_URL: db, ASYNCQ_PREFIX: prefix };
    try {
      for (const name of [a, b]) expect((await runCli(['put', name, '1'], { env })).code).toBe(0);
      const known = [a, b].sort().join(', ');
      const before = await direct.dbsize();
      const refusal = `asyncq: no queue named "${missing}" (known: ${known}); --allow-missing treats a missing queue as empty`;
      for (const args of [['stats', missing], ['stats', a, missing], ['inspect', missing], ['inspect', missing, '--failed'], ['join', missing, '-t', '5s'], ['logs', missing, '1']]) {
        const r = await runCli(args, { env });
        expect(r.code, args.join(' ')).toBe(1);
        expect(oneLine(r.stderr), args.join(' ')).toBe(refusal);
        expect(r.stdout).toBe('');
      }
      const stats = await runCli(['stats', missing, '--allow-missing', '--json'], { env });
      expect(JSON.parse(stats.stdout)).toEqual([{ queue: missing, waiting: 0, delayed: 0, active: 0, completed: 0, failed: 0, cancelled: 0, unfinished: 0, workers: 0, desired: null, paused: false, shutdown: false, shutdownMode: null }]);
      // A missing queue's row has the shape of a queue's that exists, field for field.
      const existing = JSON.parse((await runCli(['stats', a, '--json'], { env })).stdout) as object[];
      expect(Object.keys(JSON.parse(stats.stdout)[0])).toEqual(Object.keys(existing[0]!));
      expect((await runCli(['inspect', missing, '--allow-missing'], { env })).stdout).toBe(`${missing}: 0 waiting, 0 delayed, 0 active, 0 completed, 0 failed, 0 cancelled; waiting:\n  (none)\n`);
      const join = await runCli(['join', missing, '--allow-missing'], { env });
      expect([join.code, join.stdout]).toEqual([0, `${missing}: no such queue; nothing to wait for\n`]);
      const logs = await runCli(['logs', missing, '1', '--allow-missing'], { env });
      expect([logs.code, logs.stdout, logs.stderr]).toEqual([0, '', '']);
      expect(await direct.dbsize()).toBe(before);
      expect(await direct.keys(`*${missing}*`)).toEqual([]);

      const none = uniqueName('empty');
      const nothing = await runCli(['inspect', missing], { env: { REDIS_URL: db, ASYNCQ_PREFIX: none } });
      expect(oneLine(nothing.stderr)).toBe(`asyncq: no queue named "${missing}" (known: none under prefix "${none}"); --allow-missing treats a missing queue as empty`);
    } finally {
      const keys = await direct.keys(`${prefix}:*`);
      if (keys.length > 0) await direct.del(...keys);
    }
  }, 90_000);

  it('admin commands on a missing queue say so and create nothing', async () => {
    const prefix = uniqueName('adm');
    const missing = uniqueName('missing');
    const refusal = `asyncq: no queue named "${missing}" (known: none under prefix "${prefix}")`;
    for (const args of [['pause', missing], ['resume', missing], ['purge', missing, '-y'], ['clean', missing, '--older-than', '1d', '-y'], ['delete', missing, '-y'], ['retry', missing, '1'], ['remove', missing, '1'], ['promote', missing, '1']]) {
      const r = await runCli([...args, '--prefix', prefix]);
      expect(r.code, args.join(' ')).toBe(1);
      expect(oneLine(r.stderr), args.join(' ')).toBe(refusal);
    }
    expect(await adminClient().keys(`${prefix}:*`)).toEqual([]);
  }, 60_000);

  it('pause and resume show in stats and inspect; a paused queue hands out nothing', async () => {
    const name = uniqueName('pause');
    const q = queue(name);
    await q.put(1, { name: 'ok' });
    expect((await runCli(['pause', name])).stdout).toBe(`${name}: paused: workers take no new tasks (running ones finish, puts still go in); asyncq resume ${name} resumes\n`);
    const w = await worker(name);
    await sleep(1000);
    expect(await q.counts()).toMatchObject({ waiting: 1, completed: 0 });
    expect((await runCli(['stats', name])).stdout).toMatch(new RegExp(`${name}\\s+1\\s+0\\s+0\\s+0\\s+0\\s+1\\s+1\\s+-\\s+paused\\n`));
    expect(JSON.parse((await runCli(['stats', name, '--json'])).stdout)).toEqual([expect.objectContaining({ paused: true, shutdown: false })]);
    expect((await runCli(['inspect', name])).stdout).toMatch(new RegExp(`^${name} \\(paused\\): 1 waiting`));
    expect((await runCli(['resume', name])).stdout).toBe(`${name}: resumed\n`);
    await eventually(async () => expect((await q.counts()).completed).toBe(1), 10_000);
    expect((await runCli(['stats', name])).stdout).toMatch(/ open\n/);
    await stop(w);
  }, 60_000);

  it('purge asks on a terminal (n keeps everything, y removes), --yes does not, --state picks the states', async () => {
    const name = uniqueName('purge');
    const q = queue(name);
    await q.put({ n: 1 }, { name: 'noisy' });
    const w = await worker(name);
    await eventually(async () => expect((await q.counts()).failed).toBe(1), 10_000);
    await stop(w);
    await q.putMany([1, 2, 3].map((n) => ({ item: n, opts: { name: 'ok' } })));
    await q.put(4, { name: 'ok', delay: 3_600_000 });

    const no = await runCliInTty(['purge', name], 'n\n');
    expect(no.code).toBe(1);
    expect(no.stdout).toContain(`remove 5 tasks from queue "${name}" (3 waiting, 1 delayed, 1 failed)? Running tasks are left alone. [y/N] `);
    expect(no.stdout).toContain(`asyncq: purge cancelled: nothing was removed from ${name}\n`);
    expect(await q.counts()).toMatchObject({ waiting: 3, delayed: 1, failed: 1 });

    const yes = await runCliInTty(['purge', name, '--state', 'delayed'], 'y\n');
    expect(yes.code).toBe(0);
    expect(yes.stdout).toContain(`remove 1 task from queue "${name}" (1 delayed)?`);
    expect(yes.stdout).toContain(`${name}: removed 1 task (delayed)\n`);
    expect(await q.counts()).toMatchObject({ waiting: 3, delayed: 0, failed: 1 });

    expect((await runCli(['purge', name, '-s', 'failed', '--yes'])).stdout).toBe(`${name}: removed 1 task (failed)\n`);
    expect((await runCli(['purge', name, '-y'])).stdout).toBe(`${name}: removed 3 tasks (waiting, delayed, failed)\n`);
    expect(await q.counts()).toMatchObject({ waiting: 0, delayed: 0, failed: 0, unfinished: 0 });
  }, 60_000);

  it('delete refuses while a worker lives unless --force, asks, and removes every key', async () => {
    const name = uniqueName('delete');
    const q = queue(name);
    await q.put(1, { name: 'ok' });
    const w = await worker(name);
    await eventually(async () => expect((await q.counts()).completed).toBe(1), 10_000);

    const refused = await runCli(['delete', name, '-y']);
    expect(refused.code).toBe(1);
    expect(oneLine(refused.stderr)).toBe(`asyncq: queue "${name}" has 1 live worker and 0 running tasks: stop them first, or pass --force`);
    const no = await runCliInTty(['delete', name, '--force'], 'n\n');
    expect(no.code).toBe(1);
    expect(no.stdout).toContain(`delete queue "${name}" and everything in it (1 task: 0 unfinished, 1 completed, 0 failed)? [y/N] `);
    expect(no.stdout).toContain(`asyncq: delete cancelled: ${name} is unchanged\n`);
    expect((await q.counts()).completed).toBe(1);

    await stop(w);
    const yes = await runCliInTty(['delete', name], 'y\n');
    expect(yes.code).toBe(0);
    expect(yes.stdout).toMatch(new RegExp(`${name}: deleted \\(\\d+ keys removed\\)\\n`));
    await q.close();
    expect(await adminClient().keys(`asyncq:{${name}}*`)).toEqual([]);
    expect((await runCli(['stats', name])).code).toBe(1);
  }, 60_000);

  it('clean removes the tasks of one state older than an age, after asking', async () => {
    const name = uniqueName('clean');
    const q = queue(name);
    await q.putMany([1, 2].map((n) => ({ item: n, opts: { name: 'ok' } })));
    const w = await worker(name);
    await eventually(async () => expect((await q.counts()).completed).toBe(2), 10_000);
    await stop(w);
    expect((await runCli(['clean', name, '--older-than', '1h', '-y'])).stdout).toBe(`${name}: removed 0 completed tasks older than 1h\n`);
    await sleep(50);
    const no = await runCliInTty(['clean', name, '--older-than', '10ms'], 'no\n');
    expect(no.code).toBe(1);
    expect(no.stdout).toContain(`remove completed tasks older than 10ms from queue "${name}"? [y/N] `);
    expect(no.stdout).toContain(`asyncq: clean cancelled: nothing was removed from ${name}`);
    const yes = await runCliInTty(['clean', name, '--older-than', '10ms', '--state', 'completed'], 'yes\n');
    expect(yes.code).toBe(0);
    expect(yes.stdout).toContain(`${name}: removed 2 completed tasks older than 10ms\n`);
    expect((await q.counts()).completed).toBe(0);
  }, 60_000);

  it('retry, remove and promote one task by id; logs shows its lines, state and error, escaped for the terminal', async () => {
    const name = uniqueName('byid');
    const q = queue(name);
    const failed = await q.put({ n: 1 }, { name: 'noisy' });
    const done = await q.put(2, { name: 'ok' });
    const delayed = await q.put(3, { name: 'ok', delay: 3_600_000 });
    const w = await worker(name);
    await eventually(async () => expect(await q.counts()).toMatchObject({ failed: 1, completed: 1 }), 10_000);
    await stop(w);

    const logs = await runCli(['logs', name, failed]);
    expect(logs.code).toBe(0);
    const lines = logs.stdout.trimEnd().split('\n');
    const when = /^put \S+Z, last attempt started \S+Z, finished \S+Z, ran \d+m?s$/;
    // Then each attempt: how it ended, when and where (its worker has stopped: its lease), its
    // error, stack and lines, escaped and indented.
    const attempt = /^attempt 1: failed after \d+m?s, started \S+Z, ended \S+Z, lease [0-9a-f]+\.\d+$/;
    expect(lines.slice(0, 6)).toEqual([`${name} task ${failed} (noisy): failed, 1 of 1 attempt made`, expect.stringMatching(when), 'error: broke \\x1b[2J on 1', expect.stringMatching(attempt), '  error: broke \\x1b[2J on 1', '  stack:']);
    expect(lines[6]).toMatch(/^ {4}\S*Error: broke \\x1b\[2J on 1$/);
    expect(lines.slice(-3)).toEqual(['  log:', '    starting 1', '    colour \\x1b[31mred\\x1b[0m and a bell \\x07']);
    const json = JSON.parse((await runCli(['logs', name, failed, '--json'])).stdout) as { stacks: string[]; runMs: number; startedAt: number; finishedAt: number };
    expect(json).toMatchObject({ state: 'failed', error: 'broke \u001b[2J on 1', logs: ['starting 1', 'colour \u001b[31mred\u001b[0m and a bell \u0007'] });
    expect(json.stacks).toHaveLength(1);
    expect(json.stacks[0]).toContain('broke');
    expect(json.runMs).toBe(json.finishedAt - json.startedAt);
    expect((json as unknown as { runs: unknown[] }).runs).toEqual([expect.objectContaining({ attempt: 1, outcome: 'failed', error: 'broke \u001b[2J on 1', logs: ['starting 1', 'colour \u001b[31mred\u001b[0m and a bell \u0007'], worker: null })]);
    const doneLines = (await runCli(['logs', name, done])).stdout.trimEnd().split('\n');
    expect(doneLines).toEqual([`${name} task ${done} (ok): completed, 1 of 1 attempt made`, expect.stringMatching(when), expect.stringMatching(/^attempt 1: completed after \d+m?s, started \S+Z, ended \S+Z, lease [0-9a-f]+\.\d+$/), '  (no log lines)']);
    expect((await runCli(['inspect', name, '--failed'])).stdout).toContain('    error: broke \\x1b[2J on 1\n');

    const cases: [string[], string][] = [
      [['logs', name, '99'], `asyncq: queue "${name}" has no task "99" (never put, or finished and no longer kept)`],
      [['promote', name, failed], `asyncq: task ${failed} of ${name} is failed, not delayed: only a delayed task can be promoted`],
      [['retry', name, '99'], `asyncq: queue "${name}" has no task "99" (never put, or finished and no longer kept)`],
      [['retry', name, delayed], `asyncq: task ${delayed} of ${name} is delayed: only a failed or completed task can be retried`],
      [['remove', name, '99'], `asyncq: queue "${name}" has no task "99" (never put, or finished and no longer kept)`],
    ];
    for (const [args, line] of cases) {
      const r = await runCli(args);
      expect(r.code, args.join(' ')).toBe(1);
      expect(oneLine(r.stderr), args.join(' ')).toBe(line);
    }
    expect((await runCli(['promote', name, delayed])).stdout).toBe(`${name}: task ${delayed} is ready now\n`);
    expect((await runCli(['retry', name, failed])).stdout).toBe(`${name}: task ${failed} is waiting again\n`);
    expect((await runCli(['retry', name, done])).stdout).toBe(`${name}: task ${done} is waiting again\n`);
    expect((await runCli(['remove', name, delayed])).stdout).toBe(`${name}: removed task ${delayed} (it was waiting)\n`);
    expect(await q.counts()).toMatchObject({ waiting: 2, delayed: 0, failed: 0, completed: 0 });

    // A running task cannot be removed.
    await q.put({ ms: 30_000 }, { name: 'hold', id: 'held' });
    const again = await worker(name);
    await eventually(async () => expect((await q.counts()).active).toBe(1), 10_000);
    const running = await runCli(['remove', name, 'held']);
    expect(running.code).toBe(1);
    expect(oneLine(running.stderr)).toBe(`asyncq: task held of ${name} is running: remove it once it has finished or failed`);
    again.kill('SIGTERM');
    await again.exited;
  }, 90_000);
  it('read-only commands open no subscriber and run no consumer (no blocking pop, no fetch script)', async () => {
    // A Redis of the test's own: its command counters and client list are the CLI's alone.
    const port = await freePort();
    await RedisServer.start({ port });
    const env = { REDIS_URL: `redis://127.0.0.1:${port}` };
    const direct = new Redis(env.REDIS_URL);
    onTestFinished(() => void direct.disconnect());
    const name = uniqueName('ro-conn');
    for (const item of ['1', '2', '3']) expect((await runCli(['put', name, item], { env })).code).toBe(0);
    const [id] = await direct.lrange(`asyncq:{${name}}:wait`, -1, -1);
    const stats = async (): Promise<Record<string, number>> => {
      const calls: Record<string, number> = {};
      for (const m of (await direct.info('commandstats')).matchAll(/^cmdstat_(\S+?):calls=(\d+)/gm)) calls[m[1]!] = Number(m[2]);
      return calls;
    };
    const before = await stats();
    for (const args of [['stats'], ['stats', name, '--json'], ['inspect', name], ['inspect', name, '--failed'], ['logs', name, id!]]) {
      const r = await runCli(args, { env });
      expect(r.code, `${args.join(' ')}: ${r.stderr}`).toBe(0);
    }
    // watch and the dashboard run on: while they read, none of their connections is subscribed.
    const watch = startCli(['watch', name, '--json', '--interval', '200'], env);
    const dashboard = startCli(['dashboard', '--port', '0', '--interval', '500ms'], env);
    await watch.waitFor(/^\{[^\n]*\n\{/m);
    const [, url] = await dashboard.waitFor(/asyncq dashboard on (http:\/\/127\.0\.0\.1:\d+\/)/, 20_000);
    expect((await fetch(`${url!}api/queues`)).status).toBe(200);
    const clients = String(await direct.client('LIST')).trim().split('\n');
    const subscribed = clients.filter((c) => /\b(sub|psub|ssub)=[1-9]/.test(c) || /\bflags=\S*P/.test(c));
    expect(subscribed, clients.join('\n')).toEqual([]);
    for (const p of [watch, dashboard]) p.kill('SIGTERM');
    expect([await watch.exited, await dashboard.exited]).toEqual([0, 0]);
    const after = await stats();
    const used = Object.keys(after).filter((c) => (after[c] ?? 0) > (before[c] ?? 0));
    const consuming = used.filter((c) => /subscribe|^b(l|r|z)pop|^blmove|^brpoplpush|^bzmpop|^blmpop|^xread/i.test(c));
    expect(consuming, `commands used: ${used.join(', ')}`).toEqual([]);
    // No script that takes or holds a task ran: the queue still has its 3 tasks waiting, none held.
    expect(JSON.parse((await runCli(['stats', name, '--json'], { env })).stdout)[0]).toMatchObject({ waiting: 3, active: 0 });
  }, 60_000);
});
