import type { Browser, BrowserContext } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it, onTestFailed } from 'vitest';
import { Queue, QueueAdmin } from '@asyncq/core';
import { defineHandlers, Worker } from '@asyncq/worker';
import { Redis } from 'ioredis';
import { redisUrl, track, uniqueName } from '@asyncq/test-support';
import { launchChromium, localContext } from './chromium.js';
import { runCli, startCli, type CliProcess } from './cli-process.js';

// bull-board inside `asyncq dashboard` (issue 23): a task's "processed by" is its worker's asyncq
// id. Each test works under a prefix of its own, dropped after it unless it failed.

let browser: Browser | undefined;

beforeAll(async () => {
  browser = await launchChromium();
}, 60_000);

afterAll(async () => {
  await browser?.close();
});

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

/** Deletes every key under `prefix`, unless the test failed (they are kept for inspection). */
function dropPrefixAfter(prefix: string): () => Promise<void> {
  let failed = false;
  onTestFailed(() => void (failed = true));
  return async () => {
    if (failed) return;
    const r = new Redis(redisUrl(), { maxRetriesPerRequest: 2 });
    try {
      let cursor = '0';
      do {
        const [next, keys] = await r.scan(cursor, 'MATCH', `${prefix}:*`, 'COUNT', 1000);
        cursor = next;
        if (keys.length > 0) await r.del(...keys);
      } while (cursor !== '0');
    } finally {
      r.disconnect();
    }
  };
}

describe("bull-board inside asyncq's dashboard", () => {
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
      ctx = (await localContext(browser!)).ctx;
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
