import { join } from 'node:path';
import { tmpdir } from 'node:os';
import { createServer } from 'node:net';
import type { BrowserContext } from 'playwright-core';
import { describe, expect, it } from 'vitest';
import { Queue, QueueAdmin, WorkerRegistry } from '@asyncq/core';
import { Producer } from '@asyncq/producer';
import { defineHandlers, Worker } from '@asyncq/worker';
import { redisUrl, sleep, track, uniqueName } from '@asyncq/test-support';
import { browserForFile, localContext } from './chromium.js';
import { runCli, startCli, type CliProcess } from './cli-process.js';

// The README's screenshot: refreshed with ASYNCQ_UPDATE_SCREENSHOT=1, else taken to a temporary file
// (still proving the page renders), so a test run leaves the tree as it was.
const SCREENSHOT = process.env.ASYNCQ_UPDATE_SCREENSHOT
  ? new URL('../../../docs/dashboard.png', import.meta.url).pathname
  : join(tmpdir(), `asyncq-dashboard-${process.pid}.png`);
const HISTORY_SCREENSHOT = process.env.ASYNCQ_UPDATE_SCREENSHOT
  ? new URL('../../../docs/dashboard-history.png', import.meta.url).pathname
  : join(tmpdir(), `asyncq-dashboard-history-${process.pid}.png`);

const browser = browserForFile();

/** A browser context that reaches nothing but this machine. */
async function context(opts: { httpCredentials?: { username: string; password: string } } = {}): Promise<BrowserContext> {
  return (await localContext(browser(), opts)).ctx;
}

/** `asyncq dashboard` as a subprocess on a free port; the URL it prints. */
async function dashboard(args: string[], env: Record<string, string> = {}): Promise<{ proc: CliProcess; url: string }> {
  const proc = startCli(['dashboard', '--port', '0', '--interval', '500ms', ...args], env);
  const m = await proc.waitFor(/asyncq dashboard on (http:\/\/127\.0\.0\.1:\d+\/)/, 20_000);
  return { proc, url: m[1]! };
}

/** Stops the dashboard as a user would and checks it exits cleanly. */
async function stop(proc: CliProcess): Promise<void> {
  proc.kill('SIGTERM');
  expect(await proc.exited).toBe(0);
}

describe('asyncq dashboard', () => {
  it('shows a queue draining live in a real browser, its failed task in bull-board, and retries it from the asyncq page', { timeout: 60_000 }, async () => {
    const name = uniqueName('thumbnails');
    const producer = track(new Producer({ connection: redisUrl(), queue: name, maxsize: 200 }), name);
    const admin = track(new QueueAdmin(name, { connection: redisUrl() }), name);
    const registry = track(new WorkerRegistry(name, { connection: redisUrl() }), name);
    const flaky = await producer.enqueue('flaky', { note: '<img src=x onerror=alert(1)>' }, { attempts: 1 });
    for (let i = 0; i < 90; i++) await producer.enqueue('resize', { i });
    await registry.setDesired(3);

    const { proc, url } = await dashboard(['--allow-actions']);
    const ctx = await context();
    let worker: Worker | undefined;
    let running: Promise<void> | undefined;
    try {
      const page = await ctx.newPage();
      const dialogs: string[] = [];
      page.on('dialog', (d) => void (dialogs.push(d.message()), d.dismiss()));
      await page.goto(`${url}queue?name=${name}`);
      const section = page.locator('section[data-queue]').filter({ has: page.getByRole('heading', { name, exact: true }) });
      const field = (f: string): Promise<string | null> => section.locator(`[data-f="${f}"]`).textContent();
      expect(await field('unfinished')).toBe('91');
      expect(await field('ready')).toBe('91');
      expect(await field('maxsize')).toBe('200');
      expect(await field('desired')).toBe('3 (asyncq scale)');
      expect(await field('live')).toBe('0');

      // Tasks run in this process; the page follows them from the JSON it polls.
      let flakyRuns = 0;
      let fixed = false;
      const handlers = defineHandlers({
        resize: async (data: { i: number }, ctx) => {
          ctx.log(`resizing ${data.i}`);
          await sleep(200);
          return { i: data.i };
        },
        flaky: async (_data: unknown, ctx) => {
          flakyRuns++;
          ctx.log(`flaky attempt ${flakyRuns}`);
          if (!fixed) throw new Error('flaky failed <b>once</b>');
          return 'fixed';
        },
      });
      worker = new Worker(name, handlers, { connection: redisUrl(), concurrency: 3, heartbeatMs: 250, handleSignals: false });
      running = worker.run();
      await expect.poll(() => field('live'), { timeout: 10_000 }).toBe('1'); // one worker, three at a time
      await expect.poll(async () => Number(await field('completed')), { timeout: 15_000 }).toBeGreaterThanOrEqual(40);
      await expect.poll(() => section.locator('[data-rows="workers"]').textContent(), { timeout: 5000 }).toMatch(/busy/);
      expect(await section.locator('polyline[data-series="done"]').getAttribute('points')).toMatch(/\d+\.\d,\d+\.\d \d/);
      expect(Number(await field('unfinished'))).toBeLessThan(91);
      // The screenshot for the README: this queue's page, mid-run.
      const box = (await section.boundingBox())!;
      await page.screenshot({ path: SCREENSHOT, clip: { x: 0, y: 0, width: 1280, height: Math.ceil(box.y + box.height + 16) } });
      await expect.poll(() => field('unfinished'), { timeout: 20_000 }).toBe('0');
      expect(await field('completed')).toBe('90');
      expect(await field('failed')).toBe('1');
      expect(await field('drain')).toBe('nothing to drain');

      // The failed task in bull-board: its error, data and log lines, and only the buttons that work (retry, clean).
      await section.getByRole('link', { name: 'tasks →' }).click();
      await page.getByRole('link', { name: /^failed/i }).click();
      await page.locator('a', { hasText: 'flaky' }).first().click();
      await expect.poll(() => page.getByText('flaky failed <b>once</b>').count(), { timeout: 10_000 }).toBeGreaterThan(0);
      await page.getByRole('tab', { name: 'Logs' }).click();
      await expect.poll(() => page.getByText('flaky attempt 1').count(), { timeout: 5000 }).toBe(1);
      await page.getByRole('tab', { name: 'Data' }).click();
      await expect.poll(() => page.getByText('<img src=x onerror=alert(1)>').count(), { timeout: 5000 }).toBe(1);
      expect(await page.locator('ul[class*="jobActions"] button:visible').count()).toBe(2);
      // Retried from the asyncq page's task list.
      fixed = true;
      await page.goto(`${url}queue?name=${name}`);
      await page.locator('#task-state').selectOption('failed');
      const retry = page.locator(`tr[data-task="${flaky.id}"] button`, { hasText: 'retry' });
      await expect.poll(() => retry.count(), { timeout: 5000 }).toBe(1);
      const retried = page.waitForResponse((r) => r.request().method() === 'PUT' && r.url().includes('/api/queue/tasks/retry?'));
      await retry.click();
      expect((await retried).status()).toBe(200);

      // It ran again, and finished: Redis says so, and so does the page.
      await expect.poll(async () => (await admin.task(flaky.id))?.state, { timeout: 10_000 }).toBe('completed');
      expect(flakyRuns).toBe(2);
      expect((await admin.task(flaky.id))?.result).toBe('fixed');
      expect(await admin.counts()).toMatchObject({ completed: 91, failed: 0, unfinished: 0 });
      await page.goto(`${url}queue?name=${name}`);
      await expect.poll(() => field('completed'), { timeout: 5000 }).toBe('91');
      expect(await field('failed')).toBe('0');
      // History from the rollups in Redis, with axes: the flaky task failed for good once, then completed.
      await expect.poll(() => page.locator('[data-f="history-sum"]').textContent(), { timeout: 10_000 }).toBe('91 completed, 1 failed in this range (UTC)');
      const ticks = (svg: string): Promise<string[]> => page.locator(`#${svg} text.tick`).allTextContents();
      expect((await ticks('history-counts')).filter((t) => /^\d\d:\d\d$/.test(t))).toHaveLength(5);
      expect((await ticks('history-counts')).slice(0, 1)).toEqual(['0']);
      expect(await ticks('history-times')).toContain('0 ms');
      expect(await page.locator('#history-times polyline[data-series="p95"]').getAttribute('points')).toMatch(/^0\.0,\d/);
      await page.locator('section.history').screenshot({ path: HISTORY_SCREENSHOT });
      await page.locator('#history-range').selectOption('month');
      await expect.poll(async () => (await ticks('history-counts')).filter((t) => /^\d\d-\d\d \d\d:00$/.test(t)).length).toBe(5);
      expect(await page.locator('[data-f="history-sum"]').textContent()).toBe('91 completed, 1 failed in this range (UTC)');
      expect(dialogs).toEqual([]); // nothing from the task data ever ran
    } finally {
      await ctx.close();
      await worker?.close();
      await running;
    }
    await stop(proc);
  });

  it('is read-only unless --allow-actions, asks for basic auth when set, and escapes what Redis holds', async () => {
    const name = `<i>q</i>-${uniqueName('x')}`; // a legal queue name that is also HTML
    const producer = track(new Producer({ connection: redisUrl(), queue: name }), name);
    const admin = track(new QueueAdmin(name, { connection: redisUrl() }), name);
    const task = await producer.enqueue('send', { to: 'a@b.c' });
    const { proc, url } = await dashboard([], { ASYNCQ_DASHBOARD_AUTH: 'ops:s3cret:pw' });
    expect(proc.stdout).toMatch(/read-only, basic auth: ops \(admin\)/);
    const auth = { authorization: `Basic ${Buffer.from('ops:s3cret:pw').toString('base64')}` };
    const wrong = { authorization: `Basic ${Buffer.from('ops:nope').toString('base64')}` };

    for (const path of ['', 'api/queues', 'board/', 'board/api/queues']) {
      const none = await fetch(url + path);
      expect(none.status, path).toBe(401);
      expect(none.headers.get('www-authenticate')).toMatch(/^Basic realm="asyncq dashboard"/);
      expect((await fetch(url + path, { headers: wrong })).status).toBe(401);
      expect((await fetch(url + path, { headers: auth })).status, path).toBe(200);
    }
    const list = (await (await fetch(`${url}api/queues`, { headers: auth })).json()) as { actions: boolean; queues: { name: string; counts: { waiting: number } }[] };
    expect(list.actions).toBe(false);
    expect(list.queues.find((q) => q.name === name)?.counts.waiting).toBe(1);
    const one = await fetch(`${url}api/queues/${encodeURIComponent(name)}`, { headers: auth });
    expect(((await one.json()) as { workerList: unknown[] }).workerList).toEqual([]);
    expect((await fetch(`${url}api/queues/no-such-queue`, { headers: auth })).status).toBe(404);

    // Every change is refused with 403 and a message saying how to allow it; nothing was written.
    const bullName = encodeURIComponent((await admin.bullmq())[0]!.name);
    const changes: [string, string][] = [
      ['PUT', `api/queues/${encodeURIComponent(name)}/tasks/${task.id}/remove`],
      ['PUT', `board/api/queues/${bullName}/${task.id}/clean`],
      ['PUT', `board/api/queues/${bullName}/pause`],
      ['POST', `board/api/queues/${bullName}/add`],
      ['PUT', `board/api/queues/${bullName}/obliterate`],
    ];
    for (const [method, path] of changes) {
      const r = await fetch(url + path, { method, headers: { ...auth, 'content-type': 'application/json', origin: new URL(url).origin }, body: '{}' });
      expect(r.status, path).toBe(403);
      expect(JSON.stringify(await r.json())).toMatch(/read-only dashboard: restart it with --allow-actions/);
    }
    expect(await admin.counts()).toMatchObject({ waiting: 1, unfinished: 1 });
    expect(await admin.state()).toMatchObject({ paused: false });

    // In the browser: the name shows as text, not markup, and bull-board offers no actions.
    const ctx = await context({ httpCredentials: { username: 'ops', password: 's3cret:pw' } });
    try {
      const page = await ctx.newPage();
      await page.goto(url);
      await expect.poll(() => page.getByRole('link', { name, exact: true }).count()).toBe(1);
      expect(await page.locator('main i').count()).toBe(0);
      // A queue that appears shows up on the open page, and goes when it is deleted.
      const other = uniqueName('late');
      const late = track(new QueueAdmin(other, { connection: redisUrl() }), other);
      const lateProducer = track(new Producer({ connection: redisUrl(), queue: other }), other);
      await lateProducer.enqueue('send', {});
      await expect.poll(() => page.getByRole('link', { name: other, exact: true }).count(), { timeout: 15_000 }).toBe(1);
      await late.destroy({ force: true });
      // Both counted, so that a table in the middle of redrawing (no rows at all) does not pass.
      const headings = async (): Promise<number[]> => [await page.getByRole('link', { name: other, exact: true }).count(), await page.getByRole('link', { name, exact: true }).count()];
      await expect.poll(headings, { timeout: 15_000 }).toEqual([0, 1]);
      await page.goto(`${url}board/queue/${bullName}?status=waiting`);
      await expect.poll(() => page.locator('a', { hasText: 'send' }).count(), { timeout: 10_000 }).toBeGreaterThan(0);
      expect(await page.locator('ul[class*="jobActions"] button').count()).toBe(0);
    } finally {
      await ctx.close();
    }
    await stop(proc);
    expect(proc.stdout + proc.stderr).not.toContain('s3cret');
  });

  it('with --allow-actions, runs bull-board job actions on the right task of a partitioned queue, and refuses other changes', async () => {
    const name = uniqueName('parted');
    const q = track(new Queue(name, { connection: redisUrl(), partitions: 2 }), name);
    const admin = track(new QueueAdmin(name, { connection: redisUrl() }), name);
    for (let i = 0; i < 4; i++) await q.put({ i }, { attempts: 1 });
    const later = await q.put({ later: true }, { delay: 600_000 });
    const failed = await q.getTask();
    await failed.fail(new Error('boom'));
    const { proc, url } = await dashboard(['--allow-actions']);
    // A change must say it comes from the dashboard's own page (dashboard-security.test.ts shows why).
    const put = (path: string): Promise<Response> => fetch(url + path, { method: 'PUT', headers: { origin: new URL(url).origin } });

    const detail = (await (await fetch(`${url}api/queues/${name}`)).json()) as { partitions: number; partitionCounts: { waiting: number }[]; counts: { waiting: number } };
    expect(detail.partitions).toBe(2);
    expect(detail.partitionCounts).toHaveLength(2);
    expect(detail.partitionCounts.reduce((a, c) => a + c.waiting, 0)).toBe(detail.counts.waiting);
    const page = await (await fetch(`${url}queue?name=${name}`)).text();
    expect(page).toContain('data-rows="partitions"');

    // bull-board names a task by its partition's BullMQ queue and the job id there.
    const bull = await admin.bullmq();
    const where = async (id: string): Promise<string> => {
      const t = (await admin.task(id))!;
      return `${encodeURIComponent(bull[t.partition ?? 0]!.name)}/${encodeURIComponent(id.replace(/^\d+\./, ''))}`;
    };
    expect((await put(`board/api/queues/${await where(failed.id)}/retry`)).status).toBe(204);
    expect((await admin.task(failed.id))?.state).toBe('waiting');
    const again = await put(`board/api/queues/${await where(failed.id)}/retry`);
    expect(again.status).toBe(409);
    expect(((await again.json()) as { message: string }).message).toMatch(/cannot retry task .*: there is no such task, or it is not a failed or completed task/);
    expect((await put(`api/queues/${name}/tasks/${later}/promote`)).status).toBe(200);
    expect((await admin.task(later))?.state).toBe('waiting');
    const target = await where(later);
    expect((await put(`board/api/queues/${target}/clean`)).status).toBe(204);
    expect(await admin.task(later)).toBeUndefined();

    // What would go around asyncq's bookkeeping is refused (dashboard-board.test.ts has the rest).
    for (const path of [`board/api/queues/${encodeURIComponent(bull[0]!.name)}/obliterate`, `board/api/queues/${encodeURIComponent(bull[0]!.name)}/concurrency`]) {
      const r = await put(path);
      expect(r.status, path).toBe(403);
      expect(((await r.json()) as { message: string }).message).toMatch(/^bull-board here cannot add, duplicate or edit tasks, obliterate a queue/);
    }
    expect((await put(`api/queues/${name}/tasks/1/explode`)).status).toBe(404);
    // Cancel (issue 20): a waiting task, then again, then one the queue does not have.
    const victim = (await admin.tasks('waiting', 0, 0))[0]!.id;
    const cancelled = await put(`api/queues/${name}/tasks/${victim}/cancel`);
    expect(cancelled.status).toBe(200);
    expect(((await cancelled.json()) as { message: string }).message).toBe(`${name}: cancelled task ${victim} (it was waiting)`);
    expect((await admin.task(victim))?.state).toBe('cancelled');
    const twice = await put(`api/queue/tasks/cancel?name=${name}&id=${victim}`);
    expect(twice.status).toBe(409);
    expect(((await twice.json()) as { error: string }).error).toBe(`${name}: cannot cancel task ${victim}: it has already been cancelled`);
    expect(((await (await put(`api/queues/${name}/tasks/0.999/cancel`)).json()) as { error: string }).error).toMatch(/cannot cancel task 0\.999: there is no such task/);
    await q.put({ i: 4 }, { attempts: 1 });
    expect(await admin.state()).toMatchObject({ paused: false });
    expect(await admin.counts()).toMatchObject({ waiting: 4, failed: 0, delayed: 0 });
    await stop(proc);
  });

  it('says in one line when the port is taken, Redis is unreachable or --auth is malformed', async () => {
    const busy = createServer();
    await new Promise<void>((r) => busy.listen(0, '127.0.0.1', r));
    const port = (busy.address() as { port: number }).port;
    try {
      const r = await runCli(['dashboard', '--port', String(port)]);
      expect(r.code).toBe(1);
      expect(r.stderr.trim()).toBe(`asyncq: port ${port} on 127.0.0.1 is in use: choose another with --port`);
    } finally {
      await new Promise((r) => busy.close(r));
    }
    // The port is closed now: no Redis there.
    const gone = await runCli(['dashboard', '--port', '0', '--redis-url', `redis://:pw@127.0.0.1:${port}`], { timeout: 15_000 });
    expect(gone.code).toBe(1);
    expect(gone.stderr.trim()).toMatch(new RegExp(`^asyncq: cannot reach Redis at 127\\.0\\.0\\.1:${port}[^\\n]*$`));
    expect(gone.stderr).not.toContain('pw');
    const bad = await runCli(['dashboard', '--port', '0', '--auth', 'no-colon-secret']);
    expect(bad.code).toBe(1);
    expect(bad.stderr.trim()).toBe('asyncq: --auth (or ASYNCQ_DASHBOARD_AUTH) must be user:password, both non-empty');
  });
});
