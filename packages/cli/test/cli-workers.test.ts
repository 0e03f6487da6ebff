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

    worker.kill('SIGKILL');
    await worker.exited;
    expect((await cli(['workers', name])).code).toBe(0);
  });
});
