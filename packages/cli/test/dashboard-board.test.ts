import type { BrowserContext, Locator, Page } from 'playwright-core';
import { describe, expect, it, onTestFailed } from 'vitest';
import { Queue, QueueAdmin } from '@asyncq/core';
import { defineHandlers, Worker } from '@asyncq/worker';
import { Redis } from 'ioredis';
import { redisUrl, sleep, track, uniqueName } from '@asyncq/test-support';
import { browserForFile, localContext } from './chromium.js';
import { dropPrefixAfter } from './cli-test-helpers.js';
import { runCli, startCli, type CliProcess } from './cli-process.js';

// bull-board inside `asyncq dashboard` (issue 23): with --allow-actions it shows the buttons whose
// changes run through asyncq's admin and hides the rest, and clicking one changes Redis as the
// asyncq command would (join's bookkeeping included); without it, or for the read-only user, it
// shows none; and a task's "processed by" is its worker's asyncq id. Each test works under a
// prefix of its own (bull-board's Pause all must not reach other tests' queues), dropped after it
// unless it failed.

const browser = browserForFile();

/** `asyncq dashboard` on a free port, polling every 500 ms; the URL it prints. */
async function dashboard(args: string[]): Promise<{ proc: CliProcess; url: string }> {
  const proc = startCli(['dashboard', '--port', '0', '--interval', '500ms', ...args]);
  const m = await proc.waitFor(/asyncq dashboard on (http:\/\/127\.0\.0\.1:\d+\/)/, 30_000);
  return { proc, url: m[1]! };
}

async function stop(proc: CliProcess): Promise<void> {
  proc.kill('SIGTERM');
  expect(await proc.exited).toBe(0);
}

/** bull-board 9.10.1 draws a job's buttons as lucide icons only: which icon is which action. */
const JOB_ICONS: Record<string, string> = {
  'refresh-cw': 'retry',
  'corner-up-left': 'promote',
  'trash-2': 'clean',
  files: 'duplicate',
  pencil: 'update data',
  clock: 'reschedule',
  'arrow-up-down': 'change priority',
  'list-x': 'remove children',
};

/** The job buttons in `scope` (bull-board's `ul.jobActions-*`), by action, drawn or only those visible. */
function jobButtons(scope: Locator, only: 'visible' | 'drawn'): Promise<string[]> {
  return scope.evaluateAll(
    (items, [icons, visible]) =>
      items
        .filter((li) => !visible || li.checkVisibility())
        .map((li) => {
          const icon = [...(li.querySelector('svg')?.classList ?? [])].filter((c) => c.startsWith('lucide-')).pop() ?? '?';
          return (icons as Record<string, string>)[icon.slice('lucide-'.length)] ?? icon;
        }),
    [JOB_ICONS, only === 'visible'] as const,
  );
}

/** The visible texts of what `scope` matches (buttons, menu items). */
function visibleTexts(scope: Locator): Promise<string[]> {
  return scope.evaluateAll((els) => els.filter((e) => e.checkVisibility()).map((e) => e.textContent?.trim() ?? ''));
}

/** Opens a bull-board menu with `trigger`, returns its visible items and how many it drew, and closes it. */
async function menuItems(page: Page, trigger: Locator): Promise<{ visible: string[]; drawn: number }> {
  await trigger.click();
  const items = page.locator('[role="menu"][data-open] > [role="menuitem"]');
  await expect.poll(() => items.count()).toBeGreaterThan(0);
  const found = { visible: await visibleTexts(items), drawn: await items.count() };
  await page.keyboard.press('Escape');
  await expect.poll(() => page.locator('[role="menu"][data-open]').count()).toBe(0);
  return found;
}

/**
 * Clicks `control`, confirms bull-board's question, and resolves with the status of the PUT it sent
 * and the message of its answer: asyncq's own, where the change ran through asyncq's admin.
 */
async function confirmed(page: Page, control: Locator): Promise<{ status: number; message?: string }> {
  const sent = page.waitForResponse((r) => r.request().method() === 'PUT' && r.url().includes('/board/api/'));
  await control.click();
  await page.getByRole('alertdialog').getByRole('button', { name: 'Confirm' }).click();
  const r = await sent;
  return { status: r.status(), message: r.status() === 204 ? undefined : ((await r.json()) as { message?: string }).message };
}

describe("bull-board inside asyncq's dashboard", () => {
  it('with --allow-actions shows only the buttons that work, and each changes Redis as asyncq does', { timeout: 120_000 }, async () => {
    const prefix = uniqueName('dashboard');
    const name = uniqueName('jobs');
    const drop = dropPrefixAfter(prefix);
    const q = track(new Queue(name, { connection: redisUrl(), prefix }), name);
    const admin = track(new QueueAdmin(name, { connection: redisUrl(), prefix }), name);
    let proc: CliProcess | undefined;
    let ctx: BrowserContext | undefined;
    try {
      for (let i = 0; i < 8; i++) await q.put({ i }, { attempts: 1 });
      await q.put({ later: true }, { delay: 600_000 });
      for (let i = 0; i < 3; i++) await (await q.getTask()).fail(new Error(`boom ${i}`));
      await (await q.getTask()).done('ok');
      const completedAt = Date.now();
      expect(await admin.counts()).toMatchObject({ waiting: 4, delayed: 1, failed: 3, completed: 1, unfinished: 5 });

      const started = await dashboard(['--allow-actions', '--prefix', prefix]);
      proc = started.proc;
      const board = `${started.url}board/`;
      const bull = encodeURIComponent((await admin.bullmq())[0]!.name);
      ctx = (await localContext(browser())).ctx;
      const page = await ctx.newPage();
      const jobs = page.locator('ul[class*="jobActions-"] > li');
      const queueButtons = page.locator('ul[class*="queueActions-"] button');
      const tab = async (status: string, cards: number): Promise<void> => {
        await page.goto(`${board}queue/${bull}?status=${status}`);
        await expect.poll(() => page.locator('ul[class*="jobActions-"]').count()).toBe(cards);
      };

      // Failed: bull-board draws retry, duplicate, update data and clean; duplicate and update data are hidden.
      await tab('failed', 3);
      expect(await jobButtons(page.locator('ul[class*="jobActions-"]').first().locator('> li'), 'drawn')).toEqual(['retry', 'duplicate', 'update data', 'clean']);
      expect(await jobButtons(jobs, 'visible')).toEqual(Array(3).fill(['retry', 'clean']).flat());
      expect(await visibleTexts(queueButtons)).toEqual(['Retry all', 'Clean all']);
      // The queue's menu: Add job, Set concurrency and Obliterate are drawn but hidden; no rate limit (asyncq has its own limits).
      expect(await menuItems(page, page.locator('[class*="trailing-"] button[aria-haspopup="menu"]'))).toEqual({ visible: ['Retry all 3 failed jobs', 'Pause', 'Empty'], drawn: 6 });
      // Queue info: no button to set BullMQ's concurrency.
      await page.getByRole('button', { name: 'Queue info' }).click();
      await expect.poll(() => page.getByRole('dialog').getByText('Global concurrency').count()).toBe(1);
      expect(await visibleTexts(page.getByRole('dialog').locator('dd button'))).toEqual([]);
      expect(await page.getByRole('dialog').getByText('Rate limit').count()).toBe(0);
      await page.keyboard.press('Escape');

      await tab('delayed', 1);
      expect(await jobButtons(jobs, 'drawn')).toEqual(['promote', 'reschedule', 'duplicate', 'update data', 'clean']);
      expect(await jobButtons(jobs, 'visible')).toEqual(['promote', 'clean']);
      expect(await visibleTexts(queueButtons)).toEqual(['Promote all', 'Clean all']);
      await tab('completed', 1);
      expect(await jobButtons(jobs, 'visible')).toEqual(['retry', 'clean']);
      expect(await visibleTexts(queueButtons)).toEqual(['Retry all', 'Clean all']);
      await tab('waiting', 4);
      expect(await jobButtons(jobs, 'visible')).toEqual(Array(4).fill('clean'));
      // The overview: Pause all and Retry failed in all queues work; the queue card's menu is the queue's.
      await page.goto(board);
      expect((await menuItems(page, page.locator('[class*="headerControls-"] button'))).visible).toEqual(['Pause all', 'Retry 3 failed jobs in all queues', 'Sort by']);
      expect((await menuItems(page, page.locator('[class*="headerContext-"] button'))).visible).toEqual(['Retry all 3 failed jobs', 'Pause', 'Empty']);

      // Retry all: the three failed tasks wait again, and count as unfinished for join.
      await tab('failed', 3);
      expect(await confirmed(page, queueButtons.filter({ hasText: 'Retry all' }))).toEqual({ status: 200, message: `${name}: retrying 3 failed tasks` });
      expect(await admin.counts()).toMatchObject({ waiting: 7, failed: 0, unfinished: 8 });
      // A task's Retry.
      await (await q.getTask()).fail(new Error('once more'));
      await tab('failed', 1);
      expect(await confirmed(page, jobs.filter({ has: page.locator('svg.lucide-refresh-cw') }).locator('button'))).toEqual({ status: 204 });
      expect(await admin.counts()).toMatchObject({ waiting: 7, failed: 0, unfinished: 8 });
      // Promote all.
      await tab('delayed', 1);
      expect(await confirmed(page, queueButtons.filter({ hasText: 'Promote all' }))).toEqual({ status: 200, message: `${name}: promoted 1 delayed task` });
      expect(await admin.counts()).toMatchObject({ waiting: 8, delayed: 0, unfinished: 8 });
      // Pause, then Resume, from the queue's menu: asyncq's pause, which bull-board shows.
      const menu = page.locator('[class*="trailing-"] button[aria-haspopup="menu"]');
      await menu.click();
      expect(await confirmed(page, page.getByRole('menuitem', { name: 'Pause' }))).toEqual({ status: 200, message: `${name}: paused (gets wait; puts still succeed)` });
      expect((await admin.state()).paused).toBe(true);
      await expect.poll(() => page.getByText('[ Paused ]').count()).toBe(1);
      await menu.click();
      expect(await confirmed(page, page.getByRole('menuitem', { name: 'Resume' }))).toEqual({ status: 200, message: `${name}: resumed` });
      expect((await admin.state()).paused).toBe(false);
      // A waiting task's Clean removes it, and join stops counting it.
      await tab('waiting', 8);
      expect(await confirmed(page, jobs.filter({ has: page.locator('svg.lucide-trash-2') }).first().locator('button'))).toEqual({ status: 204 });
      expect(await admin.counts()).toMatchObject({ waiting: 7, unfinished: 7 });
      // Clean all completed: bull-board keeps what finished in the last 5 s, and so does asyncq here.
      await sleep(completedAt + 5500 - Date.now());
      await tab('completed', 1);
      expect(await confirmed(page, queueButtons.filter({ hasText: 'Clean all' }))).toEqual({ status: 200, message: `${name}: removed 1 completed task older than 5 s` });
      expect(await admin.counts()).toMatchObject({ completed: 0, unfinished: 7 });
      // Empty: the waiting tasks go, as asyncq purge takes them; nothing is unfinished, so join returns.
      await menu.click();
      expect(await confirmed(page, page.getByRole('menuitem', { name: 'Empty' }))).toEqual({ status: 200, message: `${name}: removed 7 tasks (waiting)` });
      expect(await admin.counts()).toMatchObject({ waiting: 0, unfinished: 0 });
      const joined = await runCli(['join', name, '--prefix', prefix, '--timeout', '5s']);
      expect(joined.code, joined.stderr).toBe(0);
    } finally {
      await ctx?.close();
      if (proc) await stop(proc);
      await drop();
    }
  });

  it('refuses and hides what goes around asyncq, and shows no buttons when read-only or to the read-only user', { timeout: 90_000 }, async () => {
    const prefix = uniqueName('dashboard');
    const name = uniqueName('jobs');
    const drop = dropPrefixAfter(prefix);
    const q = track(new Queue(name, { connection: redisUrl(), prefix }), name);
    const admin = track(new QueueAdmin(name, { connection: redisUrl(), prefix }), name);
    const procs: CliProcess[] = [];
    const contexts: BrowserContext[] = [];
    try {
      for (let i = 0; i < 3; i++) await q.put({ i }, { attempts: 1 });
      await (await q.getTask()).fail(new Error('boom'));
      const bull = encodeURIComponent((await admin.bullmq())[0]!.name);
      const admins = await dashboard(['--allow-actions', '--prefix', prefix, '--auth', 'ops:pw', '--read-auth', 'viewer:pw']);
      const readOnly = await dashboard(['--prefix', prefix]);
      procs.push(admins.proc, readOnly.proc);

      // Each refused change, asked for directly: 403 saying what to use instead; nothing changed.
      const auth = (user: string) => ({ authorization: `Basic ${Buffer.from(`${user}:pw`).toString('base64')}`, origin: new URL(admins.url).origin, 'content-type': 'application/json' });
      const refused: [string, string][] = [
        ['POST', `queues/${bull}/add`],
        ['PUT', `queues/${bull}/obliterate`],
        ['PUT', `queues/${bull}/concurrency`],
        ['PUT', `queues/${bull}/rate-limit`],
        ['PATCH', `queues/${bull}/1/update-data`],
        ['PATCH', `queues/${bull}/1/priority`],
        ['PATCH', `queues/${bull}/1/delay`],
        ['PUT', `queues/${bull}/1/remove-unprocessed-children`],
      ];
      for (const [method, path] of refused) {
        const r = await fetch(`${admins.url}board/api/${path}`, { method, headers: auth('ops'), body: '{}' });
        expect(r.status, path).toBe(403);
        expect(((await r.json()) as { message: string }).message).toMatch(/^bull-board here cannot add, duplicate or edit tasks, obliterate a queue/);
      }
      // The read-only user may not retry all, which the admin may.
      const retryAll = (user: string) => fetch(`${admins.url}board/api/queues/${bull}/retry/failed`, { method: 'PUT', headers: auth(user) });
      const viewerTry = await retryAll('viewer');
      expect(viewerTry.status).toBe(403);
      expect(((await viewerTry.json()) as { message: string }).message).toMatch(/^read-only user/);
      expect(await admin.counts()).toMatchObject({ waiting: 2, failed: 1, unfinished: 2 });

      // In the browser: buttons for the admin only.
      const failedTab = async (url: string, user?: string): Promise<Page> => {
        const { ctx } = await localContext(browser(), user ? { httpCredentials: { username: user, password: 'pw' } } : {});
        contexts.push(ctx);
        const page = await ctx.newPage();
        await page.goto(`${url}board/queue/${bull}?status=failed`);
        await expect.poll(() => page.getByText('boom').count()).toBeGreaterThan(0);
        return page;
      };
      const buttons = async (page: Page): Promise<number> =>
        (await visibleTexts(page.locator('ul[class*="jobActions-"] button, ul[class*="queueActions-"] button, [class*="trailing-"] button[aria-haspopup="menu"]'))).length;
      expect(await buttons(await failedTab(admins.url, 'ops'))).toBe(5); // retry, clean, Retry all, Clean all, the menu
      expect(await buttons(await failedTab(admins.url, 'viewer'))).toBe(0);
      expect(await buttons(await failedTab(readOnly.url))).toBe(0);
      expect((await retryAll('ops')).status).toBe(200);
      expect(await admin.counts()).toMatchObject({ waiting: 3, failed: 0, unfinished: 3 });
    } finally {
      await Promise.all(contexts.map((c) => c.close()));
      for (const p of procs) await stop(p);
      await drop();
    }
  });

  it("acts on one partition's tasks from that partition's page, and pauses the whole queue", { timeout: 60_000 }, async () => {
    const prefix = uniqueName('dashboard');
    const name = uniqueName('parted');
    const drop = dropPrefixAfter(prefix);
    const q = track(new Queue(name, { connection: redisUrl(), prefix, partitions: 2 }), name);
    const admin = track(new QueueAdmin(name, { connection: redisUrl(), prefix }), name);
    let proc: CliProcess | undefined;
    try {
      // Keyed, so that both partitions get some of each (a key picks its partition).
      for (let i = 0; i < 8; i++) await q.put({ i }, { attempts: 1, key: `k${i}` });
      for (let i = 0; i < 4; i++) await q.put({ later: i }, { delay: 600_000, key: `d${i}` });
      for (let i = 0; i < 4; i++) await (await q.getTask()).fail(new Error(`boom ${i}`));
      const before = await admin.partitionCounts();
      expect(before.map((c) => c.failed).every((n) => n > 0)).toBe(true);
      expect(before.map((c) => c.delayed).every((n) => n > 0)).toBe(true);
      const started = await dashboard(['--allow-actions', '--prefix', prefix]);
      proc = started.proc;
      const bull = (await admin.bullmq()).map((b) => encodeURIComponent(b.name));
      const put = async (path: string): Promise<{ message: string }> => {
        const r = await fetch(`${started.url}board/api/${path}`, { method: 'PUT', headers: { origin: new URL(started.url).origin } });
        expect(r.status, path).toBe(200);
        return (await r.json()) as { message: string };
      };

      expect((await put(`queues/${bull[0]}/retry/failed`)).message).toBe(`${name} partition 0: retrying ${before[0]!.failed} failed task${before[0]!.failed === 1 ? '' : 's'}`);
      const retried = await admin.partitionCounts();
      expect(retried.map((c) => c.failed)).toEqual([0, before[1]!.failed]);
      expect(retried[0]!.waiting).toBe(before[0]!.waiting + before[0]!.failed);
      await put(`queues/${bull[1]}/promote`);
      expect((await admin.partitionCounts()).map((c) => c.delayed)).toEqual([before[0]!.delayed, 0]);
      await put(`queues/${bull[1]}/empty`);
      const emptied = await admin.partitionCounts();
      expect(emptied.map((c) => c.waiting)).toEqual([retried[0]!.waiting, 0]);
      expect((await admin.counts()).unfinished).toBe(emptied[0]!.waiting + emptied[0]!.delayed);
      // One pause for the whole asyncq queue: bull-board shows both partitions paused.
      await put(`queues/${bull[1]}/pause`);
      expect((await admin.state()).paused).toBe(true);
      const listed = (await (await fetch(`${started.url}board/api/queues`)).json()) as { queues: { isPaused: boolean }[] };
      expect(listed.queues.map((b) => b.isPaused)).toEqual([true, true]);
      await put(`queues/${bull[0]}/resume`);
      expect((await admin.state()).paused).toBe(false);
    } finally {
      if (proc) await stop(proc);
      await drop();
    }
  });

  it("names an active task's worker by the id asyncq workers lists, not by its lease", { timeout: 60_000 }, async () => {
    const prefix = uniqueName('dashboard');
    const name = uniqueName('jobs');
    const drop = dropPrefixAfter(prefix);
    const q = track(new Queue(name, { connection: redisUrl(), prefix }), name);
    const admin = track(new QueueAdmin(name, { connection: redisUrl(), prefix }), name);
    let proc: CliProcess | undefined;
    let ctx: BrowserContext | undefined;
    let release = (): void => {};
    const held = new Promise<void>((r) => (release = r));
    const worker = new Worker(name, defineHandlers({ task: async () => held }), { connection: redisUrl(), prefix, concurrency: 1, heartbeatMs: 250, handleSignals: false });
    const running = worker.run();
    try {
      await q.put({ hold: true });
      await expect.poll(async () => (await admin.tasks('active', 0, 0)).length).toBe(1);
      const lease = (await admin.tasks('active', 0, 0))[0]!.holder!;
      const listed = await runCli(['workers', name, '--prefix', prefix, '--json']);
      const [info] = JSON.parse(listed.stdout) as { id: string }[];
      expect(info?.id).toMatch(/^.+:\d+:[0-9a-f]{8}$/);
      expect(lease.startsWith(info!.id)).toBe(false);

      const started = await dashboard(['--prefix', prefix]);
      proc = started.proc;
      const bull = encodeURIComponent((await admin.bullmq())[0]!.name);
      ctx = (await localContext(browser())).ctx;
      const page = await ctx.newPage();
      await page.goto(`${started.url}board/queue/${bull}?status=active`);
      await expect.poll(() => page.getByText(`by ${info!.id}`, { exact: true }).count()).toBe(1);
      expect(await page.getByText(lease).count()).toBe(0);
      // Once its worker has gone, a finished task is named by its lease, as asyncq logs names it.
      release();
      await expect.poll(async () => (await admin.counts()).completed).toBe(1);
      await worker.close();
      await running;
      await page.goto(`${started.url}board/queue/${bull}?status=completed`);
      await expect.poll(() => page.getByText(`by lease ${lease}`, { exact: true }).count()).toBe(1);
    } finally {
      release();
      await worker.close();
      await running;
      await ctx?.close();
      if (proc) await stop(proc);
      await drop();
    }
  });
});
