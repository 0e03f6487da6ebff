import { execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createServer } from 'node:net';
import { describe, expect, it } from 'vitest';
import { Redis } from 'ioredis';
import { Queue, WorkerRegistry } from '@asyncq/core';
import { adminClient, eventually, redisUrl, sleep, track, uniqueName } from '../../../test/helpers.js';
import { BIN, runCli, startCli } from './cli-process.js';
import { freePort, privateRedis } from './redis-servers.js';

const HANDLERS = new URL('../../worker/test/fixtures/handlers.mjs', import.meta.url).pathname;

function queue(name: string): Queue {
  return track(new Queue(name, { connection: redisUrl() }), name);
}

const registries = new Map<string, WorkerRegistry>();
/** The worker registry of queue `name`, one per test and queue, closed after the test. */
function registry(name: string): WorkerRegistry {
  let r = registries.get(name);
  if (!r) {
    registries.set(name, (r = track(new WorkerRegistry(name, { connection: redisUrl() }), name)));
    r.close = ((close) => async () => {
      registries.delete(name);
      await close();
    })(r.close.bind(r));
  }
  return r;
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

describe('asyncq CLI', () => {
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
    const args = ['--port', String(port), '--appendonly', 'yes', '--appendfsync', 'always'];
    const first = await privateRedis(args, port, dir);
    const url = `redis://127.0.0.1:${port}`;
    const name = uniqueName('blip');
    expect((await runCli(['put', name, '1'], { env: { REDIS_URL: url } })).code).toBe(0);
    const joiner = startCli(['join', name, '--timeout', '2m'], { REDIS_URL: url });
    // Redis goes away once the join waits (not before it connected: that is an unreachable Redis).
    const probe = new Redis(url);
    await eventually(async () => expect(String(await probe.client('LIST'))).toContain(` name=asyncq:${name} `), 15_000).finally(() => probe.disconnect());
    await sleep(500);
    first.proc.kill('SIGTERM');
    await new Promise((r) => first.proc.once('exit', r));
    await joiner.waitFor(new RegExp(`asyncq: cannot reach Redis at 127\\.0\\.0\\.1:${port} \\(.*\\); still waiting for ${name}, until Redis is back`));
    await sleep(1000);
    expect(joiner.proc.exitCode).toBeNull();
    await privateRedis(args, port, dir);
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

  it('fleet keeps its workers alive and follows scale up and down; two fleets share the count', async () => {
    const name = uniqueName('fleet');
    const q = queue(name);
    const workers = async (): Promise<number> => (await registry(name).list()).length;
    const a = startCli(['fleet', HANDLERS, '-q', name, '-w', '2', '-c', '2', '--grace', '1000']);
    await a.waitFor(/fleet \S+ serves/);
    await eventually(async () => expect(await workers()).toBe(2), 10_000);

    expect((await runCli(['scale', name, '3'])).stdout).toContain(`${name}: desired workers set to 3; 1 running fleet will share them`);
    await eventually(async () => expect(await workers()).toBe(3), 5000);

    // A worker killed under the fleet comes back.
    const victim = (await registry(name).list())[0]!;
    process.kill(victim.pid, 'SIGKILL');
    await a.waitFor(/a worker was killed by SIGKILL; restarting it/);
    await eventually(async () => {
      const live = await registry(name).list();
      expect(live.map((w) => w.pid)).not.toContain(victim.pid);
      expect(live).toHaveLength(3);
    }, 15_000);

    const b = startCli(['fleet', HANDLERS, '-q', name, '-w', '1', '-c', '2', '--grace', '1000']);
    await b.waitFor(/fleet \S+ serves/);
    await runCli(['scale', name, '5']);
    await eventually(async () => {
      const fleets = await registry(name).listFleets();
      expect(fleets.map((f) => f.workers).sort()).toEqual([2, 3]);
      expect(await workers()).toBe(5);
    }, 10_000);

    await runCli(['scale', name, '1']);
    await eventually(async () => expect(await workers()).toBe(1), 10_000);
    a.kill('SIGTERM');
    b.kill('SIGTERM');
    expect(await a.exited).toBe(0);
    expect(await b.exited).toBe(0);
    expect(await workers()).toBe(0);
  }, 60_000);

  it('fleet --metrics-port-base gives each worker its own metrics port', async () => {
    const name = uniqueName('ports');
    const q = queue(name);
    const base = await twoFreePorts();
    const fleet = startCli(['fleet', HANDLERS, '-q', name, '-w', '2', '-c', '1', '--metrics-port-base', String(base)]);
    await eventually(async () => expect(await registry(name).list()).toHaveLength(2), 15_000);
    for (const port of [base, base + 1]) {
      await eventually(async () => {
        const health = (await (await fetch(`http://127.0.0.1:${port}/healthz`)).json()) as { queue: string };
        expect(health.queue).toBe(name);
      }, 5000);
    }
    fleet.kill('SIGTERM');
    expect(await fleet.exited).toBe(0);
  });

  it('fleet restarts crashing workers with growing delays and reports a crash loop', async () => {
    const name = uniqueName('crash');
    const q = queue(name);
    await q.putMany(Array.from({ length: 8 }, () => ({ item: {}, opts: { name: 'crash' } })));
    const fleet = startCli(['fleet', HANDLERS, '-q', name, '-w', '1', '-c', '1']);
    await fleet.waitFor(/a worker exited with code 3; restarting it in 0\.5 s/, 15_000);
    await fleet.waitFor(/a worker exited with code 3; restarting it in 1 s/, 15_000);
    await fleet.waitFor(/worker processes keep crashing \(5 in 60 s; the last exited with code 3\); restarting in 8 s/, 30_000);
    fleet.kill('SIGTERM');
    expect(await fleet.exited).toBe(0);
  }, 60_000);

  it('fleet --autoscale grows under a backlog and shrinks when idle', async () => {
    const name = uniqueName('auto');
    const q = queue(name);
    const bad = await runCli(['fleet', HANDLERS, '-q', name, '--autoscale', '5,2']);
    expect(bad.code).toBe(1);
    expect(oneLine(bad.stderr)).toMatch(/--autoscale takes min,max worker counts with min <= max/);
    await q.putMany(Array.from({ length: 300 }, () => ({ item: { ms: 100 }, opts: { name: 'sleep' } })));
    const fleet = startCli(['fleet', HANDLERS, '-q', name, '-w', '1', '-c', '2', '--grace', '500', '--autoscale', '1,4', '--drain-target', '2', '--cooldown', '2']);
    await fleet.waitFor(/autoscale: \d+ unfinished, .* 1 -> [2-4] workers/, 20_000);
    await eventually(async () => expect((await registry(name).list()).length).toBe(4), 20_000);
    await q.join({ timeout: 60_000 });
    await fleet.waitFor(/autoscale: 0 unfinished, .* 4 -> 1 workers/, 20_000);
    await eventually(async () => expect((await registry(name).list()).length).toBe(1), 15_000);
    fleet.kill('SIGTERM');
    expect(await fleet.exited).toBe(0);
  }, 90_000);

  it('metrics serves queue gauges: tasks by state, workers, unfinished and a drain estimate', async () => {
    const name = uniqueName('metrics');
    const q = queue(name);
    for (let i = 0; i < 3; i++) await q.put(i);
    await q.put(9, { delay: 60_000 });
    const exporter = startCli(['metrics', '--port', '0', '--queue', name]);
    const [, port] = await exporter.waitFor(/metrics on http:\/\/127\.0\.0\.1:(\d+)\/metrics/);
    const text = await (await fetch(`http://127.0.0.1:${port}/metrics`)).text();
    expect(text).toContain(`asyncq_queue_tasks{queue="${name}",state="waiting"} 3`);
    expect(text).toContain(`asyncq_queue_tasks{queue="${name}",state="delayed"} 1`);
    expect(text).toContain(`asyncq_workers{queue="${name}"} 0`);
    expect(text).toContain(`asyncq_queue_unfinished{queue="${name}"} 4`);
    expect(text).toContain(`asyncq_queue_drain_seconds{queue="${name}"} +Inf`);
    exporter.kill('SIGTERM');
    expect(await exporter.exited).toBe(0);
  });

  describe('watch', () => {
    it('--json prints one parseable object per queue per interval; an unknown queue is one line', async () => {
      const name = uniqueName('watch');
      const q = queue(name);
      for (let i = 0; i < 4; i++) await q.put(i);
      const r = await runCli(['watch', name, '--json', '-n', '2', '-i', '200']);
      expect(r.code, r.stderr).toBe(0);
      const samples = r.stdout.trim().split('\n').map((l) => JSON.parse(l) as { queue: string; counts: { waiting: number }; workers: unknown[] });
      expect(samples).toHaveLength(2);
      expect(samples[1]).toMatchObject({ queue: name, counts: { waiting: 4, unfinished: 4 }, workers: [] });
      const unknown = await runCli(['watch', 'no-such-queue-here']);
      expect(unknown.code).toBe(1);
      expect(oneLine(unknown.stderr)).toMatch(/no queue named "no-such-queue-here" \(known: .*\); a queue exists once a task was put/);
    });

    it('in a terminal shows rates, depth, workers and a chart, and q restores the terminal', async () => {
      const name = uniqueName('tty');
      const q = queue(name);
      const worker = startCli(['worker', HANDLERS, '-q', name, '-c', '4']);
      await worker.waitFor(/runs/);
      await q.putMany(Array.from({ length: 200 }, () => ({ item: { ms: 20 }, opts: { name: 'sleep' } })));
      const session = `asyncq-${name}`;
      const tmux = (...a: string[]) => execFileSync('tmux', a, { encoding: 'utf8' });
      const script = `REDIS_URL=${redisUrl()} ${process.execPath} ${BIN} watch ${name} -i 300; echo EXIT=$?; stty -a; sleep 30`;
      tmux('new-session', '-d', '-s', session, '-x', '80', '-y', '40', script);
      try {
        let screen = '';
        await eventually(() => {
          screen = tmux('capture-pane', '-p', '-t', session);
          expect(screen).toMatch(/done\/s over the last \d+ samples/);
        }, 15_000);
        expect(screen).toContain(name);
        expect(screen).toMatch(/enqueued\/s\s+[\d.,]+\s+done\/s\s+[\d.,]+\s+failed\/s/);
        expect(screen).toMatch(/waiting \d+ {2}delayed \d+ {2}active \d+ {2}unfinished \d+/);
        expect(screen).toMatch(/wait p50 \S+ p99 \S+ {3}run p50 \S+ p99 \S+ {3}workers 1/);
        expect(screen).toMatch(new RegExp(`:${worker.proc.pid}\\s+c=4`));
        expect(screen.split('\n').every((l) => l.length <= 80)).toBe(true);
        tmux('send-keys', '-t', session, 'q');
        await eventually(() => {
          screen = tmux('capture-pane', '-p', '-J', '-S', '-', '-t', session);
          expect(screen).toContain('EXIT=0');
        }, 5000);
        const tty = screen.slice(screen.indexOf('EXIT=0'));
        // Back in cooked mode: line editing and echo on again.
        expect(tty).toMatch(/(^|\s)icanon(\s|;|$)/m);
        expect(tty).toMatch(/(^|\s)echo(\s|;|$)/m);
      } finally {
        execFileSync('tmux', ['kill-session', '-t', session]);
      }
    });
  });

  it('demo runs a fleet, a producer and join on a private Redis, to its summary', async () => {
    const r = await runCli(['demo'], { env: { REDIS_URL: '' }, timeout: 90_000 });
    expect(r.code, r.stderr).toBe(0);
    expect(r.stdout).toMatch(/started a private redis-server at redis:\/\/127\.0\.0\.1:\d+/);
    expect(r.stdout).toMatch(/4 workers did 1,000 tasks \(\d+ s of work\) in [\d.]+ s/);
  }, 100_000);

  it('demo on a Redis the user named removes its queue afterwards', async () => {
    const r = await runCli(['demo', '--tasks', '100', '--workers', '2'], { timeout: 60_000 });
    expect(r.code, r.stderr).toBe(0);
    expect(r.stdout).toMatch(/2 workers did 100 tasks/);
    const name = /queue (demo-[0-9a-f]+):/.exec(r.stdout)![1]!;
    expect(await adminClient().keys(`asyncq:{${name}}:*`)).toEqual([]);
  }, 70_000);

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

/** A port p such that p and p + 1 are both free on 127.0.0.1 now. */
async function twoFreePorts(): Promise<number> {
  const listen = (port: number): Promise<import('node:net').Server | undefined> =>
    new Promise((resolve) => {
      const srv = createServer();
      srv.once('error', () => resolve(undefined));
      srv.listen(port, '127.0.0.1', () => resolve(srv));
    });
  for (let tries = 0; tries < 50; tries++) {
    const base = 20_000 + Math.floor(Math.random() * 30_000);
    const servers = [await listen(base), await listen(base + 1)];
    await Promise.all(servers.map((s) => s && new Promise((r) => s.close(r))));
    if (servers.every(Boolean)) return base;
  }
  throw new Error('no two free ports found');
}
