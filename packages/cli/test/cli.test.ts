import { execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createServer } from 'node:net';
import { describe, expect, it } from 'vitest';
import { Redis } from 'ioredis';
import { Queue } from '@asyncq/core';
import { eventually, freePort, HANDLERS, RedisServer, redisUrl, sleep, track, uniqueName } from '@asyncq/test-support';
import { BIN, runCli, startCli } from './cli-process.js';


function queue(name: string): Queue {
  return track(new Queue(name, { connection: redisUrl() }), name);
}

function tmpFile(name: string, text: string): string {
  const path = join(mkdtempSync(join(tmpdir(), 'asyncq-cli-')), name);
  writeFileSync(path, text);
  return path;
}

/** One line on stderr, no stack trace. */
function oneLine(stderr: string): string {
  const lines = stderr.trim().split('\n');
  expect(lines, stderr).toHaveLength(1);
  expect(stderr).not.toMatch(/\n\s+at /);
  return lines[0]!;
}

// Each test runs the CLI several times, a process start each: give them room on a loaded 2-core machine.
describe('asyncq CLI', { timeout: 90_000 }, () => {
  describe('user mistakes: one line, a hint, exit 1', () => {
    it('help lists every command; no command, an unknown one, a missing argument or flag all say what to do', async () => {
      const help = await runCli(['--help']);
      expect(help.code).toBe(0);
      for (const c of ['worker', 'fleet', 'scale', 'put', 'join', 'stats', 'inspect', 'logs', 'retry', 'shutdown', 'reopen', 'pause', 'resume', 'remove', 'promote', 'purge', 'clean', 'delete', 'metrics', 'demo']) {
        expect(help.stdout).toContain(`asyncq ${c}`);
      }
      const cases: [string[], RegExp][] = [
        [[], /name a command; asyncq --help lists them/],
        [['wrkr'], /unknown command "wrkr" \(did you mean asyncq worker\?\)/],
        [['put'], /missing argument: the usage is asyncq put <queue> \[json\]/],
        [['stats', '--bogus'], /unknown option --bogus/],
        [['worker', HANDLERS], /Missing required argument: queue/],
        [['scale', 'q', '-3'], /the worker count must be a whole number from 0 to 10000, got "-3"/],
        [['put', 'q', '{oops'], /the item is not JSON .*; quote it for the shell/],
        [['put', 'q', '--file', '/no/such.ndjson'], /file \/no\/such\.ndjson does not exist/],
        [['worker', '/no/handlers.mjs', '-q', 'q'], /handler module \/no\/handlers\.mjs not found/],
        [['put', 'q', '--file', tmpdir()], /file .* is a directory; give an NDJSON file/],
        [['retry', 'q'], /say which tasks to retry: asyncq retry <queue> <id>, or asyncq retry <queue> --failed/],
      ];
      for (const [args, message] of cases) {
        const r = await runCli(args);
        expect(r.code, args.join(' ')).toBe(1);
        expect(oneLine(r.stderr)).toMatch(message);
      }
    });

    it('an unreachable Redis is one line within 5 s, naming host and port', async () => {
      const srv = createServer();
      await new Promise<void>((r) => srv.listen(0, '127.0.0.1', r));
      const port = (srv.address() as { port: number }).port;
      await new Promise((r) => srv.close(r));
      const r = await runCli(['stats', '--redis-url', `redis://:secret@127.0.0.1:${port}`]);
      expect(r.code).toBe(1);
      expect(oneLine(r.stderr)).toMatch(new RegExp(`cannot reach Redis at 127\\.0\\.0\\.1:${port}`));
      expect(r.stderr).not.toContain('secret');
      expect(r.ms).toBeLessThan(5000);
    });
  });

  it('put one item, a file and stdin; a bad line refuses the whole file; stats and inspect show them', async () => {
    const name = uniqueName('put');
    const q = queue(name);
    const one = await runCli(['put', name, '{"to":"a@b.c"}', '--name', 'send']);
    expect(one.code).toBe(0);
    expect(one.stdout.trim()).toMatch(/^\d+$/);
    const file = tmpFile('batch.ndjson', Array.from({ length: 50 }, (_, i) => JSON.stringify({ i })).join('\n') + '\n');
    const many = await runCli(['put', name, '--file', file]);
    expect(many.code).toBe(0);
    expect(many.stdout).toMatch(new RegExp(`enqueued 50 tasks into ${name} in [\\d.]+ s`));
    const stdin = await runCli(['put', name, '--file', '-'], { input: '{"i":"x"}\n{"i":"y"}\n' });
    expect(stdin.stdout).toMatch(/enqueued 2 tasks/);
    const bad = tmpFile('bad.ndjson', '{"ok":1}\n{"ok":2}\nnot json\n');
    const refused = await runCli(['put', name, '--file', bad]);
    expect(refused.code).toBe(1);
    expect(oneLine(refused.stderr)).toMatch(/line 3 of .*bad\.ndjson \(nothing was enqueued\) is not JSON/);
    expect(await q.qsize()).toBe(53);

    const stats = await runCli(['stats', name]);
    expect(stats.code).toBe(0);
    expect(stats.stdout).toMatch(new RegExp(`${name}\\s+53\\s+0\\s+0\\s+0\\s+0\\s+53\\s+0`));
    const json = JSON.parse((await runCli(['stats', name, '--json'])).stdout) as { queue: string; waiting: number }[];
    expect(json).toEqual([expect.objectContaining({ queue: name, waiting: 53, unfinished: 53 })]);
    const listed = await runCli(['stats']);
    expect(listed.stdout).toContain(name);
    const inspect = await runCli(['inspect', name, '--limit', '3']);
    expect(inspect.stdout).toContain('53 waiting');
    expect(inspect.stdout).toContain('send {"to":"a@b.c"}');
  });

  it('a worker runs tasks until SIGTERM; join exits 0 once they are done', async () => {
    const name = uniqueName('work');
    const q = queue(name);
    const worker = startCli(['worker', HANDLERS, '-q', name, '-c', '4', '--metrics-port', '0', '-t', '5s', '--grace', '1s', '--heartbeat', '1s', '--lease', '3s', '--stalled-interval', '500ms', '--log-format', 'json', '--log-level', 'warn']);
    await worker.waitFor(new RegExp(`worker \\S+ runs ${name} with concurrency 4; metrics on 127\\.0\\.0\\.1:\\d+/metrics`));
    for (let i = 0; i < 8; i++) await runCli(['put', name, '{"ms":20}', '--name', 'sleep']);
    const joined = await runCli(['join', name, '--timeout', '20s']);
    expect(joined.code).toBe(0);
    expect(joined.stdout).toContain(`${name}: every task is finished`);
    expect((await q.counts()).completed).toBe(8);
    worker.kill('SIGTERM');
    expect(await worker.exited).toBe(0);
  });

  it('join --timeout exits 2 and lists the outstanding task with the worker holding it', async () => {
    const name = uniqueName('stall');
    const q = queue(name);
    const worker = startCli(['worker', HANDLERS, '-q', name]);
    await worker.waitFor(/runs/);
    const id = (await q.put({ ms: 60_000 }, { name: 'sleep' }));
    await eventually(async () => expect((await q.counts()).active).toBe(1));
    const r = await runCli(['join', name, '--timeout', '1']);
    expect(r.code).toBe(2);
    // A bare number keeps its old unit (seconds) and says how to write it.
    expect(r.stderr).toBe('asyncq: --timeout 1 is read as 1 s; write 1s (numbers without a unit are deprecated)\n');
    expect(r.stdout).toContain(`${name}: 1 task still unfinished after 1s`);
    expect(r.stdout).toMatch(new RegExp(`${id} \\(sleep\\) held by worker \\S+:${worker.proc.pid} `));
  });

  it('join --timeout takes long timeouts (2200000 s, none) and waits instead of returning at once', async () => {
    const name = uniqueName('longjoin');
    const q = queue(name);
    await q.put(1);
    const long = startCli(['join', name, '--timeout', '2200000']);
    const never = startCli(['join', '-q', name, '-t', 'none']);
    await long.waitFor(/--timeout 2200000 is read as 2200000 s; write 2200000s/);
    await sleep(2000);
    expect(long.proc.exitCode).toBeNull();
    expect(never.proc.exitCode).toBeNull();
    await q.get();
    await q.taskDone();
    expect(await long.exited).toBe(0);
    expect(await never.exited).toBe(0);
    expect(long.stdout).toBe(`${name}: every task is finished\n`);
  });

  it('join rides out a Redis restart: one line when Redis goes, one when it is back, then it finishes', async () => {
    const port = await freePort();
    const dir = mkdtempSync(join(tmpdir(), 'asyncq-cli-blip-'));
    const first = await RedisServer.start({ port, dir, aof: true });
    const url = `redis://127.0.0.1:${port}`;
    const name = uniqueName('blip');
    expect((await runCli(['put', name, '1'], { env: { REDIS_URL: url } })).code).toBe(0);
    const joiner = startCli(['join', name, '--timeout', '2m'], { REDIS_URL: url });
    // Redis goes away once the join waits (not before it connected: that is an unreachable Redis).
    const probe = new Redis(url);
    await eventually(async () => expect(String(await probe.client('LIST'))).toContain(` name=asyncq:${name} `), 15_000).finally(() => probe.disconnect());
    await sleep(500);
    await first.shutdown();
    await joiner.waitFor(new RegExp(`asyncq: cannot reach Redis at 127\\.0\\.0\\.1:${port} \\(.*\\); still waiting for ${name}, until Redis is back`));
    await sleep(1000);
    expect(joiner.proc.exitCode).toBeNull();
    await first.relaunch();
    await joiner.waitFor(new RegExp(`asyncq: Redis at 127\\.0\\.0\\.1:${port} answers again; still waiting for ${name}`), 20_000);
    const q = new Queue(name, { connection: url });
    try {
      await q.get({ timeout: 10_000 });
      await q.taskDone();
    } finally {
      await q.close();
    }
    expect(await joiner.exited).toBe(0);
    expect(joiner.stdout).toBe(`${name}: every task is finished\n`);
    expect(joiner.stderr.trim().split('\n')).toHaveLength(2);
  }, 60_000);

  it('inspect --failed shows errors, retry --failed brings them back; shutdown refuses puts until reopen', async () => {
    const name = uniqueName('ops');
    const q = queue(name);
    await q.put({}, { name: 'fail' });
    const worker = startCli(['worker', HANDLERS, '-q', name]);
    await eventually(async () => expect((await q.counts()).failed).toBe(1));
    worker.kill('SIGTERM');
    await worker.exited;
    const inspect = await runCli(['inspect', name, '--failed']);
    expect(inspect.stdout).toMatch(/fail \{\} attempts=1\n\s+error: always fails/);
    expect((await runCli(['retry', name, '--failed'])).stdout).toContain(`${name}: moved 1 failed task back to waiting`);
    expect(await q.counts()).toMatchObject({ failed: 0, waiting: 1 });

    expect((await runCli(['shutdown', name])).code).toBe(0);
    const refused = await runCli(['put', name, '1']);
    expect(refused.code).toBe(1);
    expect(oneLine(refused.stderr)).toMatch(/is shut down; call reopen\(\) to accept tasks again/);
    expect((await runCli(['reopen', name])).stdout).toContain('open again');
    expect((await runCli(['put', name, '1'])).code).toBe(0);
  });

  it('docs/cli.md is what the commands say in --help (pnpm docs:cli regenerates it)', () => {
    const generated = execFileSync(process.execPath, [new URL('../../../scripts/cli-reference.mjs', import.meta.url).pathname], { encoding: 'utf8' });
    expect(readFileSync(new URL('../../../docs/cli.md', import.meta.url), 'utf8')).toBe(generated);
  });

  it('stops quietly when the reader of its output goes away (asyncq ... | head)', async () => {
    const name = uniqueName('pipe');
    const q = queue(name);
    await q.putMany(Array.from({ length: 3000 }, (_, i) => ({ item: i })));
    const errFile = tmpFile('stderr.txt', '');
    // Thousands of lines, far past what the pipe buffers once head has gone.
    const out = execFileSync('sh', ['-c', `${process.execPath} ${BIN} inspect ${name} --limit 3000 2>${errFile} | head -n 1`], {
      encoding: 'utf8',
      env: { ...process.env, REDIS_URL: redisUrl() },
    });
    expect(out).toMatch(new RegExp(`^${name}: 3000 waiting`));
    expect(readFileSync(errFile, 'utf8')).toBe('');
  });

  it('prints a shell completion script', async () => {
    const r = await runCli(['completion']);
    expect(r.code).toBe(0);
    expect(r.stdout).toContain('asyncq');
    await sleep(0);
  });
});
