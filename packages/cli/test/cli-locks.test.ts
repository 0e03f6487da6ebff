// `asyncq locks` as a subprocess: it lists every primitive under the prefix with holders,
// waiters, values and fencing tokens, only reads (it runs as a Redis user that may not write),
// and says in one line when a named primitive does not exist.
import { randomBytes } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { Barrier, Condition, Event, Lock, Semaphore } from '@asyncq/core';
import { type PrimitiveInfo } from '@asyncq/core/internal';
import { adminClient, eventually, redisUrl, sleep, uniqueName } from '@asyncq/test-support';
import { runCli, startCli } from './cli-process.js';
import { oneLine } from './cli-test-helpers.js';

describe('asyncq locks', () => {
  it('lists holders, waiters, values and tokens of every primitive, read-only', async () => {
    const prefix = uniqueName('lk');
    const connection = redisUrl();
    const o = { connection, prefix };
    const holder = new Lock('token-refresh', o);
    const waiter = new Lock('token-refresh', o);
    const sem = new Semaphore('partner-api', { ...o, value: 3 });
    const ev = new Event('config-loaded', o);
    const barrier = new Barrier('phase-2', { ...o, parties: 3 });
    const cond = new Condition('stock', o);
    const user = `locks-ro-${randomBytes(4).toString('hex')}`;
    const pending: Promise<unknown>[] = [];
    try {
      await holder.acquire();
      pending.push(waiter.acquire().then(() => waiter.release()));
      await sem.acquire();
      await ev.set();
      pending.push(barrier.wait().catch(() => {}));
      await cond.acquire();
      pending.push(cond.wait().then(() => cond.release()).catch(() => {}));
      await eventually(async () => expect((await listed()).find((r) => r.name === 'phase-2')?.waiters).toBe(1));
      await eventually(async () => expect((await listed()).find((r) => r.name === 'token-refresh')?.waiters).toBe(1));

      // A Redis user that can read but not write: the command must still work.
      await adminClient().call('ACL', 'SETUSER', user, 'on', '>pw-locks', '~*', '&*', '+@read', '+@connection', '+time', '+scan', '+info');
      const url = new URL(redisUrl());
      url.username = user;
      url.password = 'pw-locks';
      const text = await runCli(['locks', '--prefix', prefix], { env: { REDIS_URL: url.toString() } });
      expect(text.stderr).toBe('');
      expect(text.code).toBe(0);
      const lines = text.stdout.trim().split('\n');
      expect(lines[0]).toMatch(/^kind\s+name\s+state\s+waiters\s+fencing token\s+holders \(host:pid, held for\)$/);
      expect(lines.find((l) => l.startsWith('lock '))).toMatch(new RegExp(`^lock\\s+token-refresh\\s+locked\\s+1\\s+\\d{13,}\\s+\\S+:${process.pid} \\d+m?s$`));
      expect(lines.find((l) => l.startsWith('semaphore '))).toMatch(/^semaphore\s+partner-api\s+2\/3 free\s+0\s+\d+\s+\S+:\d+ \d+m?s$/);
      expect(lines.find((l) => l.startsWith('condition '))).toMatch(/^condition\s+stock\s+free, stock: 1 waiting\s+1\s+\d+\s+-$/);
      expect(lines.find((l) => l.startsWith('event '))).toMatch(/^event\s+config-loaded\s+set\s+0\s+-\s+-$/);
      expect(lines.find((l) => l.startsWith('barrier '))).toMatch(/^barrier\s+phase-2\s+filling, 1\/3 in\s+1\s+-\s+-$/);

      const json = await runCli(['locks', 'token-refresh', '--json', '--prefix', prefix], { env: { REDIS_URL: url.toString() } });
      expect(json.code, json.stderr).toBe(0);
      const [row] = JSON.parse(json.stdout) as PrimitiveInfo[];
      expect(row).toMatchObject({ kind: 'lock', name: 'token-refresh', value: 1, waiters: 1, holders: [{ pid: process.pid, token: holder.fencingToken }] });
      expect(row!.fencingToken).toBe(holder.fencingToken);
    } finally {
      await adminClient().call('ACL', 'DELUSER', user).catch(() => {});
      await holder.release().catch(() => {});
      await barrier.abort().catch(() => {});
      for (const h of [holder, waiter, sem, ev, barrier, cond]) await h.close();
      await Promise.all(pending);
      const keys = await adminClient().keys(`${prefix}:*`);
      if (keys.length > 0) await adminClient().del(...keys);
    }

    async function listed(): Promise<PrimitiveInfo[]> {
      const r = await runCli(['locks', '--json', '--prefix', prefix]);
      return JSON.parse(r.stdout) as PrimitiveInfo[];
    }
  });

  it('a named primitive that does not exist, or a bad name, is one line and exit 1', async () => {
    const prefix = uniqueName('lk-none');
    const none = await runCli(['locks', 'nope', '--prefix', prefix]);
    expect(none.code).toBe(1);
    expect(oneLine(none.stderr)).toBe(`asyncq: no lock, semaphore, event, condition or barrier named "nope" under prefix "${prefix}" (asyncq locks lists them all)`);
    const bad = await runCli(['locks', 'a:b']);
    expect(bad.code).toBe(1);
    expect(oneLine(bad.stderr)).toMatch(/^asyncq: invalid primitive name "a:b": use 1-200 characters/);
    const empty = await runCli(['locks', '--prefix', prefix]);
    expect(empty.code).toBe(0);
    expect(empty.stdout.trim()).toBe(`no locks, semaphores, events, conditions or barriers under prefix "${prefix}"`);
    await sleep(0);
  });

  it('the dashboard serves the same list as JSON at GET /api/locks', async () => {
    const prefix = uniqueName('lk-dash');
    const lock = new Lock('nightly-report', { connection: redisUrl(), prefix });
    try {
      await lock.acquire();
      const proc = startCli(['dashboard', '--port', '0', '--prefix', prefix]);
      const url = (await proc.waitFor(/asyncq dashboard on (http:\/\/127\.0\.0\.1:\d+\/)/, 45_000))[1]!;
      const res = await fetch(`${url}api/locks`);
      expect(res.status).toBe(200);
      const body = (await res.json()) as { prefix: string; primitives: PrimitiveInfo[] };
      expect(body.prefix).toBe(prefix);
      expect(body.primitives).toMatchObject([{ kind: 'lock', name: 'nightly-report', holders: [{ pid: process.pid, token: lock.fencingToken }] }]);
      proc.kill('SIGTERM');
      expect(await proc.exited).toBe(0);
    } finally {
      await lock.close();
      const keys = await adminClient().keys(`${prefix}:*`);
      if (keys.length > 0) await adminClient().del(...keys);
    }
  }, 90_000); // a dashboard can take over 20 s to start while the cluster suites load both cores
});
