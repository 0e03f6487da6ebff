// The dashboard's task page (issue 23), in a real browser against a real Redis: a task that failed
// twice and then completed, attempt by attempt (start, end, duration, worker, error, stack, its own
// log lines), reached from the queue page's task list and the failures view, with everything from
// Redis shown as text, never as HTML.
import { describe, expect, it } from 'vitest';
import { Queue } from '@asyncq/core';
import { defineHandlers, Worker } from '@asyncq/worker';
import { redisUrl, track, uniqueName } from '@asyncq/test-support';
import { browserForFile, localContext } from './chromium.js';
import { startCli } from './cli-process.js';

const browser = browserForFile();

/** An error message that is also HTML: shown escaped, it is text; unescaped, it would be a script element. */
const HOSTILE = (n: number): string => `boom <script>window.pwned = ${n}</script> on try ${n}`;

describe('asyncq dashboard: the task page', () => {
  it('shows each attempt with its start, end, duration, worker, error, stack and own log lines, escaped, linked from the task lists and failures', { timeout: 90_000 }, async () => {
    const name = uniqueName('dash-task');
    const q = track(new Queue(name, { connection: redisUrl() }), name);
    const id = await q.put({ note: '<img src=x onerror=alert(1)>' }, { name: 'flaky', attempts: 3 });
    const bad = await q.put({}, { name: 'flaky', attempts: 1 });
    const handlers = defineHandlers({
      flaky: async (_data: unknown, ctx) => {
        await ctx.log(`try ${ctx.attempt} <b>begins</b>`);
        await ctx.log(`try ${ctx.attempt} ends`);
        if (ctx.attempt < 3) throw new Error(HOSTILE(ctx.attempt));
        return 'fixed';
      },
    });
    const worker = new Worker(name, handlers, { connection: redisUrl(), concurrency: 1, heartbeatMs: 250, handleSignals: false });
    const running = worker.run();
    const proc = startCli(['dashboard', '--port', '0', '--interval', '500ms']);
    const { ctx } = await localContext(browser());
    try {
      await expect.poll(async () => await q.counts()).toMatchObject({ completed: 1, failed: 1 });
      const url = (await proc.waitFor(/asyncq dashboard on (http:\/\/127\.0\.0\.1:\d+\/)/, 30_000))[1]!;
      const href = (task: string): string => `task?queue=${encodeURIComponent(name)}&id=${encodeURIComponent(task)}`;
      const page = await ctx.newPage();
      const errors: string[] = [];
      page.on('pageerror', (e) => errors.push(e.message));

      // The queue page's list of completed tasks links each id to its page.
      await page.goto(`${url}queue?name=${encodeURIComponent(name)}`);
      await page.locator('#task-state').selectOption('completed');
      const link = page.locator(`tr[data-task="${id}"] a`);
      await expect.poll(() => link.getAttribute('href')).toBe(href(id));
      await link.click();
      await page.waitForURL(`${url}${href(id)}`);

      expect(await page.locator('section.task h2').textContent()).toBe(`task ${id} (flaky)`);
      const attempts = page.locator('section.attempt');
      expect(await attempts.count()).toBe(3);
      for (const n of [1, 2, 3]) {
        const a = page.locator(`section.attempt[data-attempt="${n}"]`);
        expect(await a.locator('h3').textContent()).toBe(`attempt ${n}: ${n < 3 ? 'failed' : 'completed'}`);
        const facts = Object.fromEntries(
          await a.locator('table.facts tr').evaluateAll((rows) => rows.map((r) => [r.querySelector('th')?.textContent ?? '', r.querySelector('td')?.textContent ?? ''])),
        ) as Record<string, string>;
        expect(facts.start).toMatch(/^\d{4}-\d\d-\d\d \d\d:\d\d:\d\d\.\d{3} UTC$/);
        expect(facts.end).toMatch(/^\d{4}-\d\d-\d\d \d\d:\d\d:\d\d\.\d{3} UTC$/);
        expect(Date.parse(facts.end!.replace(' UTC', 'Z').replace(' ', 'T')) - Date.parse(facts.start!.replace(' UTC', 'Z').replace(' ', 'T'))).toBe(Number(facts.duration!.replace(/[, ms]/g, '')));
        // The worker by its id, as `asyncq workers` lists it, not the lease it ran under.
        expect(facts.worker).toBe(worker.id);
        // Its own log lines, the markup in them shown as text.
        expect(await a.locator('pre.log').textContent()).toBe(`try ${n} <b>begins</b>\ntry ${n} ends`);
        if (n < 3) {
          expect(facts.error).toBe(HOSTILE(n));
          expect(await a.locator('pre.stack').textContent()).toMatch(new RegExp(`^Error: boom <script>window\\.pwned = ${n}</script> on try ${n}\\n\\s+at `));
        } else {
          expect(facts.error).toBeUndefined();
          expect(await a.locator('pre.stack').count()).toBe(0);
        }
      }
      // Escaped: no element came from the task's text, and the page's only script is its own.
      expect(await page.locator('main script, main img, main b').count()).toBe(0);
      expect(await page.locator('pre.data').first().textContent()).toBe('{"note":"<img src=x onerror=alert(1)>"}');
      const html = await (await fetch(`${url}${href(id)}`)).text();
      expect(html).toContain('boom &#60;script&#62;window.pwned = 1&#60;/script&#62; on try 1');
      expect(html).not.toContain('<script>window');

      // The failures view links its example task ids, as rendered and as its script redraws them.
      await page.goto(`${url}failures?name=${encodeURIComponent(name)}`);
      const example = page.locator(`table.failure-groups a[href="${href(bad)}"]`);
      expect(await example.textContent()).toBe(bad);
      await page.waitForTimeout(1200); // past two polls: the table is the script's now
      expect(await example.textContent()).toBe(bad);
      await example.click();
      await page.waitForURL(`${url}${href(bad)}`);
      expect(await page.locator('section.attempt').count()).toBe(1);
      expect(await page.locator('section.attempt h3').textContent()).toBe('attempt 1: failed');
      expect(errors).toEqual([]);

      // Its JSON, and a task or queue that is not there: 404 with one line.
      const json = (await (await fetch(`${url}api/${href(id)}`)).json()) as { state: string; runs: { outcome: string; worker: string | null; logs: string[] }[] };
      expect(json.state).toBe('completed');
      expect(json.runs.map((r) => [r.outcome, r.worker, r.logs.length])).toEqual([
        ['failed', worker.id, 2],
        ['failed', worker.id, 2],
        ['completed', worker.id, 2],
      ]);
      const missing = await fetch(`${url}${href('nope')}`);
      expect(missing.status).toBe(404);
      expect(await missing.text()).toContain(`queue &#34;${name}&#34; has no task &#34;nope&#34;`);
      const noQueue = await fetch(`${url}api/task?queue=no-such-queue&id=1`);
      expect([noQueue.status, await noQueue.json()]).toEqual([404, { error: 'no queue "no-such-queue" under prefix "asyncq"' }]);
    } finally {
      await ctx.close();
      await worker.close();
      await running;
      proc.kill('SIGTERM');
      await proc.exited;
    }
  });
});
