// The dashboard's limits tile and largest-groups table (issue 22), in a real browser against a
// real Redis: the table appears once the queue has groups, says which the per-group limit holds
// back, and shows a group's name as text, never as HTML.
import { describe, expect, it } from 'vitest';
import { Queue, QueueAdmin } from '@asyncq/core';
import { redisUrl, track, uniqueName } from '@asyncq/test-support';
import { browserForFile, localContext } from './chromium.js';
import { startCli } from './cli-process.js';

const browser = browserForFile();

describe('asyncq dashboard: limits and groups', () => {
  it('shows the per-group limit, and the largest groups once the queue has some, held back or not', { timeout: 60_000 }, async () => {
    const name = uniqueName('dash-groups');
    const q = track(new Queue<string>(name, { connection: redisUrl() }), name);
    const admin = track(new QueueAdmin(name, { connection: redisUrl() }), name);
    await admin.setLimits({ perGroup: { concurrency: 1 } });
    await q.put('ungrouped');

    const proc = startCli(['dashboard', '--port', '0', '--interval', '500ms']);
    const url = (await proc.waitFor(/asyncq dashboard on (http:\/\/127\.0\.0\.1:\d+\/)/, 30_000))[1]!;
    const { ctx } = await localContext(browser());
    try {
      const page = await ctx.newPage();
      const errors: string[] = [];
      page.on('pageerror', (e) => errors.push(e.message));
      await page.goto(`${url}queue?name=${encodeURIComponent(name)}`);
      const section = page.locator(`section[data-queue="${name}"]`);
      const field = (f: string): Promise<string | null> => section.locator(`[data-f="${f}"]`).textContent();
      const table = section.locator('[data-show="groups"]');
      expect(await field('limits')).toBe('1 per group');
      expect(await field('binds')).toBe('none binds now');
      expect(await field('groups')).toBe('no group has tasks waiting');
      expect(await table.isHidden()).toBe(true);

      // Two groups; the first one's head taken, so the limit of 1 holds its next task back.
      const odd = '<b>t</b>';
      await q.putMany(['a1', 'a2', 'a3'].map((item) => ({ item, opts: { group: odd } })));
      await q.put('b1', { group: 'tenant-b' });
      const first = await q.getTask({ timeout: 5000 });
      const second = await q.getTask({ timeout: 5000 });
      expect([first.data, second.data]).toEqual(['ungrouped', 'a1']);

      // The page's own poll draws it: no reload.
      const rows = (): Promise<string[][]> => table.locator('tbody tr').evaluateAll((trs) => trs.map((tr) => [...tr.querySelectorAll('td')].map((td) => td.textContent ?? '')));
      await expect.poll(rows).toEqual([
        [odd, '2', 'yes'],
        ['tenant-b', '1', 'no'],
      ]);
      expect(await table.isVisible()).toBe(true);
      expect(await field('binds')).toBe('binding now: per group');
      expect(await field('groups')).toBe('2 groups with tasks waiting, 1 held back by the per-group limit');

      // The server's own rendering: the same rows, the name escaped.
      const html = await (await fetch(`${url}queue?name=${encodeURIComponent(name)}`)).text();
      expect(html).toContain('<td>&#60;b&#62;t&#60;/b&#62;</td><td>2</td><td>yes</td>');
      expect(html).not.toContain(odd);
      // One request per poll: the queue's answer carries its limits and groups; the home list, which shows neither, reads neither.
      const detail = (await (await fetch(`${url}api/queue?name=${encodeURIComponent(name)}`)).json()) as { limits: { groupsBlocked: number; limits: unknown }; groups: unknown[] };
      expect(detail.limits).toMatchObject({ limits: { perGroup: { concurrency: 1 } }, groupsBlocked: 1, groupsWaiting: 2 });
      expect(detail.groups).toEqual([
        { group: odd, waiting: 2, blocked: true },
        { group: 'tenant-b', waiting: 1, blocked: false },
      ]);
      const list = (await (await fetch(`${url}api/queues`)).json()) as { queues: { name: string }[] };
      expect(list.queues.find((s) => s.name === name)).not.toHaveProperty('groups');

      // Done with its task, the group lets its next one in: nothing is held back.
      await second.done(null);
      await expect.poll(rows).toEqual([
        [odd, '2', 'no'],
        ['tenant-b', '1', 'no'],
      ]);
      await first.done(null);
      expect(errors).toEqual([]);
    } finally {
      await ctx.close();
      proc.kill('SIGTERM');
      expect(await proc.exited).toBe(0);
    }
  });
});
