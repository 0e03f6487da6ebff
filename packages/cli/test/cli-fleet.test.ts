import { execFileSync } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';
import { createServer } from 'node:net';
import { describe, expect, it } from 'vitest';
import { Redis } from 'ioredis';
import { Queue, WorkerRegistry } from '@asyncq/core';
import { queueKeys } from '@asyncq/core/internal';
import { adminClient, eventually, RedisServer, sleep, uniqueName } from '@asyncq/test-support';
import { runCli, startCli, type CliProcess } from './cli-process.js';
import { HANDLERS, oneLine, queue, registry } from './cli-test-helpers.js';

/** The PIDs of the live child processes of `pid`. */
function childrenOf(pid: number): number[] {
  try {
    return execFileSync('pgrep', ['-P', String(pid)], { encoding: 'utf8' }).trim().split('\n').filter(Boolean).map(Number);
  } catch {
    return []; // pgrep exits 1 when there are none
  }
}

/** A process's argv, or its environment, as /proc shows them (NUL-separated). */
function proc(pid: number, what: 'cmdline' | 'environ'): string[] {
  return readFileSync(`/proc/${pid}/${what}`, 'utf8').split('\0');
}

async function workersOf(fleet: CliProcess, n: number, ms = 20_000): Promise<number[]> {
  let pids: number[] = [];
  await eventually(() => expect((pids = childrenOf(fleet.proc.pid!))).toHaveLength(n), ms);
  return pids;
}

describe('asyncq fleet', () => {
  it('keeps its workers alive and follows scale up and down; two fleets share the count', async () => {
    const name = uniqueName('fleet');
    queue(name);
    const workers = async (): Promise<number> => (await registry(name).list()).length;
    const a = startCli(['fleet', HANDLERS, '-q', name, '-w', '2', '-c', '2', '--grace', '1s']);
    await a.waitFor(/fleet \S+ serves/);
    await eventually(async () => expect(await workers()).toBe(2), 15_000);

    expect((await runCli(['scale', name, '3'])).code).toBe(0);
    await eventually(async () => expect(await workers()).toBe(3), 15_000);

    // A worker killed under the fleet comes back.
    const victim = (await registry(name).list())[0]!;
    process.kill(victim.pid, 'SIGKILL');
    await a.waitFor(/the worker in slot \d was killed by SIGKILL; restarting it in 0\.5 s/);
    await eventually(async () => {
      const live = await registry(name).list();
      expect(live.map((w) => w.pid)).not.toContain(victim.pid);
      expect(live).toHaveLength(3);
    }, 20_000);

    const b = startCli(['fleet', HANDLERS, '-q', name, '-w', '1', '-c', '2', '--grace', '1s']);
    await b.waitFor(/fleet \S+ serves/);
    await runCli(['scale', name, '5']);
    await eventually(async () => {
      const fleets = await registry(name).listFleets();
      expect(fleets.map((f) => f.workers).sort()).toEqual([2, 3]);
      expect(await workers()).toBe(5);
    }, 20_000);

    await runCli(['scale', name, '1']);
    await eventually(async () => expect(await workers()).toBe(1), 15_000);
    a.kill('SIGTERM');
    b.kill('SIGTERM');
    expect(await a.exited).toBe(0);
    expect(await b.exited).toBe(0);
    expect(await workers()).toBe(0);
  }, 90_000);

  it('the Redis password reaches workers through their environment, never argv; so do --lease and --stalled-interval', async () => {
    const redis = await RedisServer.start({ aof: true, args: ['--requirepass', 'hunter2-pw'] });
    const url = `redis://:hunter2-pw@127.0.0.1:${redis.port}`;
    const name = uniqueName('secret');
    // ASYNCQ_WORKERS is the fleet's -w: its workers must not inherit it (the CLI refuses options it does not have).
    const fleet = startCli(['fleet', HANDLERS, '-q', name, '-c', '1', '--lease', '30s', '--stalled-interval', '200ms'], { REDIS_URL: url, ASYNCQ_WORKERS: '2' });
    await fleet.waitFor(/fleet \S+ serves/);
    const pids = await workersOf(fleet, 2);
    // Handles on the private Redis are closed here, before it is stopped after the test.
    const registered = new WorkerRegistry(name, { connection: url });
    const q = new Queue(name, { connection: url });
    const client = new Redis(url);
    try {
      await eventually(async () => expect(await registered.list()).toHaveLength(2), 20_000);
      for (const pid of pids) {
      const argv = proc(pid, 'cmdline');
      expect(argv.join(' ')).not.toContain('hunter2');
      expect(argv.slice(-3, -1)).toEqual(['fleet-worker', name]);
      const spec = JSON.parse(proc(pid, 'environ').find((e) => e.startsWith('ASYNCQ_FLEET_WORKER='))!.slice('ASYNCQ_FLEET_WORKER='.length)) as object;
      expect(spec).toMatchObject({ queue: name, connection: url, lease: 30_000, stalledInterval: 200, concurrency: 1 });
      expect(proc(pid, 'environ').filter((e) => e.startsWith('ASYNCQ_') && !e.startsWith('ASYNCQ_FLEET_WORKER='))).toEqual([]);
    }
      expect(proc(fleet.proc.pid!, 'cmdline').join(' ')).not.toContain('hunter2');
      // The lease the workers hold their tasks under is the one asked for (the default is 7 s).
      await q.put({ ms: 20_000 }, { name: 'sleep' });
      await eventually(async () => expect((await q.counts()).active).toBe(1), 15_000);
      const leases = await client.zrange(queueKeys('asyncq', name).leases, 0, -1, 'WITHSCORES');
      const expiries = leases.filter((_, i) => i % 2 === 1).map(Number);
      expect(expiries.length).toBeGreaterThan(0);
      for (const e of expiries) expect(e - Date.now()).toBeGreaterThan(15_000);
    } finally {
      client.disconnect();
      await q.close();
      await registered.close();
    }
    expect(fleet.stderr + fleet.stdout).not.toContain('hunter2');
    fleet.kill('SIGTERM');
    expect(await fleet.exited).toBe(0);
  }, 60_000);

  it('demo starts its workers without the password on their command line', async () => {
    const redis = await RedisServer.start({ aof: true, args: ['--requirepass', 'hunter2-pw'] });
    const demo = startCli(['demo', '--tasks', '400', '--workers', '2'], { REDIS_URL: `redis://:hunter2-pw@127.0.0.1:${redis.port}` });
    const pids = await workersOf(demo, 2, 30_000);
    for (const pid of pids) expect(proc(pid, 'cmdline').join(' ')).not.toContain('hunter2');
    expect(await demo.exited).toBe(0);
    expect(demo.stdout).toMatch(/2 workers did 400 tasks/);
    expect(demo.stdout + demo.stderr).not.toContain('hunter2');
  }, 90_000);

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

  it('backs off per slot: many kills at once do not hold the healthy slots back', async () => {
    const name = uniqueName('kills');
    queue(name);
    const fleet = startCli(['fleet', HANDLERS, '-q', name, '-w', '4', '-c', '1', '--grace', '1s']);
    const first = await workersOf(fleet, 4);
    // 7 kills in about 3 s: each of the 4 slots once, then 3 of the replacements.
    for (const pid of first) process.kill(pid, 'SIGKILL');
    let second: number[] = [];
    await eventually(() => expect((second = childrenOf(fleet.proc.pid!).filter((p) => !first.includes(p)))).toHaveLength(4), 10_000);
    for (const pid of second.slice(0, 3)) process.kill(pid, 'SIGKILL');
    const killed = new Set([...first, ...second.slice(0, 3)]);
    // One crash counter for the fleet made the 5th-7th restarts wait 8, 16 and 30 s; per slot the longest is 1 s.
    await eventually(() => expect(childrenOf(fleet.proc.pid!).filter((p) => !killed.has(p))).toHaveLength(4), 12_000);
    expect(fleet.stderr).toMatch(/the worker in slot \d was killed by SIGKILL; restarting it in 1 s/);
    expect(fleet.stderr).not.toMatch(/restarting it in (2|4|8|16|30) s/);
    await eventually(async () => expect(await registry(name).list()).toHaveLength(4), 20_000);
    fleet.kill('SIGTERM');
    expect(await fleet.exited).toBe(0);
  }, 60_000);

  it('restarts a crash-looping slot with growing delays and says so, its lines printable', async () => {
    const name = uniqueName('crash');
    const q = queue(name);
    await q.putMany(Array.from({ length: 8 }, () => ({ item: {}, opts: { name: 'crash' } })));
    const fleet = startCli(['fleet', HANDLERS, '-q', name, '-w', '1', '-c', '1']);
    await fleet.waitFor(/the worker in slot 0 exited with code 3; restarting it in 0\.5 s/, 20_000);
    await fleet.waitFor(/the worker in slot 0 exited with code 3; restarting it in 1 s/, 20_000);
    await fleet.waitFor(/the worker in slot 0 keeps crashing \(5 in 60 s; the last exited with code 3\); restarting it in 8 s/, 40_000);
    fleet.kill('SIGTERM');
    expect(await fleet.exited).toBe(0);

    // What workers write reaches the fleet's log as visible text, never as terminal control.
    const noisy = startCli(['fleet', new URL('./fixtures/noisy-handlers.mjs', import.meta.url).pathname, '-q', name, '-w', '1']);
    await noisy.waitFor(/worker \d+: \\x1b\[2J\\x1b\[31mboom/, 20_000);
    expect(noisy.stderr).not.toContain('\x1b');
    noisy.kill('SIGTERM');
    expect(await noisy.exited).toBe(0);
  }, 90_000);

  it('--metrics-port-base gives each slot its own metrics port', async () => {
    const name = uniqueName('ports');
    queue(name);
    const base = await twoFreePorts();
    const fleet = startCli(['fleet', HANDLERS, '-q', name, '-w', '2', '-c', '1', '--metrics-port-base', String(base)]);
    await eventually(async () => expect(await registry(name).list()).toHaveLength(2), 20_000);
    for (const port of [base, base + 1]) {
      await eventually(async () => {
        const health = (await (await fetch(`http://127.0.0.1:${port}/healthz`)).json()) as { queue: string };
        expect(health.queue).toBe(name);
      }, 5000);
    }
    // A fleet killed outright does not leave its workers running.
    const pids = childrenOf(fleet.proc.pid!);
    expect(pids).toHaveLength(2);
    fleet.kill('SIGKILL');
    await fleet.exited;
    await eventually(() => expect(pids.filter((pid) => existsSync(`/proc/${pid}`))).toEqual([]), 20_000);
    await eventually(async () => expect(await registry(name).list()).toEqual([]), 10_000);
  }, 60_000);

  it('bad flags are one line, before any worker starts: --autoscale, a duration, sizes, concurrency, the metrics address', async () => {
    for (const [args, message] of [
      [['--autoscale', '5,2'], /--autoscale takes min,max worker counts with min <= max/],
      [['--lease', 'soon'], /--lease must be a duration such as 500ms, 30s, 5m or 1h, got "soon"/],
      [['--autoscale', '1,2', '--drain-target', '0s'], /--drain-target must be between/],
      [['-w', '1000'], /^asyncq: --workers 1000 is over the fleet's cap of 256 workers: ask for fewer, or raise the cap with --max-workers 1000$/],
      [['--autoscale', '1,300'], /^asyncq: --autoscale max 300 is over the fleet's cap of 256 workers/],
      [['-c', '1000000000'], /^asyncq: --concurrency must be a whole number from 1 to 10000, got "1000000000"$/],
      [['--max-workers', '20000'], /^asyncq: --max-workers must be a whole number from 1 to 10000/],
      [['--metrics-port-base', '9000', '--metrics-host', 'no-such-host.invalid'], /^asyncq: --metrics-host "no-such-host.invalid": no such host name/],
    ] as [string[], RegExp][]) {
      const r = await runCli(['fleet', HANDLERS, '-q', 'q', ...args]);
      expect(r.code, args.join(' ')).toBe(1);
      expect(oneLine(r.stderr)).toMatch(message);
    }
  });

  it('a fleet restarted after a SIGKILL counts no dead predecessor, and the dead one\'s workers stop even when it died as they started', async () => {
    const name = uniqueName('restart');
    queue(name);
    const first = startCli(['fleet', HANDLERS, '-q', name, '-w', '3', '-c', '1', '--grace', '1s']);
    // Killed the moment it has spawned its workers: they are still starting, their parent already gone.
    await first.waitFor(/fleet \S+ serves/);
    const orphans = childrenOf(first.proc.pid!);
    first.kill('SIGKILL');
    await first.exited;
    expect(orphans).toHaveLength(3);
    // Its registry entry lives on until it expires (6 s); the new fleet must not share with it.
    // Kept for a minute here, so a slow start of the next fleet cannot let it expire first.
    const dead = await registry(name).listFleets();
    expect(dead).toHaveLength(1);
    await registry(name).beatFleet(dead[0]!, 60_000);
    const second = startCli(['fleet', HANDLERS, '-q', name, '-w', '3', '-c', '1', '--grace', '1s']);
    await second.waitFor(/fleet \S+ serves/);
    expect(second.stderr.split('\n')[0]).toMatch(/^fleet \S+: 3 of 3 workers \(1 fleet\)$/);
    expect((await registry(name).listFleets()).map((f) => f.pid)).toEqual([second.proc.pid]);
    await eventually(() => expect(orphans.filter((pid) => existsSync(`/proc/${pid}`))).toEqual([]), 30_000);
    await eventually(async () => expect((await registry(name).list()).map((w) => w.pid).sort()).toEqual(childrenOf(second.proc.pid!).sort()), 20_000);
    second.kill('SIGTERM');
    expect(await second.exited).toBe(0);
  }, 90_000);

  it('caps what asyncq scale asks of it at --max-workers, and says so once', async () => {
    const name = uniqueName('cap');
    queue(name);
    const fleet = startCli(['fleet', HANDLERS, '-q', name, '-w', '1', '-c', '1', '--grace', '1s', '--max-workers', '2']);
    await fleet.waitFor(/fleet \S+ serves/);
    expect((await runCli(['scale', name, '10000'])).code).toBe(0);
    await fleet.waitFor(/its share of the 10000 workers asked for \(asyncq scale\) is 10000, over its cap: it runs 2 \(raise the cap with --max-workers\)/);
    await eventually(async () => expect(await registry(name).list()).toHaveLength(2), 20_000);
    await sleep(4500); // two more checks of its share
    expect(childrenOf(fleet.proc.pid!)).toHaveLength(2);
    expect(fleet.stderr.match(/over its cap/g)).toHaveLength(1);
    fleet.kill('SIGTERM');
    expect(await fleet.exited).toBe(0);
  }, 60_000);

  it('--autoscale follows a backlog up and down, logging why; a count set by hand wins until cleared', async () => {
    const name = uniqueName('auto');
    const q = queue(name);
    await q.putMany(Array.from({ length: 600 }, () => ({ item: { ms: 200 }, opts: { name: 'sleep' } })));
    const args = ['fleet', HANDLERS, '-q', name, '-w', '1', '-c', '2', '--grace', '500ms', '--autoscale', '1,4', '--drain-target', '5s', '--cooldown', '2s'];
    const fleet = startCli(args);
    const workers = async (): Promise<number> => (await registry(name).list()).length;
    // One worker does 10 tasks/s: 600 in 5 s needs 12, so as many as allowed.
    await fleet.waitFor(/autoscale: 1 -> 4 workers \(backlog\): \d+ unfinished, [\d.]+ put\/s, [\d.]+ tasks\/s per worker .*over 30 s \(Redis counters\), drain target 5 s/, 30_000);
    await eventually(async () => expect(await workers()).toBe(4), 30_000);
    await q.join({ timeout: 90_000 });
    await eventually(async () => expect(await workers()).toBe(1), 40_000);
    expect(fleet.stderr).toMatch(/autoscale: [2-4] -> [1-3] workers \((idle|spare)\)/);
    // Rates came from the Redis counters: never the near-zero per-worker rates of heartbeat counters.
    const rates = [...fleet.stderr.matchAll(/([\d.]+) tasks\/s per worker/g)].map((m) => Number(m[1]));
    expect(Math.max(...rates)).toBeGreaterThan(5);

    // By hand: 3 workers on an idle queue stay 3 past the cooldown, until the count is cleared.
    expect((await runCli(['scale', name, '3'])).code).toBe(0);
    await fleet.waitFor(/autoscale: paused while 3 workers are set by hand/, 15_000);
    await eventually(async () => expect(await workers()).toBe(3), 20_000);
    await sleep(5000);
    expect(await workers()).toBe(3);
    await registry(name).setDesired(undefined); // what `asyncq scale <queue> --auto` does
    await fleet.waitFor(/autoscale: the count set by hand was cleared/, 15_000);
    await eventually(async () => expect(await workers()).toBe(1), 20_000);
    // Cleared, the fleets fall back to their -w at once; the autoscaler stores its own count.
    await eventually(async () => expect(await adminClient().get(queueKeys('asyncq', name).desired)).toBe('1 autoscaler'), 10_000);
    fleet.kill('SIGTERM');
    expect(await fleet.exited).toBe(0);
  }, 180_000);
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
