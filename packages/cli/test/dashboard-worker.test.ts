import { hostname } from 'node:os';
import type { Page } from 'playwright-core';
import { describe, expect, it, onTestFailed } from 'vitest';
import { Queue, WorkerRegistry } from '@asyncq/core';
import { WORKER_VERSION } from '@asyncq/worker';
import { HANDLERS, redisUrl, track, uniqueName } from '@asyncq/test-support';
import { browserForFile, localContext } from './chromium.js';
import { dropPrefixAfter } from './cli-test-helpers.js';
import { startCli, type CliProcess } from './cli-process.js';

// The worker page (issue 23, Tracing): a real `asyncq worker` process seen on the dashboard by the
// id `asyncq workers` gives it, with its host, pid, version, concurrency, the tasks it holds now
// and its counters; and, once it stops beating, a line saying it is stale, then gone, in place of
// its figures. Each test works under a prefix of its own, dropped after it unless it failed.

const browser = browserForFile();

/** `asyncq dashboard` on a free port under `prefix`, polling every 500 ms; the URL it prints. */
async function dashboard(prefix: string): Promise<{ proc: CliProcess; url: string }> {
  const proc = startCli(['dashboard', '--port', '0', '--interval', '500ms', '--prefix', prefix]);
  const m = await proc.waitFor(/asyncq dashboard on (http:\/\/127\.0\.0\.1:\d+\/)/, 30_000);
  return { proc, url: m[1]! };
}

/** A queue under `prefix` with a worker process on it (`-c 3`, beating every `heartbeat`), its registry id and the dashboard. */
async function setup(heartbeat: string) {
  const prefix = uniqueName('dashworker');
  const name = uniqueName('jobs');
  const drop = dropPrefixAfter(prefix);
  const q = track(new Queue(name, { connection: redisUrl(), prefix }), name);
  const registry = track(new WorkerRegistry(name, { connection: redisUrl(), prefix }), name);
  await q.put({ warm: true }, { name: 'noop' }); // the queue exists before the dashboard looks
  const worker = startCli(['worker', HANDLERS, '-q', name, '-c', '3', '--heartbeat', heartbeat, '--prefix', prefix]);
  await expect.poll(async () => (await registry.list()).length, { timeout: 20_000 }).toBe(1);
  const [info] = await registry.list();
  const dash = await dashboard(prefix);
  return { prefix, name, q, registry, worker, id: info!.id, dash, drop };
}

const field = (page: Page, f: string): Promise<string | null> => page.locator(`section[data-worker] [data-f="${f}"]`).textContent();

describe('asyncq dashboard, the worker page', () => {
  it("shows a real worker's host, pid, version, concurrency, the tasks it runs now and its counters, reached from the queue page by its id", { timeout: 90_000 }, async () => {
    const s = await setup('300ms');
    const ctx = (await localContext(browser())).ctx;
    try {
      const held = [await s.q.put({ ms: 600_000 }, { name: 'sleep' }), await s.q.put({ ms: 600_000 }, { name: 'sleep' })];
      const page = await ctx.newPage();
      await page.goto(`${s.dash.url}queue?name=${encodeURIComponent(s.name)}`);
      // The queue page names the worker by its registry id, and links it to its page.
      const link = page.locator('[data-rows="workers"] a', { hasText: s.id });
      await expect.poll(() => link.count(), { timeout: 10_000 }).toBe(1);
      await link.click();
      await page.waitForURL((u) => u.pathname === '/worker');
      expect(new URL(page.url()).searchParams.get('id')).toBe(s.id);
      expect(new URL(page.url()).searchParams.get('queue')).toBe(s.name);

      expect(await page.locator('section[data-worker] h2').textContent()).toBe(`worker ${s.id}`);
      expect(await field(page, 'host')).toBe(hostname());
      expect(await field(page, 'pid')).toBe(String(s.worker.proc.pid));
      expect(await field(page, 'version')).toBe(WORKER_VERSION);
      expect(await field(page, 'concurrency')).toBe('3');
      expect(await field(page, 'started')).toMatch(/^\d{4}-\d\d-\d\d \d\d:\d\d:\d\d UTC$/);
      const taskIds = async (): Promise<string[]> => (await page.locator('[data-rows="worker-tasks"] tr td:first-child').allTextContents()).sort();
      await expect.poll(taskIds, { timeout: 10_000 }).toEqual([...held].sort());
      expect(await field(page, 'busy')).toBe('2 of 3 slots busy');
      expect(await field(page, 'state')).toMatch(/^live: last heartbeat \d+\.\d s ago \(it beats every 0\.3 s\)$/);

      // Counters move as tasks finish in the third slot: the page follows them.
      for (let i = 0; i < 3; i++) await s.q.put({ i }, { name: 'noop' });
      await s.q.put({}, { name: 'fail', attempts: 1 });
      await expect.poll(() => field(page, 'done'), { timeout: 15_000 }).toBe('4'); // the warm-up task too
      await expect.poll(() => field(page, 'failed'), { timeout: 5000 }).toBe('1');
      expect(await taskIds()).toEqual([...held].sort());

      // The same, as JSON, and in the queue's list of workers.
      const api = (await (await page.request.get(`${s.dash.url}api/worker?queue=${encodeURIComponent(s.name)}&id=${encodeURIComponent(s.id)}`)).json()) as { state: string; worker: { pid: number; done: number; current: { id: string }[] } };
      expect(api).toMatchObject({ state: 'live', worker: { pid: s.worker.proc.pid, done: 4 } });
      expect(api.worker.current.map((t) => t.id).sort()).toEqual([...held].sort());
      await page.getByRole('link', { name: 'its workers' }).click();
      await page.waitForURL((u) => u.pathname === '/workers');
      const row = page.locator('[data-rows="worker-list"] tr');
      await expect.poll(() => row.count(), { timeout: 5000 }).toBe(1);
      const cells = await row.locator('td').allTextContents();
      expect(cells.slice(0, 4)).toEqual([s.id, hostname(), String(s.worker.proc.pid), WORKER_VERSION]);
      expect(cells.slice(5, 9)).toEqual(['3', '2', '4', '1']);
      expect(await page.locator('[data-f="summary"]').textContent()).toBe('1 live worker, 2 of 3 slots busy');
    } finally {
      await ctx.close();
      s.worker.kill('SIGKILL');
      await s.worker.exited;
      s.dash.proc.kill('SIGTERM');
      expect(await s.dash.proc.exited).toBe(0);
      await s.drop();
    }
  });

  it('says a worker that stopped beating is stale, then gone, and shows none of its figures', { timeout: 90_000 }, async () => {
    const s = await setup('2s'); // stale after 4 s without a beat, gone after 6 s
    const ctx = (await localContext(browser())).ctx;
    try {
      const held = await s.q.put({ ms: 600_000 }, { name: 'sleep' });
      const page = await ctx.newPage();
      const url = `${s.dash.url}worker?queue=${encodeURIComponent(s.name)}&id=${encodeURIComponent(s.id)}`;
      await page.goto(url);
      const section = page.locator('section[data-worker]');
      await expect.poll(() => page.locator('[data-rows="worker-tasks"] td:first-child').allTextContents(), { timeout: 10_000 }).toEqual([held]);
      const pid = String(s.worker.proc.pid);
      expect(await section.innerText()).toContain('1 of 3 slots busy');

      // Stopped (as a hung process is): still listed, but stale. Who it was stays; its figures go.
      s.worker.kill('SIGSTOP');
      await expect.poll(() => field(page, 'state'), { timeout: 10_000 }).toMatch(/^stale: no heartbeat for \d+\.\d s \(it beats every 2\.0 s\): stuck, stopped or dead/);
      expect(await section.getAttribute('data-state')).toBe('stale');
      expect(await page.locator('[data-f="pid"]').textContent()).toBe(pid);
      expect(await page.locator('[data-f="pid"]').isVisible()).toBe(true);
      expect(await page.locator('[data-f="done"]').isVisible()).toBe(false);
      expect(await section.innerText()).not.toMatch(/slots busy|running for/);
      expect(await page.locator('[data-rows="worker-tasks"]').isVisible()).toBe(false);

      // Killed: it drops out of the registry, and the page says so in one line, with no number of it.
      s.worker.kill('SIGKILL');
      await s.worker.exited;
      const gone = `gone: ${s.id} is no longer registered on ${s.name}: it stopped, or missed three heartbeats`;
      await expect.poll(() => field(page, 'state'), { timeout: 15_000 }).toBe(gone);
      const shown = (await section.innerText()).replaceAll(s.id, '<id>').replaceAll(s.name, '<queue>');
      expect(shown).toContain('gone: <id> is no longer registered on <queue>');
      expect(shown).not.toMatch(/\d/);

      // Opened now, the page is a 404 saying the same; so is its JSON.
      const res = await page.goto(url);
      expect(res?.status()).toBe(404);
      expect(await field(page, 'state')).toBe(gone);
      expect(await page.locator('[data-show="figures"]').isVisible()).toBe(false);
      const api = await page.request.get(`${s.dash.url}api/worker?queue=${encodeURIComponent(s.name)}&id=${encodeURIComponent(s.id)}`);
      expect(api.status()).toBe(404);
      expect(await api.json()).toMatchObject({ state: 'gone', worker: null, error: expect.stringContaining('no live worker') });
    } finally {
      await ctx.close();
      s.worker.kill('SIGKILL');
      await s.worker.exited;
      s.dash.proc.kill('SIGTERM');
      expect(await s.dash.proc.exited).toBe(0);
      await s.drop();
    }
  });
});
