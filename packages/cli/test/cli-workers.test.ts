// Tracing (issue 23): one worker id everywhere (`asyncq workers`, `inspect`, `join`, `watch`), and
// `asyncq workers` showing a queue's live workers like Sidekiq's Busy page.
import { describe, expect, it } from 'vitest';
import { eventually, redisUrl, uniqueName } from '@asyncq/test-support';
import { main } from '../src/cli.js';
import { startCli } from './cli-process.js';
import { HANDLERS, queue, registry } from './cli-test-helpers.js';

/** `asyncq args...` in this process, as bin.ts runs it, on the test Redis. */
async function cli(args: string[]): Promise<{ code: number; out: string; err: string }> {
  const out: string[] = [];
  const err: string[] = [];
  const code = await main([...args, '--redis-url', redisUrl()], { out: (l) => out.push(l), err: (l) => err.push(l), tty: false, exitCode: 0 });
  return { code, out: out.join('\n'), err: err.join('\n') };
}

describe('asyncq workers, and one worker id', () => {
  it('lists host, pid, version, start, concurrency, current tasks and counters; inspect, join and watch name the same id', async () => {
    const name = uniqueName('workers');
    const q = queue(name);
    const worker = startCli(['worker', HANDLERS, '-q', name, '-c', '2', '--heartbeat', '300ms']);
    const id = await q.put({ ms: 60_000 }, { name: 'sleep' });
    let rows: { id: string; host: string; pid: number; version: string | null; startedAt: number; concurrency: number; running: number | null; done: number; current: { id: string; name: string }[] }[] = [];
    await eventually(async () => {
      rows = JSON.parse((await cli(['workers', name, '--json'])).out) as typeof rows;
      expect(rows).toHaveLength(1);
      expect(rows[0]!.current.map((t) => t.id)).toEqual([id]);
    }, 20_000);
    const [w] = await registry(name).list();
    expect(rows[0]).toMatchObject({ id: w!.id, pid: worker.proc.pid, concurrency: 2, running: 1, done: 0, current: [{ id, name: 'sleep' }] });
    expect(rows[0]!.version).toMatch(/^\d+\.\d+\.\d+/);
    expect(Math.abs(rows[0]!.startedAt - Date.now())).toBeLessThan(120_000);

    const text = await cli(['workers', '-q', name]);
    expect(text.code).toBe(0);
    expect(text.out).toContain(`${name}: 1 live worker, 1 of 2 slots busy`);
    expect(text.out).toMatch(new RegExp(`^${w!.id.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')}\\s+\\S+\\s+${worker.proc.pid}\\s`, 'm'));
    expect(text.out).toContain(`  ${id} (sleep) for `);

    // The same id, not the lease, wherever a task's worker is named.
    const active = JSON.parse((await cli(['inspect', name, '-s', 'active', '--json'])).out) as { id: string; worker?: string }[];
    expect(active).toEqual([expect.objectContaining({ id, worker: w!.id })]);
    expect((await cli(['inspect', name, '-s', 'active'])).out).toContain(`    worker ${w!.id}`);
    const joined = await cli(['join', name, '--timeout', '1s']);
    expect(joined.code).toBe(2);
    expect(joined.out).toContain(`${id} (sleep) held by worker ${w!.id}`);
    const watched = JSON.parse((await cli(['watch', name, '--json', '--count', '1'])).out) as { workers: { id: string }[] };
    expect(watched.workers.map((x) => x.id)).toEqual([w!.id]);

    // Counters: tasks done and attempts failed since it started, in both forms, beside the version,
    // start time and concurrency.
    await q.put({}, { name: 'noop' });
    await q.put({}, { name: 'noop' });
    await q.put({}, { name: 'fail', attempts: 1 });
    await eventually(async () => {
      const [r] = JSON.parse((await cli(['workers', name, '--json'])).out) as { done: number; failed: number }[];
      expect(r).toMatchObject({ done: 2, failed: 1 });
    }, 20_000);
    const counted = (await cli(['workers', name])).out.split('\n').find((l) => l.startsWith(w!.id))!;
    expect(counted.split(/\s+/).slice(1, 9)).toEqual([w!.host, String(worker.proc.pid), rows[0]!.version, new Date(rows[0]!.startedAt).toISOString(), '2', '1', '2', '1']);
    expect(counted).toMatch(/ ago$/); // not stale

    worker.kill('SIGKILL');
    await worker.exited;
    expect((await cli(['workers', name])).code).toBe(0);
  });

  it('marks a worker that stopped beating but is still listed as stale, in both forms', async () => {
    const name = uniqueName('workers');
    await queue(name).put({}, { name: 'noop' });
    const now = Date.now();
    // Listed for a minute (its TTL), but its last beat was 10 s ago and it beats every second.
    const entry = { id: 'box:7:deadbeef', host: 'box', pid: 7, queue: name, concurrency: 1, startedAt: now - 60_000, done: 3, failed: 0, lastHeartbeat: now - 10_000, heartbeatMs: 1000 };
    await registry(name).beat(entry, 60_000);
    await registry(name).beat({ ...entry, id: 'box:8:cafebabe', pid: 8, lastHeartbeat: now }, 60_000);
    const rows = JSON.parse((await cli(['workers', name, '--json'])).out) as { id: string; stale: boolean; heartbeatMs: number }[];
    expect(rows.map((r) => [r.id, r.stale, r.heartbeatMs])).toEqual([['box:7:deadbeef', true, 1000], ['box:8:cafebabe', false, 1000]]);
    const text = (await cli(['workers', name])).out.split('\n');
    expect(text.find((l) => l.startsWith('box:7:deadbeef'))).toMatch(/1\ds ago, stale$/);
    expect(text.find((l) => l.startsWith('box:8:cafebabe'))).toMatch(/ ago$/);
  });
});
