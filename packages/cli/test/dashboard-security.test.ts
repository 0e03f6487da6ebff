import { request } from 'node:http';
import type { Browser } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Queue, QueueAdmin } from '@asyncq/core';
import { adminClient, redisUrl, sleep, track, uniqueName } from '@asyncq/test-support';
import { launchChromium, localContext } from './chromium.js';
import { runCli, startCli, type CliProcess } from './cli-process.js';
import { oneLine } from './cli-test-helpers.js';

interface Answer {
  status: number;
  headers: Record<string, string | string[] | undefined>;
  body: string;
}

/** An HTTP request with exactly these headers (fetch would not let a test set Host), from `localAddress`. */
function send(url: string, opts: { method?: string; path?: string; headers?: Record<string, string>; body?: string; localAddress?: string } = {}): Promise<Answer> {
  const u = new URL(url);
  return new Promise((resolve, reject) => {
    const req = request(
      {
        host: u.hostname,
        port: u.port,
        method: opts.method ?? 'GET',
        path: `/${opts.path ?? ''}`,
        headers: { ...(opts.body === undefined ? {} : { 'content-length': String(Buffer.byteLength(opts.body)) }), ...opts.headers },
        localAddress: opts.localAddress,
        agent: false,
      },
      (res) => {
        let body = '';
        res.setEncoding('utf8');
        res.on('data', (d: string) => (body += d));
        res.on('end', () => resolve({ status: res.statusCode!, headers: res.headers, body }));
      },
    );
    req.on('error', reject);
    req.end(opts.body);
  });
}

/** `asyncq dashboard` as a subprocess on a free port; the URL it prints. */
async function dashboard(args: string[], env: Record<string, string> = {}): Promise<{ proc: CliProcess; url: string }> {
  const proc = startCli(['dashboard', '--port', '0', '--interval', '500ms', ...args], env);
  const m = await proc.waitFor(/asyncq dashboard on (http:\/\/127\.0\.0\.1:\d+\/)/, 20_000);
  return { proc, url: m[1]! };
}

async function stop(proc: CliProcess): Promise<void> {
  proc.kill('SIGTERM');
  expect(await proc.exited).toBe(0);
}

/** A queue with one task failed for good, on the test Redis. */
async function failedTask(label: string): Promise<{ name: string; id: string; admin: QueueAdmin }> {
  const name = uniqueName(label);
  const q = track(new Queue<number>(name, { connection: redisUrl() }), name);
  await q.put(1, { attempts: 1 });
  const t = await q.getTask();
  await t.fail(new Error('boom'));
  return { name, id: t.id, admin: track(new QueueAdmin(name, { connection: redisUrl() }), name) };
}

let browser: Browser | undefined;
beforeAll(async () => void (browser = await launchChromium()), 60_000);
afterAll(async () => void (await browser?.close()));

describe('the dashboard trusts only its own host names and pages', () => {
  it('answers only to its own address, localhost and names given with --allowed-host: a rebound DNS name gets 403', async () => {
    const plain = await dashboard([]);
    const port = new URL(plain.url).port;
    for (const host of [`127.0.0.1:${port}`, `localhost:${port}`, `[::1]:${port}`, 'localhost:8080']) {
      expect((await send(plain.url, { path: 'api/queues', headers: { host } })).status, host).toBe(200);
    }
    for (const [host, path] of [
      [`evil.example:${port}`, ''],
      [`evil.example:${port}`, 'api/queues'],
      [`evil.example:${port}`, 'board/'],
      ['evil.example', 'board/api/queues'],
      [`127.0.0.1.evil.example:${port}`, 'api/queues'],
      [`localhost.evil.example`, ''],
    ] as const) {
      const r = await send(plain.url, { path, headers: { host } });
      expect(r.status, `${host} ${path}`).toBe(403);
      expect(r.body).toMatch(/this dashboard answers to .*not to the host .*add a name with --allowed-host/);
      expect(r.body).not.toContain('tasks in bull-board');
      expect(r.body.trim().split('\n')).toHaveLength(1);
    }
    await stop(plain.proc);

    // Names given with the flag or the environment; a malformed one is one line before anything starts.
    const { proc, url } = await dashboard(['--allowed-host', 'dash.example.com']);
    for (const host of ['dash.example.com', `DASH.example.com:${new URL(url).port}`, `127.0.0.1:${new URL(url).port}`]) {
      expect((await send(url, { headers: { host } })).status, host).toBe(200);
    }
    expect((await send(url, { headers: { host: 'dash.example.com.evil.example' } })).status).toBe(403);
    await stop(proc);
    const fromEnv = await dashboard([], { ASYNCQ_DASHBOARD_ALLOWED_HOSTS: 'a.example, b.example' });
    expect((await send(fromEnv.url, { headers: { host: 'b.example' } })).status).toBe(200);
    expect((await send(fromEnv.url, { headers: { host: 'c.example' } })).status).toBe(403);
    await stop(fromEnv.proc);
    const bad = await runCli(['dashboard', '--port', '0', '--allowed-host', 'https://dash.example.com/'], { timeout: 15_000 });
    expect(bad.code).toBe(1);
    expect(oneLine(bad.stderr)).toMatch(/--allowed-host takes a host name or address such as dash.example.com/);
  });

  it('refuses a change (PUT, POST, DELETE, bull-board included) without an Origin or Referer of its own: a cross-site page cannot retry a task', async () => {
    const { name, id, admin } = await failedTask('csrf');
    const next = await failedTask('csrf-ref');
    const { proc, url } = await dashboard(['--allow-actions']);
    const own = new URL(url).origin;
    const bull = encodeURIComponent((await admin.bullmq())[0]!.name);
    const changes: [string, string][] = [
      ['PUT', `api/queues/${name}/tasks/${id}/retry`],
      ['PUT', `api/queue/tasks/retry?name=${name}&id=${id}`],
      ['PUT', `board/api/queues/${bull}/${id}/retry`],
      ['POST', `board/api/queues/${bull}/add`],
      ['DELETE', `api/queues/${name}`],
      ['PATCH', `board/api/queues/${bull}/${id}/update-data`],
    ];
    for (const headers of [{}, { origin: 'https://evil.example' }, { origin: 'null' }, { origin: `http://127.0.0.1:1` }, { referer: 'https://evil.example/page' }, { origin: 'not a url' }] as Record<string, string>[]) {
      for (const [method, path] of changes) {
        const r = await send(url, { method, path, headers: { 'content-type': 'application/json', ...headers }, body: '{}' });
        expect(r.status, `${method} ${path} ${JSON.stringify(headers)}`).toBe(403);
        expect(JSON.parse(r.body).error).toMatch(new RegExp(`a ${method} must come from this dashboard's own page`));
      }
    }
    expect((await admin.task(id))?.state).toBe('failed'); // nothing was retried

    // From its own page: the Origin the browser sends, or (without one) a Referer of the dashboard.
    expect((await send(url, { method: 'PUT', path: `board/api/queues/${bull}/${id}/retry`, headers: { origin: own } })).status).toBe(204);
    expect((await admin.task(id))?.state).toBe('waiting');
    await admin.remove(id);
    const r = await send(url, { method: 'PUT', path: `api/queue/tasks/retry?name=${next.name}&id=${next.id}`, headers: { referer: `${own}/` } });
    expect(r.status, r.body).toBe(200);
    expect((await next.admin.task(next.id))?.state).toBe('waiting');
    await stop(proc);
  });
});

describe("bull-board's pages", () => {
  it('are served with a Content-Security-Policy and load nothing from another site; the board still works under it', async () => {
    const name = uniqueName('csp');
    const q = track(new Queue<number>(name, { connection: redisUrl() }), name);
    await q.put(7, { name: 'csp-job' });
    const bull = (await track(new QueueAdmin(name, { connection: redisUrl() }), name).bullmq())[0]!.name;
    const { proc, url } = await dashboard([]);
    for (const path of ['board/', `board/queue/${encodeURIComponent(bull)}`]) {
      const page = await send(url, { path });
      expect(page.status).toBe(200);
      const csp = String(page.headers['content-security-policy']);
      expect(csp).toMatch(/default-src 'none'/);
      expect(csp).toMatch(/script-src 'self';/);
      expect(page.body).toMatch(/<script defer src="static\/js\/main/);
      // No reference to another host at all: no web font, script, style or image from elsewhere.
      expect(page.body).not.toMatch(/(src|href)\s*=\s*["']?(https?:)?\/\//i);
      expect(page.body).not.toMatch(/googleapis|gstatic/);
    }
    const { ctx, offsite } = await localContext(browser!);
    try {
      const page = await ctx.newPage();
      const violations: string[] = [];
      page.on('console', (m) => void (/Content Security Policy|Refused to/i.test(m.text()) && violations.push(m.text())));
      page.on('pageerror', (e) => violations.push(String(e)));
      await page.goto(`${url}board/queue/${encodeURIComponent(bull)}?status=waiting`);
      await expect.poll(() => page.getByText(name).count(), { timeout: 15_000 }).toBeGreaterThan(0);
      await expect.poll(() => page.locator('a', { hasText: 'csp-job' }).count(), { timeout: 10_000 }).toBeGreaterThan(0);
      expect(violations).toEqual([]);
      expect(offsite).toEqual([]);
    } finally {
      await ctx.close();
    }
    await stop(proc);
  });

  it(`list at most 100 tasks a page, whatever jobsPerPage asks`, async () => {
    const name = uniqueName('page-size');
    const q = track(new Queue<{ pad: string }>(name, { connection: redisUrl() }), name);
    await q.putMany(Array.from({ length: 150 }, (_, i) => ({ item: { pad: `${i}`.padEnd(1000, 'x') } })));
    const bull = encodeURIComponent((await track(new QueueAdmin(name, { connection: redisUrl() }), name).bullmq())[0]!.name);
    const { proc, url } = await dashboard([]);
    for (const perPage of ['1000000', '1e6', '101', 'Infinity']) {
      const r = await send(url, { path: `board/api/queues?activeQueue=${bull}&status=waiting&page=1&jobsPerPage=${perPage}` });
      expect(r.status, `${perPage}: ${r.body.slice(0, 200)}`).toBe(200);
      const active = (JSON.parse(r.body) as { queues: { name: string; jobs: unknown[]; pagination: { pageCount: number } }[] }).queues.find((x) => decodeURIComponent(bull) === x.name)!;
      expect(active.jobs, perPage).toHaveLength(100);
      expect(active.pagination.pageCount).toBe(2);
      expect(r.body.length).toBeLessThan(300_000);
    }
    const small = JSON.parse((await send(url, { path: `board/api/queues?activeQueue=${bull}&status=waiting&jobsPerPage=20` })).body) as { queues: { name: string; jobs: unknown[] }[] };
    expect(small.queues.find((x) => decodeURIComponent(bull) === x.name)!.jobs).toHaveLength(20);
    await stop(proc);
  });
});

describe('dashboard credentials and address', () => {
  it('throttles failed logins per client address: 300 wrong passwords get a handful of tries, and the right one works after the wait', async () => {
    const { proc, url } = await dashboard([], { ASYNCQ_DASHBOARD_AUTH: 'ops:right-password' });
    const basic = (pw: string): Record<string, string> => ({ authorization: `Basic ${Buffer.from(`ops:${pw}`).toString('base64')}` });
    const t0 = Date.now();
    const statuses: number[] = [];
    let retryAfter = 0;
    for (let i = 0; i < 300; i++) {
      const r = await send(url, { path: 'api/queues', headers: basic(`guess-${i}`) });
      statuses.push(r.status);
      if (r.status === 429) retryAfter = Number(r.headers['retry-after']);
    }
    const checked = statuses.filter((s) => s === 401).length;
    console.log(`[dashboard-security] 300 wrong passwords in ${Date.now() - t0} ms: ${checked} checked, ${statuses.length - checked} refused with 429`);
    expect(statuses.every((s) => s === 401 || s === 429)).toBe(true);
    expect(checked).toBeGreaterThanOrEqual(5); // a few typos cost nothing
    expect(checked).toBeLessThanOrEqual(12);
    expect(retryAfter).toBeGreaterThanOrEqual(1);
    // While it must wait, even the right password is not checked...
    expect((await send(url, { path: 'api/queues', headers: basic('right-password') })).status).toBe(429);
    // ...but only that client waits: another address logs in (and its own failures are its own).
    expect((await send(url, { path: 'api/queues', headers: basic('nope'), localAddress: '127.0.0.2' })).status).toBe(401);
    expect((await send(url, { path: 'api/queues', headers: basic('right-password'), localAddress: '127.0.0.2' })).status).toBe(200);
    // A browser's first request carries no credentials: it is asked for them, not throttled.
    expect((await send(url, { path: '' })).status).toBe(401);
    // After the wait, the right password works, and the failures are forgotten.
    let status = 0;
    for (let i = 0; i < 30 && status !== 200; i++) {
      await sleep(Math.max(retryAfter, 1) * 1000);
      status = (await send(url, { path: 'api/queues', headers: basic('right-password') })).status;
    }
    expect(status).toBe(200);
    expect((await send(url, { path: 'api/queues', headers: basic('typo') })).status).toBe(401);
    await stop(proc);
    expect(proc.stdout + proc.stderr).not.toContain('right-password');
  }, 120_000);

  it('refuses an empty ASYNCQ_DASHBOARD_AUTH, an empty --auth and an empty --host in one line, instead of no auth or every interface', async () => {
    for (const [args, env, message] of [
      [[], { ASYNCQ_DASHBOARD_AUTH: '' }, /^asyncq: ASYNCQ_DASHBOARD_AUTH is set but empty: set it to user:password, or unset it/],
      [['--auth', ''], {}, /^asyncq: --auth \(or ASYNCQ_DASHBOARD_AUTH\) must be user:password, both non-empty$/],
      [['--host', ''], {}, /^asyncq: --host is empty: give the address to listen on/],
      [['--host', ' '], {}, /^asyncq: --host is empty/],
    ] as [string[], Record<string, string>, RegExp][]) {
      const r = await runCli(['dashboard', '--port', '0', ...args], { env, timeout: 15_000 });
      expect(r.code, `${JSON.stringify(args)} ${JSON.stringify(env)}: ${r.stdout}`).toBe(1);
      expect(oneLine(r.stderr)).toMatch(message);
      expect(r.stdout).not.toMatch(/asyncq dashboard on/);
    }
  });
});

describe('queues named "." and ".."', () => {
  it('written straight to Redis, they break neither page: the asyncq page keeps updating every queue, and bull-board shows them', async () => {
    // A queue made through the API, its keys then renamed to the names "." and ".." (core may
    // refuse those names for new queues; queues already in Redis must still not break the page).
    const dots: string[] = [];
    for (const dot of ['.', '..']) {
      const template = uniqueName('dot-template');
      const q = new Queue<number>(template, { connection: redisUrl() });
      for (let i = 0; i < 3; i++) await q.put(i, { name: 'dot-job' });
      await q.close();
      for (const key of await adminClient().keys(`asyncq:{${template}}:*`)) await adminClient().rename(key, key.replace(`{${template}}`, `{${dot}}`));
      dots.push(dot);
    }
    const plain = uniqueName('beside-dots');
    const pq = track(new Queue<number>(plain, { connection: redisUrl() }), plain);
    await pq.put(1);
    let opens = true; // whether this version of core still opens a queue named "."
    try {
      await new QueueAdmin('.', { connection: redisUrl() }).close();
    } catch {
      opens = false;
    }
    const { proc, url } = await dashboard([]);
    const { ctx, offsite } = await localContext(browser!);
    try {
      const page = await ctx.newPage();
      await page.goto(url);
      const row = (name: string) => page.locator('[data-rows="queues"] tr').filter({ has: page.getByRole('link', { name, exact: true }) });
      const depth = (name: string): Promise<string | null> => row(name).locator('td').nth(2).textContent();
      const status = page.locator('#status');
      // The page's script reads every queue at each poll; before, a "." resolved to the list route and every update stopped.
      await expect.poll(() => status.textContent(), { timeout: 10_000 }).toMatch(/^updated \d\d:\d\d:\d\d UTC$/);
      await sleep(1500); // several polls
      expect(await status.getAttribute('class')).not.toMatch(/stale/);
      expect(await status.textContent()).toMatch(/^updated /);
      await pq.put(2);
      await expect.poll(() => depth(plain), { timeout: 10_000 }).toBe('2');
      if (opens) {
        await adminClient().lpop('asyncq:{.}:wait'); // a change straight in Redis shows up live too
        await expect.poll(() => depth('.'), { timeout: 10_000 }).toBe('2');
        expect(await depth('..')).toBe('3');
        // The queue's own page takes the name in the query, so ".." is not resolved away.
        await row('..').getByRole('link', { name: '..', exact: true }).click();
        await expect.poll(() => page.url()).toBe(`${url}queue?name=..`);
        await expect.poll(() => page.locator('[data-f="waiting"]').textContent(), { timeout: 10_000 }).toBe('3');
        // bull-board: its queue names are "{.}" and "{..}", never a dot segment.
        await page.getByRole('link', { name: 'tasks →' }).click();
        await expect.poll(() => page.url()).toContain('/board/queue/%7B..%7D');
        await page.getByRole('link', { name: /^waiting/i }).first().click();
        await expect.poll(() => page.locator('a', { hasText: 'dot-job' }).count(), { timeout: 10_000 }).toBeGreaterThan(0);
        // The API takes such names in its query form (what the page uses), however they are encoded.
        for (const [dot, name, waiting] of [['.', '.', 2], ['%2E', '.', 2], ['..', '..', 3], ['%2e%2e', '..', 3]] as const) {
          const r = await send(url, { path: `api/queue?name=${dot}` });
          expect(r.status, dot).toBe(200);
          expect(JSON.parse(r.body)).toMatchObject({ name, counts: { waiting } });
        }
      } else {
        expect(await row('.').count()).toBe(0);
      }
      expect(offsite).toEqual([]);
    } finally {
      await ctx.close();
      for (const dot of dots) for (const key of await adminClient().keys(`asyncq:{${dot}}:*`)) await adminClient().del(key);
    }
    await stop(proc);
  });
});
