import { join } from 'node:path';
import { tmpdir } from 'node:os';
import type { Dialog, Page } from 'playwright-core';
import { describe, expect, it } from 'vitest';
import { Queue, QueueAdmin, WorkerRegistry } from '@asyncq/core';
import { Redis } from 'ioredis';
import { RedisServer, redisUrl, uniqueName } from '@asyncq/test-support';
import { browserForFile, localContext } from './chromium.js';
import { dropPrefix } from './cli-test-helpers.js';
import { runCli, startCli, type CliProcess } from './cli-process.js';

// The operator's console (issue 23): every action as a button on the asyncq page, the failures
// view, the many-queue table and an outage, in a real browser. Each test works under a prefix of
// its own, so the table shows its queues only, and drops its keys after.

// The README's screenshots: refreshed with ASYNCQ_UPDATE_SCREENSHOT=1, else taken to a temporary file.
const shot = (file: string): string =>
  process.env.ASYNCQ_UPDATE_SCREENSHOT ? new URL(`../../../docs/${file}`, import.meta.url).pathname : join(tmpdir(), `asyncq-${process.pid}-${file}`);

const browser = browserForFile();

/** `asyncq dashboard` as a subprocess on a free port; the URL it prints. */
async function dashboard(args: string[], env: Record<string, string> = {}): Promise<{ proc: CliProcess; url: string }> {
  const proc = startCli(['dashboard', '--port', '0', '--interval', '500ms', ...args], env);
  const m = await proc.waitFor(/asyncq dashboard on (http:\/\/127\.0\.0\.1:\d+\/)/, 30_000);
  return { proc, url: m[1]! };
}

async function stop(proc: CliProcess): Promise<void> {
  proc.kill('SIGTERM');
  expect(await proc.exited).toBe(0);
}

/** Answers the next confirmation dialog with `accept`, resolving with its message. */
function nextDialog(page: Page, accept = true): Promise<string> {
  return new Promise((resolve) => {
    page.once('dialog', (d: Dialog) => {
      resolve(d.message());
      void (accept ? d.accept() : d.dismiss());
    });
  });
}

/** Clicks `button` and returns the confirmation it asked for (accepted unless told). */
async function confirmed(page: Page, click: () => Promise<void>, accept = true): Promise<string> {
  const asked = nextDialog(page, accept);
  await click();
  return asked;
}

describe('asyncq dashboard, the console', () => {
  it('runs every action of the CLI from the queue page, confirming destructive ones with the count, and Redis changes as clicked', { timeout: 90_000 }, async () => {
    const prefix = uniqueName('dashact');
    const name = 'jobs';
    const q = new Queue(name, { connection: redisUrl(), prefix });
    const admin = new QueueAdmin(name, { connection: redisUrl(), prefix });
    const registry = new WorkerRegistry(name, { connection: redisUrl(), prefix });
    let proc: CliProcess | undefined;
    const ctx = (await localContext(browser())).ctx;
    try {
      for (let i = 0; i < 8; i++) await q.put({ i }, { attempts: 1 });
      const later = await q.put({ later: true }, { delay: 600_000 });
      for (let i = 0; i < 3; i++) await (await q.getTask()).fail(new Error(`timeout after ${100 + i} ms`));
      await (await q.getTask()).done('ok');
      // waiting 4, delayed 1, failed 3, completed 1
      const started = await dashboard(['--allow-actions', '--prefix', prefix]);
      proc = started.proc;
      const url = started.url;
      const page = await ctx.newPage();
      const notices: string[] = [];
      await page.goto(`${url}queue?name=${name}`);
      const field = (f: string): Promise<string | null> => page.locator(`[data-f="${f}"]`).first().textContent();
      const notice = async (): Promise<string> => (await page.locator('#notice').textContent()) ?? '';
      const click = (action: string) => () => page.locator(`button[data-action="${action}"]`).click();
      await expect.poll(() => field('failed')).toBe('3');

      // Retry all failed: asks, naming the count; dismissed, nothing happens; accepted, all three retry.
      expect(await confirmed(page, click('retry-failed'), false)).toBe(`Retry all 3 failed tasks of ${name}?`);
      expect((await admin.counts()).failed).toBe(3);
      expect(await confirmed(page, click('retry-failed'))).toBe(`Retry all 3 failed tasks of ${name}?`);
      await expect.poll(async () => (await admin.counts()).failed).toBe(0);
      await expect.poll(notice).toBe(`${name}: retrying 3 failed tasks`);
      notices.push(await notice());
      expect((await admin.counts()).waiting).toBe(7);

      // Pause and resume: no question, Redis flips.
      await click('pause')();
      await expect.poll(async () => (await admin.state()).paused).toBe(true);
      await expect.poll(() => field('delivery')).toBe('paused: gets wait');
      await click('resume')();
      await expect.poll(async () => (await admin.state()).paused).toBe(false);

      // Scale: the desired count goes to Redis.
      await page.locator('#scale-workers').fill('4');
      await click('scale')();
      await expect.poll(() => registry.desired()).toBe(4);

      // One task at a time from the task list: promote the delayed one, cancel one, remove one, retry one.
      const rowButton = (id: string, label: string) => page.locator(`tr[data-task="${id}"] button`, { hasText: label });
      await page.locator('#task-state').selectOption('delayed');
      await rowButton(later, 'promote').click();
      await expect.poll(async () => (await admin.task(later))?.state).toBe('waiting');
      await page.locator('#task-state').selectOption('waiting');
      const [first, second] = (await admin.tasks('waiting', 0, 1)).map((t) => t.id);
      await expect.poll(() => rowButton(first!, 'cancel').count()).toBe(1);
      expect(await confirmed(page, () => rowButton(first!, 'cancel').click())).toMatch(new RegExp(`^cancel task ${first} \\(task\\) of ${name}\\?`));
      await expect.poll(async () => (await admin.task(first!))?.state).toBe('cancelled');
      await expect.poll(() => rowButton(second!, 'remove').count()).toBe(1);
      expect(await confirmed(page, () => rowButton(second!, 'remove').click())).toMatch(new RegExp(`^remove task ${second} `));
      await expect.poll(async () => admin.task(second!)).toBeUndefined();
      await (await q.getTask()).fail(new Error('once more'));
      const failedId = (await admin.tasks('failed', 0, 0))[0]!.id;
      await page.locator('#task-state').selectOption('failed');
      await expect.poll(() => rowButton(failedId, 'retry').count()).toBe(1);
      await rowButton(failedId, 'retry').click();
      await expect.poll(async () => (await admin.task(failedId))?.state).toBe('waiting');

      // Clean completed older than 0 min: asks naming how many are completed now.
      await expect.poll(() => field('completed')).toBe('1');
      await page.locator('#clean-state').selectOption('completed');
      await page.locator('#clean-minutes').fill('0');
      expect(await confirmed(page, click('clean'))).toBe(`Remove the completed tasks of ${name} older than 0 min (of 1 completed task now)? This cannot be undone.`);
      await expect.poll(async () => (await admin.counts()).completed).toBe(0);

      // Purge waiting and delayed: the count is the page's, and Redis agrees.
      const c = await admin.counts();
      await expect.poll(() => field('waiting')).toBe(String(c.waiting));
      await expect.poll(() => field('delayed')).toBe(String(c.delayed));
      expect(await confirmed(page, click('purge'))).toBe(`Remove ${c.waiting + c.delayed} tasks (waiting, delayed) of ${name}? This cannot be undone.`);
      await expect.poll(async () => (await admin.counts()).waiting).toBe(0);

      // Shutdown (asks) and reopen.
      expect(await confirmed(page, click('shutdown'))).toMatch(new RegExp(`^Shut down ${name}\\? Puts fail until it is reopened`));
      await expect.poll(async () => (await admin.state()).shutdown).not.toBe('');
      await expect(q.put({ late: true })).rejects.toThrow();
      await click('reopen')();
      await expect.poll(async () => (await admin.state()).shutdown).toBe('');
      await q.put({ again: true });
      expect(notices).toHaveLength(1);
    } finally {
      await ctx.close();
      if (proc) await stop(proc);
      await Promise.all([q.close(), admin.close(), registry.close()]);
      await dropPrefix(prefix);
    }
  });

  it('groups failures by normalised error across queues, and retries or removes a whole group', { timeout: 90_000 }, async () => {
    const prefix = uniqueName('dashfail');
    const queues = ['billing', 'mail'].map((n) => new Queue(n, { connection: redisUrl(), prefix }));
    const admins = ['billing', 'mail'].map((n) => new QueueAdmin(n, { connection: redisUrl(), prefix }));
    let proc: CliProcess | undefined;
    const ctx = (await localContext(browser())).ctx;
    try {
      const fail = async (qi: number, message: string): Promise<void> => {
        await queues[qi]!.put({ m: message }, { attempts: 1 });
        await (await queues[qi]!.getTask()).fail(new Error(message));
      };
      for (let i = 0; i < 5; i++) await fail(0, `card 4242${i}9 declined after ${300 + i} ms`);
      for (let i = 0; i < 2; i++) await fail(0, `user 8c1f0e2a-93b1-4d7e-a1b2-00000000000${i} not found`);
      for (let i = 0; i < 3; i++) await fail(1, `smtp 5${i}1 mailbox full`);
      const started = await dashboard(['--allow-actions', '--prefix', prefix]);
      proc = started.proc;
      const url = started.url;
      const page = await ctx.newPage();
      await page.goto(`${url}failures`);
      const rows = page.locator('[data-rows="failures"] tr');
      await expect.poll(() => rows.count()).toBe(3);
      const texts = await rows.allTextContents();
      expect(texts[0]).toMatch(/^billing5card <n> declined after <n> ms\d{4}-/);
      expect(texts[1]).toMatch(/^mail3smtp <n> mailbox full/);
      expect(texts[2]).toMatch(/^billing2user <id> not found/);
      expect(await page.locator('[data-f="read"]').textContent()).toBe('10 failed tasks in 3 groups');
      await page.screenshot({ path: shot('dashboard-failures.png') });

      // Retry the biggest group: the question names its count; the five leave failed.
      const group = (i: number) => rows.nth(i);
      expect(await confirmed(page, () => group(0).getByRole('button', { name: 'retry 5' }).click())).toBe(
        'Retry 5 failed tasks of billing with the error "card <n> declined after <n> ms"?',
      );
      await expect.poll(async () => (await admins[0]!.counts()).failed).toBe(2);
      expect((await admins[0]!.counts()).waiting).toBe(5);
      await expect.poll(() => rows.count()).toBe(2);

      // One queue's own view, and remove a group there.
      await page.goto(`${url}failures?name=mail`);
      await expect.poll(() => rows.count()).toBe(1);
      expect(await confirmed(page, () => group(0).getByRole('button', { name: 'remove 3' }).click())).toBe(
        'Remove 3 failed tasks of mail with the error "smtp <n> mailbox full"? This cannot be undone.',
      );
      await expect.poll(async () => (await admins[1]!.counts()).failed).toBe(0);
      expect((await admins[1]!.counts()).waiting).toBe(0);
      await expect.poll(() => rows.allTextContents()).toEqual(['no failed task']);
    } finally {
      await ctx.close();
      if (proc) await stop(proc);
      await Promise.all([...queues, ...admins].map((x) => x.close()));
      await dropPrefix(prefix);
    }
  });

  it('shows 200 queues in one sortable, filterable table from one request a poll', { timeout: 90_000 }, async () => {
    const prefix = uniqueName('dash200');
    const r = new Redis(redisUrl(), { maxRetriesPerRequest: 2 });
    const names = Array.from({ length: 200 }, (_, i) => `q${String(i).padStart(3, '0')}`);
    let proc: CliProcess | undefined;
    const ctx = (await localContext(browser())).ctx;
    try {
      // One shared connection for the 200 queues' puts.
      const seed = async (n: string, i: number): Promise<void> => {
        const q = new Queue(n, { connection: r, prefix });
        await q.putMany(Array.from({ length: (i % 7) + 1 }, (_, k) => ({ item: { k }, opts: { attempts: 1 } })));
        if (i % 10 === 0) await (await q.getTask()).fail(new Error('boom'));
        if (i === 42) {
          const a = new QueueAdmin(n, { connection: r, prefix });
          await a.pause();
          await a.close();
        }
        await q.close();
      };
      for (let i = 0; i < names.length; i += 20) await Promise.all(names.slice(i, i + 20).map((n, j) => seed(n, i + j)));
      const started = await dashboard(['--prefix', prefix]);
      proc = started.proc;
      const url = started.url;
      const page = await ctx.newPage();
      const requests: string[] = [];
      page.on('request', (req) => void requests.push(new URL(req.url()).pathname + new URL(req.url()).search));
      await page.goto(url);
      const rows = page.locator('[data-rows="queues"] tr');
      await expect.poll(() => rows.count()).toBe(200);
      expect(await rows.first().locator('td').allTextContents()).toEqual(['q000', 'idle', '0', '0', '1', '0.0', '—', '0'])
      expect(await page.locator('tr[data-queue="q001"] td').allTextContents()).toEqual(['q001', 'no workers', '2', '2', '0', '0.0', expect.stringMatching(/^\d+ s$/), '0']);
      expect(await page.locator('tr[data-queue="q042"] td').nth(1).textContent()).toBe('paused');

      // Polls: over a few intervals, each is one request for every queue.
      requests.length = 0;
      await page.waitForTimeout(2600);
      const polls = requests.filter((p) => p.startsWith('/api/'));
      expect(polls.length).toBeGreaterThanOrEqual(2);
      expect(new Set(polls)).toEqual(new Set(['/api/queues']));

      // Sort by depth (most first), then filter by name.
      await page.locator('button[data-sort="2"]').click();
      await expect.poll(() => rows.first().locator('td').nth(2).textContent()).toBe('7');
      await page.locator('#filter').fill('q19');
      await expect.poll(() => rows.count()).toBe(10);
      expect(await page.locator('#shown').textContent()).toBe('10 of 200 queues');
      await page.locator('#filter').fill('');
      await expect.poll(() => rows.count()).toBe(200);
      // The screenshot for the README: the top of the table.
      await page.locator('button[data-sort="0"]').click();
      await page.screenshot({ path: shot('dashboard-queues.png') });
      // Each queue has its own URL.
      await page.locator('a', { hasText: 'q042' }).click();
      await expect.poll(() => page.url()).toBe(`${url}queue?name=q042`);
      expect(await page.locator('h2').first().textContent()).toBe('q042');
      expect(await page.locator('[data-f="delivery"]').textContent()).toBe('paused: gets wait');
    } finally {
      await ctx.close();
      if (proc) await stop(proc);
      r.disconnect();
      await dropPrefix(prefix);
    }
  });

  it('says so on the page when Redis goes away, and recovers when it is back', { timeout: 90_000 }, async () => {
    const redis = await RedisServer.start({ aof: true });
    const q = new Queue('orders', { connection: redis.url });
    let proc: CliProcess | undefined;
    const ctx = (await localContext(browser())).ctx;
    try {
      await q.put({ n: 1 });
      await q.close();
      const started = await dashboard(['--redis-url', redis.url]);
      proc = started.proc;
      const url = started.url;
      const page = await ctx.newPage();
      await page.goto(url);
      const status = page.locator('#status');
      await expect.poll(() => status.textContent()).toMatch(/^updated /);
      await redis.shutdown();
      await expect.poll(() => status.textContent(), { timeout: 20_000 }).toMatch(/^not updated: cannot read the queues from Redis: /);
      expect(await status.getAttribute('class')).toMatch(/stale/);
      await redis.relaunch();
      await expect.poll(() => status.textContent(), { timeout: 30_000 }).toMatch(/^updated /);
    } finally {
      await ctx.close();
      if (proc) await stop(proc);
    }
  });

  it('gives a read-only user no buttons and 403, the admin both; refuses actions without auth on an open address', { timeout: 90_000 }, async () => {
    const prefix = uniqueName('dashrole');
    const q = new Queue('roles', { connection: redisUrl(), prefix });
    const admin = new QueueAdmin('roles', { connection: redisUrl(), prefix });
    let proc: CliProcess | undefined;
    try {
      await q.put({ n: 1 }, { attempts: 1 });
      await (await q.getTask()).fail(new Error('x'));
      const started = await dashboard(['--allow-actions', '--prefix', prefix], { ASYNCQ_DASHBOARD_AUTH: 'boss:pw1', ASYNCQ_DASHBOARD_READ_AUTH: 'viewer:pw2' });
      proc = started.proc;
      const url = started.url;
      expect(proc.stdout).toMatch(/actions allowed, basic auth: boss \(admin\), viewer \(read-only\)/);
      const as = (user: string): Record<string, string> => ({ authorization: `Basic ${Buffer.from(user).toString('base64')}`, origin: new URL(url).origin });
      const retryAll = (user: string): Promise<Response> => fetch(`${url}api/queue/actions/retry-failed?name=roles`, { method: 'PUT', headers: as(user) });
      const viewer = await retryAll('viewer:pw2');
      expect(viewer.status).toBe(403);
      expect(((await viewer.json()) as { error: string }).error).toBe('read-only user: log in as the admin user (--auth) to act on queues and tasks');
      expect((await admin.counts()).failed).toBe(1);
      const page = await (await fetch(`${url}queue?name=roles`, { headers: as('viewer:pw2') })).text();
      expect(page).not.toContain('data-action=');
      expect(page).toContain('read-only');
      expect(await (await fetch(`${url}queue?name=roles`, { headers: as('boss:pw1') })).text()).toContain('data-action="retry-failed"');
      expect((await retryAll('boss:pw1')).status).toBe(200);
      expect((await admin.counts()).failed).toBe(0);
      // bull-board's Retry all goes through asyncq's admin, and the viewer cannot.
      await (await q.getTask()).fail(new Error('y'));
      const bull = encodeURIComponent((await admin.bullmq())[0]!.name);
      expect((await fetch(`${url}board/api/queues/${bull}/retry/failed`, { method: 'PUT', headers: as('viewer:pw2') })).status).toBe(403);
      expect((await fetch(`${url}board/api/queues/${bull}/retry/failed`, { method: 'PUT', headers: as('boss:pw1') })).status).toBe(200);
      expect(await admin.counts()).toMatchObject({ failed: 0, waiting: 1 });
      await stop(proc);
      proc = undefined;

      const open = await runCli(['dashboard', '--port', '0', '--host', '0.0.0.0', '--allow-actions', '--prefix', prefix]);
      expect(open.code).toBe(1);
      expect(open.stderr.trim()).toBe(
        'asyncq: --allow-actions on 0.0.0.0 without --auth would let anyone who reaches the port remove tasks: add --auth, or --allow-actions-without-auth if a proxy in front authenticates',
      );
      const lonely = await runCli(['dashboard', '--port', '0', '--read-auth', 'viewer:pw2']);
      expect(lonely.code).toBe(1);
      expect(lonely.stderr.trim()).toBe('asyncq: --read-auth needs --auth (or ASYNCQ_DASHBOARD_AUTH): the admin user beside the read-only one');
    } finally {
      if (proc) await stop(proc);
      await Promise.all([q.close(), admin.close()]);
      await dropPrefix(prefix);
    }
  });
});
