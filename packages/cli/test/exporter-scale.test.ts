import { Redis } from 'ioredis';
import { describe, expect, it } from 'vitest';
import { Queue, QueueAdmin, WorkerRegistry, type WorkerInfo } from '@asyncq/core';
import { startCli } from './cli-process.js';
import { freePort, RedisServer } from '@asyncq/test-support';

const QUEUES = 20_000;

/** Every sample of a Prometheus text, by series (name and labels as exported). */
function samples(text: string): Map<string, number> {
  const out = new Map<string, number>();
  for (const line of text.split('\n')) {
    if (!line || line.startsWith('#')) continue;
    const at = line.lastIndexOf(' ');
    out.set(line.slice(0, at), Number(line.slice(at + 1)));
  }
  return out;
}

/** Each queue's series, with the queue label taken out: what two identical queues share. */
function byQueue(all: Map<string, number>): Map<string, Record<string, number>> {
  const out = new Map<string, Record<string, number>>();
  for (const [series, value] of all) {
    const m = /queue="([^"]*)"/.exec(series);
    if (!m) continue;
    let q = out.get(m[1]!);
    if (!q) out.set(m[1]!, (q = {}));
    q[series.replace(m[0], 'queue=*')] = value;
  }
  return out;
}

/**
 * Makes `count` copies of queue `template` under the names `${label}-<i>`, key by key (DUMP and
 * RESTORE), in BullMQ's layout exactly as asyncq wrote the template: a Redis with 20,000 real
 * queues in seconds, where putting into each through the API would take minutes.
 */
async function cloneQueue(redis: Redis, template: string, label: string, count: number): Promise<string[]> {
  const keys = await redis.keys(`asyncq:{${template}}:*`);
  const dumps = await Promise.all(keys.map(async (k) => [k, await redis.dumpBuffer(k)] as const));
  const names = Array.from({ length: count }, (_, i) => `${label}-${i}`);
  for (let b = 0; b < count; b += 500) {
    const p = redis.pipeline();
    for (const name of names.slice(b, b + 500)) for (const [k, d] of dumps) p.restore(k.replace(`{${template}}`, `{${name}}`), 0, d!);
    await p.exec();
  }
  return names;
}

/** One scrape as Prometheus makes it; `firstByteMs` is when the exporter answered, `ms` when this process had read the whole body. */
async function scrape(port: string, timeoutSeconds: number): Promise<{ ms: number; firstByteMs: number; text: string; status: number }> {
  const t0 = Date.now();
  const res = await fetch(`http://127.0.0.1:${port}/metrics`, { headers: { 'X-Prometheus-Scrape-Timeout-Seconds': String(timeoutSeconds) }, signal: AbortSignal.timeout(60_000) });
  const firstByteMs = Date.now() - t0;
  const text = await res.text();
  return { ms: Date.now() - t0, firstByteMs, text, status: res.status };
}

describe('asyncq metrics at 20,000 queues', () => {
  it('reads every queue within a scrape and reports slow collection as its own series, never as Redis down', async () => {
    const port = await freePort();
    await RedisServer.start({ port });
    const url = `redis://127.0.0.1:${port}`;
    const redis = new Redis(url);
    try {
      // Two kinds of queue: one with ready, delayed and finished tasks and a desired worker count;
      // one paused with a failed task and a live worker. Half the queues are copies of each.
      const busy = new Queue<number>('tmpl-busy', { connection: url, maxsize: 100 });
      for (let i = 0; i < 3; i++) await busy.put(i);
      await busy.put(9, { delay: 3_600_000 });
      await (await busy.getTask()).done('ok');
      await busy.close();
      const registry = new WorkerRegistry('tmpl-busy', { connection: url });
      await registry.setDesired(2);
      await registry.close();
      const paused = new Queue<number>('tmpl-paused', { connection: url });
      await paused.put(1, { attempts: 1 });
      await (await paused.getTask()).fail(new Error('boom'));
      await paused.put(2);
      await paused.put(3);
      await paused.close();
      const now = Date.now();
      const worker: WorkerInfo = { id: 'w1', host: 'h', pid: 1, queue: 'tmpl-paused', concurrency: 4, startedAt: now, done: 0, failed: 0, lastHeartbeat: now };
      const pausedRegistry = new WorkerRegistry('tmpl-paused', { connection: url });
      await pausedRegistry.beat(worker, 3_600_000);
      await pausedRegistry.close();
      const admin = new QueueAdmin('tmpl-paused', { connection: url });
      await admin.pause();
      await admin.close();
      const made = Date.now();
      const clones = [...(await cloneQueue(redis, 'tmpl-busy', 'busy', QUEUES / 2 - 1)), ...(await cloneQueue(redis, 'tmpl-paused', 'paused', QUEUES / 2 - 1))];
      console.log(`[exporter-scale] made ${clones.length + 2} queues (${await redis.dbsize()} keys) in ${((Date.now() - made) / 1000).toFixed(1)} s`);

      // One scrape as Prometheus makes it by default (10 s timeout): every queue, every figure.
      const exporter = startCli(['metrics', '--port', '0'], { REDIS_URL: url });
      const [, exporterPort] = await exporter.waitFor(/metrics on http:\/\/127\.0\.0\.1:(\d+)\/metrics/, 60_000);
      const first = await scrape(exporterPort!, 10);
      let all = samples(first.text);
      console.log(
        `[exporter-scale] ${QUEUES} queues: one scrape in ${(first.ms / 1000).toFixed(2)} s (collect ${all.get('asyncq_scrape_duration_seconds')?.toFixed(2)} s, ` +
          `answer begun at ${(first.firstByteMs / 1000).toFixed(2)} s, partial ${all.get('asyncq_scrape_partial')}), ${(first.text.length / 1e6).toFixed(1)} MB, ${all.size} samples`,
      );
      expect(first.status).toBe(200);
      expect(all.get('asyncq_up')).toBe(1);
      expect(all.get('asyncq_scrape_errors_total'), 'collects that failed').toBe(0);
      // On a machine so loaded that one collect cannot read them all (asyncq_scrape_partial 1), the
      // next ones read the rest first; each scrape still says Redis is up.
      const exported = (s: Map<string, number>): number => [...s.keys()].filter((k) => k.startsWith('asyncq_queue_unfinished{')).length;
      for (let i = 0; i < 10 && exported(all) < QUEUES; i++) {
        all = samples((await scrape(exporterPort!, 10)).text);
        expect(all.get('asyncq_up')).toBe(1);
      }
      expect(exported(all)).toBe(QUEUES);
      const queues = byQueue(all);
      const busySeries = queues.get('tmpl-busy')!;
      const pausedSeries = queues.get('tmpl-paused')!;
      expect(busySeries).toMatchObject({
        'asyncq_queue_tasks{queue=*,state="waiting"}': 2,
        'asyncq_queue_tasks{queue=*,state="delayed"}': 1,
        'asyncq_queue_tasks{queue=*,state="completed"}': 1,
        'asyncq_queue_unfinished{queue=*}': 3,
        'asyncq_queue_enqueued_total{queue=*}': 4,
        'asyncq_workers{queue=*}': 0,
        'asyncq_workers_desired{queue=*}': 2,
      });
      expect(pausedSeries).toMatchObject({
        'asyncq_queue_tasks{queue=*,state="waiting"}': 2,
        'asyncq_queue_tasks{queue=*,state="paused"}': 2,
        'asyncq_queue_tasks{queue=*,state="failed"}': 1,
        'asyncq_queue_failed_total{queue=*}': 1,
        'asyncq_workers{queue=*}': 1,
      });
      // Every copy exports exactly what its template does (the age of the oldest task aside).
      const stable = (s: Record<string, number>): Record<string, number> =>
        Object.fromEntries(Object.entries(s).filter(([k]) => !k.startsWith('asyncq_queue_oldest_waiting_seconds') && !k.startsWith('asyncq_queue_drain_seconds')));
      let wrong = 0;
      for (const name of clones) {
        const want = stable(name.startsWith('busy-') ? busySeries : pausedSeries);
        if (JSON.stringify(stable(queues.get(name) ?? {})) !== JSON.stringify(want)) wrong++;
      }
      expect(wrong, 'queues whose series differ from their template').toBe(0);
      exporter.kill('SIGTERM');
      expect(await exporter.exited).toBe(0);

      // A collect cut short (a 100 ms limit for 20,000 queues): Redis is up, the collect is partial,
      // and the queues it did not reach are read first at the next one, until all have series.
      const hurried = startCli(['metrics', '--port', '0', '--scrape-timeout', '100ms'], { REDIS_URL: url });
      const [, hurriedPort] = await hurried.waitFor(/metrics on http:\/\/127\.0\.0\.1:(\d+)\/metrics/, 60_000);
      const cut = samples((await scrape(hurriedPort!, 10)).text);
      expect(cut.get('asyncq_up')).toBe(1);
      expect(cut.get('asyncq_scrape_partial')).toBe(1);
      expect(cut.get('asyncq_scrape_timeouts_total')).toBeGreaterThanOrEqual(1);
      expect(cut.get('asyncq_scrape_errors_total'), 'collects that failed').toBe(0);
      let reached = 0;
      for (let i = 0; i < 100 && reached < QUEUES; i++) {
        const s = samples((await scrape(hurriedPort!, 10)).text);
        expect(s.get('asyncq_up')).toBe(1);
        reached = exported(s);
      }
      expect(reached).toBe(QUEUES);
      hurried.kill('SIGTERM');
      expect(await hurried.exited).toBe(0);
    } finally {
      redis.disconnect();
    }
  }, 300_000);
});
